//! Resident memory of the swarm store for a population, without the network:
//! `cargo run --release -p seedline-tracker --example memory -- [TORRENTS] [PEERS] [ids]`
//! (`ids`: also keep peer ids, as `--keep-peer-ids` does).
//!
//! Torrent popularity is Zipf-like (rank r gets weight 1/r), as in real trackers.

use std::net::{IpAddr, Ipv4Addr};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use seedline_common::{Event, InfoHash, PeerId};
use seedline_tracker::sink::CompactReply;
use seedline_tracker::store::{ReplyParams, Store, StoreConfig, StoreGauges};
use seedline_tracker::swarm::{peer_addr, PeerAnnounce};

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("procfs");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn main() {
    let keep_peer_ids = std::env::args().any(|a| a == "ids");
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| a != "ids")
        .map(|a| a.parse().expect("a number"))
        .collect();
    let torrents = args.first().copied().unwrap_or(100_000);
    let peers = args.get(1).copied().unwrap_or(1_000_000);
    // Cumulative Zipf weights for inverse-CDF sampling.
    let mut cdf = Vec::with_capacity(torrents as usize);
    let mut acc = 0.0;
    for r in 1..=torrents {
        acc += 1.0 / r as f64;
        cdf.push(acc);
    }
    let store = Store::new(
        StoreConfig::new(usize::MAX, usize::MAX, keep_peer_ids),
        StoreGauges::unregistered(),
    );
    let params = ReplyParams {
        interval: 1800,
        min_interval: None,
        external_ip: None,
        numwant: 50,
    };
    let mut rng = SmallRng::seed_from_u64(1);
    let mut out = Vec::with_capacity(4096);
    let before = rss_kib();
    // Every torrent gets one peer, the rest go by popularity.
    for i in 0..peers {
        let t = if i < torrents {
            i
        } else {
            let x = rng.random::<f64>() * acc;
            cdf.partition_point(|&c| c < x) as u64
        };
        let mut ih = [0u8; 20];
        ih[..8].copy_from_slice(&t.to_be_bytes());
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i as u32 >> 8)));
        let a = PeerAnnounce {
            addr: peer_addr(ip, 1024 + (i % 256) as u16),
            peer_id: PeerId([i as u8; 20]),
            event: Event::Started,
            seeder: i % 5 == 0,
            origin: false,
            origin_by_address: false,
            now: 0,
        };
        out.clear();
        store
            .announce(
                InfoHash(ih),
                &a,
                &params,
                &mut rng,
                &mut CompactReply(&mut out),
            )
            .expect("no limits");
    }
    let after = rss_kib();
    let delta = (after - before) * 1024;
    println!(
        "keep_peer_ids={keep_peer_ids} torrents={} peers={peers} rss_before={before}KiB rss_after={after}KiB delta={:.1}MiB bytes_per_peer={:.1}",
        store.torrent_count(),
        delta as f64 / 1048576.0,
        delta as f64 / peers as f64
    );
}
