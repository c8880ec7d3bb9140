//! Test clients' sockets: a connect that cannot hang the suite, a chosen loopback source
//! address, and a port for tools that cannot bind port 0 themselves.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

/// Awaits `connect` (`TcpStream::connect` or `TcpSocket::connect`), failing the test if
/// it errs or takes longer than `limit`: a server that stopped accepting shows as a
/// failure, not as a hung test.
pub async fn connect_within(
    limit: Duration,
    connect: impl Future<Output = io::Result<TcpStream>>,
) -> TcpStream {
    tokio::time::timeout(limit, connect)
        .await
        .expect("connect in time")
        .expect("connect")
}

/// An IPv4 socket bound to `source` (any of 127.0.0.0/8 is local), so a server sees the
/// connection come from another host.
pub fn socket_from(source: IpAddr) -> TcpSocket {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(source, 0)).unwrap();
    sock
}

/// A loopback port that was free a moment ago, for tools that take a port and cannot
/// be given 0, so parallel tests do not collide on a fixed one.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
