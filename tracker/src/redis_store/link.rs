//! The tracker's connection to Redis: one multiplexed connection that pipelines the
//! requests of every task, or a Redis Cluster connection (a multiplexed one per node).
//! It is made in the background, and made again with back-off after it fails; while it
//! is down, requests fail at once (`tracker store unavailable`) instead of queueing,
//! and while an attempt is under way they wait for it, within their own timeout.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntGauge};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::{
    AsyncConnectionConfig, Client, Cmd, IntoConnectionInfo, Pipeline, RedisError, RedisFuture,
    TlsCertificates, Value,
};
use tokio::sync::watch;

/// Back-off between connection attempts: from the first to the last, doubling.
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LAST_RETRY: Duration = Duration::from_secs(2);

/// A connection that answers nothing for this long (every request timing out, none
/// succeeding) is made again: a peer that vanished without a reset leaves the socket
/// open forever.
const SILENT: Duration = Duration::from_secs(5);

/// Where the store is: one server, or the nodes a cluster is found through.
#[derive(Clone)]
pub enum Target {
    Single(Client),
    Cluster {
        client: Box<ClusterClient>,
        /// The first node: pub/sub goes there (a cluster passes every PUBLISH to every
        /// node).
        first: Client,
    },
}

const CLUSTER: [(&str, &str); 2] = [
    ("redis+cluster://", "redis://"),
    ("rediss+cluster://", "rediss://"),
];

impl Target {
    /// `redis://[USER:PASSWORD@]HOST:PORT/DB`, `rediss://...` (TLS), or
    /// `redis+cluster://[USER:PASSWORD@]HOST:PORT,HOST:PORT...` (`rediss+cluster://` for
    /// TLS): the nodes of a Redis Cluster to discover it from. `ca`: a PEM CA that signs
    /// the servers' TLS certificates (unset: the web PKI's roots).
    pub fn parse(url: &str, ca: Option<&[u8]>) -> Result<Self, RedisError> {
        let certs = || TlsCertificates {
            client_tls: None,
            root_cert: ca.map(<[u8]>::to_vec),
        };
        let node = |u: &str| -> Result<Client, RedisError> {
            let info = u
                .into_connection_info()?
                .set_tcp_settings(TcpSettings::default().set_nodelay(true));
            if ca.is_some() {
                Client::build_with_tls(info, certs())
            } else {
                Client::open(info)
            }
        };
        for (cluster, plain) in CLUSTER {
            let Some(rest) = url.strip_prefix(cluster) else {
                continue;
            };
            // The credentials, if any, precede the first node and apply to all.
            let (auth, hosts) = match rest.rsplit_once('@') {
                Some((auth, hosts)) => (format!("{auth}@"), hosts),
                None => (String::new(), rest),
            };
            let nodes: Vec<String> = hosts
                .trim_end_matches('/')
                .split(',')
                .map(|h| format!("{plain}{auth}{h}"))
                .collect();
            let infos = nodes
                .iter()
                .map(|n| {
                    Ok(n.as_str()
                        .into_connection_info()?
                        .set_tcp_settings(TcpSettings::default().set_nodelay(true)))
                })
                .collect::<Result<Vec<_>, RedisError>>()?;
            let mut b = ClusterClient::builder(infos);
            if ca.is_some() {
                b = b.certs(certs());
            }
            return Ok(Self::Cluster {
                client: Box::new(b.build()?),
                first: node(&nodes[0])?,
            });
        }
        Ok(Self::Single(node(url)?))
    }

    /// A plain client for pub/sub.
    pub fn pubsub_client(&self) -> Client {
        match self {
            Self::Single(c) | Self::Cluster { first: c, .. } => c.clone(),
        }
    }

    async fn connect(&self, timeout: Duration) -> Result<Conn, RedisError> {
        match self {
            Self::Single(c) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout));
                let con = c
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                Ok(Conn::Single(con))
            }
            Self::Cluster { client, .. } => {
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(timeout);
                let con = client.get_async_connection_with_config(config).await?;
                Ok(Conn::Cluster(con))
            }
        }
    }
}

/// A connection of either kind; clones share it.
#[derive(Clone)]
pub enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

#[derive(Clone)]
enum State {
    /// Not connected, no attempt under way (the next is waiting out its back-off).
    Down,
    Connecting,
    /// Connected; the number tells one connection from the next.
    Up(u64, Conn),
}

/// The link's metrics.
#[derive(Clone)]
pub struct LinkMetrics {
    /// Connections made after the first.
    pub reconnects: IntCounter,
    /// 1 while connected.
    pub connected: IntGauge,
}

pub struct Link {
    target: Target,
    timeout: Duration,
    state: watch::Sender<State>,
    /// Whether a task is (re)connecting.
    repairing: AtomicBool,
    made: AtomicU64,
    /// When a request last succeeded, in ms since `epoch`.
    last_ok: AtomicU64,
    epoch: Instant,
    metrics: LinkMetrics,
}

impl Link {
    pub fn new(target: Target, timeout: Duration, metrics: LinkMetrics) -> Arc<Self> {
        Arc::new(Self {
            target,
            timeout,
            state: watch::Sender::new(State::Down),
            repairing: AtomicBool::new(false),
            made: AtomicU64::new(0),
            last_ok: AtomicU64::new(0),
            epoch: Instant::now(),
            metrics,
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The connection: at once if up, after the attempt under way if one is (the
    /// caller bounds the wait); an error if down, and then an attempt is started.
    async fn get(self: &Arc<Self>) -> Result<(u64, Conn), RedisError> {
        let mut rx = self.state.subscribe();
        loop {
            // Cloned out: the borrow holds the channel's lock, which `repair` takes.
            let state = rx.borrow_and_update().clone();
            match state {
                State::Up(n, c) => return Ok((n, c)),
                State::Connecting => {}
                // An attempt waiting out its back-off: fail now, do not queue.
                State::Down if !self.repair() => return Err(down()),
                State::Down => {}
            }
            if rx.changed().await.is_err() {
                return Err(down());
            }
        }
    }

    /// Runs `call` on the connection, made or mended as needed; a failure that says
    /// the connection is gone (or silent too long) starts a new one.
    pub async fn run<T, F, Fut>(self: &Arc<Self>, call: F) -> Result<T, RedisError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let (n, con) = self.get().await?;
        match call(con).await {
            Ok(v) => {
                self.last_ok.store(self.millis(), Ordering::Relaxed);
                Ok(v)
            }
            Err(e) => {
                let gone = e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || (e.is_timeout() && self.silent());
                if gone {
                    self.lost(n);
                }
                Err(e)
            }
        }
    }

    /// The caller's own deadline passed while `call` ran: a connection that has
    /// answered nothing for long is made again.
    pub fn timed_out(self: &Arc<Self>) {
        let up = match &*self.state.borrow() {
            State::Up(n, _) => Some(*n),
            _ => None,
        };
        if let Some(n) = up.filter(|_| self.silent()) {
            self.lost(n);
        }
    }

    fn millis(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn silent(&self) -> bool {
        self.millis()
            .saturating_sub(self.last_ok.load(Ordering::Relaxed))
            > SILENT.as_millis() as u64
    }

    /// Connection `n` is gone: drops it (unless a newer one replaced it) and mends.
    fn lost(self: &Arc<Self>, n: u64) {
        let dropped = self.state.send_if_modified(|s| match s {
            State::Up(m, _) if *m == n => {
                *s = State::Down;
                true
            }
            _ => false,
        });
        if dropped {
            self.metrics.connected.set(0);
            tracing::warn!("store connection lost; reconnecting");
            self.repair();
        }
    }

    /// Starts a task that connects, with back-off, unless one runs; whether it started
    /// one (and the state is now `Connecting`).
    fn repair(self: &Arc<Self>) -> bool {
        if self.repairing.swap(true, Ordering::AcqRel) {
            return false;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.repairing.store(false, Ordering::Release);
            return false;
        };
        self.state.send_replace(State::Connecting);
        // Weak: a tracker that is dropped ends its reconnection.
        rt.spawn(Self::connect_loop(Arc::downgrade(self)));
        true
    }

    async fn connect_loop(link: Weak<Self>) {
        // Should this task end any other way than connected (a panic in a dependency,
        // a runtime shutting down), the next request starts another.
        struct Release(Weak<Link>);
        impl Drop for Release {
            fn drop(&mut self) {
                if let Some(l) = self.0.upgrade() {
                    l.state.send_replace(State::Down);
                    l.repairing.store(false, Ordering::Release);
                }
            }
        }
        let release = Release(link.clone());
        let mut delay = FIRST_RETRY;
        loop {
            let Some(this) = link.upgrade() else { return };
            if this.attempt().await {
                std::mem::forget(release);
                return;
            }
            // Requests fail at once until the next attempt.
            this.state.send_replace(State::Down);
            drop(this);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(LAST_RETRY);
            let Some(this) = link.upgrade() else { return };
            this.state.send_replace(State::Connecting);
        }
    }

    /// One connection attempt; whether it connected.
    async fn attempt(&self) -> bool {
        let attempt = tokio::time::timeout(self.timeout, self.target.connect(self.timeout));
        match attempt.await {
            Ok(Ok(con)) => {
                let n = self.made.fetch_add(1, Ordering::Relaxed);
                if n > 0 {
                    self.metrics.reconnects.inc();
                    tracing::info!("store connection made again");
                }
                self.last_ok.store(self.millis(), Ordering::Relaxed);
                self.metrics.connected.set(1);
                self.repairing.store(false, Ordering::Release);
                self.state.send_replace(State::Up(n, con));
                true
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "store connection attempt failed");
                false
            }
            Err(_) => {
                tracing::debug!("store connection attempt timed out");
                false
            }
        }
    }
}

fn down() -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "store not connected",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_url_names_every_node_with_the_same_credentials() {
        let t = Target::parse("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001/", None);
        let Ok(Target::Cluster { first, .. }) = t else {
            panic!("not a cluster")
        };
        let info = first.get_connection_info();
        assert_eq!(info.addr().to_string(), "127.0.0.1:7000");
        assert_eq!(info.redis_settings().password(), Some("pw"));
        assert!(info.tcp_settings().nodelay());
        assert!(matches!(
            Target::parse("rediss+cluster://h:7000", None),
            Ok(Target::Cluster { .. })
        ));
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379/0", None),
            Ok(Target::Single(_))
        ));
        for bad in [
            "redis+cluster://",
            "redis+cluster://h:1,,h:2",
            "redis://h:x/0",
        ] {
            assert!(Target::parse(bad, None).is_err(), "{bad}");
        }
    }
}
