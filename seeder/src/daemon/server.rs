//! Binding and the run sequence: embedded tracker (when no `--tracker`), admin listener,
//! peer listener, library scans, choking rounds; then, at shutdown, stop accepting,
//! announce `stopped`, close peers, all within the grace period.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use seedline_process::admin;
use seedline_process::net::bind_one;
use seedline_tracker::access::Mode;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::Config;
use super::library::Library;
use super::metrics::Metrics;
use super::peer;
use super::shared::Shared;

/// Bound sockets, so callers (and tests, with port 0) know the addresses first.
pub struct Listeners {
    pub peer: TcpListener,
    /// uTP's socket: the peer listener's address and port, over UDP (unless `utp` is off).
    pub peer_udp: Option<std::net::UdpSocket>,
    pub admin: TcpListener,
    /// The webseed listener, when `http_listen` is set.
    pub http: Option<TcpListener>,
    /// The embedded tracker's, when no `--tracker` is configured.
    pub tracker: Option<seedline_tracker::Listeners>,
}

impl Listeners {
    pub fn bind(cfg: &Config) -> io::Result<Self> {
        let tracker = match cfg.tracker {
            Some(_) => None,
            None => {
                let mut l = seedline_tracker::Listeners::bind(&embedded_tracker_config(cfg))?;
                // UDP (BEP 15) on the HTTP listener's address and port, whatever port
                // that turned out to be: `udp://` URLs name the same host and port.
                for a in l.public_addrs() {
                    l.udp.extend(seedline_process::net::bind_udp(a, 1)?);
                }
                Some(l)
            }
        };
        let (peer, peer_udp) = bind_peer(cfg)?;
        Ok(Self {
            peer,
            peer_udp,
            admin: bind_one(cfg.admin_listen)?,
            http: cfg.http_listen.map(bind_one).transpose()?,
            tracker,
        })
    }
}

/// The peer port: TCP, and UDP for uTP on the same address and port. With port 0 the
/// kernel picks a TCP port whose UDP twin may be taken; then another is picked.
fn bind_peer(cfg: &Config) -> io::Result<(TcpListener, Option<std::net::UdpSocket>)> {
    let mut tries = 0;
    loop {
        let tcp = bind_one(cfg.listen)?;
        if !cfg.utp {
            return Ok((tcp, None));
        }
        match peer::utp::bind(tcp.local_addr()?) {
            Ok(udp) => return Ok((tcp, Some(udp))),
            Err(_) if cfg.listen.port() == 0 && tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// The in-process tracker: the tracker's defaults with this seeder's addresses and a
/// short interval, so a small deployment sees new peers quickly.
fn embedded_tracker_config(cfg: &Config) -> seedline_tracker::Config {
    seedline_tracker::Config {
        listen: vec![cfg.embedded_tracker_listen],
        admin_listen: cfg.embedded_tracker_admin_listen,
        grace_period: cfg.grace_period,
        // The seeder announces over loopback; its `announce_ip` is what clients need.
        ip_param_from: ["127.0.0.0/8", "::1/128"]
            .iter()
            .map(|n| n.parse().expect("valid network"))
            .collect(),
        // This process is the origin: every leecher gets it first.
        origin_peer_id_prefixes: vec![
            String::from_utf8_lossy(&super::shared::peer_id_prefix()).into_owned()
        ],
        // The library registers its torrents as they load (see `Shared::track`).
        mode: if cfg.embedded_tracker_open {
            Mode::Open
        } else {
            Mode::Allow
        },
        // A seeder's own releases, announced mostly over loopback: one thread is plenty.
        http_workers: 1,
        ..Default::default()
    }
}

/// The URL this process announces to its embedded tracker at.
fn embedded_announce_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/announce", SocketAddr::new(ip, addr.port()))
}

/// How often the library directory is read for new and removed `.torrent` files: one
/// `readdir` and a `stat` per file, cheap enough that a publish is picked up at once
/// (a client that announces before the seeder took a torrent is refused by an allow-mode
/// tracker, and some, like aria2, do not ask again for minutes).
const LIBRARY_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Why the seeder could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// Serves until `shutdown` is cancelled.
pub async fn run(
    mut cfg: Config,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let metrics = Metrics::new();
    let tasks = TaskTracker::new();
    // The embedded tracker is a unit of its own: it stops last, after the announcers'
    // `stopped` reached it.
    let tracker_task = TaskTracker::new();
    let tracker_stop = CancellationToken::new();
    let mut embedded = None;
    if let Some(tl) = listeners.tracker {
        let addr = tl
            .public_addrs()
            .first()
            .copied()
            .ok_or_else(|| StartError("embedded tracker has no listener".into()))?;
        cfg.tracker = Some(embedded_announce_url(addr));
        tracing::info!(%addr, "embedded tracker listening");
        let tcfg = embedded_tracker_config(&cfg);
        let tracker = Arc::new(seedline_tracker::Tracker::new(
            &tcfg,
            seedline_tracker::metrics::Metrics::new(),
        ));
        tracker_task.spawn(seedline_tracker::serve(
            tracker.clone(),
            tl,
            tracker_stop.clone(),
        ));
        embedded = Some(tracker);
    }
    let peer_addr = listeners
        .peer
        .local_addr()
        .map_err(|e| StartError(e.to_string()))?;
    let shared = Shared::new(cfg, metrics, peer_addr.port());
    let embedded = embedded.is_some_and(|t| shared.embedded_tracker.set(t).is_ok());
    let torrents_stop = CancellationToken::new();
    let mut library = Library::new(shared.clone(), tasks.clone(), torrents_stop.clone());
    for o in &shared.cfg.torrents {
        library
            .add_one_off(&o.torrent, &o.data)
            .map_err(StartError)?;
    }
    library = scan_off_runtime(library, true).await;
    tracing::info!(addr = %peer_addr, peer_id = %String::from_utf8_lossy(shared.peer_id.as_bytes()), "seeding");
    if let Ok(a) = listeners.admin.local_addr() {
        tracing::info!(addr = %a, service = "seeder", "admin listening (/metrics, /health)");
    }
    log_summary(&shared, embedded);
    let conns_stop = CancellationToken::new();
    let metrics_of = shared.clone();
    tasks.spawn(admin::serve(
        listeners.admin,
        admin::Limits {
            grace: Config::secs(shared.cfg.grace_period),
            ..admin::Limits::default()
        },
        move |req| {
            let reply = admin::respond(&req, &metrics_of.metrics.registry);
            std::future::ready(reply)
        },
        shutdown.clone(),
    ));
    tasks.spawn(accept_loop(
        listeners.peer,
        shared.clone(),
        shutdown.clone(),
        conns_stop.clone(),
    ));
    if let Some(udp) = listeners.peer_udp {
        // Stopped after the connections it carries have ended.
        let utp_stop = CancellationToken::new();
        let dropped = shared.metrics.utp_syns_dropped.clone();
        let socket = peer::utp::start(udp, &shared.cfg, dropped, utp_stop.clone())
            .map_err(|e| StartError(e.to_string()))?;
        let (shared, shutdown, conns_stop) = (shared.clone(), shutdown.clone(), conns_stop.clone());
        tasks.spawn(async move {
            peer::utp::accept_loop(socket, shared, shutdown, conns_stop).await;
            utp_stop.cancel();
        });
    }
    if let Some(http) = listeners.http {
        if let Ok(a) = http.local_addr() {
            tracing::info!(addr = %a, public_url = shared.cfg.public_http_url.as_deref().unwrap_or("(public_http_url not set)"), "webseed listening");
        }
        tasks.spawn(super::webseed::serve(
            http,
            shared.clone(),
            shutdown.clone(),
        ));
    }
    tasks.spawn(choke_loop(shared.clone(), shutdown.clone()));
    let rescan = Config::secs(shared.cfg.rescan_interval);
    let mut next_full = Instant::now() + rescan;
    loop {
        tokio::select! {
            () = tokio::time::sleep(LIBRARY_POLL.min(rescan)) => {
                let full = Instant::now() >= next_full;
                if full {
                    next_full = Instant::now() + rescan;
                }
                library = scan_off_runtime(library, full).await;
            }
            () = shutdown.cancelled() => break,
        }
    }
    // Announcers send `stopped` while peers are still served; the tracker goes last so
    // that an embedded one hears the `stopped`.
    torrents_stop.cancel();
    conns_stop.cancel();
    let grace = Config::secs(shared.cfg.grace_period);
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!("grace period over; exiting with work still running");
    }
    tracker_stop.cancel();
    tracker_task.close();
    let _ = tokio::time::timeout(grace, tracker_task.wait()).await;
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    conns_stop: CancellationToken,
) {
    let conns = TaskTracker::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, addr)) => {
                    // Refused at once (the socket closes on drop), before any task or
                    // buffer is spent on the connection.
                    let Some(place) = peer::Place::take(&shared, addr) else {
                        continue;
                    };
                    conns.spawn(peer::handle_connection(stream, addr, place, shared.clone(), conns_stop.clone()));
                }
                Err(e) => {
                    // Out of file descriptors, most often: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            () = shutdown.cancelled() => break,
        }
    }
    drop(listener);
    conns.close();
    conns.wait().await;
}

/// One line an operator reads first: what is served, in which state, announced where.
fn log_summary(shared: &Shared, embedded: bool) {
    let state = |s: &str| shared.metrics.torrents.with_label_values(&[s]).get();
    let tracker = match &shared.cfg.tracker {
        Some(url) if embedded && shared.cfg.embedded_tracker_open => {
            format!("{url} (embedded, open to any torrent)")
        }
        Some(url) if embedded => format!("{url} (embedded, this library's torrents only)"),
        Some(url) => url.clone(),
        None => "each torrent's own trackers".into(),
    };
    tracing::info!(
        seeding = state("seeding"),
        checking = state("checking"),
        missing = state("missing"),
        damaged = state("damaged"),
        broken = state("broken"),
        tracker = %tracker,
        "started"
    );
}

/// One library scan on the blocking pool: it reads directories, parses `.torrent` files
/// of up to 64 MiB and looks at every content file, none of which may stall the
/// runtime's workers (and with them every peer connection).
async fn scan_off_runtime(mut library: Library, full: bool) -> Library {
    tokio::task::spawn_blocking(move || {
        library.scan(full);
        library
    })
    .await
    .expect("a library scan does not panic")
}

async fn choke_loop(shared: Arc<Shared>, shutdown: CancellationToken) {
    let every = Config::secs(shared.cfg.choke_interval);
    let timeout = Config::secs(shared.cfg.request_timeout);
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => shared.choker.round(Instant::now(), timeout),
            () = shutdown.cancelled() => return,
        }
    }
}
