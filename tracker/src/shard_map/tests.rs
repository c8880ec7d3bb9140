use std::collections::HashMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;

impl<K: Hash + Eq + Copy + std::fmt::Debug, V: PartialEq + std::fmt::Debug> ShardMap<K, V> {
    /// Every entry is found at its position, and the table holds nothing else.
    fn check(&self, model: &HashMap<K, V>) {
        let mut seen = 0;
        for s in self.shards.iter() {
            let shard = Self::read(&s.0);
            assert_eq!(shard.positions.len(), shard.entries.len());
            for (pos, Entry(k, _)) in shard.entries.iter().enumerate() {
                assert_eq!(shard.find(self.hasher.hash_one(k), k), Some(pos));
            }
            seen += shard.len();
        }
        assert_eq!(seen, model.len());
        for (k, v) in model {
            assert_eq!(
                self.read_with(k, |x| format!("{x:?}")),
                Some(format!("{v:?}"))
            );
        }
    }
}

/// Random inserts, updates, removals and sweeps agree with a plain `HashMap`, with one
/// shard (every key in one table) and with several.
#[test]
fn agrees_with_a_hash_map() {
    for shards in [1, 4] {
        let map = ShardMap::<u16, u32>::new(shards);
        let mut model = HashMap::new();
        let mut rng = SmallRng::seed_from_u64(7);
        for step in 0..20_000u32 {
            let k = rng.random_range(0..600u16);
            match rng.random_range(0..10) {
                0..=4 => {
                    *map.lock(k).get_or_insert_with(|| 0) += step;
                    *model.entry(k).or_insert(0) += step;
                }
                5 => {
                    assert_eq!(map.lock(k).get_mut().copied(), model.get(&k).copied());
                }
                6 | 7 => assert_eq!(map.remove(k), model.remove(&k)),
                8 => {
                    let odd = |v: &u32| v % 2 == 1;
                    let got = map.lock(k).remove_if(|v| odd(v));
                    let want = model.get(&k).copied().filter(odd);
                    if want.is_some() {
                        model.remove(&k);
                    }
                    assert_eq!(got, want);
                }
                _ if step % 500 == 9 => {
                    let cut = rng.random_range(0..600u16);
                    map.retain(|&k, v| {
                        *v += 1;
                        k < cut
                    });
                    model.retain(|&k, v| {
                        *v += 1;
                        k < cut
                    });
                }
                _ => assert_eq!(map.contains_key(&k), model.contains_key(&k)),
            }
            if step % 1000 == 0 {
                map.check(&model);
            }
        }
        map.check(&model);
        assert_eq!(map.len(), model.len());
        let mut scanned = 0;
        map.scan(|k, v| {
            assert_eq!(model.get(k), Some(v));
            scanned += 1;
            ControlFlow::Continue(())
        });
        assert_eq!(scanned, model.len());
    }
}

/// The scan stops where its callback says.
#[test]
fn a_scan_stops_on_break() {
    let map = ShardMap::<u32, ()>::new(8);
    for k in 0..100 {
        map.lock(k).get_or_insert_with(|| ());
    }
    let mut n = 0;
    map.scan(|_, _| {
        n += 1;
        if n == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!(n, 10);
}

/// The point of the map: bytes per entry stay within a narrow band at every size, where
/// a table of whole entries swings from 73 to 146 bytes as its buckets double.
#[test]
fn bytes_per_entry_stay_flat_as_the_map_grows() {
    type Entry = ([u8; 20], [u64; 5]);
    let map = ShardMap::<[u8; 20], [u64; 5]>::new(4);
    let entry = std::mem::size_of::<Entry>();
    let mut per_entry = Vec::new();
    for n in 1..=200_000u32 {
        let mut k = [0u8; 20];
        k[..4].copy_from_slice(&n.to_le_bytes());
        map.lock(k).get_or_insert_with(Default::default);
        if n % 1_000 == 0 && n >= 4_000 {
            per_entry.push(map.heap_bytes() as f64 / f64::from(n));
        }
    }
    let (lo, hi) = per_entry
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &b| (lo.min(b), hi.max(b)));
    assert!(lo >= entry as f64, "{lo}");
    // An eighth of slack in the vector, and a table between 7/16 and 7/8 full.
    let worst = entry as f64 * 1.125 + 5.0 * 16.0 / 7.0 + 1.0;
    assert!(hi <= worst, "{hi} > {worst}");
    assert!(hi / lo < 1.25, "{lo}..{hi}");
}

/// Memory comes back after most entries go (a flood of one-off hashes expiring).
#[test]
fn a_sweep_gives_memory_back() {
    let map = ShardMap::<u32, [u64; 4]>::new(2);
    for k in 0..50_000 {
        map.lock(k).get_or_insert_with(Default::default);
    }
    let full = map.heap_bytes();
    map.retain(|&k, _| k < 100);
    assert_eq!(map.len(), 100);
    assert!(
        map.heap_bytes() * 50 < full,
        "{} of {full}",
        map.heap_bytes()
    );
    let model: HashMap<u32, [u64; 4]> = (0..100).map(|k| (k, [0; 4])).collect();
    map.check(&model);
}

/// A sweep lets its shard's lock go between batches, and other threads insert and remove
/// meanwhile: every entry present throughout is still looked at (some twice, when a
/// removal moved them below the walk), and the map stays whole.
#[test]
fn a_batched_sweep_sees_every_entry_despite_changes_between_batches() {
    for shards in [1, 4] {
        let map = ShardMap::<u32, u32>::new(shards);
        for k in 0..3_000 {
            map.lock(k).get_or_insert_with(|| k);
        }
        let mut rng = SmallRng::seed_from_u64(3);
        let mut seen = HashMap::<u32, u32>::new();
        let mut removed = std::collections::HashSet::new();
        let mut fresh = 10_000u32;
        let mut pauses = 0;
        map.retain_in_batches(
            7,
            |&k, _| {
                *seen.entry(k).or_default() += 1;
                k % 3 != 0
            },
            |_| {
                pauses += 1;
                for _ in 0..3 {
                    let k = rng.random_range(0..3_000);
                    if map.remove(k).is_some() {
                        removed.insert(k);
                    }
                }
                map.lock(fresh).get_or_insert_with(|| 0);
                fresh += 1;
            },
        );
        assert!(pauses > 3_000 / 7 / 2, "{pauses} pauses");
        let mut model = HashMap::new();
        let twice = seen.values().filter(|&&n| n > 1).count();
        assert!(twice > 0, "no removal moved a seen entry below the walk");
        for k in 0..3_000 {
            if removed.contains(&k) {
                continue;
            }
            let n = seen.get(&k).copied().unwrap_or(0);
            assert!(n >= 1, "entry {k} was never looked at");
            if k % 3 != 0 {
                model.insert(k, k);
            }
        }
        for k in 10_000..fresh {
            if let Some(v) = map.read_with(&k, |v| *v) {
                model.insert(k, v);
            }
        }
        map.check(&model);
    }
}
