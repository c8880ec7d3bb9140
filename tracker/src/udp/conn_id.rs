//! BEP 15 connection ids without per-connection state: an id is a keyed hash of the
//! client's address under the key of the current minute. The key is replaced every
//! minute by a fresh random one and the previous is kept, so an id is accepted for one
//! to two minutes after it was issued, as the BEP asks, and only from the address it was
//! issued to. Nothing a client sends can make the table grow: it has two keys.
//!
//! Workers read the keys without a lock: each keeps a copy and refreshes it when the
//! shared epoch moves (one relaxed load per packet, a line nobody writes in between).

use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use std::collections::hash_map::RandomState;

/// The two keys in force: the current minute's and the previous one's.
#[derive(Clone)]
struct Keys {
    epoch: u64,
    current: RandomState,
    previous: RandomState,
}

/// The keys every worker uses; [`ConnectionIds::rotate`] runs once a minute.
pub struct ConnectionIds {
    epoch: AtomicU64,
    keys: RwLock<Keys>,
}

impl Default for ConnectionIds {
    fn default() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            keys: RwLock::new(Keys {
                epoch: 0,
                current: RandomState::new(),
                previous: RandomState::new(),
            }),
        }
    }
}

impl ConnectionIds {
    /// Starts a new minute: ids issued two rotations ago stop being accepted.
    pub fn rotate(&self) {
        let mut k = self.keys.write().unwrap_or_else(|e| e.into_inner());
        k.previous = std::mem::replace(&mut k.current, RandomState::new());
        k.epoch += 1;
        self.epoch.store(k.epoch, Ordering::Release);
    }

    /// A worker's view of the keys.
    pub fn view(self: &Arc<Self>) -> IdView {
        IdView {
            shared: self.clone(),
            keys: self.keys.read().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

/// One worker's copy of the keys.
pub struct IdView {
    shared: Arc<ConnectionIds>,
    keys: Keys,
}

impl IdView {
    fn refresh(&mut self) {
        if self.shared.epoch.load(Ordering::Acquire) != self.keys.epoch {
            self.keys = self
                .shared
                .keys
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
        }
    }

    /// The id to give `client` now.
    pub fn issue(&mut self, client: SocketAddr) -> u64 {
        self.refresh();
        id(&self.keys.current, client)
    }

    /// Whether `client` may use `id`: issued to this address this minute or the last.
    pub fn accepts(&mut self, client: SocketAddr, id_sent: u64) -> bool {
        self.refresh();
        id(&self.keys.current, client) == id_sent || id(&self.keys.previous, client) == id_sent
    }
}

fn id(key: &RandomState, client: SocketAddr) -> u64 {
    // Never the protocol id, which marks a connect request.
    match key.hash_one(client) {
        seedline_common::udp::PROTOCOL_ID => 1,
        h => h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_lives_two_rotations_and_only_for_its_address() {
        let ids = Arc::new(ConnectionIds::default());
        let mut w = ids.view();
        let a: SocketAddr = "192.0.2.1:6881".parse().unwrap();
        let b: SocketAddr = "192.0.2.1:6882".parse().unwrap();
        let id = w.issue(a);
        assert!(w.accepts(a, id));
        assert!(!w.accepts(b, id), "another port is another client");
        assert!(!w.accepts(a, id ^ 1));
        ids.rotate();
        assert!(w.accepts(a, id), "the previous minute's id");
        let mut other = ids.view();
        assert!(other.accepts(a, id), "every worker agrees");
        ids.rotate();
        assert!(!w.accepts(a, id), "expired after two rotations");
        assert!(!other.accepts(a, id));
    }
}
