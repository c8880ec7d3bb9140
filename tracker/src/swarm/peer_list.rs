//! The peers of one address family in one swarm.
//!
//! Peers sit in one vector ordered by role: origin seeders, then other seeders, then
//! leechers. A seeder's reply samples only the leecher range, a leecher's reply takes the
//! origin range first, and counts fall out of the split points. Lookup by address is a linear
//! scan while the list is small (most swarms have a handful of peers) and goes through a
//! position index once it grows, so memory per small swarm stays a few dozen bytes while
//! a swarm of 100 000 peers still updates in O(1).
//!
//! A stored IPv4 peer is 8 bytes (compact address and a 2-byte timestamp: `swarm::seen`);
//! peer ids, needed only for non-compact replies, live in a parallel vector that stays
//! empty unless the tracker is told to keep them.
//!
//! The list itself is 40 bytes, because every torrent pays for one in its map slot: the
//! peers are [`Slots`], two IPv4 peers in place or a boxed slice whose length is the
//! capacity (16 bytes, not a vector's 24), and the parts most swarms never need (ids,
//! the position index, and what the owner puts there: a swarm's IPv6 peers) share one
//! box.

mod pick;

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::net::SocketAddr;

use hashbrown::HashTable;
use seedline_common::peer::{from_compact_v4, from_compact_v6};
use seedline_common::PeerId;

use super::seen::{tick, Expiry};
use super::slots::Slots;

/// A peer address in its compact wire form (6 or 18 bytes), copied into replies as is.
pub trait CompactAddr: Copy + Default + Eq + Hash + AsRef<[u8]> {
    /// The peers a list keeps in place, in at most 16 bytes (`swarm::slots`).
    type Inline: Copy + Default + AsRef<[Peer<Self>]> + AsMut<[Peer<Self>]>;

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
    type Inline = [Peer<Self>; 2];

    fn holder(&self) -> u64 {
        V4_HOLDER | u64::from(u32::from_be_bytes([self[0], self[1], self[2], self[3]]))
    }

    fn socket_addr(&self) -> SocketAddr {
        from_compact_v4(self)
    }
}

impl CompactAddr for [u8; 18] {
    /// A 20-byte peer does not fit in 16.
    type Inline = [Peer<Self>; 0];

    fn holder(&self) -> u64 {
        u64::from_be_bytes(self[..8].try_into().expect("8 bytes"))
    }

    fn socket_addr(&self) -> SocketAddr {
        from_compact_v6(self)
    }
}

/// One stored peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Peer<A> {
    pub addr: A,
    /// Ticks on the tracker's clock (`SEEN_TICK`), as bytes so the struct has no
    /// padding.
    seen: [u8; 2],
}

impl<A> Peer<A> {
    pub fn new(addr: A, now: u32) -> Self {
        Self {
            addr,
            seen: tick(now),
        }
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

/// What an owner keeps in a list's rarely used box, beside the list's own rare parts.
pub trait Extra: Default {
    /// Nothing worth keeping: the box may go once the list's own parts are gone too.
    fn is_unused(&self) -> bool;
}

impl Extra for () {
    fn is_unused(&self) -> bool {
        true
    }
}

/// The parts of a list that most swarms never need, in one box.
#[derive(Debug, Default)]
struct Rare<X> {
    /// None, or one id for each stored peer, at the same position.
    ids: Option<Vec<PeerId>>,
    index: Option<Index>,
    more: X,
}

impl<X: Extra> Rare<X> {
    fn is_unused(&self) -> bool {
        self.ids.is_none() && self.index.is_none() && self.more.is_unused()
    }
}

/// Peers of one family: origins in `peers()[..origins]`, seeders (origins included) in
/// `peers()[..seeders]`. A swarm's size is paid once per torrent, and most torrents have
/// a handful of peers: see the module's note on its 40 bytes.
pub struct PeerList<A: CompactAddr, X = ()> {
    /// `len` peers, in place or boxed by `len` (the `unsafe` calls' contract).
    slots: Slots<A>,
    len: u32,
    seeders: u32,
    /// Fits in the padding after `seeders`: roles cost no memory.
    origins: u32,
    /// A count the owner keeps (a swarm: its completed downloads), in what would
    /// otherwise be padding.
    pub tally: u32,
    rare: Option<Box<Rare<X>>>,
}

impl<A: CompactAddr, X> Default for PeerList<A, X> {
    fn default() -> Self {
        Self {
            slots: Slots::default(),
            len: 0,
            seeders: 0,
            origins: 0,
            tally: 0,
            rare: None,
        }
    }
}

impl<A: CompactAddr, X: Extra> PeerList<A, X> {
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn peers(&self) -> &[Peer<A>] {
        // SAFETY: `len` counts the peers `slots` holds; only `insert` and `remove` change
        // either, and always both.
        unsafe { self.slots.peers(self.len()) }
    }

    fn peers_mut(&mut self) -> &mut [Peer<A>] {
        // SAFETY: as in `peers`.
        unsafe { self.slots.peers_mut(self.len()) }
    }

    fn ids(&self) -> Option<&Vec<PeerId>> {
        self.rare.as_ref()?.ids.as_ref()
    }

    fn index(&self) -> Option<&Index> {
        self.rare.as_ref()?.index.as_ref()
    }

    /// The owner's part of the rare box, if the box exists.
    pub fn more(&self) -> Option<&X> {
        self.rare.as_ref().map(|r| &r.more)
    }

    /// The owner's part of the rare box, made if needed; call [`Self::tidy`] after.
    pub fn more_mut(&mut self) -> &mut X {
        &mut self.rare_mut().more
    }

    fn rare_mut(&mut self) -> &mut Rare<X> {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Drops the rare box once nothing in it is in use.
    pub fn tidy(&mut self) {
        if self.rare.as_ref().is_some_and(|r| r.is_unused()) {
            self.rare = None;
        }
    }

    pub fn seeders(&self) -> usize {
        self.seeders as usize
    }

    pub fn leechers(&self) -> usize {
        self.len() - self.seeders()
    }

    pub fn origins(&self) -> usize {
        self.origins as usize
    }

    pub fn get(&self, i: usize) -> &Peer<A> {
        &self.peers()[i]
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
        let peers = self.peers();
        match self.index() {
            Some(ix) => ix
                .table
                .find(ix.hasher.hash_one(addr), |&p| {
                    peers[p as usize].addr == *addr
                })
                .map(|&p| p as usize),
            None => peers.iter().position(|p| p.addr == *addr),
        }
    }

    /// Whether at least `n` stored peers share `addr`'s holder (IPv4 address, IPv6 /64).
    pub fn holder_has(&self, addr: &A, n: usize) -> bool {
        if n > self.len() {
            // Also the cap switched off (`usize::MAX`): no scan at all.
            return false;
        }
        let holder = addr.holder();
        match self.index() {
            Some(ix) => ix.per_holder.get(&holder).copied().unwrap_or(0) as usize >= n,
            None => {
                n == 0
                    || self
                        .peers()
                        .iter()
                        .filter(|p| p.addr.holder() == holder)
                        .nth(n - 1)
                        .is_some()
            }
        }
    }

    /// The id of the peer at `i`, if ids are kept.
    pub fn peer_id(&self, i: usize) -> Option<&PeerId> {
        self.ids()?.get(i)
    }

    /// Adds a peer not yet in the list, with its id if ids are kept; returns its position.
    pub fn insert(&mut self, peer: Peer<A>, id: Option<PeerId>, role: Role) -> usize {
        let pos = self.len();
        // Checked before anything changes: the slots and `len` must never disagree. (A
        // list of 2^32 peers would be 32 GiB; `max_peers` stops far below.)
        let len = u32::try_from(pos + 1).expect("fewer than 2^32 peers in a list");
        // SAFETY: as in `peers`; the length follows at once.
        unsafe { self.slots.push(pos, peer) };
        self.len = len;
        match (id, self.rare.as_mut().and_then(|r| r.ids.as_mut())) {
            (Some(id), Some(ids)) if ids.len() == pos => {
                grow(ids);
                ids.push(id);
            }
            (Some(id), None) if pos == 0 => self.rare_mut().ids = Some(vec![id]),
            // Ids are all or nothing, so positions always line up.
            _ => {
                if let Some(r) = &mut self.rare {
                    r.ids = None;
                }
                self.tidy();
            }
        }
        let len = self.len();
        // SAFETY: as in `peers` (a copy of it that leaves `rare` free to borrow).
        let slots = unsafe { self.slots.peers(len) };
        match self.rare.as_mut().and_then(|r| r.index.as_mut()) {
            Some(ix) => {
                let h = ix.hasher.hash_one(peer.addr);
                let hasher = &ix.hasher;
                ix.table
                    .insert_unique(h, pos as u32, |&p| hasher.hash_one(slots[p as usize].addr));
                ix.count(peer.addr.holder(), 1);
            }
            None if len > INDEX_ABOVE => self.build_index(),
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
        let last = self.len() - 1;
        self.swap(i, last);
        // SAFETY: as in `peers`; the length follows at once.
        let peer = unsafe { self.slots.pop(last + 1) };
        self.len -= 1;
        let len = self.len();
        if let Some(r) = &mut self.rare {
            if let Some(ids) = &mut r.ids {
                ids.pop();
                if ids.is_empty() {
                    r.ids = None;
                } else if ids.capacity() > 2 * len.max(4) {
                    ids.shrink_to(len + len / 4);
                }
            }
            if let Some(ix) = &mut r.index {
                let h = ix.hasher.hash_one(peer.addr);
                if let Ok(e) = ix.table.find_entry(h, |&p| p as usize == last) {
                    e.remove();
                }
                ix.count(peer.addr.holder(), -1);
                if len < INDEX_ABOVE / 2 {
                    r.index = None;
                }
            }
            self.tidy();
        }
        peer
    }

    pub fn touch(&mut self, i: usize, id: Option<PeerId>, now: u32) {
        self.peers_mut()[i].seen = tick(now);
        let ids = self.rare.as_mut().and_then(|r| r.ids.as_mut());
        if let (Some(id), Some(slot)) = (id, ids.and_then(|v| v.get_mut(i))) {
            *slot = id;
        }
    }

    /// Removes every peer `expiry` names, calling `removed` with each one's holder;
    /// returns (seeders, leechers) removed.
    pub fn expire(&mut self, expiry: Expiry, mut removed: impl FnMut(u64)) -> (usize, usize) {
        let (mut s, mut l) = (0, 0);
        // Walking down means whatever `remove` swaps into `i` was already checked.
        for i in (0..self.len()).rev() {
            if expiry.removes(self.peers()[i].seen) {
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

    fn swap(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let len = self.len();
        // SAFETY: as in `peers` (a copy of it that leaves `rare` free to borrow).
        let slots = unsafe { self.slots.peers_mut(len) };
        if let Some(r) = &mut self.rare {
            if let Some(ix) = &mut r.index {
                // Entries are found by position; a parked sentinel keeps the two updates
                // from matching each other's freshly written slot.
                let ha = ix.hasher.hash_one(slots[i].addr);
                let hb = ix.hasher.hash_one(slots[j].addr);
                retarget(&mut ix.table, ha, i as u32, u32::MAX);
                retarget(&mut ix.table, hb, j as u32, i as u32);
                retarget(&mut ix.table, ha, u32::MAX, j as u32);
            }
            if let Some(ids) = &mut r.ids {
                ids.swap(i, j);
            }
        }
        slots.swap(i, j);
    }

    fn build_index(&mut self) {
        let hasher = Hasher::default();
        let peers = self.peers();
        let mut table = HashTable::with_capacity(peers.len() * 2);
        let mut per_holder = hashbrown::HashMap::new();
        for (pos, p) in peers.iter().enumerate() {
            table.insert_unique(hasher.hash_one(p.addr), pos as u32, |&q| {
                hasher.hash_one(peers[q as usize].addr)
            });
            *per_holder.entry(p.addr.holder()).or_insert(0) += 1;
        }
        self.rare_mut().index = Some(Index {
            table,
            hasher,
            per_holder,
        });
    }

    /// Room for peers before the next insert allocates.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        // SAFETY: as in `peers`.
        unsafe { self.slots.capacity(self.len()) }
    }

    /// Panics unless counts, positions, the index and the ids agree (tests and the
    /// `swarm_ops` fuzz target).
    pub(crate) fn check_invariants(&self) {
        assert!(self.origins() <= self.seeders());
        assert!(self.seeders() <= self.len());
        // SAFETY: as in `peers`.
        assert!(self.len() <= unsafe { self.slots.capacity(self.len()) });
        if let Some(ix) = self.index() {
            assert_eq!(ix.table.len(), self.len());
            let mut counted = hashbrown::HashMap::new();
            for p in self.peers() {
                *counted.entry(p.addr.holder()).or_insert(0u32) += 1;
            }
            assert_eq!(ix.per_holder, counted);
        }
        assert!(self.ids().is_none_or(|v| v.len() == self.len()));
        assert!(self.rare.as_ref().is_none_or(|r| !r.is_unused()));
        for (i, p) in self.peers().iter().enumerate() {
            assert_eq!(self.find(&p.addr), Some(i));
        }
    }
}

impl<A: CompactAddr, X> Drop for PeerList<A, X> {
    fn drop(&mut self) {
        // SAFETY: `len` counts the peers held (see `peers`); this is the last use.
        unsafe { self.slots.free(self.len as usize) };
    }
}

impl<A: CompactAddr + fmt::Debug, X: Extra + fmt::Debug> fmt::Debug for PeerList<A, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerList")
            .field("peers", &self.peers())
            .field("seeders", &self.seeders)
            .field("origins", &self.origins)
            .field("tally", &self.tally)
            .field("rare", &self.rare)
            .finish()
    }
}

/// Grows by a quarter rather than doubling: most swarms are small and long-lived, and
/// doubling would leave a third of peer memory unused on average.
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(1));
    }
}
