//! `k` distinct positions of `0..n` at random, in random order, with no allocation: the
//! reply's sampler when the range is at least [`SPARSE`] times the pick, which is every
//! reply from a large swarm.
//!
//! `rand::seq::index::sample` costs more there. Below 163 picks and above a few thousand
//! positions it tests each draw against the picks so far with a linear scan (Floyd's
//! algorithm, about k²/2 comparisons: 1 250 for a 50-peer reply). Here each position is
//! drawn uniformly and a duplicate is drawn again, its membership tested in a table on
//! the stack that is at most half full: every set of `k` positions is equally likely and
//! so is every order of it, as before, in O(k): a reply from a swarm of 50 000 took
//! 0.63-0.82x the time with it (BENCHMARKS, "The reply's sampler").

use rand::Rng;

/// Ranges at least this many times the pick use [`sparse`]. Below it rand shuffles an
/// array of the whole range in place, which is as fast up to about 2 000 positions for
/// a 51-peer pick (BENCHMARKS); here at most one draw in 32 is a duplicate.
pub const SPARSE: usize = 32;

/// Most positions [`sparse`] picks at once: its table holds twice that.
pub const MAX_PICK: usize = 256;

/// Whether [`sparse`] takes `k` of `n`.
pub fn fits(n: usize, k: usize) -> bool {
    k <= MAX_PICK && n / SPARSE >= k
}

/// Calls `touch` with `k` distinct positions of `0..n`, uniformly at random, in random
/// order, as each is drawn; then `each` with all of them in the same order. Requires
/// [`fits`]`(n, k)`. `touch` is for [`prefetch`]: by the time `each` reads the first,
/// the loads of all of them are under way.
pub fn sparse<R: Rng>(
    rng: &mut R,
    n: usize,
    k: usize,
    touch: impl FnMut(usize),
    each: impl FnMut(usize),
) {
    debug_assert!(fits(n, k));
    // A reply of the default 50 peers clears 768 bytes of stack, not 3 KiB.
    if k <= SMALL_PICK {
        draw::<R, SMALL_PICK, { 2 * SMALL_PICK }>(rng, n, k, touch, each);
    } else {
        draw::<R, MAX_PICK, { 2 * MAX_PICK }>(rng, n, k, touch, each);
    }
}

/// Picks of at most this many use the smaller table.
const SMALL_PICK: usize = 64;

/// [`sparse`] with room for `PICKS >= k` picks and a table of `CAP >= 2k` entries.
fn draw<R: Rng, const PICKS: usize, const CAP: usize>(
    rng: &mut R,
    n: usize,
    k: usize,
    mut touch: impl FnMut(usize),
    mut each: impl FnMut(usize),
) {
    let mut picks = [0u32; PICKS];
    // Open addressing, positions stored plus one (0 is empty), at most half full.
    let mut table = [0u32; CAP];
    let cap = (2 * k).next_power_of_two().max(2);
    let shift = u64::BITS - cap.trailing_zeros();
    let mut picked = 0;
    while picked < k {
        // Positions fit in u32 (a list's length is checked against it on insert), and a
        // u32 draw costs less than a usize one.
        let p = rng.random_range(0..n as u32);
        // Fibonacci hashing: consecutive positions land far apart.
        let mut slot = (u64::from(p).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize;
        loop {
            match table[slot] {
                0 => {
                    table[slot] = p + 1;
                    picks[picked] = p;
                    touch(p as usize);
                    picked += 1;
                    break;
                }
                v if v == p + 1 => break,
                _ => slot = (slot + 1) & (cap - 1),
            }
        }
    }
    for &p in &picks[..k] {
        each(p as usize);
    }
}

/// Asks the CPU to start loading `x`'s cache line. A large swarm's peers are far apart
/// in memory and far from the caches, and read one after another few of their misses
/// overlap: with every load started while the picks are drawn, a reply from a swarm of
/// 100 000 takes 0.4-0.6x the time (BENCHMARKS, "The reply's sampler").
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    // SAFETY: a prefetch is a hint: it never faults, reads nothing into the program and
    // changes no memory, whatever the address; this one is a live reference's anyway.
    // SSE is part of every x86_64 target.
    // (Miri runs the swarm tests; it has no use for the hint.)
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast::<i8>(),
        );
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    let _ = x;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn pick(rng: &mut SmallRng, n: usize, k: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut touched = Vec::new();
        sparse(rng, n, k, |p| touched.push(p), |p| out.push(p));
        assert_eq!(touched, out, "each in the order touched");
        out
    }

    #[test]
    fn picks_k_distinct_positions_in_range() {
        let mut rng = SmallRng::seed_from_u64(1);
        let cases = [
            (32, 1),
            (64, 2),
            (32 * 51, 51),
            (SPARSE * MAX_PICK, MAX_PICK),
            (1 << 20, 201),
        ];
        for (n, k) in cases {
            assert!(fits(n, k));
            let mut p = pick(&mut rng, n, k);
            assert_eq!(p.len(), k);
            assert!(p.iter().all(|&x| x < n));
            p.sort_unstable();
            p.dedup();
            assert_eq!(p.len(), k, "distinct");
        }
        assert!(pick(&mut rng, 100, 0).is_empty());
        assert!(fits(100, 3) && !fits(100, 4) && !fits(1 << 20, MAX_PICK + 1));
    }

    /// Every position is as likely to be picked, and to come first, as any other: the
    /// counts stay within five standard deviations of their expectation.
    #[test]
    fn every_position_and_order_is_equally_likely() {
        let (n, k, trials) = (320, 10, 40_000);
        let mut rng = SmallRng::seed_from_u64(2);
        let mut picked = vec![0u32; n];
        let mut first = vec![0u32; n];
        for _ in 0..trials {
            let p = pick(&mut rng, n, k);
            first[p[0]] += 1;
            for x in p {
                picked[x] += 1;
            }
        }
        let within = |counts: &[u32], prob: f64| {
            let mean = trials as f64 * prob;
            let sd = (mean * (1.0 - prob)).sqrt();
            counts
                .iter()
                .all(|&c| (f64::from(c) - mean).abs() < 5.0 * sd)
        };
        assert!(within(&picked, k as f64 / n as f64), "{picked:?}");
        assert!(within(&first, 1.0 / n as f64), "{first:?}");
    }
}
