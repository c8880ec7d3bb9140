//! `redis-clients URL CLIENT REQUESTS IN_FLIGHT`: REQUESTS calls of a script shaped like
//! the tracker's announce (8 keys, 13 arguments; a reply of 6 integers and 50 six-byte
//! peers joined) through one connection of CLIENT (`redis-rs` or `fred`), IN_FLIGHT at
//! a time, on one thread. Prints requests per second and this process's CPU per request.

use std::time::Instant;

use futures::stream::{self, StreamExt};

const SCRIPT: &str = "return {1, 2, 3, 4, 5, 6, string.rep('abcdef', 50)}";

/// This process's user + system CPU, from /proc (clock ticks of 10 ms).
fn cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which is in parentheses): utime is the 12th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks * 10_000.0
}

fn keys(i: usize) -> Vec<String> {
    let p = format!("sl:{{{:040x}}}:", i % 100_000);
    ["o4", "s4", "l4", "h4", "o6", "s6", "l6", "n"]
        .iter()
        .map(|k| format!("{p}{k}"))
        .collect()
}

fn args() -> Vec<String> {
    [
        "abcdef", "3", "0", "50", "1800000", "1000000", "65536", "8", "3600000", "4", "64",
        "0", "4",
    ]
    .map(String::from)
    .to_vec()
}

async fn with_redis_rs(url: &str, n: usize, in_flight: usize) {
    let client = redis::Client::open(url).unwrap();
    let con = client.get_multiplexed_async_connection().await.unwrap();
    let script = redis::Script::new(SCRIPT);
    stream::iter(0..n)
        .for_each_concurrent(in_flight, |i| {
            let mut con = con.clone();
            let script = &script;
            async move {
                let mut inv = script.prepare_invoke();
                for k in keys(i) {
                    inv.key(k);
                }
                for a in args() {
                    inv.arg(a);
                }
                let v: redis::Value = inv.invoke_async(&mut con).await.unwrap();
                std::hint::black_box(v);
            }
        })
        .await;
}

async fn with_fred(url: &str, n: usize, in_flight: usize) {
    use fred::prelude::*;
    let config = Config::from_url(url).unwrap();
    let client = Builder::from_config(config).build().unwrap();
    client.init().await.unwrap();
    let sha: String = client.script_load(SCRIPT).await.unwrap();
    stream::iter(0..n)
        .for_each_concurrent(in_flight, |i| {
            let client = &client;
            let sha = &sha;
            async move {
                let v: fred::types::Value = client.evalsha(sha, keys(i), args()).await.unwrap();
                std::hint::black_box(v);
            }
        })
        .await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (url, which) = (&a[1], a[2].as_str());
    let n: usize = a[3].parse().unwrap();
    let in_flight: usize = a[4].parse().unwrap();
    let run = |n| async move {
        match which {
            "redis-rs" => with_redis_rs(url, n, in_flight).await,
            "fred" => with_fred(url, n, in_flight).await,
            other => panic!("unknown client {other}"),
        }
    };
    run(1000).await; // warm: connect, load the script
    let (c0, t0) = (cpu_us(), Instant::now());
    run(n).await;
    let (c1, secs) = (cpu_us(), t0.elapsed().as_secs_f64());
    println!(
        "{which}\tin_flight {in_flight}\t{:.0} requests/s\t{:.2} us client CPU/request",
        n as f64 / secs,
        (c1 - c0) / n as f64
    );
}
