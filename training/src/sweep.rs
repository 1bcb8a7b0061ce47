//! Sweeps: a grid of training runs described by a TOML file, one run folder each, resumable.
//!
//! ```toml
//! description = "Adam vs SGD at three learning rates"
//! dataset = "mnist"                 # or a list; mnist, fashion-mnist, mnist1d
//! model = "mlp"                     # preset(s)
//! optimizer = ["adam", "sgd"]
//! lr = [0.001, 0.01, 0.1]
//! batch = [64]
//! epochs = 1
//! # depth, width (mlp-sweep), input (identity|resize14|crop14|resize8), steps (temporal SNNs),
//! # seed, schedule (constant|cosine): each a value or a list. Scalars only: device, threads,
//! # data_dir, limit_train, limit_test, the spiking/regularization knobs beta, threshold, surrogate
//! # ("fast-sigmoid:25"), readout, reset (subtract|zero|to:V|none), augment ("shift:2"), loss,
//! # dropout, weight_decay,
//! # label_smoothing, and validation (hold out the last N training samples and report on them).
//! ```
//!
//! Every key except `description`, `model` and `dataset` is optional (preset defaults apply);
//! unknown keys are rejected. The grid is the product dataset × model × optimizer × lr × batch ×
//! epochs × depth × width × input × steps × seed × schedule, in that order. Each run goes to
//! `OUT/<name>` with a deterministic name built from its values (see [`run_name`]); a folder
//! with the `done` marker is skipped, so a sweep killed at any point and restarted redoes no
//! finished run. Every combination is checked (preset fits the dataset, numbers valid) before
//! anything trains. `OUT/summary.csv` and `OUT/summary.json` are rewritten atomically after every
//! run. With [`SweepOptions::shard`] `I/N` only that share of the grid runs and its summary is
//! `OUT/summary.shard-I-of-N.csv|json`; each run trains under a lock ([`crate::sweep_lock`]), so
//! shards and restarted sweeps may share `OUT` (see docs/cluster.md).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use joulebench_data::{Dataset, DatasetKind};
use joulebench_models::spec::Reset;
use joulebench_models::{
    build_preset, Augment, InputTransform, Loss, LrSchedule, OpCounts, OptimizerKind,
    PresetOptions, Readout, RunDir, Surrogate, SweepRow,
};
use joulebench_models::{grid_hash, summary_stem, Shard, SweepSummaryFile};
use serde::{Deserialize, Serialize};

use crate::config::{TrainConfig, TrainOverrides};
use crate::device::DeviceChoice;
use crate::error::{Result, TrainError};
use crate::metrics::Metrics;
use crate::sweep_lock::RunLock;
use crate::trainer::{train, TrainOptions};

pub use joulebench_models::sweep_spec::{OneOrMany, SweepSpec};

fn axis<T: Clone>(v: &Option<OneOrMany<T>>) -> Vec<Option<T>> {
    match v {
        None => vec![None],
        Some(x) => x.to_vec().into_iter().map(Some).collect(),
    }
}

/// A loaded dataset is shared by the runs that name the same (dataset, folder, train limit,
/// test limit).
type DatasetKey = (
    String,
    Option<PathBuf>,
    Option<usize>,
    Option<usize>,
    Option<usize>,
);

/// Parses an optional value with `parse`, the error as text.
fn parse_opt<T, E: std::fmt::Display>(
    v: &Option<String>,
    parse: impl Fn(&str) -> std::result::Result<T, E>,
) -> std::result::Result<Option<T>, String> {
    v.as_deref()
        .map(parse)
        .transpose()
        .map_err(|e| e.to_string())
}

/// Sweep-wide knobs, parsed once.
struct Fixed {
    surrogate: Option<Surrogate>,
    readout: Option<Readout>,
    reset: Option<Reset>,
    augment: Option<Augment>,
    loss: Option<Loss>,
}

/// Every index combination of axes of lengths `lens`, the last axis varying fastest (so the
/// grid keeps the order of the module docs).
fn grid_points<const N: usize>(lens: [usize; N]) -> impl Iterator<Item = [usize; N]> {
    let total: usize = lens.iter().product();
    (0..total).map(move |mut k| {
        let mut idx = [0usize; N];
        for a in (0..N).rev() {
            idx[a] = k % lens[a];
            k /= lens[a];
        }
        idx
    })
}

/// The sweep file (see the module docs): the libtorch-free [`SweepSpec`] (parsing and the
/// data-free checks live in `joulebench_models::sweep_spec`), plus the grid expansion here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SweepFile(pub SweepSpec);

impl std::ops::Deref for SweepFile {
    type Target = SweepSpec;
    fn deref(&self) -> &SweepSpec {
        &self.0
    }
}

/// One run of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    pub name: String,
    pub config: TrainConfig,
}

impl SweepFile {
    /// Reads and parses a sweep file; unknown keys and wrong types are errors naming the file.
    pub fn load(path: &Path) -> Result<SweepFile> {
        let s = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        SweepFile::parse(&s).map_err(|what| TrainError::Sweep {
            path: path.to_path_buf(),
            what,
        })
    }

    /// Parses sweep TOML text.
    pub fn parse(s: &str) -> std::result::Result<SweepFile, String> {
        SweepSpec::parse(s).map(SweepFile)
    }

    /// Expands the grid and checks every run (the preset fits the dataset, numbers are valid).
    pub fn plan(&self) -> std::result::Result<Vec<PlannedRun>, String> {
        self.0.check()?;
        let device = match &self.device {
            Some(d) => DeviceChoice::from_str(d).map_err(|e| e.to_string())?,
            None => DeviceChoice::Auto,
        };
        let mut runs = Vec::new();
        let mut seen = BTreeSet::new();
        let mut errors = Vec::new();
        // the knobs every run shares, parsed once
        let fixed = Fixed {
            surrogate: parse_opt(&self.surrogate, Surrogate::parse)?,
            readout: parse_opt(&self.readout, Readout::parse)?,
            reset: parse_opt(&self.reset, Reset::parse)?,
            augment: parse_opt(&self.augment, Augment::parse)?,
            loss: parse_opt(&self.loss, Loss::parse)?,
        };
        let (optimizers, lrs, batches) = (axis(&self.optimizer), axis(&self.lr), axis(&self.batch));
        let (epochs, depths, widths) = (axis(&self.epochs), axis(&self.depth), axis(&self.width));
        let (inputs, steps, seeds) = (axis(&self.input), axis(&self.steps), axis(&self.seed));
        let schedules = axis(&self.schedule);
        let lens = [
            optimizers.len(),
            lrs.len(),
            batches.len(),
            epochs.len(),
            depths.len(),
            widths.len(),
            inputs.len(),
            steps.len(),
            seeds.len(),
            schedules.len(),
        ];
        for dataset in self.dataset.to_vec() {
            let kind = DatasetKind::from_str(&dataset).map_err(|e| e.to_string())?;
            let shape = kind.data_shape();
            for model in self.model.to_vec() {
                for [o, l, b, e, d, w, i, t, s, c] in grid_points(lens) {
                    let r = (|| -> std::result::Result<PlannedRun, String> {
                        let o = TrainOverrides {
                            data_dir: self.data_dir.clone(),
                            options: PresetOptions {
                                width: widths[w],
                                depth: depths[d],
                                input: parse_opt(&inputs[i], InputTransform::parse)?,
                                steps: steps[t],
                                beta: self.beta,
                                threshold: self.threshold,
                                surrogate: fixed.surrogate,
                                readout: fixed.readout,
                                reset: fixed.reset,
                            },
                            augment: fixed.augment,
                            loss: fixed.loss,
                            dropout: self.dropout,
                            weight_decay: self.weight_decay,
                            label_smoothing: self.label_smoothing,
                            optimizer: parse_opt(&optimizers[o], OptimizerKind::parse)?,
                            lr: lrs[l],
                            batch_size: batches[b],
                            epochs: epochs[e],
                            seed: seeds[s],
                            schedule: parse_opt(&schedules[c], LrSchedule::parse)?,
                            device: Some(device),
                            threads: self.threads,
                            limit_train: self.limit_train,
                            limit_test: self.limit_test,
                            validation: self.validation,
                        };
                        let cfg = TrainConfig::resolve(&model, kind.name(), &o)
                            .map_err(|e| e.to_string())?;
                        build_preset(&model, &shape, &cfg.options).map_err(|e| e.to_string())?;
                        Ok(PlannedRun {
                            name: run_name(&cfg),
                            config: cfg,
                        })
                    })();
                    match r {
                        Ok(run) => {
                            if seen.insert(run.name.clone()) {
                                runs.push(run);
                            }
                        }
                        Err(e) => errors.push(format!("{model} on {dataset}: {e}")),
                    }
                }
            }
        }
        if !errors.is_empty() {
            errors.dedup();
            return Err(format!(
                "{} invalid combination(s):\n  {}",
                errors.len(),
                errors.join("\n  ")
            ));
        }
        if runs.is_empty() {
            return Err("the grid is empty (an axis has an empty list)".into());
        }
        Ok(runs)
    }
}

/// Deterministic folder name of a run:
/// `{model}_{dataset}_{optimizer}_lr{lr}_b{batch}_e{epochs}[_d{depth}][_w{width}][_{input}][_T{steps}][_{schedule}]_s{seed}`
/// (optional parts only when set; the schedule only when not constant).
pub fn run_name(c: &TrainConfig) -> String {
    let mut s = format!(
        "{}_{}_{}_lr{}_b{}_e{}",
        c.preset,
        c.dataset,
        c.optimizer.name(),
        c.lr,
        c.batch_size,
        c.epochs
    );
    if let Some(d) = c.options.depth {
        s.push_str(&format!("_d{d}"));
    }
    if let Some(w) = c.options.width {
        s.push_str(&format!("_w{w}"));
    }
    if let Some(i) = c.options.input {
        s.push_str(&format!("_{}", i.name()));
    }
    if let Some(t) = c.options.steps {
        s.push_str(&format!("_T{t}"));
    }
    if c.schedule != LrSchedule::Constant {
        s.push_str(&format!("_{}", c.schedule.name()));
    }
    s.push_str(&format!("_s{}", c.seed));
    s.chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || "-_.".contains(ch) {
                ch
            } else {
                '-'
            }
        })
        .collect()
}

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub description: Option<String>,
    /// Runs trained now.
    pub trained: usize,
    /// Runs skipped because they had finished before.
    pub skipped: usize,
    pub failed: usize,
    pub rows: Vec<SweepRow>,
}

/// How a sweep reports.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// No progress bars or per-epoch lines (per-run lines still go to stderr unless `silent`).
    pub quiet: bool,
    pub silent: bool,
    /// Run only this share of the grid (`None`: all of it); its summary goes to
    /// `summary.shard-I-of-N.json|csv`.
    pub shard: Option<Shard>,
}

fn row(run: &PlannedRun, status: &str, out: &Path, error: Option<String>) -> SweepRow {
    let c = &run.config;
    let dir = RunDir::new(out.join(&run.name));
    let spec = dir.spec().ok();
    let counts = spec.as_ref().and_then(|s| OpCounts::of(s).ok());
    let metrics = if status == "done" {
        Metrics::load(&dir).ok()
    } else {
        None
    };
    let last = metrics.as_ref().and_then(|m| m.last().cloned());
    SweepRow {
        name: run.name.clone(),
        status: status.to_string(),
        model: c.preset.clone(),
        dataset: c.dataset.clone(),
        optimizer: c.optimizer.name().to_string(),
        lr: c.lr,
        batch: c.batch_size,
        epochs: c.epochs,
        depth: c.options.depth,
        width: c.options.width,
        input: c.options.input.unwrap_or_default().name().to_string(),
        steps: spec.as_ref().map(|s| s.steps).unwrap_or(1),
        seed: c.seed,
        schedule: c.schedule.name().to_string(),
        params: counts.as_ref().map(|k| k.total_params).unwrap_or(0),
        macs: counts.as_ref().map(|k| k.total_macs).unwrap_or(0),
        test_acc: last.as_ref().map(|e| e.test_acc),
        test_loss: last.as_ref().and_then(|e| e.test_loss),
        eval_split: metrics.as_ref().map(|m| m.eval_split.clone()),
        train_acc: last.as_ref().map(|e| e.train_acc),
        train_seconds: metrics.as_ref().map(|m| m.train_seconds()),
        device: metrics.as_ref().map(|m| m.device.clone()),
        error,
    }
}

/// The summary as CSV (header + one line per run).
pub use joulebench_models::summary_csv;

/// What the summary files of this process say about the grid.
struct SummaryMeta<'a> {
    grid_hash: String,
    shard: Shard,
    /// Every run key of the whole grid (written in shard summaries).
    grid: &'a [String],
}

fn write_summary(out: &Path, report: &SweepReport, meta: &SummaryMeta) -> Result<()> {
    let sharded = meta.shard.count > 1;
    let file = SweepSummaryFile {
        description: report.description.clone(),
        trained: report.trained,
        skipped: report.skipped,
        failed: report.failed,
        grid_hash: Some(meta.grid_hash.clone()),
        shard: sharded.then_some(meta.shard),
        grid: if sharded {
            meta.grid.to_vec()
        } else {
            Vec::new()
        },
        merged_from: Vec::new(),
        rows: report.rows.clone(),
    };
    file.write(out, &summary_stem(meta.shard))?;
    Ok(())
}

/// Runs (or resumes) the sweep of `file` into `out`: the whole grid, or with
/// [`SweepOptions::shard`] `I/N` its share (see `joulebench_models::sweep_shard`). Every run
/// trains under its lock ([`crate::sweep_lock`]), so processes sharing `out` never train one
/// run twice: a run another process holds is waited for after the rest, then skipped if it
/// finished (or trained here if its holder died before finishing it).
pub fn run_sweep(file: &Path, out: &Path, opts: &SweepOptions) -> Result<SweepReport> {
    let sweep = SweepFile::load(file)?;
    let full = sweep.plan().map_err(|what| TrainError::Sweep {
        path: file.to_path_buf(),
        what,
    })?;
    let shard = opts.shard.unwrap_or(Shard::ALL);
    let grid: Vec<String> = full.iter().map(|r| r.name.clone()).collect();
    let meta = SummaryMeta {
        grid_hash: grid_hash(&sweep.0),
        shard,
        grid: &grid,
    };
    let plan: Vec<PlannedRun> = full
        .iter()
        .zip(shard.select(&grid))
        .filter(|(_, mine)| *mine)
        .map(|(r, _)| r.clone())
        .collect();
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let mut status: Vec<(String, Option<String>)> = plan
        .iter()
        .map(|r| {
            (
                if RunDir::new(out.join(&r.name)).is_done() {
                    "done"
                } else {
                    "pending"
                }
                .to_string(),
                None,
            )
        })
        .collect();
    let mut skipped = status.iter().filter(|s| s.0 == "done").count();
    let make_report =
        |status: &[(String, Option<String>)], trained: usize, skipped: usize| SweepReport {
            description: sweep.description.clone(),
            trained,
            skipped,
            failed: status.iter().filter(|s| s.0 == "failed").count(),
            rows: plan
                .iter()
                .zip(status)
                .map(|(r, (st, err))| row(r, st, out, err.clone()))
                .collect(),
        };
    write_summary(out, &make_report(&status, 0, skipped), &meta)?;
    if !opts.silent {
        let of = if shard.count > 1 {
            format!(" (shard {shard} of a {}-run grid)", grid.len())
        } else {
            String::new()
        };
        eprintln!(
            "sweep {}: {} runs{of}, {} already finished (skipped), {} to train → {}",
            file.display(),
            plan.len(),
            skipped,
            plan.len() - skipped,
            out.display()
        );
    }
    let mut datasets: HashMap<DatasetKey, Dataset> = HashMap::new();
    let mut trained = 0;
    // (run index, wait for its lock): runs another process holds go to the back, waited for
    let mut queue: Vec<(usize, bool)> = (0..plan.len())
        .filter(|&i| status[i].0 != "done")
        .map(|i| (i, false))
        .collect();
    let mut next = 0;
    while next < queue.len() {
        let (i, wait) = queue[next];
        next += 1;
        let run = &plan[i];
        let _lock = if wait {
            RunLock::acquire(out, &run.name)?
        } else {
            match RunLock::try_acquire(out, &run.name)? {
                Some(l) => l,
                None => {
                    if !opts.silent {
                        eprintln!(
                            "[{}/{}] {}: another process is training it; waiting for it after the rest",
                            i + 1,
                            plan.len(),
                            run.name
                        );
                    }
                    queue.push((i, true));
                    continue;
                }
            }
        };
        if RunDir::new(out.join(&run.name)).is_done() {
            // finished by another process since this one started
            status[i] = ("done".into(), None);
            skipped += 1;
            write_summary(out, &make_report(&status, trained, skipped), &meta)?;
            continue;
        }
        let c = &run.config;
        if !opts.silent {
            eprintln!("[{}/{}] {}", i + 1, plan.len(), run.name);
        }
        let key = (
            c.dataset.clone(),
            c.data_dir.clone(),
            c.limit_train,
            c.limit_test,
            c.validation,
        );
        let result = (|| -> Result<()> {
            if !datasets.contains_key(&key) {
                let ds = crate::trainer::load_dataset(c)?;
                datasets.insert(key.clone(), ds);
            }
            let ds = &datasets[&key];
            train(
                c,
                ds,
                &RunDir::new(out.join(&run.name)),
                TrainOptions {
                    quiet: opts.quiet || opts.silent,
                    hook: None,
                },
            )?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                status[i] = ("done".into(), None);
                trained += 1;
            }
            Err(e) => {
                if !opts.silent {
                    eprintln!("  failed: {e}");
                }
                // a missing dataset or device fails every run alike: stop instead of repeating it
                let fatal = matches!(e, TrainError::Data(_) | TrainError::Device(_));
                status[i] = ("failed".into(), Some(e.to_string()));
                if fatal {
                    write_summary(out, &make_report(&status, trained, skipped), &meta)?;
                    return Err(e);
                }
            }
        }
        write_summary(out, &make_report(&status, trained, skipped), &meta)?;
    }
    Ok(make_report(&status, trained, skipped))
}
