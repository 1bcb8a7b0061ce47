//! The one timing harness of every study: the latency settings (the profiler's SingleStream
//! harness), per-sample timing statistics, and a backend's logits checked against a reference
//! before it is timed.

use std::time::Instant;

use anyhow::{bail, Context};
use joulebench_inference::{Backend, InferenceError};
use joulebench_models::Tensor;
use joulebench_profiler::stats::percentile_sorted;
use joulebench_profiler::{measure, LatencyConfig, MonotonicClock, StopReason, Summary};
use serde::{Deserialize, Serialize};

/// Latency settings of the profiler's harness (warm-up, then timed queries until a count and a
/// duration are both reached, or a time cap). `None` keeps the command's default.
#[derive(Debug, Clone, Default)]
pub struct LatencyOverrides {
    /// Untimed warm-up calls per measurement (at least this many, and at least --warmup-seconds).
    pub warmup: Option<usize>,
    /// Minimum warm-up duration per measurement, seconds.
    pub warmup_seconds: Option<f64>,
    /// Minimum number of timed calls per measurement (the repeats behind median and spread).
    pub repeats: Option<usize>,
    /// Minimum duration of the timed phase per measurement, seconds.
    pub min_seconds: Option<f64>,
    /// Stop a measurement's timed phase after this many seconds even if --repeats is not reached.
    pub max_seconds: Option<f64>,
}

impl LatencyOverrides {
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
    let name = backend.name().to_string();
    time_calls(inputs.len(), batch, cfg, |i| {
        std::hint::black_box(backend.run(&inputs[i])?);
        Ok(())
    })
    .with_context(|| format!("backend {name} failed while timed"))
}

/// Times `call(i)` with the profiler's harness (`cfg`: warm-up, then timed calls until a count
/// and a duration are both reached, or a time cap), `i` cycling over `n` inputs of `batch`
/// samples each; the wall clock is read directly around each call, per sample = per call /
/// batch. The one timing loop of every study.
pub fn time_calls(
    n: usize,
    batch: usize,
    cfg: &LatencyConfig,
    mut call: impl FnMut(usize) -> Result<(), InferenceError>,
) -> anyhow::Result<Timing> {
    if n == 0 {
        bail!("no inputs to time");
    }
    let clock = MonotonicClock::new();
    let mut next = 0usize;
    let mut direct = Vec::with_capacity(cfg.min_queries + cfg.warmup_queries);
    let r = measure(&clock, cfg, batch, || {
        let i = next % n;
        next += 1;
        let t0 = Instant::now();
        call(i)?;
        direct.push(t0.elapsed().as_secs_f64());
        Ok::<(), InferenceError>(())
    })?;
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

/// A fixed number of calls: `warmup` untimed, then exactly `repeats` timed (no duration
/// minimum, no cap) — for studies that sweep many points with a set budget each.
pub fn fixed_calls(warmup: usize, repeats: usize) -> LatencyConfig {
    LatencyConfig {
        warmup_queries: warmup,
        warmup_seconds: 0.0,
        min_queries: repeats,
        min_seconds: 0.0,
        max_seconds: None,
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
