//! What `bench backends`, `bench macs` and `bench table` share: the latency settings (the
//! profiler's SingleStream harness), per-sample timing statistics, the machine snapshot with
//! its load average, the benchmark images (MNIST test images or synthetic digits) and the
//! model inputs built from them, and the pieces of their reports: the header every report opens
//! with, the stamp every row ends with, measuring one row (logits check, then timing) and
//! writing the JSON/CSV/Markdown files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use joulebench_data::{image_stats, synthetic_digits};
use joulebench_inference::Backend;
use joulebench_models::{write_atomic, ModelSpec, Tensor};
use joulebench_profiler::stats::percentile_sorted;
use joulebench_profiler::{
    measure, LatencyConfig, MonotonicClock, StopReason, Summary, SystemInfo,
};
use serde::{Deserialize, Serialize};

/// Latency settings of the profiler's harness (warm-up, then timed queries until a count and a
/// duration are both reached, or a time cap). `None` keeps the command's default.
#[derive(Args, Debug, Clone, Default)]
pub struct LatencyArgs {
    /// Untimed warm-up calls per measurement (at least this many, and at least --warmup-seconds).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Minimum warm-up duration per measurement, seconds.
    #[arg(long)]
    pub warmup_seconds: Option<f64>,
    /// Minimum number of timed calls per measurement (the repeats behind median and spread).
    #[arg(long)]
    pub repeats: Option<usize>,
    /// Minimum duration of the timed phase per measurement, seconds.
    #[arg(long)]
    pub min_seconds: Option<f64>,
    /// Stop a measurement's timed phase after this many seconds even if --repeats is not reached.
    #[arg(long)]
    pub max_seconds: Option<f64>,
}

impl LatencyArgs {
    /// The harness configuration: these flags over `defaults`. Errors on a negative or
    /// non-finite duration or zero repeats.
    pub fn config(&self, defaults: LatencyConfig) -> anyhow::Result<LatencyConfig> {
        let cfg = LatencyConfig {
            warmup_queries: self.warmup.unwrap_or(defaults.warmup_queries),
            warmup_seconds: self.warmup_seconds.unwrap_or(defaults.warmup_seconds),
            min_queries: self.repeats.unwrap_or(defaults.min_queries),
            min_seconds: self.min_seconds.unwrap_or(defaults.min_seconds),
            max_seconds: self.max_seconds.or(defaults.max_seconds),
        };
        if cfg.min_queries == 0 {
            bail!("--repeats must be at least 1");
        }
        for (name, v) in [
            ("--warmup-seconds", cfg.warmup_seconds),
            ("--min-seconds", cfg.min_seconds),
            ("--max-seconds", cfg.max_seconds.unwrap_or(0.0)),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                bail!("{name} must be a finite number of seconds ≥ 0, got {v}");
            }
        }
        Ok(cfg)
    }
}

/// Per-sample wall-clock statistics of one measurement, in microseconds (per-call time divided
/// by the batch size). The profiler's harness decides warm-up and when to stop; every statistic
/// is computed from the timed calls' durations measured directly around the backend call (the
/// harness summary has no p10), with the profiler's conventions (`Summary`: sample std, linear
/// interpolation between closest ranks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub median_us: f64,
    pub p10_us: f64,
    pub p90_us: f64,
    pub mean_us: f64,
    /// Sample standard deviation.
    pub std_us: f64,
    pub min_us: f64,
    pub max_us: f64,
    /// Median time of one call on the whole batch, microseconds.
    pub per_call_median_us: f64,
    /// Timed calls (repeats).
    pub repeats: usize,
    pub warmup_calls: usize,
    /// Wall time of the timed phase, seconds.
    pub wall_s: f64,
    /// `count_and_duration` or `time_cap` (fewer repeats than asked).
    pub stopped_by: String,
    /// Median cost of the harness's empty timed call, nanoseconds (the measurement floor).
    pub harness_overhead_ns: f64,
}

impl Timing {
    /// The CSV fields `median_us,p10_us,p90_us,mean_us,std_us` of `t` (empty fields for `None`).
    pub fn csv_stats(t: Option<&Timing>) -> String {
        match t {
            Some(t) => format!(
                "{},{},{},{},{}",
                t.median_us, t.p10_us, t.p90_us, t.mean_us, t.std_us
            ),
            None => ",,,,".into(),
        }
    }
}

/// Times `backend` with the profiler's harness, cycling through `inputs` (each a batch of
/// `batch` samples); nothing but the `run` call is inside the timed interval.
pub fn time_backend(
    backend: &mut dyn Backend,
    inputs: &[Tensor],
    batch: usize,
    cfg: &LatencyConfig,
) -> anyhow::Result<Timing> {
    if inputs.is_empty() {
        bail!("no inputs to time");
    }
    let clock = MonotonicClock::new();
    let mut next = 0usize;
    let mut direct = Vec::with_capacity(cfg.min_queries + cfg.warmup_queries);
    let r = measure(&clock, cfg, batch, || {
        let x = &inputs[next % inputs.len()];
        next += 1;
        let t0 = Instant::now();
        let out = backend.run(x)?;
        direct.push(t0.elapsed().as_secs_f64());
        std::hint::black_box(&out);
        Ok::<(), joulebench_inference::InferenceError>(())
    })
    .with_context(|| format!("backend {} failed while timed", backend.name()))?;
    let per_call: Vec<f64> = direct[r.warmup_queries.min(direct.len())..].to_vec();
    let per_sample: Vec<f64> = per_call
        .iter()
        .map(|s| s * 1e6 / batch.max(1) as f64)
        .collect();
    let s = Summary::of(&per_sample).context("no finite timed call")?;
    let mut sorted = per_sample;
    sorted.sort_by(|a, b| a.total_cmp(b));
    let call = Summary::of(&per_call).context("no finite timed call")?;
    Ok(Timing {
        median_us: s.p50,
        p10_us: percentile_sorted(&sorted, 10.0),
        p90_us: s.p90,
        mean_us: s.mean,
        std_us: s.std,
        min_us: s.min,
        max_us: s.max,
        per_call_median_us: call.p50 * 1e6,
        repeats: sorted.len(),
        warmup_calls: r.warmup_queries,
        wall_s: r.wall_seconds,
        stopped_by: match r.stopped_by {
            StopReason::CountAndDuration => "count_and_duration",
            StopReason::TimeCap => "time_cap",
        }
        .into(),
        harness_overhead_ns: r.harness_overhead_s.p50 * 1e9,
    })
}

/// The 1-, 5- and 15-minute load averages from `/proc/loadavg` (`None` where unreadable).
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Load average formatted as `1m/5m/15m`, or `n/a`.
pub fn fmt_load(l: Option<[f64; 3]>) -> String {
    match l {
        Some([a, b, c]) => format!("{a:.2}/{b:.2}/{c:.2}"),
        None => "n/a".into(),
    }
}

/// The machine a benchmark ran on (the profiler's system description) and its one-line form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub line: String,
    pub info: SystemInfo,
}

impl Machine {
    pub fn collect() -> Self {
        let info = SystemInfo::collect();
        Machine {
            line: info.one_line(),
            info,
        }
    }
}

/// Current UTC time, ISO 8601 (`2026-11-23T20:15:00Z`), computed from the Unix time with the
/// proleptic Gregorian calendar (no time-zone data needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// (year, month, day) of `days` since 1970-01-01 (H. Hinnant's days→civil algorithm).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Benchmark images, `[count, 1, 28, 28]` in `[0, 1]`.
pub struct Images {
    pub tensor: Tensor,
    /// Where they come from, in a sentence.
    pub description: String,
    /// True for real MNIST test images, false for synthetic digits.
    pub real_mnist: bool,
}

/// The first `count` MNIST test images from `dir/mnist/t10k-images-idx3-ubyte[.gz]` (`dir`
/// defaults to `$JOULEBENCH_DATA`); seeded synthetic digit-like images when no such file exists.
/// A file that exists but cannot be read is an error (never a silent fallback).
pub fn bench_images(dir: Option<&Path>, count: usize, seed: u64) -> anyhow::Result<Images> {
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("JOULEBENCH_DATA").map(PathBuf::from));
    let file = dir.as_ref().and_then(|d| {
        ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"]
            .iter()
            .map(|f| d.join("mnist").join(f))
            .find(|p| p.is_file())
    });
    if let Some(path) = file {
        let imgs = joulebench_data::idx::read_idx_images(&path)
            .with_context(|| format!("reading MNIST test images {}", path.display()))?;
        if imgs.rows * imgs.cols != 784 || imgs.count == 0 {
            bail!(
                "{}: expected 28×28 MNIST images, found {} of {}×{}",
                path.display(),
                imgs.count,
                imgs.rows,
                imgs.cols
            );
        }
        // Cycle when more images are asked for than the file has.
        let data = (0..count * 784)
            .map(|i| imgs.pixels[i % (imgs.count * 784)] as f32 / 255.0)
            .collect();
        return Ok(Images {
            tensor: Tensor::new(vec![count, 1, 28, 28], data)?,
            description: format!(
                "MNIST test images 0..{} from {}",
                count.min(imgs.count),
                path.display()
            ),
            real_mnist: true,
        });
    }
    let tensor = synthetic_digits(count, seed);
    let (nz, mean) = image_stats(&tensor);
    Ok(Images {
        tensor,
        description: format!(
            "synthetic digit-like images (no MNIST found under --data or $JOULEBENCH_DATA; seed {seed}, \
             {:.1} % pixels non-zero, mean {mean:.3})",
            nz * 100.0
        ),
        real_mnist: false,
    })
}

/// The benchmark images for `variants` batches of the largest of `batches` (see
/// [`bench_images`]), refused before they are made when they would not fit in memory; says on
/// stderr where they come from.
pub fn images_for_batches(
    dir: Option<&Path>,
    batches: &[usize],
    variants: usize,
    seed: u64,
) -> anyhow::Result<Images> {
    let max_batch = *batches.iter().max().unwrap_or(&1);
    // the benchmark images alone (28×28 floats per sample and variant), before they are made
    super::memory_check::refuse_if_too_big(
        None,
        None,
        &[1, 28, 28],
        max_batch.saturating_mul(variants),
    )?;
    let images = bench_images(dir, max_batch * variants, seed)?;
    eprintln!("inputs: {}", images.description);
    Ok(images)
}

/// `variants` input batches of `batch` samples for `spec`, in the layout the backends take:
/// consecutive images (cycled), the spec's preprocessing, then — for spiking models — its
/// encoder over `spec.steps` steps with seed `seed + variant` (rate coding for snn-temporal,
/// the analog values repeated for single-step models).
pub fn model_inputs(
    spec: &ModelSpec,
    images: &Tensor,
    batch: usize,
    variants: usize,
    seed: u64,
) -> anyhow::Result<Vec<Tensor>> {
    let per: usize = images.shape[1..].iter().product();
    let count = images.shape[0];
    if count == 0 || per == 0 {
        bail!("no benchmark images");
    }
    (0..variants)
        .map(|v| {
            let mut data = Vec::with_capacity(batch * per);
            for i in 0..batch {
                let k = (v * batch + i) % count;
                data.extend_from_slice(&images.data[k * per..(k + 1) * per]);
            }
            let mut shape = vec![batch];
            shape.extend_from_slice(&images.shape[1..]);
            let raw = Tensor::new(shape, data)?;
            let x = joulebench_data::apply_preprocess(&spec.preprocess, &raw)?;
            Ok(if spec.is_spiking() {
                joulebench_data::encode(spec.encoding, &x, spec.steps, seed + v as u64)?
            } else {
                x
            })
        })
        .collect()
}

/// The opening fields every benchmark report (`backends.json`, `macs.json`) starts with,
/// flattened into the report's JSON object (same keys, same order as fields of the report).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportHeader {
    /// The command: `backends` or `macs`.
    pub what: String,
    pub date_start: String,
    pub date_end: String,
    pub machine: Machine,
    pub load_start: Option<[f64; 3]>,
    pub load_end: Option<[f64; 3]>,
    pub how: String,
    pub latency: LatencyConfig,
}

impl ReportHeader {
    /// A report started now: machine snapshot, load average and UTC date taken in that order;
    /// `date_end` and `load_end` stay empty until [`ReportHeader::finish`].
    pub fn begin(what: &str, how: String, latency: LatencyConfig) -> Self {
        let machine = Machine::collect();
        let load_start = load_average();
        ReportHeader {
            what: what.into(),
            date_start: utc_now(),
            date_end: String::new(),
            machine,
            load_start,
            load_end: None,
            how,
            latency,
        }
    }

    /// Stamps the end date and load average (call once every row is measured).
    pub fn finish(mut self) -> Self {
        self.date_end = utc_now();
        self.load_end = load_average();
        self
    }

    /// The Markdown heading and the machine/load lines that open the report's table
    /// (`### joulebench bench <what> — <date>`, then `machine:` and `load average` lines).
    pub fn markdown_intro(&self) -> String {
        format!(
            "### joulebench bench {} — {}\n\nmachine: {}  \nload average (1/5/15 min) at start {}, at end {}  \n",
            self.what,
            self.date_start,
            self.machine.line,
            fmt_load(self.load_start),
            fmt_load(self.load_end),
        )
    }
}

/// When and where one row was measured: flattened at the end of each report row
/// (`date`, `load_start`, `load_end`, `machine`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowStamp {
    /// UTC date at the start of the row.
    pub date: String,
    /// Load averages just before and just after the row's measurement.
    pub load_start: Option<[f64; 3]>,
    pub load_end: Option<[f64; 3]>,
    /// The machine's one-line description.
    pub machine: String,
}

impl RowStamp {
    /// The stamp's CSV fields: `date,load_start_1m,load_end_1m,machine` (empty where unknown).
    pub fn csv_fields(&self) -> String {
        let one = |l: Option<[f64; 3]>| l.map(|l| l[0].to_string()).unwrap_or_default();
        format!(
            "{},{},{},{}",
            self.date,
            one(self.load_start),
            one(self.load_end),
            csv_field(&self.machine)
        )
    }
}

/// One measured row: its status (`ok`, or the error `measure` gave), the value measured and
/// the stamp around the measurement.
pub struct Measured<T> {
    pub status: String,
    pub value: Option<T>,
    pub stamp: RowStamp,
}

/// Measures one row: date and load average, then `measure` (whose `Err` is the row's status
/// text, e.g. `unavailable: …`), then the load average again.
pub fn measure_row<T>(
    machine: &Machine,
    measure: impl FnOnce() -> Result<T, String>,
) -> Measured<T> {
    let load_start = load_average();
    let date = utc_now();
    let (status, value) = match measure() {
        Ok(v) => ("ok".to_string(), Some(v)),
        Err(status) => (status, None),
    };
    Measured {
        status,
        value,
        stamp: RowStamp {
            date,
            load_start,
            load_end: load_average(),
            machine: machine.line.clone(),
        },
    }
}

/// An engine's logits checked against the reference, then its timing.
pub struct Checked {
    /// Largest |logit − reference logit| over all inputs.
    pub max_abs_diff: f32,
    /// Fraction of samples whose argmax equals the reference's.
    pub argmax_agreement: f64,
    pub timing: Timing,
}

/// Logits of `backend` on every input, compared with `reference`: (max |Δ|, argmax agreement).
pub fn agreement(
    backend: &mut dyn Backend,
    inputs: &[Tensor],
    reference: &[Tensor],
) -> anyhow::Result<(f32, f64)> {
    let (mut worst, mut same, mut total) = (0.0f32, 0usize, 0usize);
    for (x, r) in inputs.iter().zip(reference) {
        let y = backend.run(x)?;
        worst = worst.max(y.max_abs_diff(r)?);
        let (a, b) = (y.argmax_rows(), r.argmax_rows());
        same += a.iter().zip(&b).filter(|(p, q)| p == q).count();
        total += a.len();
    }
    Ok((worst, same as f64 / total.max(1) as f64))
}

/// [`agreement`] of `backend` with `reference` on `inputs`, then [`time_backend`] on them.
pub fn check_and_time(
    backend: &mut dyn Backend,
    inputs: &[Tensor],
    reference: &[Tensor],
    batch: usize,
    cfg: &LatencyConfig,
) -> anyhow::Result<Checked> {
    let (max_abs_diff, argmax_agreement) = agreement(backend, inputs, reference)?;
    let timing = time_backend(backend, inputs, batch, cfg)?;
    Ok(Checked {
        max_abs_diff,
        argmax_agreement,
        timing,
    })
}

/// Writes `DIR/<stem>.json` (pretty), `<stem>.csv` and `<stem>.md`, each atomically.
pub fn write_report_files(
    dir: &Path,
    stem: &str,
    report: &impl Serialize,
    csv: &str,
    md: &str,
) -> anyhow::Result<()> {
    write_atomic(
        &dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(report)?.as_bytes(),
    )?;
    write_atomic(&dir.join(format!("{stem}.csv")), csv.as_bytes())?;
    write_atomic(&dir.join(format!("{stem}.md")), md.as_bytes())?;
    Ok(())
}

/// Markdown-safe cell text (pipes escaped).
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A CSV field, quoted when it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// How the harness `cfg` times each row, for the reports' `how` field: "wall clock around each
/// backend call only, profiler SingleStream harness: ≥ … warm-up calls …, cycling N input batches;
/// per sample = per call / batch; median with p10–p90".
pub fn harness_how(cfg: &LatencyConfig, variants: usize) -> String {
    format!(
        "wall clock (CLOCK_MONOTONIC) around each backend call only, profiler SingleStream harness: \
         ≥ {} warm-up calls and ≥ {} s, then ≥ {} timed calls and ≥ {} s (cap {} s) per row, cycling \
         {variants} input batches; per sample = per call / batch; median with p10–p90",
        cfg.warmup_queries,
        cfg.warmup_seconds,
        cfg.min_queries,
        cfg.min_seconds,
        cfg.max_seconds
            .map(|c| c.to_string())
            .unwrap_or_else(|| "none".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_780), (2026, 11, 23));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("x\"y"), "\"x\"\"y\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
