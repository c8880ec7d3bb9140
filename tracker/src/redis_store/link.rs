//! The tracker's connection to Redis: one multiplexed connection that pipelines the
//! requests of every task, or a Redis Cluster connection (a multiplexed one per node).
//! It is made in the background, and made again with back-off after it fails; while it
//! is down, requests fail at once (`tracker store unavailable`) instead of queueing,
//! and while an attempt is under way they wait for it, within their own timeout.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// A connection whose requests all fail for this long, none succeeding, is made again:
/// a peer that vanished without a reset leaves the socket open forever.
const SILENT: Duration = Duration::from_secs(5);

/// Where the store is: one server, or the nodes a cluster is found through.
#[derive(Clone)]
pub struct Target {
    /// The server, or every node named: pub/sub may go to any (a cluster passes every
    /// PUBLISH to every node), the next one after a failure.
    nodes: Vec<Client>,
    cluster: Option<ClusterClient>,
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
            return Ok(Self {
                nodes: nodes.iter().map(|n| node(n)).collect::<Result<_, _>>()?,
                cluster: Some(b.build()?),
            });
        }
        Ok(Self {
            nodes: vec![node(url)?],
            cluster: None,
        })
    }

    /// A plain client for pub/sub, for the `attempt`th try: a cluster's nodes in turn.
    pub fn pubsub_client(&self, attempt: usize) -> Client {
        self.nodes[attempt % self.nodes.len()].clone()
    }

    async fn connect(&self, timeout: Duration) -> Result<Conn, RedisError> {
        if let Some(client) = &self.cluster {
            let config = redis::cluster::ClusterConfig::new()
                .set_connection_timeout(timeout)
                .set_response_timeout(timeout);
            let con = client.get_async_connection_with_config(config).await?;
            return Ok(Conn::Cluster(con));
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let con = self.nodes[0]
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok(Conn::Single(con))
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
    /// Not connected, and nobody is connecting: the next request starts a task.
    Down,
    /// The task is waiting out its back-off: requests fail at once, never queue.
    BackingOff,
    /// The task is connecting: requests wait for it (within their own timeout).
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

/// A connection is being made by the one task that moved the state from `Down`; the
/// state is the only record of it.
pub struct Link {
    target: Target,
    timeout: Duration,
    state: watch::Sender<State>,
    made: AtomicU64,
    /// The wait before the next connection attempt, in ms: doubled by every attempt,
    /// back to none once a connection has answered a request, so a connection that is
    /// made and lost at once is not made again in a tight loop.
    backoff_ms: AtomicU64,
    /// Since when (ms since `epoch`, plus one) requests have failed without a success
    /// in between; 0 while they succeed.
    failing_since: AtomicU64,
    epoch: Instant,
    metrics: LinkMetrics,
    /// The runtime the link was made on (the tracker's main one), where connections
    /// are made and their driver tasks run: a request that notices a lost connection
    /// may be served on an HTTP worker's single-threaded runtime, whose queue every
    /// Redis round trip would otherwise wait behind, and which ends before the rest.
    home: Option<tokio::runtime::Handle>,
}

impl Link {
    pub fn new(target: Target, timeout: Duration, metrics: LinkMetrics) -> Arc<Self> {
        Arc::new(Self {
            target,
            timeout,
            state: watch::Sender::new(State::Down),
            made: AtomicU64::new(0),
            backoff_ms: AtomicU64::new(0),
            failing_since: AtomicU64::new(0),
            epoch: Instant::now(),
            metrics,
            home: tokio::runtime::Handle::try_current().ok(),
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
            // Cloned out: the borrow holds the channel's lock, which sending takes.
            let state = rx.borrow_and_update().clone();
            match state {
                State::Up(n, c) => return Ok((n, c)),
                State::BackingOff => return Err(down()),
                State::Down => self.repair(),
                State::Connecting => {}
            }
            if rx.changed().await.is_err() {
                return Err(down());
            }
        }
    }

    /// Runs `call` on the connection, made or mended as needed. A failure that says the
    /// connection is gone, or requests failing for [`SILENT`] with no success, starts a
    /// new one; a timeout alone does not (a slow moment of Redis is not a dead socket,
    /// and a cluster connection mends its nodes itself).
    pub async fn run<T, F, Fut>(self: &Arc<Self>, call: F) -> Result<T, RedisError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let (n, con) = self.get().await?;
        let cluster = matches!(con, Conn::Cluster(_));
        match call(con).await {
            Ok(v) => {
                self.failing_since.store(0, Ordering::Relaxed);
                self.backoff_ms.store(0, Ordering::Relaxed);
                Ok(v)
            }
            Err(e) => {
                // redis-rs reports its response timeout as an I/O error too.
                let dead = !cluster
                    && !e.is_timeout()
                    && (e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal());
                if dead || self.silent() {
                    self.lost(n);
                }
                Err(e)
            }
        }
    }

    /// The caller's own deadline passed while its request ran.
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

    /// Counts a failure; whether requests have failed, none succeeding, for [`SILENT`].
    fn silent(&self) -> bool {
        let now = self.millis() + 1;
        let since =
            match self
                .failing_since
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => now,
                Err(since) => since,
            };
        now - since > SILENT.as_millis() as u64
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
            self.failing_since.store(0, Ordering::Relaxed);
            tracing::warn!("store connection lost; reconnecting");
            self.repair();
        }
    }

    /// Starts the connecting task if the link is down and nobody else has.
    fn repair(self: &Arc<Self>) {
        let Some(rt) = self
            .home
            .clone()
            .or_else(|| tokio::runtime::Handle::try_current().ok())
        else {
            return;
        };
        let claimed = self.state.send_if_modified(|s| {
            let down = matches!(s, State::Down);
            if down {
                *s = State::Connecting;
            }
            down
        });
        if claimed {
            // Made before the task runs, so that a task dropped unpolled (a runtime
            // shutting down) also puts the link down for the next request. Weak: a
            // tracker that is dropped ends its reconnection.
            let release = Release {
                link: Arc::downgrade(self),
                armed: true,
            };
            rt.spawn(Self::connect_loop(release));
        }
    }

    async fn connect_loop(mut release: Release) {
        loop {
            let Some(this) = release.link.upgrade() else {
                return;
            };
            let wait = this.backoff_ms.load(Ordering::Relaxed);
            let next = (wait * 2).clamp(
                FIRST_RETRY.as_millis() as u64,
                LAST_RETRY.as_millis() as u64,
            );
            this.backoff_ms.store(next, Ordering::Relaxed);
            if wait > 0 {
                // Requests fail at once meanwhile.
                this.state.send_replace(State::BackingOff);
                drop(this);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                let Some(this) = release.link.upgrade() else {
                    return;
                };
                this.state.send_replace(State::Connecting);
                if this.attempt().await {
                    release.armed = false;
                    return;
                }
            } else if this.attempt().await {
                release.armed = false;
                return;
            }
        }
    }

    /// One connection attempt; whether it connected (and the link is up).
    async fn attempt(&self) -> bool {
        let attempt = tokio::time::timeout(self.timeout, self.target.connect(self.timeout));
        match attempt.await {
            Ok(Ok(con)) => {
                let n = self.made.fetch_add(1, Ordering::Relaxed);
                if n > 0 {
                    self.metrics.reconnects.inc();
                    tracing::info!("store connection made again");
                }
                self.failing_since.store(0, Ordering::Relaxed);
                self.metrics.connected.set(1);
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

/// Puts the link down when the connecting task ends without connecting (a panic in a
/// dependency, a runtime shutting down), so that the next request starts another.
struct Release {
    link: Weak<Link>,
    armed: bool,
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(l) = self.link.upgrade().filter(|_| self.armed) {
            l.state.send_replace(State::Down);
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
        let t = Target::parse("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001/", None).unwrap();
        assert!(t.cluster.is_some());
        assert_eq!(t.nodes.len(), 2);
        let info = t.nodes[0].get_connection_info();
        assert_eq!(info.addr().to_string(), "127.0.0.1:7000");
        assert_eq!(info.redis_settings().password(), Some("pw"));
        assert!(info.tcp_settings().nodelay());
        assert!(Target::parse("rediss+cluster://h:7000", None)
            .unwrap()
            .cluster
            .is_some());
        let single = Target::parse("redis://127.0.0.1:6379/0", None).unwrap();
        assert!(single.cluster.is_none() && single.nodes.len() == 1);
        for bad in [
            "redis+cluster://",
            "redis+cluster://h:1,,h:2",
            "redis://h:x/0",
        ] {
            assert!(Target::parse(bad, None).is_err(), "{bad}");
        }
    }
}
