//! Replays the committed seeder fuzz corpora (`fuzz/corpus/peer_session/`,
//! `fuzz/corpus/utp_datagrams/`, `fuzz/corpus/webseed_request/`) through the entry points the fuzzer calls, on stable,
//! without cargo-fuzz.

use seedline_seeder::fuzz;

seedline_testkit::replay_corpora!(fuzz: peer_session, utp_datagrams, webseed_request);
