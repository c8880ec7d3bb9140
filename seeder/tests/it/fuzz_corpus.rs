//! Replays the committed `peer_session` fuzz corpus (`fuzz/corpus/peer_session/`)
//! through the entry point the fuzzer calls, on stable, without cargo-fuzz.

use seedline_seeder::fuzz;

#[path = "../../../fuzz/replay.rs"]
mod replay;
use replay::replay;

#[test]
fn peer_session() {
    replay("peer_session", fuzz::peer_session);
}
