//! Fuzz target `csv`: see `joulebench_fuzz::csv` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| joulebench_fuzz::csv(data));
