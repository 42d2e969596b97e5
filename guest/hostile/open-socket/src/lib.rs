//! Tries to reach the network: a TCP connection to the address in its input
//! (`{"addr": "127.0.0.1:PORT"}`), a UDP send there, and a name lookup.
//! Any success would be a sandbox escape: it then says so in its output.

use std::net::{TcpStream, ToSocketAddrs, UdpSocket};

struct OpenSocket;

impl vibe_tool::Guest for OpenSocket {
    fn run(_mission: String, input: String) -> Result<String, String> {
        let addr = input.split('"').nth(3).unwrap_or("127.0.0.1:9").to_owned();
        let mut errors = Vec::new();
        match TcpStream::connect(&addr) {
            Ok(_) => return Ok(format!("{{\"leaked\":\"tcp connect to {addr}\"}}")),
            Err(e) => errors.push(format!("tcp {addr}: {e}")),
        }
        match UdpSocket::bind("0.0.0.0:0").and_then(|s| s.send_to(b"x", &addr)) {
            Ok(_) => return Ok(format!("{{\"leaked\":\"udp send to {addr}\"}}")),
            Err(e) => errors.push(format!("udp {addr}: {e}")),
        }
        match "localhost:80".to_socket_addrs().map(|addrs| addrs.count()) {
            Ok(n) if n > 0 => return Ok("{\"leaked\":\"name lookup\"}".into()),
            Ok(_) => errors.push("lookup localhost: no addresses".into()),
            Err(e) => errors.push(format!("lookup localhost: {e}")),
        }
        Err(format!("denied: {}", errors.join("; ")))
    }
}

vibe_tool::export!(OpenSocket);
