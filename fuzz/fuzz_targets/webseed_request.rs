#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| seedline_seeder::fuzz::webseed_request(data));
