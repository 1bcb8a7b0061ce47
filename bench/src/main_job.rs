//! `joulebench run`: the main job. Trains every preset that fits the dataset, exports ONNX,
//! evaluates and profiles every backend, and writes `results.json`, `results.csv`, the plots
//! and `report.html` into `--out`.
//!
//! Layout and resumption: `OUT/runs/<preset>/` is a run folder (its `done` marker says training
//! finished), `model.onnx` in it says the export finished, `OUT/runs/<preset>/results/<backend>.json`
//! holds one backend's finished evaluation + profile. A stage whose output exists is skipped, so
//! a run killed at any point (Ctrl-C, SIGKILL) continues where it stopped; every file is written
//! atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use joulebench_data::{Dataset, DatasetKind};
use joulebench_inference::{
    open_backend, Backend, BackendKind, BackendOptions, EventEngine, ModelSource,
};
use joulebench_models::memory::{check_fits_here, MemoryEstimate};
use joulebench_models::{
    write_atomic, DataShape, ModelSpec, Op, PresetOptions, RunDir, Tensor, PRESETS,
};
use joulebench_profiler::cpu_spec::this_cpu;
use joulebench_profiler::{
    profile, resolve_power, select, spec_counts, EnergyConfig, InputGenerator, LatencyConfig,
    MeterChoice, ModelInfo, MonotonicClock, PowerBasis, PowerOptions, ProfileConfig,
    ProfileRequest, ProfileResult, SampleSource, SystemInfo, UtcTime,
};
use joulebench_report::{
    EpochSummary, FirstLayerWeights, InferenceResult, LatencyStats, LayerSpiking, MachineInfo,
    MeasuredEnergy, ModelResult, RasterLayer, ReportData, SpikingActivity, TrainingSummary,
};
use joulebench_training::{
    load_dataset, train, DeviceChoice, EpochHook, Metrics, TrainConfig, TrainOptions,
    TrainOverrides,
};

use crate::agreement::{reference_backend, AgreementTally};
use crate::epoch_meter::{open_training_meter, MeterHook};
use crate::inputs::model_input;

#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Dataset: mnist1d (generated, no download), mnist or fashion-mnist.
    pub dataset: String,
    /// Folder of the dataset files (default: $JOULEBENCH_DATA/NAME, or generated for mnist1d).
    pub data_dir: Option<PathBuf>,
    /// Presets to run, comma-separated, or `all` (every preset that fits the dataset).
    pub models: Vec<String>,
    /// Quick run: short profiling windows, batch sizes 1 and 16; on MNIST-1D (small) the
    /// same training as a full run (each preset's MNIST-1D recipe, temporal SNNs at T = 10) and
    /// the whole test split, on MNIST/Fashion-MNIST 2 epochs, T ≤ 10 and a 500-sample test
    /// slice. Minutes instead of hours; latencies are indicative.
    pub quick: bool,
    /// No progress display; only errors (for scripts).
    pub quiet: bool,
    /// Backends to evaluate and profile, comma-separated (event runs on spiking models only).
    pub backends: Vec<String>,
    /// Worker threads of every backend (like for like; 1 for latency work).
    pub threads: usize,
    /// Energy meter: auto (RAPL/NVML when readable, else the estimate), rapl, nvml, estimate.
    /// Training epochs use the same meter (NVML when training on a GPU, RAPL on the CPU) and are
    /// never estimated: with `estimate` or no readable counter their energy stays empty.
    pub meter: String,
    /// Seed of training, spike encoding and profiling inputs.
    pub seed: u64,
    /// Output folder (created; an existing one is continued).
    pub out: PathBuf,
    /// Run folders taken as they are — a NIR network from `joulebench import`, a run trained
    /// elsewhere: copied into `OUT/runs/<folder name>` (not trained), exported, profiled on every
    /// backend and shown in the report; evaluated on the dataset when their input shape is its
    /// sample shape, else profiled on seeded uniform inputs and shown without accuracy.
    pub add_runs: Vec<PathBuf>,
    /// What the modelled energy (CPU time × power model) may use.
    pub power: PowerOptions,
}

/// Settings that differ between a quick and a full run.
struct Plan {
    epochs: Option<usize>,
    steps_cap: Option<usize>,
    test_limit: Option<usize>,
    batches: Vec<usize>,
    latency: LatencyConfig,
    energy: EnergyConfig,
}

impl Plan {
    fn new(quick: bool, dataset: &str) -> Self {
        // MNIST-1D is 4000 training samples of 40 points: its whole recipe
        // (`PresetInfo::train_defaults`, temporal nets at T = 10) trains in seconds, so a quick
        // run trains exactly what a full run does and only profiles for less time.
        let small = joulebench_models::is_mnist1d(dataset);
        if quick {
            Plan {
                epochs: if small { None } else { Some(2) },
                steps_cap: Some(10),
                test_limit: if small { None } else { Some(500) },
                batches: vec![1, 16],
                latency: LatencyConfig {
                    warmup_queries: 3,
                    warmup_seconds: 0.0,
                    min_queries: 30,
                    min_seconds: 0.1,
                    max_seconds: Some(1.0),
                },
                energy: EnergyConfig {
                    idle_seconds: 0.5,
                    min_window_seconds: 0.2,
                    windows: 5,
                    settle_seconds: 0.5,
                },
            }
        } else {
            Plan {
                epochs: None,
                steps_cap: None,
                test_limit: None,
                batches: vec![1, 8, 64],
                latency: LatencyConfig {
                    warmup_queries: 10,
                    warmup_seconds: 0.0,
                    min_queries: 1024,
                    min_seconds: 1.0,
                    max_seconds: Some(30.0),
                },
                energy: EnergyConfig {
                    idle_seconds: 5.0,
                    min_window_seconds: 1.0,
                    windows: 5,
                    settle_seconds: 2.0,
                },
            }
        }
    }
}

/// One unit of work, shown as a line and a tick of the overall bar.
enum Stage {
    Train(String),
    Export(String),
    Bench(String, BackendKind),
    Report,
}

impl Stage {
    fn label(&self) -> String {
        match self {
            Stage::Train(p) => format!("train {p}"),
            Stage::Export(p) => format!("export {p}"),
            Stage::Bench(p, b) => format!("evaluate + profile {p} on {b}"),
            Stage::Report => "report".into(),
        }
    }
}

fn run_dir(out: &Path, preset: &str) -> RunDir {
    RunDir::new(out.join("runs").join(preset))
}

fn bench_path(out: &Path, preset: &str, b: BackendKind) -> PathBuf {
    out.join("runs")
        .join(preset)
        .join("results")
        .join(format!("{}.json", b.name()))
}

/// Presets to run: `all` = every preset that fits the dataset's shape.
fn presets_for(args: &RunConfig, shape: &DataShape) -> anyhow::Result<Vec<String>> {
    if args.models.iter().any(|m| m == "all") {
        return Ok(PRESETS
            .iter()
            .filter(|p| {
                joulebench_models::build_preset(p.name, shape, &PresetOptions::default()).is_ok()
            })
            .map(|p| p.name.to_string())
            .collect());
    }
    for m in &args.models {
        joulebench_models::build_preset(m, shape, &PresetOptions::default())?;
    }
    Ok(args.models.clone())
}

/// Runs the main job (see the module documentation).
pub fn run(args: RunConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    let kind = DatasetKind::from_str(&args.dataset)?;
    let meter_choice = MeterChoice::parse(&args.meter).map_err(|e| anyhow!(e))?;
    let shape = kind.data_shape();
    let presets = presets_for(&args, &shape)?;
    let backends: Vec<BackendKind> = args
        .backends
        .iter()
        .map(|b| BackendKind::from_str(b))
        .collect::<Result<_, _>>()?;
    let plan = Plan::new(args.quick, &args.dataset);
    refuse_what_would_not_fit(&args, &plan, &shape, &presets)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut presets = presets;
    presets.extend(adopt_runs(&args.out, &args.add_runs)?);

    let data = Dataset::load(kind, args.data_dir.as_deref())
        .with_context(|| format!("loading {}", kind.name()))?;
    // One meter for every training stage (training runs on the default device, `auto`).
    let train_gpu = DeviceChoice::default().resolve()?.is_cuda();
    let train_choice = (meter_choice != MeterChoice::Estimate).then_some(meter_choice);
    let (mut train_meter, train_meter_note) = open_training_meter(train_choice, train_gpu)?;
    let training_ahead = presets.iter().any(|p| !run_dir(&args.out, p).is_done());
    // The CPU power model for modelled energy, and the missing-counter note: chosen and said once.
    let power = resolve_power(&args.power, &this_cpu())?;
    let mut notes = Vec::new();
    let probe = select(
        meter_choice,
        false,
        Path::new(joulebench_profiler::meter::rapl::POWERCAP_ROOT),
        0,
    )?;
    if probe.meter.is_none() {
        let line = format!(
            "energy: {}. Inference energy is modelled ({}: {}) and estimated from operation \
             counts, never measured{}",
            probe.note,
            power.name(),
            power.power_at(1.0).method,
            if train_meter.is_none() {
                "; training epochs get no energy (never modelled or estimated)"
            } else {
                ""
            }
        );
        if !args.quiet {
            eprintln!("{line}");
        }
        notes.push(line);
    }
    if !args.quiet && training_ahead && (probe.meter.is_some() || train_meter.is_some()) {
        eprintln!("training epoch energy: {train_meter_note}");
    }
    drop(probe);
    let mut stages = Vec::new();
    for p in &presets {
        let spiking = match joulebench_models::preset_info(p) {
            Ok(info) => info.spiking,
            Err(_) => run_dir(&args.out, p).spec()?.is_spiking(),
        };
        stages.push(Stage::Train(p.clone()));
        stages.push(Stage::Export(p.clone()));
        for &b in &backends {
            if b == BackendKind::Event && !spiking {
                continue;
            }
            stages.push(Stage::Bench(p.clone(), b));
        }
    }
    stages.push(Stage::Report);

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(stages.len() as u64)
    };
    if !args.quiet {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "[{elapsed_precise}] [{bar:30}] {pos}/{len} stages, eta {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    for (i, stage) in stages.iter().enumerate() {
        let t0 = Instant::now();
        bar.set_message(stage.label());
        let outcome = match stage {
            Stage::Train(p) => stage_train(&args, &plan, p, train_meter.as_mut()),
            Stage::Export(p) => stage_export(&args.out, p),
            Stage::Bench(p, b) => stage_bench(&args, &plan, &data, p, *b, meter_choice, &power),
            Stage::Report => {
                let report = gather(&args, &plan, &presets, &backends, &notes)?;
                let files = joulebench_report::write_report(&report, &args.out)?;
                Ok(format!(
                    "{} ({} plot files)",
                    files.html.display(),
                    files.plots.len()
                ))
            }
        };
        let line = match outcome {
            Ok(what) => format!(
                "[{}/{}] {}: {what} ({:.1} s)",
                i + 1,
                stages.len(),
                stage.label(),
                t0.elapsed().as_secs_f64()
            ),
            Err(e) => {
                // A failed stage is recorded and shown in the report; the rest goes on.
                let msg = format!("{} failed: {e:#}", stage.label());
                notes.push(msg.clone());
                format!("[{}/{}] {msg}", i + 1, stages.len())
            }
        };
        if !args.quiet && !bar.is_hidden() {
            bar.println(line);
        } else if !args.quiet || line.contains(" failed: ") {
            eprintln!("{line}");
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "done in {:.1} s: {}",
            started.elapsed().as_secs_f64(),
            args.out.join("report.html").display()
        );
    }
    Ok(())
}

/// Refuses the whole job up front (before training anything) when one preset's training batch
/// or largest profiling batch would not fit in the memory available here.
fn refuse_what_would_not_fit(
    args: &RunConfig,
    plan: &Plan,
    shape: &DataShape,
    presets: &[String],
) -> anyhow::Result<()> {
    let max_batch = plan.batches.iter().copied().max().unwrap_or(1);
    for p in presets {
        let spec = joulebench_models::build_preset(p, shape, &quick_options(plan, p, shape)?)?;
        if !run_dir(&args.out, p).is_done() {
            let batch = joulebench_models::preset_info(p)?
                .train_defaults(&args.dataset)
                .batch_size;
            let est = MemoryEstimate::for_training(&spec, batch)?;
            check_fits_here(&format!("training {p} at batch {batch}"), &est)?;
        }
        joulebench_models::memory::refuse_if_too_big(Some(&spec), None, &[], max_batch)?;
    }
    Ok(())
}

/// The preset options a run trains with: temporal spiking presets get fewer steps in a quick
/// run.
fn quick_options(plan: &Plan, preset: &str, shape: &DataShape) -> anyhow::Result<PresetOptions> {
    let mut options = PresetOptions::default();
    if let Some(cap) = plan.steps_cap {
        let default_steps = joulebench_models::build_preset(preset, shape, &options)?.steps;
        if default_steps > cap {
            options.steps = Some(cap);
        }
    }
    Ok(options)
}

fn stage_train(
    args: &RunConfig,
    plan: &Plan,
    preset: &str,
    meter: Option<&mut MeterHook>,
) -> anyhow::Result<String> {
    let run = run_dir(&args.out, preset);
    if run.is_done() {
        return Ok("skipped (already trained)".into());
    }
    let info = joulebench_models::preset_info(preset)?;
    let options = quick_options(plan, preset, &dataset_shape(&args.dataset)?)?;
    let o = TrainOverrides {
        data_dir: args.data_dir.clone(),
        options,
        epochs: plan
            .epochs
            .map(|e| e.min(info.train_defaults(&args.dataset).epochs)),
        seed: Some(args.seed),
        // MNIST-1D's models are tiny: libtorch's second intra-op thread gains nothing there and,
        // when another process holds a core, its OpenMP waits made epochs up to 10× slower
        // (rnn: 5.4 s per epoch with 1 thread, 47–71 s with 2, measured side by side).
        threads: Some(if joulebench_models::is_mnist1d(&args.dataset) {
            1
        } else {
            2
        }),
        limit_test: plan.test_limit,
        ..Default::default()
    };
    let cfg = TrainConfig::resolve(preset, &args.dataset, &o)?;
    let ds = load_dataset(&cfg)?;
    let out = train(
        &cfg,
        &ds,
        &run,
        TrainOptions {
            quiet: true,
            hook: meter.map(|m| m as &mut dyn EpochHook),
        },
    )?;
    let last = out.metrics.last().map(|e| e.test_acc).unwrap_or(f64::NAN);
    Ok(format!(
        "{} epochs, test accuracy {:.2} %, {:.1} s training",
        cfg.epochs,
        100.0 * last,
        out.metrics.train_seconds()
    ))
}

fn dataset_shape(name: &str) -> anyhow::Result<DataShape> {
    let kind = DatasetKind::from_str(name)?;
    Ok(kind.data_shape())
}

fn stage_export(out: &Path, preset: &str) -> anyhow::Result<String> {
    let run = run_dir(out, preset);
    if run.onnx_path().is_file() {
        return Ok("skipped (model.onnx exists)".into());
    }
    if !run.is_done() {
        bail!("{} has not finished training", run.path.display());
    }
    let bytes = run.export_onnx_to(&run.onnx_path())?;
    Ok(format!("{} bytes", bytes.len()))
}

/// Preprocessed (and, for spiking models, encoded) test samples `start..end`.
/// Copies each run folder of `--add-run` (spec.json, weights.safetensors, and model.onnx,
/// train.json, metrics.json when present) into `out/runs/<folder name>` and marks it done, so
/// the stages take it as trained; an existing copy is kept. Returns the model names.
fn adopt_runs(out: &Path, runs: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for src in runs {
        if !RunDir::exists(src) {
            bail!(
                "--add-run {}: not a run folder (no spec.json); make one with `joulebench import` or `joulebench train`",
                src.display()
            );
        }
        let name = src
            .canonicalize()
            .with_context(|| format!("--add-run {}", src.display()))?
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("--add-run {}: the folder needs a name", src.display()))?;
        if joulebench_models::preset_info(&name).is_ok() || names.contains(&name) {
            bail!(
                "--add-run {}: its folder name `{name}` is already a model of this job (a preset or another added run); rename the folder",
                src.display()
            );
        }
        let from = RunDir::new(src);
        let spec = from.spec()?;
        from.weights(&spec)?; // readable and complete before anything is copied
        let to = run_dir(out, &name);
        if !to.is_done() {
            std::fs::create_dir_all(&to.path)
                .with_context(|| format!("creating {}", to.path.display()))?;
            for f in [
                "weights.safetensors",
                "model.onnx",
                "train.json",
                "metrics.json",
                "spec.json",
            ] {
                let p = src.join(f);
                if p.is_file() {
                    let bytes =
                        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                    write_atomic(&to.path.join(f), &bytes)?;
                }
            }
            to.mark_done()?;
        }
        names.push(name);
    }
    Ok(names)
}

/// Whether the dataset's samples, after the spec's preprocessing, have the model's input shape.
fn fits_dataset(spec: &ModelSpec, data: &Dataset) -> bool {
    spec.preprocess
        .transform
        .apply_shape(data.sample_shape())
        .is_some_and(|s| s == spec.input_shape)
}

fn prepare(
    spec: &ModelSpec,
    data: &Dataset,
    start: usize,
    end: usize,
    seed: u64,
) -> anyhow::Result<Tensor> {
    model_input(spec, &data.test.batch_range(start, end), seed)
}

/// Accuracy of `backend` on the first `n` test samples and, when a `reference` is given, its
/// agreement with it on exactly the same input tensors.
fn accuracy(
    backend: &mut dyn Backend,
    mut reference: Option<&mut dyn Backend>,
    spec: &ModelSpec,
    data: &Dataset,
    n: usize,
    seed: u64,
) -> anyhow::Result<(f64, AgreementTally)> {
    let mut correct = 0usize;
    let mut tally = AgreementTally::default();
    for (bi, start) in (0..n).step_by(100).enumerate() {
        let end = (start + 100).min(n);
        let x = prepare(spec, data, start, end, seed + bi as u64)?;
        let logits = backend.run(&x)?;
        let pred = logits.argmax_rows();
        correct += pred
            .iter()
            .enumerate()
            .filter(|(i, &p)| data.test.labels[start + i] as usize == p)
            .count();
        if let Some(r) = reference.as_deref_mut() {
            let labels: Vec<usize> = (start..end).map(|i| data.test.labels[i] as usize).collect();
            tally
                .add(r, &x, &logits, &labels)
                .with_context(|| format!("samples {start}..{end}"))?;
        }
    }
    Ok((correct as f64 / n.max(1) as f64, tally))
}

fn stage_bench(
    args: &RunConfig,
    plan: &Plan,
    data: &Dataset,
    preset: &str,
    kind: BackendKind,
    meter: MeterChoice,
    power: &PowerBasis,
) -> anyhow::Result<String> {
    let path = bench_path(&args.out, preset, kind);
    if path.is_file() {
        return Ok("skipped (results exist)".into());
    }
    let run = run_dir(&args.out, preset);
    if !run.is_done() {
        bail!("{} has not finished training", run.path.display());
    }
    let spec = run.spec()?;
    let source = ModelSource::Run(run.clone());
    let opts = BackendOptions {
        threads: args.threads,
        ..Default::default()
    };
    let mut backend = open_backend(kind, &source, &opts)?;
    let fits = fits_dataset(&spec, data);
    let n = if fits {
        plan.test_limit.unwrap_or(usize::MAX).min(data.test.len())
    } else {
        0
    };
    let (mut reference, no_reference) = match reference_backend(kind, &source, args.threads, false)
    {
        Some(Ok(r)) => (Some(r), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let (acc, tally) = if fits {
        let (a, t) = accuracy(
            backend.as_mut(),
            reference.as_mut().map(|r| r.as_mut() as &mut dyn Backend),
            &spec,
            data,
            n,
            args.seed,
        )?;
        (Some(a), t)
    } else {
        (None, AgreementTally::default())
    };
    drop(reference);
    let agreement = (tally.samples > 0).then_some(&tally);

    let selection = select(
        meter,
        false,
        Path::new(joulebench_profiler::meter::rapl::POWERCAP_ROOT),
        0,
    )?;
    let req = ProfileRequest {
        model: ModelInfo {
            name: preset.to_string(),
            source: run.path.display().to_string(),
            preset: Some(preset.to_string()),
            spiking: spec.is_spiking(),
            steps: spec.steps,
            sample_shape: spec.input_shape.clone(),
        },
        counts: Some(spec_counts(&spec)?),
        onnx_counts: None,
        inputs: InputGenerator::for_spec(
            &spec,
            if fits {
                SampleSource::Dataset {
                    name: data.name().into(),
                    split: data.test.clone(),
                }
            } else {
                SampleSource::Random
            },
            args.seed,
        ),
        meter: selection.meter,
        meter_note: selection.note,
        gpu_backend: false,
        system: SystemInfo::collect(),
        power: Some(power.clone()),
    };
    let cfg = ProfileConfig {
        batches: plan.batches.clone(),
        latency: plan.latency.clone(),
        offline_batch: None,
        energy: plan.energy.clone(),
        input_pool: 4,
    };
    let prof = profile(
        &MonotonicClock::new(),
        backend.as_mut(),
        req,
        &cfg,
        &mut |_| {},
    )?;
    let mut results = to_results(&prof, preset, kind.name(), acc, n, agreement);
    if kind == BackendKind::Event {
        if let Some(first) = results.first_mut() {
            first.activity = Some(engine_activity(
                &run,
                &spec,
                fits.then_some(data),
                args.seed,
            )?);
        }
    }
    write_atomic(&path, serde_json::to_string_pretty(&results)?.as_bytes())?;
    let b1 = results
        .first()
        .and_then(|r| r.latency.as_ref())
        .map(|l| l.mean_us)
        .unwrap_or(f64::NAN);
    let vs_tch = match (agreement, no_reference) {
        (Some(t), _) => format!(
            ", argmax agreement with tch {:.2} % (max |Δlogit| {:.1e})",
            100.0 * t.argmax_agreement(),
            t.max_abs_diff
        ),
        (None, Some(why)) => format!(", no tch agreement: {why}"),
        (None, None) => String::new(),
    };
    let accuracy = match acc {
        Some(a) => format!("accuracy {:.2} % on {n}", 100.0 * a),
        None => format!(
            "no accuracy (input {:?} is not {}'s sample shape; profiled on uniform inputs)",
            spec.input_shape,
            data.name()
        ),
    };
    Ok(format!(
        "{accuracy}{vs_tch}, {:.1} µs per query at batch {}",
        b1, plan.batches[0]
    ))
}

/// Activity of the event-driven engine over 64 real test samples, with the raster of the first.
fn engine_activity(
    run: &RunDir,
    spec: &ModelSpec,
    data: Option<&Dataset>,
    seed: u64,
) -> anyhow::Result<SpikingActivity> {
    let weights = run.weights(spec)?;
    let mut engine = EventEngine::new(spec, &weights, 1)?;
    engine.set_record_raster(true);
    let x = match data {
        Some(data) => prepare(spec, data, 0, 64.min(data.test.len()), seed)?,
        None => InputGenerator::for_spec(spec, SampleSource::Random, seed).next_batch(64)?,
    };
    engine.run(&x)?;
    let a = engine
        .activity()
        .ok_or_else(|| anyhow!("the event engine reported no activity"))?;
    let lif: Vec<(String, usize)> = {
        let shapes = spec.layer_shapes()?;
        spec.layers
            .iter()
            .zip(shapes)
            .filter(|(l, _)| matches!(l.op, Op::Lif(_)))
            .map(|(l, s)| (l.name.clone(), s.iter().product()))
            .collect()
    };
    let b = a.batch.max(1) as f64;
    Ok(SpikingActivity {
        samples: a.batch,
        steps: a.steps,
        layers: a
            .layers
            .iter()
            .map(|l| LayerSpiking {
                name: l.name.clone(),
                neurons: l.neurons,
                input_sparsity: l.input_sparsity,
                spikes: l.spikes_per_step.iter().sum::<u64>() as f64 / b,
                event_driven: l.event_driven,
                effective_ops: l.effective_ops as f64 / b,
                dense_macs: l.dense_macs as f64 / b,
            })
            .collect(),
        raster: a
            .raster
            .as_ref()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(i, steps)| {
                        let (layer, neurons) =
                            lif.get(i).cloned().unwrap_or((format!("lif{i}"), 0));
                        RasterLayer {
                            layer,
                            neurons,
                            spikes: steps.clone(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The profiler's result as report rows (one per batch size).
fn to_results(
    p: &ProfileResult,
    model: &str,
    backend: &str,
    acc: Option<f64>,
    n: usize,
    agreement: Option<&AgreementTally>,
) -> Vec<InferenceResult> {
    let sources = p.energy.energy_sources.clone();
    let best = joulebench_models::energy::best(&sources).cloned();
    p.latency
        .iter()
        .enumerate()
        .map(|(i, l)| InferenceResult {
            model: model.to_string(),
            backend: backend.to_string(),
            batch: l.batch,
            threads: p.backend.threads,
            accuracy: acc,
            eval_samples: n,
            agreement: agreement.map(|t| t.argmax_agreement()),
            max_abs_logit_diff: agreement.map(|t| f64::from(t.max_abs_diff)),
            latency: Some(LatencyStats {
                queries: l.queries,
                warmup: l.warmup_queries,
                duration_s: l.wall_seconds,
                mean_us: l.per_query_s.mean * 1e6,
                std_us: l.per_query_s.std * 1e6,
                min_us: l.per_query_s.min * 1e6,
                p50_us: l.per_query_s.p50 * 1e6,
                p90_us: l.per_query_s.p90 * 1e6,
                p99_us: l.per_query_s.p99 * 1e6,
                max_us: l.per_query_s.max * 1e6,
                harness_overhead_us: Some(l.harness_overhead_s.mean * 1e6),
                clock: "monotonic (std::time::Instant)".into(),
                cpu_us_per_inference: Some(l.cpu_seconds_per_inference * 1e6),
                busy_cpus: Some(l.busy_cpus),
            }),
            throughput_per_s: Some(l.throughput_samples_per_s),
            // Energy is measured, modelled and estimated at the first batch size only.
            energy: if i == 0 { best.clone() } else { None },
            energy_sources: if i == 0 { sources.clone() } else { vec![] },
            activity: None,
        })
        .collect()
}

fn machine() -> MachineInfo {
    let s = SystemInfo::collect();
    let gpus = serde_json::to_value(&s.gpus)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|g| joulebench_report::GpuInfo {
            name: g
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("GPU")
                .to_string(),
            driver: g
                .get("driver")
                .or_else(|| g.get("driver_version"))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
            memory_bytes: g.get("memory_bytes").and_then(|v| v.as_u64()),
            power_limit_w: g.get("power_limit_w").and_then(|v| v.as_f64()),
        })
        .collect();
    let mut extra = vec![("CPU architecture".to_string(), s.cpu_arch.clone())];
    if let Some(n) = &s.gpu_note {
        extra.push(("GPU note".into(), n.clone()));
    }
    MachineInfo {
        cpu_model: s.cpu_model,
        physical_cores: s.physical_cores,
        logical_cores: s.logical_cpus,
        memory_bytes: s.memory_bytes,
        os: s.os,
        kernel: s.kernel.unwrap_or_default(),
        gpus,
        meters: vec![],
        extra,
    }
}

/// Everything finished so far, as report data.
fn gather(
    args: &RunConfig,
    plan: &Plan,
    presets: &[String],
    backends: &[BackendKind],
    notes: &[String],
) -> anyhow::Result<ReportData> {
    let mut d = ReportData::new(format!(
        "joulebench: {}{}",
        args.dataset,
        if args.quick { " (quick)" } else { "" }
    ));
    d.dataset = args.dataset.clone();
    d.quick = args.quick;
    d.command = std::env::args().collect::<Vec<_>>().join(" ");
    d.created = UtcTime::now().human();
    d.machine = machine();
    d.notes = notes.to_vec();
    if args.quick {
        let training = match plan.epochs {
            Some(e) => format!("at most {e} epochs"),
            None => "each preset's full recipe on this dataset".to_string(),
        };
        d.notes.push(format!(
            "Quick run: {training}, temporal SNNs at T ≤ {}, accuracy on {}, latency from ≥ {} queries / {} s per batch size.",
            plan.steps_cap.unwrap_or(0),
            match plan.test_limit {
                Some(n) => format!("the first {n} test samples"),
                None => "the whole test split".to_string(),
            },
            plan.latency.min_queries,
            plan.latency.min_seconds
        ));
    }
    let mut coded = Vec::new();
    for p in presets {
        let run = run_dir(&args.out, p);
        if !run.is_done() {
            continue;
        }
        let spec = run.spec()?;
        if spec.encoding.is_spiking() {
            coded.push(spec.clone());
        }
        let counts = spec_counts(&spec)?;
        let weights = run.weights(&spec)?;
        let metrics = Metrics::load(&run).ok();
        let cfg = TrainConfig::load(&run).ok();
        let training = metrics.as_ref().map(|m| TrainingSummary {
            optimizer: cfg
                .as_ref()
                .map(|c| c.optimizer.name().to_string())
                .unwrap_or_default(),
            lr: cfg.as_ref().map(|c| c.lr).unwrap_or(0.0),
            batch_size: cfg.as_ref().map(|c| c.batch_size).unwrap_or(0),
            seed: cfg.as_ref().map(|c| c.seed).unwrap_or(0),
            device: m.device.clone(),
            train_samples: m.train_samples,
            test_samples: m.test_samples,
            epochs: m
                .epochs
                .iter()
                .map(|e| EpochSummary {
                    epoch: e.epoch,
                    train_loss: e.train_loss.unwrap_or(f64::NAN),
                    train_accuracy: e.train_acc,
                    test_loss: e.test_loss.unwrap_or(f64::NAN),
                    test_accuracy: e.test_acc,
                    wall_s: e.wall_s,
                    samples_per_s: e.samples_per_s,
                    energy: e
                        .energy
                        .as_ref()
                        .filter(|x| !x.source.starts_with("estimate"))
                        .map(|x| MeasuredEnergy {
                            joules: x.joules,
                            meter: x.source.split(':').next().unwrap_or("").to_string(),
                            // `meter:domain[,domain…]` (see `MeterHook::source`)
                            domains: x
                                .source
                                .split_once(':')
                                .map(|(_, d)| d.split(',').map(str::to_string).collect())
                                .unwrap_or_default(),
                        }),
                })
                .collect(),
        });
        d.models.push(ModelResult {
            name: p.clone(),
            preset: p.clone(),
            dataset: args.dataset.clone(),
            spiking: spec.is_spiking(),
            steps: spec.steps,
            params: counts.params,
            macs: counts.macs,
            flops: counts.flops,
            counts_source: format!("counted from ModelSpec ({})", counts.convention),
            test_accuracy: metrics.as_ref().and_then(|m| m.last()).map(|e| e.test_acc),
            training,
            first_layer: FirstLayerWeights::from_spec(&spec, &weights, 64),
            run_dir: Some(format!("runs/{p}")),
        });
        for b in backends {
            let path = bench_path(&args.out, p, *b);
            if let Ok(text) = std::fs::read_to_string(&path) {
                let rows: Vec<InferenceResult> = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a results file", path.display()))?;
                d.inference.extend(rows);
            }
        }
    }
    for spec in &coded {
        d.notes.push(encoding_note(spec, &d.models));
    }
    let figures = d.inference.iter().flat_map(|r| r.energy_sources.iter());
    let mut kinds: Vec<String> = vec![];
    for f in figures {
        if !kinds.contains(&f.label()) {
            kinds.push(f.label());
        }
    }
    if !kinds.is_empty() && !kinds.iter().any(|k| k.starts_with("measured")) {
        d.machine
            .meters
            .push("no energy counter used: inference energy is modelled and estimated".into());
    }
    d.machine.meters.extend(kinds);
    let sweeps = args.out.join("sweeps");
    if sweeps.is_dir() {
        joulebench_report::merge_sweeps(&mut d, joulebench_report::find_sweeps(&sweeps)?);
    }
    Ok(d)
}

/// What a rate- or Poisson-coded model sees, and how far it stays from the same layers fed the
/// analog values in one step (`snn-temporal` ↔ `snn-1step`, `csnn-temporal` ↔ `csnn-1step`)
/// when both ran, with the reason: each value reaches the network only as `T` Bernoulli draws,
/// whose count has a standard deviation of up to `√T / 2` spikes.
fn encoding_note(spec: &joulebench_models::ModelSpec, models: &[ModelResult]) -> String {
    let name = &spec.preset;
    let input = match spec.preprocess.normalize {
        Some(n) => format!(
            "values rescaled to spike probabilities by x ← (x {} {:.3}) / {:.3} (the training split's mean ± 2σ onto [0, 1], clamped)",
            if n.mean < 0.0 { "+" } else { "−" },
            n.mean.abs(),
            n.std
        ),
        None => "values in [0, 1] used as spike probabilities".to_string(),
    };
    let mut s = format!(
        "{name} sees its input through {} coding: {input}, one Bernoulli draw per value and step over T = {} steps.",
        match spec.encoding {
            joulebench_models::Encoding::Poisson => "Poisson",
            _ => "rate",
        },
        spec.steps
    );
    let twin = name.replace("-temporal", "-1step");
    let acc = |n: &str| {
        models
            .iter()
            .find(|m| m.name == n)
            .and_then(|m| m.test_accuracy)
    };
    if let (true, Some(a), Some(b)) = (twin != *name, acc(name), acc(&twin)) {
        let noise = 100.0 * 0.5 / (spec.steps as f64).sqrt();
        let _ = write!(
            s,
            " It reaches {:.1} % against {:.1} % for {twin}, the same layers fed the analog values in one step ({:+.1} points): the draws add sampling noise of up to ±{noise:.0} % of the range to every value (σ of a rate over T = {} draws).",
            100.0 * a,
            100.0 * b,
            100.0 * (a - b),
            spec.steps
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On MNIST-1D a quick run trains exactly what a full run trains (same epochs, same T, same
    /// test split): its accuracies are the full recipe's, only profiling is shorter.
    #[test]
    fn quick_mnist1d_trains_the_full_recipe() {
        let (quick, full) = (Plan::new(true, "mnist1d"), Plan::new(false, "mnist1d"));
        assert_eq!(quick.epochs, full.epochs);
        assert_eq!(quick.test_limit, full.test_limit);
        let shape = DatasetKind::Mnist1d.data_shape();
        let mut temporal = 0;
        for p in PRESETS {
            if joulebench_models::build_preset(p.name, &shape, &PresetOptions::default()).is_err() {
                continue;
            }
            let (q, f) = (
                quick_options(&quick, p.name, &shape).unwrap(),
                quick_options(&full, p.name, &shape).unwrap(),
            );
            assert_eq!(q, f, "{}", p.name);
            let spec = joulebench_models::build_preset(p.name, &shape, &q).unwrap();
            temporal += usize::from(spec.steps > 1);
        }
        assert!(temporal >= 1, "snn-temporal fits MNIST-1D");
        // on MNIST a quick run does cut training
        assert!(Plan::new(true, "mnist").epochs.is_some());
    }
}
