#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| seedline_common::fuzz::mse_handshake(data));
