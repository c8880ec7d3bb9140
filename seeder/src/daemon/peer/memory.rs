//! What one connection holds in memory, counted buffer by buffer against a budget.
//!
//! A peer decides how much of four buffers we keep for it: its read buffer (one frame
//! at most, but a bitfield frame is as long as the torrent has pieces), the replies it
//! has not read yet (rejects, metadata pieces, `have`s: the control outbox), its queued
//! requests, and the batch of blocks on its way out. Two more grow with the torrent, not
//! with the peer: the bitfield it sent us and the one we advertised. All of them are
//! counted here; the peer is dropped (`memory_budget`) when the sum passes
//! `max_peer_memory` plus what the torrent's size alone requires, and the sum over all
//! peers is the `peer_memory_bytes` gauge.
//!
//! The reader and the writer each report the buffers they own (the writer two: the
//! batch, and control messages it took from the outbox to write); the outbox is
//! measured under its lock whenever the total is taken.

use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus::IntGauge;

/// Memory of one connection. Reported to the gauge on every [`Self::total`] and taken
/// back from it on drop.
pub struct PeerMemory {
    /// Capacity of the reader's frame buffer.
    read: AtomicUsize,
    /// Capacity of the writer's batch buffer (zero while the peer is not being served).
    batch: AtomicUsize,
    /// Control messages taken out of the outbox and being written.
    sending: AtomicUsize,
    /// The two torrent-sized bitfields.
    fixed: usize,
    budget: usize,
    /// What the gauge holds for this connection.
    reported: AtomicUsize,
    gauge: IntGauge,
}

impl PeerMemory {
    /// A connection to a torrent of `pieces` pieces, allowed `max` bytes beyond what the
    /// torrent's size requires (two bitfields, and one bitfield frame in the read buffer).
    pub fn new(pieces: u32, max: usize, gauge: IntGauge) -> Self {
        let bitfield = (pieces as usize).div_ceil(8);
        Self {
            read: AtomicUsize::new(0),
            batch: AtomicUsize::new(0),
            sending: AtomicUsize::new(0),
            fixed: 2 * bitfield,
            budget: max.saturating_add(3 * bitfield),
            reported: AtomicUsize::new(0),
            gauge,
        }
    }

    /// Sets the read buffer's size; returns whether it changed.
    pub fn set_read(&self, bytes: usize) -> bool {
        self.read.swap(bytes, Ordering::Relaxed) != bytes
    }

    pub fn set_batch(&self, bytes: usize) {
        self.batch.store(bytes, Ordering::Relaxed);
    }

    pub fn set_sending(&self, bytes: usize) {
        self.sending.store(bytes, Ordering::Relaxed);
    }

    /// Everything held, given the outbox's size now; brings the gauge up to date.
    pub fn total(&self, outbox: usize) -> usize {
        let now = self.fixed
            + self.read.load(Ordering::Relaxed)
            + self.batch.load(Ordering::Relaxed)
            + self.sending.load(Ordering::Relaxed)
            + outbox;
        let before = self.reported.swap(now, Ordering::Relaxed);
        self.gauge.add(now as i64 - before as i64);
        now
    }

    /// Whether `total` is past this connection's budget.
    pub fn over(&self, total: usize) -> bool {
        total > self.budget
    }

    pub fn budget(&self) -> usize {
        self.budget
    }
}

impl Drop for PeerMemory {
    fn drop(&mut self) {
        self.gauge.sub(*self.reported.get_mut() as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_part_and_gives_the_gauge_back() {
        let gauge = IntGauge::new("m", "m").unwrap();
        let m = PeerMemory::new(80_000, 1000, gauge.clone());
        // 10 000 bytes a bitfield: two held, a third allowed for a bitfield frame.
        assert_eq!(m.budget(), 31_000);
        m.set_read(500);
        m.set_batch(200);
        m.set_sending(100);
        assert_eq!(m.total(100), 20_900);
        assert_eq!(gauge.get(), 20_900);
        assert!(!m.over(20_900));
        m.set_read(10_005);
        let t = m.total(1000);
        assert_eq!(t, 31_305);
        assert!(
            m.over(t),
            "a bitfield frame and a full outbox pass the budget"
        );
        let other = PeerMemory::new(8, 1000, gauge.clone());
        other.total(10);
        assert_eq!(gauge.get(), 31_305 + 12);
        drop(m);
        assert_eq!(gauge.get(), 12);
        drop(other);
        assert_eq!(gauge.get(), 0);
    }
}
