//! `joulebench import MODEL.nir [--dt S] [--steps T] --out RUN`: a NIR graph as a run folder
//! (spec.json + weights.safetensors) that eval, profile, infer, export and bench accept.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use joulebench_models::nir::{import, ImportOptions};
use joulebench_models::RunDir;

#[derive(Args)]
pub struct ImportArgs {
    /// NIR file (HDF5, as written by the `nir` Python package, snnTorch, Norse, Sinabs, …).
    model: PathBuf,
    /// Time step in seconds NIR's continuous-time neurons are discretized with (β = 1 − dt/τ);
    /// the default is snnTorch's export convention.
    #[arg(long, default_value_t = 1e-4)]
    dt: f64,
    /// Time steps T per inference (inputs are rate-coded over T steps, logits are the output
    /// layer's spike counts).
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Run folder to write (must not hold a run already).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    if RunDir::exists(&args.out) {
        bail!(
            "{} already holds a run (spec.json): choose another --out or remove it",
            args.out.display()
        );
    }
    let graph = joulebench_nir::read(&args.model)?;
    let file = args.model.display().to_string();
    let imported = import(
        &graph,
        &file,
        &ImportOptions {
            dt: args.dt,
            steps: args.steps,
        },
    )?;
    let run = RunDir::new(&args.out);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    imported.weights.save(&run.weights_path())?;
    // spec last: a folder with spec.json is a complete run
    run.write_spec(&imported.spec)?;
    let spec = &imported.spec;
    println!("{}", args.out.display());
    println!(
        "  {} layers, {} parameters, input {:?}, {} outputs, T = {} (dt = {} s), readout {}",
        spec.layers.len(),
        spec.num_parameters(),
        spec.input_shape,
        spec.num_classes,
        spec.steps,
        args.dt,
        spec.readout.name()
    );
    for n in &imported.notes {
        println!("  note: {n}");
    }
    Ok(())
}
