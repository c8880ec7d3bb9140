//! The command line the floor examples share: `[ADDRESS [PEERS]]`.

use std::net::SocketAddr;

/// The address to serve on (127.0.0.1:6969 unless given) and the peers in each canned
/// reply (`default_peers` unless given).
pub fn address_and_peers(default_peers: u16) -> (SocketAddr, u16) {
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:6969".into())
        .parse()
        .expect("an address such as 127.0.0.1:6969");
    let peers = args
        .next()
        .map_or(default_peers, |p| p.parse().expect("a peer count"));
    (addr, peers)
}
