//! `joulebench meters`: which energy meters this machine has, their domains and resolution, and
//! why any is unavailable; `joulebench meters calibrate`: this CPU's power curve measured against
//! RAPL and saved for the modelled energy.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use joulebench_profiler::meter::rapl::{RaplMeter, RealFs};
use joulebench_profiler::{
    calibrate, calibration_dir, discover_at, CalibrationConfig, CalibrationPoint, EnergyMeter,
    MonotonicClock, SpinLoad, SystemInfo,
};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MetersArgs {
    #[command(subcommand)]
    command: Option<MetersCmd>,
    /// powercap sysfs root for RAPL.
    #[arg(long, default_value = joulebench_profiler::meter::rapl::POWERCAP_ROOT)]
    powercap_root: PathBuf,
    /// hwmon sysfs root (energy/power sensors: amd_energy, amdgpu, i915/xe, ina3221…).
    #[arg(long, default_value = joulebench_profiler::meter::hwmon::HWMON_ROOT)]
    hwmon_root: PathBuf,
    /// CUDA device index to probe with NVML (mapped to its NVML device by UUID/PCI bus id, honouring CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER).
    #[arg(long, default_value_t = 0)]
    gpu: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// `joulebench meters <subcommand>`; without one, the meters are listed.
#[derive(Subcommand)]
pub enum MetersCmd {
    /// Measure this CPU's package power at 0, 1, … busy logical CPUs (spinning threads) with RAPL,
    /// fit the power curve, and save it for the modelled energy (config folder, keyed by CPU model).
    Calibrate(CalibrateArgs),
    /// The CPU power model's dynamic package power at K busy logical CPUs for a CPU given by its
    /// spec sheet (TDP, cores, threads), or its error on a measured profile (--validate).
    PowerModel(super::power_model::PowerModelArgs),
}

#[derive(Args)]
pub struct CalibrateArgs {
    /// Meter window per load level, seconds.
    #[arg(long, default_value_t = 3.0)]
    window: f64,
    /// Pause after changing the load, before the window, seconds.
    #[arg(long, default_value_t = 0.5)]
    settle: f64,
    /// Highest number of busy logical CPUs measured (default: all of them).
    #[arg(long)]
    max_busy: Option<usize>,
    /// powercap sysfs root for RAPL.
    #[arg(long, default_value = joulebench_profiler::meter::rapl::POWERCAP_ROOT)]
    powercap_root: PathBuf,
    /// Folder of saved calibrations (default: $JOULEBENCH_CONFIG_DIR/calibration, else
    /// $XDG_CONFIG_HOME/joulebench/calibration, else ~/.config/joulebench/calibration).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the calibration as JSON (progress goes to stderr).
    #[arg(long)]
    json: bool,
}

pub fn run(args: MetersArgs) -> anyhow::Result<()> {
    match args.command {
        None => list(&args),
        Some(MetersCmd::Calibrate(a)) => run_calibrate(a),
        Some(MetersCmd::PowerModel(a)) => super::power_model::run(a),
    }
}

fn run_calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    let mut meter = RaplMeter::open_at(&args.powercap_root, Arc::new(RealFs))
        .context("`meters calibrate` needs a readable RAPL energy counter")?;
    let dir = args.dir.clone().or_else(calibration_dir).context(
        "no folder to save the calibration in: set JOULEBENCH_CONFIG_DIR, XDG_CONFIG_HOME or \
         HOME, or pass --dir",
    )?;
    let sys = SystemInfo::collect();
    let logical = u32::try_from(sys.logical_cpus).unwrap_or(u32::MAX);
    let cfg = CalibrationConfig {
        window_seconds: args.window,
        settle_seconds: args.settle,
        max_busy: args.max_busy,
    };
    let summed: Vec<String> = meter
        .domains()
        .into_iter()
        .filter(|d| d.in_total)
        .map(|d| d.name)
        .collect();
    let levels = cfg.max_busy.unwrap_or(logical as usize) + 1;
    let expected = levels as f64 * (cfg.window_seconds + cfg.settle_seconds);
    // progress goes to stdout for people, to stderr when stdout carries the JSON
    let say = |line: String| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
            let _ = std::io::stdout().flush();
        }
    };
    if expected.is_finite() && expected > 0.0 {
        say(format!(
            "calibrating {} ({logical} logical CPUs) with {} ({}): {levels} levels × ({} s settle + \
             {} s window) ≈ {expected:.0} s; keep the machine otherwise idle",
            sys.cpu_model,
            meter.name(),
            summed.join(" + "),
            cfg.settle_seconds,
            cfg.window_seconds
        ));
    }
    let mut load = SpinLoad::new();
    let mut on_level = |p: &CalibrationPoint| {
        say(format!(
            "busy {:>3}: package {:>8.2} W, dynamic {:>8.2} W",
            p.busy, p.package_w, p.dynamic_w
        ))
    };
    let c = calibrate(
        &MonotonicClock::new(),
        &mut meter,
        &mut load,
        &cfg,
        &sys.cpu_model,
        logical,
        &mut on_level,
    )?;
    drop(load);
    let path = c.save(&dir)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
        eprintln!("saved {}", path.display());
        return Ok(());
    }
    println!("idle {:.2} W", c.idle_w);
    println!(
        "curve: P(k) = {:.2} W · (1 − e^(−u/{s:.3})) / (1 − e^(−1/{s:.3})), u = k / {}",
        c.curve.pmax_w,
        c.curve.logical_cpus,
        s = c.curve.scale
    );
    println!(
        "fit error: median {:.1} %, max {:.1} % (the modelled energy interpolates the measured levels)",
        c.fit_median_error * 100.0,
        c.fit_max_error * 100.0
    );
    for n in &c.notes {
        println!("note: {n}");
    }
    println!("saved {}", path.display());
    Ok(())
}

fn list(args: &MetersArgs) -> anyhow::Result<()> {
    let found = discover_at(&args.powercap_root, &args.hwmon_root, args.gpu);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    for m in &found {
        match &m.reason {
            None => {
                println!("{}: available", m.name);
                for d in &m.domains {
                    println!(
                        "  {:<18} {:<9} resolution {:.2e} J, update ≈ {} ms, {} — {}",
                        d.name,
                        format!("{:?}", d.kind).to_lowercase(),
                        d.resolution_j,
                        d.update_period_s * 1e3,
                        if d.in_total {
                            "in total"
                        } else {
                            "not in total"
                        },
                        d.note
                    );
                }
            }
            Some(r) => println!("{}: unavailable — {r}", m.name),
        }
        for n in &m.notes {
            println!("  note: {n}");
        }
    }
    match joulebench_profiler::resolve_power(
        &joulebench_profiler::PowerOptions::default(),
        &joulebench_profiler::cpu_spec::this_cpu(),
    ) {
        Ok(p) => println!(
            "modelled: always available — measured CPU time × {}: {}; labelled `modelled`, never a measurement",
            p.name(),
            p.power_at(1.0).method
        ),
        Err(e) => println!("modelled: no power model ({e})"),
    }
    println!(
        "estimate: always available — what an ideal 45 nm accelerator would spend on the operations (Horowitz, ISSCC 2014), labelled `estimate`, never a measurement"
    );
    Ok(())
}
