//! The floor of a UDP announce on this machine: the tracker's own datagram I/O (one
//! blocking thread, `udp::Batch`: recvmmsg and sendmmsg) answering every connect and
//! every announce with a fixed valid reply, with no parsing beyond the action and
//! transaction id, no connection-id check and no swarm. The tracker's CPU per announce
//! divided by this one's says how much of it is the tracker's own work.
//!
//! `cargo run --release -p seedline-tracker --example udp_floor -- 127.0.0.1:6969 [PEERS]`
//! (PEERS per announce reply, default 20: match the tracker's average reply, which
//! `loadtest` shows as bytes in per request), then `loadtest tracker --target
//! udp://127.0.0.1:6969 --target-pid PID ...` as against the tracker. It stops after 10
//! minutes whatever happens.

#[path = "shared/args.rs"]
mod args;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use seedline_common::udp::{begin_announce, write_connect, PROTOCOL_ID};
use seedline_tracker::udp::Batch;

const LIFETIME: Duration = Duration::from_secs(600);

fn main() -> std::io::Result<()> {
    let (addr, peers) = args::address_and_peers(20);
    let socket = UdpSocket::bind(addr)?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    eprintln!("UDP floor on {addr}, {peers} peers per announce reply");
    let peer_bytes: Vec<u8> = (0..peers)
        .flat_map(|i| {
            let [hi, lo] = i.to_be_bytes();
            [10, 0, hi, lo, 0x1a, 0xe1]
        })
        .collect();
    let mut batch = Batch::new(2048);
    let started = Instant::now();
    while started.elapsed() < LIFETIME {
        let Ok(n) = batch.recv(&socket) else { continue };
        for i in 0..n {
            let (packet, src, out) = batch.datagram_and_reply(i);
            let (Some(src), Some(head)) = (src, packet.get(..16)) else {
                continue;
            };
            let action = u32::from_be_bytes(head[8..12].try_into().expect("4 bytes"));
            let txn = u32::from_be_bytes(head[12..16].try_into().expect("4 bytes"));
            match action {
                0 => write_connect(out, txn, PROTOCOL_ID ^ 0x5eed),
                1 => {
                    begin_announce(out, txn, 1800, 60, 40);
                    out.extend_from_slice(&peer_bytes);
                }
                _ => continue,
            }
            batch.reply(i, src);
        }
        batch.send(&socket, |_| {});
    }
    Ok(())
}
