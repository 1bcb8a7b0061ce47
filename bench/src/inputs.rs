//! What the studies feed the engines: benchmark images (MNIST test images, or seeded synthetic
//! digit-like images when MNIST is absent), the model inputs built from them, and the models
//! of a study (a trained run folder, or a preset with seeded random weights).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use joulebench_data::{image_stats, synthetic_digits, DatasetKind};
use joulebench_models::{build_preset, ModelSpec, PresetOptions, RunDir, Tensor, Weights};

/// Benchmark images, `[count, 1, 28, 28]` in `[0, 1]`.
pub struct Images {
    pub tensor: Tensor,
    /// Where they come from, in a sentence.
    pub description: String,
    /// True for real MNIST test images, false otherwise.
    pub real_mnist: bool,
    /// `mnist`, `fashion-mnist` (real test images) or `synthetic`.
    pub dataset: &'static str,
}

/// The first `count` test images of `kind` (MNIST or Fashion-MNIST, 28×28) from
/// `dir/NAME/t10k-images-idx3-ubyte[.gz]` (`dir` defaults to `$JOULEBENCH_DATA`, `NAME` is
/// `mnist` or `fashion-mnist`); seeded synthetic digit-like images when no such file exists. A
/// file that exists but cannot be read is an error (never a silent fallback).
pub fn bench_images(
    dir: Option<&Path>,
    kind: DatasetKind,
    count: usize,
    seed: u64,
) -> anyhow::Result<Images> {
    if !matches!(kind, DatasetKind::Mnist | DatasetKind::FashionMnist) {
        bail!(
            "benchmark images are 28×28 test images: mnist or fashion-mnist, not {}",
            kind.name()
        );
    }
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("JOULEBENCH_DATA").map(PathBuf::from));
    let file = dir.as_ref().and_then(|d| {
        ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"]
            .iter()
            .map(|f| d.join(kind.name()).join(f))
            .find(|p| p.is_file())
    });
    if let Some(path) = file {
        let imgs = joulebench_data::idx::read_idx_images(&path)
            .with_context(|| format!("reading {} test images {}", kind.name(), path.display()))?;
        if imgs.rows * imgs.cols != 784 || imgs.count == 0 {
            bail!(
                "{}: expected 28×28 images, found {} of {}×{}",
                path.display(),
                imgs.count,
                imgs.rows,
                imgs.cols
            );
        }
        // Cycle when more images are asked for than the file has.
        let data = (0..count * 784)
            .map(|i| imgs.pixels[i % (imgs.count * 784)] as f32 / 255.0)
            .collect();
        return Ok(Images {
            tensor: Tensor::new(vec![count, 1, 28, 28], data)?,
            description: format!(
                "{} test images 0..{} from {}",
                kind.name(),
                count.min(imgs.count),
                path.display()
            ),
            real_mnist: kind == DatasetKind::Mnist,
            dataset: kind.name(),
        });
    }
    let tensor = synthetic_digits(count, seed);
    let (nz, mean) = image_stats(&tensor);
    Ok(Images {
        tensor,
        description: format!(
            "synthetic digit-like images (no {} test images found under --data or $JOULEBENCH_DATA; \
             seed {seed}, {:.1} % pixels non-zero, mean {mean:.3})",
            kind.name(),
            nz * 100.0
        ),
        real_mnist: false,
        dataset: "synthetic",
    })
}

/// Refuses a model at any of `batches` that would not fit in memory, before any engine loads it:
/// from the spec when there is one; for a foreign ONNX file from its graph with inferred shapes
/// (weights generated in the graph and every node's output count, not only the stored bytes),
/// and from its file size too. The graph is counted once, per sample (its counts do not depend on
/// the batch). The one check every command runs before opening an engine. Returns those counts
/// of a foreign graph (batch 1, one step), for a caller that reports them: `None` when there is a
/// spec, no ONNX file, or a graph whose shapes cannot be inferred (left to the engine's error).
pub fn refuse_if_too_big(
    spec: Option<&ModelSpec>,
    onnx: Option<&Path>,
    sample_shape: &[usize],
    batches: &[usize],
) -> anyhow::Result<Option<joulebench_profiler::OnnxCounts>> {
    for &batch in batches {
        joulebench_models::memory::refuse_if_too_big(spec, onnx, sample_shape, batch)?;
    }
    let (None, Some(path)) = (spec, onnx) else {
        return Ok(None);
    };
    let shape = [vec![1], sample_shape.to_vec()].concat();
    let Ok(c) = joulebench_profiler::count_onnx(path, &shape, 1, 1) else {
        return Ok(None);
    };
    for &batch in batches {
        let est = joulebench_models::MemoryEstimate::for_graph(
            c.counts.params,
            c.counts.activations,
            batch,
        );
        joulebench_models::memory::check_fits_here(
            &format!("{} at batch {batch}", path.display()),
            &est,
        )?;
    }
    Ok(Some(c))
}

/// The benchmark images for `variants` batches of the largest of `batches` (see
/// [`bench_images`]), refused before they are made when they would not fit in memory; says on
/// stderr where they come from.
pub fn images_for_batches(
    dir: Option<&Path>,
    kind: DatasetKind,
    batches: &[usize],
    variants: usize,
    seed: u64,
) -> anyhow::Result<Images> {
    let max_batch = *batches.iter().max().unwrap_or(&1);
    // the benchmark images alone (28×28 floats per sample and variant), before they are made
    joulebench_models::memory::refuse_if_too_big(
        None,
        None,
        &[1, 28, 28],
        max_batch.saturating_mul(variants),
    )?;
    let images = bench_images(dir, kind, max_batch * variants, seed)?;
    eprintln!("inputs: {}", images.description);
    Ok(images)
}

/// `variants` input batches of `batch` samples for `spec`, in the layout the backends take:
/// consecutive images (cycled), the spec's preprocessing, then — for spiking models — its
/// encoder over `spec.steps` steps with seed `seed + variant` (rate coding for snn-temporal,
/// the analog values repeated for single-step models).
pub fn model_inputs(
    spec: &ModelSpec,
    images: &Tensor,
    batch: usize,
    variants: usize,
    seed: u64,
) -> anyhow::Result<Vec<Tensor>> {
    let per: usize = images.shape[1..].iter().product();
    let count = images.shape[0];
    if count == 0 || per == 0 {
        bail!("no benchmark images");
    }
    (0..variants)
        .map(|v| {
            let mut data = Vec::with_capacity(batch * per);
            for i in 0..batch {
                let k = (v * batch + i) % count;
                data.extend_from_slice(&images.data[k * per..(k + 1) * per]);
            }
            let mut shape = vec![batch];
            shape.extend_from_slice(&images.shape[1..]);
            model_input(spec, &Tensor::new(shape, data)?, seed + v as u64)
        })
        .collect()
}

/// Raw `[b, sample…]` values in [0, 1] → what the engines take for `spec`: its preprocessing,
/// a reshape to `[b, input_shape…]`, then — for spiking models — its encoder over `spec.steps`
/// steps with `seed` (`[T, b, …]`). The one input path of `eval`, `run` and the studies, so
/// every engine of a comparison sees the same tensor.
pub fn model_input(spec: &ModelSpec, raw: &Tensor, seed: u64) -> anyhow::Result<Tensor> {
    let b = raw.shape[0];
    let x = joulebench_data::apply_preprocess(&spec.preprocess, raw)?;
    let per: usize = spec.input_shape.iter().product();
    if x.numel() != b * per {
        bail!(
            "after preprocessing, samples have {} values but the model takes {:?}: wrong --dataset?",
            x.numel() / b.max(1),
            spec.input_shape
        );
    }
    let mut shape = vec![b];
    shape.extend_from_slice(&spec.input_shape);
    let x = Tensor::new(shape, x.data)?;
    Ok(if spec.is_spiking() {
        joulebench_data::encode(spec.encoding, &x, spec.steps, seed)?
    } else {
        x
    })
}

/// The spec and weights of `preset` at `steps` (for temporal presets): from `runs/PRESET`
/// when it holds a run folder, else seeded random weights.
pub fn load_model(
    preset: &str,
    steps: Option<usize>,
    runs: Option<&Path>,
    seed: u64,
) -> anyhow::Result<(ModelSpec, Weights, String)> {
    let run_folder = runs
        .map(|r| r.join(preset))
        .filter(|d| d.join("spec.json").is_file());
    if let Some(dir) = run_folder
        .as_ref()
        .filter(|d| !d.join("weights.safetensors").is_file())
    {
        eprintln!(
            "note: {} has no weights.safetensors (training not finished?); {preset} uses random weights",
            dir.display()
        );
    }
    if let Some(dir) = run_folder.filter(|d| d.join("weights.safetensors").is_file()) {
        let run = RunDir::new(&dir);
        let mut spec = run
            .spec()
            .with_context(|| format!("reading the model spec in {}", dir.display()))?;
        if spec.input_shape != [1, 28, 28] {
            bail!(
                "{}: bench backends needs a model of MNIST images [1, 28, 28], this one takes {:?}",
                dir.display(),
                spec.input_shape
            );
        }
        let weights = run.weights(&spec)?;
        if let Some(t) = steps {
            spec.steps = t;
        }
        return Ok((spec, weights, format!("trained, from {}", dir.display())));
    }
    untrained_mnist_model(preset, steps, seed)
}

/// The spiking model of a spike benchmark: the spec and weights of the trained run folder `run`,
/// else snn-temporal at `steps` with seeded random weights ([`untrained_mnist_model`]); with the
/// description of those weights for the reports.
pub fn run_or_untrained_snn(
    run: Option<&Path>,
    steps: usize,
    seed: u64,
) -> anyhow::Result<(ModelSpec, Weights, String)> {
    if let Some(dir) = run {
        let run = RunDir::new(dir);
        let spec = run
            .spec()
            .with_context(|| format!("reading the model spec of {}", dir.display()))?;
        let weights = run.weights(&spec)?;
        return Ok((spec, weights, format!("trained, from {}", dir.display())));
    }
    untrained_mnist_model("snn-temporal", Some(steps), seed)
}

/// Preset `preset` on MNIST images (`steps` time steps if given) with seeded PyTorch-style random
/// weights (`Weights::random`), and the description of those weights for the reports.
pub fn untrained_mnist_model(
    preset: &str,
    steps: Option<usize>,
    seed: u64,
) -> anyhow::Result<(ModelSpec, Weights, String)> {
    let spec = build_preset(
        preset,
        &DatasetKind::Mnist.data_shape(),
        &PresetOptions {
            steps,
            ..Default::default()
        },
    )?;
    let weights = Weights::random(&spec, seed);
    Ok((
        spec,
        weights,
        format!("untrained: PyTorch-style uniform ±1/√fan_in init, seed {seed}"),
    ))
}
