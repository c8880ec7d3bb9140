//! A connection's [`Session`] as its reader, writer and the choker share it: the session
//! behind a lock, the writer's wake-up, and the daemon's side of the session's events.
//!
//! Events are applied after the lock is let go: the choker takes its own lock and then a
//! session's, so a session's lock is never held while the choker's is taken.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seedline_common::metainfo::hash_tree::HashRefusal;
use seedline_common::metainfo::merkle::Hash32;
use seedline_common::wire::HashRequest;
use tokio::sync::Notify;

use super::memory::PeerMemory;
use super::session::{Content, Event, Limits, Session};
use crate::daemon::config::Config;
use crate::daemon::metrics::Metrics;
use crate::daemon::shared::Shared;
use crate::daemon::super_seed::SuperSeed;
use crate::daemon::torrent::Torrent;

pub struct Conn {
    pub id: u64,
    pub addr: SocketAddr,
    pub torrent: Arc<Torrent>,
    /// Bytes served in the current choking round (the round robin's key).
    pub round_bytes: AtomicU64,
    /// Every buffer this connection holds, against its budget.
    pub memory: PeerMemory,
    session: Mutex<Session>,
    wake: Notify,
}

impl Conn {
    pub fn new(
        id: u64,
        addr: SocketAddr,
        torrent: Arc<Torrent>,
        session: Session,
        memory: PeerMemory,
    ) -> Self {
        Self {
            id,
            addr,
            torrent,
            round_bytes: AtomicU64::new(0),
            memory,
            session: Mutex::new(session),
            wake: Notify::new(),
        }
    }

    /// Runs `f` on the session, wakes the writer if it queued output, then applies the
    /// events it reported (the lock let go first: see the module docs).
    pub fn update<T>(&self, shared: &Shared, f: impl FnOnce(&mut Session, &Self) -> T) -> T {
        let (out, events) = self.with(|s| {
            let out = f(s, self);
            (out, s.take_events())
        });
        for e in events {
            self.apply(shared, e);
        }
        out
    }

    /// Runs `f` on the session and wakes the writer if it queued output. For calls that
    /// report no events (choking, the writer's own bookkeeping).
    pub fn with<T>(&self, f: impl FnOnce(&mut Session) -> T) -> T {
        let mut s = self.session.lock().expect("session lock");
        let out = f(&mut s);
        let wake = s.take_wake();
        drop(s);
        if wake {
            self.wake.notify_one();
        }
        out
    }

    fn apply(&self, shared: &Shared, e: Event) {
        let m = &shared.metrics;
        match e {
            Event::Interested => shared.choker.interested(self),
            Event::NotInterested => {
                shared.choker.not_interested(self);
                self.super_seed(m, |ss, id, servable| ss.withdraw(id, None, servable));
            }
            Event::PeerPieces(b) => {
                self.super_seed(m, |ss, id, servable| ss.bitfield(id, &b, servable));
            }
            Event::PeerHave(i) => self.super_seed(m, |ss, id, servable| ss.have(id, i, servable)),
            Event::Rejected(why) => m.requests_rejected.with_label_values(&[why]).inc(),
            Event::MetadataServed => m.metadata_pieces_served.inc(),
            Event::HashesServed => m.hashes_served.inc(),
        }
    }

    pub fn is_interested(&self) -> bool {
        self.with(|s| s.is_interested())
    }

    pub fn is_unchoked(&self) -> bool {
        self.with(|s| s.is_unchoked())
    }

    /// Interested and choked: waiting for a slot.
    pub fn wants_slot(&self) -> bool {
        self.with(|s| s.is_interested() && !s.is_unchoked())
    }

    /// Whether the peer holds a slot without asking for anything (see [`Session::idle`]).
    pub fn idle(&self, now: Instant, timeout: Duration) -> bool {
        self.with(|s| s.idle(now, timeout))
    }

    /// Changes the choke state; returns whether it changed.
    pub fn set_unchoked(&self, unchoked: bool) -> bool {
        self.with(|s| s.set_unchoked(unchoked, Instant::now()))
    }

    /// Bytes this connection holds now (see [`PeerMemory`]); updates the gauge.
    pub fn memory_held(&self) -> usize {
        let outbox = self.with(|s| s.outbox_bytes());
        self.memory.total(outbox)
    }

    /// Whether the connection holds more than its budget: the peer asks for replies
    /// (rejects, metadata) faster than it reads them, or sends outsized frames.
    pub fn over_budget(&self) -> bool {
        let held = self.memory_held();
        self.memory.over(held)
    }

    /// When the torrent is super-seeded, applies `update` to its state for this peer
    /// (given the peer's id and which pieces may be served) and sends `have` for the
    /// pieces it offers; otherwise does nothing.
    pub fn super_seed(
        &self,
        metrics: &Metrics,
        update: impl FnOnce(&SuperSeed, u64, &dyn Fn(u32) -> bool) -> Vec<u32>,
    ) {
        let t = &self.torrent;
        let Some(ss) = &t.super_seed else { return };
        let pieces = update(ss, self.id, &|i| t.advertised(i));
        if pieces.is_empty() {
            return;
        }
        self.with(|s| s.offer(&pieces));
        metrics.super_seed_offers.inc_by(pieces.len() as u64);
    }

    pub async fn wait_for_work(&self) {
        self.wake.notified().await;
    }
}

impl From<&Config> for Limits {
    fn from(cfg: &Config) -> Self {
        Self {
            max_requests_per_peer: cfg.max_requests_per_peer,
            max_interest_changes: cfg.max_interest_changes,
            max_bitfield_resets: cfg.max_bitfield_resets,
        }
    }
}

/// The torrent as this peer's session sees it.
impl Content for Conn {
    fn piece_count(&self) -> u32 {
        self.torrent.piece_count()
    }

    fn piece_len(&self, index: u32) -> u64 {
        let r = self.torrent.piece_range(index);
        r.end - r.start
    }

    fn may_serve(&self, index: u32) -> bool {
        let t = &self.torrent;
        t.advertised(index)
            && t.super_seed
                .as_ref()
                .is_none_or(|s| s.offered(self.id, index))
    }

    fn advertised(&self, index: u32) -> bool {
        self.torrent.advertised(index)
    }

    fn metadata(&self) -> Option<&[u8]> {
        (!self.torrent.info.private).then_some(&self.torrent.info_bytes[..])
    }

    fn hashes(&self, req: &HashRequest) -> Result<Vec<Hash32>, HashRefusal> {
        self.torrent.hashes(req)
    }
}
