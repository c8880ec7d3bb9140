//! The concurrent swarm store: a thin shell of `shard_map::ShardMap` around the pure [`Swarm`].
//!
//! Every operation takes one shard guard, does its work without awaiting, and drops it;
//! counts are kept on change so metrics never walk the map.

use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use prometheus::IntGauge;
use rand::Rng;
use seedline_common::announce_response::ReplyHead;
use seedline_common::{scrape, Event, InfoHash, ScrapeStats};

use crate::access::{Access, Mode};
use crate::holders::HolderTotals;
use crate::shard_map::ShardMap;
use crate::sink::PeerSink;
use crate::swarm::{Caps, Change, Expiry, NotStored, PeerAnnounce, Role, Swarm};

/// Many small shards keep each lock hold of the sweeper short.
const SHARDS: usize = 256;

/// Gauges the store keeps current: `[ipv4, ipv6]` by role, the torrent count, and the
/// addresses counted for `max_peers_per_address_total`.
#[derive(Clone)]
pub struct StoreGauges {
    pub torrents: IntGauge,
    pub seeders: [IntGauge; 2],
    pub leechers: [IntGauge; 2],
    pub addresses: IntGauge,
}

impl StoreGauges {
    /// Gauges registered nowhere, for tests and benchmarks.
    pub fn unregistered() -> Self {
        let g = |n: &str| IntGauge::new(n, n).expect("valid metric name");
        Self {
            torrents: g("torrents"),
            seeders: [g("s4"), g("s6")],
            leechers: [g("l4"), g("l6")],
            addresses: g("addresses"),
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
///
/// Torrents the access list keeps (registered through the API, or listed in `allow`
/// mode) are the content provider's own: a flood of other hashes or peers must not lock
/// them out, so they pass `max_torrents` (their number is bounded by the API's own cap
/// and the operator's file) and have a reserve of a fifth above `max_peers`.
#[derive(Debug, Clone, Copy)]
pub struct StoreConfig {
    pub max_torrents: usize,
    pub max_peers_per_torrent: usize,
    /// Peers in all swarms together.
    pub max_peers: usize,
    /// Peers of one swarm behind one IPv4 address or IPv6 /64.
    pub max_peers_per_address: usize,
    /// Peers of all swarms together behind one IPv4 address or IPv6 /64
    /// (`usize::MAX`: not counted).
    pub max_peers_per_address_total: usize,
    /// Store peer ids (20 bytes a peer) so non-compact replies can carry them.
    pub keep_peer_ids: bool,
}

impl StoreConfig {
    /// The swarm and address caps alone, for tests and benchmarks.
    pub fn new(max_torrents: usize, max_peers_per_torrent: usize, keep_peer_ids: bool) -> Self {
        Self {
            max_torrents,
            max_peers_per_torrent,
            max_peers: usize::MAX,
            max_peers_per_address: usize::MAX,
            max_peers_per_address_total: usize::MAX,
            keep_peer_ids,
        }
    }
}

/// Why an announce could not be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("tracker is tracking its maximum number of torrents; try again later")]
    TorrentLimit,
    /// The access list changed between the handler's check and the store.
    #[error("{0}")]
    Refused(#[from] crate::access::Refused),
    /// A shared store (Redis) did not answer in time, or at all.
    #[error("tracker store unavailable")]
    Unavailable,
}

impl StoreError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TorrentLimit => "torrent_limit",
            Self::Refused(r) => r.kind(),
            Self::Unavailable => "store_unavailable",
        }
    }
}

/// What an announce did, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnnounceEffect {
    pub completed: bool,
    pub not_stored: Option<NotStored>,
    /// Origin seeders handed to this leecher.
    pub origins_sent: usize,
}

/// One torrent's saved state: its count and, when peers are persisted, its peers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedSwarm {
    pub downloaded: u32,
    pub peers: Vec<(SocketAddr, Role)>,
}

pub struct Store {
    swarms: ShardMap<InfoHash, Swarm>,
    torrents: AtomicUsize,
    /// Stored peers in all swarms, kept on change like the gauges.
    peers: AtomicI64,
    limits: StoreConfig,
    gauges: StoreGauges,
    /// Stored peers per address in all swarms; `None` when that cap is off.
    holders: Option<HolderTotals>,
    access: Arc<Access>,
    /// Counts loaded from the state file for torrents that had no entry to restore them
    /// into; claimed by the swarm's first announce, and saved again until then.
    restored: DashMap<InfoHash, u32, hashbrown::DefaultHashBuilder>,
    restored_len: AtomicUsize,
}

/// Reply fields the store does not own.
#[derive(Debug, Clone, Copy)]
pub struct ReplyParams {
    pub interval: u32,
    pub min_interval: Option<u32>,
    pub external_ip: Option<std::net::IpAddr>,
    pub numwant: usize,
}

impl Store {
    /// A store for an `open` tracker.
    pub fn new(limits: StoreConfig, gauges: StoreGauges) -> Self {
        Self::with_access(limits, gauges, Arc::new(Access::new(Mode::Open)))
    }

    /// A store that keeps the torrents `access` registers even while they have no peers.
    pub fn with_access(limits: StoreConfig, gauges: StoreGauges, access: Arc<Access>) -> Self {
        Self {
            swarms: ShardMap::new(SHARDS),
            torrents: AtomicUsize::new(0),
            peers: AtomicI64::new(0),
            holders: HolderTotals::new(
                limits.max_peers_per_address_total,
                gauges.addresses.clone(),
            ),
            limits,
            gauges,
            access,
            restored: DashMap::default(),
            restored_len: AtomicUsize::new(0),
        }
    }

    pub fn torrent_count(&self) -> usize {
        self.torrents.load(Ordering::Relaxed)
    }

    /// Stored peers in all swarms.
    pub fn peer_count(&self) -> usize {
        self.peers.load(Ordering::Relaxed).max(0) as usize
    }

    /// Whether a new torrent may get an entry: below the cap, or one of the access
    /// list's own (checked only at the cap, so the common path costs one atomic load).
    fn room_for_torrent(&self, ih: &InfoHash) -> bool {
        self.torrent_count() < self.limits.max_torrents || self.access.keeps(ih)
    }

    /// Whether the tracker as a whole may store one more peer in `ih`'s swarm.
    fn tracker_full(&self, ih: &InfoHash) -> bool {
        let n = self.peer_count();
        let max = self.limits.max_peers;
        n >= max && (n >= max.saturating_add(max / 5) || !self.access.keeps(ih))
    }

    /// The caps a new peer in `ih`'s swarm is checked against.
    fn caps(&self, ih: &InfoHash) -> Caps {
        Caps {
            max_peers: self.limits.max_peers_per_torrent,
            per_address: self.limits.max_peers_per_address,
            tracker_full: self.tracker_full(ih),
        }
    }

    /// Applies a change in stored peers to the gauges and the total.
    fn apply(&self, c: &Change) {
        self.gauges.apply(c);
        let d = c.peers();
        if d != 0 {
            self.peers.fetch_add(d, Ordering::Relaxed);
        }
    }

    /// Applies one announce and hands the whole reply to `sink`, peers picked under the
    /// swarm's guard.
    pub fn announce<R: Rng, S: PeerSink>(
        &self,
        info_hash: InfoHash,
        a: &PeerAnnounce,
        p: &ReplyParams,
        rng: &mut R,
        sink: &mut S,
    ) -> Result<AnnounceEffect, StoreError> {
        let mut shard = self.swarms.lock(info_hash);
        let swarm = match shard.get_mut() {
            Some(s) => s,
            None if a.event == Event::Stopped => {
                // Nothing to remove and nothing worth creating a swarm for.
                let head = ReplyHead {
                    interval: p.interval,
                    min_interval: p.min_interval,
                    external_ip: p.external_ip,
                    ..Default::default()
                };
                sink.head(&head);
                sink.begin(false, 0);
                sink.end();
                return Ok(AnnounceEffect::default());
            }
            None => {
                if !self.room_for_torrent(&info_hash) {
                    return Err(StoreError::TorrentLimit);
                }
                // Checked again here: a list change since the caller's check must not
                // bring back a swarm it just dropped.
                self.access.check(&info_hash)?;
                shard.get_or_insert_with(|| self.new_swarm(&info_hash))
            }
        };
        let caps = self.caps(&info_hash);
        let (change, placed) = swarm.announce(a, caps, self.limits.keep_peer_ids, &self.holders);
        let s = swarm.stats();
        let head = ReplyHead {
            interval: p.interval,
            min_interval: p.min_interval,
            complete: s.complete,
            incomplete: s.incomplete,
            downloaded: s.downloaded,
            external_ip: p.external_ip,
        };
        sink.head(&head);
        let origins_sent = swarm.write_peers(&placed, p.numwant, rng, sink);
        sink.end();
        if swarm.is_empty() && !self.access.keeps(&info_hash) && shard.remove_if(|_| true).is_some()
        {
            self.dropped(1);
        }
        drop(shard);
        self.apply(&change);
        Ok(AnnounceEffect {
            completed: change.completed,
            not_stored: change.not_stored,
            origins_sent,
        })
    }

    /// Counts `n` swarms gone.
    fn dropped(&self, n: usize) {
        self.torrents.fetch_sub(n, Ordering::Relaxed);
        self.gauges.torrents.sub(n as i64);
    }

    fn new_swarm(&self, ih: &InfoHash) -> Swarm {
        self.torrents.fetch_add(1, Ordering::Relaxed);
        self.gauges.torrents.inc();
        let mut s = Swarm::default();
        if self.restored_len.load(Ordering::Relaxed) > 0 {
            if let Some((_, n)) = self.restored.remove(ih) {
                self.restored_len.fetch_sub(1, Ordering::Relaxed);
                s.set_downloaded(n);
            }
        }
        s
    }

    /// The counts of one torrent, if the store has an entry for it.
    pub fn stats(&self, ih: &InfoHash) -> Option<ScrapeStats> {
        self.swarms.read_with(ih, |s| s.stats()).or_else(|| {
            // Scrapes of unknown hashes pass here: skip the side table while it is empty.
            if self.restored_len.load(Ordering::Relaxed) == 0 {
                return None;
            }
            self.restored.get(ih).map(|n| ScrapeStats {
                downloaded: *n,
                ..ScrapeStats::default()
            })
        })
    }

    /// Up to `limit` torrents with hashes above `after`, in hash order: a stable page
    /// whatever changes in between. Memory is `O(limit)`, not `O(torrents)`.
    pub fn page(&self, after: Option<InfoHash>, limit: usize) -> Vec<(InfoHash, ScrapeStats)> {
        let key = |s: ScrapeStats| (s.complete, s.incomplete, s.downloaded);
        let mut heap = BinaryHeap::with_capacity(limit + 1);
        self.swarms.scan(|&ih, s| {
            if after.is_some_and(|a| ih <= a) {
                return ControlFlow::Continue(());
            }
            if heap.len() < limit {
                heap.push((ih, key(s.stats())));
            } else if heap.peek().is_some_and(|top| ih < top.0) {
                heap.pop();
                heap.push((ih, key(s.stats())));
            }
            ControlFlow::Continue(())
        });
        heap.into_sorted_vec()
            .into_iter()
            .map(|(ih, (complete, incomplete, downloaded))| {
                let s = ScrapeStats {
                    complete,
                    incomplete,
                    downloaded,
                };
                (ih, s)
            })
            .collect()
    }

    /// Drops `ih`'s swarm whatever it holds (unregistered or denied torrents).
    pub fn drop_swarm(&self, ih: &InfoHash) -> bool {
        match self.swarms.remove(*ih) {
            Some(mut s) => {
                self.forget(&mut s);
                self.dropped(1);
                true
            }
            None => false,
        }
    }

    /// Drops every swarm the access list no longer serves (after a list change), and
    /// empty ones it no longer keeps. Returns the number of swarms dropped.
    pub fn purge_refused(&self) -> usize {
        let mut dropped = 0;
        let mut total = Change::default();
        self.swarms.retain(|ih, s| {
            let keep = self.access.check(ih).is_ok() && (!s.is_empty() || self.access.keeps(ih));
            if !keep {
                total.add(&s.expire(Expiry::All, &self.holders));
                dropped += 1;
                // A list edited by mistake must not cost the torrent its history.
                self.keep_count(*ih, s.stats().downloaded);
            }
            keep
        });
        self.dropped(dropped);
        self.apply(&total);
        dropped
    }

    fn forget(&self, s: &mut Swarm) {
        self.apply(&s.expire(Expiry::All, &self.holders));
    }

    /// Calls `f` with each torrent worth saving: entries with a count, or with peers when
    /// `peers` is set, then restored counts not yet claimed. One shard is read-locked at
    /// a time, while its entries are copied out; `f` runs with no lock held.
    pub fn for_each_saved(&self, peers: bool, mut f: impl FnMut(InfoHash, SavedSwarm)) {
        self.swarms.for_each_picked(
            |&ih, s| {
                let downloaded = s.stats().downloaded;
                let keep = downloaded > 0 || (peers && !s.is_empty());
                keep.then(|| {
                    let peers = if peers {
                        s.addrs().collect()
                    } else {
                        Vec::new()
                    };
                    (ih, SavedSwarm { downloaded, peers })
                })
            },
            |(ih, saved)| f(ih, saved),
        );
        for e in self.restored.iter() {
            f(
                *e.key(),
                SavedSwarm {
                    downloaded: *e.value(),
                    peers: Vec::new(),
                },
            );
        }
    }

    /// Loads one saved torrent. Its peers count as seen at `now`, so they expire like
    /// any other unless they announce again. A torrent the access list refuses is
    /// skipped; one without peers that the store would not keep waits in a side table
    /// for its first announce. Returns whether anything was loaded.
    pub fn restore(&self, ih: InfoHash, saved: SavedSwarm, now: u32) -> bool {
        if self.access.check(&ih).is_err() {
            return false;
        }
        if saved.peers.is_empty() && !self.access.keeps(&ih) {
            return self.keep_count(ih, saved.downloaded);
        }
        if !self.swarms.contains_key(&ih) && !self.room_for_torrent(&ih) {
            return false;
        }
        let mut shard = self.swarms.lock(ih);
        let swarm = shard.get_or_insert_with(|| self.new_swarm(&ih));
        swarm.set_downloaded(swarm.stats().downloaded.max(saved.downloaded));
        for (addr, role) in saved.peers {
            // Applied peer by peer so that `max_peers` is checked against a current total.
            let c = swarm.restore(
                addr,
                role,
                now,
                self.caps(&ih),
                self.limits.keep_peer_ids,
                &self.holders,
            );
            self.apply(&c);
        }
        true
    }

    /// Keeps the count of a torrent without an entry until its swarm comes back. The
    /// table is capped at `max_torrents`; returns whether the count was kept.
    fn keep_count(&self, ih: InfoHash, downloaded: u32) -> bool {
        if downloaded == 0 || self.restored_len.load(Ordering::Relaxed) >= self.limits.max_torrents
        {
            return false;
        }
        if self.restored.insert(ih, downloaded).is_none() {
            self.restored_len.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Makes sure a registered torrent has an entry, so it shows up with zero peers.
    pub fn ensure(&self, ih: InfoHash) {
        if self.swarms.contains_key(&ih)
            || !self.room_for_torrent(&ih)
            || self.access.check(&ih).is_err()
        {
            return;
        }
        self.swarms
            .lock(ih)
            .get_or_insert_with(|| self.new_swarm(&ih));
    }

    /// Appends a scrape reply for up to `max` torrents (full scrape).
    pub fn scrape_all(&self, max: usize, out: &mut Vec<u8>) {
        let mut found = Vec::new();
        self.swarms.scan(|&ih, s| {
            if found.len() == max {
                return ControlFlow::Break(());
            }
            found.push((ih, s.stats()));
            ControlFlow::Continue(())
        });
        write_scrape(found, out);
    }

    /// Removes the peers `expiry` names and swarms left empty; one shard locked at a
    /// time. Returns the number of peers removed.
    pub fn expire(&self, expiry: Expiry) -> u64 {
        let mut total = Change::default();
        let mut removed_swarms = 0usize;
        self.swarms.retain(|ih, s| {
            total.add(&s.expire(expiry, &self.holders));
            let keep = !s.is_empty() || self.access.keeps(ih);
            removed_swarms += usize::from(!keep);
            keep
        });
        self.dropped(removed_swarms);
        self.apply(&total);
        -total.peers() as u64
    }

    /// Removes `h`'s entry if it has no peers (a torrent unregistered while idle).
    pub fn remove_if_empty(&self, h: &InfoHash) {
        if self.swarms.lock(*h).remove_if(|s| s.is_empty()).is_some() {
            self.dropped(1);
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
