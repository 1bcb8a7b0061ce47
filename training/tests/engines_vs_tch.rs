//! Every inference engine against the tch reference (the libtorch module, `open_tch_backend`):
//! tract and ONNX Runtime on the model's ONNX export, the native engine, and the event engine
//! for spiking models; one preset of each family — MLP (`mlp1d`), CNN (`cnn1d`), RNN (`rnn`),
//! single-step spiking (`snn-1step`), temporal spiking (`snn-temporal`) on MNIST-1D, convolutional
//! spiking (`csnn-temporal`) on Fashion-MNIST — on a small slice of test samples prepared as
//! `joulebench eval` prepares them (preprocessing, then the seeded spike encoder).
//!
//! Each engine must give the reference's argmax on every sample and logits within
//! [`TOLERANCE`]. So that agreement means something on random weights, the references' logits
//! must differ between samples, and in spiking models every hidden LIF layer must fire — neither
//! silent nor saturated (the event engine's spike counts) — with the spiking presets' weights
//! scaled up (×[`SPIKING_GAIN`]) as the event engine's tests do; tch's own spike counts must
//! match the event engine's.

use joulebench_data::{apply_preprocess, encode, Dataset, DatasetKind};
use joulebench_inference::{open_backend, Backend, BackendKind, BackendOptions, ModelSource};
use joulebench_models::{
    build_preset, write_onnx, ModelSpec, PresetOptions, RunDir, Tensor, Weights,
};
use joulebench_training::{open_tch_backend, DeviceChoice, TchBackend};

/// Largest |logit − reference logit| accepted. Every engine computes in f32 from the same
/// weights and input, differing only in summation order (blocked GEMMs, SIMD lanes, FMA): a
/// dot product of n terms is off by at most about n·ε·Σ|wᵢxᵢ| (ε = 6·10⁻⁸) — a few 10⁻⁶ for
/// these layers, the temporal models' mean over steps adding no more. Measured here: at most
/// 2.4·10⁻⁶ (csnn-temporal), 1.2·10⁻⁷ for the MLP. 10⁻⁴ leaves a factor 40 for other CPUs'
/// kernels and is 10³ below a real defect: one spike more or less in a hidden layer moves
/// logits by a scaled weight (≈ 0.1), a wrong bias, leak or reset by as much or more.
const TOLERANCE: f32 = 1e-4;

/// Samples per preset: enough for several classes, few enough to stay quick.
const SAMPLES: usize = 16;

/// Weight scale for the spiking presets: with PyTorch's initialisation (±1/√fan_in) hidden
/// LIF layers on these inputs barely reach their threshold; ×3 makes them fire, not saturate.
const SPIKING_GAIN: f32 = 3.0;

/// One preset's model in a run folder (spec, weights, ONNX export), as `joulebench train` and
/// `export` leave it: random weights, scaled by `gain`.
fn run_folder(dir: &std::path::Path, spec: &ModelSpec, seed: u64, gain: f32) -> RunDir {
    let mut weights = Weights::random(spec, seed);
    for (name, t) in weights.tensors.iter_mut() {
        if name.ends_with("weight") {
            t.data.iter_mut().for_each(|v| *v *= gain);
        }
    }
    let run = RunDir::new(dir);
    run.write_spec(spec).unwrap();
    weights.save(&run.weights_path()).unwrap();
    write_onnx(&run.onnx_path(), spec, &weights, &[]).unwrap();
    run
}

/// The first [`SAMPLES`] test samples of `data` as the model takes them: preprocessed, and
/// spike-encoded over the model's steps for spiking models.
fn input(spec: &ModelSpec, data: &Dataset, seed: u64) -> Tensor {
    let raw = data.test.batch_range(0, SAMPLES);
    let x = apply_preprocess(&spec.preprocess, &raw).unwrap();
    let shape = [vec![SAMPLES], spec.input_shape.clone()].concat();
    let x = Tensor::new(shape, x.data).unwrap();
    if spec.is_spiking() {
        encode(spec.encoding, &x, spec.steps, seed).unwrap()
    } else {
        x
    }
}

/// The engines compared with tch for `spec`: ONNX Runtime only where its library is present (a
/// failure in CI, a listed skip locally: `joulebench_testkit`), the event engine only for
/// spiking models.
fn engines(spec: &ModelSpec) -> Vec<BackendKind> {
    let mut kinds = vec![BackendKind::Tract];
    if joulebench_testkit::ort_library().is_some() {
        kinds.push(BackendKind::Ort);
    }
    kinds.push(BackendKind::Native);
    if spec.is_spiking() {
        kinds.push(BackendKind::Event);
    }
    kinds
}

/// Runs every engine and tch on one preset and checks the agreement (see the module docs).
fn check(preset: &str, data: &Dataset, steps: Option<usize>, seed: u64) {
    let opts = PresetOptions {
        steps,
        ..Default::default()
    };
    let spec = build_preset(preset, &data.data_shape(), &opts).unwrap();
    let gain = if spec.is_spiking() { SPIKING_GAIN } else { 1.0 };
    let dir = tempfile::tempdir().unwrap();
    let run = run_folder(dir.path(), &spec, seed, gain);
    let x = input(&spec, data, seed);
    let opts = BackendOptions::default();

    let mut tch = open_tch_backend(&run, &opts, false).unwrap();
    let want = tch.run(&x).unwrap();
    assert_eq!(want.shape, vec![SAMPLES, spec.num_classes], "{preset}");
    // not vacuous: the reference's logits depend on the input
    let classes = spec.num_classes;
    let first = &want.data[..classes];
    let spread = want
        .data
        .chunks(classes)
        .flat_map(|row| row.iter().zip(first).map(|(a, b)| (a - b).abs()))
        .fold(0.0f32, f32::max);
    assert!(
        spread > 100.0 * TOLERANCE,
        "{preset}: the reference gives (nearly) the same logits for every sample ({spread})"
    );
    let mut classes_seen = want.argmax_rows();
    classes_seen.sort();
    classes_seen.dedup();
    assert!(
        classes_seen.len() >= 2,
        "{preset}: the reference predicts one class for every sample"
    );

    for kind in engines(&spec) {
        let source = ModelSource::Run(run.clone());
        let mut engine: Box<dyn Backend> = open_backend(kind, &source, &opts)
            .unwrap_or_else(|e| panic!("{preset}: opening {kind}: {e}"));
        let got = engine
            .run(&x)
            .unwrap_or_else(|e| panic!("{preset}: {kind}: {e}"));
        assert_eq!(got.shape, want.shape, "{preset}: {kind}");
        let d = got.max_abs_diff(&want).unwrap();
        assert!(
            d <= TOLERANCE,
            "{preset}: {kind} vs tch: logits differ by up to {d}"
        );
        assert_eq!(
            got.argmax_rows(),
            want.argmax_rows(),
            "{preset}: {kind} vs tch: argmax"
        );
        if kind == BackendKind::Event {
            check_spikes(preset, &run, &x, engine.as_ref());
        }
    }
}

/// Every hidden LIF layer (not the network's output) fired and none saturated, in the event
/// engine's counts; tch's spike counts (every LIF layer) are the same.
fn check_spikes(preset: &str, run: &RunDir, x: &Tensor, event: &dyn Backend) {
    let act = event.activity().expect("the event engine counts spikes");
    let (_, hidden) = act.layers.split_last().unwrap();
    let hidden: Vec<_> = hidden.iter().filter(|l| l.membrane_updates > 0).collect();
    assert!(!hidden.is_empty(), "{preset}: no hidden LIF layer");
    for l in hidden {
        let spikes: u64 = l.spikes_per_step.iter().sum();
        assert!(
            0 < spikes && spikes < l.membrane_updates,
            "{preset}: hidden LIF layer {} fired {spikes} times in {} updates",
            l.name,
            l.membrane_updates
        );
    }
    let event: Vec<(String, f64)> = act
        .layers
        .iter()
        .filter(|l| l.membrane_updates > 0)
        .map(|l| (l.name.clone(), l.spikes_per_step.iter().sum::<u64>() as f64))
        .collect();
    let tch = TchBackend::load(run, DeviceChoice::Cpu, 1).unwrap();
    let xt = joulebench_training::weights_io::from_jtensor(x, tch.device());
    let counts = tch::no_grad(|| tch.net().forward_full(&xt, true))
        .unwrap()
        .spike_counts;
    assert_eq!(
        counts, event,
        "{preset}: tch vs event spike counts per LIF layer"
    );
}

#[test]
fn one_dimensional_families_agree_with_tch() {
    let data = Dataset::load(DatasetKind::Mnist1d, None).unwrap();
    check("mlp1d", &data, None, 1);
    check("cnn1d", &data, None, 2);
    check("rnn", &data, None, 3);
    check("snn-1step", &data, None, 4);
    check("snn-temporal", &data, Some(8), 5);
}

#[test]
fn convolutional_spiking_agrees_with_tch() {
    let Some(dir) = joulebench_testkit::shared_data("fashion-mnist") else {
        return;
    };
    let data = Dataset::load(DatasetKind::FashionMnist, Some(&dir)).unwrap();
    check("csnn-temporal", &data, Some(4), 6);
}
