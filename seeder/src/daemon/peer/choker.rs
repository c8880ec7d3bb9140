//! Who may request. An origin wants to serve everyone: every interested peer is unchoked
//! while slots last. When more peers want data than there are slots, each round the peers
//! that got the fewest bytes in the last round take the slots (round robin by bytes
//! served), so nobody starves; an unchoked peer that stopped requesting loses its slot.
//!
//! A new peer is unchoked at once while a slot is free, before it says it is interested,
//! and keeps that through the rounds while slots are spare: Transmission writes its
//! `interested` two seconds after deciding on it (a packet capture, BENCHMARKS.md), and
//! an unchoked peer requests as soon as it decides, without that wait and our answer.
//! libtorrent's seed does the same for peers it deems local. An uninterested peer holds
//! its slot only until an interested one needs it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::conn::Conn;
use crate::daemon::metrics::Metrics;

pub struct Choker {
    slots: usize,
    state: Mutex<State>,
    metrics: Metrics,
}

/// Peers known to the choker, and how many of them are unchoked: kept on change so an
/// `interested` message costs O(1) under the lock, not a count over every peer.
#[derive(Default)]
struct State {
    conns: HashMap<u64, Arc<Conn>>,
    unchoked: usize,
}

impl State {
    fn unchoke(&mut self, c: &Conn, m: &Metrics) {
        if c.set_unchoked(true) {
            self.unchoked += 1;
            m.peers_unchoked.inc();
        }
    }

    fn choke(&mut self, c: &Conn, m: &Metrics) {
        if c.set_unchoked(false) {
            self.unchoked -= 1;
            m.peers_unchoked.dec();
        }
    }
}

impl Choker {
    pub fn new(slots: usize, metrics: Metrics) -> Self {
        Self {
            slots,
            state: Mutex::new(State::default()),
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("choker lock")
    }

    pub fn add(&self, c: Arc<Conn>) {
        let mut st = self.lock();
        if st.unchoked < self.slots {
            st.unchoke(&c, &self.metrics);
        }
        st.conns.insert(c.id, c);
    }

    pub fn remove(&self, c: &Conn) {
        let mut st = self.lock();
        st.conns.remove(&c.id);
        if c.is_unchoked() {
            st.choke(c, &self.metrics);
            self.fill(&mut st);
        }
    }

    /// The peer's session became interested: it gets a free slot, or the slot of an
    /// unchoked peer that is not interested.
    pub fn interested(&self, c: &Conn) {
        let mut st = self.lock();
        if c.is_unchoked() {
            return;
        }
        if st.unchoked >= self.slots {
            let idle = st
                .conns
                .values()
                .find(|o| o.id != c.id && o.is_unchoked() && !o.is_interested())
                .cloned();
            match idle {
                Some(o) => st.choke(&o, &self.metrics),
                None => return,
            }
        }
        st.unchoke(c, &self.metrics);
    }

    /// The peer's session lost interest.
    pub fn not_interested(&self, c: &Conn) {
        let mut st = self.lock();
        if c.is_unchoked() {
            st.choke(c, &self.metrics);
            self.fill(&mut st);
        }
    }

    /// One choking round: see the module docs. `request_timeout` is how long an unchoked
    /// peer may go without asking for anything before it counts as idle.
    pub fn round(&self, now: Instant, request_timeout: Duration) {
        let mut st = self.lock();
        let mut wanting: Vec<(bool, u64, Arc<Conn>)> = st
            .conns
            .values()
            .filter(|c| c.is_interested())
            .map(|c| {
                let idle = c.idle(now, request_timeout);
                (idle, c.round_bytes.swap(0, Ordering::AcqRel), c.clone())
            })
            .collect();
        wanting.sort_by_key(|(idle, bytes, c)| (*idle, *bytes, c.id));
        for (rank, (_, _, c)) in wanting.iter().enumerate() {
            if rank < self.slots {
                st.unchoke(c, &self.metrics);
            } else {
                st.choke(c, &self.metrics);
            }
        }
        // Uninterested peers keep an unchoke only in slots no interested peer took.
        let mut spare = self.slots.saturating_sub(wanting.len());
        let idle: Vec<Arc<Conn>> = st
            .conns
            .values()
            .filter(|c| !c.is_interested())
            .cloned()
            .collect();
        for c in idle {
            if spare > 0 && c.is_unchoked() {
                spare -= 1;
            } else {
                st.choke(&c, &self.metrics);
            }
        }
    }

    /// Gives free slots to waiting peers, fewest bytes first. Usually one slot is free
    /// (a peer left or lost interest): a partial selection finds the few wanted in
    /// O(peers), where a sort cost O(peers log peers) under the lock on every
    /// `not_interested`.
    fn fill(&self, st: &mut State) {
        let free = self.slots.saturating_sub(st.unchoked);
        if free == 0 {
            return;
        }
        let key = |c: &Arc<Conn>| (c.round_bytes.load(Ordering::Acquire), c.id);
        let mut waiting: Vec<Arc<Conn>> = st
            .conns
            .values()
            .filter(|c| c.wants_slot())
            .cloned()
            .collect();
        if waiting.len() > free {
            waiting.select_nth_unstable_by_key(free - 1, key);
            waiting.truncate(free);
        }
        for c in waiting {
            st.unchoke(&c, &self.metrics);
        }
    }
}

#[cfg(test)]
mod tests;
