//! Fixtures shared by the event-engine integration tests.
#![allow(dead_code)]

use joulebench_models::{build_preset, DataShape, ModelSpec, Op, PresetOptions, Weights};

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

/// Gives the i-th LIF layer of `spec` the threshold and β of `params[i]` (one pair per LIF
/// layer) and checks the spec.
pub fn set_lif_params(spec: &mut ModelSpec, params: &[(f32, f32)]) {
    let lifs: Vec<_> = spec
        .layers
        .iter_mut()
        .filter_map(|l| match &mut l.op {
            Op::Lif(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(lifs.len(), params.len(), "{}: LIF layers", spec.preset);
    for (p, &(threshold, beta)) in lifs.into_iter().zip(params) {
        p.threshold = threshold;
        p.beta = beta;
    }
    spec.validate().unwrap();
}
