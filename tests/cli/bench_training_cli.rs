//! `joulebench bench training`: the report's structure on a quick partial MNIST epoch (ours
//! only, no peers), and clear errors for missing data, a missing peer Python and bad flags.
//! Never asserts timings. The MNIST checks need $JOULEBENCH_DATA/mnist (`joulebench_testkit`).
#![cfg(feature = "training")]

use std::path::{Path, PathBuf};

use crate::common::{fails_with, joulebench};

/// `$JOULEBENCH_DATA` (the folder above `mnist/`), when it holds MNIST; `None` when it does not
/// (a failure in CI, a listed skip locally: `joulebench_testkit`).
fn mnist_root() -> Option<PathBuf> {
    let mnist = joulebench_testkit::shared_data("mnist")?;
    Some(
        mnist
            .parent()
            .expect("a folder inside $JOULEBENCH_DATA")
            .to_path_buf(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn missing_data_and_bad_flags_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    let nowhere = tmp.path().join("no-such-data");
    fails_with(
        &[
            "bench",
            "training",
            "--cases",
            "mlp-sweep",
            "--no-peers",
            "--data",
            s(&nowhere),
            "--out",
            s(&out),
        ],
        &[
            "MNIST not found",
            s(&nowhere),
            "joulebench data fetch mnist",
        ],
    );
    assert!(!out.join("training.json").exists());
    fails_with(
        &["bench", "training", "--cases", "cnn", "--out", s(&out)],
        &["unknown case `cnn`"],
    );
    fails_with(
        &["bench", "training", "--peers", "jax", "--out", s(&out)],
        &["unknown peer `jax`"],
    );
    fails_with(
        &["bench", "training", "--threads", "0", "--out", s(&out)],
        &["--threads must be at least 1"],
    );
}

#[test]
fn missing_peer_python_is_a_clear_error_before_training() {
    let Some(root) = mnist_root() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    let python = tmp.path().join("no-python");
    fails_with(
        &[
            "bench",
            "training",
            "--cases",
            "mlp-sweep",
            "--data",
            s(&root),
            "--python",
            s(&python),
            "--out",
            s(&out),
        ],
        &["cannot run the peers' Python", "scripts/peers --install"],
    );
    // refused before anything was trained
    assert!(!out.join("runs").exists());
}

#[test]
fn partial_mlp_epoch_writes_json_and_markdown() {
    let Some(root) = mnist_root() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    let res = joulebench(&[
        "bench",
        "training",
        "--cases",
        "mlp-sweep",
        "--limit-train",
        "256",
        "--threads",
        "1",
        "--no-peers",
        "--data",
        s(&root),
        "--out",
        s(&out),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );

    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("training.json")).unwrap()).unwrap();
    assert_eq!(j["what"], "training");
    assert_eq!(j["threads"], 1);
    assert_eq!(j["limit_train"], 256);
    assert_eq!(j["partial_epoch"], true);
    assert!(j["peer_versions"].is_null());
    assert!(!j["machine"]["line"].as_str().unwrap().is_empty());
    assert!(j["date"].as_str().unwrap().ends_with('Z'));
    let cases = j["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    let c = &cases[0];
    assert_eq!(c["case"], "mlp-sweep");
    assert_eq!(c["target"]["peer"], "pytorch-eager");
    assert_eq!(c["target"]["max_ratio"], 1.0);
    assert!(c["peers"].as_array().unwrap().is_empty());
    assert!(c["ratio"].is_null());
    assert!(c["target_met"].is_null());
    let ours = &c["ours"];
    assert_eq!(ours["engine"], "joulebench");
    assert_eq!(ours["samples"], 256);
    // mlp-sweep is evaluated on the whole test set
    assert_eq!(ours["test_samples"], 10_000);
    let t = ours["train_s"].as_f64().unwrap();
    assert!(t.is_finite() && t > 0.0);
    let acc = ours["test_acc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    // one epoch of 256 samples already beats chance by far
    assert!(acc > 0.3, "test accuracy {acc}");
    assert!(ours["train_loss"].as_f64().unwrap().is_finite());
    // our run folder is complete
    let run = PathBuf::from(c["run_dir"].as_str().unwrap());
    assert_eq!(run, out.join("runs").join("mlp-sweep"));
    for f in ["spec.json", "metrics.json", "weights.safetensors", "done"] {
        assert!(run.join(f).is_file(), "missing {f}");
    }

    let md = std::fs::read_to_string(out.join("training.md")).unwrap();
    assert!(
        md.contains("**Partial epoch** (`--limit-train 256`)"),
        "{md}"
    );
    assert!(md.contains("| mlp-sweep | 256 (partial) |"), "{md}");
    assert!(md.contains("not measured"), "{md}");
    assert!(md.contains("not run (--no-peers)"), "{md}");
    assert!(md.contains("| mlp-sweep | joulebench |"), "{md}");
    assert!(!md.contains("snn-temporal |"), "{md}");
}
