//! `joulebench profile`: latency, operation counts and energy of one model on one backend.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{anyhow, bail};
use joulebench_inference::{open_backend, BackendKind, BackendOptions, ModelSource};
use joulebench_models::write_atomic;
use joulebench_profiler::{
    count_onnx, profile, select_at, spec_counts, EnergyConfig, InputGenerator, LatencyConfig,
    MeterChoice, ModelInfo, MonotonicClock, PowerOptions, ProfileConfig, ProfileRequest,
    ProfileResult, SampleSource, SystemInfo,
};

#[derive(Debug, Clone)]
pub struct ProfileModelConfig {
    /// A run folder (spec.json + weights.safetensors [+ model.onnx]) or an ONNX file.
    pub target: PathBuf,
    /// Engine: tract, ort, ort-cuda, native, event, tch.
    pub backend: String,
    /// Batch sizes for the latency measurement, comma-separated; energy is measured at the first.
    pub batch: Vec<usize>,
    /// Worker threads of the backend.
    pub threads: usize,
    /// Energy meter: auto (NVML for GPU backends, RAPL for CPU ones, hwmon when those are missing, else the estimate), nvml, rapl, hwmon, estimate.
    pub meter: String,
    /// Minimum seconds of timed queries per batch size.
    pub duration: f64,
    /// Minimum number of timed queries per batch size (MLPerf SingleStream: 1024).
    pub queries: usize,
    /// Warm-up queries before timing (not recorded).
    pub warmup: usize,
    /// Stop timing a batch size after this many seconds even if --queries is not reached.
    pub max_seconds: f64,
    /// Also measure Offline throughput (samples/s) at this large batch size.
    pub offline_batch: Option<usize>,
    /// Seconds of idle power measurement before and after the energy windows (0 skips both).
    pub idle: f64,
    /// Seconds to wait with nothing running before each idle measurement.
    pub settle: f64,
    /// Number of energy windows (at least 5).
    pub windows: usize,
    /// Minimum energy window length in seconds (raised to 100 × the counter's update period).
    pub min_window: f64,
    /// CUDA device index of GPU backends; NVML reads the same physical GPU (mapped through
    /// CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER, see `joulebench_profiler::meter::nvml`).
    pub gpu: u32,
    /// Device of the tch backend: cpu, or cuda (GPU --gpu). ONNX Runtime's GPU engine is --backend ort-cuda.
    pub device: String,
    /// powercap sysfs root for RAPL.
    pub powercap_root: PathBuf,
    /// hwmon sysfs root.
    pub hwmon_root: PathBuf,
    /// Use real inputs from this dataset's test split (mnist, fashion-mnist, mnist1d); random inputs otherwise.
    pub dataset: Option<String>,
    /// Folder of the dataset files (default: $JOULEBENCH_DATA/NAME or the fetch folder).
    pub data_dir: Option<PathBuf>,
    /// Shape of one sample for a bare ONNX file, comma-separated (e.g. 1,28,28); read from the file when it carries a joulebench spec.
    pub input_shape: Option<Vec<usize>>,
    /// Seed of the random inputs and the spike encoder.
    pub seed: u64,
    /// Write the JSON result to this file (atomically).
    pub out: Option<PathBuf>,
    /// What the modelled energy (CPU time × power model) may use.
    pub power: PowerOptions,
}

/// Profiles the model: latency per batch size, operation counts and energy per inference;
/// writes the JSON result to `out` (atomically) when given. `quiet`: no spinner, and the energy
/// note goes to stderr (a table is not printed to carry it).
pub fn run(args: &ProfileModelConfig, quiet: bool) -> anyhow::Result<ProfileResult> {
    let kind = BackendKind::from_str(&args.backend)?;
    let meter_choice = MeterChoice::parse(&args.meter).map_err(|e| anyhow!(e))?;
    if args.batch.is_empty() || args.batch.contains(&0) {
        bail!("--batch sizes must be at least 1");
    }
    let resolved = ModelSource::from_path(&args.target, args.input_shape.as_deref())?;
    let onnx = resolved.onnx_path();
    let (source, spec) = (resolved.source, resolved.spec);
    let cuda = args.device == "cuda";
    let opts = BackendOptions {
        threads: args.threads,
        gpu: args.gpu as usize,
        cuda,
    };
    if cuda && kind != BackendKind::Tch {
        bail!("--device cuda applies to the tch backend; for ONNX Runtime on the GPU use --backend ort-cuda");
    }
    let gpu_backend = kind == BackendKind::OrtCuda || (kind == BackendKind::Tch && cuda);
    let (sample_shape, steps) = match (&spec, &source) {
        (Some(s), _) => (s.input_shape.clone(), s.steps),
        (None, ModelSource::Onnx { input_shape, .. }) => (input_shape.clone(), 1),
        (None, ModelSource::Run(_)) => unreachable!("a run always has a spec"),
    };
    let batches: Vec<usize> = args
        .batch
        .iter()
        .chain(&args.offline_batch)
        .copied()
        .collect();
    // a foreign graph is counted once: the memory check's counts are the result's
    let counted =
        crate::inputs::refuse_if_too_big(spec.as_ref(), onnx.as_deref(), &sample_shape, &batches)?;
    let mut backend = open_backend(kind, &source, &opts)?;

    let counts = spec.as_ref().map(spec_counts).transpose()?;
    let onnx_counts = match (&onnx, counted) {
        (Some(_), Some(c)) if steps == 1 => Some(c),
        (Some(p), _) => {
            let shape = match &spec {
                Some(s) => s.batch_input_shape(1),
                None => [vec![1], sample_shape.clone()].concat(),
            };
            Some(count_onnx(p, &shape, 1, steps)?)
        }
        (None, _) => None,
    };
    let inputs = match (&args.dataset, &spec) {
        (Some(d), Some(spec)) => {
            let kind = joulebench_data::DatasetKind::from_str(d)?;
            let ds = joulebench_data::Dataset::load(kind, args.data_dir.as_deref())?;
            InputGenerator::for_spec(
                spec,
                SampleSource::Dataset {
                    name: ds.name().into(),
                    split: ds.test,
                },
                args.seed,
            )
        }
        (Some(_), None) => {
            bail!("--dataset needs a model with a spec (a run folder or a joulebench ONNX export)")
        }
        (None, Some(spec)) => InputGenerator::for_spec(spec, SampleSource::Random, args.seed),
        (None, None) => InputGenerator::for_shape(&sample_shape, args.seed),
    };
    let mut selection = select_at(
        meter_choice,
        gpu_backend,
        &args.powercap_root,
        &args.hwmon_root,
        args.gpu,
    )?;
    let power = joulebench_profiler::resolve_power(
        &args.power,
        &joulebench_profiler::cpu_spec::this_cpu(),
    )?;
    if selection.meter.is_none() {
        selection.note = format!(
            "{}; energy is modelled from measured CPU time ({}) and estimated from operation \
             counts instead, never measured",
            selection.note,
            power.name()
        );
        if quiet {
            eprintln!("energy: {}", selection.note); // the table shows it otherwise
        }
    }
    let name = spec.as_ref().map(|s| s.preset.clone()).unwrap_or_else(|| {
        args.target
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    });
    let req = ProfileRequest {
        model: ModelInfo {
            name,
            source: args.target.display().to_string(),
            preset: spec.as_ref().map(|s| s.preset.clone()),
            spiking: spec.as_ref().is_some_and(|s| s.is_spiking()),
            steps,
            sample_shape,
        },
        counts,
        onnx_counts,
        inputs,
        meter: selection.meter,
        meter_note: selection.note,
        gpu_backend,
        system: SystemInfo::collect(),
        power: Some(power),
    };
    let cfg = ProfileConfig {
        batches: args.batch.clone(),
        latency: LatencyConfig {
            warmup_queries: args.warmup,
            warmup_seconds: 0.0,
            min_queries: args.queries,
            min_seconds: args.duration,
            max_seconds: Some(args.max_seconds),
        },
        offline_batch: args.offline_batch,
        energy: EnergyConfig {
            idle_seconds: args.idle,
            min_window_seconds: args.min_window,
            windows: args.windows,
            settle_seconds: args.settle,
        },
        input_pool: 4,
    };
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    let result = profile(
        &MonotonicClock::new(),
        backend.as_mut(),
        req,
        &cfg,
        &mut |stage| bar.set_message(stage.to_string()),
    )?;
    bar.finish_and_clear();
    if let Some(out) = &args.out {
        write_atomic(out, serde_json::to_string_pretty(&result)?.as_bytes())?;
    }
    Ok(result)
}
