//! The peers of one address family in one swarm.
//!
//! Peers sit in one vector ordered by role: origin seeders, then other seeders, then
//! leechers. A seeder's reply samples only the leecher range, a leecher's reply takes the
//! origin range first, and counts fall out of the split points. Lookup by address is a linear
//! scan while the list is small (most swarms have a handful of peers) and goes through a
//! position index once it grows, so memory per small swarm stays a few dozen bytes while
//! a swarm of 100 000 peers still updates in O(1).
//!
//! A stored IPv4 peer is 10 bytes (compact address and a 4-byte timestamp, no padding);
//! peer ids, needed only for non-compact replies, live in a parallel vector that stays
//! empty unless the tracker is told to keep them.

use std::hash::{BuildHasher, Hash};
use std::net::SocketAddr;
use std::ops::Range;

use hashbrown::HashTable;
use rand::Rng;
use seedline_common::peer::{from_compact_v4, from_compact_v6};
use seedline_common::PeerId;

/// A peer address in its compact wire form (6 or 18 bytes), copied into replies as is.
pub trait CompactAddr: Copy + Eq + Hash + AsRef<[u8]> {
    /// Who controls the address, for per-address caps: the IPv4 address, or the IPv6
    /// /64 (one subscriber's whole prefix, which it can rotate through at will). Unique
    /// across both families, so one table can count them all.
    fn holder(&self) -> u64;
    /// The address as a socket address.
    fn socket_addr(&self) -> SocketAddr;
}

/// IPv4 holders sit in `ffff:ffff::/32`, inside multicast (`ff00::/8`): no peer's
/// unicast /64 can share a holder with an IPv4 address.
const V4_HOLDER: u64 = 0xffff_ffff_0000_0000;

impl CompactAddr for [u8; 6] {
    fn holder(&self) -> u64 {
        V4_HOLDER | u64::from(u32::from_be_bytes([self[0], self[1], self[2], self[3]]))
    }

    fn socket_addr(&self) -> SocketAddr {
        from_compact_v4(self)
    }
}

impl CompactAddr for [u8; 18] {
    fn holder(&self) -> u64 {
        u64::from_be_bytes(self[..8].try_into().expect("8 bytes"))
    }

    fn socket_addr(&self) -> SocketAddr {
        from_compact_v6(self)
    }
}

/// One stored peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer<A> {
    pub addr: A,
    /// Seconds on the tracker's clock, as bytes so the struct has no padding.
    seen: [u8; 4],
}

impl<A> Peer<A> {
    pub fn new(addr: A, now: u32) -> Self {
        Self {
            addr,
            seen: now.to_ne_bytes(),
        }
    }

    pub fn last_seen(&self) -> u32 {
        u32::from_ne_bytes(self.seen)
    }
}

/// Above this many peers a list keeps a position index. Below it a lookup scans at most
/// 2.5 KiB of addresses, which measured as fast as the index up to a few hundred peers
/// (`reannounce_200_torrents_x500` in `benches/announce.rs`); raising it from 32 to 256
/// saved 1.4 bytes per peer of 31 at 1 M peers (Zipf over 100 000 torrents), with no
/// change in CPU per announce under load.
pub(crate) const INDEX_ABOVE: usize = 256;

type Hasher = hashbrown::DefaultHashBuilder;

fn retarget(table: &mut HashTable<u32>, hash: u64, from: u32, to: u32) {
    if let Some(slot) = table.find_mut(hash, |&p| p == from) {
        *slot = to;
    }
}

#[derive(Debug)]
struct Index {
    table: HashTable<u32>,
    hasher: Hasher,
    /// Peers per [`CompactAddr::holder`], so the per-address cap costs O(1) in a big
    /// swarm; small swarms count by the same scan that finds a peer.
    per_holder: hashbrown::HashMap<u64, u32>,
}

impl Index {
    fn count(&mut self, holder: u64, delta: i32) {
        let n = self.per_holder.entry(holder).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            self.per_holder.remove(&holder);
        }
    }
}

/// What a stored peer is to the swarm; the order is the order of the ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Leecher,
    Seeder,
    /// A seeder that is one of the content provider's origins: handed to every leecher.
    Origin,
}

/// Peers of one family: origins in `peers[..origins]`, seeders (origins included) in
/// `peers[..seeders]`. Rarely needed parts are boxed: a
/// swarm's size is paid once per torrent, and most torrents have a handful of peers.
#[derive(Debug)]
pub struct PeerList<A> {
    peers: Vec<Peer<A>>,
    /// None, or one id for each entry of `peers`, at the same position. Boxed so an
    /// unused one costs 8 bytes per swarm instead of a 24-byte empty vector.
    #[allow(clippy::box_collection)]
    ids: Option<Box<Vec<PeerId>>>,
    seeders: u32,
    /// Fits in the padding after `seeders`: roles cost no memory.
    origins: u32,
    index: Option<Box<Index>>,
}

impl<A> PeerList<A> {
    pub const EMPTY: Self = Self {
        peers: Vec::new(),
        ids: None,
        seeders: 0,
        origins: 0,
        index: None,
    };
}

impl<A> Default for PeerList<A> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<A: CompactAddr> PeerList<A> {
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    pub fn seeders(&self) -> usize {
        self.seeders as usize
    }

    pub fn leechers(&self) -> usize {
        self.peers.len() - self.seeders()
    }

    pub fn origins(&self) -> usize {
        self.origins as usize
    }

    pub fn get(&self, i: usize) -> &Peer<A> {
        &self.peers[i]
    }

    pub fn is_seeder_at(&self, i: usize) -> bool {
        i < self.seeders()
    }

    pub fn role_at(&self, i: usize) -> Role {
        if i < self.origins() {
            Role::Origin
        } else if i < self.seeders() {
            Role::Seeder
        } else {
            Role::Leecher
        }
    }

    /// Position of the peer with this address.
    pub fn find(&self, addr: &A) -> Option<usize> {
        match &self.index {
            Some(ix) => ix
                .table
                .find(ix.hasher.hash_one(addr), |&p| {
                    self.peers[p as usize].addr == *addr
                })
                .map(|&p| p as usize),
            None => self.peers.iter().position(|p| p.addr == *addr),
        }
    }

    /// Whether at least `n` stored peers share `addr`'s holder (IPv4 address, IPv6 /64).
    pub fn holder_has(&self, addr: &A, n: usize) -> bool {
        if n > self.peers.len() {
            // Also the cap switched off (`usize::MAX`): no scan at all.
            return false;
        }
        let holder = addr.holder();
        match &self.index {
            Some(ix) => ix.per_holder.get(&holder).copied().unwrap_or(0) as usize >= n,
            None => {
                n == 0
                    || self
                        .peers
                        .iter()
                        .filter(|p| p.addr.holder() == holder)
                        .nth(n - 1)
                        .is_some()
            }
        }
    }

    /// The id of the peer at `i`, if ids are kept.
    pub fn peer_id(&self, i: usize) -> Option<&PeerId> {
        self.ids.as_ref()?.get(i)
    }

    /// Adds a peer not yet in the list, with its id if ids are kept; returns its position.
    pub fn insert(&mut self, peer: Peer<A>, id: Option<PeerId>, role: Role) -> usize {
        let pos = self.peers.len();
        grow(&mut self.peers);
        self.peers.push(peer);
        match (id, &mut self.ids) {
            (Some(id), Some(ids)) if ids.len() == pos => {
                grow(ids);
                ids.push(id);
            }
            (Some(id), None) if pos == 0 => self.ids = Some(Box::new(vec![id])),
            // Ids are all or nothing, so positions always line up.
            _ => self.ids = None,
        }
        match &mut self.index {
            Some(ix) => {
                let h = ix.hasher.hash_one(peer.addr);
                let peers = &self.peers;
                let hasher = &ix.hasher;
                ix.table
                    .insert_unique(h, pos as u32, |&p| hasher.hash_one(peers[p as usize].addr));
                ix.count(peer.addr.holder(), 1);
            }
            None if self.peers.len() > INDEX_ABOVE => self.build_index(),
            None => {}
        }
        self.set_role(pos, role)
    }

    /// Moves the peer at `i` into the range of `role` one boundary at a time; returns
    /// its new position.
    pub fn set_role(&mut self, mut i: usize, role: Role) -> usize {
        let mut cur = self.role_at(i);
        if cur == Role::Origin && role < Role::Origin {
            let last = self.origins() - 1;
            self.swap(i, last);
            self.origins -= 1;
            (i, cur) = (last, Role::Seeder);
        }
        if cur == Role::Seeder && role == Role::Leecher {
            let last = self.seeders() - 1;
            self.swap(i, last);
            self.seeders -= 1;
            i = last;
        }
        if cur == Role::Leecher && role > Role::Leecher {
            let to = self.seeders();
            self.swap(i, to);
            self.seeders += 1;
            (i, cur) = (to, Role::Seeder);
        }
        if cur == Role::Seeder && role == Role::Origin {
            let to = self.origins();
            self.swap(i, to);
            self.origins += 1;
            i = to;
        }
        i
    }

    /// Removes the peer at `i`.
    pub fn remove(&mut self, mut i: usize) -> Peer<A> {
        if self.is_seeder_at(i) {
            i = self.set_role(i, Role::Leecher);
        }
        let last = self.peers.len() - 1;
        self.swap(i, last);
        let peer = self.peers.pop().expect("non-empty");
        if let Some(ids) = &mut self.ids {
            ids.pop();
            if ids.is_empty() {
                self.ids = None;
            }
        }
        if let Some(ix) = &mut self.index {
            let h = ix.hasher.hash_one(peer.addr);
            if let Ok(e) = ix.table.find_entry(h, |&p| p as usize == last) {
                e.remove();
            }
            ix.count(peer.addr.holder(), -1);
            if self.peers.len() < INDEX_ABOVE / 2 {
                self.index = None;
            }
        }
        if self.peers.capacity() > 2 * self.peers.len().max(4) {
            self.peers
                .shrink_to(self.peers.len() + self.peers.len() / 4);
            if let Some(ids) = &mut self.ids {
                ids.shrink_to(ids.len() + ids.len() / 4);
            }
        }
        peer
    }

    pub fn touch(&mut self, i: usize, id: Option<PeerId>, now: u32) {
        self.peers[i].seen = now.to_ne_bytes();
        if let (Some(id), Some(slot)) = (id, self.ids.as_mut().and_then(|v| v.get_mut(i))) {
            *slot = id;
        }
    }

    /// Removes every peer last seen before `cutoff`, calling `removed` with each one's
    /// holder; returns (seeders, leechers) removed.
    pub fn expire(&mut self, cutoff: u32, mut removed: impl FnMut(u64)) -> (usize, usize) {
        let (mut s, mut l) = (0, 0);
        // Walking down means whatever `remove` swaps into `i` was already checked.
        for i in (0..self.peers.len()).rev() {
            if self.peers[i].last_seen() < cutoff {
                if self.is_seeder_at(i) {
                    s += 1;
                } else {
                    l += 1;
                }
                removed(self.remove(i).addr.holder());
            }
        }
        (s, l)
    }

    /// How many peers [`Self::sample`] yields for these arguments.
    pub fn sample_len(&self, within: Range<usize>, exclude: Option<usize>, want: usize) -> usize {
        let (_, range, excl) = sample_range(within, exclude);
        want.min(range - usize::from(excl.is_some()))
    }

    /// Calls `each` with the positions of `want` peers of `within` picked at random
    /// (fewer if there are not that many), never `exclude`.
    pub fn sample<R: Rng>(
        &self,
        within: Range<usize>,
        exclude: Option<usize>,
        want: usize,
        rng: &mut R,
        mut each: impl FnMut(usize),
    ) {
        let (start, range, excl) = sample_range(within, exclude);
        let avail = range - usize::from(excl.is_some());
        let k = want.min(avail);
        if k == 0 {
            return;
        }
        if k == avail {
            // Everyone goes out; a random rotation keeps the order from being a fixed one.
            let off = rng.random_range(0..range);
            for j in 0..range {
                let i = start + (off + j) % range;
                if Some(i) != excl {
                    each(i);
                }
            }
            return;
        }
        let draw = (k + usize::from(excl.is_some())).min(range);
        let mut n = 0;
        for j in rand::seq::index::sample(rng, range, draw).iter() {
            let i = start + j;
            if Some(i) == excl {
                continue;
            }
            if n == k {
                break;
            }
            each(i);
            n += 1;
        }
    }

    fn swap(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        if let Some(ix) = &mut self.index {
            // Entries are found by position; a parked sentinel keeps the two updates from
            // matching each other's freshly written slot.
            let ha = ix.hasher.hash_one(self.peers[i].addr);
            let hb = ix.hasher.hash_one(self.peers[j].addr);
            retarget(&mut ix.table, ha, i as u32, u32::MAX);
            retarget(&mut ix.table, hb, j as u32, i as u32);
            retarget(&mut ix.table, ha, u32::MAX, j as u32);
        }
        self.peers.swap(i, j);
        if let Some(ids) = &mut self.ids {
            ids.swap(i, j);
        }
    }

    fn build_index(&mut self) {
        let hasher = Hasher::default();
        let mut table = HashTable::with_capacity(self.peers.len() * 2);
        let mut per_holder = hashbrown::HashMap::new();
        for (pos, p) in self.peers.iter().enumerate() {
            let peers = &self.peers;
            table.insert_unique(hasher.hash_one(p.addr), pos as u32, |&q| {
                hasher.hash_one(peers[q as usize].addr)
            });
            *per_holder.entry(p.addr.holder()).or_insert(0) += 1;
        }
        self.index = Some(Box::new(Index {
            table,
            hasher,
            per_holder,
        }));
    }

    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert!(self.origins() <= self.seeders());
        assert!(self.seeders() <= self.peers.len());
        if let Some(ix) = &self.index {
            assert_eq!(ix.table.len(), self.peers.len());
            let mut counted = hashbrown::HashMap::new();
            for p in &self.peers {
                *counted.entry(p.addr.holder()).or_insert(0u32) += 1;
            }
            assert_eq!(ix.per_holder, counted);
        }
        assert!(self
            .ids
            .as_ref()
            .is_none_or(|v| v.len() == self.peers.len()));
        for (i, p) in self.peers.iter().enumerate() {
            assert_eq!(self.find(&p.addr), Some(i));
        }
    }
}

/// `(start, len, exclude if inside)` of a sampling range.
fn sample_range(within: Range<usize>, exclude: Option<usize>) -> (usize, usize, Option<usize>) {
    let excl = exclude.filter(|i| within.contains(i));
    (within.start, within.len(), excl)
}

/// Grows by a quarter rather than doubling: most swarms are small and long-lived, and
/// doubling would leave a third of peer memory unused on average.
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(1));
    }
}
