//! `joulebench export`: a run folder made with the library (random weights) becomes an ONNX
//! file that tract loads and runs; a missing run folder is a clear error.

use std::process::Command;

use joulebench_models::onnx::summarize_onnx;
use joulebench_models::{build_preset, DataShape, PresetOptions, RunDir, Weights};
use tract_onnx::prelude::*;

fn joulebench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
}

fn make_run(
    dir: &std::path::Path,
    preset: &str,
    opts: PresetOptions,
) -> joulebench_models::ModelSpec {
    let data = DataShape {
        dataset: "mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    };
    let spec = build_preset(preset, &data, &opts).unwrap();
    let run = RunDir::new(dir);
    run.write_spec(&spec).unwrap();
    Weights::random(&spec, 42)
        .save(&run.weights_path())
        .unwrap();
    spec
}

#[test]
fn export_writes_model_onnx_that_tract_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let spec = make_run(
        &dir,
        "snn-temporal",
        PresetOptions {
            steps: Some(3),
            ..Default::default()
        },
    );
    std::fs::write(
        dir.join("train.json"),
        r#"{"preset": "snn-temporal", "seed": 42}"#,
    )
    .unwrap();

    let out = joulebench().arg("export").arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("model.onnx");
    assert!(stdout.contains(&path.display().to_string()), "{stdout}");
    assert!(
        stdout.contains("opset 17") && stdout.contains("nodes"),
        "{stdout}"
    );

    let bytes = std::fs::read(&path).unwrap();
    let s = summarize_onnx(&bytes).unwrap();
    assert_eq!(
        s.metadata["joulebench.train"],
        r#"{"preset": "snn-temporal", "seed": 42}"#
    );
    assert!(stdout.contains(&format!("{} nodes", s.nodes)), "{stdout}");

    let plan = tract_onnx::onnx()
        .model_for_path(&path)
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let shape = spec.batch_input_shape(2);
    let n: usize = shape.iter().product();
    let x = tract_onnx::prelude::Tensor::from_shape(&shape, &vec![1.0f32; n]).unwrap();
    let y = plan.run(tvec!(x.into_tvalue())).unwrap();
    assert_eq!(y[0].shape(), &[2, 10]);

    // --out puts the file elsewhere.
    let other = tmp.path().join("elsewhere/ann.onnx");
    let ann = tmp.path().join("ann");
    make_run(&ann, "ann", PresetOptions::default());
    let out = joulebench()
        .arg("export")
        .arg(&ann)
        .arg("--out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(other.is_file() && !ann.join("model.onnx").exists());
}

#[test]
fn export_of_a_missing_or_broken_run_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-run");
    let out = joulebench().arg("export").arg(&missing).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-run") && err.contains("does not exist"),
        "{err}"
    );

    // A run folder whose weights do not fit its spec names the tensor.
    let dir = tmp.path().join("run");
    make_run(&dir, "mlp", PresetOptions::default());
    let other = build_preset(
        "mlp-sweep",
        &DataShape {
            dataset: "mnist".into(),
            sample_shape: vec![1, 28, 28],
            num_classes: 10,
            normalize: None,
            spike_scale: None,
        },
        &PresetOptions {
            width: Some(8),
            depth: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    Weights::random(&other, 1)
        .save(&RunDir::new(&dir).weights_path())
        .unwrap();
    let out = joulebench().arg("export").arg(&dir).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fc1.weight"), "{err}");
    assert!(!dir.join("model.onnx").exists());
}

#[test]
fn eval_of_our_own_onnx_export_uses_its_embedded_spec() {
    // A normalizing ann on MNIST-1D: the exported file alone (no --input-shape) must be
    // evaluated with the spec's preprocessing, i.e. exactly like its run folder.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ann1d");
    let data = DataShape {
        dataset: "mnist1d".into(),
        sample_shape: vec![1, 40],
        num_classes: 10,
        normalize: Some(joulebench_models::Normalize {
            mean: 0.3,
            std: 0.7,
        }),
        spike_scale: None,
    };
    let spec = build_preset("ann", &data, &PresetOptions::default()).unwrap();
    assert!(spec.preprocess.normalize.is_some());
    let run = RunDir::new(&dir);
    run.write_spec(&spec).unwrap();
    Weights::random(&spec, 7).save(&run.weights_path()).unwrap();
    let out = joulebench().arg("export").arg(&dir).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let eval = |target: &std::path::Path| {
        let out = joulebench()
            .args(["eval", target.to_str().unwrap(), "--dataset", "mnist1d"])
            .args(["--backend", "tract", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["correct"].as_u64().unwrap(),
            v["samples"].as_u64().unwrap(),
        )
    };
    let from_run = eval(&dir);
    let from_file = eval(&dir.join("model.onnx"));
    assert_eq!(from_file, from_run);
}
