//! Fuzz target `idx`: see `joulebench_fuzz::idx` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| joulebench_fuzz::idx(data));
