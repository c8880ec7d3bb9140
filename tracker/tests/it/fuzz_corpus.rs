//! Replays the committed fuzz corpora of the tracker's targets (`fuzz/corpus/<target>/`)
//! through the entry points the fuzzer calls, on stable, without cargo-fuzz.

use seedline_tracker::fuzz;

#[path = "../../../fuzz/replay.rs"]
mod replay;
use replay::replay;

#[test]
fn tracker_request() {
    replay("tracker_request", fuzz::tracker_request);
}

#[test]
fn state_file() {
    replay("state_file", fuzz::state_file);
}

#[test]
fn access_list() {
    replay("access_list", fuzz::access_list);
}
