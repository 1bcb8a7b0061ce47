//! `joulebench sweep --shard I/N`, `sweep merge` and `sweep --slurm`: shards racing in one
//! folder train every run exactly once and merge into the single-machine result; a killed shard
//! re-run finishes the rest and redoes nothing; merges of conflicting runs or different grids
//! are refused.
#![cfg(feature = "training")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::refused;

/// 4 tiny MNIST-1D runs (2 learning rates × 2 seeds), one thread each (deterministic).
const TINY: &str = r#"
description = "shard test"
dataset = "mnist1d"
model = "mlp1d"
lr = [0.001, 0.003]
seed = [0, 1]
epochs = 1
limit_train = 500
limit_test = 100
device = "cpu"
threads = 1
"#;

fn jb() -> Command {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
}

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

fn ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `N` of `N trained` in a sweep's stdout.
fn trained(stdout: &str) -> usize {
    let at = stdout.find(" trained").expect(stdout);
    stdout[..at]
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .expect(stdout)
}

fn rows(summary: &Path) -> BTreeMap<String, serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// The fields training determines (seeded, one thread): not wall time.
const DETERMINISTIC: &[&str] = &[
    "status",
    "params",
    "macs",
    "test_acc",
    "test_loss",
    "train_acc",
];

#[test]
fn racing_shards_in_one_folder_train_each_run_once_and_merge_to_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny.toml");
    std::fs::write(&file, TINY).unwrap();
    let whole = tmp.path().join("whole");
    ok(
        &jb()
            .args(["sweep", p(&file), "--out", p(&whole), "-q"])
            .output()
            .unwrap(),
        "whole run",
    );

    // shard 0/2, shard 1/2 and an unsharded run of the same grid, all at once in one folder
    let shared = tmp.path().join("shared");
    let spawn = |extra: &[&str]| {
        jb().args(["sweep", p(&file), "--out", p(&shared), "-q"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let kids = [
        spawn(&["--shard", "0/2"]),
        spawn(&["--shard", "1/2"]),
        spawn(&[]),
    ];
    let outs: Vec<String> = kids
        .into_iter()
        .map(|k| ok(&k.wait_with_output().unwrap(), "concurrent sweep"))
        .collect();
    let total: usize = outs.iter().map(|o| trained(o)).sum();
    assert_eq!(total, 4, "every run trained exactly once: {outs:?}");
    assert!(shared.join("summary.shard-0-of-2.json").is_file());
    assert!(shared.join("summary.shard-1-of-2.json").is_file());

    let merged = tmp.path().join("merged");
    let out = ok(
        &jb()
            .args(["sweep", "merge", p(&shared), "--out", p(&merged)])
            .output()
            .unwrap(),
        "merge",
    );
    assert!(out.contains("4 of 4 runs done"), "{out}");
    assert!(merged.join("summary.csv").is_file() && merged.join("report.html").is_file());
    let (a, b) = (
        rows(&whole.join("summary.json")),
        rows(&merged.join("summary.json")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, ra) in &a {
        for f in DETERMINISTIC {
            assert_eq!(ra[f], b[name][f], "{name}: {f}");
        }
        assert_eq!(ra["status"], "done");
    }
    // the whole run and the shards together: identical duplicates merge fine
    ok(
        &jb()
            .args(["sweep", "merge", p(&whole), p(&shared), "--out", p(&merged)])
            .output()
            .unwrap(),
        "merge with duplicates",
    );
    assert_eq!(rows(&merged.join("summary.json")).len(), 4);
}

fn run_dirs_done(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|d| d.join("done").is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn killed_shard_rerun_finishes_without_redoing_or_duplicating() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.toml");
    // runs long enough to be killed between its two runs
    std::fs::write(
        &file,
        "dataset = \"mnist1d\"\nmodel = \"mlp1d\"\nlr = [0.001, 0.002, 0.003, 0.004]\nepochs = 3\nlimit_train = 2000\nlimit_test = 200\ndevice = \"cpu\"\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let args = ["sweep", p(&file), "--out", p(&out), "-q", "--shard", "1/2"];
    let mut child = jb()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while run_dirs_done(&out).is_empty() {
        if let Some(s) = child.try_wait().unwrap() {
            panic!("the shard exited before any run finished: {s}");
        }
        assert!(Instant::now() < deadline, "no run finished in time");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: its run lock must not outlive it
    child.wait().unwrap();
    let before = run_dirs_done(&out);
    assert_eq!(
        before.len(),
        1,
        "the shard finished before it could be killed"
    );
    let stamp = |d: &Path| std::fs::read(d.join("weights.safetensors")).unwrap();
    let kept = stamp(&before[0]);

    let res = ok(&jb().args(args).output().unwrap(), "re-run of the shard");
    assert!(res.contains("1 trained, 1 skipped"), "{res}");
    let after = run_dirs_done(&out);
    assert_eq!(after.len(), 2, "shard 1/2 owns 2 of the 4 runs: {after:?}");
    assert_eq!(stamp(&before[0]), kept, "the finished run was redone");
    let shard_rows = rows(&out.join("summary.shard-1-of-2.json"));
    assert_eq!(shard_rows.len(), 2);
    assert!(shard_rows.values().all(|r| r["status"] == "done"));
    // the other shard never ran: the merge says so and lists them as missing
    let merged = tmp.path().join("m");
    let o = jb()
        .args(["sweep", "merge", p(&out), "--out", p(&merged)])
        .output()
        .unwrap();
    let stdout = ok(&o, "merge of one shard");
    assert!(stdout.contains("2 of 4 runs done"), "{stdout}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 run(s) not finished"));
}

/// A summary as `joulebench sweep` writes it, with one done row.
fn summary(hash: &str, acc: f64) -> String {
    format!(
        r#"{{"description": null, "trained": 1, "skipped": 0, "failed": 0, "grid_hash": "{hash}",
           "rows": [{{"name": "mlp1d_run", "status": "done", "model": "mlp1d", "test_acc": {acc}}}]}}"#
    )
}

#[test]
fn merge_refuses_conflicts_and_different_grids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str, text: &str| {
        let d = tmp.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("summary.json"), text).unwrap();
        d
    };
    let a = dir("a", &summary("00000000000000aa", 0.5));
    let same = dir("same", &summary("00000000000000aa", 0.5));
    let conflict = dir("conflict", &summary("00000000000000aa", 0.6));
    let other = dir("other", &summary("00000000000000bb", 0.5));
    let out = tmp.path().join("out");
    ok(
        &jb()
            .args(["sweep", "merge", p(&a), p(&same), "--out", p(&out)])
            .output()
            .unwrap(),
        "identical duplicates",
    );
    let args = ["sweep", "merge", p(&a), p(&conflict), "--out", p(&out)];
    refused(
        &jb().args(args).output().unwrap(),
        &args,
        &["mlp1d_run", "conflicting", "test_acc", "0.6"],
    );
    let args = ["sweep", "merge", p(&a), p(&other), "--out", p(&out)];
    refused(
        &jb().args(args).output().unwrap(),
        &args,
        &["different sweep files", "00000000000000bb"],
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let args = ["sweep", "merge", p(&empty), "--out", p(&out)];
    refused(
        &jb().args(args).output().unwrap(),
        &args,
        &["no sweep summary"],
    );
}

#[test]
fn slurm_scripts_and_bad_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny.toml");
    std::fs::write(&file, TINY).unwrap();
    let out = tmp.path().join("out");
    let o = jb()
        .args([
            "sweep",
            p(&file),
            "--out",
            p(&out),
            "--slurm",
            "--shards",
            "2",
        ])
        .args([
            "--partition",
            "short",
            "--time",
            "0:30:00",
            "--cpus-per-task",
            "1",
        ])
        .output()
        .unwrap();
    let stdout = ok(&o, "--slurm");
    assert!(stdout.contains("4 runs in 2 array tasks"), "{stdout}");
    let array = std::fs::read_to_string(out.join("slurm/array.sbatch")).unwrap();
    assert!(array.contains("#SBATCH --array=0-1") && array.contains("${SLURM_ARRAY_TASK_ID}/2"));
    let merge = std::fs::read_to_string(out.join("slurm/merge.sbatch")).unwrap();
    assert!(merge.contains("sweep merge"));
    assert!(!out.join("summary.json").exists(), "--slurm trained here");
    for bad in ["2/2", "a/3", "1"] {
        let args = ["sweep", p(&file), "--out", p(&out), "--shard", bad];
        refused(&jb().args(args).output().unwrap(), &args, &["I/N"]);
    }
}
