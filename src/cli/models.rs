//! `joulebench models`: the preset catalogue.

use clap::Args;
use joulebench_models::PRESETS;

#[derive(Args)]
pub struct ModelsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ModelsArgs) -> anyhow::Result<()> {
    if args.json {
        let list: Vec<_> = PRESETS
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "source": p.source, "summary": p.summary, "spiking": p.spiking,
                    "optimizer": p.defaults.optimizer.name(), "lr": p.defaults.lr,
                    "batch_size": p.defaults.batch_size, "epochs": p.defaults.epochs, "seed": p.defaults.seed,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    println!("{:<14} {:<24} {:<9} {:<22} summary", "preset", "from", "spiking", "defaults");
    for p in PRESETS {
        let d = p.defaults;
        let defaults = format!("{} {:e} b{} e{}", d.optimizer.name(), d.lr, d.batch_size, d.epochs);
        println!("{:<14} {:<24} {:<9} {:<22} {}", p.name, p.source, if p.spiking { "yes" } else { "no" }, defaults, p.summary);
    }
    Ok(())
}
