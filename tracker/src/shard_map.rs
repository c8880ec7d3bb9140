//! The torrent map: shards of a hash table of 4-byte positions into a dense entry vector.
//!
//! Every torrent pays for its map slot, and most torrents have a handful of peers, so the
//! slot is a large part of the tracker's memory. A hash table that stores its entries in
//! place (`DashMap`'s shards) pays for a whole 64-byte entry in every bucket, full or
//! empty, and its buckets double: at 48% load, just after a doubling, an entry costs 135
//! bytes. Here a bucket holds only a position (4 bytes and a control byte) and the
//! entries sit side by side in a vector, so an entry costs its 64 bytes plus 5 to 11
//! bytes of table, whatever the load, and the entries grow a 2 KiB chunk at a time:
//! bytes per torrent stay flat as the map grows.
//!
//! A lookup reads the same cache lines as before: the control bytes, then the entry to
//! compare the key (the position is in the control group's cache line or the next).
//! Removal moves the last entry into the hole and repoints its position, so entries stay
//! dense and positions fit in `u32`.

use std::hash::{BuildHasher, Hash};
use std::ops::ControlFlow;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use hashbrown::HashTable;

use self::chunked::Chunked;

mod chunked;

type Hasher = hashbrown::DefaultHashBuilder;

/// A key and its value on a cache line of their own: a torrent's 20-byte key and 40-byte
/// swarm fill 64 bytes anyway, and aligned they never straddle two lines, so a lookup
/// reads the control bytes, the position and one line of entry.
#[repr(align(64))]
struct Entry<K, V>(K, V);

/// One shard: positions found by hash, entries dense in insertion order (until removals
/// move the last one into a hole).
pub struct Dense<K, V> {
    positions: HashTable<u32>,
    entries: Chunked<Entry<K, V>>,
}

impl<K, V> Default for Dense<K, V> {
    fn default() -> Self {
        Self {
            positions: HashTable::new(),
            entries: Chunked::default(),
        }
    }
}

impl<K: Hash + Eq, V> Dense<K, V> {
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn find(&self, hash: u64, key: &K) -> Option<usize> {
        let entries = &self.entries;
        self.positions
            .find(hash, |&p| entries[p as usize].0 == *key)
            .map(|&p| p as usize)
    }

    fn push(&mut self, hash: u64, key: K, value: V, hasher: &Hasher) -> usize {
        let pos = self.entries.len();
        // A shard holds one 64-byte entry per torrent: 2^32 of them would be 256 GiB,
        // far past what `max_torrents` and the machine allow.
        let p = u32::try_from(pos).expect("fewer than 2^32 entries in a shard");
        self.entries.push(Entry(key, value));
        let entries = &self.entries;
        self.positions
            .insert_unique(hash, p, |&q| hasher.hash_one(&entries[q as usize].0));
        pos
    }

    /// Removes the entry at `pos` (whose key hashes to `hash`), moving the last entry
    /// into its place.
    fn remove_at(&mut self, hash: u64, pos: usize, hasher: &Hasher) -> Entry<K, V> {
        if let Ok(e) = self.positions.find_entry(hash, |&p| p as usize == pos) {
            e.remove();
        }
        let last = self.entries.len() - 1;
        if pos != last {
            let h = hasher.hash_one(&self.entries[last].0);
            if let Some(p) = self.positions.find_mut(h, |&p| p as usize == last) {
                *p = pos as u32;
            }
        }
        self.entries.swap_remove(pos)
    }

    /// Gives the table's memory back once it is under a quarter full (after a flood of
    /// one-off hashes has expired, say); chunks of entries go as they empty.
    fn shrink(&mut self, hasher: &Hasher) {
        let len = self.entries.len();
        self.entries.shrink();
        if self.positions.capacity() > 4 * len.max(8) {
            let entries = &self.entries;
            self.positions
                .shrink_to(2 * len, |&q| hasher.hash_one(&entries[q as usize].0));
        }
    }

    /// Bytes of heap this shard holds: its table's buckets and control bytes, and its
    /// entry vector's capacity.
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        let buckets = if self.positions.capacity() == 0 {
            0
        } else {
            // Buckets are a power of two with at most 7/8 of them full.
            (self.positions.capacity() * 8 / 7).next_power_of_two()
        };
        buckets * (std::mem::size_of::<u32>() + 1) + self.entries.heap_bytes()
    }
}

/// One shard locked for writing, with the key's hash worked out once.
pub struct ShardMut<'a, K, V> {
    shard: RwLockWriteGuard<'a, Dense<K, V>>,
    hasher: &'a Hasher,
    hash: u64,
    key: K,
}

impl<K: Hash + Eq + Copy, V> ShardMut<'_, K, V> {
    /// The key's value, if it has an entry.
    pub fn get_mut(&mut self) -> Option<&mut V> {
        let pos = self.shard.find(self.hash, &self.key)?;
        Some(&mut self.shard.entries[pos].1)
    }

    /// The key's value, made by `make` if it has no entry yet.
    pub fn get_or_insert_with(&mut self, make: impl FnOnce() -> V) -> &mut V {
        let pos = match self.shard.find(self.hash, &self.key) {
            Some(pos) => pos,
            None => self.shard.push(self.hash, self.key, make(), self.hasher),
        };
        &mut self.shard.entries[pos].1
    }

    /// Removes the key's entry if `remove` says yes to its value.
    pub fn remove_if(&mut self, remove: impl FnOnce(&mut V) -> bool) -> Option<V> {
        let pos = self.shard.find(self.hash, &self.key)?;
        if !remove(&mut self.shard.entries[pos].1) {
            return None;
        }
        Some(self.shard.remove_at(self.hash, pos, self.hasher).1)
    }
}

/// Entries a sweep looks at per hold of a shard's lock. A sweep runs under the idle
/// policy, and a request worker preempts it at once; a request that needs the shard it
/// holds then waits for the rest of the batch, so the batch bounds that wait: a few
/// microseconds for 64 small swarms, where a whole shard at 10 M peers is 0.8 ms.
const RETAIN_BATCH: usize = 64;

/// Keeps each shard on its own cache lines, so two cores working on neighbouring shards
/// do not bounce one line between them.
#[repr(align(128))]
struct Shard<K, V>(RwLock<Dense<K, V>>);

/// Shards of [`Dense`], each behind its own lock.
pub struct ShardMap<K, V> {
    shards: Box<[Shard<K, V>]>,
    hasher: Hasher,
    /// `64 - log2(shards)`: the hash's bits just below its top 7 pick the shard. The
    /// table takes its control tag from the top 7 and its bucket from the lowest bits,
    /// so neither is the same for every key of a shard.
    shift: u32,
}

impl<K: Hash + Eq + Copy, V> ShardMap<K, V> {
    /// A map of `shards` shards, rounded up to a power of two.
    pub fn new(shards: usize) -> Self {
        let n = shards.max(1).next_power_of_two();
        Self {
            shards: (0..n).map(|_| Shard(RwLock::default())).collect(),
            hasher: Hasher::default(),
            shift: 64 - n.trailing_zeros(),
        }
    }

    fn shard_of(&self, hash: u64) -> &RwLock<Dense<K, V>> {
        // `checked_shr`: one shard means a shift of 64, which `>>` would refuse.
        let i = (hash << 7).checked_shr(self.shift).unwrap_or(0) as usize;
        &self.shards[i].0
    }

    fn write(lock: &RwLock<Dense<K, V>>) -> RwLockWriteGuard<'_, Dense<K, V>> {
        // A panic under the lock leaves a consistent shard (every change to `Dense` is
        // complete before anything that could panic runs): keep serving it.
        lock.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(lock: &RwLock<Dense<K, V>>) -> RwLockReadGuard<'_, Dense<K, V>> {
        lock.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks `key`'s shard for writing.
    pub fn lock(&self, key: K) -> ShardMut<'_, K, V> {
        let hash = self.hasher.hash_one(key);
        ShardMut {
            shard: Self::write(self.shard_of(hash)),
            hasher: &self.hasher,
            hash,
            key,
        }
    }

    /// `f` of `key`'s value under a read lock.
    pub fn read_with<T>(&self, key: &K, f: impl FnOnce(&V) -> T) -> Option<T> {
        let hash = self.hasher.hash_one(key);
        let shard = Self::read(self.shard_of(hash));
        let pos = shard.find(hash, key)?;
        Some(f(&shard.entries[pos].1))
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.read_with(key, |_| ()).is_some()
    }

    pub fn remove(&self, key: K) -> Option<V> {
        self.lock(key).remove_if(|_| true)
    }

    /// Calls `f` with every entry, one shard read-locked at a time, until it breaks.
    pub fn scan(&self, mut f: impl FnMut(&K, &V) -> ControlFlow<()>) {
        for s in self.shards.iter() {
            for Entry(k, v) in Self::read(&s.0).entries.iter() {
                if f(k, v).is_break() {
                    return;
                }
            }
        }
    }

    /// Calls `each` with what `pick` takes from every entry, a shard at a time: `pick`
    /// runs under the shard's read lock, `each` after it is released, so `each` may be
    /// slow or call back into the map.
    pub fn for_each_picked<T>(
        &self,
        mut pick: impl FnMut(&K, &V) -> Option<T>,
        mut each: impl FnMut(T),
    ) {
        let mut picked = Vec::new();
        for s in self.shards.iter() {
            picked.extend(
                Self::read(&s.0)
                    .entries
                    .iter()
                    .filter_map(|Entry(k, v)| pick(k, v)),
            );
            picked.drain(..).for_each(&mut each);
        }
    }

    /// Keeps the entries `keep` says yes to, holding a shard's write lock for at most
    /// [`RETAIN_BATCH`] entries at a time. An entry present throughout is looked at at
    /// least once, and may be looked at twice (another thread's removal can move an
    /// entry already seen below the walk), so `keep` must give the same answer twice.
    pub fn retain(&self, keep: impl FnMut(&K, &mut V) -> bool) {
        self.retain_in_batches(RETAIN_BATCH, keep, |_| {});
    }

    /// [`Self::retain`], `batch` entries per lock hold, calling `between` with the
    /// shard's index each time the lock is let go mid-shard (tests change the map there).
    fn retain_in_batches(
        &self,
        batch: usize,
        mut keep: impl FnMut(&K, &mut V) -> bool,
        mut between: impl FnMut(usize),
    ) {
        let batch = batch.max(1);
        for (i, s) in self.shards.iter().enumerate() {
            // Walking down: what `remove_at` moves into `pos` was already looked at, and
            // so is anything another thread moves there while the lock is let go (only
            // the last entry moves, and the last is at or above `next`, or new).
            let mut next = usize::MAX;
            loop {
                let mut shard = Self::write(&s.0);
                let end = next.min(shard.entries.len());
                let start = end.saturating_sub(batch);
                for pos in (start..end).rev() {
                    let Entry(k, v) = &mut shard.entries[pos];
                    if !keep(k, v) {
                        let hash = self.hasher.hash_one(*k);
                        shard.remove_at(hash, pos, &self.hasher);
                    }
                }
                if start == 0 {
                    shard.shrink(&self.hasher);
                    break;
                }
                next = start;
                // Requests waiting for this shard go first.
                drop(shard);
                between(i);
            }
        }
    }

    /// Entries in all shards (each counted under its lock, so not a snapshot).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| Self::read(&s.0).len()).sum()
    }

    /// Heap bytes of all shards' tables and entry vectors.
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| Self::read(&s.0).heap_bytes())
            .sum()
    }
}

#[cfg(test)]
mod tests;
