//! `joulebench infer MODEL|RUN --backend B --input X.npy --output Y.npy [--threads N]`: one
//! engine on a NumPy array; the engine's output written as a NumPy array.

use std::path::PathBuf;

use clap::Args;
use joulebench_bench::infer::{self, InferConfig};

#[derive(Args)]
pub struct InferArgs {
    /// A run folder (spec.json + weights.safetensors [+ model.onnx]) or an ONNX file.
    target: PathBuf,
    /// Engine: tract, ort, ort-cuda, native, event, event-int8, tch.
    #[arg(long, default_value = "tract")]
    backend: String,
    /// Input array (.npy, float32 <f4 or float64 <f8, C order): [batch, sample…] for a dense
    /// model, the encoded spike tensor [T, batch, sample…] for a spiking one.
    #[arg(long, value_name = "X.npy")]
    input: PathBuf,
    /// Where to write the engine's output (.npy float32, [batch, classes]); written atomically.
    #[arg(long, value_name = "Y.npy")]
    output: PathBuf,
    /// Worker threads of the engine.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

pub fn run(args: InferArgs) -> anyhow::Result<()> {
    let cfg = InferConfig {
        target: args.target,
        backend: args.backend,
        input: args.input,
        output: args.output,
        threads: args.threads,
    };
    let o = infer::run(&cfg)?;
    println!(
        "{}: input {:?} → output {:?} in {:.3} ms; wrote {}",
        o.engine,
        o.input_shape,
        o.output_shape,
        o.seconds * 1e3,
        cfg.output.display()
    );
    Ok(())
}
