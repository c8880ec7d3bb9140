//! What a connection's reader, writer and the choker share.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use seedline_common::wire::{BlockRequest, Message};
use tokio::sync::Notify;

use super::memory::PeerMemory;
use crate::daemon::super_seed::SuperSeed;
use crate::daemon::torrent::Torrent;

/// The largest control buffer kept for reuse.
const KEEP_CONTROL_BUFFER: usize = 64 * 1024;

pub struct Conn {
    pub id: u64,
    pub addr: SocketAddr,
    pub torrent: Arc<Torrent>,
    /// BEP 6: the peer gets `reject` for every request we will not serve.
    pub fast: bool,
    pub interested: AtomicBool,
    pub unchoked: AtomicBool,
    /// Bytes served in the current choking round (the round robin's key).
    pub round_bytes: AtomicU64,
    /// Blocks sent over the connection's life: what a peer got, as opposed to what it
    /// asked for.
    pub blocks_sent: AtomicU64,
    pub last_request: Mutex<Instant>,
    /// Every buffer this connection holds, against its budget.
    pub memory: PeerMemory,
    out: Mutex<Outbox>,
    wake: Notify,
}

#[derive(Default)]
struct Outbox {
    /// Encoded messages to send before the next block.
    control: Vec<u8>,
    requests: VecDeque<BlockRequest>,
}

/// What the writer should do next.
pub enum Work {
    Control(Vec<u8>),
    /// The requests moved into the writer's batch.
    Blocks,
    Idle,
}

impl Conn {
    pub fn new(
        id: u64,
        addr: SocketAddr,
        torrent: Arc<Torrent>,
        fast: bool,
        memory: PeerMemory,
    ) -> Self {
        Self {
            id,
            addr,
            torrent,
            fast,
            interested: AtomicBool::new(false),
            unchoked: AtomicBool::new(false),
            round_bytes: AtomicU64::new(0),
            blocks_sent: AtomicU64::new(0),
            last_request: Mutex::new(Instant::now()),
            memory,
            out: Mutex::new(Outbox::default()),
            wake: Notify::new(),
        }
    }

    pub fn send(&self, msg: Message<'_>) {
        msg.encode(&mut self.out.lock().expect("outbox lock").control);
        self.wake.notify_one();
    }

    /// Bytes this connection holds now (see [`PeerMemory`]); updates the gauge.
    pub fn memory_held(&self) -> usize {
        let out = self.out.lock().expect("outbox lock");
        let outbox =
            out.control.capacity() + out.requests.capacity() * std::mem::size_of::<BlockRequest>();
        drop(out);
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
        metrics: &crate::daemon::metrics::Metrics,
        update: impl FnOnce(&SuperSeed, u64, &dyn Fn(u32) -> bool) -> Vec<u32>,
    ) {
        let t = &self.torrent;
        let Some(ss) = &t.super_seed else { return };
        let pieces = update(ss, self.id, &|i| t.advertised(i));
        if pieces.is_empty() {
            return;
        }
        let mut out = self.out.lock().expect("outbox lock");
        for &i in &pieces {
            Message::Have(i).encode(&mut out.control);
        }
        drop(out);
        metrics.super_seed_offers.inc_by(pieces.len() as u64);
        self.wake.notify_one();
    }

    /// Whether the peer may be served `index`: proven (or trusted), and when
    /// super-seeding, offered to this peer.
    pub fn may_serve(&self, index: u32) -> bool {
        let t = &self.torrent;
        t.advertised(index)
            && t.super_seed
                .as_ref()
                .is_none_or(|s| s.offered(self.id, index))
    }

    /// Queues a request unless `max` are already queued; returns whether it fit.
    pub fn push_request(&self, r: BlockRequest, max: usize) -> bool {
        let mut out = self.out.lock().expect("outbox lock");
        if out.requests.len() >= max {
            return false;
        }
        out.requests.push_back(r);
        drop(out);
        *self.last_request.lock().expect("clock lock") = Instant::now();
        self.wake.notify_one();
        true
    }

    /// Counts a request we will not serve and, with the Fast extension, tells the peer
    /// (BEP 6: every request gets its block or a `reject`).
    pub fn reject(
        &self,
        r: BlockRequest,
        why: crate::daemon::reason::Rejection,
        metrics: &crate::daemon::metrics::Metrics,
    ) {
        metrics.requests_rejected.with_label_values(&[why]).inc();
        if self.fast {
            self.send(Message::Reject(r));
        }
    }

    /// Drops a queued request; with the Fast extension the peer is told (BEP 6 asks for
    /// a `reject` or the block for every cancelled request).
    pub fn cancel(&self, r: BlockRequest) {
        let mut out = self.out.lock().expect("outbox lock");
        if let Some(pos) = out.requests.iter().position(|q| *q == r) {
            out.requests.remove(pos);
            if self.fast {
                Message::Reject(r).encode(&mut out.control);
                self.wake.notify_one();
            }
        }
    }

    /// Changes the choke state; returns whether it changed. Choking drops queued
    /// requests (rejecting each for Fast peers, for whom a choke does not imply it).
    pub fn set_unchoked(&self, unchoked: bool) -> bool {
        if self.unchoked.swap(unchoked, Ordering::AcqRel) == unchoked {
            return false;
        }
        let mut out = self.out.lock().expect("outbox lock");
        let Outbox { control, requests } = &mut *out;
        if unchoked {
            Message::Unchoke.encode(control);
            *self.last_request.lock().expect("clock lock") = Instant::now();
        } else {
            Message::Choke.encode(control);
            for r in requests.drain(..) {
                if self.fast {
                    Message::Reject(r).encode(control);
                }
            }
        }
        drop(out);
        self.wake.notify_one();
        true
    }

    /// The next thing to send: control messages first, then queued requests, moved into
    /// `batch` (cleared first) up to `max_bytes` of block data, at least one.
    pub fn next_work(&self, batch: &mut Vec<BlockRequest>, max_bytes: u64) -> Work {
        let mut out = self.out.lock().expect("outbox lock");
        if !out.control.is_empty() {
            return Work::Control(std::mem::take(&mut out.control));
        }
        batch.clear();
        let mut bytes = 0u64;
        while let Some(r) = out.requests.front() {
            if !batch.is_empty() && bytes + u64::from(r.length) > max_bytes {
                break;
            }
            bytes += u64::from(r.length);
            batch.push(*r);
            out.requests.pop_front();
        }
        if batch.is_empty() {
            Work::Idle
        } else {
            Work::Blocks
        }
    }

    pub async fn wait_for_work(&self) {
        self.wake.notified().await;
    }

    /// Returns a control buffer to the outbox so its allocation is reused, unless a burst
    /// grew it: that would count against the peer's budget for the rest of its life.
    pub fn recycle(&self, mut buf: Vec<u8>) {
        if buf.capacity() > KEEP_CONTROL_BUFFER {
            return;
        }
        let mut out = self.out.lock().expect("outbox lock");
        if out.control.is_empty() {
            buf.clear();
            out.control = buf;
        }
    }
}
