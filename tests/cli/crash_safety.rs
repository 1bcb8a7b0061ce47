//! Crash safety with real child processes: `joulebench sweep` and `joulebench run` are killed
//! with SIGKILL at seeded random points (after a seeded number of finished runs, or when a seeded
//! file appears), restarted, and at the end every run must be finished and intact (weights load,
//! metrics complete), none redone (the `done` marker's mtime and the weights' bytes of a run
//! finished before a kill are unchanged) and none duplicated, with a complete summary.
//!
//! Kill points are reached by polling the file system; nothing here times anything.
#![cfg(feature = "training")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use joulebench_models::{RunDir, Weights};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Upper bound on waiting for one kill point; only reached when the child hangs or dies early.
const GUARD: Duration = Duration::from_secs(600);

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .env_remove("JOULEBENCH_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start joulebench")
}

/// Polls until `ready()` holds; returns false when the child exited first.
fn wait_for(child: &mut Child, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if ready() {
            return true;
        }
        if child.try_wait().expect("poll child").is_some() {
            return ready();
        }
        assert!(start.elapsed() < GUARD, "kill point never reached");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sigkill(child: &mut Child) {
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
}

/// What identifies a finished run: the `done` marker's mtime and the weights' bytes.
#[derive(Debug, PartialEq, Clone)]
struct Finished {
    done_mtime: SystemTime,
    weights: Vec<u8>,
}

fn finished_runs(folders: &[PathBuf]) -> BTreeMap<PathBuf, Finished> {
    folders
        .iter()
        .filter(|d| RunDir::new(d.as_path()).is_done())
        .map(|d| {
            let run = RunDir::new(d.as_path());
            let f = Finished {
                done_mtime: std::fs::metadata(run.done_path())
                    .unwrap()
                    .modified()
                    .unwrap(),
                weights: std::fs::read(run.weights_path()).unwrap(),
            };
            (d.clone(), f)
        })
        .collect()
}

fn run_folders(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => vec![],
    };
    v.sort();
    v
}

fn done_count(dir: &Path) -> usize {
    run_folders(dir)
        .iter()
        .filter(|d| RunDir::new(d.as_path()).is_done())
        .count()
}

/// Every finished run is whole: spec, weights that load for it, metrics with `epochs` epochs.
fn assert_intact(run: &Path, epochs: usize) {
    let r = RunDir::new(run);
    assert!(r.is_done(), "{} did not finish", run.display());
    let spec = r
        .spec()
        .unwrap_or_else(|e| panic!("{}: {e}", run.display()));
    let w: Weights = r
        .weights(&spec)
        .unwrap_or_else(|e| panic!("{}: weights: {e}", run.display()));
    drop(w);
    let m = joulebench_training::Metrics::load(&r)
        .unwrap_or_else(|e| panic!("{}: metrics: {e}", run.display()));
    assert_eq!(
        m.epochs.len(),
        epochs,
        "{}: metrics incomplete",
        run.display()
    );
}

/// Kills that must not lose or redo work: `before` (finished before a kill) ⊆ `after`, equal.
fn assert_not_redone(before: &BTreeMap<PathBuf, Finished>, after: &BTreeMap<PathBuf, Finished>) {
    for (run, f) in before {
        let a = after
            .get(run)
            .unwrap_or_else(|| panic!("{} was finished and is gone", run.display()));
        assert_eq!(a, f, "{} was redone after a restart", run.display());
    }
}

#[test]
fn sweep_killed_at_random_points_resumes_without_redoing_runs() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("grid.toml");
    let seeds = 5;
    std::fs::write(
        &file,
        format!(
            "description = \"crash safety\"\ndataset = \"mnist1d\"\nmodel = \"mlp1d\"\nepochs = 1\n\
             batch = 64\nthreads = 1\nlimit_train = 1000\nlimit_test = 200\nseed = [{}]\n",
            (0..seeds).map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
        ),
    )
    .unwrap();
    let out = t.path().join("sweep");
    let args = [
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut kills = 0;
    for _ in 0..4 {
        let before = finished_runs(&run_folders(&out));
        let mut child = spawn(&args);
        let have = before.len();
        // seeded kill point: right after the next run folder appears (mid-training), or after
        // 1–2 more runs finished
        let reached = if rng.random_bool(0.5) {
            let folders = run_folders(&out).len();
            wait_for(&mut child, || run_folders(&out).len() > folders)
        } else {
            let more = rng.random_range(1..=2);
            wait_for(&mut child, || done_count(&out) >= have + more)
        };
        if !reached || child.try_wait().unwrap().is_some() {
            let _ = child.wait();
            break; // finished before the kill point
        }
        sigkill(&mut child);
        kills += 1;
        assert_not_redone(&before, &finished_runs(&run_folders(&out)));
    }
    assert!(kills >= 2, "the sweep finished before two kills");
    let before = finished_runs(&run_folders(&out));
    let o = Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .env_remove("JOULEBENCH_DATA")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains(&format!("{} skipped", before.len())),
        "the last restart must skip exactly the finished runs: {stdout}"
    );
    let folders = run_folders(&out);
    assert_eq!(
        folders.len(),
        seeds,
        "one folder per run, none duplicated: {folders:?}"
    );
    for f in &folders {
        assert_intact(f, 1);
    }
    assert_not_redone(&before, &finished_runs(&folders));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), seeds);
    assert!(rows
        .iter()
        .all(|r| r["status"] == "done" && r["test_acc"].is_number()));
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), seeds + 1, "{csv}");
}

#[test]
fn run_killed_midway_resumes_and_completes_the_report() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let args = [
        "run",
        "--quick",
        "--quiet",
        "--dataset",
        "mnist1d",
        "--models",
        "mlp1d,cnn1d",
        "--backends",
        "native",
        "--meter",
        "estimate",
        "--out",
        out.to_str().unwrap(),
    ];
    let runs = out.join("runs");
    let mut rng = ChaCha8Rng::seed_from_u64(81);
    // kill points, seeded: mid-training of the first preset, after it finished, after its
    // results were written
    let points: Vec<u8> = (0..2).map(|_| rng.random_range(0..3)).collect();
    let mut kills = 0;
    for p in points {
        let before = finished_runs(&run_folders(&runs));
        let mut child = spawn(&args);
        let reached = match p {
            0 => wait_for(&mut child, || {
                runs.join("mlp1d").join("train.json").exists()
            }),
            1 => wait_for(&mut child, || done_count(&runs) > before.len()),
            _ => wait_for(&mut child, || {
                run_folders(&runs)
                    .iter()
                    .any(|d| d.join("results").join("native.json").exists())
            }),
        };
        if !reached || child.try_wait().unwrap().is_some() {
            let _ = child.wait();
            break;
        }
        sigkill(&mut child);
        kills += 1;
        assert_not_redone(&before, &finished_runs(&run_folders(&runs)));
    }
    assert!(kills >= 1, "the run finished before any kill");
    let before = finished_runs(&run_folders(&runs));
    let results_before: BTreeMap<PathBuf, Vec<u8>> = run_folders(&runs)
        .iter()
        .map(|d| d.join("results").join("native.json"))
        .filter(|p| p.exists())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let o = Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .env_remove("JOULEBENCH_DATA")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let folders = run_folders(&runs);
    let names: Vec<String> = folders
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["cnn1d", "mlp1d"]);
    for f in &folders {
        assert_intact(f, epochs_of(f));
        assert!(RunDir::new(f).onnx_path().is_file());
    }
    assert_not_redone(&before, &finished_runs(&folders));
    for (p, b) in &results_before {
        assert_eq!(&std::fs::read(p).unwrap(), b, "{} rewritten", p.display());
    }
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let text = results.to_string();
    assert!(
        text.contains("mlp1d") && text.contains("cnn1d"),
        "results incomplete"
    );
    assert!(out.join("report.html").is_file() && out.join("results.csv").is_file());
}

/// Epochs the run was configured for (`train.json`).
fn epochs_of(run: &Path) -> usize {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("train.json")).unwrap()).unwrap();
    v["epochs"].as_u64().unwrap() as usize
}
