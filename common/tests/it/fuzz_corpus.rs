//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same entry
//! points the fuzzer calls, so a regression on any input the fuzzer once found
//! interesting fails the ordinary stable test suite; no nightly, no cargo-fuzz.

use seedline_common::fuzz;

seedline_testkit::replay_corpora!(fuzz:
    bencode,
    metainfo,
    announce_query,
    scrape_query,
    announce_reply,
    peer_wire,
    ut_metadata,
    udp_packet,
    mse_handshake,
);
