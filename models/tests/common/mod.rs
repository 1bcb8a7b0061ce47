//! Helpers shared by the ONNX tests: running an export in tract, test inputs, and calling
//! `scripts/check_onnx.py` with `$JOULEBENCH_PYTHON`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use joulebench_models::{DataShape, ModelSpec, Tensor, Weights};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tract_onnx::prelude::*;

/// A loaded, optimized tract plan (batch left symbolic).
pub type Plan = Arc<TypedRunnableModel>;

pub fn tract_plan(bytes: &[u8]) -> Plan {
    tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .expect("tract reads the export")
        .into_optimized()
        .expect("tract optimizes the export")
        .into_runnable()
        .expect("tract plans the export")
}

/// Runs `plan` on `x`; returns the `logits` tensor.
pub fn tract_run(plan: &Plan, x: &Tensor) -> Tensor {
    let input = tract_onnx::prelude::Tensor::from_shape(&x.shape, &x.data).unwrap();
    let out = plan
        .run(tvec!(input.into_tvalue()))
        .expect("tract runs the export");
    let view = out[0].to_plain_array_view::<f32>().unwrap();
    Tensor {
        shape: view.shape().to_vec(),
        data: view.iter().copied().collect(),
    }
}

/// A network input for `batch` samples: 0/1 spikes (p = 0.3) for spiking encodings,
/// values in [−1, 1) otherwise (analog input, also for single-step spiking models).
pub fn test_input(spec: &ModelSpec, batch: usize, seed: u64) -> Tensor {
    let shape = spec.batch_input_shape(batch);
    let n: usize = shape.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = if spec.encoding.is_spiking() {
        (0..n)
            .map(|_| if rng.random::<f32>() < 0.3 { 1.0 } else { 0.0 })
            .collect()
    } else {
        (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    };
    Tensor { shape, data }
}

/// One model + input for `check_onnx.py`.
pub struct PyJob {
    pub model: PathBuf,
    pub input: Tensor,
}

/// What `check_onnx.py` said about one model.
pub struct PyResult {
    pub opset: i64,
    pub logits: Tensor,
}

/// Runs `scripts/check_onnx.py` on `jobs` with `$JOULEBENCH_PYTHON`; `None` when there is no
/// such Python (a failure in CI, a listed skip locally: `joulebench_testkit`). Panics with the
/// script's message when a check fails.
pub fn python_check(jobs: &[PyJob], scratch: &Path) -> Option<Vec<PyResult>> {
    let python = joulebench_testkit::python()?;
    let manifest: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| {
            serde_json::json!({
                "model": j.model.to_str().unwrap(),
                "input": {"shape": j.input.shape, "data": j.input.data},
            })
        })
        .collect();
    let mpath = scratch.join("manifest.json");
    std::fs::write(&mpath, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check_onnx.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(&mpath)
        .output()
        .expect("runs python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "check_onnx.py failed:\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<serde_json::Value> =
        serde_json::from_str(stdout.trim()).expect("check_onnx.py prints JSON");
    Some(
        results
            .into_iter()
            .map(|r| {
                assert_eq!(r["checker"], "ok", "{r}");
                let l = &r["logits"];
                PyResult {
                    opset: r["opset"].as_i64().unwrap(),
                    logits: Tensor {
                        shape: l["shape"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|v| v.as_u64().unwrap() as usize)
                            .collect(),
                        data: l["data"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|v| v.as_f64().unwrap() as f32)
                            .collect(),
                    },
                }
            })
            .collect(),
    )
}

/// MNIST-shaped data: one 28×28 channel, ten classes.
pub fn mnist() -> DataShape {
    DataShape {
        dataset: "mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    }
}

/// MNIST-1D-shaped data: one channel of 40 points, ten classes.
pub fn mnist1d() -> DataShape {
    DataShape {
        dataset: "mnist1d".into(),
        sample_shape: vec![1, 40],
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    }
}

/// Seeded random weights with every `*weight` tensor multiplied by `gain` (spiking models: so
/// that hidden LIF layers fire on the test inputs).
pub fn weights_with_gain(spec: &ModelSpec, seed: u64, gain: f32) -> Weights {
    let mut w = Weights::random(spec, seed);
    for (name, t) in w.tensors.iter_mut() {
        if name.ends_with("weight") {
            t.data.iter_mut().for_each(|v| *v *= gain);
        }
    }
    w
}
