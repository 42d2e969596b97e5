//! Whether a connection reaches the server with nothing between them that
//! may hand its statements to another server connection.
//!
//! A statement prepared under a name lives on one server connection. A
//! transaction pooler (PgBouncer's `pool_mode = transaction`, what managed
//! offerings put in front of a server) runs each transaction of a client on
//! whichever server connection is free, where that name may be missing, or
//! be another client's statement: the client library names statements
//! `s0`, `s1`, ... in every process. So the store prepares a statement only
//! on a connection it has proved direct, and sends every other statement
//! unnamed.
//!
//! The proof is the connection's two ends. The server says which TCP
//! endpoints its side of the session joins (`inet_client_addr()` and its
//! port, `inet_server_addr()` and its port); the connection is direct when
//! this process holds a socket joining the same two, from the other side
//! (Linux: `/proc/self/net/tcp` and `tcp6` name each socket's endpoints and
//! inode, `/proc/self/fd` the inodes of this process's sockets). Behind a
//! pooler, or a NAT, the server's client is another process's socket, or
//! another address, and nothing is prepared. A Unix-domain socket, or
//! another system, is taken as not direct: no proof is read there.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::connect::Conn;

/// The two ends of the server's side of the session, as the server sees
/// them: its client's, then its own.
const ENDPOINTS: &str = "SELECT host(inet_client_addr()), inet_client_port(), \
                         host(inet_server_addr()), inet_server_port()";

/// Whether `conn` reaches its server directly (see the module's page):
/// one round trip (the question sent unnamed, as every statement is until
/// this answers) and a read of `/proc`; what is not found there answers
/// `false`.
///
/// # Errors
/// The server's, when it does not answer the question.
pub(super) fn is_direct(conn: &Conn) -> Result<bool, tokio_postgres::Error> {
    let rows = conn.block_on(conn.client().query_typed(ENDPOINTS, &[]))?;
    let Some(row) = rows.first() else {
        return Ok(false);
    };
    let endpoint = |addr: usize, port: usize| -> Option<SocketAddr> {
        let addr: IpAddr = row.try_get::<_, Option<String>>(addr).ok()??.parse().ok()?;
        let port = u16::try_from(row.try_get::<_, Option<i32>>(port).ok()??).ok()?;
        Some(SocketAddr::new(addr.to_canonical(), port))
    };
    Ok(match (endpoint(0, 1), endpoint(2, 3)) {
        (Some(client), Some(server)) => holds_socket(client, server),
        // A Unix-domain socket: the server names no address.
        _ => false,
    })
}

/// Whether this process holds a TCP socket from `local` to `remote`.
#[cfg(target_os = "linux")]
fn holds_socket(local: SocketAddr, remote: SocketAddr) -> bool {
    let inodes: HashSet<u64> = ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(tcp_socket)
                .filter(|&(l, r, _)| l == local && r == remote)
                .map(|(_, _, inode)| inode)
                .collect::<Vec<_>>()
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
                .is_some_and(|inode| inodes.contains(&inode))
        })
    })
}

#[cfg(not(target_os = "linux"))]
fn holds_socket(_: SocketAddr, _: SocketAddr) -> bool {
    false
}

/// A line of `/proc/net/tcp` or `tcp6`: the socket's local and remote
/// endpoints and its inode.
fn tcp_socket(line: &str) -> Option<(SocketAddr, SocketAddr, u64)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (local, remote, inode) = (fields.get(1)?, fields.get(2)?, fields.get(9)?);
    Some((endpoint(local)?, endpoint(remote)?, inode.parse().ok()?))
}

/// An endpoint as `/proc/net/tcp` writes it: the address as 32-bit words
/// in hex, each in the machine's byte order, a colon, and the port in hex.
fn endpoint(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let words = (0..addr.len() / 8)
        .map(|i| {
            let word = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
            Some(word.to_ne_bytes())
        })
        .collect::<Option<Vec<[u8; 4]>>>()?;
    let addr = match words.as_slice() {
        [a] => IpAddr::V4(Ipv4Addr::from(*a)),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, word) in [a, b, c, d].iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word[..]);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(
        addr.to_canonical(),
        u16::from_str_radix(port, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn endpoints_read_as_the_kernel_writes_them() {
        assert_eq!(
            endpoint("0100007F:1538"),
            Some("127.0.0.1:5432".parse().unwrap())
        );
        assert_eq!(
            endpoint("00000000000000000000000001000000:1F90"),
            Some("[::1]:8080".parse().unwrap())
        );
        // An IPv4 peer of an IPv6 socket, as its IPv4 address.
        assert_eq!(
            endpoint("0000000000000000FFFF00000100007F:1538"),
            Some("127.0.0.1:5432".parse().unwrap())
        );
        assert_eq!(endpoint("0100007F"), None);
        assert_eq!(endpoint("0100007:1538"), None);
        let line = "   3: 0100007F:D2A4 0100007F:1538 01 00000000:00000000 00:00000000 \
                    00000000     0        0 123456 1 0000000000000000 20 4 30 10 -1";
        assert_eq!(
            tcp_socket(line),
            Some((
                "127.0.0.1:53924".parse().unwrap(),
                "127.0.0.1:5432".parse().unwrap(),
                123456
            ))
        );
    }

    /// A connection to `url`, and whether it is found direct.
    #[cfg(target_os = "linux")]
    fn found_direct(url: &str) -> bool {
        let target = super::super::connect::Target::parse(url).unwrap();
        let conn = target.connect("".into()).unwrap();
        is_direct(&conn).unwrap()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_connection_to_the_server_is_direct_and_one_through_pgbouncer_is_not() {
        let server = vibe_test_support::pg::server();
        assert!(found_direct(&server.url("postgres")));
        // PgBouncer runs on this machine, so the server's client is a
        // socket with the same endpoints in `/proc/net/tcp`: PgBouncer's,
        // not this process's.
        assert!(!found_direct(
            &vibe_test_support::pg::bouncer().url("postgres")
        ));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_socket_of_this_process_is_found_by_its_endpoints() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (local, remote) = (client.local_addr().unwrap(), client.peer_addr().unwrap());
        assert!(holds_socket(local, remote));
        // Endpoints no socket of this process joins.
        let unused: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert!(!holds_socket(local, unused));
        assert!(!holds_socket(unused, remote));
    }
}
