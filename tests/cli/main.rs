//! The `joulebench` binary's integration tests, one test binary (one link) with a module per
//! command or concern. Each module drives the built binary (`CARGO_BIN_EXE_joulebench`).

mod common;

mod any_onnx;
mod bad_input;
mod bench_cli;
mod bench_training_cli;
mod crash_safety;
mod data_cli;
mod export_cli;
mod fuzz_replay;
mod hwmon_cli;
mod infer_cli;
mod measure;
mod meters_cli;
mod nir_cli;
mod nir_pool_cli;
mod profile_cli;
mod report_cli;
mod report_machines_cli;
mod report_run;
mod sweep_cli;
mod sweep_shard_cli;
mod train_cli;
