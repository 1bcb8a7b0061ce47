//! `measure_process`: real child processes (`sh -c …`), their CPU time from `wait4`, the
//! modelled energy that follows it, exit statuses, and a measured figure from a fake meter with
//! idle subtracted. No assertion depends on how long anything took.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use joulebench_models::EnergyKind;
use joulebench_profiler::{
    measure_process, Clock, DomainInfo, DomainKind, EnergyMeter, EnergyReading, MeterError,
    MonotonicClock, PowerBasis, ProcessMeasurement, ProfileError, ReadingSource, WindowStart,
};

const BUSY: &str = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done";

fn watts10() -> PowerBasis {
    PowerBasis::UserWatts {
        watts_per_cpu: 10.0,
    }
}

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn sh(script: &str, count: Option<u64>) -> ProcessMeasurement {
    measure_process(
        &MonotonicClock::new(),
        &argv(&["sh", "-c", script]),
        count,
        None,
        "no meter (test)".into(),
        0.0,
        &watts10(),
    )
    .unwrap()
}

fn modelled(m: &ProcessMeasurement) -> &joulebench_models::EnergyFigure {
    let f = m.energy_sources.last().unwrap();
    assert_eq!(f.kind, EnergyKind::Modelled);
    f
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn a_busy_loop_uses_cpu_within_what_the_machine_has() {
    let m = sh(BUSY, None);
    assert!(m.exit.success && m.exit.code == Some(0), "{:?}", m.exit);
    assert!(m.cpu_seconds > 0.0, "{m:?}");
    assert!(close(m.cpu_seconds, m.user_seconds + m.system_seconds));
    let cpus = m
        .system
        .logical_cpus
        .max(std::thread::available_parallelism().unwrap().get()) as f64;
    assert!(
        m.cpu_seconds <= m.wall_seconds * cpus + 0.02,
        "cpu {} s > wall {} s × {cpus} CPUs",
        m.cpu_seconds,
        m.wall_seconds
    );
    assert!(m.max_rss_bytes > 0);
    assert!(m.count.is_none() && m.per_prediction.is_none());
    // no meter: the modelled figure only, 10 W × CPU seconds per run
    assert_eq!(m.energy_sources.len(), 1);
    let f = modelled(&m);
    assert!(close(f.joules_per_inference, 10.0 * m.cpu_seconds), "{f:?}");
    assert!(f.method.contains("wait4") && f.method.contains("per run"));
    // the result round-trips through JSON (floats to within parsing precision)
    let back: ProcessMeasurement =
        serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(
        (&back.command, &back.exit, back.count),
        (&m.command, &m.exit, m.count)
    );
    assert_eq!(back.max_rss_bytes, m.max_rss_bytes);
    assert!(close(back.cpu_seconds, m.cpu_seconds) && close(back.wall_seconds, m.wall_seconds));
    assert_eq!(back.energy_sources[0].kind, EnergyKind::Modelled);
    assert_eq!(back.system, m.system);
}

#[test]
fn peak_memory_is_the_commands_when_above_the_launchers() {
    // dd allocates (and fills) one 96 MiB block
    let m = sh(
        "dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null",
        None,
    );
    assert!(m.exit.success, "{:?}", m.exit);
    assert!(m.launcher_rss_bytes > 0);
    assert!(m.max_rss_bytes >= 96 << 20, "{} bytes", m.max_rss_bytes);
    assert!(
        m.max_rss_bytes > m.launcher_rss_bytes && !m.max_rss_is_upper_bound(),
        "{} {}",
        m.max_rss_bytes,
        m.launcher_rss_bytes
    );
}

#[test]
fn two_loops_in_parallel_use_more_cpu_and_more_modelled_energy() {
    let one = sh(BUSY, None);
    let two = sh(&format!("( {BUSY} ) & ( {BUSY} ); wait"), None);
    assert!(two.exit.success, "{:?}", two.exit);
    // the background loop is a waited-for descendant: charged too
    assert!(
        two.cpu_seconds > 1.3 * one.cpu_seconds,
        "two loops {} s, one {} s",
        two.cpu_seconds,
        one.cpu_seconds
    );
    let (e1, e2) = (modelled(&one), modelled(&two));
    assert!(e2.joules_per_inference > e1.joules_per_inference);
    assert!(close(e2.joules_per_inference, 10.0 * two.cpu_seconds));
}

#[test]
fn sleeping_costs_almost_no_modelled_energy() {
    let busy = sh(BUSY, None);
    let idle = sh("sleep 0.2", None);
    assert!(idle.exit.success);
    assert!(
        modelled(&idle).joules_per_inference < modelled(&busy).joules_per_inference / 10.0,
        "sleep {} J ({} s CPU), busy {} J ({} s CPU)",
        modelled(&idle).joules_per_inference,
        idle.cpu_seconds,
        modelled(&busy).joules_per_inference,
        busy.cpu_seconds
    );
}

#[test]
fn count_divides_everything() {
    let m = sh(BUSY, Some(1000));
    assert_eq!(m.count, Some(1000));
    let p = m.per_prediction.as_ref().unwrap();
    assert!(close(p.cpu_seconds, m.cpu_seconds / 1000.0));
    assert!(close(p.wall_seconds, m.wall_seconds / 1000.0));
    let f = modelled(&m);
    assert!(
        close(f.joules_per_inference, 10.0 * m.cpu_seconds / 1000.0),
        "{f:?}"
    );
    assert!(close(
        f.cpu_seconds_per_inference.unwrap(),
        m.cpu_seconds / 1000.0
    ));
    assert!(f.method.contains("--count 1000"));
}

#[test]
fn failures_are_results_and_unstartable_commands_are_errors() {
    let f = measure_process(
        &MonotonicClock::new(),
        &argv(&["false"]),
        None,
        None,
        String::new(),
        0.0,
        &watts10(),
    )
    .unwrap();
    assert!(!f.exit.success);
    assert_eq!((f.exit.code, f.exit.signal), (Some(1), None));

    let k = sh("kill -9 $$", None);
    assert!(!k.exit.success);
    assert_eq!((k.exit.code, k.exit.signal), (None, Some(9)));
    assert!(k.exit.describe().contains("SIGKILL"));

    let e = measure_process(
        &MonotonicClock::new(),
        &argv(&["/no/such/program", "x"]),
        None,
        None,
        String::new(),
        0.0,
        &watts10(),
    )
    .unwrap_err();
    assert!(matches!(e, ProfileError::Command { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("/no/such/program") && msg.contains("start"),
        "{msg}"
    );

    for (args, count, want) in [
        (vec!["true"], Some(0), "--count"),
        (vec![], None, "no command"),
    ] {
        let e = measure_process(
            &MonotonicClock::new(),
            &argv(&args),
            count,
            None,
            String::new(),
            0.0,
            &watts10(),
        )
        .unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
}

/// Real time, except that `sleep` only moves the clock forward (the idle window is instant).
struct FastSleepClock {
    origin: Instant,
    skipped_nanos: AtomicU64,
}

impl FastSleepClock {
    fn new() -> Arc<Self> {
        Arc::new(FastSleepClock {
            origin: Instant::now(),
            skipped_nanos: AtomicU64::new(0),
        })
    }
}

impl Clock for FastSleepClock {
    fn now(&self) -> Duration {
        self.origin.elapsed() + Duration::from_nanos(self.skipped_nanos.load(Ordering::SeqCst))
    }
    fn sleep(&self, d: Duration) {
        self.skipped_nanos
            .fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
    fn cpu_time(&self) -> Duration {
        joulebench_profiler::cpu_time::process_cpu_time()
    }
}

/// A package counter drawing `idle_w` during the first window and `busy_w` afterwards.
struct FakeMeter {
    clock: Arc<FastSleepClock>,
    windows: usize,
    idle_w: f64,
    busy_w: f64,
}

impl EnergyMeter for FakeMeter {
    fn name(&self) -> &str {
        "fake"
    }
    fn domains(&self) -> Vec<DomainInfo> {
        vec![DomainInfo {
            name: "package-0".into(),
            kind: DomainKind::Package,
            resolution_j: 1e-3,
            update_period_s: 0.001,
            in_total: true,
            note: "test".into(),
        }]
    }
    fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
        Ok(WindowStart::new(self.clock.now().as_secs_f64(), vec![]))
    }
    fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError> {
        let seconds = self.clock.now().as_secs_f64() - start.t();
        let w = if self.windows == 0 {
            self.idle_w
        } else {
            self.busy_w
        };
        self.windows += 1;
        Ok(EnergyReading {
            joules: vec![w * seconds],
            seconds,
            source: ReadingSource::Measured {
                counter: "fake".into(),
            },
        })
    }
}

fn with_meter(idle_seconds: f64) -> ProcessMeasurement {
    let clock = FastSleepClock::new();
    let meter = FakeMeter {
        clock: clock.clone(),
        windows: 0,
        idle_w: 10.0,
        busy_w: 25.0,
    };
    measure_process(
        clock.as_ref(),
        &argv(&["sh", "-c", BUSY]),
        Some(100),
        Some(Box::new(meter)),
        "fake meter".into(),
        idle_seconds,
        &watts10(),
    )
    .unwrap()
}

#[test]
fn a_meter_gives_a_measured_figure_with_idle_subtracted() {
    let m = with_meter(3.0);
    assert_eq!(m.meter_note, "fake meter");
    assert_eq!(m.energy_sources.len(), 2);
    let f = &m.energy_sources[0];
    assert_eq!(f.kind, EnergyKind::Measured);
    assert_eq!(f.source, "fake (package-0)");
    assert_eq!(f.windows, Some(1));
    let s = f.window_s.unwrap();
    // the window spans the command, and the clock's skipped idle time is not in it
    assert!(s >= m.wall_seconds && s < 3.0 + m.wall_seconds, "{s}");
    assert!(close(f.idle_power_w.unwrap(), 10.0), "{f:?}");
    // (25 W − 10 W idle) over the window, per prediction
    assert!(close(f.joules_per_inference, 15.0 * s / 100.0), "{f:?}");
    assert!(close(f.total_joules.unwrap(), 25.0 * s / 100.0), "{f:?}");
    assert!(close(f.resolution_j.unwrap(), 1e-5));
    assert!(close(f.low, f.joules_per_inference - 1e-5));
    assert!(close(f.high, f.joules_per_inference + 1e-5));
    assert!(
        f.method.contains("whole CPU package") && f.method.contains("above idle"),
        "{}",
        f.method
    );
    // the modelled figure is still there, second
    assert_eq!(m.energy_sources[1].kind, EnergyKind::Modelled);
}

#[test]
fn without_idle_the_measured_figure_includes_idle() {
    let m = with_meter(0.0);
    let f = &m.energy_sources[0];
    assert_eq!(f.kind, EnergyKind::Measured);
    assert!(f.idle_power_w.is_none());
    let s = f.window_s.unwrap();
    // the first window is the command's: the meter's "idle" power, all of it counted
    assert!(close(f.joules_per_inference, 10.0 * s / 100.0), "{f:?}");
    assert!(f.method.contains("idle included"), "{}", f.method);
}
