//! Places for connections that have not finished their handshake.
//!
//! At most `max_handshakes` wait at once, so openers that never speak cannot use up file
//! descriptors. When every place is taken, a new connection takes the place of the
//! oldest waiting one instead of being refused: a real peer sends its handshake within a
//! round trip (an encrypted one within two or three: the key exchange comes first), so a
//! flood would have to replace all the places within those round trips to keep it out,
//! where refusing at the cap let a few hundred silent sockets lock everyone out for the
//! whole `handshake_timeout`. Encrypted peers are the easier to push out; keep
//! `max_handshakes` well above the handshakes expected at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

pub struct Handshakes {
    max: usize,
    /// Waiting connections, oldest first.
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    next_id: u64,
    queue: VecDeque<(u64, CancellationToken)>,
}

/// One waiting connection's place, given back on drop.
pub struct HandshakePlace {
    id: u64,
    token: CancellationToken,
    owner: Arc<Handshakes>,
}

impl Handshakes {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            waiting: Mutex::new(Waiting::default()),
        })
    }

    /// A place for a new connection; when all are taken, the oldest waiting connection
    /// is told to go ([`HandshakePlace::evicted`]). Returns whether one was.
    pub fn take(self: &Arc<Self>) -> (HandshakePlace, bool) {
        let mut w = self.lock();
        let mut evicted = false;
        while w.queue.len() >= self.max.max(1) {
            if let Some((_, old)) = w.queue.pop_front() {
                old.cancel();
                evicted = true;
            }
        }
        let id = w.next_id;
        w.next_id += 1;
        let token = CancellationToken::new();
        w.queue.push_back((id, token.clone()));
        drop(w);
        let place = HandshakePlace {
            id,
            token,
            owner: self.clone(),
        };
        (place, evicted)
    }

    /// Connections waiting now.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().expect("handshakes lock")
    }
}

impl HandshakePlace {
    /// Completes when a newer connection took this place.
    pub fn evicted(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }
}

impl Drop for HandshakePlace {
    fn drop(&mut self) {
        if self.token.is_cancelled() {
            return; // already out of the queue
        }
        let mut w = self.owner.lock();
        if let Some(pos) = w.queue.iter().position(|(id, _)| *id == self.id) {
            w.queue.remove(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_waiting_connection_gives_way() {
        let h = Handshakes::new(2);
        let (a, ea) = h.take();
        let (b, _) = h.take();
        assert!(!ea);
        let (c, evicted) = h.take();
        assert!(evicted, "full: the oldest goes");
        assert!(a.token.is_cancelled());
        assert!(!b.token.is_cancelled() && !c.token.is_cancelled());
        assert_eq!(h.len(), 2);
        // A finished handshake gives its place back; an evicted one has none to give.
        drop(b);
        drop(a);
        assert_eq!(h.len(), 1);
        let (_d, evicted) = h.take();
        assert!(!evicted);
        drop(c);
        assert_eq!(h.len(), 1);
    }
}
