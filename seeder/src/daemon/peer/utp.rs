//! uTP (BEP 29) on the peer port's UDP side. libtorrent (so qBittorrent and Deluge) and
//! Transmission try uTP first on their defaults and wait seconds for a timeout before
//! falling back to TCP; with uTP here they reach the origin at once.
//!
//! The protocol itself is librqbit-utp (rqbit's): the one maintained uTP crate that
//! gives tokio byte streams, with selective acks, MTU probing, a capped table of
//! SYNs waiting for an accept (`utp_backlog`, our patch) and a cap on live connections. (ethereum's utp-rs, the other
//! maintained one, only reads a stream to its end, which no peer session can use.) Its
//! congestion control was CUBIC only; `vendor/librqbit-utp` adds LEDBAT
//! (`seedline_common::ledbat`, fed each ack's one-way delay), the default
//! (`utp_congestion`). Every
//! accepted stream then goes through the same per-address cap, handshake places,
//! MSE/PE and peer session as a TCP connection.

use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::task::{Context, Poll};

use librqbit_dualstack_sockets::PollSendToVectored;
use librqbit_utp::{
    CongestionConfig, CongestionControllerKind, SocketOpts, SynDropped, Transport, UtpSocket,
    UtpSocketUdp,
};
use prometheus::IntCounter;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::accept::{handle_connection, Place};
use crate::daemon::config::{Config, UtpCongestion};
use crate::daemon::shared::Shared;

/// What a peer may have in our receive buffer: a peer sends us requests, keep-alives and
/// the odd bitfield, never data, so a small window costs nothing and bounds memory.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// The peer port's UDP socket, bound beside the TCP listener.
pub struct PeerUdp(tokio::net::UdpSocket);

/// The crate's clock and randomness. It exports its own UDP socket type but not the
/// environment type inside it, which a socket over our own UDP binding needs: read it
/// back out of that alias.
pub trait HasEnv {
    type Env;
}
impl<T, E> HasEnv for UtpSocket<T, E> {
    type Env = E;
}
pub type Env = <UtpSocketUdp as HasEnv>::Env;

/// uTP over the peer port.
pub type Socket = UtpSocket<PeerUdp, Env>;

/// Binds UDP on `addr` (the TCP listener's address and port). Unlike the tracker's UDP
/// sockets, no `SO_REUSEADDR`/`SO_REUSEPORT`: a second seeder on the same port must fail
/// to start, not silently take half the datagrams.
pub fn bind(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let with_addr =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot bind UDP {addr} for uTP: {e}"));
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(with_addr)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true).map_err(with_addr)?;
    }
    sock.set_nonblocking(true).map_err(with_addr)?;
    sock.bind(&addr.into()).map_err(with_addr)?;
    Ok(sock.into())
}

/// Starts uTP on a socket from [`bind`]: the crate's dispatcher runs until `stop`.
/// `syns_dropped` counts connection requests refused past `utp_backlog`.
pub fn start(
    udp: std::net::UdpSocket,
    cfg: &Config,
    syns_dropped: IntCounter,
    stop: CancellationToken,
) -> io::Result<Arc<Socket>> {
    use dontfrag::UdpSocketExt;
    let udp = tokio::net::UdpSocket::from_std(udp)?;
    // Don't fragment: the crate probes the path MTU and needs an oversized datagram to
    // fail, not to be split.
    let _ = if udp.local_addr()?.is_ipv4() {
        udp.set_dontfrag_v4(true)
    } else {
        udp.set_dontfrag_v6(true)
    };
    // Room in the kernel for every connection's window, so a busy moment drops nothing.
    let max = cfg.max_utp_connections.max(1);
    let _ = socket2::SockRef::from(&udp)
        .set_recv_buffer_size((max * RECEIVE_BUFFER).clamp(1 << 20, 64 << 20));
    socket_over(PeerUdp(udp), socket_opts(cfg, syns_dropped, stop))
}

/// The socket's settings from the seeder's: the dispatcher and its connections run
/// until `stop`.
pub fn socket_opts(cfg: &Config, syns_dropped: IntCounter, stop: CancellationToken) -> SocketOpts {
    let max = NonZeroUsize::new(cfg.max_utp_connections.max(1)).expect("at least 1");
    SocketOpts {
        max_cached_syns: NonZeroUsize::new(cfg.utp_backlog),
        on_syn_dropped: Some(SynDropped(Arc::new(move || syns_dropped.inc()))),
        vsock_rx_bufsize_bytes: NonZeroUsize::new(RECEIVE_BUFFER),
        vsock_tx_bufsize_bytes_max: NonZeroUsize::new(cfg.utp_send_buffer),
        max_live_vsocks: Some(max),
        // The seeder's own idle rule decides when a quiet peer goes; the crate's default
        // (10 s) would drop a seed-to-seed connection that has nothing to say.
        remote_inactivity_timeout: Some(Config::secs(cfg.idle_timeout)),
        // Nothing is sent after our FIN that needs its ack.
        dont_wait_for_lastack: true,
        // As TCP_NODELAY on TCP: the writer batches blocks itself, and a small reply held
        // back until the peer acks (which it may delay) is dead time.
        disable_nagle: true,
        congestion: CongestionConfig {
            kind: match cfg.utp_congestion {
                UtpCongestion::Ledbat => CongestionControllerKind::Ledbat,
                UtpCongestion::Cubic => CongestionControllerKind::Cubic,
            },
            tracing: false,
        },
        cancellation_token: stop,
        ..SocketOpts::default()
    }
}

/// uTP over `transport` (the peer port's UDP in [`start`]; an in-memory one in the
/// `utp_datagrams` fuzz target), its dispatcher spawned on the current runtime.
pub fn socket_over<T: Transport>(
    transport: T,
    opts: SocketOpts,
) -> io::Result<Arc<UtpSocket<T, Env>>> {
    UtpSocket::new_with_opts(transport, Env::default(), opts)
        .map_err(|e| io::Error::other(format!("cannot start uTP: {e}")))
}

/// Accepts waiting at once. The crate hands a SYN to a waiting accept, or keeps it in a
/// table of `utp_backlog` (upstream: a fixed 32); past that it refuses it. With one
/// accept at a time and 32 kept, a burst of 200 clients lost 91 of them
/// (`loadtest/bench/seeder-memory.sh`); more waiting accepts take a burst as it comes.
const ACCEPTORS: usize = 16;

/// Accepts uTP connections until `shutdown`, serving each as a TCP connection is
/// served; then waits for them to end (they end at `conns_stop`).
pub async fn accept_loop(
    socket: Arc<Socket>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    conns_stop: CancellationToken,
) {
    let conns = TaskTracker::new();
    let mut acceptors = tokio::task::JoinSet::new();
    for _ in 0..ACCEPTORS {
        acceptors.spawn(accept_some(
            socket.clone(),
            shared.clone(),
            shutdown.clone(),
            conns_stop.clone(),
            conns.clone(),
        ));
    }
    while acceptors.join_next().await.is_some() {}
    conns.close();
    conns.wait().await;
}

/// One of the [`ACCEPTORS`]: accepts until `shutdown` or the dispatcher stops.
async fn accept_some(
    socket: Arc<Socket>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    conns_stop: CancellationToken,
    conns: TaskTracker,
) {
    loop {
        tokio::select! {
            r = socket.accept() => match r {
                Ok(stream) => {
                    let addr = stream.remote_addr();
                    // Dropped at once (the crate sends a reset) when the address is at
                    // its cap.
                    let Some(place) = Place::take(&shared, addr) else {
                        continue;
                    };
                    let shared = shared.clone();
                    let stop = conns_stop.clone();
                    conns.spawn(async move {
                        shared.metrics.utp_connections.inc();
                        handle_connection(stream, addr, place, shared.clone(), stop).await;
                        shared.metrics.utp_connections.dec();
                    });
                }
                Err(e) => {
                    // Only when the dispatcher has stopped: nothing more will come.
                    tracing::warn!(error = %e, "uTP accept failed; no more uTP connections");
                    return;
                }
            },
            () = shutdown.cancelled() => return,
        }
    }
}

impl PollSendToVectored for PeerUdp {
    fn poll_send_to_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_send_to_vectored(cx, bufs, target)
    }
}

impl Transport for PeerUdp {
    fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl std::future::Future<Output = io::Result<(usize, SocketAddr)>> + Send + Sync + 'a {
        self.0.recv_from(buf)
    }

    fn send_to<'a>(
        &'a self,
        buf: &'a [u8],
        target: SocketAddr,
    ) -> impl std::future::Future<Output = io::Result<usize>> + Send + Sync + 'a {
        self.0.send_to(buf, target)
    }

    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_send_to(cx, buf, target)
    }

    fn bind_addr(&self) -> SocketAddr {
        self.0
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }
}
