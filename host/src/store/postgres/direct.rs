//! Whether a connection reaches the server with nothing between them that
//! may hand its statements to another server connection.
//!
//! A statement prepared under a name lives on one server connection. A
//! transaction pooler (PgBouncer's `pool_mode = transaction`, what managed
//! offerings put in front of a server) runs each transaction of a client on
//! whichever server connection is free, where that name may be missing, or
//! be another client's statement: the client library names statements
//! `s0`, `s1`, ... in every process. So by default (the URL's
//! `prepared_statements=auto`) the store prepares a statement only on a
//! connection it has proved direct, and sends every other statement
//! unnamed.
//!
//! The proof is the connection's two ends. The store makes the TCP socket
//! of a URL that names one host itself ([`Target::open`]), so it knows the
//! socket's own address and port and the server's it reached. The server
//! says which two its side of the session joins (`inet_client_addr()` and
//! `inet_client_port()`, `inet_server_addr()` and `inet_server_port()`).
//! Both pairs equal: the server's peer is this socket. Through a pooler or
//! any proxy (in another process or this one, on this machine or behind a
//! NAT) the server's peer is the proxy's own socket to it: another port,
//! another address, or both. A Unix-domain socket, or a URL of several
//! hosts (the client library connects those), is not proved direct.
//!
//! What the proof cannot rule out: a pooler reached through a forwarder
//! in another network namespace (a port forwarded into a container),
//! whose server listens there at the very address and port the forwarder
//! listens at here, and whose socket to the server has, by chance, the
//! very address and port this socket has (one ephemeral port in about
//! 28,000). Even then a name the server does not find, or a statement of
//! another count of parameters under it, makes the connection stop
//! preparing and the write run again (`tx.rs`); only another client's
//! statement under the same name with as many parameters would run in
//! its place. `prepared_statements=off` in the URL rules it out.
//!
//! [`Target::open`]: super::connect::Target

use std::net::{IpAddr, SocketAddr};

use super::connect::Conn;

/// The two ends of the server's side of the session, as the server sees
/// them: its client's, then its own.
const ENDPOINTS: &str = "SELECT host(inet_client_addr()), inet_client_port(), \
                         host(inet_server_addr()), inet_server_port()";

/// Whether `conn` reaches its server directly (see the module's page): one
/// round trip (the question sent unnamed, as every statement is until this
/// answers), on a connection whose socket the store made; `false` at once
/// on any other.
///
/// # Errors
/// The server's, when it does not answer the question.
pub(super) fn is_direct(conn: &Conn) -> Result<bool, tokio_postgres::Error> {
    let Some((local, remote)) = conn.endpoints() else {
        return Ok(false);
    };
    let rows = conn.block_on(conn.client().query_typed(ENDPOINTS, &[]))?;
    let Some(row) = rows.first() else {
        return Ok(false);
    };
    let endpoint = |addr: usize, port: usize| -> Option<SocketAddr> {
        let addr: IpAddr = row.try_get::<_, Option<String>>(addr).ok()??.parse().ok()?;
        let port = u16::try_from(row.try_get::<_, Option<i32>>(port).ok()??).ok()?;
        Some(SocketAddr::new(addr.to_canonical(), port))
    };
    let canonical = |at: SocketAddr| SocketAddr::new(at.ip().to_canonical(), at.port());
    Ok(endpoint(0, 1) == Some(canonical(local)) && endpoint(2, 3) == Some(canonical(remote)))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::*;
    use crate::store::postgres::connect::Target;

    /// Whether a connection to `url` is found direct.
    fn found_direct(url: &str) -> bool {
        let conn = Target::parse(url).unwrap().connect("".into()).unwrap();
        is_direct(&conn).unwrap()
    }

    #[test]
    fn a_connection_to_the_server_is_direct_and_one_through_pgbouncer_is_not() {
        let server = vibe_test_support::pg::server();
        assert!(found_direct(&server.url("postgres")));
        // PgBouncer on this machine: the server's peer is PgBouncer's
        // socket, another port.
        assert!(!found_direct(
            &vibe_test_support::pg::bouncer().url("postgres")
        ));
    }

    /// A forwarder in this very process: its socket to the server is this
    /// process's, but not the connection's own.
    #[test]
    fn a_connection_through_a_forwarder_in_this_process_is_not_direct() {
        let server = vibe_test_support::pg::server();
        let config: tokio_postgres::Config = server.url("postgres").parse().unwrap();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let forwarder = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), upstream.try_clone().unwrap()),
                    (upstream, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 8192];
                        while let Ok(n @ 1..) = from.read(&mut buf) {
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        let url = server
            .url("postgres")
            .replace(&format!("127.0.0.1:{port}"), &forwarder.to_string());
        assert!(url.contains(&forwarder.to_string()), "{url}");
        assert!(!found_direct(&url));
        // So nothing is prepared on it, unless the URL says so.
        let with = |mode: &str| {
            let url = format!(
                "{url}{}prepared_statements={mode}",
                if url.contains('?') { "&" } else { "?" }
            );
            let mut conn = Target::parse(&url).unwrap().connect("".into()).unwrap();
            conn.prepare("SELECT 1").unwrap();
            conn.prepared("SELECT 1").is_some()
        };
        assert!(!with("auto"));
        assert!(with("on"));
        assert!(!with("off"));
        assert!(Target::parse(&format!("{url}&prepared_statements=yes")).is_err());
    }
}
