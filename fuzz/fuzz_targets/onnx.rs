//! Fuzz target `onnx`: see `joulebench_fuzz::onnx` for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| joulebench_fuzz::onnx(data));
