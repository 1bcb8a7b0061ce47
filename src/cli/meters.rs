//! `joulebench meters`: which energy meters this machine has, their domains and resolution, and
//! why any is unavailable.

use std::path::PathBuf;

use clap::Args;
use joulebench_profiler::discover;

#[derive(Args)]
pub struct MetersArgs {
    /// powercap sysfs root for RAPL.
    #[arg(long, default_value = joulebench_profiler::meter::rapl::POWERCAP_ROOT)]
    powercap_root: PathBuf,
    /// GPU index to probe with NVML.
    #[arg(long, default_value_t = 0)]
    gpu: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: MetersArgs) -> anyhow::Result<()> {
    let found = discover(&args.powercap_root, args.gpu);
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
                        "  {:<18} {:<9} resolution {:.0e} J, update ≈ {} ms, {} — {}",
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
    }
    println!(
        "estimate: always available — energy from operation counts (Horowitz, ISSCC 2014, 45 nm), labelled `estimate`, never a measurement"
    );
    Ok(())
}
