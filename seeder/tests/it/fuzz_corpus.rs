//! Replays the committed `peer_session` fuzz corpus (`fuzz/corpus/peer_session/`)
//! through the entry point the fuzzer calls, on stable, without cargo-fuzz.

use seedline_seeder::fuzz;

seedline_testkit::replay_corpora!(fuzz: peer_session);
