//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same entry
//! points the fuzzer calls, so a regression on any input the fuzzer once found
//! interesting fails the ordinary stable test suite; no nightly, no cargo-fuzz.

use seedline_common::fuzz;

#[path = "../../../fuzz/replay.rs"]
mod replay;
use replay::replay;

#[test]
fn bencode() {
    replay("bencode", fuzz::bencode);
}

#[test]
fn metainfo() {
    replay("metainfo", fuzz::metainfo);
}

#[test]
fn announce_query() {
    replay("announce_query", fuzz::announce_query);
}

#[test]
fn scrape_query() {
    replay("scrape_query", fuzz::scrape_query);
}

#[test]
fn announce_reply() {
    replay("announce_reply", fuzz::announce_reply);
}

#[test]
fn peer_wire() {
    replay("peer_wire", fuzz::peer_wire);
}

#[test]
fn ut_metadata() {
    replay("ut_metadata", fuzz::ut_metadata);
}
