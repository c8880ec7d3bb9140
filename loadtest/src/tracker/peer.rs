//! One simulated client and its life cycle: start, re-announce, complete, stop, start
//! again.
//!
//! Each peer advances only when it is picked for a request, so its state is also the
//! model of what the tracker should hold: [`Peer::is_active`] peers are in a swarm,
//! seeders among them have `left == 0`. The transition odds below give a mix where most
//! requests are periodic re-announces, as on a real tracker, with a steady trickle of
//! every event so that each code path of the tracker is exercised.

use rand::Rng;
use seedline_common::{AnnounceRequest, Event, InfoHash, PeerId};

/// Of a leecher's announces, this share reports `completed` (it becomes a seeder).
const P_COMPLETE: f64 = 0.03;
/// Of an active peer's announces, this share is `stopped` (it leaves the swarm).
const P_STOP: f64 = 0.02;
/// Bytes a leecher downloads (and a seeder uploads) between two announces.
const CHUNK: u64 = 4 << 20;

/// A simulated client of one torrent.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Global index: the peer id and key are derived from it.
    pub index: u32,
    /// Torrent rank (0 is the most popular).
    pub torrent: u32,
    /// Port announced; unique among the peers of the torrent that share a source address.
    pub port: u16,
    active: bool,
    uploaded: u64,
    downloaded: u64,
    left: u64,
}

impl Peer {
    /// A peer that has not announced yet; a seeder if `seeder`.
    pub fn new(index: u32, torrent: u32, port: u16, seeder: bool, size: u64) -> Self {
        Self {
            index,
            torrent,
            port,
            active: false,
            uploaded: 0,
            downloaded: 0,
            left: if seeder { 0 } else { size },
        }
    }

    /// Whether the tracker should hold this peer.
    pub fn is_active(&self) -> bool {
        self.active
    }

    pub fn is_seeder(&self) -> bool {
        self.left == 0
    }

    /// Picks the next event and updates the peer as if the tracker applied it.
    ///
    /// `size` is the torrent's size (a restarting peer downloads it again, or seeds it
    /// with probability `seeder_fraction`).
    pub fn advance<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        seeder_fraction: f64,
        size: u64,
    ) -> Event {
        if !self.active {
            self.active = true;
            return Event::Started;
        }
        let r: f64 = rng.random();
        if r < P_STOP {
            self.active = false;
            // Next time it comes back as a new session, possibly with another role.
            let seeder = rng.random_bool(seeder_fraction);
            self.left = if seeder { 0 } else { size };
            return Event::Stopped;
        }
        if self.left > 0 && r < P_STOP + P_COMPLETE {
            self.downloaded += self.left;
            self.left = 0;
            return Event::Completed;
        }
        if self.left > 0 {
            let got = CHUNK.min(self.left - 1);
            self.downloaded += got;
            self.left -= got;
        } else {
            self.uploaded += CHUNK;
        }
        Event::None
    }

    /// Marks the peer started without a draw (preload).
    pub fn start(&mut self) -> Event {
        self.active = true;
        Event::Started
    }

    /// The request for `event`, as a current libtorrent-based client would send it.
    pub fn request(&self, info_hash: InfoHash, event: Event, numwant: u32) -> AnnounceRequest {
        AnnounceRequest {
            info_hash,
            peer_id: peer_id(self.index),
            port: self.port,
            uploaded: self.uploaded,
            downloaded: self.downloaded,
            left: self.left,
            event,
            compact: true,
            no_peer_id: true,
            numwant: Some(numwant),
            key: seedline_common::announce::Key::new(&key(self.index)),
            ip: None,
        }
    }
}

/// `-qB4630-` (qBittorrent's prefix, Azureus style), 6 pseudo-random characters, and the
/// index in 6 base-64 digits, so that ids are distinct by construction.
pub fn peer_id(index: u32) -> PeerId {
    const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.";
    let mut id = *b"-qB4630-000000000000";
    let h = splitmix64(u64::from(index));
    for (i, b) in id[8..14].iter_mut().enumerate() {
        *b = ALPHABET[((h >> (6 * i)) & 63) as usize];
    }
    for (i, b) in id[14..].iter_mut().rev().enumerate() {
        *b = ALPHABET[((u64::from(index) >> (6 * i)) & 63) as usize];
    }
    PeerId(id)
}

/// The 8 upper-case hex digits libtorrent sends as `key`.
fn key(index: u32) -> [u8; 8] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let h = splitmix64(u64::from(index) ^ 0x6b65_7900);
    let mut out = [0u8; 8];
    for (i, b) in out.iter_mut().enumerate() {
        *b = HEX[((h >> (i * 4)) & 15) as usize];
    }
    out
}

/// A bijective 64-bit mix (splitmix64's finaliser): cheap, stateless pseudo-randomness.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn peer_ids_are_distinct_and_client_like() {
        let ids: HashSet<_> = (0..200_000).map(peer_id).collect();
        assert_eq!(ids.len(), 200_000);
        assert!(peer_id(5).as_bytes().starts_with(b"-qB4630-"));
        assert_ne!(peer_id(u32::MAX), peer_id(u32::MAX >> 1));
    }

    #[test]
    fn life_cycle_keeps_the_model_consistent() {
        let mut rng = SmallRng::seed_from_u64(3);
        let size = 100 << 20;
        let mut p = Peer::new(1, 0, 1024, false, size);
        assert!(!p.is_active());
        assert_eq!(p.advance(&mut rng, 0.5, size), Event::Started);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let was_active = p.is_active();
            let e = p.advance(&mut rng, 0.5, size);
            seen.insert(e.as_str());
            match e {
                Event::Started => assert!(!was_active && p.is_active()),
                Event::Stopped => assert!(was_active && !p.is_active()),
                Event::Completed => assert!(p.is_seeder() && p.is_active()),
                Event::None => assert!(p.is_active()),
                Event::Paused => unreachable!("never sent"),
            }
            let r = p.request(InfoHash([1; 20]), e, 50);
            let mut q = Vec::new();
            r.write_query(&mut q);
            assert_eq!(AnnounceRequest::parse_query(&q).unwrap(), r);
        }
        assert_eq!(seen.len(), 4, "every event occurs: {seen:?}");
    }
}
