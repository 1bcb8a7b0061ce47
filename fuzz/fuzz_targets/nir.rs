//! Fuzz target `nir`: see `joulebench_fuzz::nir` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| joulebench_fuzz::nir(data));
