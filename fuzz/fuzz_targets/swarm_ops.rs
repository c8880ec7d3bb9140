#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| seedline_tracker::fuzz::swarm_ops(data));
