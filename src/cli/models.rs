//! `joulebench models`: the preset catalogue.

use clap::Args;
use joulebench_models::{Loss, LrSchedule, PRESETS};

#[derive(Args)]
pub struct ModelsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Show one preset in detail: its layers, output shapes, parameters, MACs and FLOPs
    /// (analytic counts per inference of one sample over all T steps).
    #[arg(long, value_name = "PRESET")]
    show: Option<String>,
    /// With --show: the dataset whose sample shape the preset adapts to (mnist, fashion-mnist,
    /// mnist1d; default mnist, or mnist1d for 1-D-only presets).
    #[arg(long, requires = "show")]
    dataset: Option<String>,
    /// With --show: time steps of a temporal spiking preset.
    #[arg(long, requires = "show")]
    steps: Option<usize>,
    /// With --show: hidden width (mlp-sweep).
    #[arg(long, requires = "show")]
    width: Option<usize>,
    /// With --show: number of hidden layers (mlp-sweep).
    #[arg(long, requires = "show")]
    depth: Option<usize>,
}

pub fn run(args: ModelsArgs) -> anyhow::Result<()> {
    if let Some(preset) = &args.show {
        return show(preset, &args);
    }
    if args.json {
        let list: Vec<_> = PRESETS
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "source": p.source, "summary": p.summary, "spiking": p.spiking,
                    "optimizer": p.defaults.optimizer.name(), "lr": p.defaults.lr,
                    "batch_size": p.defaults.batch_size, "epochs": p.defaults.epochs, "seed": p.defaults.seed,
                    "schedule": p.defaults.schedule.name(), "loss": p.defaults.loss.name(),
                    "augment": p.defaults.augment.name(), "dropout": p.defaults.dropout,
                    "mnist1d": {
                        "lr": p.train_defaults("mnist1d").lr,
                        "epochs": p.train_defaults("mnist1d").epochs,
                    },
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    println!(
        "{:<14} {:<24} {:<9} {:<29} {:<14} summary",
        "preset", "from", "spiking", "defaults", "on mnist1d"
    );
    for p in PRESETS {
        let d = p.defaults;
        let mut defaults = format!(
            "{} {:e} b{} e{}",
            d.optimizer.name(),
            d.lr,
            d.batch_size,
            d.epochs
        );
        // the recipe's other choices, only where a preset departs from the plain default
        if d.schedule != LrSchedule::Constant {
            defaults.push_str(&format!(" {}", d.schedule.name()));
        }
        if d.loss != Loss::Readout {
            defaults.push_str(&format!(" {}-loss", d.loss.name()));
        }
        if d.dropout > 0.0 {
            defaults.push_str(&format!(" dropout {}", d.dropout));
        }
        // MNIST-1D's own recipe (`PresetInfo::train_defaults`): epochs, and lr where it differs
        let m = p.train_defaults("mnist1d");
        let mut on_1d = format!("e{}", m.epochs);
        if p.needs_2d {
            on_1d = "—".into();
        } else if m.lr != d.lr {
            on_1d.push_str(&format!(" {:e}", m.lr));
        }
        println!(
            "{:<14} {:<24} {:<9} {:<29} {:<14} {}",
            p.name,
            p.source,
            if p.spiking { "yes" } else { "no" },
            defaults,
            on_1d,
            p.summary
        );
    }
    Ok(())
}

/// `--show PRESET`: the spec's layers with shapes, parameters and operation counts.
fn show(preset: &str, args: &ModelsArgs) -> anyhow::Result<()> {
    use joulebench_data::DatasetKind;
    use joulebench_models::{build_preset, preset_info, OpCounts, PresetOptions};
    let info = preset_info(preset)?;
    let kind: DatasetKind = match &args.dataset {
        Some(d) => d.parse()?,
        None if info.needs_1d => DatasetKind::Mnist1d,
        None => DatasetKind::Mnist,
    };
    let data = kind.data_shape();
    let opts = PresetOptions {
        width: args.width,
        depth: args.depth,
        steps: args.steps,
        ..Default::default()
    };
    let spec = build_preset(preset, &data, &opts)?;
    let counts = OpCounts::of(&spec)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "spec": spec, "counts": counts }))?
        );
        return Ok(());
    }
    println!(
        "{} on {}: input {:?} per sample, T = {}, encoding {:?}, readout {:?}",
        spec.preset, data.dataset, spec.input_shape, spec.steps, spec.encoding, spec.readout
    );
    println!(
        "{:<10} {:<10} {:<14} {:>10} {:>14} {:>14}  other ops",
        "layer", "kind", "output", "params", "MACs", "FLOPs"
    );
    for l in &counts.layers {
        let o = l.other;
        let mut other = vec![];
        for (n, v) in [
            ("relu", o.relu),
            ("tanh", o.tanh),
            ("cmp", o.pool_comparisons),
            ("mem-updates", o.membrane_updates),
        ] {
            if v > 0 {
                other.push(format!("{n} {v}"));
            }
        }
        println!(
            "{:<10} {:<10} {:<14} {:>10} {:>14} {:>14}  {}",
            l.name,
            l.kind,
            format!("{:?}", l.output_shape),
            l.params,
            l.macs,
            l.flops,
            other.join(", ")
        );
    }
    let o = counts.total_other;
    println!(
        "{:<10} {:<10} {:<14} {:>10} {:>14} {:>14}  relu {}, tanh {}, cmp {}, mem-updates {} ({} LIF ops)",
        "total", "", "", counts.total_params, counts.total_macs, counts.total_flops, o.relu, o.tanh,
        o.pool_comparisons, o.membrane_updates, o.lif_ops
    );
    println!("counted (analytic, dense): {}", OpCounts::convention());
    Ok(())
}
