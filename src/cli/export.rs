//! `joulebench export RUN_DIR [--format onnx|nir] [--out FILE]`: writes the run's model as ONNX
//! or NIR (no libtorch needed).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use joulebench_models::onnx::{summarize_onnx, INPUT_NAME, OUTPUT_NAME};
use joulebench_models::RunDir;

#[derive(Args)]
pub struct ExportArgs {
    /// Run folder holding spec.json and weights.safetensors; its train.json, when present, is
    /// stored in the ONNX metadata as `joulebench.train`.
    run_dir: PathBuf,
    /// Where to write the file (default: RUN_DIR/model.onnx or RUN_DIR/model.nir). Written
    /// atomically.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// onnx, or nir (spiking networks: NIR graph with LIF nodes, τ = dt/(1−β), r = τ/dt).
    #[arg(long, default_value = "onnx")]
    format: String,
    /// With --format nir: the time step τ is written for (snnTorch's convention by default).
    #[arg(long, default_value_t = 1e-4)]
    dt: f64,
    /// With --format nir: write the nearest graph where NIR cannot express the network exactly
    /// (reset by subtraction → reset to 0; a membrane readout → output spikes), listing each
    /// change, instead of refusing.
    #[arg(long)]
    nearest: bool,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let dir = &args.run_dir;
    if !dir.is_dir() {
        bail!(
            "run folder {} does not exist (train one with `joulebench train`)",
            dir.display()
        );
    }
    if !RunDir::exists(dir) {
        bail!("{} is not a run folder: it has no spec.json", dir.display());
    }
    let run = RunDir::new(dir);
    let spec = run.spec()?;
    match args.format.as_str() {
        "onnx" => {}
        "nir" => return export_nir(&run, &spec, &args),
        other => bail!("unknown export format `{other}` (expected onnx or nir)"),
    }
    let out = args.out.unwrap_or_else(|| run.onnx_path());
    let bytes = run.export_onnx_to(&out)?;
    let s = summarize_onnx(&bytes)?;

    let mut input = Vec::new();
    if spec.is_spiking() {
        input.push(format!("T={}", spec.steps));
    }
    input.push("batch".to_string());
    input.extend(spec.input_shape.iter().map(|d| d.to_string()));
    let ops: Vec<String> = s.ops.iter().map(|(op, n)| format!("{op}×{n}")).collect();
    println!("{}", out.display());
    println!(
        "  preset {}, opset {} (IR {}), {} nodes, {} initializers ({} parameters), {} bytes ({:.2} MiB)",
        spec.preset,
        s.opset,
        s.ir_version,
        s.nodes,
        s.initializers,
        spec.num_parameters(),
        bytes.len(),
        bytes.len() as f64 / (1024.0 * 1024.0)
    );
    println!(
        "  {INPUT_NAME} [{}] → {OUTPUT_NAME} [batch, {}]",
        input.join(", "),
        spec.num_classes
    );
    println!("  ops: {}", ops.join(", "));
    Ok(())
}

fn export_nir(
    run: &RunDir,
    spec: &joulebench_models::ModelSpec,
    args: &ExportArgs,
) -> anyhow::Result<()> {
    use joulebench_models::nir::{export, ExportOptions};
    let weights = run.weights(spec)?;
    let exported = export(
        spec,
        &weights,
        &ExportOptions {
            dt: args.dt,
            nearest: args.nearest,
        },
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", run.path.display()))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| run.path.join("model.nir"));
    joulebench_nir::write(&out, &exported.graph)?;
    println!("{}", out.display());
    println!(
        "  preset {}, {} NIR nodes, dt = {} s",
        spec.preset,
        exported.graph.nodes.len(),
        args.dt
    );
    for c in &exported.changes {
        println!("  changed (--nearest): {c}");
    }
    Ok(())
}
