//! A swarm store on Redis (or Valkey), shared by several tracker instances: a peer that
//! announces to one instance is handed out by every other.
//!
//! Layout, per swarm, every key tagged `{<info hash>}` (`keys.rs`): for each address
//! family a sorted set of origins, of seeders and of leechers, members the compact
//! address (6 or 18 bytes) and scores the last announce in milliseconds of Redis's own
//! clock (so instances need not agree on the time); a hash of peers per address (IPv6:
//! per /64) for `max_peers_per_address`; a hash holding `downloaded` and when each
//! family's keys expire. Each announce is one
//! script (`announce.lua`), atomic on the server, whose work is bounded by the reply and
//! not by the swarm; every key it touches gets a lifetime, so an abandoned swarm leaves
//! nothing behind. A scrape is a read-only script per hash (`scrape.lua`), the hashes of
//! one request sent together on the multiplexed connection. Nothing reads a whole swarm,
//! keeps a global index, or scans keys.
//!
//! Caps that span swarms (`max_torrents`, `max_peers`, `max_peers_per_address_total`)
//! cannot be kept atomically across cluster slots; with this store Redis's own
//! `maxmemory` bounds the whole, and a write refused for memory reads as an unavailable
//! store.

mod keys;
mod link;
mod lists;

pub use link::{LinkMetrics, Target};
pub use lists::{Put, SharedLists};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::{Histogram, IntCounterVec};
use redis::{RedisError, Script, Value};
use seedline_common::announce_response::ReplyHead;
use seedline_common::peer::{compact_v4, compact_v6};
use seedline_common::{Event, InfoHash, ScrapeStats};

use crate::access::Access;
use crate::sink::PeerSink;
use crate::store::{AnnounceEffect, ReplyParams, StoreError};
use crate::swarm::{CompactAddr, NotStored, PeerAnnounce, MAX_ORIGINS};
use crate::swarm_store::SwarmStore;
use keys::SwarmKeys;
use link::Link;

/// Expired peers one announce drops per set, at most: the script's work stays bounded
/// when a large swarm expires at once; the rest go on later announces (and are neither
/// counted nor handed out meanwhile).
const PRUNE: u32 = 64;

/// What the tracker's settings ask of the store.
#[derive(Debug, Clone, Copy)]
pub struct RedisLimits {
    pub peer_timeout: Duration,
    pub max_peers_per_torrent: usize,
    pub max_peers_per_address: usize,
    /// How long one request (and one connection attempt) may take.
    pub timeout: Duration,
}

/// Store latency and errors, registered with the tracker's metrics.
#[derive(Clone)]
pub struct RedisMetrics {
    pub announce: Histogram,
    pub scrape: Histogram,
    /// By kind: one of [`ERROR_KINDS`].
    pub errors: IntCounterVec,
    pub link: LinkMetrics,
}

pub struct RedisStore {
    link: Arc<Link>,
    /// The admin API's lists, shared through the same Redis.
    pub lists: SharedLists,
    announce: Script,
    scrape: Script,
    limits: RedisLimits,
    metrics: RedisMetrics,
    /// Which torrents keep their count while idle (registered ones).
    access: Arc<Access>,
}

/// Error kinds, as metric labels.
pub const ERROR_KINDS: [&str; 5] = ["timeout", "connection", "server", "reply", "other"];

fn error_kind(e: &RedisError) -> &'static str {
    if e.kind() == redis::ErrorKind::UnexpectedReturnType {
        "reply"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        "connection"
    } else if e.code().is_some() {
        "server"
    } else {
        "other"
    }
}

impl RedisStore {
    /// A store at `target`. Connects on first use and again after every failure, with
    /// back-off, so a tracker starts and runs while Redis is away.
    pub fn open(
        target: Target,
        limits: RedisLimits,
        metrics: RedisMetrics,
        access: Arc<Access>,
    ) -> Self {
        let link = Link::new(target, limits.timeout, metrics.link.clone());
        Self {
            lists: SharedLists::new(link.clone(), limits.timeout, 2 * limits.peer_timeout),
            link,
            announce: Script::new(include_str!("announce.lua")),
            scrape: Script::new(include_str!("scrape.lua")),
            limits,
            metrics,
            access,
        }
    }

    /// Counts one failed request by kind; what the caller returns.
    fn fail(&self, kind: &'static str) -> StoreError {
        self.metrics.errors.with_label_values(&[kind]).inc();
        StoreError::Unavailable
    }

    /// `script` run on the connection within the store timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, &'static str> {
        let link = &self.link;
        within(
            link,
            self.limits.timeout,
            link.run(|mut con| async move { inv.invoke_async(&mut con).await }),
        )
        .await
    }

    fn timeout_ms(&self) -> u64 {
        self.limits.peer_timeout.as_millis() as u64
    }

    /// A swarm's keys outlive its last peer by one more timeout, then vanish (as the
    /// lists' `RELEASE` also has it).
    fn lifetime_ms(&self) -> u64 {
        2 * self.timeout_ms()
    }
}

/// `call` within `limit`, its failure as an error kind (not yet counted: a scrape of
/// many hashes is one failure). The connection's own response timeout does not cover a
/// request waiting for a connection attempt: this bound does, and a connection silent
/// past it for long is made again.
async fn within<T>(
    link: &Arc<Link>,
    limit: Duration,
    call: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, &'static str> {
    let r = tokio::time::timeout(limit, call).await;
    if r.is_err() {
        link.timed_out();
    }
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            let kind = error_kind(&e);
            tracing::debug!(error = %e, kind, "store request failed");
            Err(kind)
        }
        Err(_) => Err("timeout"),
    }
}

/// Script codes (`announce.lua`).
fn role(a: &PeerAnnounce) -> u8 {
    match (a.seeder, a.origin) {
        (true, true) => 1,
        (true, false) => 2,
        (false, _) => 3,
    }
}

fn event(e: Event) -> u8 {
    match e {
        // A partial seed (BEP 21) re-announcing is an ordinary announce to the swarm.
        Event::None | Event::Paused => 0,
        Event::Completed => 1,
        Event::Started => 2,
        Event::Stopped => 3,
    }
}

fn int(v: &Value) -> Option<u64> {
    match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

/// The script's reply, checked: six counts, then the peers' compact addresses end to
/// end (6 bytes each, or 18).
struct Announced<'a> {
    head: [u64; 6],
    peers: &'a [u8],
}

fn parse_announced(v: &Value) -> Option<Announced<'_>> {
    let Value::Array(items) = v else { return None };
    let [head @ .., Value::BulkString(peers)] = items.as_slice() else {
        return None;
    };
    let head: &[Value; 6] = head.try_into().ok()?;
    let mut h = [0u64; 6];
    for (slot, v) in h.iter_mut().zip(head) {
        *slot = int(v)?;
    }
    Some(Announced { head: h, peers })
}

/// Hands the peers of a reply to `sink`; a ragged tail (not written by this tracker)
/// is left out.
fn write_peers<S: PeerSink>(sink: &mut S, v6: bool, peers: &[u8]) {
    if v6 {
        emit::<S, 18>(sink, true, peers);
    } else {
        emit::<S, 6>(sink, false, peers);
    }
}

fn emit<S: PeerSink, const N: usize>(sink: &mut S, v6: bool, peers: &[u8])
where
    [u8; N]: CompactAddr,
{
    let (list, _ragged) = peers.as_chunks::<N>();
    sink.begin(v6, list.len());
    for p in list {
        sink.peer(p, None);
    }
}

impl SwarmStore for RedisStore {
    fn announce<S: PeerSink + Send>(
        &self,
        ih: InfoHash,
        a: &PeerAnnounce,
        p: &ReplyParams,
        sink: &mut S,
    ) -> impl Future<Output = Result<AnnounceEffect, StoreError>> + Send {
        let a = *a;
        let p = *p;
        async move {
            let (member, v6, holder_len) = match a.addr {
                SocketAddr::V4(s) => (compact_v4(&s).to_vec(), false, 4),
                SocketAddr::V6(s) => (compact_v6(&s).to_vec(), true, 8),
            };
            let mut inv = self.announce.prepare_invoke();
            for k in SwarmKeys::new(&ih).for_announce(v6) {
                inv.key(k);
            }
            inv.arg(member)
                .arg(role(&a))
                .arg(event(a.event))
                .arg(p.numwant)
                .arg(self.timeout_ms())
                .arg(self.limits.max_peers_per_torrent)
                .arg(self.limits.max_peers_per_address)
                .arg(MAX_ORIGINS)
                .arg(self.lifetime_ms())
                .arg(holder_len)
                .arg(PRUNE)
                .arg(if self.access.keeps(&ih) { "1" } else { "0" })
                .arg(if v6 { "6" } else { "4" });
            let started = Instant::now();
            let reply = self.run::<Value>(inv).await;
            self.metrics
                .announce
                .observe(started.elapsed().as_secs_f64());
            let reply = reply.map_err(|k| self.fail(k))?;
            let r = parse_announced(&reply).ok_or_else(|| self.fail("reply"))?;
            let [complete, incomplete, downloaded, completed, not_stored, origins] = r.head;
            let n32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
            sink.head(&ReplyHead {
                interval: p.interval,
                min_interval: p.min_interval,
                complete: n32(complete),
                incomplete: n32(incomplete),
                downloaded: n32(downloaded),
                external_ip: p.external_ip,
            });
            write_peers(sink, v6, r.peers);
            sink.end();
            Ok(AnnounceEffect {
                completed: completed == 1,
                not_stored: match not_stored {
                    1 => Some(NotStored::TorrentFull),
                    2 => Some(NotStored::AddressLimit),
                    _ => None,
                },
                origins_sent: origins as usize,
            })
        }
    }

    fn scrape(
        &self,
        hashes: &[InfoHash],
    ) -> impl Future<Output = Result<Vec<Option<ScrapeStats>>, StoreError>> + Send {
        let hashes = hashes.to_vec();
        async move {
            let started = Instant::now();
            // One script per hash (each swarm may be in its own cluster slot), all sent
            // at once: the connection pipelines them.
            let calls = hashes.iter().map(|ih| {
                let mut inv = self.scrape.prepare_invoke();
                for k in SwarmKeys::new(ih).for_scrape() {
                    inv.key(k);
                }
                inv.arg(self.timeout_ms());
                self.run::<Vec<u64>>(inv)
            });
            let replies = futures_util::future::join_all(calls).await;
            self.metrics.scrape.observe(started.elapsed().as_secs_f64());
            let mut out = Vec::with_capacity(replies.len());
            for r in replies {
                out.push(match r.map_err(|k| self.fail(k))?.as_slice() {
                    [c, i, d, known] => (*known == 1).then(|| ScrapeStats {
                        complete: u32::try_from(*c).unwrap_or(u32::MAX),
                        incomplete: u32::try_from(*i).unwrap_or(u32::MAX),
                        downloaded: u32::try_from(*d).unwrap_or(u32::MAX),
                    }),
                    _ => return Err(self.fail("reply")),
                });
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Collect;

    fn reply(peers: &[u8]) -> Value {
        let mut v: Vec<Value> = (1..=6).map(Value::Int).collect();
        v.push(Value::BulkString(peers.to_vec()));
        Value::Array(v)
    }

    #[test]
    fn a_reply_is_six_counts_then_the_peers_end_to_end() {
        let v = reply(&[1, 2, 3, 4, 0x1a, 0xe1, 5, 6, 7, 8, 0x1a, 0xe2, 9]);
        let r = parse_announced(&v).unwrap();
        assert_eq!(r.head, [1, 2, 3, 4, 5, 6]);
        let mut c = Collect::default();
        write_peers(&mut c, false, r.peers);
        let got: Vec<String> = c.peers.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            got,
            ["1.2.3.4:6881", "5.6.7.8:6882"],
            "the ragged byte is left out"
        );
        assert!(parse_announced(&Value::Array(vec![Value::Int(1)])).is_none());
        assert!(parse_announced(&Value::Int(1)).is_none());
        let negative = {
            let mut v: Vec<Value> = (0..6).map(|_| Value::Int(-1)).collect();
            v.push(Value::BulkString(Vec::new()));
            Value::Array(v)
        };
        assert!(parse_announced(&negative).is_none());
    }
}
