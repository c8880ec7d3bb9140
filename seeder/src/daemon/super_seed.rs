//! BEP 16 super-seeding, for the first distribution of a release.
//!
//! A super-seeding origin claims to have nothing and then offers each peer a few pieces
//! with `have`, choosing the pieces the swarm has least of, counting both the peers that
//! have a piece and the offers of it not yet taken up. A peer may request only what it
//! was offered, so each piece tends to leave the origin once and the leechers trade the
//! rest among themselves. A peer gets a new offer when it announces one it was given,
//! as libtorrent does by default (its "strict" mode waits for a third peer instead, and
//! stalls a lone leecher).

use std::collections::HashMap;
use std::sync::Mutex;

use seedline_common::wire::Bitfield;

/// Pieces offered to one peer at once: two, as libtorrent does, so a peer finishing one
/// already has the next to request.
pub const OFFERS_PER_PEER: usize = 2;

/// One torrent's super-seeding state, shared by its connections.
pub struct SuperSeed {
    swarm: Mutex<Swarm>,
}

struct Swarm {
    /// Per piece: connected peers that have it, plus open offers of it.
    spread: Vec<u32>,
    peers: HashMap<u64, Peer>,
    /// xorshift64 state for tie-breaks, so equal pieces are not handed out in order.
    rng: u64,
}

struct Peer {
    has: Bitfield,
    /// Every piece ever offered to this peer: what it may request.
    told: Bitfield,
    /// Offers not yet taken up.
    open: Vec<u32>,
}

impl SuperSeed {
    pub fn new(pieces: u32) -> Self {
        Self {
            swarm: Mutex::new(Swarm {
                spread: vec![0; pieces as usize],
                peers: HashMap::new(),
                rng: u64::from(pieces) ^ 0x9E37_79B9_7F4A_7C15,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Swarm> {
        self.swarm.lock().expect("super-seed lock")
    }

    /// A new peer, assumed to have nothing until it says otherwise. Returns the pieces to
    /// offer it; `servable` says which pieces the origin may serve now.
    pub fn join(&self, id: u64, servable: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut s = self.lock();
        s.remove(id);
        let pieces = s.spread.len() as u32;
        s.peers.insert(
            id,
            Peer {
                has: Bitfield::new(pieces),
                told: Bitfield::new(pieces),
                open: Vec::new(),
            },
        );
        s.refill(id, &servable)
    }

    /// The peer sent its whole bitfield (or `have_all`/`have_none`): it replaces what was
    /// known. Returns new offers.
    pub fn bitfield(&self, id: u64, has: &Bitfield, servable: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut s = self.lock();
        let Swarm { spread, peers, .. } = &mut *s;
        let Some(p) = peers.get_mut(&id) else {
            return Vec::new();
        };
        // Repeats cost a comparison, not a pass over the pieces and a search.
        if p.has == *has {
            return Vec::new();
        }
        for (i, n) in spread.iter_mut().enumerate() {
            let i = i as u32;
            *n = *n - u32::from(p.has.has(i)) + u32::from(has.has(i));
        }
        p.has = has.clone();
        s.take_up(id);
        s.refill(id, &servable)
    }

    /// The peer announced piece `index`. Returns new offers: only when it took up one,
    /// so a flood of other `have`s costs no search of the pieces.
    pub fn have(&self, id: u64, index: u32, servable: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut s = self.lock();
        let Swarm { spread, peers, .. } = &mut *s;
        let Some(p) = peers.get_mut(&id) else {
            return Vec::new();
        };
        if index < p.has.len() && !p.has.has(index) {
            p.has.set(index);
            spread[index as usize] += 1;
        }
        if s.take_up(id) == 0 {
            return Vec::new();
        }
        s.refill(id, &servable)
    }

    /// Tops the peer's offers up, after more pieces became servable.
    pub fn refill(&self, id: u64, servable: impl Fn(u32) -> bool) -> Vec<u32> {
        self.lock().refill(id, &servable)
    }

    /// Closes the peer's open offers that it will not take up (all of them, or just
    /// `index`) and offers others: a peer that is not interested in what it was offered
    /// (it downloads only some files, say), or a piece that turned out bad, must not
    /// leave it waiting forever. Withdrawn pieces stay requestable.
    pub fn withdraw(
        &self,
        id: u64,
        index: Option<u32>,
        servable: impl Fn(u32) -> bool,
    ) -> Vec<u32> {
        let mut s = self.lock();
        let Swarm { spread, peers, .. } = &mut *s;
        let Some(p) = peers.get_mut(&id) else {
            return Vec::new();
        };
        let before = p.open.len();
        p.open.retain(|&i| {
            let keep = index.is_some_and(|x| x != i);
            if !keep {
                spread[i as usize] -= 1;
            }
            keep
        });
        if p.open.len() == before {
            return Vec::new();
        }
        s.refill(id, &servable)
    }

    /// Whether the peer was offered `index`, so may request it.
    pub fn offered(&self, id: u64, index: u32) -> bool {
        self.lock()
            .peers
            .get(&id)
            .is_some_and(|p| p.told.has(index))
    }

    pub fn leave(&self, id: u64) {
        self.lock().remove(id);
    }
}

impl Swarm {
    fn remove(&mut self, id: u64) {
        let Some(p) = self.peers.remove(&id) else {
            return;
        };
        for (i, n) in self.spread.iter_mut().enumerate() {
            *n -= u32::from(p.has.has(i as u32));
        }
        for i in p.open {
            self.spread[i as usize] -= 1;
        }
    }

    /// Closes the offers the peer now has (they count through `has` instead); returns
    /// how many.
    fn take_up(&mut self, id: u64) -> usize {
        let Swarm { spread, peers, .. } = self;
        let Some(p) = peers.get_mut(&id) else {
            return 0;
        };
        let before = p.open.len();
        p.open.retain(|&i| {
            let taken = p.has.has(i);
            if taken {
                spread[i as usize] -= 1;
            }
            !taken
        });
        before - p.open.len()
    }

    fn refill(&mut self, id: u64, servable: &dyn Fn(u32) -> bool) -> Vec<u32> {
        let mut new = Vec::new();
        loop {
            let open = self
                .peers
                .get(&id)
                .map_or(OFFERS_PER_PEER, |p| p.open.len());
            if open >= OFFERS_PER_PEER {
                break;
            }
            let Some(i) = self.rarest_for(id, servable) else {
                break;
            };
            self.spread[i as usize] += 1;
            let p = self.peers.get_mut(&id).expect("peer checked above");
            p.told.set(i);
            p.open.push(i);
            new.push(i);
        }
        new
    }

    /// The servable piece the peer lacks and was never offered with the least spread,
    /// ties broken at random.
    fn rarest_for(&mut self, id: u64, servable: &dyn Fn(u32) -> bool) -> Option<u32> {
        let n = self.spread.len() as u32;
        if n == 0 {
            return None;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let start = (self.rng % u64::from(n)) as u32;
        let p = self.peers.get(&id)?;
        let mut best: Option<(u32, u32)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            let spread = self.spread[i as usize];
            if best.is_some_and(|(_, b)| spread >= b)
                || p.has.has(i)
                || p.told.has(i)
                || !servable(i)
            {
                continue;
            }
            best = Some((i, spread));
            if spread == 0 {
                break;
            }
        }
        best.map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests;
