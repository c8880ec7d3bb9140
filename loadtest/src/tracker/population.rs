//! The simulated population: torrents with Zipf popularity, and peers laid out over
//! source addresses and ports so that the tracker sees each one as a distinct client.
//!
//! A tracker keys a peer by (client IP, announced port). All load comes from one host, so
//! the layout gives every worker (one keep-alive connection, or one stream of fresh
//! connections) its own source address in 127.0.0.0/8, which is all loopback on Linux.
//! Peer `j` of torrent `t` belongs to worker `(j + t) % workers`; its port is
//! `FIRST_PORT + j / addresses`, distinct among the torrent's peers that share an address.
//! The largest swarm therefore needs `ceil(size / PORTS)` addresses, and the worker count
//! is raised to that when needed. IPv6 loopback has one address (`::1`), so there the
//! largest swarm must fit the port range.

use std::net::{IpAddr, Ipv4Addr};

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use seedline_common::InfoHash;

use super::peer::{splitmix64, Peer};
use super::zipf::{Zipf, ZipfError};

/// Lowest announced port; below it are well-known ports no client uses.
pub const FIRST_PORT: u16 = 1024;
/// Distinct ports per source address.
pub const PORTS: usize = (u16::MAX - FIRST_PORT) as usize + 1;
/// First source address handed to workers; the tracker itself usually sits on 127.0.0.1.
const FIRST_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 1, 0, 1);

/// Where the load comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sources {
    /// One 127.x.y.z address per worker (IPv4 loopback targets).
    Spread,
    /// Every worker binds this one address (`::1` for IPv6 loopback).
    Single(IpAddr),
    /// Let the kernel choose (remote targets).
    Unbound,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Shape {
    pub torrents: usize,
    pub peers: usize,
    pub zipf_exponent: f64,
    pub seeder_fraction: f64,
    /// Workers wanted; the layout may need more (see the module docs).
    pub workers: usize,
    pub sources: Sources,
    pub seed: u64,
}

/// Why a population cannot be laid out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PopulationError {
    #[error(transparent)]
    Zipf(#[from] ZipfError),
    #[error("--peers ({peers}) must be at least --torrents ({torrents}): every torrent gets one peer before popularity shares out the rest")]
    TooFewPeers { peers: usize, torrents: usize },
    #[error("the largest swarm has {largest} peers but one source address offers only {PORTS} ports; use an IPv4 loopback target (many source addresses), fewer --peers, more --torrents or a lower --zipf-exponent")]
    SwarmTooLarge { largest: usize },
}

/// The torrents and the peers of each worker.
#[derive(Debug)]
pub struct Population {
    pub info_hashes: Vec<InfoHash>,
    /// Popularity of torrents, also used to pick what to scrape.
    pub zipf: Zipf,
    /// `workers[w]` = peers announced through worker `w`, in random order.
    pub workers: Vec<Vec<Peer>>,
    pub sources: Sources,
    pub largest_swarm: usize,
}

impl Population {
    pub fn build(shape: &Shape) -> Result<Self, PopulationError> {
        if shape.peers < shape.torrents {
            return Err(PopulationError::TooFewPeers {
                peers: shape.peers,
                torrents: shape.torrents,
            });
        }
        let zipf = Zipf::new(shape.torrents, shape.zipf_exponent)?;
        let info_hashes = info_hashes(shape.seed, shape.torrents);
        let mut rng = SmallRng::seed_from_u64(shape.seed);
        let mut sizes = vec![1usize; shape.torrents];
        for _ in shape.torrents..shape.peers {
            sizes[zipf.sample(&mut rng)] += 1;
        }
        let largest = sizes.iter().copied().max().unwrap_or(0);
        let needed = largest.div_ceil(PORTS);
        let (workers, addresses) = match shape.sources {
            Sources::Spread => {
                let w = shape.workers.max(needed);
                (w, w)
            }
            _ if needed > 1 => return Err(PopulationError::SwarmTooLarge { largest }),
            _ => (shape.workers, 1),
        };
        let mut out: Vec<Vec<Peer>> = (0..workers)
            .map(|_| Vec::with_capacity(shape.peers / workers + 1))
            .collect();
        let mut index = 0u32;
        for (t, &n) in sizes.iter().enumerate() {
            let size = torrent_size(t);
            for j in 0..n {
                let port = FIRST_PORT + (j / addresses) as u16;
                let seeder = rng.random_bool(shape.seeder_fraction);
                out[(j + t) % workers].push(Peer::new(index, t as u32, port, seeder, size));
                index += 1;
            }
        }
        for w in &mut out {
            w.shuffle(&mut rng);
        }
        Ok(Self {
            info_hashes,
            zipf,
            workers: out,
            sources: shape.sources,
            largest_swarm: largest,
        })
    }

    /// The address worker `w` binds, if any.
    pub fn source(&self, w: usize) -> Option<IpAddr> {
        source_for(self.sources, w)
    }
}

/// The address worker `w` binds under `sources`.
pub fn source_for(sources: Sources, w: usize) -> Option<IpAddr> {
    match sources {
        Sources::Spread => {
            let a = u32::from(FIRST_SOURCE) + w as u32;
            Some(IpAddr::V4(Ipv4Addr::from(a)))
        }
        Sources::Single(ip) => Some(ip),
        Sources::Unbound => None,
    }
}

/// The info hashes of `n` torrents; they depend only on `seed` and `n`, so that an
/// access list written from them (`--print-info-hashes`) matches a later run.
pub fn info_hashes(seed: u64, n: usize) -> Vec<InfoHash> {
    let mut rng = SmallRng::seed_from_u64(splitmix64(seed ^ 0x1f0_4a54));
    (0..n).map(|_| InfoHash(rng.random())).collect()
}

/// A release size between 64 MiB and 4 GiB, fixed per torrent.
pub fn torrent_size(t: usize) -> u64 {
    (1 + splitmix64(t as u64) % 64) << 26
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn shape(torrents: usize, peers: usize, workers: usize, sources: Sources) -> Shape {
        Shape {
            torrents,
            peers,
            zipf_exponent: 1.0,
            seeder_fraction: 0.3,
            workers,
            sources,
            seed: 9,
        }
    }

    #[test]
    fn every_peer_is_distinct_to_the_tracker() {
        for sources in [Sources::Spread, Sources::Single("::1".parse().unwrap())] {
            let p = Population::build(&shape(100, 5_000, 4, sources)).unwrap();
            assert_eq!(p.workers.len(), 4);
            let mut keys = HashSet::new();
            let mut torrents = HashSet::new();
            for (w, peers) in p.workers.iter().enumerate() {
                for peer in peers {
                    assert!(keys.insert((peer.torrent, p.source(w), peer.port)));
                    torrents.insert(peer.torrent);
                }
            }
            assert_eq!(keys.len(), 5_000);
            assert_eq!(torrents.len(), 100, "every torrent has a peer");
            // Zipf: rank 0 holds several times its even share.
            assert!(p.largest_swarm > 5 * 50);
        }
    }

    #[test]
    fn large_swarms_get_more_source_addresses() {
        let p = Population::build(&shape(1, 70_000, 1, Sources::Spread)).unwrap();
        assert_eq!(p.workers.len(), 2);
        assert_eq!(p.largest_swarm, 70_000);
        let err = Population::build(&shape(1, 70_000, 1, Sources::Unbound)).unwrap_err();
        assert_eq!(err, PopulationError::SwarmTooLarge { largest: 70_000 });
        assert!(matches!(
            Population::build(&shape(10, 5, 1, Sources::Spread)),
            Err(PopulationError::TooFewPeers { .. })
        ));
    }

    #[test]
    fn info_hashes_depend_only_on_seed_and_count() {
        let a = info_hashes(1, 10);
        assert_eq!(a, info_hashes(1, 10));
        assert_eq!(&a[..5], &info_hashes(1, 5)[..]);
        assert_ne!(a, info_hashes(2, 10));
        assert_eq!(a.iter().collect::<HashSet<_>>().len(), 10);
    }
}
