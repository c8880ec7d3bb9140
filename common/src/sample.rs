//! Typical messages, for benchmarks and stand-in servers: what the codec benchmark
//! times and what the load generator's canned tracker sends are the same bytes.

use std::net::SocketAddr;

use crate::announce_response::{AnnounceResponse, Peers, ReplyHead};

/// A compact announce reply with `peers` IPv4 peers (the tracker sends 50 for
/// `numwant=50`) and the counts of a mid-sized swarm.
pub fn announce_reply(peers: u16) -> Vec<u8> {
    let v4 = (0..peers)
        .map(|i| SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 6881 + i)))
        .collect();
    let r = AnnounceResponse {
        head: ReplyHead {
            interval: 1800,
            min_interval: Some(900),
            complete: 40,
            incomplete: 60,
            downloaded: 7,
            external_ip: None,
        },
        peers: Peers::Compact { v4, v6: Vec::new() },
        warning: None,
    };
    let mut out = Vec::new();
    r.encode(&mut out);
    out
}
