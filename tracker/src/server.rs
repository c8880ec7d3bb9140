//! Listeners, connections and the shutdown sequence.
//!
//! Shutdown: the token is cancelled -> accept loops stop -> every open connection is told
//! to finish its in-flight request and close -> after `grace_period` the rest are dropped
//! -> the sweeper stops -> `serve` returns.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use seedline_process::admin;
use seedline_process::cork::{cork_accepted, Corked, KeepAlive};
use seedline_process::defer_accept::defer_accept;
use seedline_process::net::{bind_one, bind_tcp_group, bind_udp};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use bytes::Bytes;
use futures_util::future::Either;
use hyper::body::Incoming;
use hyper::Request;
use seedline_common::per_address::PerAddress;

use crate::client_ip::TrustedProxies;
use crate::config::Config;
use crate::http::Body;
use crate::metrics::Metrics;
use crate::swarm::Expiry;
use crate::swarm_store::ready_now;
use crate::tracker::Tracker;
use crate::{api, persist, reload};
use seedline_process::idle_io::{Deadlines, IdleIo};

/// How long a tracker with a shared store waits at start for the API's lists.
const STORE_START_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Bound sockets, so callers (and tests, with port 0) know the addresses before serving.
pub struct Listeners {
    /// Per public address, one socket per HTTP worker (SO_REUSEPORT), registered with
    /// no runtime until its worker takes it (`http_workers`).
    pub public: Vec<Vec<std::net::TcpListener>>,
    pub admin: TcpListener,
    /// UDP sockets, several per `udp_listen` address (SO_REUSEPORT).
    pub udp: Vec<UdpSocket>,
}

impl Listeners {
    /// Binds every configured address. IPv6 sockets are IPv6-only so that `0.0.0.0:P`
    /// and `[::]:P` can both be listed.
    pub fn bind(cfg: &Config) -> io::Result<Self> {
        let workers = crate::http_workers::count(cfg.http_workers);
        let public = cfg
            .listen
            .iter()
            .map(|a| {
                let group = bind_tcp_group(*a, workers)?;
                for l in &group {
                    cork_accepted(l)?;
                    defer_accept(l, cfg.defer_accept)?;
                }
                Ok(group)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let admin = bind_one(cfg.admin_listen)?;
        let per_address = match cfg.udp_sockets {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut udp = Vec::new();
        for a in &cfg.udp_listen {
            udp.extend(bind_udp(*a, per_address)?);
        }
        Ok(Self { public, admin, udp })
    }

    /// The UDP addresses, once each.
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<SocketAddr> = self
            .udp
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect();
        addrs.dedup();
        addrs
    }

    pub fn public_addrs(&self) -> Vec<SocketAddr> {
        self.public
            .iter()
            .filter_map(|group| group.first()?.local_addr().ok())
            .collect()
    }

    pub fn admin_addr(&self) -> io::Result<SocketAddr> {
        self.admin.local_addr()
    }
}

/// Serves with a fresh tracker until `shutdown` is cancelled.
pub async fn run(cfg: Config, listeners: Listeners, shutdown: CancellationToken) {
    let tracker = Arc::new(Tracker::new(&cfg, Metrics::new()));
    serve(tracker, listeners, shutdown).await;
}

/// Loads the access list and the state file into a tracker that has not served yet.
fn load(tracker: &Tracker) {
    let cfg = tracker.config();
    if let Some(path) = &cfg.access_list {
        reload::reload(tracker, path);
    }
    if let Some(path) = &cfg.state_file {
        persist::load(tracker, path);
    }
    tracker.refresh_access_gauges();
    if tracker.admin_token().is_some() {
        tracing::info!("admin API on (bearer token)");
    }
}

/// Serves `tracker` on `listeners` until `shutdown` is cancelled, then drains and saves
/// the state file.
pub async fn serve(tracker: Arc<Tracker>, listeners: Listeners, shutdown: CancellationToken) {
    serve_with(tracker, listeners, shutdown, None).await;
}

/// The floor for benchmarks (`tracker/examples/floor.rs`): the public listener with the
/// very same connection handling (limits, deadlines, hyper, keep-alive, drain) answers
/// every request with `reply` as an announce reply, parsing nothing and touching no swarm.
/// What the tracker spends beyond this is the cost of its own work.
pub async fn serve_floor(
    tracker: Arc<Tracker>,
    listeners: Listeners,
    shutdown: CancellationToken,
    reply: Bytes,
) {
    serve_with(tracker, listeners, shutdown, Some(reply)).await;
}

async fn serve_with(
    tracker: Arc<Tracker>,
    mut listeners: Listeners,
    shutdown: CancellationToken,
    floor: Option<Bytes>,
) {
    let cfg = tracker.config().clone();
    {
        let t = tracker.clone();
        let _ = tokio::task::spawn_blocking(move || load(&t)).await;
    }
    let mut background = Vec::new();
    if let Some(path) = cfg.access_list.clone() {
        background.push(tokio::spawn(reload::reload_loop(
            tracker.clone(),
            path,
            shutdown.clone(),
        )));
    }
    if let Some(path) = cfg.state_file.clone() {
        background.push(tokio::spawn(persist::save_loop(
            tracker.clone(),
            path,
            shutdown.clone(),
        )));
    }
    if tracker.shared.is_some() {
        // The admin API's lists as the shared store holds them, kept current.
        let (t, token) = (tracker.clone(), shutdown.clone());
        background.push(tokio::spawn(async move {
            if let Some(r) = &t.shared {
                r.lists.follow(t.clone(), token).await;
            }
        }));
        // Serving before the lists are read would answer `tracker store unavailable`;
        // a Redis that is away does not hold the start up for long, though.
        if let Some(r) = &tracker.shared {
            if !r.lists.wait_ready(STORE_START_WAIT).await {
                tracing::warn!("shared store not reachable yet; serving 'tracker store unavailable' until it is");
            }
        }
    }
    let http_workers = listeners.public.first().map_or(0, Vec::len);
    for a in listeners.public_addrs() {
        tracing::info!(addr = %a, workers = http_workers, "tracker listening");
    }
    for a in listeners.udp_addrs() {
        tracing::info!(addr = %a, sockets = listeners.udp.len(), "UDP tracker listening");
    }
    let udp = tokio::spawn(crate::udp::serve(
        tracker.clone(),
        std::mem::take(&mut listeners.udp),
        shutdown.clone(),
    ));
    if let Ok(a) = listeners.admin_addr() {
        tracing::info!(addr = %a, service = "tracker", "admin listening (/metrics, /health)");
    }
    let conns = TaskTracker::new();
    let drain = CancellationToken::new();
    let limit = Arc::new(Semaphore::new(cfg.max_connections));
    let per_address = PerAddress::new(cfg.max_connections_per_address);
    let ctx = AcceptCtx {
        tracker: tracker.clone(),
        conns: conns.clone(),
        drain: drain.clone(),
        limit,
        per_address: Some((
            per_address,
            TrustedProxies::new(cfg.trusted_proxies.clone()),
        )),
        floor,
    };
    let mut workers = crate::http_workers::start(listeners.public, &ctx, &shutdown);
    drop(ctx);
    let admin = {
        let t = tracker.clone();
        let limits = admin::Limits {
            max_head: cfg.max_request_head,
            grace: cfg.grace(),
            ..admin::Limits::default()
        };
        tokio::spawn(admin::serve(
            listeners.admin,
            limits,
            move |req| admin_response(t.clone(), req),
            shutdown.clone(),
        ))
    };
    let sweeper = tokio::spawn(sweep_loop(tracker.clone(), shutdown.clone()));
    let heartbeat = tokio::spawn(seedline_process::idle_io::keep_timers_ahead(
        shutdown.clone(),
    ));

    shutdown.cancelled().await;
    workers.stopped_accepting().await;
    drain.cancel();
    conns.close();
    let open = conns.len();
    // The admin listener drains within the same grace period, at the same time.
    let (_, drained) = tokio::join!(admin, tokio::time::timeout(cfg.grace(), conns.wait()));
    if drained.is_err() {
        tracing::warn!(
            open = conns.len(),
            "grace period over; dropping connections still open"
        );
    } else {
        tracing::info!(drained = open, "connections drained");
    }
    workers.finish().await;
    let _ = udp.await;
    let _ = sweeper.await;
    let _ = heartbeat.await;
    for b in background {
        let _ = b.await;
    }
    if let Some(path) = &cfg.state_file {
        if persist::save_now(&tracker, path).await {
            tracing::info!(path = %path.display(), "state saved");
        }
    }
}

#[derive(Clone)]
pub(crate) struct AcceptCtx {
    tracker: Arc<Tracker>,
    conns: TaskTracker,
    drain: CancellationToken,
    limit: Arc<Semaphore>,
    /// The per-address counts, and the proxies they do not apply to.
    per_address: Option<(Arc<PerAddress>, TrustedProxies)>,
    /// Benchmarks only: the canned announce reply of [`serve_floor`].
    floor: Option<Bytes>,
}

pub(crate) async fn accept_loop(
    listener: TcpListener,
    ctx: AcceptCtx,
    shutdown: CancellationToken,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning on the error.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // A worker waits for a slot holding the one connection it accepted, and
        // accepts no more meanwhile: excess clients stay in the kernel backlog, and a
        // worker never holds a slot while the others' clients wait (the cap is shared;
        // a slot taken before accepting would sit idle in a worker nobody connects to).
        let permit = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = ctx.limit.clone().acquire_owned() => p.expect("semaphore never closed"),
        };
        let slot = match &ctx.per_address {
            Some((counts, proxies)) if !proxies.contains(peer.ip()) => {
                match counts.try_open(peer.ip()) {
                    Some(slot) => Some(slot),
                    None => {
                        // Closed at once: the address already holds its share.
                        ctx.tracker.metrics.connections_address_limited.inc();
                        continue;
                    }
                }
            }
            _ => None,
        };
        let ctx2 = ctx.clone();
        ctx.conns.spawn(async move {
            serve_connection(stream, peer, &ctx2).await;
            drop((permit, slot));
        });
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, ctx: &AcceptCtx) {
    // TCP_NODELAY and the cork come from the listener (`cork_accepted`).
    let cfg = ctx.tracker.config();
    let m = &ctx.tracker.metrics;
    m.connections_open.inc();
    m.connections_total.inc();
    let limits = deadlines(cfg, m);
    let (stream, keep_alive) = Corked::new(stream);
    let io = TokioIo::new(IdleIo::new(stream, limits));
    let tracker = ctx.tracker.clone();
    let floor = ctx.floor.clone();
    let svc = service_fn(move |req: Request<Incoming>| {
        if KeepAlive::wanted(req.version(), req.headers()) {
            keep_alive.set();
        }
        if let Some(body) = &floor {
            let reply = crate::http::bencoded(body.clone());
            return Either::Left(std::future::ready(Ok::<_, Infallible>(reply)));
        }
        if tracker.shared.is_none() {
            // The in-memory store answers at the first poll: no state machine for hyper.
            let reply = ready_now(tracker.handle_public(&req, peer));
            return Either::Left(std::future::ready(Ok::<_, Infallible>(reply)));
        }
        // A shared store answers over the network: the request waits for it. Public
        // endpoints read no body.
        let (parts, _body) = req.into_parts();
        let req = Request::from_parts(parts, ());
        let t = tracker.clone();
        Either::Right(Box::pin(async move {
            Ok::<_, Infallible>(t.handle_public(&req, peer).await)
        }))
    });
    if let Err(e) = drive(io, svc, ctx).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
    m.connections_open.dec();
}

/// The configured connection limits, feeding the tracker's connection counters.
pub(crate) fn deadlines(cfg: &crate::Config, m: &crate::metrics::Metrics) -> Deadlines {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    Deadlines {
        idle: secs(cfg.idle_timeout),
        head: secs(cfg.header_read_timeout),
        write: secs(cfg.write_timeout),
        idle_closed: m.connections_idle_closed.clone(),
        slow_closed: m.connections_slow_closed.clone(),
        write_stalled: m.connections_write_stalled.clone(),
    }
}

async fn admin_response(t: Arc<Tracker>, req: Request<Incoming>) -> admin::Reply {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        api::handle(&t, req).await
    } else {
        admin::respond(&req, &t.metrics.registry)
    }
}

/// Runs one HTTP/1 connection until it ends or, at shutdown, finishes its request.
async fn drive<S>(io: TokioIo<IdleIo<Corked>>, svc: S, ctx: &AcceptCtx) -> hyper::Result<()>
where
    S: hyper::service::HttpService<Incoming, ResBody = Body>,
{
    let cfg = ctx.tracker.config();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // IdleIo enforces (and counts) the head timeout.
        .header_read_timeout(None)
        .keep_alive(true)
        // A client may shut its side once its request is sent; it still gets the reply.
        // hyper otherwise closes at that EOF, before replying when the request and the
        // FIN arrive in one read (likelier since each worker is single-threaded: a new
        // connection's task runs after both are in).
        .half_close(true)
        .max_buf_size(cfg.max_request_head);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => r,
        _ = ctx.drain.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.as_mut().await
        }
    }
}

async fn sweep_loop(tracker: Arc<Tracker>, shutdown: CancellationToken) {
    let cfg = tracker.config();
    let mut tick =
        seedline_process::shutdown::every(Duration::from_secs(u64::from(cfg.sweep_interval)));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let t = tracker.clone();
        // A sweep walks every swarm: off the request workers, and below their priority.
        let job = seedline_process::background::run("seedline-sweep", move || {
            if let Some(rl) = &t.limiter {
                rl.sweep(rl.now());
                t.metrics.ops.rate_limit_clients.set(rl.clients() as i64);
                let c = &t.metrics.ops.rate_limit_evicted;
                c.inc_by((rl.evicted() as u64).saturating_sub(c.get()));
            }
            let removed = t.store.expire(Expiry::OlderThan {
                now: t.now(),
                max_age: t.config().peer_timeout_secs(),
            });
            t.metrics.peers_expired.inc_by(removed);
            removed
        });
        // Shutdown does not wait for a sweep the load keeps from the CPU; the process's
        // exit ends it.
        let ran = tokio::select! {
            _ = shutdown.cancelled() => return,
            ran = job => ran,
        };
        if let Ok(ran) = ran {
            // Observed here, not on the idle thread: a histogram's scrape waits for an
            // observation in flight, and the idle thread may not run for a while.
            let m = &tracker.metrics;
            m.sweep_duration.observe(ran.cpu.as_secs_f64());
            tracing::debug!(removed = ran.value, cpu = ?ran.cpu, wall = ?ran.wall, "expiry sweep");
        }
    }
}
