//! The concurrent swarm store: a thin shell of `DashMap` around the pure [`Swarm`].
//!
//! Every operation takes one shard guard, does its work without awaiting, and drops it;
//! counts are kept on change so metrics never walk the map.

use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;
use prometheus::IntGauge;
use rand::Rng;
use seedline_common::announce_response::{self as reply, ReplyHead};
use seedline_common::{scrape, Event, InfoHash, ScrapeStats};

use crate::swarm::{Change, PeerAnnounce, PeerForm, Swarm};

/// Many small shards keep each lock hold of the sweeper short.
const SHARDS: usize = 256;

/// Gauges the store keeps current: `[ipv4, ipv6]` by role, and the torrent count.
#[derive(Clone)]
pub struct StoreGauges {
    pub torrents: IntGauge,
    pub seeders: [IntGauge; 2],
    pub leechers: [IntGauge; 2],
}

impl StoreGauges {
    /// Gauges registered nowhere, for tests and benchmarks.
    pub fn unregistered() -> Self {
        let g = |n: &str| IntGauge::new(n, n).expect("valid metric name");
        Self {
            torrents: g("torrents"),
            seeders: [g("s4"), g("s6")],
            leechers: [g("l4"), g("l6")],
        }
    }

    fn apply(&self, c: &Change) {
        for f in 0..2 {
            if c.seeders[f] != 0 {
                self.seeders[f].add(c.seeders[f]);
            }
            if c.leechers[f] != 0 {
                self.leechers[f].add(c.leechers[f]);
            }
        }
    }
}

/// Caps that keep memory bounded whatever clients send, and what is stored per peer.
#[derive(Debug, Clone, Copy)]
pub struct StoreConfig {
    pub max_torrents: usize,
    pub max_peers_per_torrent: usize,
    /// Store peer ids (20 bytes a peer) so non-compact replies can carry them.
    pub keep_peer_ids: bool,
}

/// Why an announce could not be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("tracker is tracking its maximum number of torrents; try again later")]
    TorrentLimit,
}

/// What an announce did, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnnounceEffect {
    pub completed: bool,
    pub not_stored: bool,
}

pub struct Store {
    swarms: DashMap<InfoHash, Swarm, hashbrown::DefaultHashBuilder>,
    torrents: AtomicUsize,
    limits: StoreConfig,
    gauges: StoreGauges,
}

/// Reply fields the store does not own.
#[derive(Debug, Clone, Copy)]
pub struct ReplyParams {
    pub interval: u32,
    pub min_interval: Option<u32>,
    pub external_ip: Option<std::net::IpAddr>,
    pub numwant: usize,
    pub form: PeerForm,
}

impl Store {
    pub fn new(limits: StoreConfig, gauges: StoreGauges) -> Self {
        Self {
            swarms: DashMap::with_capacity_and_hasher_and_shard_amount(
                0,
                hashbrown::DefaultHashBuilder::default(),
                SHARDS,
            ),
            torrents: AtomicUsize::new(0),
            limits,
            gauges,
        }
    }

    pub fn torrent_count(&self) -> usize {
        self.torrents.load(Ordering::Relaxed)
    }

    /// Applies one announce and appends the whole bencoded reply to `out`.
    pub fn announce<R: Rng>(
        &self,
        info_hash: InfoHash,
        a: &PeerAnnounce,
        p: &ReplyParams,
        rng: &mut R,
        out: &mut Vec<u8>,
    ) -> Result<AnnounceEffect, StoreError> {
        let mut guard = match self.swarms.get_mut(&info_hash) {
            Some(g) => g,
            None if a.event == Event::Stopped => {
                // Nothing to remove and nothing worth creating a swarm for.
                let head = ReplyHead {
                    interval: p.interval,
                    min_interval: p.min_interval,
                    external_ip: p.external_ip,
                    ..Default::default()
                };
                reply::write_head(out, &head);
                reply::begin_compact_v4(out, 0);
                reply::write_tail(out, None);
                return Ok(AnnounceEffect::default());
            }
            None => {
                if self.torrents.load(Ordering::Relaxed) >= self.limits.max_torrents {
                    return Err(StoreError::TorrentLimit);
                }
                self.swarms.entry(info_hash).or_insert_with(|| {
                    self.torrents.fetch_add(1, Ordering::Relaxed);
                    self.gauges.torrents.inc();
                    Swarm::default()
                })
            }
        };
        let swarm = guard.value_mut();
        let (change, placed) = swarm.announce(
            a,
            self.limits.max_peers_per_torrent,
            self.limits.keep_peer_ids,
        );
        let s = swarm.stats();
        let head = ReplyHead {
            interval: p.interval,
            min_interval: p.min_interval,
            complete: s.complete,
            incomplete: s.incomplete,
            downloaded: s.downloaded,
            external_ip: p.external_ip,
        };
        reply::write_head(out, &head);
        swarm.write_peers(&placed, p.numwant, p.form, rng, out);
        reply::write_tail(out, None);
        let empty = swarm.is_empty();
        drop(guard);
        self.gauges.apply(&change);
        if empty {
            self.remove_if_empty(&info_hash);
        }
        Ok(AnnounceEffect {
            completed: change.completed,
            not_stored: change.not_stored,
        })
    }

    /// Appends a scrape reply for `hashes`; unknown ones are left out.
    pub fn scrape(&self, hashes: &[InfoHash], out: &mut Vec<u8>) {
        let found = hashes
            .iter()
            .filter_map(|h| self.swarms.get(h).map(|s| (*h, s.stats())))
            .collect();
        write_scrape(found, out);
    }

    /// Appends a scrape reply for up to `max` torrents (full scrape).
    pub fn scrape_all(&self, max: usize, out: &mut Vec<u8>) {
        let found = self
            .swarms
            .iter()
            .take(max)
            .map(|e| (*e.key(), e.value().stats()))
            .collect();
        write_scrape(found, out);
    }

    /// Removes peers last seen before `cutoff` and swarms left empty; one shard locked at
    /// a time. Returns the number of peers removed.
    pub fn expire(&self, cutoff: u32) -> u64 {
        let mut total = Change::default();
        let mut removed_swarms = 0usize;
        self.swarms.retain(|_, s| {
            total.add(&s.expire(cutoff));
            let keep = !s.is_empty();
            removed_swarms += usize::from(!keep);
            keep
        });
        self.torrents.fetch_sub(removed_swarms, Ordering::Relaxed);
        self.gauges.torrents.sub(removed_swarms as i64);
        self.gauges.apply(&total);
        -(total.seeders.iter().chain(&total.leechers).sum::<i64>()) as u64
    }

    fn remove_if_empty(&self, h: &InfoHash) {
        if self.swarms.remove_if(h, |_, s| s.is_empty()).is_some() {
            self.torrents.fetch_sub(1, Ordering::Relaxed);
            self.gauges.torrents.dec();
        }
    }
}

/// Bencode wants dictionary keys in byte order.
fn write_scrape(mut found: Vec<(InfoHash, ScrapeStats)>, out: &mut Vec<u8>) {
    found.sort_unstable_by_key(|f| f.0);
    scrape::begin(out);
    for (h, s) in &found {
        scrape::write_file(out, h, s);
    }
    scrape::end(out);
}
