//! Running the seeder in-process on `127.0.0.1:0` ports, and small HTTP helpers for its
//! admin listener and its embedded tracker.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use seedline_common::scrape::{ScrapeRequest, ScrapeResponse, ScrapeStats};
use seedline_common::InfoHash;
use seedline_seeder::daemon::config::OneOff;
use seedline_seeder::daemon::{self, Config, Listeners};
use seedline_testkit::Served;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const DEADLINE: Duration = Duration::from_secs(30);

/// Loopback everywhere, embedded tracker on, short timers.
pub fn test_config() -> Config {
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Config {
        listen: local,
        admin_listen: local,
        embedded_tracker_listen: local,
        embedded_tracker_admin_listen: local,
        rescan_interval: 1,
        grace_period: 5,
        ..Config::default()
    }
}

pub fn one_off(torrent: &Path, data: &Path) -> OneOff {
    OneOff {
        torrent: torrent.to_owned(),
        data: data.to_owned(),
    }
}

pub struct Running {
    pub peer: SocketAddr,
    pub admin: SocketAddr,
    pub tracker: Option<SocketAddr>,
    /// The webseed listener, when `http_listen` is set.
    pub http: Option<SocketAddr>,
    /// Taken by [`Self::stop`]; otherwise cancelled on drop.
    task: Option<Served<Result<(), daemon::StartError>>>,
}

impl Running {
    pub async fn start(cfg: Config) -> Self {
        let listeners = Listeners::bind(&cfg).expect("bind");
        let peer = listeners.peer.local_addr().unwrap();
        let admin = listeners.admin.local_addr().unwrap();
        let tracker = listeners.tracker.as_ref().map(|t| t.public_addrs()[0]);
        let http = listeners.http.as_ref().map(|l| l.local_addr().unwrap());
        let task = Served::spawn(|token| daemon::run(cfg, listeners, token));
        Self {
            peer,
            admin,
            tracker,
            http,
            task: Some(task),
        }
    }

    pub async fn metrics(&self) -> String {
        String::from_utf8(http_get(self.admin, "/metrics").await.1).unwrap()
    }

    /// The first metric line starting with `prefix`, or 0.
    pub async fn metric(&self, prefix: &str) -> f64 {
        metric(&self.metrics().await, prefix)
    }

    /// Whether `n` torrents come to be seeding within the deadline.
    pub async fn until_seeding(&self, n: usize) -> bool {
        let key = "seedline_seeder_torrents{state=\"seeding\"}";
        eventually(|| async { self.metric(key).await == n as f64 }).await
    }

    /// What the embedded tracker says about `h`.
    pub async fn scrape(&self, h: InfoHash) -> Option<ScrapeStats> {
        scrape(self.tracker.expect("embedded tracker"), h).await
    }

    /// Stops the seeder and waits (bounded) for it to finish.
    pub async fn stop(mut self) {
        let task = self.task.take().unwrap();
        task.stop(DEADLINE).await.expect("seeder ran");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.token.cancel();
        }
    }
}

/// What the tracker at `tracker` says about `h`.
pub async fn scrape(tracker: SocketAddr, h: InfoHash) -> Option<ScrapeStats> {
    let mut q = Vec::new();
    ScrapeRequest {
        info_hashes: vec![h],
    }
    .write_query(&mut q);
    let target = format!("/scrape?{}", String::from_utf8(q).unwrap());
    let (_, body) = http_get(tracker, &target).await;
    ScrapeResponse::decode(&body).ok()?.files.get(&h).copied()
}

/// The first metric line starting with `prefix`, or 0 (a labelled series the seeder has
/// not created yet reads as zero).
pub fn metric(text: &str, prefix: &str) -> f64 {
    seedline_testkit::metric(text, prefix).unwrap_or(0.0)
}

/// A one-shot HTTP/1.1 GET: (status line, body).
pub async fn http_get(addr: SocketAddr, target: &str) -> (String, Vec<u8>) {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("HTTP head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head.lines().next().unwrap_or_default().to_owned();
        (status, raw[split + 4..].to_vec())
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("HTTP reply in time")
}

/// Polls `f` until it holds or the deadline passes.
pub async fn eventually<Fut: Future<Output = bool>>(f: impl FnMut() -> Fut) -> bool {
    seedline_testkit::eventually(DEADLINE, f).await
}

/// A tracker in `allow` mode in this process, with its admin API behind `token`: it
/// tracks only what is registered. Stopped on drop.
pub struct AllowTracker {
    pub tracker: std::sync::Arc<seedline_tracker::Tracker>,
    /// The announce (and scrape) listener.
    pub addr: SocketAddr,
    /// The admin API's listener.
    pub admin: SocketAddr,
    _stop: tokio_util::sync::DropGuard,
}

impl AllowTracker {
    pub fn start(token: &str) -> Self {
        let cfg = seedline_tracker::Config {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            admin_listen: "127.0.0.1:0".parse().unwrap(),
            mode: seedline_tracker::access::Mode::Allow,
            admin_token: Some(token.into()),
            ..seedline_tracker::Config::default()
        };
        let listeners = seedline_tracker::Listeners::bind(&cfg).unwrap();
        let (addr, admin) = (listeners.public_addrs()[0], listeners.admin_addr().unwrap());
        let tracker = std::sync::Arc::new(seedline_tracker::Tracker::new(
            &cfg,
            seedline_tracker::metrics::Metrics::new(),
        ));
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(seedline_tracker::serve(
            tracker.clone(),
            listeners,
            stop.clone(),
        ));
        Self {
            tracker,
            addr,
            admin,
            _stop: stop.drop_guard(),
        }
    }
}
