//! Running the real `joulebench` binary from the CLI tests, and what a refused command must look
//! like: a non-zero exit by return (1 for our errors, 2 for clap's usage errors), not by a
//! signal, no panic, and stderr naming what is wrong.
#![allow(dead_code)]

use std::process::{Command, Output};

/// `joulebench args…` with the caller's environment.
pub fn joulebench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .output()
        .expect("runs the joulebench binary")
}

/// `joulebench args…` that cannot find any dataset on its own: no `$JOULEBENCH_DATA`, no cache.
pub fn joulebench_isolated(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .env_remove("JOULEBENCH_DATA")
        .env("XDG_CACHE_HOME", "/nonexistent-joulebench-test-cache")
        .output()
        .expect("runs the joulebench binary")
}

/// Asserts `o` (from `args`) is a clean refusal whose stderr contains every one of `wants`;
/// returns stderr.
pub fn refused(o: &Output, args: &[&str], wants: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        matches!(o.status.code(), Some(1) | Some(2)),
        "{args:?}: expected exit 1 or 2, got {:?}; stdout: {}; stderr: {err}",
        o.status,
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for w in wants {
        assert!(err.contains(w), "{args:?}: stderr lacks `{w}`:\n{err}");
    }
    err
}

/// [`joulebench`] then [`refused`].
pub fn fails_with(args: &[&str], wants: &[&str]) -> String {
    refused(&joulebench(args), args, wants)
}

/// [`joulebench_isolated`] then [`refused`].
pub fn fails_isolated(args: &[&str], wants: &[&str]) -> String {
    refused(&joulebench_isolated(args), args, wants)
}

/// A run folder for MNIST-1D's shape with seeded random weights and its ONNX export (no
/// training needed); `steps` for temporal spiking presets.
pub fn make_run(
    dir: &std::path::Path,
    preset: &str,
    steps: Option<usize>,
) -> joulebench_models::ModelSpec {
    let spec = joulebench_models::build_preset(
        preset,
        &joulebench_data::DatasetKind::Mnist1d.data_shape(),
        &joulebench_models::PresetOptions {
            steps,
            ..Default::default()
        },
    )
    .unwrap();
    let run = joulebench_models::RunDir::new(dir);
    run.write_spec(&spec).unwrap();
    let w = joulebench_models::Weights::random(&spec, 3);
    w.save(&run.weights_path()).unwrap();
    joulebench_models::write_onnx(&run.onnx_path(), &spec, &w, &[]).unwrap();
    spec
}
