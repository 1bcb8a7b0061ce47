//! `joulebench export RUN_DIR [--out FILE]`: writes the run's model as ONNX (no libtorch needed).

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
    /// Where to write the ONNX file (default: RUN_DIR/model.onnx). Written atomically.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
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
