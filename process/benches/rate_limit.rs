//! The rate limiter's sweep over a full table: what it holds a shard's lock for, per
//! shard, is this time divided by its shards. `cargo bench -p seedline-process --bench
//! rate_limit`.

use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use seedline_process::rate_limit::RateLimiter;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("rate_limit");
    g.sample_size(10);
    let clients = 1_000_000u32;
    let rl = RateLimiter::new(60, 30, 2 * clients as usize);
    for i in 0..clients {
        rl.check(IpAddr::V4(Ipv4Addr::from(i)), 0);
    }
    g.throughput(Throughput::Elements(u64::from(clients)));
    // One token short of full: nothing is dropped, so every pass walks the whole table.
    g.bench_function("sweep_1m_clients", |b| b.iter(|| rl.sweep(1)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
