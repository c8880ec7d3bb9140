//! Who may request. An origin wants to serve everyone: every interested peer is unchoked
//! while slots last. When more peers want data than there are slots, each round the peers
//! that got the fewest bytes in the last round take the slots (round robin by bytes
//! served), so nobody starves; an unchoked peer that stopped requesting loses its slot.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::conn::Conn;
use crate::daemon::metrics::Metrics;

pub struct Choker {
    slots: usize,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    metrics: Metrics,
}

impl Choker {
    pub fn new(slots: usize, metrics: Metrics) -> Self {
        Self {
            slots,
            conns: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    pub fn add(&self, c: Arc<Conn>) {
        self.conns.lock().expect("choker lock").insert(c.id, c);
    }

    pub fn remove(&self, c: &Conn) {
        let mut conns = self.conns.lock().expect("choker lock");
        conns.remove(&c.id);
        if c.unchoked.swap(false, Ordering::AcqRel) {
            self.metrics.peers_unchoked.dec();
            self.fill(&conns);
        }
    }

    pub fn interested(&self, c: &Conn) {
        c.interested.store(true, Ordering::Release);
        let conns = self.conns.lock().expect("choker lock");
        if !c.unchoked.load(Ordering::Acquire) && self.unchoked(&conns) < self.slots {
            self.unchoke(c);
        }
    }

    pub fn not_interested(&self, c: &Conn) {
        c.interested.store(false, Ordering::Release);
        let conns = self.conns.lock().expect("choker lock");
        if c.set_unchoked(false) {
            self.metrics.peers_unchoked.dec();
            self.fill(&conns);
        }
    }

    /// One choking round: see the module docs. `request_timeout` is how long an unchoked
    /// peer may go without asking for anything before it counts as idle.
    pub fn round(&self, now: Instant, request_timeout: Duration) {
        let conns = self.conns.lock().expect("choker lock");
        let mut wanting: Vec<(bool, u64, &Arc<Conn>)> = conns
            .values()
            .filter(|c| c.interested.load(Ordering::Acquire))
            .map(|c| {
                let idle = c.unchoked.load(Ordering::Acquire)
                    && now.saturating_duration_since(*c.last_request.lock().expect("clock lock"))
                        > request_timeout;
                (idle, c.round_bytes.swap(0, Ordering::AcqRel), c)
            })
            .collect();
        wanting.sort_by_key(|&(idle, bytes, c)| (idle, bytes, c.id));
        for (rank, (_, _, c)) in wanting.iter().enumerate() {
            if rank < self.slots {
                self.unchoke(c);
            } else if c.set_unchoked(false) {
                self.metrics.peers_unchoked.dec();
            }
        }
        for c in conns.values() {
            if !c.interested.load(Ordering::Acquire) && c.set_unchoked(false) {
                self.metrics.peers_unchoked.dec();
            }
        }
    }

    fn unchoke(&self, c: &Conn) {
        if c.set_unchoked(true) {
            self.metrics.peers_unchoked.inc();
        }
    }

    fn unchoked(&self, conns: &HashMap<u64, Arc<Conn>>) -> usize {
        conns
            .values()
            .filter(|c| c.unchoked.load(Ordering::Acquire))
            .count()
    }

    /// Gives free slots to waiting peers, fewest bytes first.
    fn fill(&self, conns: &HashMap<u64, Arc<Conn>>) {
        let free = self.slots.saturating_sub(self.unchoked(conns));
        if free == 0 {
            return;
        }
        let mut waiting: Vec<&Arc<Conn>> = conns
            .values()
            .filter(|c| c.interested.load(Ordering::Acquire) && !c.unchoked.load(Ordering::Acquire))
            .collect();
        waiting.sort_by_key(|c| (c.round_bytes.load(Ordering::Acquire), c.id));
        for c in waiting.into_iter().take(free) {
            self.unchoke(c);
        }
    }
}

#[cfg(test)]
mod tests;
