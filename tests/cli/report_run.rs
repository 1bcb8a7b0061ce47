//! `joulebench run` end to end on a small slice: trains one MNIST-1D preset, exports it,
//! evaluates and profiles one backend, writes results + report; a second run skips every
//! finished stage and leaves the results intact.
#![cfg(feature = "training")]

use std::process::Command;

use joulebench_report::EnergyKind;

fn run(out: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args([
            "run",
            "--quick",
            "--models",
            "mlp1d",
            "--backends",
            "native",
            "--meter",
            "estimate",
            "--out",
        ])
        .arg(out)
        // no saved calibration of the machine running the tests: the power model is resolved
        // from the spec table or the generic range
        .env("JOULEBENCH_CONFIG_DIR", out.join("config"))
        .output()
        .unwrap()
}

#[test]
fn run_writes_results_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("train mlp1d") && err.contains("report"),
        "{err}"
    );
    let data: joulebench_report::ReportData =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(data.models.len(), 1);
    let m = &data.models[0];
    assert_eq!(
        m.macs,
        40 * 64 + 64 * 10,
        "mlp1d MACs counted from the spec"
    );
    // Quick on MNIST-1D trains the full MNIST-1D recipe: mlp1d's 40 epochs.
    assert_eq!(
        m.training.as_ref().unwrap().epochs.len(),
        joulebench_models::preset_info("mlp1d")
            .unwrap()
            .train_defaults("mnist1d")
            .epochs
    );
    assert_eq!(m.training.as_ref().unwrap().epochs.len(), 40);
    // One row per batch size (quick: 1 and 16); no meter asked for: energy modelled from CPU time
    // (the best figure) and estimated from op counts, each labelled, none measured.
    assert_eq!(data.inference.len(), 2);
    let e = data.inference[0].energy.as_ref().unwrap();
    assert!(
        e.kind == EnergyKind::Modelled && e.joules_per_inference > 0.0,
        "{e:?}"
    );
    let kinds: Vec<EnergyKind> = data.inference[0]
        .energy_sources
        .iter()
        .map(|f| f.kind)
        .collect();
    assert_eq!(kinds, vec![EnergyKind::Modelled, EnergyKind::Estimate]);
    let cpu = data.inference[0]
        .latency
        .as_ref()
        .unwrap()
        .cpu_us_per_inference
        .unwrap();
    assert!(cpu > 0.0, "CPU time per inference measured");
    // Agreement with the tch reference on the same inputs, on every row of the native backend.
    for r in &data.inference {
        assert_eq!(r.backend, "native");
        let a = r.agreement.expect("agreement with tch");
        assert!(a >= 0.99, "native vs tch argmax agreement {a}");
        let d = r.max_abs_logit_diff.expect("max |Δlogit| vs tch");
        // f32 summation order only: 2.9e-6 measured (see training/tests/engines_vs_tch.rs)
        assert!((0.0..1e-4).contains(&d), "native vs tch max |Δlogit| {d}");
        // the native engine classifies the whole test split (1000 samples) as the trained
        // model did in its last evaluation, up to the samples where they disagree
        assert_eq!(r.eval_samples, 1000);
        let acc = r.accuracy.unwrap();
        let trained = m.test_accuracy.expect("the training's test accuracy");
        assert!(
            (acc - trained).abs() <= 1.0 - a + 1e-9,
            "native accuracy {acc} vs the trained model's {trained} (agreement {a})"
        );
        // ten epochs of mlp1d learn MNIST-1D well beyond chance (0.1): 0.416 measured
        assert!(acc >= 0.3, "test accuracy after 10 epochs: {acc}");
    }
    // `--meter estimate`: training energy is never estimated, so no epoch has any.
    assert!(m
        .training
        .as_ref()
        .unwrap()
        .epochs
        .iter()
        .all(|e| e.energy.is_none()));
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("estimate: "));
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);

    let weights = dir.path().join("runs/mlp1d/weights.safetensors");
    let before = std::fs::metadata(&weights).unwrap().modified().unwrap();
    let out = run(dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("skipped").count(),
        3,
        "train, export and bench are skipped: {err}"
    );
    assert_eq!(
        std::fs::metadata(&weights).unwrap().modified().unwrap(),
        before
    );
}
