//! Replays the committed fuzz corpora of the tracker's targets (`fuzz/corpus/<target>/`)
//! through the entry points the fuzzer calls, on stable, without cargo-fuzz.

use seedline_tracker::fuzz;

seedline_testkit::replay_corpora!(fuzz: tracker_request, state_file, access_list, swarm_ops);
