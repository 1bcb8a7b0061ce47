//! Fuzz target `sweep`: see `joulebench_fuzz::sweep` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| joulebench_fuzz::sweep(data));
