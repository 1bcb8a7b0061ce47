//! Latency harness, MLPerf SingleStream style, and Offline throughput.
//!
//! One *query* is one call of the measured closure (one backend `run` on one batch).
//! 1. Warm-up: queries until both `warmup_queries` and `warmup_seconds` are reached (not recorded).
//! 2. Timed phase: queries until both `min_queries` and `min_seconds` (wall time of the timed
//!    phase) are reached, or until `max_seconds` when set (the result says which stopped it).
//!    Each query is timed with the monotonic clock read immediately before and after the call:
//!    nothing else (input preparation, result checks) is inside the timed interval.
//! 3. Harness overhead: an empty closure timed exactly the same way (same number of queries,
//!    at most 100 000), reported so readers can see the floor of the measurement.

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::stats::Summary;

/// How long to warm up and how much to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyConfig {
    pub warmup_queries: usize,
    pub warmup_seconds: f64,
    /// Minimum number of timed queries (MLPerf SingleStream: 1024).
    pub min_queries: usize,
    /// Minimum wall time of the timed phase, seconds.
    pub min_seconds: f64,
    /// Stop the timed phase after this many seconds even if `min_queries` is not reached.
    pub max_seconds: Option<f64>,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            warmup_queries: 10,
            warmup_seconds: 0.5,
            min_queries: 1024,
            min_seconds: 1.0,
            max_seconds: Some(120.0),
        }
    }
}

/// Why the timed phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Both the minimum count and the minimum duration were reached.
    CountAndDuration,
    /// `max_seconds` ran out first; fewer than `min_queries` queries were timed.
    TimeCap,
}

/// Latencies of one batch size. Times in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyResult {
    pub batch: usize,
    pub warmup_queries: usize,
    pub queries: usize,
    /// Wall time of the timed phase (includes the harness between queries).
    pub wall_seconds: f64,
    pub stopped_by: StopReason,
    /// Seconds per query (one backend call on `batch` samples).
    pub per_query_s: Summary,
    /// Seconds per sample: per-query times divided by `batch`.
    pub per_sample_s: Summary,
    /// Samples per second over the timed phase: `queries · batch / wall_seconds`.
    pub throughput_samples_per_s: f64,
    /// Seconds per query of an empty closure timed the same way (the harness floor).
    pub harness_overhead_s: Summary,
    /// CPU time of the whole process (all threads, user + system) over the timed phase, seconds.
    #[serde(default)]
    pub cpu_seconds: f64,
    /// `cpu_seconds / (queries · batch)`: CPU time per inference; an engine with two busy
    /// threads is charged for both.
    #[serde(default)]
    pub cpu_seconds_per_inference: f64,
    /// `cpu_seconds / wall_seconds`: average busy logical CPUs during the timed phase.
    #[serde(default)]
    pub busy_cpus: f64,
}

/// Runs the warm-up and timed phases on `query` (which runs one batch of `batch` samples)
/// and summarizes. Errors from `query` stop the measurement and are returned.
pub fn measure<C: Clock, E>(
    clock: &C,
    cfg: &LatencyConfig,
    batch: usize,
    mut query: impl FnMut() -> Result<(), E>,
) -> Result<LatencyResult, E> {
    let batch = batch.max(1);
    let w0 = clock.now();
    let mut warm = 0usize;
    while warm < cfg.warmup_queries || (clock.now() - w0).as_secs_f64() < cfg.warmup_seconds {
        query()?;
        warm += 1;
    }
    let cpu0 = clock.cpu_time();
    let (times, wall, stopped_by) = timed_phase(clock, cfg, &mut query)?;
    let cpu = clock.cpu_time().saturating_sub(cpu0).as_secs_f64();
    let overhead_n = times.len().min(100_000);
    let empty = || -> Result<(), E> {
        std::hint::black_box(());
        Ok(())
    };
    let mut overhead = Vec::with_capacity(overhead_n);
    for _ in 0..overhead_n {
        let t0 = clock.now();
        empty()?;
        let t1 = clock.now();
        overhead.push((t1 - t0).as_secs_f64());
    }
    let per_query = Summary::of(&times).expect("at least one finite query time");
    Ok(LatencyResult {
        batch,
        warmup_queries: warm,
        queries: times.len(),
        wall_seconds: wall,
        stopped_by,
        per_query_s: per_query,
        per_sample_s: per_query.scaled(1.0 / batch as f64),
        throughput_samples_per_s: if wall > 0.0 {
            (times.len() * batch) as f64 / wall
        } else {
            0.0
        },
        harness_overhead_s: Summary::of(&overhead).expect("overhead sample is not empty"),
        cpu_seconds: cpu,
        cpu_seconds_per_inference: cpu / (times.len() * batch).max(1) as f64,
        busy_cpus: if wall > 0.0 { cpu / wall } else { 0.0 },
    })
}

fn timed_phase<C: Clock, E>(
    clock: &C,
    cfg: &LatencyConfig,
    query: &mut impl FnMut() -> Result<(), E>,
) -> Result<(Vec<f64>, f64, StopReason), E> {
    let min_q = cfg.min_queries.max(1);
    let mut times = Vec::with_capacity(min_q);
    let start = clock.now();
    loop {
        let t0 = clock.now();
        query()?;
        let t1 = clock.now();
        times.push(t1.saturating_sub(t0).as_secs_f64());
        let wall = (t1 - start).as_secs_f64();
        if times.len() >= min_q && wall >= cfg.min_seconds {
            return Ok((times, wall, StopReason::CountAndDuration));
        }
        if let Some(cap) = cfg.max_seconds {
            if wall >= cap {
                return Ok((times, wall, StopReason::TimeCap));
            }
        }
    }
}

/// Offline scenario: large batches back to back; the figure of merit is samples per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineResult {
    pub batch: usize,
    pub queries: usize,
    pub wall_seconds: f64,
    /// `queries · batch / wall_seconds` over the timed phase.
    pub samples_per_s: f64,
    pub per_query_s: Summary,
}

/// Offline throughput: the SingleStream harness on big batches, reported as samples/s.
pub fn measure_offline<C: Clock, E>(
    clock: &C,
    cfg: &LatencyConfig,
    batch: usize,
    query: impl FnMut() -> Result<(), E>,
) -> Result<OfflineResult, E> {
    let r = measure(clock, cfg, batch, query)?;
    Ok(OfflineResult {
        batch: r.batch,
        queries: r.queries,
        wall_seconds: r.wall_seconds,
        samples_per_s: r.throughput_samples_per_s,
        per_query_s: r.per_query_s,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    /// A clock that advances only when told to (by the fake workload or `sleep`).
    #[derive(Default)]
    pub struct FakeClock {
        pub t: Cell<Duration>,
        pub cpu: Cell<Duration>,
    }
    impl FakeClock {
        pub fn advance(&self, d: Duration) {
            self.t.set(self.t.get() + d);
        }
        pub fn advance_cpu(&self, d: Duration) {
            self.cpu.set(self.cpu.get() + d);
        }
    }
    impl Clock for FakeClock {
        fn now(&self) -> Duration {
            self.t.get()
        }
        fn sleep(&self, d: Duration) {
            self.advance(d)
        }
        fn cpu_time(&self) -> Duration {
            self.cpu.get()
        }
    }

    #[test]
    fn stops_when_both_count_and_duration_are_reached() {
        let clock = FakeClock::default();
        let cfg = LatencyConfig {
            warmup_queries: 3,
            warmup_seconds: 0.0,
            min_queries: 10,
            min_seconds: 1.0,
            max_seconds: None,
        };
        // each query takes 50 ms: the count (10) is reached at 0.5 s, the duration needs 20 queries
        let mut calls = 0;
        // …and keeps two threads busy: 100 ms of CPU time per query
        let r = measure::<_, ()>(&clock, &cfg, 4, || {
            calls += 1;
            clock.advance(Duration::from_millis(50));
            clock.advance_cpu(Duration::from_millis(100));
            Ok(())
        })
        .unwrap();
        assert!(
            (r.cpu_seconds - 2.0).abs() < 1e-12,
            "only the 20 timed queries"
        );
        assert!((r.cpu_seconds_per_inference - 0.025).abs() < 1e-12);
        assert!((r.busy_cpus - 2.0).abs() < 1e-12);
        assert_eq!(r.warmup_queries, 3);
        assert_eq!(r.queries, 20);
        assert_eq!(calls, 23);
        assert_eq!(r.stopped_by, StopReason::CountAndDuration);
        assert!((r.per_query_s.mean - 0.05).abs() < 1e-12);
        assert!((r.per_sample_s.p99 - 0.0125).abs() < 1e-12);
        assert!((r.throughput_samples_per_s - 80.0).abs() < 1e-9);
        // the fake clock does not move for the empty closure
        assert_eq!(r.harness_overhead_s.max, 0.0);
        assert_eq!(r.harness_overhead_s.n, 20);
    }

    #[test]
    fn count_dominates_when_queries_are_slow_enough() {
        let clock = FakeClock::default();
        let cfg = LatencyConfig {
            warmup_queries: 0,
            warmup_seconds: 0.3,
            min_queries: 30,
            min_seconds: 1.0,
            max_seconds: None,
        };
        let r = measure::<_, ()>(&clock, &cfg, 1, || {
            clock.advance(Duration::from_millis(100));
            Ok(())
        })
        .unwrap();
        assert_eq!(r.warmup_queries, 3, "warm-up runs until 0.3 s");
        assert_eq!(r.queries, 30);
    }

    #[test]
    fn time_cap_and_errors() {
        let clock = FakeClock::default();
        let cfg = LatencyConfig {
            warmup_queries: 0,
            warmup_seconds: 0.0,
            min_queries: 1000,
            min_seconds: 0.0,
            max_seconds: Some(2.0),
        };
        let r = measure::<_, ()>(&clock, &cfg, 1, || {
            clock.advance(Duration::from_millis(500));
            Ok(())
        })
        .unwrap();
        assert_eq!((r.queries, r.stopped_by), (4, StopReason::TimeCap));
        let mut n = 0;
        let e = measure(&clock, &cfg, 1, || {
            n += 1;
            if n == 5 {
                Err("backend failed")
            } else {
                Ok(())
            }
        });
        assert_eq!(e.unwrap_err(), "backend failed");
    }
}
