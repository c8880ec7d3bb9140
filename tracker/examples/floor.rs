//! The floor of an HTTP announce on this machine: the tracker's own public listener and
//! connection handling (the same accept loop, connection and per-address limits,
//! deadlines, hyper, keep-alive) answering every request with a fixed valid announce
//! reply, parsing nothing and touching no swarm. The tracker's CPU per announce divided
//! by this one's says how much of it is the tracker's own work; the rest is TCP and HTTP.
//!
//! `cargo run --release -p seedline-tracker --example floor -- 127.0.0.1:6969 [PEERS]`
//! (PEERS per reply, default 50 as for `numwant=50`: match the tracker's average reply,
//! which `loadtest` shows as bytes in per request), then `loadtest tracker --target
//! http://127.0.0.1:6969/announce --target-pid PID ...` as against the tracker. Its admin
//! listener (`/health`, `/metrics`) is on the next port. It stops after 10 minutes
//! whatever happens.

#[path = "shared/args.rs"]
mod args;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

const LIFETIME: Duration = Duration::from_secs(600);

fn main() -> std::io::Result<()> {
    let (addr, peers) = args::address_and_peers(50);
    let cfg = seedline_tracker::Config {
        listen: vec![addr],
        admin_listen: SocketAddr::new(addr.ip(), addr.port() + 1),
        udp_listen: Vec::new(),
        // As the benchmark runs the tracker: the generator puts many peers on one address.
        max_connections_per_address: 1 << 20,
        ..seedline_tracker::Config::default()
    };
    let reply = seedline_common::sample::announce_reply(peers);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listeners = seedline_tracker::Listeners::bind(&cfg)?;
            let tracker = Arc::new(seedline_tracker::Tracker::new(
                &cfg,
                seedline_tracker::metrics::Metrics::new(),
            ));
            eprintln!("HTTP floor on {addr}, {peers} peers per announce reply");
            let stop = CancellationToken::new();
            let serving =
                seedline_tracker::serve_floor(tracker, listeners, stop.clone(), reply.into());
            tokio::select! {
                () = serving => {}
                () = tokio::time::sleep(LIFETIME) => stop.cancel(),
            }
            Ok(())
        })
}
