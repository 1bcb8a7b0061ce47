//! The event engine against the project's other engines on the same weights and the same
//! encoded input: the native dense backend (reads the spec directly) and tract running the
//! ONNX export. Their sums run in other orders, so outputs agree to rounding (1e-4 relative)
//! rather than bit for bit; spikes are compared through the spike-count readout. The hidden LIF
//! layers must fire on these inputs (else agreement would be that of silent networks): the
//! random weights are scaled (×5, ×3) for that.

use joulebench_data::{rate_encode, synthetic_digits};
use joulebench_inference::event::EventEngine;
use joulebench_inference::{Backend, NativeBackend, TractBackend};
use joulebench_models::{build_preset, DataShape, ModelSpec, PresetOptions, Tensor};

mod common;
use common::{assert_hidden_lif_layers_fire, weights_with_gain};

fn spec(name: &str, steps: Option<usize>) -> ModelSpec {
    let shape = DataShape {
        dataset: "mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    };
    build_preset(
        name,
        &shape,
        &PresetOptions {
            steps,
            ..Default::default()
        },
    )
    .unwrap()
}

fn close(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.shape, b.shape, "{what}: shapes");
    let scale = b.data.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let diff = a.max_abs_diff(b).unwrap();
    assert!(
        diff <= 1e-4 * scale,
        "{what}: max |Δ| = {diff} (scale {scale})"
    );
}

fn input(spec: &ModelSpec, batch: usize) -> Tensor {
    let imgs = synthetic_digits(batch, 3);
    if spec.encoding.is_spiking() {
        rate_encode(&imgs, spec.steps, 5)
    } else {
        Tensor {
            shape: [vec![1], imgs.shape.clone()].concat(),
            data: imgs.data,
        }
    }
}

#[test]
fn event_engine_agrees_with_native_dense_backend() {
    for (name, steps) in [
        ("snn-temporal", Some(30)),
        ("snn-1step", None),
        ("csnn-temporal", Some(6)),
        ("snn", None),
    ] {
        let spec = spec(name, steps);
        let w = weights_with_gain(&spec, 17, 5.0);
        let x = input(&spec, 3);
        let mut ev = EventEngine::new(&spec, &w, 1).unwrap();
        let mut nat = NativeBackend::new(&spec, &w, 1).unwrap();
        close(&ev.run(&x).unwrap(), &nat.run(&x).unwrap(), name);
        assert_hidden_lif_layers_fire(ev.activity().unwrap(), name);
    }
}

#[test]
fn event_engine_agrees_with_tract_on_the_onnx_export() {
    let spec = spec("snn-temporal", Some(20));
    let w = weights_with_gain(&spec, 4, 3.0);
    let x = input(&spec, 2);
    let bytes = joulebench_models::onnx::export_onnx(&spec, &w, &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    std::fs::write(&path, bytes).unwrap();
    let dims = joulebench_inference::expected_dims(&spec);
    let mut tract = TractBackend::load(&path, &dims).unwrap();
    let mut ev = EventEngine::new(&spec, &w, 1).unwrap();
    close(&ev.run(&x).unwrap(), &tract.run(&x).unwrap(), "tract");
    assert_hidden_lif_layers_fire(ev.activity().unwrap(), "tract");
}
