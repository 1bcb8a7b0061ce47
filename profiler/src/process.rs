//! Time, CPU time and energy of any process (`joulebench measure -- CMD ARGS…`): a PyTorch
//! script, an ONNX Runtime server, another tool.
//!
//! 1. With a meter: an idle window of `idle_seconds` first (idle power), then one window around
//!    the command, from just before it is started to just after it is reaped; energy above idle =
//!    window energy − idle power × window length. A package or GPU counter covers the whole
//!    device, so whatever else runs during the window is counted too (the method says so).
//! 2. The command runs with the caller's stdin, stdout and stderr; it is reaped with `wait4`, so
//!    its CPU time (user + system) is exactly that child's and its waited-for descendants'.
//!    Its peak memory is the kernel's `ru_maxrss`, which also charges the child the memory of
//!    this process until the child's `exec`: below that floor (`launcher_rss_bytes`) the
//!    figure is only an upper bound, and the result says so.
//! 3. Always also the **modelled** figure ([`crate::modelled`]): the child's CPU time × the power
//!    that many busy CPUs draw on this machine.
//!
//! With `count` (the number of predictions the command made) every figure is per prediction;
//! without it, per run.

use std::process::Command;
use std::time::Duration;

use joulebench_models::{EnergyFigure, EnergyKind};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::cpu_time::rusage_cpu_time;
use crate::error::ProfileError;
use crate::meter::{DomainKind, EnergyMeter, EnergyReading};
use crate::modelled::{modelled_energy, PowerBasis};
use crate::system::SystemInfo;

/// How the command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Exit code when it exited (None when killed by a signal).
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Exit code 0.
    pub success: bool,
}

impl ExitInfo {
    /// `exit code 0`, `exit code 3`, `killed by signal 9 (SIGKILL)`.
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}{}", signal_name(s)),
            (None, None) => "unknown exit status".into(),
        }
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        libc::SIGHUP => " (SIGHUP)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGQUIT => " (SIGQUIT)",
        libc::SIGILL => " (SIGILL)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGBUS => " (SIGBUS)",
        libc::SIGFPE => " (SIGFPE)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGPIPE => " (SIGPIPE)",
        libc::SIGTERM => " (SIGTERM)",
        _ => "",
    }
}

/// Wall and CPU time per prediction (`--count`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerPrediction {
    pub wall_seconds: f64,
    /// User + system CPU time per prediction, seconds.
    pub cpu_seconds: f64,
}

/// One measured run of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessMeasurement {
    /// The command and its arguments, as run.
    pub command: Vec<String>,
    pub exit: ExitInfo,
    /// From just before the start to just after the reaping, seconds (monotonic clock).
    pub wall_seconds: f64,
    /// User + system CPU time of the child and its waited-for descendants (`wait4`), seconds.
    pub cpu_seconds: f64,
    pub user_seconds: f64,
    pub system_seconds: f64,
    /// Peak resident set size of the child (or its largest waited-for descendant), bytes, as the
    /// kernel reports it (`ru_maxrss`).
    pub max_rss_bytes: u64,
    /// Peak resident set size of the measuring process itself when it started the command,
    /// bytes. Linux charges a new process the memory of the one it was started from until its
    /// `exec`, so a `max_rss_bytes` at or below this is only an upper bound of the command's own
    /// peak (see [`ProcessMeasurement::max_rss_is_upper_bound`]).
    #[serde(default)]
    pub launcher_rss_bytes: u64,
    /// Number of predictions the command made (`--count`), when given.
    pub count: Option<u64>,
    /// Wall and CPU time divided by `count`.
    pub per_prediction: Option<PerPrediction>,
    /// Measured figure first (when a meter was used), then the modelled one; per prediction
    /// (per run without `count`).
    pub energy_sources: Vec<EnergyFigure>,
    /// How the meter was chosen (or why there is none).
    pub meter_note: String,
    pub system: SystemInfo,
}

impl ProcessMeasurement {
    /// Whether `max_rss_bytes` may be the launcher's memory rather than the command's: true when
    /// it does not exceed `launcher_rss_bytes`.
    pub fn max_rss_is_upper_bound(&self) -> bool {
        self.max_rss_bytes <= self.launcher_rss_bytes
    }

    /// Average busy logical CPUs: CPU time / wall time.
    pub fn busy_cpus(&self) -> f64 {
        self.cpu_seconds / self.wall_seconds.max(1e-12)
    }
}

/// Resource usage of the reaped child.
struct Reaped {
    status: libc::c_int,
    usage: libc::rusage,
}

/// `wait4(pid)`, retried on EINTR.
fn wait_for(pid: libc::pid_t) -> std::io::Result<Reaped> {
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` and `usage` are valid, writable and live for the call; `pid` is our
        // own child, not yet reaped.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok(Reaped { status, usage });
        }
        let e = std::io::Error::last_os_error();
        if r == -1 && e.kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return Err(e);
    }
}

/// While the child runs, this process ignores SIGINT and SIGQUIT (as `time(1)` does): a Ctrl-C
/// at the terminal goes to the child, which ends, and its results are still reported. Restored
/// on drop. Set after the child is spawned, so the child keeps the default handlers.
struct IgnoreInterrupts {
    int: libc::sighandler_t,
    quit: libc::sighandler_t,
}

impl IgnoreInterrupts {
    fn new() -> Self {
        // SAFETY: SIG_IGN is a valid disposition for these signals; the previous ones are kept
        // and restored.
        unsafe {
            IgnoreInterrupts {
                int: libc::signal(libc::SIGINT, libc::SIG_IGN),
                quit: libc::signal(libc::SIGQUIT, libc::SIG_IGN),
            }
        }
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        // SAFETY: restores the dispositions `signal` returned (SIG_ERR is never stored there
        // for these valid signal numbers).
        unsafe {
            if self.int != libc::SIG_ERR {
                libc::signal(libc::SIGINT, self.int);
            }
            if self.quit != libc::SIG_ERR {
                libc::signal(libc::SIGQUIT, self.quit);
            }
        }
    }
}

fn exit_info(status: libc::c_int) -> ExitInfo {
    if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        ExitInfo {
            code: Some(code),
            signal: None,
            success: code == 0,
        }
    } else if libc::WIFSIGNALED(status) {
        ExitInfo {
            code: None,
            signal: Some(libc::WTERMSIG(status)),
            success: false,
        }
    } else {
        ExitInfo {
            code: None,
            signal: None,
            success: false,
        }
    }
}

/// This process's own peak resident set size so far, bytes: `VmHWM` of `/proc/self/status`
/// (the high-water mark of its memory, which a child started from it is charged until its
/// `exec`). Not `getrusage(RUSAGE_SELF)`, which in turn includes what this process was charged by
/// *its* parent. 0 where unreadable.
fn own_peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: u64 = line["VmHWM:".len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(kib.saturating_mul(1024))
        })
        .unwrap_or(0)
}

fn secs(tv: &libc::timeval) -> f64 {
    tv.tv_sec.max(0) as f64 + tv.tv_usec.clamp(0, 999_999) as f64 * 1e-6
}

fn check_reading(r: &EnergyReading, what: &str) -> Result<(), ProfileError> {
    if r.joules.iter().any(|j| !j.is_finite() || *j < 0.0) || !r.seconds.is_finite() {
        return Err(ProfileError::Config(format!(
            "meter returned an invalid {what} energy {:?} over {} s",
            r.joules, r.seconds
        )));
    }
    Ok(())
}

/// The measured figure of the command's window, per prediction (`n`).
fn measured_figure(
    meter_name: &str,
    domains: &[crate::meter::DomainInfo],
    idle: Option<&EnergyReading>,
    work: &EnergyReading,
    n: u64,
    per_what: &str,
) -> EnergyFigure {
    let counted: Vec<&crate::meter::DomainInfo> = domains.iter().filter(|d| d.in_total).collect();
    let names: Vec<&str> = counted.iter().map(|d| d.name.as_str()).collect();
    let resolution: f64 = counted.iter().map(|d| d.resolution_j).sum();
    let total = work.total_j(domains);
    let nf = n.max(1) as f64;
    let idle_w = idle.map(|r| r.total_j(domains) / r.seconds.max(1e-9));
    let (value, what) = match (idle, idle_w) {
        (Some(r), Some(p)) => (
            total - p * work.seconds,
            format!(
                "above idle: {total:.4} J over the {:.3} s window − idle {p:.3} W (measured over \
                 {:.2} s before the start) × {:.3} s",
                work.seconds, r.seconds, work.seconds
            ),
        ),
        _ => (
            total,
            format!(
                "idle included (no idle measurement, --idle 0): {total:.4} J over the {:.3} s \
                 window",
                work.seconds
            ),
        ),
    };
    let mut notes = vec![];
    if counted.iter().any(|d| {
        matches!(
            d.kind,
            DomainKind::Package | DomainKind::Dram | DomainKind::Platform | DomainKind::Module
        )
    }) {
        notes.push(
            "the counter covers the whole CPU package, so every process running during the window \
             is counted, not only this command; subtracting idle removes only the steady \
             background"
                .to_string(),
        );
    }
    if counted.iter().any(|d| d.kind == DomainKind::Gpu) {
        notes.push(
            "the counter covers the whole GPU board (every process using it during the window)"
                .to_string(),
        );
    }
    if total == 0.0 {
        notes.push(format!(
            "the counter did not move over the {:.3} s window (too coarse or not updating)",
            work.seconds
        ));
    }
    if value < 0.0 {
        notes.push("energy above idle is negative: the command is within the idle noise".into());
    }
    let per = |j: f64| j / nf;
    let res = per(resolution);
    let mut f = EnergyFigure::new(
        EnergyKind::Measured,
        format!("{meter_name} ({})", names.join(", ")),
        per(value),
        per(value) - res,
        per(value) + res,
        format!(
            "{meter_name} counter, one window around the whole command, {what}; {per_what}; band \
             ± the counters' resolution{}{}",
            if notes.is_empty() { "" } else { "; " },
            notes.join("; ")
        ),
    );
    f.total_joules = Some(per(total));
    f.windows = Some(1);
    f.window_s = Some(work.seconds);
    f.idle_power_w = idle_w;
    f.resolution_j = Some(res);
    f
}

/// Runs `argv` (program and arguments, stdio inherited) and measures its wall time, CPU time,
/// peak memory and energy: measured with `meter` when one is given (after an idle window of
/// `idle_seconds`; 0 skips it), and always modelled from the child's CPU time with `power`.
/// `count` is the number of predictions the command made; figures are per prediction with it
/// and per run without.
///
/// A command that ran but failed (non-zero exit, signal) is a measurement with
/// `exit.success == false`, not an error; one that cannot be started is
/// [`ProfileError::Command`] naming it.
pub fn measure_process<C: Clock>(
    clock: &C,
    argv: &[String],
    count: Option<u64>,
    mut meter: Option<Box<dyn EnergyMeter>>,
    meter_note: String,
    idle_seconds: f64,
    power: &PowerBasis,
) -> Result<ProcessMeasurement, ProfileError> {
    let Some(program) = argv.first() else {
        return Err(ProfileError::Config("no command to measure".into()));
    };
    if count == Some(0) {
        return Err(ProfileError::Config(
            "--count must be at least 1 (the number of predictions the command makes)".into(),
        ));
    }
    if !(idle_seconds.is_finite() && idle_seconds >= 0.0) {
        return Err(ProfileError::Config(format!(
            "--idle must be a number of seconds ≥ 0, got {idle_seconds}"
        )));
    }

    // Idle power first, with nothing of ours running.
    let idle = match meter.as_mut() {
        Some(m) if idle_seconds > 0.0 => {
            let s = m.begin_window()?;
            clock.sleep(Duration::from_secs_f64(idle_seconds));
            let r = m.end_window(s)?;
            check_reading(&r, "idle")?;
            Some(r)
        }
        _ => None,
    };

    let window = match meter.as_mut() {
        Some(m) => Some(m.begin_window()?),
        None => None,
    };
    let launcher_rss_bytes = own_peak_rss_bytes();
    let t0 = clock.now();
    let child = Command::new(program)
        .args(&argv[1..])
        .spawn()
        .map_err(|error| ProfileError::Command {
            action: "start",
            program: program.clone(),
            error,
        })?;
    let guard = IgnoreInterrupts::new();
    let reaped = wait_for(child.id() as libc::pid_t).map_err(|error| ProfileError::Command {
        action: "wait for",
        program: program.clone(),
        error,
    });
    let t1 = clock.now();
    drop(guard);
    let reaped = reaped?;
    let reading = match (meter.as_mut(), window) {
        (Some(m), Some(s)) => {
            let r = m.end_window(s)?;
            check_reading(&r, "command window")?;
            Some(r)
        }
        _ => None,
    };

    let wall_seconds = t1.saturating_sub(t0).as_secs_f64();
    let user_seconds = secs(&reaped.usage.ru_utime);
    let system_seconds = secs(&reaped.usage.ru_stime);
    let cpu_seconds = rusage_cpu_time(&reaped.usage).as_secs_f64();
    let max_rss_bytes = (reaped.usage.ru_maxrss.max(0) as u64).saturating_mul(1024);
    let n = count.unwrap_or(1);
    let per_what = match count {
        Some(c) => format!("divided by --count {c} predictions"),
        None => "per run (no --count)".to_string(),
    };

    let mut energy_sources = vec![];
    if let (Some(m), Some(r)) = (meter.as_ref(), reading.as_ref()) {
        energy_sources.push(measured_figure(
            m.name(),
            &m.domains(),
            idle.as_ref(),
            r,
            n,
            &per_what,
        ));
    }
    let mut modelled = modelled_energy(power, cpu_seconds, wall_seconds, n);
    modelled.method = format!(
        "{}; CPU time of the command and its waited-for children (wait4); {per_what}",
        modelled.method
    );
    energy_sources.push(modelled);

    Ok(ProcessMeasurement {
        command: argv.to_vec(),
        exit: exit_info(reaped.status),
        wall_seconds,
        cpu_seconds,
        user_seconds,
        system_seconds,
        max_rss_bytes,
        launcher_rss_bytes,
        count,
        per_prediction: count.map(|c| PerPrediction {
            wall_seconds: wall_seconds / c as f64,
            cpu_seconds: cpu_seconds / c as f64,
        }),
        energy_sources,
        meter_note,
        system: SystemInfo::collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses() {
        let ok = exit_info(0);
        assert_eq!(
            ok,
            ExitInfo {
                code: Some(0),
                signal: None,
                success: true
            }
        );
        // exit(3): status 3 << 8
        let three = exit_info(3 << 8);
        assert_eq!((three.code, three.success), (Some(3), false));
        assert_eq!(three.describe(), "exit code 3");
        // killed by SIGKILL: status = signal number
        let killed = exit_info(libc::SIGKILL);
        assert_eq!((killed.code, killed.signal), (None, Some(libc::SIGKILL)));
        assert!(!killed.success);
        assert_eq!(killed.describe(), "killed by signal 9 (SIGKILL)");
    }
}
