//! The admin API's lists (registrations and denials) in the shared store, so that the
//! API of any instance affects all. Each list is one Redis hash (`sl:api:registered`,
//! `sl:api:denied`: hex info hash to the entry as JSON), capped at `max_torrents` like
//! the in-memory lists. A change is written, numbered (`sl:{api}:seq`) and published on
//! `sl:api` in one script. Each instance's follower is the only writer of its copy
//! (`Access`), which requests read without a round trip: it applies changes in their
//! order, skips those its last snapshot already holds, and reads a snapshot of both
//! lists (with the number it is at, atomically) when it (re)subscribes and every
//! minute, so a change published while it was away, or on a connection that died
//! silently, is not lost for long. An API call that changed a list waits (boundedly)
//! until its own instance has applied it, so its reply and the next announce see it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::{RedisError, Script};
use seedline_common::InfoHash;
use tokio_util::sync::CancellationToken;

use crate::access::Entry;
use crate::store::StoreError;
use crate::tracker::Tracker;

use super::link::Link;

// One hash tag: the lists and their counter share a cluster slot, so one script may
// touch all three.
const REGISTERED: &str = "sl:{api}:registered";
const DENIED: &str = "sl:{api}:denied";
const SEQ: &str = "sl:{api}:seq";
const CHANNEL: &str = "sl:api";

/// A list as Redis returns it (hex, JSON), and as the copy takes it.
type RawList = Vec<(String, String)>;
type List = Vec<(InfoHash, Entry)>;

/// How often the follower reads the lists whole, whatever it heard.
const RESYNC: Duration = Duration::from_secs(60);

/// Adds or updates an entry (an existing one keeps its date and, given no name, its
/// name), under the cap; numbers and publishes the change. Returns {1 added, 0 updated
/// or -1 at the cap; the change's number, 0 for none}.
const PUT: &str = r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return { -1, 0 } end
local entry = ARGV[2]
if old then
  local o = cjson.decode(old)
  local n = cjson.decode(entry)
  n.added = o.added
  if n.name == cjson.null or n.name == nil then n.name = o.name end
  entry = cjson.encode(n)
end
redis.call('HSET', KEYS[1], ARGV[1], entry)
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[4], seq .. ' ' .. ARGV[5] .. ' ' .. ARGV[1] .. ' ' .. entry)
if old then return { 0, seq } end
return { 1, seq }
";

/// Removes an entry; numbers and publishes that. Returns {1 or 0 (not there), number}.
const REMOVE: &str = r"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return { 0, 0 } end
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], seq .. ' ' .. ARGV[3] .. ' ' .. ARGV[1])
return { 1, seq }
";

/// A torrent no longer registered: its swarm's hash, kept forever while it was, gets a
/// lifetime again, and forgets that it was kept (so the next announce of a torrent still
/// kept otherwise, by the access-list file, keeps it again). KEYS 1 the swarm's hash;
/// ARGV 1 its lifetime in ms.
const RELEASE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'k', '0')
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 0
";

/// Both lists and the number of the last change, at one instant.
const SNAPSHOT: &str = r"
return { redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('GET', KEYS[3]) or '0' }
";

/// What adding an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Added,
    Present,
    AtCap,
}

pub struct SharedLists {
    link: Arc<Link>,
    put: Script,
    remove: Script,
    release: Script,
    snapshot: Script,
    timeout: Duration,
    /// A swarm's keys' lifetime (two peer timeouts).
    lifetime: Duration,
    /// The number of the last change this instance's copy holds; 0 until the first
    /// snapshot (the copy is not ready before).
    applied: tokio::sync::watch::Sender<u64>,
    ready: std::sync::atomic::AtomicBool,
}

fn list(denied: bool) -> (&'static str, &'static str) {
    if denied {
        (DENIED, "deny")
    } else {
        (REGISTERED, "reg")
    }
}

impl SharedLists {
    pub(super) fn new(link: Arc<Link>, timeout: Duration, lifetime: Duration) -> Self {
        Self {
            link,
            put: Script::new(PUT),
            remove: Script::new(REMOVE),
            release: Script::new(RELEASE),
            lifetime,
            snapshot: Script::new(SNAPSHOT),
            timeout,
            applied: tokio::sync::watch::Sender::new(0),
            ready: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether the copy has been loaded: before, an allow-mode instance would refuse
    /// registered torrents as unknown, so the store reads as unavailable instead.
    pub fn is_ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits at most `limit` for the first snapshot; whether it came.
    pub async fn wait_ready(&self, limit: Duration) -> bool {
        let mut rx = self.applied.subscribe();
        let came = tokio::time::timeout(limit, rx.wait_for(|_| self.is_ready())).await;
        came.is_ok()
    }

    /// Waits (at most the store timeout) until this instance's copy holds change `seq`.
    async fn await_applied(&self, seq: u64) {
        let mut rx = self.applied.subscribe();
        let _ = tokio::time::timeout(self.timeout, rx.wait_for(|a| *a >= seq)).await;
    }

    /// `inv` run on the store's connection within the store timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let link = &self.link;
        let call = link.run(|mut con| async move { inv.invoke_async(&mut con).await });
        super::within(link, self.timeout, call)
            .await
            .map_err(|_| StoreError::Unavailable)
    }

    /// Adds (or renames) `ih` in the registrations (or the denials), at most `cap`;
    /// returns once this instance applied it, or after the store timeout.
    pub async fn put(
        &self,
        denied: bool,
        ih: &InfoHash,
        entry: &Entry,
        cap: usize,
    ) -> Result<Put, StoreError> {
        let (key, kind) = list(denied);
        let json = serde_json::to_string(entry).expect("entries serialize");
        let mut inv = self.put.key(key);
        inv.key(SEQ)
            .arg(ih.to_hex())
            .arg(json)
            .arg(cap)
            .arg(CHANNEL)
            .arg(kind);
        let (done, seq): (i64, u64) = self.run(inv).await?;
        self.await_applied(seq).await;
        Ok(match done {
            1 => Put::Added,
            0 => Put::Present,
            _ => Put::AtCap,
        })
    }

    /// Removes `ih` from the registrations (or the denials); whether it was there.
    pub async fn remove(&self, denied: bool, ih: &InfoHash) -> Result<bool, StoreError> {
        let (key, kind) = list(denied);
        let mut inv = self.remove.key(key);
        inv.key(SEQ)
            .arg(ih.to_hex())
            .arg(CHANNEL)
            .arg(format!("un{kind}"));
        let (done, seq): (i64, u64) = self.run(inv).await?;
        if done == 1 && !denied {
            let mut inv = self.release.key(super::keys::SwarmKeys::new(ih).counts());
            inv.arg(self.lifetime.as_millis() as u64);
            // Not fatal: the swarm's next announce sets its lifetime too.
            if self.run::<i64>(inv).await.is_err() {
                tracing::debug!("could not release an unregistered torrent's count");
            }
        }
        self.await_applied(seq).await;
        Ok(done == 1)
    }

    /// Both lists whole (at most `max_torrents` entries each) and the number of the
    /// last change they hold.
    async fn load(
        &self,
    ) -> Result<(Vec<(InfoHash, Entry)>, Vec<(InfoHash, Entry)>, u64), StoreError> {
        let mut inv = self.snapshot.key(REGISTERED);
        inv.key(DENIED).key(SEQ);
        let (reg, den, seq): (RawList, RawList, u64) = self.run(inv).await?;
        let parse =
            |v: RawList| -> List { v.iter().filter_map(|(h, j)| parse_entry(h, j)).collect() };
        Ok((parse(reg), parse(den), seq))
    }

    /// Replaces the copy with a snapshot, unless it already holds later changes.
    fn apply_snapshot(
        &self,
        t: &Tracker,
        registered: Vec<(InfoHash, Entry)>,
        denied: Vec<(InfoHash, Entry)>,
        seq: u64,
    ) {
        if self.is_ready() && seq < *self.applied.borrow() {
            return;
        }
        t.access.replace_api(registered, denied);
        t.refresh_access_gauges();
        self.ready.store(true, std::sync::atomic::Ordering::Relaxed);
        self.applied.send_replace(seq);
    }

    /// Keeps `tracker`'s copy of the lists current until `shutdown`: subscribes, reads
    /// both lists whole, then applies each published change; after a lost connection,
    /// again from the start, with back-off.
    pub async fn follow(&self, tracker: Arc<Tracker>, shutdown: CancellationToken) {
        const FIRST: Duration = Duration::from_millis(100);
        let mut delay = FIRST;
        let mut attempt = 0;
        while !shutdown.is_cancelled() {
            let began = std::time::Instant::now();
            tokio::select! {
                () = shutdown.cancelled() => return,
                r = self.follow_once(&tracker, attempt) => {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "shared API lists: subscription lost; retrying");
                    }
                }
            }
            // A subscription that held for a while was a success: the next loss starts
            // the back-off again.
            if began.elapsed() > RESYNC {
                delay = FIRST;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(5));
            attempt = attempt.wrapping_add(1);
        }
    }

    /// One subscription (through the `attempt`th node of a cluster), followed until it
    /// fails.
    async fn follow_once(&self, tracker: &Tracker, attempt: usize) -> Result<(), String> {
        let sub = tokio::time::timeout(self.timeout, async {
            let client = self.link.target().pubsub_client(attempt);
            let mut sub = client.get_async_pubsub().await?;
            sub.subscribe(CHANNEL).await?;
            Ok::<_, RedisError>(sub)
        })
        .await
        .map_err(|_| "subscribing timed out".to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
        let mut sub = match sub {
            Ok(sub) => sub,
            Err(e) => {
                // The lists may still be read over the requests' connection: an
                // instance without its subscription serves with a copy at most a
                // minute old rather than not at all.
                if let Ok((registered, denied, seq)) = self.load().await {
                    self.apply_snapshot(tracker, registered, denied, seq);
                }
                return Err(e);
            }
        };
        let (registered, denied, seq) = self.load().await.map_err(|e| e.to_string())?;
        self.apply_snapshot(tracker, registered, denied, seq);
        tracing::info!("shared API lists loaded; following changes");
        let mut messages = sub.on_message();
        let mut resync = tokio::time::interval(RESYNC);
        resync.tick().await;
        loop {
            tokio::select! {
                m = messages.next() => match m {
                    Some(m) => self.apply(tracker, m.get_payload_bytes()),
                    None => return Err("connection closed".into()),
                },
                _ = resync.tick() => {
                    // Also the check that this connection still works: a snapshot
                    // that cannot be read ends it, and the follower starts over.
                    let (registered, denied, seq) = self.load().await.map_err(|e| e.to_string())?;
                    self.apply_snapshot(tracker, registered, denied, seq);
                }
            }
        }
    }

    /// One published change, `SEQ reg|deny HEX JSON` or `SEQ unreg|undeny HEX`, applied
    /// if the copy does not hold it yet.
    fn apply(&self, t: &Tracker, msg: &[u8]) {
        let Some((seq, change)) = parse_change(msg) else {
            tracing::debug!("unreadable shared API list message");
            return;
        };
        if seq <= *self.applied.borrow() {
            return;
        }
        match change {
            Change::Put { denied, ih, entry } => t.access.put_api_entry(denied, ih, entry),
            Change::Remove { denied: false, ih } => {
                t.access.unregister(&ih);
            }
            Change::Remove { denied: true, ih } => {
                t.access.undeny(&ih);
            }
        }
        t.refresh_access_gauges();
        self.applied.send_replace(seq);
    }
}

enum Change {
    Put {
        denied: bool,
        ih: InfoHash,
        entry: Entry,
    },
    Remove {
        denied: bool,
        ih: InfoHash,
    },
}

fn parse_change(msg: &[u8]) -> Option<(u64, Change)> {
    let msg = std::str::from_utf8(msg).ok()?;
    let mut parts = msg.splitn(4, ' ');
    let seq = parts.next()?.parse().ok()?;
    let kind = parts.next()?;
    let hex = parts.next()?;
    let change = match (kind, parts.next()) {
        ("reg" | "deny", Some(json)) => {
            let (ih, entry) = parse_entry(hex, json)?;
            Change::Put {
                denied: kind == "deny",
                ih,
                entry,
            }
        }
        ("unreg" | "undeny", None) => Change::Remove {
            denied: kind == "undeny",
            ih: hex.parse().ok()?,
        },
        _ => return None,
    };
    Some((seq, change))
}

fn parse_entry(hex: &str, json: &str) -> Option<(InfoHash, Entry)> {
    Some((
        hex.parse::<InfoHash>().ok()?,
        serde_json::from_str(json).ok()?,
    ))
}
