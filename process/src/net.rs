//! Listening sockets.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Binds and listens with SO_REUSEADDR; IPv6 sockets are IPv6-only, so `0.0.0.0:P` and
/// `[::]:P` can both be bound. Errors name the address.
pub fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let with_addr =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"));
    let sock = if addr.is_ipv6() {
        TcpSocket::new_v6()
    } else {
        TcpSocket::new_v4()
    }
    .map_err(with_addr)?;
    sock.set_reuseaddr(true).map_err(with_addr)?;
    if addr.is_ipv6() {
        socket2::SockRef::from(&sock)
            .set_only_v6(true)
            .map_err(with_addr)?;
    }
    sock.bind(addr).map_err(with_addr)?;
    sock.listen(4096).map_err(with_addr)
}
