//! One peer connection's protocol as a state machine without I/O: bytes in, and out of it
//! the bytes to send, the blocks to read from disk, the events the daemon acts on
//! (interest for the choker, the peer's pieces for super-seeding, counts for metrics),
//! or the reason to close.
//!
//! The socket tasks around it (`reader`, `writer`, `accept`) only move bytes, keep time
//! and read the disk; every rule of the peer wire protocol and every cap a peer can push
//! against is plain state here, and unit-tested without sockets (`tests`). The cipher and
//! the transport (TCP or uTP, plain or RC4) sit below the socket tasks and never see it.
//!
//! What the session needs of the torrent it asks through [`Content`], so it holds no
//! reference to the daemon's shared state and tests give it a fake.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use seedline_common::metainfo::hash_tree::HashRefusal;
use seedline_common::metainfo::merkle::Hash32;
use seedline_common::wire::{
    Bitfield, BlockRequest, FrameLimits, HashRequest, Message, MAX_BLOCK_LEN,
};

use crate::daemon::reason::Rejection;

mod peer_view;
mod receive;
#[cfg(test)]
mod tests;

use peer_view::PeerView;
pub use receive::Received;

/// The id we receive `ut_metadata` messages under (our extended handshake says so).
pub const UT_METADATA_ID: u8 = 1;

/// The largest control buffer kept for reuse.
const KEEP_CONTROL_BUFFER: usize = 64 * 1024;

/// `have`s queued in one go (36 KiB): pieces proven while the writer was busy can number
/// tens of thousands in a big torrent's first verification, and queued at once they
/// would pass the peer's memory budget.
const HAVE_CHUNK: usize = 4096;

/// Largest message we accept apart from bitfields and extended messages: a `piece`
/// message carrying a block, which a seed never needs but a confused peer may send.
const MAX_MESSAGE: u32 = 9 + MAX_BLOCK_LEN + 1024;

/// What the session asks of the torrent it serves.
pub trait Content {
    fn piece_count(&self) -> u32;
    /// The length of piece `index` (< `piece_count`).
    fn piece_len(&self, index: u32) -> u64;
    /// Whether this peer may be served `index` now: proven (or trusted), and when
    /// super-seeding, offered to it.
    fn may_serve(&self, index: u32) -> bool;
    /// Whether `index` is proven, so may be announced with `have`.
    fn advertised(&self, index: u32) -> bool;
    /// The info dictionary for BEP 9, or `None` when it is not shared (private torrents).
    fn metadata(&self) -> Option<&[u8]>;
    /// The answer to a BEP 52 `hash request` (a v1 torrent has no trees to answer from).
    fn hashes(&self, req: &HashRequest) -> Result<Vec<Hash32>, HashRefusal>;
}

/// The caps a peer pushes against (settings of the same names).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_requests_per_peer: usize,
    pub max_interest_changes: u32,
    pub max_bitfield_resets: u32,
}

/// What the daemon must do for the session, beyond sending its bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// The peer became interested: the choker may unchoke it.
    Interested,
    /// The peer lost interest: its slot (and its super-seed offer) is free.
    NotInterested,
    /// Super-seeding only: the peer's pieces were replaced (a bitfield or `have_none`).
    PeerPieces(Bitfield),
    /// Super-seeding only: the peer got a piece.
    PeerHave(u32),
    /// A request was refused (with BEP 6, the peer was sent a `reject`).
    Rejected(Rejection),
    /// A BEP 9 metadata piece was queued.
    MetadataServed,
    /// A BEP 52 `hashes` answer was queued.
    HashesServed,
}

/// What the writer should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Work {
    /// Encoded messages to send; give the buffer back with [`Session::recycle`].
    Control(Vec<u8>),
    /// Read and send the requests moved into the writer's batch.
    Blocks,
    Idle,
}

pub struct Session {
    /// BEP 6: the peer gets `reject` for every request we will not serve.
    fast: bool,
    /// The torrent is super-seeded: the peer's pieces are reported as events.
    super_seed: bool,
    limits: Limits,
    frames: FrameLimits,
    interested: bool,
    unchoked: bool,
    /// The last request queued, or the unchoke: an unchoked peer quiet for long is idle.
    last_request: Instant,
    /// Blocks sent over the connection's life: what the peer got, as opposed to what it
    /// asked for.
    blocks_sent: u64,
    peer: PeerView,
    /// Encoded messages to send before the next block.
    control: Vec<u8>,
    requests: VecDeque<BlockRequest>,
    /// What the peer was told we have; pieces proven later go out as `have`.
    advertised: Bitfield,
    /// Where the next pass over newly proven pieces resumes; `None`: none pending.
    haves_from: Option<u32>,
    events: Vec<Event>,
    /// Output was queued since the writer last looked.
    wake: bool,
}

impl Session {
    /// A session with a peer that `fast` (BEP 6) or not, for a torrent of `pieces`
    /// pieces of which `advertised` are announced in the opening messages.
    pub fn new(
        fast: bool,
        super_seed: bool,
        limits: Limits,
        advertised: Bitfield,
        now: Instant,
    ) -> Self {
        let pieces = advertised.len();
        Self {
            fast,
            super_seed,
            limits,
            // Only the bitfield grows with the torrent; everything else keeps a fixed cap.
            frames: FrameLimits {
                bitfield: pieces.div_ceil(8) + 1,
                extended: seedline_common::wire::MAX_EXTENDED_LEN,
                other: MAX_MESSAGE,
            },
            interested: false,
            unchoked: false,
            last_request: now,
            blocks_sent: 0,
            peer: PeerView::default(),
            control: Vec::new(),
            requests: VecDeque::new(),
            advertised,
            haves_from: None,
            events: Vec::new(),
            wake: false,
        }
    }

    /// Queues what follows our BitTorrent handshake: what we have (nothing, for a
    /// super-seed's peer without BEP 6, which BEP 3 allows) and our extended handshake
    /// if the peer speaks BEP 10 (`extended`: its payload).
    pub fn open(&mut self, extended: Option<&[u8]>) {
        // Exactly what is queued: for a torrent of millions of pieces the bitfield is
        // large, and a buffer grown by doubling would count twice against the peer.
        let bitfield = 5 + self.advertised.as_bytes().len();
        self.control
            .reserve_exact(bitfield + extended.map_or(0, |p| 6 + p.len()));
        let have = &self.advertised;
        if self.super_seed && !self.fast {
        } else if self.fast && have.is_full() {
            Message::HaveAll.encode(&mut self.control);
        } else if self.fast && have.count() == 0 {
            Message::HaveNone.encode(&mut self.control);
        } else {
            Message::Bitfield(have.as_bytes()).encode(&mut self.control);
        }
        if let Some(payload) = extended {
            Message::Extended { id: 0, payload }.encode(&mut self.control);
        }
        self.wake = true;
    }

    pub fn is_interested(&self) -> bool {
        self.interested
    }

    pub fn is_unchoked(&self) -> bool {
        self.unchoked
    }

    /// Whether the peer is unchoked and has asked for nothing for longer than `timeout`.
    pub fn idle(&self, now: Instant, timeout: Duration) -> bool {
        self.unchoked && now.saturating_duration_since(self.last_request) > timeout
    }

    /// Changes the choke state; returns whether it changed. Choking drops queued
    /// requests (rejecting each for Fast peers, for whom a choke does not imply it).
    pub fn set_unchoked(&mut self, unchoked: bool, now: Instant) -> bool {
        if self.unchoked == unchoked {
            return false;
        }
        self.unchoked = unchoked;
        if unchoked {
            Message::Unchoke.encode(&mut self.control);
            self.last_request = now;
        } else {
            Message::Choke.encode(&mut self.control);
            for r in self.requests.drain(..) {
                if self.fast {
                    Message::Reject(r).encode(&mut self.control);
                }
            }
        }
        self.wake = true;
        true
    }

    /// Queues `have` for each piece a super-seed offers this peer.
    pub fn offer(&mut self, pieces: &[u32]) {
        for &i in pieces {
            Message::Have(i).encode(&mut self.control);
        }
        self.wake |= !pieces.is_empty();
    }

    /// More pieces were proven: they go out as `have` when the writer is idle.
    pub fn pieces_proven(&mut self) {
        self.haves_from = Some(0);
        self.wake = true;
    }

    pub fn keepalive(&mut self) {
        Message::KeepAlive.encode(&mut self.control);
        self.wake = true;
    }

    /// Refuses a request the writer could not serve after all (its piece failed its
    /// check, or the disk failed): counted and, with BEP 6, rejected.
    pub fn refuse(&mut self, r: BlockRequest, why: Rejection) {
        self.events.push(Event::Rejected(why));
        if self.fast {
            Message::Reject(r).encode(&mut self.control);
            self.wake = true;
        }
    }

    /// Counts `blocks` sent.
    pub fn sent(&mut self, blocks: u64) {
        self.blocks_sent += blocks;
    }

    /// The next thing to send: control messages first, then queued requests, moved into
    /// `batch` (cleared first) up to `max_bytes` of block data, at least one; then the
    /// `have`s of pieces proven since the peer was told, a chunk at a time.
    pub fn next_work(
        &mut self,
        content: &impl Content,
        batch: &mut Vec<BlockRequest>,
        max_bytes: u64,
    ) -> Work {
        self.wake = false;
        if !self.control.is_empty() {
            return Work::Control(std::mem::take(&mut self.control));
        }
        batch.clear();
        let mut bytes = 0u64;
        while let Some(r) = self.requests.front() {
            if !batch.is_empty() && bytes + u64::from(r.length) > max_bytes {
                break;
            }
            bytes += u64::from(r.length);
            batch.push(*r);
            self.requests.pop_front();
        }
        if !batch.is_empty() {
            return Work::Blocks;
        }
        if let Some(from) = self.haves_from {
            self.haves_from = self.queue_haves(content, from);
            if !self.control.is_empty() {
                return Work::Control(std::mem::take(&mut self.control));
            }
        }
        Work::Idle
    }

    /// Queues `have` for up to [`HAVE_CHUNK`] pieces proven since they were advertised,
    /// from piece `from` on; returns where to resume, or `None` once every piece is done.
    fn queue_haves(&mut self, content: &impl Content, from: u32) -> Option<u32> {
        let mut queued = 0;
        for i in from..self.advertised.len() {
            if queued == HAVE_CHUNK {
                return Some(i);
            }
            if !self.advertised.has(i) && content.advertised(i) {
                self.advertised.set(i);
                Message::Have(i).encode(&mut self.control);
                queued += 1;
            }
        }
        None
    }

    /// Returns a control buffer so its allocation is reused, unless a burst grew it: that
    /// would count against the peer's budget for the rest of its life.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() <= KEEP_CONTROL_BUFFER && self.control.is_empty() {
            buf.clear();
            self.control = buf;
        }
    }

    /// Bytes held in the outbox (queued messages and requests).
    pub fn outbox_bytes(&self) -> usize {
        self.control.capacity() + self.requests.capacity() * std::mem::size_of::<BlockRequest>()
    }

    /// Whether output was queued since the last call (the writer must be woken).
    pub fn take_wake(&mut self) -> bool {
        std::mem::take(&mut self.wake)
    }

    /// The events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}
