//! The admin API's lists (registrations and denials) in the shared store, so that the
//! API of any instance affects all. Each list is one Redis hash (`sl:api:registered`,
//! `sl:api:denied`: hex info hash to the entry as JSON), capped at `max_torrents` like
//! the in-memory lists. A change is written and published on `sl:api` in one script;
//! every instance applies what it hears to its own copy (`Access`), which requests read
//! without a round trip. A subscriber that (re)connects reads both lists whole first,
//! so a change published while it was away is not lost.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::{RedisError, Script};
use seedline_common::InfoHash;
use tokio_util::sync::CancellationToken;

use crate::access::Entry;
use crate::store::StoreError;
use crate::tracker::Tracker;

const REGISTERED: &str = "sl:api:registered";
const DENIED: &str = "sl:api:denied";
const CHANNEL: &str = "sl:api";

/// Adds an entry unless present, under the cap, and publishes it. Returns 1 (added),
/// 0 (already there), -1 (at the cap).
const PUT: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])
return 1
";

/// Removes an entry and publishes that; returns 1, or 0 if it was not there.
const REMOVE: &str = r"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. ARGV[1])
return 1
";

/// What adding an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Added,
    Present,
    AtCap,
}

pub struct SharedLists {
    client: redis::Client,
    con: ConnectionManager,
    put: Script,
    remove: Script,
    timeout: Duration,
}

fn list(denied: bool) -> (&'static str, &'static str) {
    if denied {
        (DENIED, "deny")
    } else {
        (REGISTERED, "reg")
    }
}

impl SharedLists {
    pub(super) fn new(client: redis::Client, con: ConnectionManager, timeout: Duration) -> Self {
        Self {
            client,
            con,
            put: Script::new(PUT),
            remove: Script::new(REMOVE),
            timeout,
        }
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "shared list request failed");
                Err(StoreError::Unavailable)
            }
            Err(_) => Err(StoreError::Unavailable),
        }
    }

    /// Adds `ih` with `entry` to the registrations (or the denials), at most `cap`.
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
        inv.arg(ih.to_hex())
            .arg(json)
            .arg(cap)
            .arg(CHANNEL)
            .arg(kind);
        let mut con = self.con.clone();
        Ok(
            match self.bounded(inv.invoke_async::<i64>(&mut con)).await? {
                1 => Put::Added,
                0 => Put::Present,
                _ => Put::AtCap,
            },
        )
    }

    /// Removes `ih` from the registrations (or the denials); whether it was there.
    pub async fn remove(&self, denied: bool, ih: &InfoHash) -> Result<bool, StoreError> {
        let (key, kind) = list(denied);
        let mut inv = self.remove.key(key);
        inv.arg(ih.to_hex()).arg(CHANNEL).arg(format!("un{kind}"));
        let mut con = self.con.clone();
        Ok(self.bounded(inv.invoke_async::<i64>(&mut con)).await? == 1)
    }

    /// Both lists, whole (at most `max_torrents` entries each).
    async fn load(&self) -> Result<[Vec<(InfoHash, Entry)>; 2], StoreError> {
        let mut out = [Vec::new(), Vec::new()];
        for (slot, key) in out.iter_mut().zip([REGISTERED, DENIED]) {
            let mut con = self.con.clone();
            let all: Vec<(String, String)> = self
                .bounded(redis::cmd("HGETALL").arg(key).query_async(&mut con))
                .await?;
            *slot = all
                .iter()
                .filter_map(|(hex, json)| parse_entry(hex, json))
                .collect();
        }
        Ok(out)
    }

    /// Keeps `tracker`'s copy of the lists current until `shutdown`: subscribes, reads
    /// both lists whole, then applies each published change; after a lost connection,
    /// again from the start, with back-off.
    pub async fn follow(&self, tracker: Arc<Tracker>, shutdown: CancellationToken) {
        let mut delay = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            tokio::select! {
                () = shutdown.cancelled() => return,
                r = self.follow_once(&tracker) => {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "shared API lists: subscription lost; retrying");
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn follow_once(&self, tracker: &Tracker) -> Result<(), String> {
        let connect = tokio::time::timeout(self.timeout, self.client.get_async_pubsub());
        let mut sub = connect
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| e.to_string())?;
        sub.subscribe(CHANNEL).await.map_err(|e| e.to_string())?;
        let [registered, denied] = self.load().await.map_err(|e| e.to_string())?;
        tracker.access.replace_api(registered, denied);
        tracker.refresh_access_gauges();
        tracing::info!("shared API lists loaded; following changes");
        let mut messages = sub.into_on_message();
        while let Some(m) = messages.next().await {
            apply(tracker, m.get_payload_bytes());
        }
        Err("connection closed".into())
    }
}

fn parse_entry(hex: &str, json: &str) -> Option<(InfoHash, Entry)> {
    Some((
        hex.parse::<InfoHash>().ok()?,
        serde_json::from_str(json).ok()?,
    ))
}

/// One published change: `reg|deny HEX JSON` or `unreg|undeny HEX`.
fn apply(t: &Tracker, msg: &[u8]) {
    let Ok(msg) = std::str::from_utf8(msg) else {
        return;
    };
    let mut parts = msg.splitn(3, ' ');
    let (Some(kind), Some(hex)) = (parts.next(), parts.next()) else {
        return;
    };
    let Ok(ih) = hex.parse::<InfoHash>() else {
        return;
    };
    match (kind, parts.next()) {
        ("reg" | "deny", Some(json)) => {
            if let Some((ih, e)) = parse_entry(hex, json) {
                t.access.put_api_entry(kind == "deny", ih, e);
            }
        }
        ("unreg", None) => {
            t.access.unregister(&ih);
        }
        ("undeny", None) => {
            t.access.undeny(&ih);
        }
        _ => tracing::debug!(msg, "unknown shared API list message"),
    }
    t.refresh_access_gauges();
}
