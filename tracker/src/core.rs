//! The tracker's protocol-neutral core: an announce or a scrape as typed values, checked
//! against the rate limit, the access list and the origins, applied to the store, and
//! the reply handed to the front end's [`PeerSink`]. The HTTP front end (`http.rs`), the
//! UDP one and the seeder's embedded tracker all come through here, so the policy (which
//! `ip` to believe, origin first, the numwant clamp, jitter) is written once.

use std::net::IpAddr;

use bytes::Bytes;
use rand::Rng;
use seedline_common::peer::canonical_ip;
use seedline_common::{scrape, Event, InfoHash, PeerId, ScrapeRequest, ScrapeStats};

use crate::metrics::Endpoint;
use crate::sink::PeerSink;
use crate::store::{ReplyParams, StoreError};
use crate::swarm::{peer_addr, PeerAnnounce};
use crate::swarm_store::SwarmStore;
use crate::tracker::Tracker;
use seedline_process::rate_limit::Verdict;

/// A refused request: failure kind for metrics, reason for the client, BEP 31 minutes.
pub(crate) type Failed = (&'static str, String, Option<u32>);

pub(crate) fn failed(kind: &'static str, reason: impl ToString) -> Failed {
    (kind, reason.to_string(), None)
}

/// A store's refusal as a reply; an unavailable shared store asks the client to come
/// back in a minute (BEP 31), not at the next interval.
fn store_failed(e: StoreError) -> Failed {
    let retry = (e == StoreError::Unavailable).then_some(1);
    (e.kind(), e.to_string(), retry)
}

/// One announce, as a front end decoded it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Announce {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub port: u16,
    pub left: u64,
    pub event: Event,
    /// As sent; the core applies the default and the cap.
    pub numwant: Option<u32>,
    /// Who the tracker believes sent it: the source, or the client a trusted proxy names.
    pub client: IpAddr,
    /// Where the connection or datagram came from.
    pub source: IpAddr,
    /// The address the client claims for itself (HTTP `ip`, UDP's IP field).
    pub claimed_ip: Option<IpAddr>,
}

impl Tracker {
    /// The per-client rate limit, for either endpoint.
    pub(crate) fn rate_limit(&self, client: IpAddr, endpoint: Endpoint) -> Result<(), Failed> {
        let Some(rl) = &self.limiter else {
            return Ok(());
        };
        match rl.check(client, rl.now()) {
            Verdict::Allowed => Ok(()),
            Verdict::Untracked => {
                self.metrics.ops.rate_limit_untracked.inc();
                Ok(())
            }
            Verdict::Limited(l) => {
                let name = if endpoint == Endpoint::Announce {
                    "announce"
                } else {
                    "scrape"
                };
                self.metrics
                    .ops
                    .rate_limited
                    .with_label_values(&[name])
                    .inc();
                // BEP 31 counts in minutes; a client told to wait must not come back sooner.
                Err((
                    "rate_limited",
                    l.to_string(),
                    Some(l.retry_secs.div_ceil(60)),
                ))
            }
        }
    }

    /// Applies one announce and hands the reply to `sink`.
    pub(crate) async fn announce<S: PeerSink + Send>(
        &self,
        a: &Announce,
        sink: &mut S,
    ) -> Result<(), Failed> {
        self.lists_ready()?;
        self.access
            .check(&a.info_hash)
            .map_err(|e| failed(e.kind(), e))?;
        let ip = self.believed_ip(a);
        let jitter = if self.cfg.interval_jitter > 0 {
            rand::rng().random_range(0..=self.cfg.interval_jitter)
        } else {
            0
        };
        let params = ReplyParams {
            interval: self.cfg.interval + jitter,
            min_interval: Some(self.cfg.min_interval),
            external_ip: Some(a.client),
            numwant: a
                .numwant
                .unwrap_or(self.cfg.numwant_default)
                .min(self.cfg.numwant_max) as usize,
        };
        let addr = peer_addr(ip, a.port);
        let (origin, origin_by_address) = self.origins.recognise(&addr, &a.peer_id);
        let pa = PeerAnnounce {
            addr,
            peer_id: a.peer_id,
            event: a.event,
            seeder: a.left == 0,
            origin,
            origin_by_address,
            now: self.now(),
        };
        let effect = match &self.shared {
            Some(r) => SwarmStore::announce(r, a.info_hash, &pa, &params, sink).await,
            None => SwarmStore::announce(&self.store, a.info_hash, &pa, &params, sink).await,
        }
        .map_err(store_failed)?;
        if effect.origins_sent > 0 {
            self.metrics
                .ops
                .origins_sent
                .inc_by(effect.origins_sent as u64);
        }
        if effect.completed {
            self.metrics.completed.inc();
        }
        if let Some(why) = effect.not_stored {
            self.metrics
                .peers_not_stored
                .with_label_values(&[why.kind()])
                .inc();
        }
        Ok(())
    }

    /// With a shared store, requests wait for its copy of the API's lists: before it is
    /// loaded, a registered torrent would be refused as unknown.
    fn lists_ready(&self) -> Result<(), Failed> {
        match &self.shared {
            Some(r) if !r.lists.is_ready() => Err(store_failed(StoreError::Unavailable)),
            _ => Ok(()),
        }
    }

    /// The address the announcer is stored under: the one it claims when the
    /// configuration believes claims from where it came from, else the client's.
    /// `ip_param_from` is about the connection: a request relayed by a proxy is never
    /// believed, whatever the proxy's address (the configuration refuses an overlap too).
    fn believed_ip(&self, a: &Announce) -> IpAddr {
        let direct = canonical_ip(a.source);
        match a.claimed_ip {
            Some(ip)
                if self.cfg.allow_ip_param
                    || (a.client == direct
                        && !self.proxies.contains(direct)
                        && self.cfg.ip_param_from.iter().any(|n| n.contains(&direct))) =>
            {
                canonical_ip(ip)
            }
            _ => a.client,
        }
    }

    /// The counts of `hashes` (the access list's refusals read as unknown), in order;
    /// an error when every one of them is refused.
    pub(crate) async fn scrape(
        &self,
        hashes: &[InfoHash],
    ) -> Result<Vec<Option<ScrapeStats>>, Failed> {
        self.lists_ready()?;
        let mut refused = None;
        let allowed: Vec<bool> = hashes
            .iter()
            .map(|h| match self.access.check(h) {
                Ok(()) => true,
                Err(e) => {
                    refused = Some(e);
                    false
                }
            })
            .collect();
        if let Some(e) = refused.filter(|_| !allowed.contains(&true)) {
            return Err(failed(e.kind(), e));
        }
        let mut stats = match &self.shared {
            Some(r) => SwarmStore::scrape(r, hashes).await,
            None => SwarmStore::scrape(&self.store, hashes).await,
        }
        .map_err(store_failed)?;
        for (s, ok) in stats.iter_mut().zip(allowed) {
            if !ok {
                *s = None;
            }
        }
        Ok(stats)
    }

    /// Writes an HTTP scrape reply into `out`, or returns a cached full scrape.
    pub(crate) async fn scrape_http(
        &self,
        query: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<Bytes>, Failed> {
        let s = ScrapeRequest::parse_query(query, self.cfg.scrape_max_hashes)
            .map_err(|e| failed(e.kind(), e))?;
        if !s.info_hashes.is_empty() {
            let stats = self.scrape(&s.info_hashes).await?;
            // Unknown and refused torrents are left out; bencode wants keys in order.
            let mut found: Vec<(InfoHash, ScrapeStats)> = s
                .info_hashes
                .iter()
                .zip(stats)
                .filter_map(|(h, st)| Some((*h, st?)))
                .collect();
            found.sort_unstable_by_key(|f| f.0);
            scrape::begin(out);
            for (h, st) in &found {
                scrape::write_file(out, h, st);
            }
            scrape::end(out);
            Ok(None)
        } else if self.cfg.full_scrape {
            Ok(Some(self.full_scrape.get(&self.store, &self.metrics.ops)))
        } else {
            Err(failed(
                "full_scrape_disabled",
                "full scrape is disabled; pass info_hash",
            ))
        }
    }
}
