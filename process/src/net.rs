//! Listening sockets: TCP listeners, and UDP sockets that share a port.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, UdpSocket};

/// Binds and listens with SO_REUSEADDR; IPv6 sockets are IPv6-only, so `0.0.0.0:P` and
/// `[::]:P` can both be bound. Errors name the address.
pub fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let with_addr =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"));
    TcpListener::from_std(listen(addr, false).map_err(with_addr)?).map_err(with_addr)
}

/// `count` TCP listeners bound to `addr` with SO_REUSEPORT, so the kernel spreads new
/// connections over them (one per worker thread, each with its own accept queue). With
/// port 0 the first picks the port and the others join it. They are plain `std`
/// listeners, non-blocking and registered with no runtime yet: each worker registers
/// its own. IPv6 sockets are IPv6-only, as for [`bind_one`]. Errors name the address.
///
/// SO_REUSEPORT would also let a second process of the same user join the group (the
/// kernel would split connections between two unrelated trackers): a plain bind of the
/// address first fails, as without SO_REUSEPORT, while anything listens there.
pub fn bind_tcp_group(addr: SocketAddr, count: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let with_addr =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"));
    if addr.port() != 0 {
        drop(listen(addr, false).map_err(with_addr)?);
    }
    let mut at = addr;
    let mut listeners = Vec::with_capacity(count.max(1));
    for _ in 0..count.max(1) {
        let l = listen(at, true).map_err(with_addr)?;
        at = l.local_addr().map_err(with_addr)?;
        listeners.push(l);
    }
    Ok(listeners)
}

/// A non-blocking listening socket with SO_REUSEADDR (and SO_REUSEPORT if asked),
/// IPv6-only for an IPv6 address, registered with no runtime.
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    if reuse_port {
        sock.set_reuse_port(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(4096)?;
    Ok(sock.into())
}

/// `count` UDP sockets bound to `addr` with SO_REUSEPORT, so the kernel spreads
/// datagrams over them by source (one per worker thread, no shared receive queue). With
/// port 0 the first socket picks the port and the others join it. IPv6 sockets are
/// IPv6-only, as for [`bind_one`]. Errors name the address.
pub fn bind_udp(addr: SocketAddr, count: usize) -> io::Result<Vec<UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let with_addr = |e: io::Error| io::Error::new(e.kind(), format!("cannot bind UDP {addr}: {e}"));
    let mut at = addr;
    let mut sockets = Vec::with_capacity(count.max(1));
    for _ in 0..count.max(1) {
        let sock = Socket::new(Domain::for_address(at), Type::DGRAM, Some(Protocol::UDP))
            .map_err(with_addr)?;
        if at.is_ipv6() {
            sock.set_only_v6(true).map_err(with_addr)?;
        }
        sock.set_reuse_port(true).map_err(with_addr)?;
        sock.set_nonblocking(true).map_err(with_addr)?;
        sock.bind(&at.into()).map_err(with_addr)?;
        let std: std::net::UdpSocket = sock.into();
        at = std.local_addr().map_err(with_addr)?;
        sockets.push(UdpSocket::from_std(std).map_err(with_addr)?);
    }
    Ok(sockets)
}
