//! The real tracker on an ephemeral loopback port, and a bounded load run against it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use seedline_loadtest::tracker::{self, target::Target, Config, Report};
use seedline_process::settings::Settings;
use seedline_testkit::Served;
use seedline_tracker::{metrics::Metrics, serve, Listeners, Tracker};
use tokio_util::sync::CancellationToken;

/// Every wait in the suite is bounded by this.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct TestTracker {
    pub addr: SocketAddr,
    /// The UDP (BEP 15) address, on the same IP.
    pub udp: SocketAddr,
    pub admin: SocketAddr,
    pub tracker: Arc<Tracker>,
    task: Served<()>,
}

impl TestTracker {
    /// Serves on `listen` (port 0) with no interval jitter.
    pub async fn start(listen: &str) -> Self {
        let cfg = seedline_tracker::Config {
            listen: vec![listen.parse().unwrap()],
            udp_listen: vec![listen.parse().unwrap()],
            udp_sockets: 2,
            admin_listen: "127.0.0.1:0".parse().unwrap(),
            interval_jitter: 0,
            // The generator puts many peers of a swarm on one loopback address.
            max_peers_per_address: 65_536,
            max_peers_per_address_total: 10_000_000,
            ..seedline_tracker::Config::default()
        };
        cfg.validate().expect("test config is valid");
        let listeners = Listeners::bind(&cfg).expect("bind");
        let addr = listeners.public_addrs()[0];
        let udp = listeners.udp_addrs()[0];
        let admin = listeners.admin_addr().unwrap();
        let tracker = Arc::new(Tracker::new(&cfg, Metrics::new()));
        let task = Served::spawn(|token| serve(tracker.clone(), listeners, token));
        Self {
            addr,
            udp,
            admin,
            tracker,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/announce", self.addr)
    }

    /// A small, short load configuration against this tracker.
    pub fn config(&self) -> Config {
        let mut c = Config::new(Target::parse(&self.url(), false).unwrap());
        c.torrents = 40;
        c.peers = 1_500;
        c.connections = 8;
        c.duration = Duration::from_millis(700);
        c.timeout = Duration::from_secs(5);
        c
    }

    /// Peers the tracker holds: (seeders, leechers) over both families.
    pub fn peers(&self) -> (i64, i64) {
        let g = &self.tracker.metrics.store;
        (
            g.seeders.iter().map(|s| s.get()).sum(),
            g.leechers.iter().map(|l| l.get()).sum(),
        )
    }

    pub async fn stop(self) {
        self.task.stop(WAIT).await;
    }
}

/// Runs `cfg` on a blocking thread (the generator has its own runtimes), bounded by
/// [`WAIT`].
pub async fn load(cfg: Config) -> Report {
    let cancel = CancellationToken::new();
    let task = tokio::task::spawn_blocking(move || tracker::run(&cfg, &cancel, &|_| {}));
    tokio::time::timeout(WAIT, task)
        .await
        .expect("load run ends in time")
        .expect("load thread did not panic")
        .expect("load run starts")
}
