//! `joulebench meters power-model`: the CPU power model's dynamic package power for a CPU at K busy
//! logical CPUs, or its error against a measured profile — so anyone can check it against their
//! own measurements.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use joulebench_profiler::power_model::{parse_profiles_csv, spec_model, validate, CpuSpec};

#[derive(Args)]
pub struct PowerModelArgs {
    /// TDP of one socket, watts.
    #[arg(long, required_unless_present = "validate")]
    tdp: Option<f64>,
    /// Physical cores of the whole machine.
    #[arg(long, required_unless_present = "validate")]
    cores: Option<u32>,
    /// Logical CPUs (hardware threads) of the whole machine.
    #[arg(long, required_unless_present = "validate")]
    logical_cpus: Option<u32>,
    /// Sockets.
    #[arg(long, default_value_t = 1)]
    sockets: u32,
    /// Busy logical CPUs (may be fractional: CPU time ÷ wall time).
    #[arg(long, required_unless_present = "validate")]
    busy: Option<f64>,
    /// Instead: the model's error on a measured profile CSV (the cpu-power layout: cpu, sockets,
    /// cores, logical_cpus, tdp_w_per_socket, load_type, busy_logical_cpus, rapl_package_w).
    #[arg(long, conflicts_with_all = ["tdp", "cores", "logical_cpus", "busy"])]
    validate: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: PowerModelArgs) -> anyhow::Result<()> {
    if let Some(path) = &a.validate {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let points =
            parse_profiles_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let rows = validate(&points);
        if a.json {
            println!("{}", serde_json::to_string_pretty(&rows)?);
        } else {
            println!("spec-sheet power model against {}:", path.display());
            for r in rows {
                println!(
                    "  {}: {} points, median error {:.1} % (max {:.1} %), {} in band; linear TDP×u: {:.1} %",
                    r.cpu,
                    r.points,
                    100.0 * r.median_error,
                    100.0 * r.max_error,
                    r.in_band,
                    100.0 * r.linear_median_error
                );
            }
        }
        return Ok(());
    }
    let (tdp, cores, logical, busy) = (
        a.tdp.context("--tdp is required")?,
        a.cores.context("--cores is required")?,
        a.logical_cpus.context("--logical-cpus is required")?,
        a.busy.context("--busy is required")?,
    );
    if !(tdp.is_finite() && tdp > 0.0) {
        anyhow::bail!("--tdp must be a positive number of watts, got {tdp}");
    }
    if cores == 0 || logical < cores || a.sockets == 0 {
        anyhow::bail!(
            "need 1 ≤ --cores ≤ --logical-cpus and --sockets ≥ 1 (got cores {cores}, logical CPUs {logical}, sockets {})",
            a.sockets
        );
    }
    if !(busy.is_finite() && busy >= 0.0) || busy > f64::from(logical) {
        anyhow::bail!("--busy must be between 0 and --logical-cpus ({logical}), got {busy}");
    }
    let spec = CpuSpec {
        model: "given on the command line".into(),
        tdp_w_per_socket: tdp,
        sockets: a.sockets,
        cores,
        logical_cpus: logical,
        source: "command line".into(),
    };
    let p = spec_model(&spec, busy);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "busy": p.busy,
                "watts": p.watts,
                "low": p.low,
                "high": p.high,
                "kind": "modelled dynamic package power above idle (not a measurement)",
                "method": p.method,
                "spec": spec,
            }))?
        );
    } else {
        println!(
            "{:.2} W (band {:.2}–{:.2} W) dynamic package power above idle at {busy} busy logical CPUs — modelled, not measured\n{}",
            p.watts, p.low, p.high, p.method
        );
    }
    Ok(())
}
