//! `joulebench train`: a quick real run, and every kind of bad input → clear error, non-zero exit.
#![cfg(feature = "training")]

use crate::common::{fails_with, joulebench};

#[test]
fn train_writes_a_complete_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    let res = joulebench(&[
        "train",
        "--model",
        "mlp1d",
        "--dataset",
        "mnist1d",
        "--epochs",
        "2",
        "--limit-train",
        "800",
        "--limit-test",
        "200",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        o,
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    for f in [
        "spec.json",
        "train.json",
        "metrics.json",
        "weights.safetensors",
        "done",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let epochs = m["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 2);
    assert_eq!(m["train_samples"], 800);
    assert_eq!(m["test_samples"], 200);
    for e in epochs {
        for k in [
            "train_loss",
            "train_acc",
            "test_loss",
            "test_acc",
            "wall_s",
            "samples_per_s",
        ] {
            assert!(e[k].as_f64().is_some(), "epoch field {k} missing: {e}");
        }
        assert!(e.get("energy").is_some());
    }
    // `--meter auto` on the CPU means RAPL: measured when its counters are readable, otherwise
    // null (never an estimate) with the reason printed once.
    let rapl = joulebench_profiler::discover(
        std::path::Path::new(joulebench_profiler::meter::rapl::POWERCAP_ROOT),
        0,
    )
    .into_iter()
    .find(|m| m.name == "rapl")
    .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(err.matches("epoch energy:").count(), 1, "{err}");
    for e in epochs {
        if rapl.available {
            // an epoch lasting wall_s drew energy at a CPU's power: well above 0.1 W, below
            // 5 kW (a µJ counter read as J, or a window that measured nothing, falls outside)
            let joules = e["energy"]["joules"].as_f64().unwrap();
            let watts = joules / e["wall_s"].as_f64().unwrap();
            assert!(joules > 0.0 && (0.1..5000.0).contains(&watts), "{e}");
            assert!(e["energy"]["source"].as_str().unwrap().starts_with("rapl:"));
        } else {
            assert!(e["energy"].is_null(), "no readable counter: {e}");
        }
    }
    if !rapl.available {
        assert!(err.contains("no readable energy counter"), "{err}");
    }
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("train.json")).unwrap()).unwrap();
    assert_eq!(cfg["preset"], "mlp1d");
    assert_eq!(cfg["lr"], 0.001); // the preset's default
    assert_eq!(cfg["batch_size"], 64);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("test accuracy"), "{stdout}");
}

/// `--validation N`: trains on the first len − N training samples and reports on the last N
/// (never the test set); metrics.json, the weights' metadata and the summary line say so.
#[test]
fn validation_holds_out_the_last_training_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let res = joulebench(&[
        "train",
        "--model",
        "mlp1d",
        "--dataset",
        "mnist1d",
        "--epochs",
        "1",
        "--validation",
        "300",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let full = joulebench_data::Dataset::load(joulebench_data::DatasetKind::Mnist1d, None).unwrap();
    assert_eq!(m["train_samples"], full.train.len() - 300);
    assert_eq!(m["test_samples"], 300);
    assert_eq!(m["eval_split"], "validation (last 300 training samples)");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("train.json")).unwrap()).unwrap();
    assert_eq!(cfg["validation"], 300);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        stdout.contains("validation (last 300 training samples) accuracy"),
        "{stdout}"
    );
    let w = joulebench_models::Weights::load(&out.join("weights.safetensors")).unwrap();
    assert!(w.metadata.contains_key("validation_acc") && !w.metadata.contains_key("test_acc"));
}

#[test]
fn bad_input_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let o = tmp.path().join("x");
    let o = o.to_str().unwrap();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["train", "--device", "cpu", "--quiet", "--out", o]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str], needle: &str| {
        let v = base(extra);
        let args: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        fails_with(&args, &[needle]);
    };
    run(
        &["--model", "resnet50", "--dataset", "mnist1d"],
        "unknown preset `resnet50`",
    );
    run(
        &["--model", "cnn", "--dataset", "mnist1d"],
        "does not fit mnist1d",
    );
    run(
        &[
            "--model",
            "mlp-sweep",
            "--dataset",
            "mnist1d",
            "--width",
            "0",
        ],
        "width must be at least 1",
    );
    run(
        &["--model", "mlp1d", "--dataset", "mnist1d", "--lr", "0"],
        "learning rate",
    );
    run(
        &[
            "--model",
            "mlp1d",
            "--dataset",
            "mnist1d",
            "--meter",
            "estimate",
        ],
        "never estimated",
    );
    run(
        &[
            "--model",
            "mlp1d",
            "--dataset",
            "mnist1d",
            "--meter",
            "joules",
        ],
        "unknown meter `joules`",
    );
    run(
        &["--model", "mlp1d", "--dataset", "mnist1d", "--lr=-0.1"],
        "learning rate",
    );
    run(
        &[
            "--model",
            "snn-temporal",
            "--dataset",
            "mnist1d",
            "--steps",
            "0",
        ],
        "steps must be at least 1",
    );
    run(
        &[
            "--model",
            "mlp",
            "--dataset",
            "mnist",
            "--data-dir",
            "/nonexistent/joulebench-data",
        ],
        "/nonexistent/joulebench-data",
    );
    run(&["--model", "mlp", "--dataset", "cifar10"], "cifar10");
    let d1 = ["--dataset", "mnist1d"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["--model", "snn-temporal", "--dataset", "mnist1d"];
        v.extend_from_slice(extra);
        v
    };
    // snn-temporal on mnist1d with one bad flag each: (flag, value, what the error says)
    for (flag, value, want) in [
        ("--surrogate", "sigmoid", "unknown surrogate `sigmoid`"),
        (
            "--surrogate",
            "fast-sigmoid:-3",
            "slope must be a finite number > 0",
        ),
        ("--beta", "1.5", "beta must be in [0, 1]"),
        (
            "--threshold",
            "-1",
            "threshold must be a finite number > 0, got -1",
        ),
        ("--dropout", "1", "dropout must be in [0, 1)"),
        (
            "--loss",
            "mse",
            "unknown loss `mse` (expected readout or per-step)",
        ),
        ("--validation", "0", "at least 1 training sample"),
        ("--validation", "100000", "cannot hold out 100000 of the"),
        ("--readout", "max", "unknown readout `max`"),
        ("--augment", "flip", "augmentation flip works on 2-D images"),
        (
            "--augment",
            "shift:12",
            "augmentation `shift:12`: the largest offset must be a whole number of pixels in 1..=8",
        ),
        ("--augment", "rotate", "unknown augmentation `rotate`"),
        (
            "--label-smoothing",
            "1",
            "label smoothing must be in [0, 1), got 1",
        ),
        (
            "--weight-decay",
            "-0.5",
            "weight decay must be a finite number ≥ 0, got -0.5",
        ),
    ] {
        run(&with(&[flag, value]), want);
    }
    let mut mlp_beta = vec!["--model", "mlp1d"];
    mlp_beta.extend_from_slice(&d1);
    mlp_beta.extend_from_slice(&["--beta", "0.5"]);
    run(&mlp_beta, "has no LIF neurons");
    let mut snn_readout = vec!["--model", "snn"];
    snn_readout.extend_from_slice(&d1);
    snn_readout.extend_from_slice(&["--readout", "spike-count"]);
    run(&snn_readout, "does not end in a LIF layer");
    run(
        &[
            "--model",
            "mlp",
            "--dataset",
            "mnist1d",
            "--optimizer",
            "lbfgs",
        ],
        "unknown optimizer",
    );
    run(
        &[
            "--model",
            "mlp-sweep",
            "--dataset",
            "mnist1d",
            "--input",
            "resize14",
        ],
        "needs 2-D",
    );
    fails_with(
        &[
            "train",
            "--model",
            "mlp1d",
            "--dataset",
            "mnist1d",
            "--device",
            "tpu",
            "--out",
            o,
        ],
        &["unknown device"],
    );
    // nothing was written for refused runs
    assert!(!std::path::Path::new(o).join("done").exists());
}
