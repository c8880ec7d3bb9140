#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| seedline_tracker::fuzz::state_file(data));
