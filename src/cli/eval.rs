//! `joulebench eval RUN_DIR|MODEL.onnx --dataset D [--backend B] …`: the flags, turned into
//! `joulebench_bench::eval`'s configuration, and the report printed as text or JSON.

use std::path::PathBuf;

use clap::Args;
use joulebench_bench::eval::{self, EvalReport};

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let json = args.json;
    let report = eval::run(&args.into(), json)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

#[derive(Args)]
pub struct EvalArgs {
    /// A run folder (spec.json + weights.safetensors, and model.onnx for tract/ort) or any ONNX
    /// classifier file (then --input-shape is required).
    model: PathBuf,
    /// Dataset whose test split is evaluated: mnist1d, mnist or fashion-mnist.
    #[arg(long)]
    dataset: String,
    /// Folder holding the dataset files (default: $JOULEBENCH_DATA/NAME or the fetch folder;
    /// MNIST-1D is generated when omitted).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Engine: tract, ort, ort-cuda, native, event or tch (tch needs the `training` feature).
    /// Default: native for run folders, tract for ONNX files.
    #[arg(long)]
    backend: Option<String>,
    /// Worker threads of the backend (explicit for every engine).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Samples per backend call.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Evaluate only the first N test samples.
    #[arg(long)]
    limit: Option<usize>,
    /// Shape of one input sample of a foreign ONNX file, without the batch dimension, e.g.
    /// `1,28,28` or `784`. Ignored for run folders (their spec says it); optional for joulebench
    /// exports, whose embedded spec gives the shape and preprocessing.
    #[arg(long, value_name = "DIMS", value_delimiter = ',')]
    input_shape: Option<Vec<usize>>,
    /// For a foreign ONNX file: normalize inputs with the dataset's usual mean/std (MNIST
    /// 0.1307/0.3081) instead of feeding raw [0, 1] values. Run folders use their own preprocessing.
    #[arg(long)]
    normalize: bool,
    /// Seed of the spike encoder (batch i uses seed + i), so every backend sees the same spikes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run the tch model on CUDA for the tch backend / the reference (`training` feature).
    #[arg(long)]
    cuda: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl From<EvalArgs> for eval::EvalConfig {
    fn from(a: EvalArgs) -> Self {
        eval::EvalConfig {
            model: a.model,
            dataset: a.dataset,
            data_dir: a.data_dir,
            backend: a.backend,
            threads: a.threads,
            batch: a.batch,
            limit: a.limit,
            input_shape: a.input_shape,
            normalize: a.normalize,
            seed: a.seed,
            cuda: a.cuda,
        }
    }
}

fn print_report(r: &EvalReport) {
    println!(
        "model     {}{}",
        r.model,
        r.preset
            .as_ref()
            .map(|p| format!(" (preset {p})"))
            .unwrap_or_default()
    );
    println!(
        "dataset   {} test split, {} samples ({})",
        r.dataset, r.samples, r.dataset_source
    );
    println!(
        "backend   {} ({} thread{}), batch {}",
        r.backend,
        r.threads,
        if r.threads == 1 { "" } else { "s" },
        r.batch
    );
    println!(
        "accuracy  {:.2} % ({}/{})",
        r.accuracy, r.correct, r.samples
    );
    println!(
        "time      {:.3} s wall; {:.3} s inside the backend = {:.1} µs/sample (measured, monotonic clock)",
        r.wall_s, r.backend_s, r.us_per_sample
    );
    match (&r.agreement, &r.agreement_note) {
        (Some(a), _) => println!(
            "vs {}    argmax agreement {:.3} %, max |Δlogit| {:.2e}, reference accuracy {:.2} %",
            a.reference,
            100.0 * a.argmax_agreement,
            a.max_abs_diff,
            a.reference_accuracy
        ),
        (None, Some(note)) => println!("reference none: {note}"),
        _ => {}
    }
}
