//! `joulebench measure [FLAGS] -- CMD ARGS…`: wall time, CPU time, peak memory and energy of any
//! process (a PyTorch script, an ONNX Runtime server, another tool); per prediction with
//! `--count N`. Energy measured with a hardware counter where one is readable (idle subtracted)
//! and always modelled from the child's CPU time, each line saying which it is.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::cli::power::PowerArgs;
use anyhow::Context;
use clap::Args;
use joulebench_models::{EnergyFigure, EnergyKind};
use joulebench_profiler::caches::fmt_bytes;
use joulebench_profiler::cpu_spec::this_cpu;
use joulebench_profiler::table::{fmt_joules, fmt_seconds, joule_unit};
use joulebench_profiler::{
    measure_process, resolve_power, select_at, MeterChoice, MonotonicClock, ProcessMeasurement,
    Selection,
};

#[derive(Args)]
pub struct MeasureArgs {
    /// Number of predictions the command makes: time and energy are then given per prediction
    /// (per run without it).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Energy meter: auto (RAPL when readable, else hwmon's CPU sockets or whole module, else none), rapl, nvml, hwmon, none (modelled energy only).
    #[arg(long, default_value = "auto", value_parser = ["auto", "rapl", "nvml", "hwmon", "none", "estimate"])]
    meter: String,
    /// Seconds of idle power measurement before the command starts (with a meter; 0 skips it).
    #[arg(long, default_value_t = 3.0)]
    idle: f64,
    /// CUDA device index for --meter nvml (mapped to its NVML device by UUID/PCI bus id, honouring CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER).
    #[arg(long, default_value_t = 0)]
    gpu: u32,
    /// powercap sysfs root for RAPL.
    #[arg(long, default_value = joulebench_profiler::meter::rapl::POWERCAP_ROOT)]
    powercap_root: PathBuf,
    /// hwmon sysfs root (energy/power sensors: amd_energy, amdgpu, i915/xe, ina3221…).
    #[arg(long, default_value = joulebench_profiler::meter::hwmon::HWMON_ROOT)]
    hwmon_root: PathBuf,
    // --cpu-watts, --tdp, --cores, --logical-cpus, --sockets, --no-calibration…
    #[command(flatten)]
    power: PowerArgs,
    /// Print the JSON result instead of the summary (the command's own output still goes to
    /// stdout first; --out gives a file with the JSON alone).
    #[arg(long)]
    json: bool,
    /// Write the JSON result to this file (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The command to measure and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

impl MeasureArgs {
    /// The meter for `--meter`: an explicitly requested meter that is unavailable is an error;
    /// `auto` is the profiler's choice (RAPL, else hwmon, else none, saying why and how to fix
    /// it).
    fn meter(&self) -> anyhow::Result<Selection> {
        let sel = |c| select_at(c, false, &self.powercap_root, &self.hwmon_root, self.gpu);
        Ok(match self.meter.as_str() {
            "none" | "estimate" => Selection {
                meter: None,
                note: format!("--meter {}: modelled energy only", self.meter),
            },
            "rapl" => sel(MeterChoice::Rapl).context("--meter rapl")?,
            "nvml" => sel(MeterChoice::Nvml).context("--meter nvml")?,
            "hwmon" => sel(MeterChoice::Hwmon).context("--meter hwmon")?,
            "auto" => sel(MeterChoice::Auto)?,
            other => anyhow::bail!("--meter {other}: expected auto, rapl, nvml, hwmon or none"),
        })
    }
}

pub fn run(args: MeasureArgs) -> anyhow::Result<()> {
    let basis = resolve_power(&args.power.clone().into(), &this_cpu()).context("power model")?;
    let selection = args.meter()?;
    if selection.meter.is_some() && args.idle > 0.0 {
        eprintln!(
            "joulebench: measuring idle power for {} s before starting the command (--idle 0 skips)",
            args.idle
        );
    }
    let m = measure_process(
        &MonotonicClock::new(),
        &args.command,
        args.count,
        selection.meter,
        selection.note,
        args.idle,
        &basis,
    )?;
    let json = serde_json::to_string_pretty(&m)?;
    if let Some(out) = &args.out {
        joulebench_models::write_atomic(out, format!("{json}\n").as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", render(&m));
        if let Some(out) = &args.out {
            println!("wrote {}", out.display());
        }
    }
    if !m.exit.success {
        anyhow::bail!(
            "`{}` failed ({}); the figures above are of that failed run",
            shell_words(&m.command),
            m.exit.describe()
        );
    }
    Ok(())
}

/// The command as a shell would take it back: words with spaces or quotes single-quoted.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `fmt_joules` for a band, both ends in the unit of `v`: `5.200–14.000 mJ`.
fn fmt_band(v: f64, low: f64, high: f64) -> String {
    let (scale, unit) = joule_unit(v);
    format!("{:.3}–{:.3} {unit}", low * scale, high * scale)
}

/// `rapl (package-0, dram)` → `rapl package-0, dram`.
fn source_words(f: &EnergyFigure) -> String {
    match f.source.split_once(" (") {
        Some((name, rest)) => format!("{name} {}", rest.trim_end_matches(')')),
        None => f.source.clone(),
    }
}

/// [`fmt_joules`], with an exact zero as `0 J`.
fn joules(j: f64) -> String {
    if j == 0.0 {
        "0 J".into()
    } else {
        fmt_joules(j)
    }
}

fn energy_line(f: &EnergyFigure, per: &str) -> String {
    match f.kind {
        EnergyKind::Measured => {
            let idle = match f.idle_power_w {
                Some(w) => format!("idle {w:.1} W subtracted"),
                None => "idle included: --idle 0".into(),
            };
            let mut s = format!(
                "measured  {} {per} ({}, {idle}; ± {} counter resolution)",
                joules(f.joules_per_inference),
                source_words(f),
                joules(f.resolution_j.unwrap_or(0.0)),
            );
            if f.total_joules == Some(0.0) {
                s.push_str(
                    "\n          the counter did not move during the command (too coarse for so short \
                     a run, or not updating)",
                );
            }
            if f.method.contains("whole CPU package") {
                s.push_str(
                    "\n          whole-package counter: other processes running meanwhile are counted too",
                );
            } else if f.method.contains("whole GPU board") {
                s.push_str(
                    "\n          whole-GPU counter: other processes using the GPU are counted too",
                );
            }
            s
        }
        kind => {
            let band = if f.high > f.low {
                format!(" ({})", fmt_band(f.joules_per_inference, f.low, f.high))
            } else {
                String::new()
            };
            let load = match (f.busy_cpus, f.watts) {
                (Some(b), Some(w)) => format!(": {b:.2} busy CPUs × {w:.2} W"),
                _ => String::new(),
            };
            format!(
                "{:<9} {}{band} {per} — {}{load}, not a measurement",
                kind.as_str(),
                fmt_joules(f.joules_per_inference),
                f.source
            )
        }
    }
}

/// The human summary.
pub fn render(m: &ProcessMeasurement) -> String {
    let mut s = String::new();
    let per = if m.count.is_some() {
        "per prediction"
    } else {
        "per run"
    };
    let _ = writeln!(s, "\ncommand   {}", shell_words(&m.command));
    if m.exit.success {
        let _ = writeln!(s, "exit      0 (success)");
    } else {
        let _ = writeln!(
            s,
            "exit      FAILED: {} — the figures below are of a failed run",
            m.exit.describe()
        );
    }
    let secs = |t: f64| {
        if t == 0.0 {
            "0 s".to_string()
        } else {
            fmt_seconds(t)
        }
    };
    let each = |per_pred: Option<f64>| match (per_pred, m.count) {
        (Some(p), Some(n)) => format!(" = {} per prediction × {n}", secs(p)),
        _ => String::new(),
    };
    let pp = m.per_prediction.as_ref();
    let _ = writeln!(
        s,
        "wall      {}{}",
        secs(m.wall_seconds),
        each(pp.map(|p| p.wall_seconds))
    );
    let _ = writeln!(
        s,
        "CPU       {}{} (user {}, system {}; the command and its waited-for children)",
        secs(m.cpu_seconds),
        each(pp.map(|p| p.cpu_seconds)),
        secs(m.user_seconds),
        secs(m.system_seconds)
    );
    let _ = writeln!(
        s,
        "busy CPUs {:.2} of {} (CPU time / wall time)",
        m.busy_cpus(),
        m.system.logical_cpus
    );
    if m.max_rss_is_upper_bound() {
        let _ = writeln!(
            s,
            "max RSS   ≤ {}: the command's own peak is below what Linux charges every process \
             joulebench starts (joulebench's own memory, until the command's exec)",
            fmt_bytes(m.launcher_rss_bytes.max(m.max_rss_bytes))
        );
    } else {
        let _ = writeln!(s, "max RSS   {}", fmt_bytes(m.max_rss_bytes));
    }
    for f in &m.energy_sources {
        let _ = writeln!(s, "{}", energy_line(f, per));
    }
    let _ = writeln!(s, "meter     {}", m.meter_note);
    let _ = writeln!(s, "machine   {}", m.system.one_line());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        let argv: Vec<String> = ["sh", "-c", "echo 'hi' there", "a.py", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(shell_words(&argv), r"sh -c 'echo '\''hi'\'' there' a.py ''");
    }

    #[test]
    fn bands_share_the_value_unit() {
        assert_eq!(fmt_band(8.1e-3, 5.2e-3, 14e-3), "5.200–14.000 mJ");
    }
}
