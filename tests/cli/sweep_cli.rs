//! `joulebench sweep`: killed with SIGKILL after its first run finished and restarted, it keeps
//! every finished run intact and redoes none; misspelt keys are refused.
#![cfg(feature = "training")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SWEEP: &str = r#"
description = "kill/restart test"
dataset = "mnist1d"
model = "mlp1d"
lr = [0.001, 0.002, 0.003, 0.004]
epochs = 3
limit_train = 2000
limit_test = 200
device = "cpu"
"#;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_joulebench")
}

/// `joulebench sweep <file> --out <out> <extra…>`, not started yet.
fn sweep(file: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args([
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .args(extra);
    c
}

fn run_dirs(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Contents of every file of every finished run.
fn finished(out: &Path) -> BTreeMap<PathBuf, BTreeMap<String, Vec<u8>>> {
    let mut m = BTreeMap::new();
    for d in run_dirs(out) {
        if d.join("done").is_file() {
            let mut files = BTreeMap::new();
            for f in [
                "spec.json",
                "train.json",
                "metrics.json",
                "weights.safetensors",
                "done",
            ] {
                files.insert(f.to_string(), std::fs::read(d.join(f)).unwrap());
            }
            m.insert(d, files);
        }
    }
    m
}

#[test]
fn killed_sweep_resumes_without_redoing_finished_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.toml");
    std::fs::write(&file, SWEEP).unwrap();
    let out = tmp.path().join("out");
    let mut child = sweep(&file, &out, &["--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // wait for the first `done` marker (a condition, not a timing), then SIGKILL
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if out.is_dir() && run_dirs(&out).iter().any(|d| d.join("done").is_file()) {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("sweep exited before any run finished: {status}");
        }
        assert!(Instant::now() < deadline, "no run finished in time");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let before = finished(&out);
    assert!(!before.is_empty());
    assert!(
        before.len() < 4,
        "the sweep finished before it could be killed"
    );

    let res = sweep(&file, &out, &["--quiet"]).output().unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let stdout = String::from_utf8_lossy(&res.stdout);
    let expect = format!("{} trained, {} skipped", 4 - before.len(), before.len());
    assert!(stdout.contains(&expect), "expected `{expect}` in: {stdout}");
    let after = finished(&out);
    assert_eq!(after.len(), 4);
    for (dir, files) in &before {
        assert_eq!(
            &after[dir],
            files,
            "{} was redone or changed",
            dir.display()
        );
    }
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert_eq!(
        csv.lines().skip(1).filter(|l| l.contains(",done,")).count(),
        4,
        "{csv}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 4);
    assert!(json["rows"][0]["params"].as_u64().unwrap() > 0);
    assert!(json["rows"][0]["macs"].as_u64().unwrap() > 0);
    // a third run does nothing
    let res = sweep(&file, &out, &["-q"]).output().unwrap();
    assert!(String::from_utf8_lossy(&res.stdout).contains("0 trained, 4 skipped"));
}

#[test]
fn misspelt_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.toml");
    std::fs::write(
        &file,
        "dataset = \"mnist1d\"\nmodel = \"mlp1d\"\nlearnig_rate = 0.1\n",
    )
    .unwrap();
    let res = sweep(&file, &tmp.path().join("o"), &[]).output().unwrap();
    assert_eq!(res.status.code(), Some(1));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("learnig_rate"),
        "{err}"
    );
}
