//! Stored peers per address across all swarms, for `max_peers_per_address_total`.
//!
//! The per-swarm cap stops one host from filling a swarm; this one stops it from
//! spreading its ports over many swarms (every torrent it can name, or random hashes)
//! and taking the tracker's whole `max_peers` budget from one address. An address is a
//! [`CompactAddr::holder`](crate::swarm::CompactAddr::holder): an IPv4 address or an
//! IPv6 /64.
//!
//! Swarms call [`Holders::admit`] under their shard guard just before they store a new
//! peer, and [`Holders::release`] for every peer they drop, so the count is exact. Lock
//! order is always swarm shard, then holder shard; nothing takes a swarm shard while
//! holding a holder shard.

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use prometheus::IntGauge;

/// Who keeps count of stored peers per address.
pub trait Holders {
    /// Counts one more stored peer for `holder`, or returns `false` (and counts
    /// nothing) when the peer is `capped` and the address is at its cap. Origins are
    /// admitted uncapped but counted, so that their release balances.
    fn admit(&self, holder: u64, capped: bool) -> bool;
    /// One stored peer of `holder` was removed.
    fn release(&self, holder: u64);
}

/// No count and no cap: a swarm on its own (unit tests, benchmarks, a cap switched off).
impl Holders for () {
    fn admit(&self, _: u64, _: bool) -> bool {
        true
    }
    fn release(&self, _: u64) {}
}

impl<H: Holders> Holders for Option<H> {
    fn admit(&self, holder: u64, capped: bool) -> bool {
        self.as_ref().is_none_or(|h| h.admit(holder, capped))
    }
    fn release(&self, holder: u64) {
        if let Some(h) = self {
            h.release(holder);
        }
    }
}

/// Peers per address in all swarms together, capped at `max`.
pub struct HolderTotals {
    counts: DashMap<u64, u32, hashbrown::DefaultHashBuilder>,
    max: u32,
    /// Addresses with at least one stored peer (one map entry each, about 24 bytes).
    addresses: IntGauge,
}

impl HolderTotals {
    /// Counting only pays when there is a cap: `None` when `max` is `usize::MAX`.
    pub fn new(max: usize, addresses: IntGauge) -> Option<Self> {
        (max != usize::MAX).then(|| Self {
            counts: DashMap::default(),
            max: u32::try_from(max).unwrap_or(u32::MAX),
            addresses,
        })
    }

    /// Stored peers of `holder` in all swarms.
    #[cfg(test)]
    pub fn get(&self, holder: u64) -> u32 {
        self.counts.get(&holder).map_or(0, |n| *n)
    }

    /// Addresses with at least one stored peer.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

impl Holders for HolderTotals {
    fn admit(&self, holder: u64, capped: bool) -> bool {
        match self.counts.entry(holder) {
            Entry::Occupied(mut e) => {
                let n = e.get_mut();
                if capped && *n >= self.max {
                    return false;
                }
                *n = n.saturating_add(1);
            }
            Entry::Vacant(e) => {
                if capped && self.max == 0 {
                    return false;
                }
                e.insert(1);
                self.addresses.inc();
            }
        }
        true
    }

    fn release(&self, holder: u64) {
        if let Entry::Occupied(mut e) = self.counts.entry(holder) {
            if *e.get() <= 1 {
                e.remove();
                self.addresses.dec();
            } else {
                *e.get_mut() -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(max: usize) -> HolderTotals {
        HolderTotals::new(max, IntGauge::new("a", "a").unwrap()).unwrap()
    }

    #[test]
    fn caps_capped_peers_and_counts_origins_past_the_cap() {
        let t = totals(2);
        assert!(t.admit(7, true));
        assert!(t.admit(7, true));
        assert!(!t.admit(7, true), "third peer of one address refused");
        assert_eq!(t.get(7), 2, "a refusal counts nothing");
        assert!(t.admit(7, false), "an origin passes");
        assert_eq!(t.get(7), 3);
        assert!(t.admit(8, true), "another address is not affected");
        assert_eq!(t.addresses.get(), 2);
    }

    #[test]
    fn release_frees_room_and_drops_empty_entries() {
        let t = totals(1);
        assert!(t.admit(1, true));
        assert!(!t.admit(1, true));
        t.release(1);
        assert!(t.is_empty(), "no entry left for an address without peers");
        assert_eq!(t.addresses.get(), 0);
        assert!(t.admit(1, true));
        t.release(99); // unknown: nothing happens
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn switched_off_means_no_table() {
        assert!(HolderTotals::new(usize::MAX, IntGauge::new("a", "a").unwrap()).is_none());
        let none: Option<HolderTotals> = None;
        assert!(none.admit(1, true));
    }
}
