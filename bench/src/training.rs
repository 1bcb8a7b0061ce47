//! `joulebench bench training`: one training epoch of ours against PyTorch eager and snnTorch,
//! same machine, same recipe, same thread count (issue 3, "Speed").
//!
//! For every case (`mlp-sweep` 784-1024-1024-10 at batch 64; `snn-temporal` 784-256 LIF-128
//! LIF-10 LIF, rate-coded, T = 100, batch 128) it trains ONE epoch on MNIST with our trainer
//! (`joulebench_training::train`, the preset's defaults, CPU, `--threads` libtorch threads and as
//! many rayon threads for the spike encoder) into `DIR/runs/<case>/`, takes the training loop's
//! wall time `train_s` from the run's metrics, then runs `scripts/peers_train.py` with the same
//! data, seed and threads (PyTorch eager for both cases, snnTorch for snn-temporal) and writes
//! `DIR/training.json` and `DIR/training.md` (atomically), with the issue's targets:
//! mlp-sweep ours ≤ 1.0 × PyTorch eager, snn-temporal ours ≤ 0.7 × snnTorch.
//!
//! Full measurement (about 10–15 minutes on a quiet 2-core machine; run nothing else meanwhile):
//!
//! ```text
//! scripts/peers --install
//! scripts/jb-env cargo build --release --features training
//! JOULEBENCH_DATA=../shared/data scripts/jb-env target/release/joulebench bench training --out out/bench
//! ```
//!
//! Quick check (partial epoch, the table says so):
//! `scripts/jb-env target/release/joulebench bench training --limit-train 2000 --out /tmp/bt`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use joulebench_data::{default_fetch_dir, DatasetKind};
use joulebench_models::{preset_info, write_atomic, RunDir};
use joulebench_training::{
    load_dataset, train, DeviceChoice, TrainConfig, TrainOptions, TrainOverrides,
};
use serde::{Deserialize, Serialize};

use joulebench_profiler::{fmt_load, load_average, Machine, UtcTime};

use crate::record::md_cell;

/// The cases this command knows, in table order.
pub const CASES: [&str; 2] = ["mlp-sweep", "snn-temporal"];
/// Training samples of a full MNIST epoch (fewer means `--limit-train` cut it short).
pub const MNIST_TRAIN: usize = 60_000;
/// The peers `scripts/peers_train.py` runs.
pub const PEERS: [&str; 2] = ["pytorch-eager", "snntorch"];

#[derive(Debug, Clone)]
pub struct TrainingConfig {
    /// Cases to measure: mlp-sweep (784-1024-1024-10, batch 64, Adam 1e-3) and/or snn-temporal
    /// (784-256-128-10 LIF, rate-coded T = 100, batch 128, Adam 1e-4).
    pub cases: Vec<String>,
    /// Threads on both sides: libtorch intra-op threads (ours and the peers'
    /// torch.set_num_threads) and our spike encoder's rayon threads (default: all cores).
    pub threads: Option<usize>,
    /// Folder holding mnist/ with the IDX files (or the IDX files themselves); default:
    /// $JOULEBENCH_DATA, else the `joulebench data fetch mnist` folder.
    pub data: Option<PathBuf>,
    /// Train on the first N training samples only (a quick, partial epoch; the table says so).
    pub limit_train: Option<usize>,
    /// Seed of both sides (weights, shuffle, spike encoding).
    pub seed: u64,
    /// Only our trainer; no Python peers (no ratios, targets shown as not measured).
    pub no_peers: bool,
    /// Peers to run: pytorch-eager and/or snntorch (snntorch applies to snn-temporal only).
    pub peers: Vec<String>,
    /// Python with torch and snnTorch (default: $JOULEBENCH_PYTHON, set by scripts/jb-env,
    /// else the project's .jb/venv/bin/python).
    pub python: Option<PathBuf>,
    /// The peers' script (default: scripts/peers_train.py of this source tree).
    pub peer_script: Option<PathBuf>,
    /// Output folder: training.json, training.md, runs/CASE/ (our run folders) and
    /// training-peers-CASE.json (the peers' raw output).
    pub out: PathBuf,
}

/// One side's epoch (ours or a peer's).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochResult {
    /// `joulebench` (ours), `pytorch-eager` or `snntorch`.
    pub engine: String,
    /// Wall seconds of the epoch's training loop (shuffle, batching, spike encoding, forward,
    /// backward, optimizer step; data loaded before, evaluation after).
    pub train_s: f64,
    pub samples: usize,
    pub samples_per_s: f64,
    /// Mean cross-entropy over the epoch's batches (weights as they were then); `None` if not finite.
    pub train_loss: Option<f64>,
    pub train_acc: f64,
    /// Test accuracy after the epoch on `test_samples` test images.
    pub test_acc: f64,
    pub test_samples: usize,
    /// Load average (1/5/15 min) right before and after this side's run.
    pub load_before: Option<[f64; 3]>,
    pub load_after: Option<[f64; 3]>,
    /// Ours' train_s / this side's train_s (`None` for ours).
    pub ours_over_this: Option<f64>,
}

/// The issue's speed target of a case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    /// The peer the target compares with.
    pub peer: String,
    /// Largest allowed ours/peer time ratio.
    pub max_ratio: f64,
    /// The issue's reference time of the peer, seconds (measured there on a 2-core machine;
    /// context only, never compared with).
    pub issue_reference_s: f64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub case: String,
    /// The recipe both sides train.
    pub recipe: String,
    pub ours: EpochResult,
    pub peers: Vec<EpochResult>,
    pub target: Target,
    /// ours / target peer, when the peer ran.
    pub ratio: Option<f64>,
    /// Whether `ratio ≤ max_ratio` (`None`: the peer did not run).
    pub target_met: Option<bool>,
    /// Our run folder.
    pub run_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingReport {
    pub what: String,
    pub how: String,
    pub date: String,
    pub machine: Machine,
    /// Threads of both sides.
    pub threads: usize,
    pub data: PathBuf,
    pub limit_train: Option<usize>,
    /// True when `limit_train` cut the epoch short: times are not the issue's full epoch.
    pub partial_epoch: bool,
    pub seed: u64,
    /// Versions the peers ran with (python, torch, snntorch, numpy); `None` without peers.
    pub peer_versions: Option<serde_json::Value>,
    /// The command line that produced this file.
    pub command: String,
    pub cases: Vec<CaseResult>,
}

/// `scripts/peers_train.py`'s output.
#[derive(Debug, Deserialize)]
struct PeerDoc {
    versions: serde_json::Value,
    threads: usize,
    results: Vec<PeerResult>,
}

#[derive(Debug, Deserialize)]
struct PeerResult {
    case: String,
    peer: String,
    train_s: f64,
    samples: usize,
    samples_per_s: f64,
    train_loss: Option<f64>,
    train_acc: f64,
    test_acc: f64,
    test_samples: usize,
    load_before: Option<[f64; 3]>,
    load_after: Option<[f64; 3]>,
}

fn target_of(case: &str) -> Target {
    match case {
        "mlp-sweep" => Target {
            peer: "pytorch-eager".into(),
            max_ratio: 1.0,
            issue_reference_s: 8.3,
            text: "no slower than PyTorch eager (ours/PyTorch ≤ 1.0)".into(),
        },
        _ => Target {
            peer: "snntorch".into(),
            max_ratio: 0.7,
            issue_reference_s: 214.0,
            text: "at most 0.7 × snnTorch's time (ours/snnTorch ≤ 0.7)".into(),
        },
    }
}

fn recipe_of(case: &str) -> &'static str {
    match case {
        "mlp-sweep" => {
            "784-1024 ReLU-1024 ReLU-10, input (x/255 − 0.1307)/0.3081, cross-entropy, Adam 1e-3, \
             batch 64, shuffled, one epoch"
        }
        _ => {
            "784-256 LIF-128 LIF-10 LIF (β 0.9, θ 1, subtract reset, atan α 2), raw pixels \
             rate-coded per batch over T = 100, logits = mean membrane of the output layer, \
             cross-entropy, Adam 1e-4, batch 128, shuffled, one epoch"
        }
    }
}

/// Test images each side evaluates on after the epoch (`None`: the whole test set).
fn test_limit(case: &str) -> Option<usize> {
    (case == "snn-temporal").then_some(1000)
}

/// The folder holding MNIST's IDX files: `dir/mnist` or `dir` itself (`dir` defaulting to
/// $JOULEBENCH_DATA), else the `data fetch` folder. Errors name where it looked.
pub fn mnist_dir(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let has_idx = |d: &Path| {
        ["train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"]
            .iter()
            .any(|f| d.join(f).is_file())
    };
    let root = dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("JOULEBENCH_DATA").map(PathBuf::from));
    let mut looked = Vec::new();
    if let Some(r) = &root {
        looked.push(r.join("mnist"));
        looked.push(r.clone());
    } else if let Some(d) = default_fetch_dir(DatasetKind::Mnist) {
        looked.push(d);
    }
    if let Some(d) = looked.iter().find(|d| has_idx(d)) {
        return Ok(d.clone());
    }
    let places = looked
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    bail!(
        "MNIST not found: no train-images-idx3-ubyte[.gz] in {} — pass --data DIR (a folder holding \
         mnist/), set JOULEBENCH_DATA, or run `joulebench data fetch mnist`",
        if places.is_empty() {
            "any folder (neither --data, JOULEBENCH_DATA nor HOME is set)".to_string()
        } else {
            places
        }
    )
}

/// The peers' Python and script, checked before anything is trained.
struct PeerSetup {
    python: PathBuf,
    script: PathBuf,
}

fn peer_setup(args: &TrainingConfig, need_snntorch: bool) -> anyhow::Result<PeerSetup> {
    // the source tree this crate sits in (bench/ is one level below the workspace root)
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let python = args
        .python
        .clone()
        .or_else(|| std::env::var_os("JOULEBENCH_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| root.join(".jb/venv/bin/python"));
    let script = args
        .peer_script
        .clone()
        .unwrap_or_else(|| root.join("scripts/peers_train.py"));
    if !script.is_file() {
        bail!(
            "the peers' script {} is missing (pass --peer-script, or --no-peers to time ours only)",
            script.display()
        );
    }
    let import = if need_snntorch {
        "import torch, snntorch"
    } else {
        "import torch"
    };
    let out = Command::new(&python).args(["-c", import]).output();
    match out {
        Err(e) => bail!(
            "cannot run the peers' Python {} ({e}): run `scripts/jb-env true` to create the venv and \
             `scripts/peers --install` for snnTorch, or pass --python (or --no-peers)",
            python.display()
        ),
        Ok(o) if !o.status.success() => bail!(
            "the peers' Python {} cannot `{import}`: run `scripts/peers --install` (installs snnTorch \
             1.0.0 into the project venv), or pass --no-peers; Python said: {}",
            python.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Ok(_) => Ok(PeerSetup { python, script }),
    }
}

fn ratio(ours: f64, peer: f64) -> Option<f64> {
    (peer > 0.0 && ours.is_finite() && peer.is_finite()).then(|| ours / peer)
}

/// Trains one epoch of `case` with our trainer into `DIR/runs/CASE`.
fn ours(
    case: &str,
    args: &TrainingConfig,
    threads: usize,
    data: &Path,
) -> anyhow::Result<(EpochResult, PathBuf)> {
    let o = TrainOverrides {
        data_dir: Some(data.to_path_buf()),
        epochs: Some(1),
        seed: Some(args.seed),
        device: Some(DeviceChoice::Cpu),
        threads: Some(threads),
        limit_train: args.limit_train,
        limit_test: test_limit(case),
        ..Default::default()
    };
    let cfg = TrainConfig::resolve(case, "mnist", &o)?;
    let ds =
        load_dataset(&cfg).with_context(|| format!("loading MNIST from {}", data.display()))?;
    let run_path = args.out.join("runs").join(case);
    let run = RunDir::new(&run_path);
    eprintln!(
        "[bench training] {case} / joulebench: one epoch on {} samples, {threads} threads ...",
        ds.train.len()
    );
    let load_before = load_average();
    let outcome = train(&cfg, &ds, &run, TrainOptions::default())
        .with_context(|| format!("training {case} into {}", run_path.display()))?;
    let load_after = load_average();
    let e = outcome
        .metrics
        .last()
        .context("our trainer finished no epoch")?;
    Ok((
        EpochResult {
            engine: "joulebench".into(),
            train_s: e.train_s,
            samples: outcome.metrics.train_samples,
            samples_per_s: e.samples_per_s,
            train_loss: e.train_loss,
            train_acc: e.train_acc,
            test_acc: e.test_acc,
            test_samples: outcome.metrics.test_samples,
            load_before,
            load_after,
            ours_over_this: None,
        },
        run_path,
    ))
}

/// Runs the peers of `case`; returns their results and the versions they report.
fn peers(
    case: &str,
    args: &TrainingConfig,
    setup: &PeerSetup,
    threads: usize,
    data: &Path,
) -> anyhow::Result<(Vec<EpochResult>, serde_json::Value)> {
    let json = args.out.join(format!("training-peers-{case}.json"));
    let mut cmd = Command::new(&setup.python);
    cmd.arg(&setup.script)
        .arg("--data")
        .arg(data)
        .args(["--cases", case])
        .args(["--peers", &args.peers.join(",")])
        .args(["--threads", &threads.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .arg("--out")
        .arg(&json);
    if let Some(n) = args.limit_train {
        cmd.args(["--limit-train", &n.to_string()]);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running {}", setup.script.display()))?;
    if !status.success() {
        bail!(
            "{} failed ({status}) for {case}; its message is above",
            setup.script.display()
        );
    }
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("reading the peers' output {}", json.display()))?;
    let doc: PeerDoc = serde_json::from_str(&text)
        .with_context(|| format!("{}: not the peers' JSON", json.display()))?;
    if doc.threads != threads {
        bail!(
            "{}: the peers ran with {} threads, asked for {threads}",
            json.display(),
            doc.threads
        );
    }
    let results = doc
        .results
        .into_iter()
        .filter(|r| r.case == case)
        .map(|r| EpochResult {
            engine: r.peer,
            train_s: r.train_s,
            samples: r.samples,
            samples_per_s: r.samples_per_s,
            train_loss: r.train_loss,
            train_acc: r.train_acc,
            test_acc: r.test_acc,
            test_samples: r.test_samples,
            load_before: r.load_before,
            load_after: r.load_after,
            ours_over_this: None,
        })
        .collect();
    Ok((results, doc.versions))
}

pub fn run(args: TrainingConfig) -> anyhow::Result<()> {
    for c in &args.cases {
        if !CASES.contains(&c.as_str()) {
            bail!(
                "--cases: unknown case `{c}` (expected {})",
                CASES.join(", ")
            );
        }
    }
    if args.cases.is_empty() {
        bail!("--cases: name at least one case");
    }
    for p in &args.peers {
        if !PEERS.contains(&p.as_str()) {
            bail!(
                "--peers: unknown peer `{p}` (expected {})",
                PEERS.join(", ")
            );
        }
    }
    if args.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    if args.limit_train == Some(0) {
        bail!("--limit-train must be at least 1");
    }
    for c in &args.cases {
        preset_info(c)?;
    }
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let data = mnist_dir(args.data.as_deref())?;
    let need_snntorch = args.cases.iter().any(|c| c == "snn-temporal")
        && args.peers.iter().any(|p| p == "snntorch");
    let setup = if args.no_peers {
        None
    } else {
        Some(peer_setup(&args, need_snntorch)?)
    };
    // Our spike encoder runs on rayon's global pool: as many threads as libtorch's.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    let mut cases = Vec::new();
    let mut versions = None;
    for case in &args.cases {
        let (mine, run_dir) = ours(case, &args, threads, &data)?;
        let mut theirs = Vec::new();
        if let Some(s) = &setup {
            let (p, v) = peers(case, &args, s, threads, &data)?;
            theirs = p;
            versions = Some(v);
        }
        for p in &mut theirs {
            p.ours_over_this = ratio(mine.train_s, p.train_s);
        }
        let target = target_of(case);
        let r = theirs
            .iter()
            .find(|p| p.engine == target.peer)
            .and_then(|p| p.ours_over_this);
        cases.push(CaseResult {
            case: case.clone(),
            recipe: recipe_of(case).into(),
            target_met: r.map(|r| r <= target.max_ratio),
            ratio: r,
            target,
            ours: mine,
            peers: theirs,
            run_dir,
        });
    }

    let partial = cases.iter().any(|c| c.ours.samples < MNIST_TRAIN);
    let report = TrainingReport {
        what: "training".into(),
        how:
            "wall clock of one epoch's training loop (shuffle, batching, spike encoding, forward, \
              backward, Adam step) on each side, run one after the other on this machine; data \
              decoded to tensors before the clock starts, test evaluation after it stops; no \
              warm-up on either side; ours from RUN/metrics.json train_s (std::time::Instant), \
              the peers' from time.perf_counter in scripts/peers_train.py; one run each (no \
              repeats), so load from other processes shows directly — see the load averages"
                .into(),
        date: UtcTime::now().iso(),
        machine: Machine::collect(),
        threads,
        data: data.clone(),
        limit_train: args.limit_train,
        partial_epoch: partial,
        seed: args.seed,
        peer_versions: versions,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        cases,
    };
    let md = markdown(&report);
    write_atomic(
        &args.out.join("training.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    write_atomic(&args.out.join("training.md"), md.as_bytes())?;
    println!("{md}");
    println!(
        "wrote {} and {}",
        args.out.join("training.json").display(),
        args.out.join("training.md").display()
    );
    Ok(())
}

fn secs(e: Option<&EpochResult>) -> String {
    e.map(|e| format!("{:.2}", e.train_s))
        .unwrap_or_else(|| "—".into())
}

fn acc(e: Option<&EpochResult>) -> String {
    e.map(|e| format!("{:.2} %", 100.0 * e.test_acc))
        .unwrap_or_else(|| "—".into())
}

fn loss(e: Option<&EpochResult>) -> String {
    e.and_then(|e| e.train_loss)
        .map(|l| format!("{l:.4}"))
        .unwrap_or_else(|| "—".into())
}

/// `torch 2.11.0, snntorch 1.0.0, …` from the peers' `versions` object.
fn versions_line(v: &serde_json::Value) -> String {
    match v.as_object() {
        Some(m) => m
            .iter()
            .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("not installed")))
            .collect::<Vec<_>>()
            .join(", "),
        None => v.to_string(),
    }
}

/// The report as Markdown: one table of times and targets, one of accuracies, then the context.
pub fn markdown(r: &TrainingReport) -> String {
    let mut s = String::from("# Training epoch: joulebench vs PyTorch eager and snnTorch\n\n");
    if r.partial_epoch {
        s.push_str(&format!(
            "**Partial epoch** (`--limit-train {}`): these are quick-check times on the first \
             training samples, not the issue's full-epoch measurement.\n\n",
            r.limit_train.map(|n| n.to_string()).unwrap_or_default()
        ));
    }
    s.push_str(
        "| case | samples | ours s | PyTorch eager s | snnTorch s | ours/PyTorch | ours/snnTorch | target | met |\n\
         |---|---:|---:|---:|---:|---:|---:|---|:-:|\n",
    );
    for c in &r.cases {
        let peer = |n: &str| c.peers.iter().find(|p| p.engine == n);
        let rat = |n: &str| {
            peer(n)
                .and_then(|p| p.ours_over_this)
                .map(|x| format!("{x:.2}×"))
                .unwrap_or_else(|| "—".into())
        };
        let met = match (c.target_met, r.partial_epoch) {
            (Some(true), false) => "✓",
            (Some(false), false) => "✗",
            (Some(true), true) => "✓ (partial epoch)",
            (Some(false), true) => "✗ (partial epoch)",
            (None, _) => "not measured",
        };
        s.push_str(&format!(
            "| {} | {}{} | {} | {} | {} | {} | {} | {} | {} |\n",
            c.case,
            c.ours.samples,
            if c.ours.samples < MNIST_TRAIN {
                " (partial)"
            } else {
                ""
            },
            secs(Some(&c.ours)),
            secs(peer("pytorch-eager")),
            secs(peer("snntorch")),
            rat("pytorch-eager"),
            rat("snntorch"),
            md_cell(&c.target.text),
            met
        ));
    }
    s.push_str(
        "\nAfter the epoch (so the recipes can be compared): train loss is the epoch's mean, test \
         accuracy on the first N test images.\n\n\
         | case | side | samples/s | train loss | test acc | test N | load before → after |\n\
         |---|---|---:|---:|---:|---:|---|\n",
    );
    for c in &r.cases {
        for e in std::iter::once(&c.ours).chain(c.peers.iter()) {
            s.push_str(&format!(
                "| {} | {} | {:.0} | {} | {} | {} | {} → {} |\n",
                c.case,
                e.engine,
                e.samples_per_s,
                loss(Some(e)),
                acc(Some(e)),
                e.test_samples,
                fmt_load(e.load_before),
                fmt_load(e.load_after)
            ));
        }
    }
    s.push_str("\nRecipes (both sides):\n\n");
    for c in &r.cases {
        s.push_str(&format!(
            "- **{}**: {} (issue's reference: {} {} s on a 2-core machine; context only).\n",
            c.case, c.recipe, c.target.peer, c.target.issue_reference_s
        ));
    }
    s.push_str(&format!(
        "\n- machine: {}\n- threads: {} (libtorch intra-op on both sides; our spike encoder's \
         rayon pool too)\n- date: {}\n- data: {}\n- seed: {}\n- peers: {}\n- how: {}\n- command: \
         `{}`\n",
        r.machine.line,
        r.threads,
        r.date,
        r.data.display(),
        r.seed,
        r.peer_versions
            .as_ref()
            .map(versions_line)
            .unwrap_or_else(|| "not run (--no-peers)".into()),
        r.how,
        r.command
    ));
    s
}
