//! Announce hot path without the network: parse the query, update the swarm, encode the
//! reply; and the expiry sweep's walk. `cargo bench -p seedline-tracker --bench announce`.

use std::net::{IpAddr, Ipv4Addr};

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use seedline_common::{AnnounceRequest, Event, InfoHash, PeerId};
use seedline_tracker::sink::CompactReply;
use seedline_tracker::store::{ReplyParams, Store, StoreConfig, StoreGauges};
use seedline_tracker::swarm::{peer_addr, Expiry, PeerAnnounce};

const QUERY: &[u8] =
    b"info_hash=%124Vx%9A%BC%DE%F0%124Vx%9A%BC%DE%F0%124Vx&peer_id=-qB4630-a1b2c3d4e5f6\
&port=6881&uploaded=0&downloaded=0&left=1048576&corrupt=0&key=5B2C1A8E&event=started&numwant=200\
&compact=1&no_peer_id=1&supportcrypto=1&redundant=0";

fn params() -> ReplyParams {
    ReplyParams {
        interval: 1800,
        min_interval: Some(900),
        external_ip: None,
        numwant: 50,
    }
}

fn ip(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))
}

/// A store with `torrents` swarms of `per` peers each.
fn preloaded(torrents: u32, per: u32) -> Store {
    let store = Store::new(
        StoreConfig::new(usize::MAX, usize::MAX, false),
        StoreGauges::unregistered(),
    );
    let mut rng = SmallRng::seed_from_u64(1);
    let mut out = Vec::new();
    for t in 0..torrents {
        for p in 0..per {
            let a = PeerAnnounce {
                addr: peer_addr(ip(p), 6881),
                peer_id: PeerId([1; 20]),
                event: Event::Started,
                seeder: p % 4 == 0,
                origin: false,
                origin_by_address: false,
                now: 0,
            };
            out.clear();
            store
                .announce(ih(t), &a, &params(), &mut rng, &mut CompactReply(&mut out))
                .unwrap();
        }
    }
    store
}

fn ih(t: u32) -> InfoHash {
    let mut b = [0u8; 20];
    b[..4].copy_from_slice(&t.to_be_bytes());
    InfoHash(b)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("announce");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_query", |b| {
        b.iter(|| AnnounceRequest::parse_query(black_box(QUERY)).unwrap())
    });

    for (name, torrents, per) in [
        ("reannounce_10k_torrents_x10", 10_000, 10),
        ("reannounce_200_torrents_x500", 200, 500),
        // Mid-sized swarms, where rand's sampler shuffled an array of the whole swarm.
        ("reannounce_50_torrents_x2000", 50, 2_000),
        ("reannounce_1_torrent_x50k", 1, 50_000),
        // Large swarms, two million peers: a reply's peers are far from the caches.
        ("reannounce_20_torrents_x100k", 20, 100_000),
        // The torrent map itself: a million one-peer swarms, far past the caches.
        ("reannounce_1m_torrents_x1", 1_000_000, 1),
    ] {
        let store = preloaded(torrents, per);
        let mut pick = SmallRng::seed_from_u64(2);
        let mut rng = SmallRng::seed_from_u64(3);
        let mut out = Vec::with_capacity(1024);
        g.bench_function(name, |b| {
            b.iter_batched(
                || (pick.random_range(0..torrents), pick.random_range(0..per)),
                |(t, p)| {
                    let mut q = AnnounceRequest::parse_query(QUERY).unwrap();
                    q.info_hash = ih(t);
                    let a = PeerAnnounce {
                        addr: peer_addr(ip(p), q.port),
                        peer_id: q.peer_id,
                        event: Event::None,
                        seeder: q.left == 0,
                        origin: false,
                        origin_by_address: false,
                        now: 1,
                    };
                    out.clear();
                    store
                        .announce(
                            q.info_hash,
                            &a,
                            &params(),
                            &mut rng,
                            &mut CompactReply(&mut out),
                        )
                        .unwrap();
                    black_box(out.len())
                },
                BatchSize::SmallInput,
            )
        });
    }
    // A peer joins and leaves: the insert and remove paths (growing and shrinking a
    // swarm's storage), which a re-announce never takes. With `fresh` it joins a torrent
    // the store does not have, so the map adds the swarm and drops it again.
    for (name, torrents, per, fresh) in [
        ("join_and_leave_10k_torrents_x10", 10_000, 10, 0),
        ("join_and_leave_200_torrents_x500", 200, 500, 0),
        ("new_torrent_join_and_leave_100k_x10", 100_000, 10, 1 << 30),
    ] {
        let store = preloaded(torrents, per);
        let mut pick = SmallRng::seed_from_u64(4);
        let mut rng = SmallRng::seed_from_u64(5);
        let mut out = Vec::with_capacity(1024);
        g.bench_function(name, |b| {
            b.iter_batched(
                || pick.random_range(0..torrents),
                |t| {
                    for event in [Event::Started, Event::Stopped] {
                        let a = PeerAnnounce {
                            addr: peer_addr(ip(per + 1), 6881),
                            peer_id: PeerId([9; 20]),
                            event,
                            seeder: false,
                            origin: false,
                            origin_by_address: false,
                            now: 1,
                        };
                        out.clear();
                        store
                            .announce(
                                ih(t + fresh),
                                &a,
                                &params(),
                                &mut rng,
                                &mut CompactReply(&mut out),
                            )
                            .unwrap();
                    }
                    black_box(out.len())
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    // The expiry sweep's walk when nothing is due: what the sweeper's thread spends per
    // torrent, batches of the shard lock included.
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    for (name, torrents, per) in [
        ("sweep_100k_torrents_x10", 100_000, 10),
        ("sweep_10_torrents_x10k", 10, 10_000),
    ] {
        let store = preloaded(torrents, per);
        g.throughput(Throughput::Elements(u64::from(torrents)));
        g.bench_function(name, |b| {
            b.iter(|| {
                store.expire(Expiry::OlderThan {
                    now: 2,
                    max_age: 3_600,
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
