//! Fixtures shared by the event-engine integration tests.
#![allow(dead_code)]

use joulebench_models::{build_preset, DataShape, ModelSpec, PresetOptions, Weights};

/// Preset `name` for `shape`-shaped samples (10 classes, no normalization) with `steps` steps.
pub fn preset_with_shape(name: &str, shape: &[usize], steps: usize) -> ModelSpec {
    let data = DataShape {
        dataset: "synthetic".into(),
        sample_shape: shape.to_vec(),
        num_classes: 10,
        normalize: None,
    };
    let opts = PresetOptions {
        steps: Some(steps),
        ..Default::default()
    };
    build_preset(name, &data, &opts).unwrap()
}

/// Seeded random weights with every `*weight` tensor multiplied by `gain` (more spikes).
pub fn weights_with_gain(spec: &ModelSpec, seed: u64, gain: f32) -> Weights {
    let mut w = Weights::random(spec, seed);
    for (name, t) in w.tensors.iter_mut() {
        if name.ends_with("weight") {
            t.data.iter_mut().for_each(|v| *v *= gain);
        }
    }
    w
}
