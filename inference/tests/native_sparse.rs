//! The native engine's sparse-input path (Linear layers summing only the weight rows of inputs
//! that differ from zero or from the image background) against its dense path and tract:
//! within 1e-4 absolute on sparse, background-heavy, all-zero, all-background and all-nonzero
//! inputs, at batch 1 (one sample at a time) and batch 8 (the batch path).

use joulebench_data::DatasetKind;
use joulebench_inference::native::gemv::SparsePolicy;
use joulebench_inference::{expected_dims, Backend, NativeBackend, TractBackend};
use joulebench_models::{build_preset, export_onnx, PresetOptions, Tensor, Weights};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MEAN: f32 = 0.1307;
const STD: f32 = 0.3081;

/// `batch` normalized 28×28 images of the given kind.
fn inputs(kind: &str, batch: usize, rng: &mut ChaCha8Rng) -> Tensor {
    let background = -MEAN / STD;
    let data: Vec<f32> = (0..batch * 784)
        .map(|i| match kind {
            // ~20 % lit pixels on a normalized black background, like MNIST
            "digits" => {
                if rng.random::<f32>() < 0.2 {
                    (rng.random_range(0.1..1.0) - MEAN) / STD
                } else {
                    background
                }
            }
            // ~20 % nonzero values around zero (an unnormalized sparse input)
            "sparse" => {
                if rng.random::<f32>() < 0.2 {
                    rng.random_range(-1.0..2.0)
                } else {
                    0.0
                }
            }
            "zeros" => 0.0,
            "background" => background,
            // every input nonzero and distinct from the first
            _ => 0.5 + (i % 97) as f32 / 97.0 + rng.random_range(0.01..1.0),
        })
        .collect();
    Tensor::new(vec![batch, 1, 28, 28], data).unwrap()
}

#[test]
fn sparse_dense_and_tract_agree_on_every_input_kind() {
    let data = DatasetKind::Mnist.data_shape();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (preset, opts) in [
        ("ann", PresetOptions::default()),
        (
            "mlp-sweep",
            PresetOptions {
                width: Some(40),
                depth: Some(3),
                ..Default::default()
            },
        ),
    ] {
        let spec = build_preset(preset, &data, &opts).unwrap();
        let weights = Weights::random(&spec, 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        std::fs::write(&path, export_onnx(&spec, &weights, &[]).unwrap()).unwrap();
        let mut tract = TractBackend::load(&path, &expected_dims(&spec)).unwrap();
        let mut engines: Vec<(SparsePolicy, NativeBackend)> = [
            SparsePolicy::DEFAULT,
            SparsePolicy::SPARSE,
            SparsePolicy::DENSE,
        ]
        .into_iter()
        .map(|p| {
            let mut b = NativeBackend::new(&spec, &weights, 1).unwrap();
            b.set_sparse_policy(p);
            (p, b)
        })
        .collect();
        for kind in ["digits", "sparse", "zeros", "background", "dense"] {
            for batch in [1, 8] {
                let x = inputs(kind, batch, &mut rng);
                let want = tract.run(&x).unwrap();
                for (policy, engine) in engines.iter_mut() {
                    let got = engine.run(&x).unwrap();
                    assert_eq!(got.shape, want.shape);
                    for (i, (a, b)) in got.data.iter().zip(&want.data).enumerate() {
                        assert!(
                            (a - b).abs() < 1e-4,
                            "{preset} {kind} batch {batch} {policy:?} logit {i}: {a} vs tract {b}"
                        );
                    }
                }
            }
        }
    }
}
