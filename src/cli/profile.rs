//! `joulebench profile`: the flags, turned into `joulebench_bench::profile_model`'s
//! configuration, and the result printed as a table or JSON.

use std::path::PathBuf;

use clap::Args;
use joulebench_bench::profile_model;
use joulebench_profiler::table;

pub fn run(args: ProfileArgs) -> anyhow::Result<()> {
    let (json, out, layers) = (args.json, args.out.clone(), args.layers);
    let result = profile_model::run(&args.into(), json)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", table::render(&result));
        if layers {
            print!("\n{}", table::render_layers(&result));
        }
        if let Some(out) = &out {
            println!("\nwrote {}", out.display());
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct ProfileArgs {
    /// A run folder (spec.json + weights.safetensors [+ model.onnx]) or an ONNX file.
    target: PathBuf,
    /// Engine: tract, ort, ort-cuda, native, event, tch.
    #[arg(long, default_value = "tract")]
    backend: String,
    /// Batch sizes for the latency measurement, comma-separated; energy is measured at the first.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    batch: Vec<usize>,
    /// Worker threads of the backend.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Energy meter: auto (NVML for GPU backends, RAPL for CPU ones, hwmon when those are missing, else the estimate), nvml, rapl, hwmon, estimate.
    #[arg(long, default_value = "auto")]
    meter: String,
    /// Minimum seconds of timed queries per batch size.
    #[arg(long, default_value_t = 1.0)]
    duration: f64,
    /// Minimum number of timed queries per batch size (MLPerf SingleStream: 1024).
    #[arg(long, default_value_t = 1024)]
    queries: usize,
    /// Warm-up queries before timing (not recorded).
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Stop timing a batch size after this many seconds even if --queries is not reached.
    #[arg(long, default_value_t = 60.0)]
    max_seconds: f64,
    /// Also measure Offline throughput (samples/s) at this large batch size.
    #[arg(long)]
    offline_batch: Option<usize>,
    /// Seconds of idle power measurement before and after the energy windows (0 skips both).
    #[arg(long, default_value_t = 5.0)]
    idle: f64,
    /// Seconds to wait with nothing running before each idle measurement (power settles).
    #[arg(long, default_value_t = joulebench_profiler::energy::DEFAULT_SETTLE_SECONDS)]
    settle: f64,
    /// Number of energy windows (at least 5).
    #[arg(long, default_value_t = 5)]
    windows: usize,
    /// Minimum energy window length in seconds (raised to 100 × the counter's update period).
    #[arg(long, default_value_t = 1.0)]
    min_window: f64,
    /// CUDA device index of GPU backends and NVML (NVML device found by UUID/PCI bus id, honouring CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER).
    #[arg(long, default_value_t = 0)]
    gpu: u32,
    /// Device of the tch backend: cpu, or cuda (GPU --gpu). ONNX Runtime's GPU engine is --backend ort-cuda.
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    device: String,
    /// powercap sysfs root for RAPL.
    #[arg(long, default_value = joulebench_profiler::meter::rapl::POWERCAP_ROOT)]
    powercap_root: PathBuf,
    /// hwmon sysfs root (energy/power sensors: amd_energy, amdgpu, i915/xe, ina3221…).
    #[arg(long, default_value = joulebench_profiler::meter::hwmon::HWMON_ROOT)]
    hwmon_root: PathBuf,
    /// Use real inputs from this dataset's test split (mnist, fashion-mnist, mnist1d); random inputs otherwise.
    #[arg(long)]
    dataset: Option<String>,
    /// Folder of the dataset files (default: $JOULEBENCH_DATA/NAME or the fetch folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Shape of one sample for a bare ONNX file, comma-separated (e.g. 1,28,28); read from the file when it carries a joulebench spec.
    #[arg(long, value_delimiter = ',')]
    input_shape: Option<Vec<usize>>,
    /// Seed of the random inputs and the spike encoder.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the JSON result instead of the table.
    #[arg(long)]
    json: bool,
    /// Also print the per-layer table (per node for an ONNX graph): op, output shape, parameters, MACs, share of the total. The JSON always carries it (`counts.layers`, `onnx_counts.counts.layers`).
    #[arg(long)]
    layers: bool,
    /// Write the JSON result to this file (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    power: super::power::PowerArgs,
}

impl From<ProfileArgs> for profile_model::ProfileModelConfig {
    fn from(a: ProfileArgs) -> Self {
        profile_model::ProfileModelConfig {
            target: a.target,
            backend: a.backend,
            batch: a.batch,
            threads: a.threads,
            meter: a.meter,
            duration: a.duration,
            queries: a.queries,
            warmup: a.warmup,
            max_seconds: a.max_seconds,
            offline_batch: a.offline_batch,
            idle: a.idle,
            settle: a.settle,
            windows: a.windows,
            min_window: a.min_window,
            gpu: a.gpu,
            device: a.device,
            powercap_root: a.powercap_root,
            hwmon_root: a.hwmon_root,
            dataset: a.dataset,
            data_dir: a.data_dir,
            input_shape: a.input_shape,
            seed: a.seed,
            out: a.out,
            power: a.power.into(),
        }
    }
}
