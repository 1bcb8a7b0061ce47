//! `joulebench bench spike-rate`: time per inference of the event-driven LIF engine against dense
//! execution of the same spiking network (the native dense backend, and the event engine's own
//! dense mode) across input spike rates, plus the headline case — rate-coded MNIST test images
//! (or synthetic digit-like images when MNIST is not found) — and the crossover rate where
//! event-driven execution stops winning.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use joulebench_data::{image_stats, rate_encode, synthetic_digits, uniform_spikes};
use joulebench_inference::event::{EventEngine, ExecMode, SpikeBatch};
use joulebench_inference::{Backend, Isa, NativeBackend};
use joulebench_models::{write_atomic, ModelSpec, Tensor, Weights};
use joulebench_profiler::load_average;
use serde::Serialize;

use crate::harness::{fixed_calls, time_backend, time_calls, Timing};

/// T of the untrained default model.
pub const DEFAULT_STEPS: usize = 100;

#[derive(Debug, Clone)]
pub struct SpikeRateConfig {
    /// Time steps T per inference (default: a run folder's own T, else 100).
    pub steps: Option<usize>,
    /// Samples per call.
    pub batch: usize,
    /// Worker threads of every engine.
    pub threads: usize,
    /// Input spike rates in percent (probability that an input neuron spikes at a step).
    pub rates: Vec<f64>,
    /// Timed repeats per point (the median and spread are reported).
    pub repeats: usize,
    /// Untimed warm-up calls per point.
    pub warmup: usize,
    /// Seed of the random weights and of the spike trains.
    pub seed: u64,
    /// A trained run folder of an MNIST spiking model (spec.json + weights.safetensors);
    /// default: snn-temporal 784-256-128-10 with seeded PyTorch-style random weights.
    pub run: Option<PathBuf>,
    /// Folder with mnist/t10k-images-idx3-ubyte[.gz] for the headline case (default:
    /// $JOULEBENCH_DATA); synthetic digit-like images when absent.
    pub data: Option<PathBuf>,
    /// Different input batches cycled through at every point (the headline's MNIST images are
    /// test images 0 … batch × variants − 1); the mean over the timed calls is the average cost
    /// over them.
    pub variants: usize,
    /// Run the event engine without its temporal blocking of the input layer (for comparison).
    pub no_temporal_block: bool,
    /// Run the event engine without the baseline of frequent inputs (every spike's weight row
    /// added at every step; for comparison).
    pub no_baseline: bool,
    /// The event engine's SIMD kernels: avx512, avx2 or scalar (default: the widest this CPU
    /// runs; the dense engines keep theirs). Shows what a CPU without AVX-512 gets.
    pub isa: Option<String>,
    /// Write spike_rate.json and spike_rate.csv here (atomically).
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
struct Point {
    /// Requested input spike rate (fraction).
    input_rate: f64,
    /// Measured input spikes per sample per step.
    input_spikes_per_step: f64,
    /// Spike rate of each LIF layer (fraction of its neurons per step).
    lif_rates: Vec<f64>,
    /// Effective synaptic operations per inference (NeuroBench: ACs on spikes, MACs on analog).
    effective_ops: f64,
    /// Synaptic operations the event engine performed per inference: `effective_ops` less
    /// those its baseline of frequent inputs saved (counted by the engine).
    performed_ops: f64,
    dense_macs: f64,
    /// The event engine fed the `f32` spike tensor (`Backend::run`).
    event: Timing,
    /// The event engine fed the same spikes bit-packed (`EventEngine::run_spikes`; packing is
    /// done once beforehand, not timed).
    event_packed: Timing,
    native_dense: Option<Timing>,
    engine_dense: Timing,
    /// native dense median / event median (engine dense when native is missing).
    speedup: f64,
    /// The same reference / event (bit-packed input) median.
    speedup_packed: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    what: &'static str,
    how: String,
    machine: Machine,
    model: String,
    weights: String,
    steps: usize,
    batch: usize,
    threads: usize,
    event_isa: String,
    event_temporal_block: bool,
    /// Whether the event engine formed currents against a baseline of frequent inputs.
    event_baseline: bool,
    headline_input: String,
    headline: Point,
    sweep: Vec<Point>,
    /// Input spike rate where the event engine's median time reaches the dense reference's
    /// (linear interpolation between sweep points); `None` when it wins everywhere.
    crossover_rate: Option<f64>,
    crossover_note: String,
}

/// The machine line of the study (`spike_rate.json`'s `machine`, read by the report).
#[derive(Debug, Serialize)]
struct Machine {
    cpu: String,
    logical_cores: usize,
    load_average_1m: Option<f64>,
}

fn machine() -> Machine {
    let m = joulebench_profiler::Machine::collect();
    Machine {
        cpu: m.info.cpu_model,
        logical_cores: m.info.logical_cpus,
        load_average_1m: load_average().map(|l| l[0]),
    }
}

fn load_model(args: &SpikeRateConfig) -> anyhow::Result<(ModelSpec, Weights, String)> {
    let (spec, weights, what) = crate::inputs::run_or_untrained_snn(
        args.run.as_deref(),
        args.steps.unwrap_or(DEFAULT_STEPS),
        args.seed,
    )?;
    if spec.input_shape.iter().product::<usize>() != 784 {
        bail!(
            "{}: bench spike-rate needs a model of 28×28 inputs, this one takes {:?}",
            args.run
                .as_deref()
                .unwrap_or(Path::new("the model"))
                .display(),
            spec.input_shape
        );
    }
    Ok((spec, weights, what))
}

fn mnist_images(args: &SpikeRateConfig, count: usize) -> anyhow::Result<Option<(Tensor, String)>> {
    let dir = args
        .data
        .clone()
        .or_else(|| std::env::var_os("JOULEBENCH_DATA").map(PathBuf::from));
    let Some(dir) = dir else { return Ok(None) };
    let base = dir.join("mnist");
    let path = [
        base.join("t10k-images-idx3-ubyte.gz"),
        base.join("t10k-images-idx3-ubyte"),
    ]
    .into_iter()
    .find(|p| p.is_file());
    let Some(path) = path else { return Ok(None) };
    let imgs = joulebench_data::idx::read_idx_images(&path)
        .with_context(|| format!("reading {}", path.display()))?;
    if imgs.rows * imgs.cols != 784 || imgs.count < count {
        bail!("{}: expected at least {count} 28×28 images", path.display());
    }
    let data = imgs.pixels[..count * 784]
        .iter()
        .map(|&b| b as f32 / 255.0)
        .collect();
    Ok(Some((
        Tensor::new(vec![count, 1, 28, 28], data)?,
        format!("MNIST test images 0..{count} from {}", path.display()),
    )))
}

fn measure(
    event: &mut EventEngine,
    dense: &mut EventEngine,
    native: Option<&mut NativeBackend>,
    inputs: &[Tensor],
    args: &SpikeRateConfig,
    input_rate: f64,
) -> anyhow::Result<Point> {
    let batch = inputs[0].shape[1];
    let timed = fixed_calls(args.warmup, args.repeats);
    let ev = time_backend(event, inputs, batch, &timed)?;
    let packed = inputs
        .iter()
        .map(SpikeBatch::from_tensor)
        .collect::<Result<Vec<_>, _>>()?;
    let evp = time_calls(packed.len(), batch, &timed, |i| {
        std::hint::black_box(event.run_spikes(&packed[i])?);
        Ok(())
    })?;
    // Activity of one call on the first input.
    event.run(&inputs[0])?;
    let act = event
        .activity()
        .context("event engine reports activity")?
        .clone();
    let input_spikes: f64 = act
        .layers
        .first()
        .map(|l| (1.0 - l.input_sparsity) * 784.0)
        .unwrap_or(0.0);
    let lif_rates = act
        .layers
        .iter()
        .filter(|l| l.membrane_updates > 0)
        .map(|l| l.spikes_per_step.iter().sum::<u64>() as f64 / l.membrane_updates as f64)
        .collect();
    let timed_dense = fixed_calls(args.warmup.min(2), args.repeats);
    let dn = time_backend(dense, inputs, batch, &timed_dense)?;
    let nat = match native {
        Some(n) => Some(time_backend(n, inputs, batch, &timed_dense)?),
        None => None,
    };
    let base = nat.as_ref().unwrap_or(&dn).median_us;
    Ok(Point {
        input_rate,
        input_spikes_per_step: input_spikes,
        lif_rates,
        effective_ops: act.total_effective_ops() as f64 / act.batch as f64,
        performed_ops: act.layers.iter().map(|l| l.performed_ops).sum::<u64>() as f64
            / act.batch as f64,
        dense_macs: act.total_dense_macs() as f64 / act.batch as f64,
        speedup: base / ev.median_us,
        speedup_packed: base / evp.median_us,
        event: ev,
        event_packed: evp,
        native_dense: nat,
        engine_dense: dn,
    })
}

/// Runs the study: prints the table and writes `spike_rate.json`/`.md` when `out` is set.
pub fn run(args: SpikeRateConfig) -> anyhow::Result<()> {
    if args.steps == Some(0) || args.batch == 0 || args.threads == 0 || args.repeats == 0 {
        bail!("--steps, --batch, --threads and --repeats must be at least 1");
    }
    if let Some(r) = args.rates.iter().find(|r| !(0.0..=100.0).contains(*r)) {
        bail!("--rates: {r} is not a percentage in 0..=100");
    }
    let (spec, weights, wdesc) = load_model(&args)?;
    if !spec.is_spiking() {
        bail!(
            "bench spike-rate needs a spiking model; `{}` has no LIF layer",
            spec.preset
        );
    }
    // A trained run runs at the T it was trained at: the dense baselines (native, the ONNX
    // export) take exactly that many steps.
    let steps = match (&args.run, args.steps) {
        (Some(_), None) => spec.steps,
        (Some(r), Some(t)) if t != spec.steps => bail!(
            "{} was trained at T = {}, and bench spike-rate runs a trained model at its own T \
             (its dense baselines take exactly {} steps): drop --steps {t}, or train at T = {t}",
            r.display(),
            spec.steps,
            spec.steps
        ),
        (_, t) => t.unwrap_or(DEFAULT_STEPS),
    };
    let mut event = EventEngine::new(&spec, &weights, args.threads)?;
    event.set_temporal_blocking(!args.no_temporal_block);
    event.set_baseline(!args.no_baseline);
    if let Some(name) = &args.isa {
        let isa = Isa::parse(name)
            .with_context(|| format!("--isa {name}: expected avx512, avx2 or scalar"))?;
        event
            .set_isa(isa)
            .with_context(|| format!("--isa {name}"))?;
    }
    let mut dense = EventEngine::with_mode(&spec, &weights, args.threads, ExecMode::Dense)?;
    let mut native = match NativeBackend::new(&spec, &weights, args.threads) {
        Ok(n) => Some(n),
        Err(e) => {
            eprintln!(
                "note: native dense backend unavailable for this model ({e}); comparing with the engine's dense mode"
            );
            None
        }
    };
    let sample = spec.input_shape.clone();
    let variants = args.variants;
    if variants == 0 {
        bail!("--variants must be at least 1");
    }

    // Headline: rate-coded MNIST (or synthetic digits).
    let count = args.batch * variants;
    let (images, headline_input) = match mnist_images(&args, count)? {
        Some(x) => x,
        None => {
            let imgs = synthetic_digits(count, args.seed);
            let (nz, mean) = image_stats(&imgs);
            (
                imgs,
                format!(
                    "synthetic digit-like images (MNIST not found; {:.1} % pixels non-zero, mean {:.3})",
                    nz * 100.0,
                    mean
                ),
            )
        }
    };
    let inputs: Vec<Tensor> = (0..variants)
        .map(|v| {
            let chunk = Tensor {
                shape: vec![args.batch, 1, 28, 28],
                data: images.data[v * args.batch * 784..(v + 1) * args.batch * 784].to_vec(),
            };
            rate_encode(&chunk, steps, args.seed + v as u64)
        })
        .collect();
    eprintln!("measuring the headline case ({headline_input}) ...");
    let mean_px = images.data.iter().map(|&v| v as f64).sum::<f64>() / images.data.len() as f64;
    let headline = measure(
        &mut event,
        &mut dense,
        native.as_mut(),
        &inputs,
        &args,
        mean_px,
    )?;

    let mut sweep = Vec::new();
    for &r in &args.rates {
        eprintln!("measuring input spike rate {r} % ...");
        let inputs: Vec<Tensor> = (0..variants)
            .map(|v| {
                uniform_spikes(
                    &sample,
                    steps,
                    args.batch,
                    r / 100.0,
                    args.seed * 1000 + v as u64 + (r * 100.0) as u64,
                )
            })
            .collect();
        sweep.push(measure(
            &mut event,
            &mut dense,
            native.as_mut(),
            &inputs,
            &args,
            r / 100.0,
        )?);
    }
    let (crossover_rate, crossover_note) = crossover(&sweep);

    let how = format!(
        "wall-clock time measured on this machine (std::time::Instant), per inference = call time / batch; \
         {} timed repeats after {} warm-up calls per point, cycling {variants} different inputs; median with p10–p90, and the mean over the timed calls; \
         the CPU may be shared with other work (see load average)",
        args.repeats, args.warmup
    );
    let report = Report {
        what: "spike-rate",
        how,
        machine: machine(),
        model: format!(
            "{} {:?} → {} classes",
            spec.preset, spec.input_shape, spec.num_classes
        ),
        weights: wdesc,
        steps,
        batch: args.batch,
        threads: args.threads,
        event_isa: event.isa().name().to_string(),
        event_temporal_block: !args.no_temporal_block,
        event_baseline: !args.no_baseline,
        headline_input,
        headline,
        sweep,
        crossover_rate,
        crossover_note,
    };
    print_table(&report);
    if let Some(dir) = &args.out {
        write_outputs(dir, &report)?;
        println!(
            "wrote {}, {} and the plot {} (.png); `joulebench report {}` shows it",
            dir.join("spike_rate.json").display(),
            dir.join("spike_rate.csv").display(),
            dir.join("spike_rate.svg").display(),
            dir.display()
        );
    }
    Ok(())
}

/// Reference time of a point: native dense when available, else the engine's dense mode.
fn reference(p: &Point) -> f64 {
    p.native_dense.as_ref().unwrap_or(&p.engine_dense).median_us
}

fn crossover(sweep: &[Point]) -> (Option<f64>, String) {
    let mut prev: Option<&Point> = None;
    for p in sweep {
        let ratio = p.event.median_us / reference(p);
        if ratio >= 1.0 {
            return match prev {
                None => (
                    Some(p.input_rate),
                    format!(
                        "event-driven is not faster even at the lowest rate ({:.1} %)",
                        p.input_rate * 100.0
                    ),
                ),
                Some(q) => {
                    let rq = q.event.median_us / reference(q);
                    let x =
                        q.input_rate + (1.0 - rq) / (ratio - rq) * (p.input_rate - q.input_rate);
                    (
                        Some(x),
                        format!(
                            "event-driven stops winning at about {:.1} % input spike rate (interpolated)",
                            x * 100.0
                        ),
                    )
                }
            };
        }
        prev = Some(p);
    }
    (None, "event-driven is faster at every measured rate".into())
}

fn fmt_t(t: &Timing) -> String {
    format!("{:>9.1} [{:.1}–{:.1}]", t.median_us, t.p10_us, t.p90_us)
}

fn print_table(r: &Report) {
    println!("joulebench bench spike-rate — {}", r.model);
    println!(
        "weights: {}; T = {}, batch = {}, threads = {}, event kernels: {}",
        r.weights, r.steps, r.batch, r.threads, r.event_isa
    );
    let on_off = |b: bool| if b { "on" } else { "off" };
    println!(
        "event input-layer temporal blocking: {}, baseline of frequent inputs: {}",
        on_off(r.event_temporal_block),
        on_off(r.event_baseline)
    );
    println!(
        "machine: {} ({} logical cores, load average {:?})",
        r.machine.cpu, r.machine.logical_cores, r.machine.load_average_1m
    );
    println!("how: {}", r.how);
    println!();
    println!(
        "µs per inference, median [p10–p90]; ops %: synaptic operations the event engine \
         performed, of the effective ones (NeuroBench: spikes × fan-out)"
    );
    println!(
        "{:>8} {:>9} {:>20} {:>7} {:>26} {:>26} {:>26} {:>26} {:>8} {:>8}",
        "input %",
        "in sp/st",
        "LIF rates %",
        "ops %",
        "event (f32 input)",
        "event (packed input)",
        "native dense",
        "engine dense",
        "speedup",
        "packed"
    );
    let row = |label: String, p: &Point| {
        let rates = p
            .lif_rates
            .iter()
            .map(|r| format!("{:.1}", r * 100.0))
            .collect::<Vec<_>>()
            .join("/");
        println!(
            "{:>8} {:>9.1} {:>20} {:>7} {:>26} {:>26} {:>26} {:>26} {:>7.2}× {:>7.2}×",
            label,
            p.input_spikes_per_step,
            rates,
            if p.effective_ops > 0.0 {
                format!("{:.0}", 100.0 * p.performed_ops / p.effective_ops)
            } else {
                "–".into()
            },
            fmt_t(&p.event),
            fmt_t(&p.event_packed),
            p.native_dense
                .as_ref()
                .map(fmt_t)
                .unwrap_or_else(|| "n/a".into()),
            fmt_t(&p.engine_dense),
            p.speedup,
            p.speedup_packed
        );
    };
    row("headline".into(), &r.headline);
    for p in &r.sweep {
        row(format!("{}", p.input_rate * 100.0), p);
    }
    println!();
    let h = &r.headline;
    println!(
        "headline mean over all timed calls: event {:.1} µs, packed {:.1} µs, native dense {}",
        h.event.mean_us,
        h.event_packed.mean_us,
        h.native_dense
            .as_ref()
            .map(|t| format!(
                "{:.1} µs ({:.2}× the event engine's)",
                t.mean_us,
                t.mean_us / h.event.mean_us
            ))
            .unwrap_or_else(|| "n/a".into())
    );
    println!("headline input: {}", r.headline_input);
    println!("crossover: {}", r.crossover_note);
}

fn write_outputs(dir: &Path, r: &Report) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(r)?;
    write_atomic(&dir.join("spike_rate.json"), json.as_bytes())?;
    // The plot reads the file's own contents back (one definition of what it holds).
    let study: joulebench_report::spike_rate::SpikeRateStudy =
        serde_json::from_str(&json).context("re-reading spike_rate.json for the plot")?;
    joulebench_report::spike_rate::write_spike_rate_plot(dir, &study)?;
    let mut csv = String::from(
        "case,input_rate,input_spikes_per_step,effective_ops,dense_macs,event_median_us,event_p10_us,event_p90_us,\
         native_dense_median_us,native_dense_p10_us,native_dense_p90_us,engine_dense_median_us,speedup,\
         event_packed_median_us,event_packed_p10_us,event_packed_p90_us,speedup_packed,performed_ops\n",
    );
    let mut line = |case: &str, p: &Point| {
        let (nm, n10, n90) = p
            .native_dense
            .as_ref()
            .map(|t| {
                (
                    t.median_us.to_string(),
                    t.p10_us.to_string(),
                    t.p90_us.to_string(),
                )
            })
            .unwrap_or_default();
        csv.push_str(&format!(
            "{case},{},{},{},{},{},{},{},{nm},{n10},{n90},{},{},{},{},{},{},{}\n",
            p.input_rate,
            p.input_spikes_per_step,
            p.effective_ops,
            p.dense_macs,
            p.event.median_us,
            p.event.p10_us,
            p.event.p90_us,
            p.engine_dense.median_us,
            p.speedup,
            p.event_packed.median_us,
            p.event_packed.p10_us,
            p.event_packed.p90_us,
            p.speedup_packed,
            p.performed_ops
        ));
    };
    line("headline", &r.headline);
    for p in &r.sweep {
        line("sweep", p);
    }
    write_atomic(&dir.join("spike_rate.csv"), csv.as_bytes())?;
    Ok(())
}
