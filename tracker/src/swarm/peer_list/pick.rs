//! Which of a list's peers go into a reply: a random sample of a range of positions.

// `peer_list` is allowed `unsafe` for its slots; nothing here needs it.
#![deny(unsafe_code)]

use std::ops::Range;

use rand::Rng;

use super::{CompactAddr, Extra, PeerList};
use crate::swarm::sample;

impl<A: CompactAddr, X: Extra> PeerList<A, X> {
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
        let take = |j: usize| {
            let i = start + j;
            if Some(i) != excl && n < k {
                each(i);
                n += 1;
            }
        };
        if sample::fits(range, draw) {
            let peers = &self.peers()[start..];
            sample::sparse(rng, range, draw, |j| sample::prefetch(&peers[j]), take);
        } else {
            rand::seq::index::sample(rng, range, draw)
                .iter()
                .for_each(take);
        }
    }
}

/// `(start, len, exclude if inside)` of a sampling range.
fn sample_range(within: Range<usize>, exclude: Option<usize>) -> (usize, usize, Option<usize>) {
    let excl = exclude.filter(|i| within.contains(i));
    (within.start, within.len(), excl)
}
