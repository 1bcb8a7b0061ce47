//! Fixtures shared by the event-engine integration tests.
#![allow(dead_code)]

use joulebench_inference::{Activity, Backend, EventEngine};
use joulebench_models::{
    build_preset, DataShape, ModelSpec, Op, PresetOptions, Reset, Tensor, Weights,
};

/// Preset `name` for `shape`-shaped samples (10 classes, no normalization) with `steps` steps.
pub fn preset_with_shape(name: &str, shape: &[usize], steps: usize) -> ModelSpec {
    let data = DataShape {
        dataset: "synthetic".into(),
        sample_shape: shape.to_vec(),
        num_classes: 10,
        normalize: None,
        spike_scale: None,
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

/// Gives every LIF layer of `spec` a synaptic current with decay `alpha` (current-based
/// neurons; see `LifParams::synapse`).
pub fn set_synapse(spec: &mut ModelSpec, alpha: f32) {
    for l in spec.layers.iter_mut() {
        if let Op::Lif(p) = &mut l.op {
            p.synapse = Some(alpha);
        }
    }
    spec.validate().unwrap();
}

/// Removes every LIF layer's synaptic current.
pub fn set_synapse_off(spec: &mut ModelSpec) {
    for l in spec.layers.iter_mut() {
        if let Op::Lif(p) = &mut l.op {
            p.synapse = None;
        }
    }
}

/// Gives every LIF layer of `spec` the reset `reset`; with `per_neuron`, per-neuron vectors in
/// `w` drawn from `seed` (β ∈ [0.5, 1], θ ∈ [0.5, 1.5], v_reset ∈ [−0.5, 0.5] around the
/// reset's value, α ∈ [0.3, 0.9] for a synaptic current), and checks the weights against the
/// spec.
pub fn set_lif_neurons(
    spec: &mut ModelSpec,
    w: &mut Weights,
    reset: Reset,
    per_neuron: bool,
    seed: u64,
) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for l in spec.layers.iter_mut() {
        if let Op::Lif(p) = &mut l.op {
            p.reset = reset;
            p.per_neuron = per_neuron;
        }
    }
    spec.validate().unwrap();
    for p in spec.parameters() {
        let Some(what) = p
            .name
            .rsplit_once('.')
            .map(|(_, s)| s)
            .filter(|s| ["beta", "threshold", "v_reset", "alpha"].contains(s))
        else {
            continue;
        };
        let v_reset = match reset {
            Reset::To { v_reset } => v_reset,
            _ => 0.0,
        };
        let data = (0..p.numel())
            .map(|_| match what {
                "beta" => rng.random_range(0.5..=1.0),
                "threshold" => rng.random_range(0.5..=1.5),
                "alpha" => rng.random_range(0.3..=0.9),
                _ => v_reset + rng.random_range(-0.5..=0.5),
            })
            .collect();
        w.insert(p.name.clone(), Tensor::new(p.shape.clone(), data).unwrap());
    }
    w.check_against(spec).unwrap();
}

/// The event engine's activity (spike counts) on `spec` with `weights` and input `x`.
pub fn event_activity(spec: &ModelSpec, weights: &Weights, x: &Tensor) -> Activity {
    let mut e = EventEngine::new(spec, weights, 1).unwrap();
    e.run(x).unwrap();
    e.activity().unwrap().clone()
}

/// Asserts that in `act` every hidden LIF layer (one that is not the network's output) fired
/// and none saturated, so that engines agreeing on that run agree on spikes that reach a next
/// layer, not on a silent network. `what` labels the failure.
pub fn assert_hidden_lif_layers_fire(act: &Activity, what: &str) {
    let (_, hidden) = act.layers.split_last().expect("layers");
    let lif: Vec<_> = hidden.iter().filter(|l| l.membrane_updates > 0).collect();
    assert!(!lif.is_empty(), "{what}: no hidden LIF layer");
    for l in lif {
        let spikes: u64 = l.spikes_per_step.iter().sum();
        assert!(
            0 < spikes && spikes < l.membrane_updates,
            "{what}: hidden LIF layer {} fired {spikes} times in {} membrane updates",
            l.name,
            l.membrane_updates
        );
    }
}
