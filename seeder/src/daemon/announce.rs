//! The tracker client: BEP 12 tiers over HTTP and UDP (`udp_tracker.rs`), `started` / periodic / `stopped`, the tracker's
//! `interval` and `min interval`, and exponential back-off while no tracker answers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use hyper::Method;
use seedline_common::announce::Key;
use seedline_common::announce_response::{AnnounceResponse, ResponseError};
use seedline_common::{AnnounceRequest, Event, InfoHash};
use tokio_util::sync::CancellationToken;

use super::http::{self, HttpError};
use super::shared::Shared;
use super::torrent::Torrent;

/// One announce (connect, send, read) must finish within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Larger replies are refused; a reply of 200 compact peers is about 1.3 KiB.
const MAX_REPLY: usize = 256 * 1024;
const BACKOFF_MIN: Duration = Duration::from_secs(15);
const BACKOFF_MAX: Duration = Duration::from_secs(30 * 60);
/// Intervals a tracker asks for are kept within these bounds.
const INTERVAL_MIN: Duration = Duration::from_secs(30);
const INTERVAL_MAX: Duration = Duration::from_secs(6 * 3600);
/// How often a torrent that is not served (missing or damaged content) is looked at to
/// see whether it is served again.
const NOT_SERVING_POLL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("bad tracker URL {0:?}")]
    BadUrl(String),
    #[error("cannot reach the tracker: {0}")]
    Connect(std::io::Error),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("tracker answered HTTP {0}")]
    Status(u16),
    #[error("tracker did not answer within {0:?}")]
    Timeout(Duration),
    #[error("tracker failure: {0}")]
    Failure(String),
    #[error("unreadable tracker reply: {0}")]
    Reply(ResponseError),
}

/// The tiers to announce to: the `--tracker` override, or the torrent's own, keeping
/// `http://` and `udp://` URLs (TLS trackers are not spoken yet).
pub fn tiers_for(shared: &Shared, t: &Torrent) -> Vec<Vec<String>> {
    if let Some(url) = &shared.cfg.tracker {
        return vec![vec![url.clone()]];
    }
    let mut tiers: Vec<Vec<String>> = t
        .tiers
        .iter()
        .map(|tier| {
            tier.iter()
                .filter(|u| u.starts_with("http://") || u.starts_with("udp://"))
                .cloned()
                .collect()
        })
        .filter(|tier: &Vec<String>| !tier.is_empty())
        .collect();
    use rand::seq::SliceRandom;
    for tier in &mut tiers {
        tier.shuffle(&mut rand::rng());
    }
    tiers
}

/// Announces every swarm `t` is served in (a hybrid's v1 and v2 swarms) as [`run`]
/// does, until `stop` fires and each has sent its `stopped`.
pub async fn run_swarms(shared: Arc<Shared>, t: Arc<Torrent>, stop: CancellationToken) {
    let mut swarms = tokio::task::JoinSet::new();
    for swarm in t.swarms() {
        swarms.spawn(run(shared.clone(), t.clone(), swarm, stop.clone()));
    }
    while swarms.join_next().await.is_some() {}
}

/// Registers swarm `swarm` of `t` with the tracker API (if configured), announces it
/// until `stop` fires, then sends `stopped` (bounded by the grace period).
pub async fn run(shared: Arc<Shared>, t: Arc<Torrent>, swarm: InfoHash, stop: CancellationToken) {
    let mut tiers = tiers_for(&shared, &t);
    if tiers.is_empty() {
        if swarm == t.info_hash {
            tracing::warn!(torrent = %t.source.display(), "no http:// or udp:// tracker to announce to");
        }
        return;
    }
    // An allow-mode tracker refuses announces for torrents it has not been told about.
    if !super::register::until_registered(&shared, &t, swarm, &stop).await {
        return;
    }
    let key =
        Key::new(&rand::random::<[u8; 4]>().map(|b| b"0123456789abcdef"[usize::from(b & 15)]))
            .expect("short key");
    let mut event = Event::Started;
    let mut backoff = BACKOFF_MIN;
    let fallback = super::config::Config::secs(shared.cfg.announce_interval);
    loop {
        if !t.is_serving() {
            // Missing or damaged: trackers must not hand this origin out meanwhile.
            if event == Event::None {
                if let Err(e) =
                    announce_tiers(&shared, &t, swarm, &mut tiers, Event::Stopped, &key).await
                {
                    tracing::warn!(torrent = %t.source.display(), info_hash = %swarm, error = %e, "stopped announce failed");
                }
                event = Event::Started;
            }
            tokio::select! {
                () = tokio::time::sleep(NOT_SERVING_POLL) => continue,
                () = stop.cancelled() => break,
            }
        }
        let wait = match announce_tiers(&shared, &t, swarm, &mut tiers, event, &key).await {
            Ok(reply) => {
                backoff = BACKOFF_MIN;
                event = Event::None;
                let h = reply.head;
                let asked = if h.interval == 0 {
                    fallback
                } else {
                    Duration::from_secs(u64::from(h.interval))
                };
                let floor = Duration::from_secs(u64::from(h.min_interval.unwrap_or(0)));
                asked.max(floor).clamp(INTERVAL_MIN, INTERVAL_MAX)
            }
            Err(e) => {
                tracing::warn!(torrent = %t.source.display(), info_hash = %swarm, error = %e, retry_in = ?backoff, "announce failed");
                let w = backoff;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                w
            }
        };
        // Withdrawn at once when the torrent stops being served (damaged, missing).
        let serving = t.serving_token();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = serving.cancelled() => {}
            () = stop.cancelled() => break,
        }
    }
    // Only a tracker that heard `started` needs to hear `stopped`.
    if event == Event::None {
        let grace = super::config::Config::secs(shared.cfg.grace_period);
        let r = tokio::time::timeout(
            grace,
            announce_tiers(&shared, &t, swarm, &mut tiers, Event::Stopped, &key),
        )
        .await;
        if let Ok(Err(e)) = r {
            tracing::warn!(torrent = %t.source.display(), info_hash = %swarm, error = %e, "stopped announce failed");
        }
    }
}

/// BEP 12: try each tier in order, each URL of a tier in order; the URL that answers
/// moves to the front of its tier.
async fn announce_tiers(
    shared: &Shared,
    t: &Torrent,
    swarm: InfoHash,
    tiers: &mut [Vec<String>],
    event: Event,
    key: &Key,
) -> Result<AnnounceResponse, AnnounceError> {
    let req = AnnounceRequest {
        info_hash: swarm,
        peer_id: shared.peer_id,
        port: shared.port,
        uploaded: t.uploaded.load(Ordering::Relaxed),
        downloaded: 0,
        left: 0,
        event,
        compact: true,
        no_peer_id: true,
        numwant: Some(0),
        key: Some(*key),
        ip: shared.cfg.announce_ip,
    };
    let mut last = None;
    for tier in tiers.iter_mut() {
        for i in 0..tier.len() {
            let outcome = match announce_once(&tier[i], &req).await {
                Ok(r) => {
                    shared.metrics.announces.with_label_values(&["ok"]).inc();
                    tier[..=i].rotate_right(1);
                    return Ok(r);
                }
                Err(AnnounceError::Failure(m)) => ("failure", AnnounceError::Failure(m)),
                Err(e) => ("error", e),
            };
            shared
                .metrics
                .announces
                .with_label_values(&[outcome.0])
                .inc();
            last = Some(outcome.1);
        }
    }
    Err(last.unwrap_or_else(|| AnnounceError::BadUrl(String::new())))
}

/// One announce to one tracker URL: an HTTP GET, or BEP 15 for `udp://` (whose own
/// retransmissions bound it).
pub async fn announce_once(
    url: &str,
    req: &AnnounceRequest,
) -> Result<AnnounceResponse, AnnounceError> {
    if url.starts_with("udp://") {
        return super::udp_tracker::announce(url, req).await;
    }
    tokio::time::timeout(REQUEST_TIMEOUT, get(url, req))
        .await
        .map_err(|_| AnnounceError::Timeout(REQUEST_TIMEOUT))?
}

async fn get(url: &str, req: &AnnounceRequest) -> Result<AnnounceResponse, AnnounceError> {
    let mut target = url.to_owned();
    target.push(if url.contains('?') { '&' } else { '?' });
    let mut query = Vec::new();
    req.write_query(&mut query);
    target.push_str(std::str::from_utf8(&query).expect("query is ASCII"));
    let reply = http::request(Method::GET, &target, &[], Bytes::new(), MAX_REPLY)
        .await
        .map_err(|e| match e {
            HttpError::BadUrl(_) => AnnounceError::BadUrl(url.to_owned()),
            HttpError::Connect(e) => AnnounceError::Connect(e),
            HttpError::Http(m) => AnnounceError::Http(m),
        })?;
    if !reply.status.is_success() {
        return Err(AnnounceError::Status(reply.status.as_u16()));
    }
    AnnounceResponse::decode(&reply.body).map_err(|e| match e {
        ResponseError::Failure(reason) => AnnounceError::Failure(reason),
        e => AnnounceError::Reply(e),
    })
}
