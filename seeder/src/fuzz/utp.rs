//! The `utp_datagrams` fuzz target: datagrams from the internet into a real uTP socket.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock, PoisonError};
use std::task::{Context, Poll};

use librqbit_dualstack_sockets::PollSendToVectored;
use librqbit_utp::{Transport, UtpSocket, UtpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::daemon::peer::utp;
use crate::daemon::Config;

/// `utp_datagrams` target: datagrams from the internet into a real uTP socket, with the
/// seeder's socket options, its connections accepted, read and written to as a peer
/// session would, then dropped.
///
/// The first byte is the plan: bits 0-1 how much each accepted stream writes (0, 100,
/// 5 000 or 200 000 bytes); bit 2 its reader never reads (the receive window fills);
/// bit 3 it shuts its writer down once written (FIN); bit 4 the path MTU is 1280 (longer
/// datagrams fail with `EMSGSIZE`, as with don't-fragment); bit 5 every other send finds
/// the socket full (`Pending`); bit 6 nothing is accepted until the last datagram is in
/// (SYNs wait in the crate's queue); bit 7 at most 2 live connections instead of the
/// seeder's 1024. Then each datagram is a big-endian u16, its top two bits the sender (of
/// four: two ports of one IPv4 address, another IPv4 address, an IPv6 one) and the rest
/// its length (at most 1500, cut at the end of the input), and its bytes; at most 64.
///
/// Each datagram goes in once everything the previous one set off has run, so a run is
/// deterministic but for the crate's clock and randomness, and ends when the last one has
/// been dealt with: the streams are dropped and the socket cancelled. The crate's timers
/// (retransmission, delayed ack, inactivity) run on the real clock and do not fire in so
/// short a run. The sequence number the socket starts a connection at is random, so no
/// input could acknowledge what it sends: on a connection it has answered, the transport
/// adds that number to the `ack_nr` of what it delivers (`0xffff` acknowledges the
/// SYN-ACK and completes the handshake, 0 the first data packet).
///
/// It fails (panics) when one of the crate's tasks panics (tokio catches that panic: it
/// is noted and raised again once the run is over, so that the replay of the corpus sees
/// it too), and when the crate reports a failure of its own (see `CrateFailures`).
pub fn utp_datagrams(data: &[u8]) {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let plan = Plan::from(flags);
    let mut datagrams = Vec::new();
    while datagrams.len() < MAX_DATAGRAMS {
        let [hi, lo, tail @ ..] = rest else {
            break;
        };
        let prefix = u16::from_be_bytes([*hi, *lo]);
        let len = usize::from(prefix & 0x3fff)
            .min(MAX_DATAGRAM)
            .min(tail.len());
        datagrams.push((SOURCES[usize::from(prefix >> 14)], tail[..len].to_vec()));
        rest = &tail[len..];
    }

    watch_task_panics();
    TASK_PANICKED.with(|p| p.set(false));
    CRATE_FAILURES.with(|f| f.borrow_mut().clear());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    tracing::dispatcher::with_default(CrateFailures::dispatch(), move || {
        rt.block_on(exchange(plan, datagrams));
        // What is left (tasks the socket's cancellation has not ended yet) goes here.
        drop(rt);
    });
    assert!(
        !TASK_PANICKED.with(Cell::get),
        "a task panicked on this input (see its message above)"
    );
    let failures = CRATE_FAILURES.with(RefCell::take);
    assert!(
        failures.is_empty(),
        "librqbit-utp failed on this input: {failures:#?}"
    );
}

/// The run of [`utp_datagrams`]: a socket, its connections served, the datagrams one by
/// one, then the streams dropped and the socket stopped.
async fn exchange(plan: Plan, datagrams: Vec<(SocketAddr, Vec<u8>)>) {
    let progress = Arc::new(AtomicUsize::new(0));
    let (inbox, rx) = mpsc::unbounded_channel();
    let wire = Wire {
        inbox: Mutex::new(rx),
        isn: Mutex::default(),
        plan,
        sends: AtomicUsize::new(0),
        progress: progress.clone(),
    };
    let stop_socket = CancellationToken::new();
    // The defaults come from the command line parser: once, they are not cheap.
    static CONFIG: OnceLock<Config> = OnceLock::new();
    let dropped =
        prometheus::IntCounter::new("syns_dropped", "uTP SYNs dropped").expect("a counter");
    let mut opts = utp::socket_opts(
        CONFIG.get_or_init(Config::default),
        dropped,
        stop_socket.clone(),
    );
    if plan.two_streams {
        opts.max_live_vsocks = NonZeroUsize::new(2);
    }
    let socket = utp::socket_over(wire, opts).expect("the uTP socket starts");
    let stop_streams = CancellationToken::new();
    let accept = || {
        tokio::spawn(accept_streams(
            socket.clone(),
            plan,
            stop_streams.clone(),
            progress.clone(),
        ))
    };
    if !plan.accept_late {
        accept();
    }
    for datagram in datagrams {
        settle(&progress).await;
        let _ = inbox.send(datagram);
    }
    settle(&progress).await;
    if plan.accept_late {
        accept();
        settle(&progress).await;
    }
    // Every stream dropped (FIN or reset), then the socket stopped.
    stop_streams.cancel();
    settle(&progress).await;
    stop_socket.cancel();
    settle(&progress).await;
}

const MAX_DATAGRAMS: usize = 64;
const MAX_DATAGRAM: usize = 1500;
const ST_STATE: u8 = 2;
const ST_SYN: u8 = 4;

/// Who sends the datagrams: two ports of one address, another address, an IPv6 one.
const SOURCES: [SocketAddr; 4] = [
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 6881),
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 6882),
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)), 51413),
    SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        6881,
    ),
];

/// What the crate gets back for a datagram longer than the path MTU under
/// don't-fragment, and takes as a failed MTU probe.
const EMSGSIZE: i32 = if cfg!(any(target_os = "linux", target_os = "android")) {
    90
} else if cfg!(windows) {
    10040
} else {
    40
};

/// The first byte of a `utp_datagrams` input; see there.
#[derive(Clone, Copy)]
struct Plan {
    write: usize,
    read: bool,
    shutdown: bool,
    mtu_1280: bool,
    congested: bool,
    accept_late: bool,
    two_streams: bool,
}

impl From<u8> for Plan {
    fn from(b: u8) -> Self {
        let bit = |i: u8| b & (1 << i) != 0;
        Plan {
            write: [0, 100, 5_000, 200_000][usize::from(b & 3)],
            read: !bit(2),
            shutdown: bit(3),
            mtu_1280: bit(4),
            congested: bit(5),
            accept_late: bit(6),
            two_streams: bit(7),
        }
    }
}

/// The in-memory UDP socket: receives what the input's datagrams hand it, one at a
/// time, then waits forever; sends are counted and dropped.
struct Wire {
    inbox: Mutex<mpsc::UnboundedReceiver<(SocketAddr, Vec<u8>)>>,
    /// The socket's initial sequence number per connection (remote, connection id it
    /// sends with): the `seq_nr` of the first `ST_STATE` it sends there, the SYN-ACK.
    isn: Mutex<HashMap<(SocketAddr, u16), u16>>,
    plan: Plan,
    sends: AtomicUsize,
    progress: Arc<AtomicUsize>,
}

impl Wire {
    /// A datagram to `to`, of `len` bytes starting with `head`, is sent.
    fn send(&self, to: SocketAddr, head: &[u8], len: usize) -> io::Result<usize> {
        let ip_udp = if to.is_ipv4() { 28 } else { 48 };
        if self.plan.mtu_1280 && len + ip_udp > 1280 {
            return Err(io::Error::from_raw_os_error(EMSGSIZE));
        }
        if head.len() >= 20 && head[0] == (ST_STATE << 4) | 1 {
            let conn = u16::from_be_bytes([head[2], head[3]]);
            let seq_nr = u16::from_be_bytes([head[16], head[17]]);
            lock(&self.isn).entry((to, conn)).or_insert(seq_nr);
        }
        self.progress.fetch_add(1, Ordering::Relaxed);
        Ok(len)
    }

    /// As [`Wire::send`], but with the plan's full socket every other time.
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        to: SocketAddr,
        head: &[u8],
        len: usize,
    ) -> Poll<io::Result<usize>> {
        if self.plan.congested && self.sends.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            // Room again at once, as after a moment on a busy link.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.send(to, head, len))
    }

    /// Makes the `ack_nr` of a datagram on a connection the socket has answered relative
    /// to the socket's initial sequence number. A SYN starts a new connection: the next
    /// SYN-ACK on its id gives the number.
    fn relativize(&self, from: SocketAddr, d: &mut [u8]) {
        if d.len() < 20 || d[0] & 0x0f != 1 {
            return;
        }
        let conn = u16::from_be_bytes([d[2], d[3]]);
        let mut isn = lock(&self.isn);
        if d[0] >> 4 == ST_SYN {
            isn.remove(&(from, conn));
        } else if let Some(&start) = isn.get(&(from, conn.wrapping_sub(1))) {
            let ack = u16::from_be_bytes([d[18], d[19]]).wrapping_add(start);
            d[18..20].copy_from_slice(&ack.to_be_bytes());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PollSendToVectored for Wire {
    fn poll_send_to_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_send(cx, target, bufs.first().map_or(&[], |b| &b[..]), len)
    }
}

impl Transport for Wire {
    fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send + Sync + 'a {
        // Takes a datagram only in the poll that returns it: the crate drops this future
        // whenever another event comes first.
        std::future::poll_fn(move |cx| {
            let Poll::Ready(Some((from, mut d))) = lock(&self.inbox).poll_recv(cx) else {
                return Poll::Pending;
            };
            self.relativize(from, &mut d);
            let n = d.len().min(buf.len());
            buf[..n].copy_from_slice(&d[..n]);
            self.progress.fetch_add(1, Ordering::Relaxed);
            Poll::Ready(Ok((n, from)))
        })
    }

    fn send_to<'a>(
        &'a self,
        buf: &'a [u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send + Sync + 'a {
        std::future::ready(self.send(target, buf, buf.len()))
    }

    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, target, buf, buf.len())
    }

    fn bind_addr(&self) -> SocketAddr {
        SocketAddr::from(([203, 0, 113, 1], 6881))
    }
}

type FuzzSocket = UtpSocket<Wire, utp::Env>;

/// Accepts connections until `stop`, each served by [`serve_stream`].
async fn accept_streams(
    socket: Arc<FuzzSocket>,
    plan: Plan,
    stop: CancellationToken,
    progress: Arc<AtomicUsize>,
) {
    loop {
        let stream = tokio::select! {
            r = socket.accept() => match r {
                Ok(stream) => stream,
                Err(_) => return,
            },
            () = stop.cancelled() => return,
        };
        progress.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve_stream(stream, plan, stop.clone(), progress.clone()));
    }
}

/// Reads the stream to its end (unless the plan says not to read) while writing the
/// plan's bytes, then drops it; or drops it at `stop`.
async fn serve_stream(
    stream: UtpStream,
    plan: Plan,
    stop: CancellationToken,
    progress: Arc<AtomicUsize>,
) {
    static BLOCK: [u8; 4096] = [b'x'; 4096];
    let (mut rd, mut wr) = stream.split();
    let read = async {
        if !plan.read {
            return std::future::pending().await;
        }
        let mut buf = [0u8; 4096];
        while let Ok(1..) = rd.read(&mut buf).await {
            progress.fetch_add(1, Ordering::Relaxed);
        }
    };
    let write = async {
        let mut left = plan.write;
        while left > 0 {
            match wr.write(&BLOCK[..left.min(BLOCK.len())]).await {
                Ok(n @ 1..) => left -= n,
                _ => return,
            }
            progress.fetch_add(1, Ordering::Relaxed);
        }
        if plan.shutdown {
            let _ = wr.shutdown().await;
        }
    };
    tokio::select! {
        _ = async { tokio::join!(read, write) } => {}
        () = stop.cancelled() => {}
    }
}

/// Lets every task run until none has anything left to do: two turns of the scheduler
/// in a row (each runs whatever is ready, and what that wakes) without a datagram
/// received or sent or a stream accepted, read or written. At most 32 turns.
async fn settle(progress: &AtomicUsize) {
    let mut quiet = 0;
    for _ in 0..32 {
        let before = progress.load(Ordering::Relaxed);
        tokio::task::yield_now().await;
        if progress.load(Ordering::Relaxed) == before {
            quiet += 1;
            if quiet == 2 {
                return;
            }
        } else {
            quiet = 0;
        }
    }
}

thread_local! {
    static TASK_PANICKED: Cell<bool> = const { Cell::new(false) };
    static CRATE_FAILURES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Tokio catches a spawned task's panic and ends only that task: notes it (the runtime is
/// single-threaded, so on this thread) before the usual hook reports it.
fn watch_task_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            TASK_PANICKED.with(|p| p.set(true));
            previous(info);
        }));
    });
}

/// Collects what librqbit-utp reports of its own failures: a warning (its dispatcher
/// dying, which ends uTP for every peer, or a stream already on a new connection's key)
/// or a connection ending on one of its internal errors ("bug: ..."). Its other logging
/// stays off, so costs nothing.
///
/// Not counted: "bug: got EMSGSIZE error, but the last message was not a matching MTU
/// probe" (`fuzz/corpus/utp_datagrams/emsgsize-learned-mss`). The crate takes the size of
/// the data packets it receives as a segment size the path carries, so a peer sending
/// 1300-byte packets makes it send 1300-byte segments, which under a smaller path MTU
/// fail as no probe should. Only that peer's connection ends.
struct CrateFailures;

impl CrateFailures {
    /// Collects them into `CRATE_FAILURES` where it is the default (on this thread).
    fn dispatch() -> &'static tracing::Dispatch {
        static DISPATCH: OnceLock<tracing::Dispatch> = OnceLock::new();
        DISPATCH.get_or_init(|| tracing::Dispatch::new(CrateFailures))
    }

    fn wanted(meta: &tracing::Metadata<'_>) -> bool {
        let level = *meta.level();
        meta.is_event()
            && meta.target().starts_with("librqbit_utp")
            && (level <= tracing::Level::WARN
                || level <= tracing::Level::DEBUG && meta.target() == "librqbit_utp::spawn_utils")
    }
}

impl tracing::Subscriber for CrateFailures {
    fn register_callsite(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if Self::wanted(meta) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        Self::wanted(meta)
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = String::new();
        event.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                if field.name() == "message" {
                    message = format!("{value:?}");
                }
            },
        );
        let failed = *event.metadata().level() <= tracing::Level::WARN
            || message.contains("bug") && !message.contains("EMSGSIZE");
        if failed {
            CRATE_FAILURES.with(|f| f.borrow_mut().push(message));
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
