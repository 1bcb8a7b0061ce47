//! The event engine's int8 fixed-point mode: exact integer semantics on a hand-computed
//! sequence, agreement with f32 on random weights, determinism (threads, input forms and
//! instruction sets), and clear errors.

use joulebench_data::{rate_encode, synthetic_digits};
use joulebench_inference::event::{EventEngine, Precision, SpikeBatch};
use joulebench_inference::{Backend, Isa};
use joulebench_models::{Encoding, Layer, LifParams, ModelSpec, Op, Readout, Tensor, Weights};

mod common;

fn preset(name: &str, steps: usize) -> ModelSpec {
    common::preset_with_shape(name, &[1, 28, 28], steps)
}

fn weights(spec: &ModelSpec, seed: u64, gain: f32) -> Weights {
    common::weights_with_gain(spec, seed, gain)
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
        .unwrap()
}

#[test]
fn integer_semantics_match_a_hand_computed_sequence() {
    // 3 inputs → 2 LIF neurons, β = 0.75, θ = 1, membrane at the last step as logits.
    let spec = ModelSpec {
        preset: "hand".into(),
        input_shape: vec![3],
        num_classes: 2,
        preprocess: Default::default(),
        encoding: Encoding::Rate,
        steps: 4,
        readout: Readout::MembraneLast,
        layers: vec![
            Layer::new(
                "fc1",
                Op::Linear {
                    in_features: 3,
                    out_features: 2,
                },
            ),
            Layer::new("lif1", Op::Lif(LifParams::new(0.75))),
        ],
    };
    spec.validate().unwrap();
    let mut w = Weights::default();
    w.insert(
        "fc1.weight",
        Tensor::new(vec![2, 3], vec![0.5, -0.25, 1.0, -1.0, 0.75, 0.125]).unwrap(),
    );
    w.insert("fc1.bias", Tensor::new(vec![2], vec![0.1, 0.0]).unwrap());
    let mut e = EventEngine::new(&spec, &w, 1).unwrap();
    e.set_precision(Precision::Int8).unwrap();
    assert_eq!(e.name(), "event-int8");
    // s_w = 1/127, a spike counts 255 in the first layer: k = 1/32385; θ/k = 32385, so
    // e = −4 puts θ_q = round(32385 / 16) = 2024 in (1024, 2048]; s_u = 16/32385.
    let q = &e.quantization().unwrap()[0];
    assert_eq!(
        (q.shift, q.theta_q, q.beta_q, q.spike_units),
        (-4, 2024, 24576, 255)
    );
    assert_eq!(q.bias_q, vec![202, 0]); // round(0.1 · 32385 / 16) = round(202.41)
    assert!((q.weight_scale - 1.0 / 127.0).abs() < 1e-15);
    assert!((q.membrane_scale - 16.0 / 32385.0).abs() < 1e-15);
    // w_q = round(127·W): [64, −32, 127], [−127, 95, 16].
    // Spikes: t0 {0, 2}, t1 {0, 1, 2}, t2 {}, t3 {1}; I = (acc·255 + 8) >> 4 + b_q.
    // Neuron 0: acc·255 = 48705, 40545, 0, −8160 → I = 3246, 2736, 202, −308.
    //   U: 3246 (spike); βU = (24576·3246 + 2^14) >> 15 = 2435, minus the reset of the
    //   previous spike: 2435 + 2736 − 2024 = 3147 (spike); 2360 + 202 − 2024 = 538;
    //   404 − 308 = 96.
    // Neuron 1: acc·255 = −28305, −4080, 0, 24225 → I = −1769, −255, 0, 1514
    //   U: −1769; −1327 − 255 = −1582; −1186; −889 + 1514 = 625. Never spikes.
    let mut x = SpikeBatch::zeros(4, 1, &[3]);
    for (t, i) in [(0, 0), (0, 2), (1, 0), (1, 1), (1, 2), (3, 1)] {
        x.set(t, 0, i, true);
    }
    e.set_record_raster(true);
    let out = e.run_spikes(&x).unwrap();
    let s_u = 16.0f64 / 32385.0;
    assert_eq!(out.data, vec![(96.0 * s_u) as f32, (625.0 * s_u) as f32]);
    let act = e.activity().unwrap();
    let raster = act.raster.as_ref().unwrap();
    assert_eq!(raster[0], vec![vec![0], vec![0], vec![], vec![]]);
    assert_eq!(act.layers[1].spikes_per_step, vec![1, 1, 0, 0]);
    // The f32 tensor path computes the same integers.
    let out2 = e.run(&x.to_tensor()).unwrap();
    assert_eq!(out2.data, out.data);
    // So does every instruction set this CPU has, on both paths.
    for isa in Isa::supported() {
        e.set_isa(isa).unwrap();
        assert_eq!(e.run_spikes(&x).unwrap().data, out.data, "{isa:?}");
        assert_eq!(e.run(&x.to_tensor()).unwrap().data, out.data, "{isa:?}");
    }

    // The membrane saturates at i16::MAX instead of wrapping.
    let mut big = w.clone();
    big.insert(
        "fc1.bias",
        Tensor::new(vec![2], vec![100.0, -100.0]).unwrap(),
    );
    let mut e = EventEngine::new(&spec, &big, 1).unwrap();
    e.set_precision(Precision::Int8).unwrap();
    let out = e.run_spikes(&SpikeBatch::zeros(4, 1, &[3])).unwrap();
    assert_eq!(
        out.data,
        vec![(32767.0 * s_u) as f32, (-32768.0 * s_u) as f32]
    );
}

#[test]
fn int8_agrees_with_f32_on_random_weights() {
    let spec = preset("snn-temporal", 25);
    let w = weights(&spec, 11, 3.0);
    let input = rate_encode(&synthetic_digits(48, 3), 25, 7);
    let mut f = EventEngine::new(&spec, &w, 1).unwrap();
    let want = f.run(&input).unwrap();
    let f_spikes = f.activity().unwrap().total_spikes();
    let mut q = EventEngine::new(&spec, &w, 2).unwrap();
    q.set_precision(Precision::Int8).unwrap();
    let got = q.run(&input).unwrap();
    let q_spikes = q.activity().unwrap().total_spikes();
    let agree = want
        .data
        .chunks(10)
        .zip(got.data.chunks(10))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    // A random network's class scores are close together and its spikes are chaotic, so a
    // quantization step can flip a near tie (margins up to 0.45 flipped over 40 input seeds);
    // every clear decision (margin > 0.5) must survive.
    assert!(agree >= 36, "argmax agreement {agree}/48");
    let mut clear = 0;
    for (a, b) in want.data.chunks(10).zip(got.data.chunks(10)) {
        let top = argmax(a);
        let second = (0..10)
            .filter(|&c| c != top)
            .map(|c| a[c])
            .fold(f32::MIN, f32::max);
        if a[top] - second > 0.5 {
            clear += 1;
            assert_eq!(argmax(b), top, "f32 {a:?} vs int8 {b:?}");
        }
    }
    assert!(clear >= 8, "{clear} clear decisions");
    assert!(f_spikes > 1000, "the network fires ({f_spikes} spikes)");
    let rel = (q_spikes as f64 - f_spikes as f64).abs() / f_spikes as f64;
    assert!(rel < 0.01, "spike counts {q_spikes} vs {f_spikes}");
    // Logits close to f32 (membrane resolution θ/1024; spike flips move a few logits more).
    let max_diff = want
        .data
        .iter()
        .zip(&got.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let scale = want.data.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    assert!(
        max_diff < 0.1 * scale.max(1.0),
        "max |Δlogit| {max_diff} (scale {scale})"
    );

    // Integer arithmetic is deterministic: threads, packed input and one-by-one agree exactly.
    let packed = SpikeBatch::from_tensor(&input).unwrap();
    let again = q.run_spikes(&packed).unwrap();
    assert_eq!(again.data, got.data);
    let mut q1 = EventEngine::new(&spec, &w, 1).unwrap();
    q1.set_precision(Precision::Int8).unwrap();
    assert_eq!(q1.run(&input).unwrap().data, got.data);
    assert_eq!(q1.activity().unwrap(), q.activity().unwrap());
    // And whatever the instruction set: the same logits and activity on every one this CPU has.
    for isa in Isa::supported() {
        let mut qi = EventEngine::new(&spec, &w, 1).unwrap();
        qi.set_isa(isa).unwrap();
        qi.set_precision(Precision::Int8).unwrap();
        assert_eq!(qi.run(&input).unwrap().data, got.data, "{isa:?}");
        assert_eq!(qi.activity().unwrap(), q.activity().unwrap(), "{isa:?}");
        assert_eq!(qi.run_spikes(&packed).unwrap().data, got.data, "{isa:?}");
    }
    // The input layer's baseline of frequent inputs is exact in integers: the same logits and
    // activity without it, only more operations performed (before or after `set_precision`).
    let with = q1.activity().unwrap().clone();
    let fc1 = &with.layers[1];
    assert!(fc1.performed_ops * 2 < fc1.effective_ops, "{fc1:?}");
    let mut plain = EventEngine::new(&spec, &w, 1).unwrap();
    plain.set_baseline(false);
    plain.set_precision(Precision::Int8).unwrap();
    q1.set_baseline(false);
    for e in [&mut plain, &mut q1] {
        assert_eq!(e.run(&input).unwrap().data, got.data);
        let act = e.activity().unwrap();
        assert_eq!(act.layers[1].performed_ops, act.layers[1].effective_ops);
        let strip = |a: &joulebench_inference::Activity| {
            let mut a = a.clone();
            a.layers.iter_mut().for_each(|l| l.performed_ops = 0);
            a
        };
        assert_eq!(strip(act), strip(&with));
    }
    // Back to f32.
    q.set_precision(Precision::F32).unwrap();
    assert_eq!(q.run(&input).unwrap().data, want.data);
}

#[test]
fn analog_input_is_quantized_to_255_levels() {
    let spec = preset("snn-1step", 1);
    let w = weights(&spec, 2, 2.0);
    let imgs = synthetic_digits(16, 5);
    let input = Tensor::new(vec![1, 16, 1, 28, 28], imgs.data.clone()).unwrap();
    let mut f = EventEngine::new(&spec, &w, 1).unwrap();
    let want = f.run(&input).unwrap();
    let mut q = EventEngine::new(&spec, &w, 1).unwrap();
    q.set_precision(Precision::Int8).unwrap();
    let got = q.run(&input).unwrap();
    let agree = want
        .data
        .chunks(10)
        .zip(got.data.chunks(10))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    assert!(agree >= 14, "argmax agreement {agree}/16");
    let mut bad = input.clone();
    bad.data[5] = 1.5;
    let err = q.run(&bad).unwrap_err().to_string();
    assert!(err.contains("[0, 1]") && err.contains("element 5"), "{err}");
}

#[test]
fn unsupported_networks_are_clear_errors() {
    let spec = preset("csnn-temporal", 4);
    let mut e = EventEngine::new(&spec, &Weights::random(&spec, 0), 1).unwrap();
    let err = e.set_precision(Precision::Int8).unwrap_err().to_string();
    assert!(
        err.contains("fully connected") && err.contains("csnn-temporal"),
        "{err}"
    );
    assert_eq!(e.precision(), Precision::F32);
    assert_eq!(Precision::parse("int8"), Some(Precision::Int8));
    assert_eq!(Precision::parse("int4"), None);
}

/// Every reset, with per-neuron β, θ and `v_reset` and with scalars, and current-based neurons
/// (a synaptic current, NIR's CubaLIF) under the subtract and zero resets: the int8 path quantizes
/// each neuron's own values and follows the f32 engine (spike counts within 1 %, most decisions
/// and logits), identically on every instruction set and thread count.
#[test]
fn int8_per_neuron_values_and_resets_follow_f32() {
    use joulebench_models::Reset;
    for (k, reset) in [
        Reset::Subtract,
        Reset::To { v_reset: 0.0 },
        Reset::To { v_reset: -0.25 },
        Reset::None,
    ]
    .into_iter()
    .enumerate()
    {
        // current-based neurons (a synaptic current) with the resets NIR's CubaLIF uses
        let synapse = matches!(reset, Reset::Subtract | Reset::To { v_reset: 0.0 });
        let cases = [(true, false), (false, false), (true, true), (false, true)];
        for (pn, syn) in cases.into_iter().filter(|&(_, syn)| synapse || !syn) {
            let mut spec = preset("snn-temporal", 20);
            if syn {
                common::set_synapse(&mut spec, 0.5);
            }
            let mut w = weights(&spec, 21 + k as u64, if syn { 1.5 } else { 3.0 });
            common::set_lif_neurons(&mut spec, &mut w, reset, pn, 31 + k as u64);
            let input = rate_encode(&synthetic_digits(32, 5), 20, 9);
            let mut f = EventEngine::new(&spec, &w, 1).unwrap();
            let want = f.run(&input).unwrap();
            let f_spikes = f.activity().unwrap().total_spikes();
            let mut q = EventEngine::new(&spec, &w, 2).unwrap();
            q.set_precision(Precision::Int8).unwrap();
            let got = q.run(&input).unwrap();
            let q_spikes = q.activity().unwrap().total_spikes();
            let reset = format!("{reset:?} synapse={syn}");
            assert!(f_spikes > 1000, "{reset:?}: the network fires ({f_spikes})");
            let rel = (q_spikes as f64 - f_spikes as f64).abs() / f_spikes as f64;
            assert!(
                rel < 0.03,
                "{reset:?}: spike counts {q_spikes} vs {f_spikes}"
            );
            let agree = want
                .data
                .chunks(10)
                .zip(got.data.chunks(10))
                .filter(|(a, b)| argmax(a) == argmax(b))
                .count();
            // A random network's scores are near ties and its spikes chaotic (see
            // `int8_agrees_with_f32_on_random_weights`): most decisions and most samples' logits
            // agree, the spike counts closely (the exact integer semantics are tested on their own).
            assert!(agree >= 20, "{reset:?}: argmax agreement {agree}/32");
            let scale = want.data.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
            let close = want
                .data
                .chunks(10)
                .zip(got.data.chunks(10))
                .filter(|(a, b)| a.iter().zip(*b).all(|(x, y)| (x - y).abs() < 0.1 * scale))
                .count();
            assert!(
                close >= 24,
                "{reset:?} per neuron {pn}: {close}/32 samples with close logits"
            );
            for isa in Isa::supported() {
                let mut qi = EventEngine::new(&spec, &w, 1).unwrap();
                qi.set_isa(isa).unwrap();
                qi.set_precision(Precision::Int8).unwrap();
                assert_eq!(qi.run(&input).unwrap().data, got.data, "{reset:?} {isa:?}");
            }
        }
    }
}

/// Per-neuron values the integers cannot hold are refused by name: a non-positive threshold,
/// a `v_reset` beyond the i16 membrane range.
#[test]
fn int8_refuses_per_neuron_values_it_cannot_represent() {
    use joulebench_models::Reset;
    let mut spec = preset("snn-temporal", 4);
    let mut w = weights(&spec, 3, 1.0);
    common::set_lif_neurons(&mut spec, &mut w, Reset::To { v_reset: 0.0 }, true, 4);
    let lif = spec.layers[2].name.clone();
    let mut bad_theta = w.clone();
    bad_theta
        .tensors
        .get_mut(&format!("{lif}.threshold"))
        .unwrap()
        .data[5] = -0.5;
    let mut bad_reset = w.clone();
    bad_reset
        .tensors
        .get_mut(&format!("{lif}.v_reset"))
        .unwrap()
        .data[7] = 1e6;
    for (bad, want) in [
        (bad_theta, "threshold -0.5"),
        (bad_reset, "v_reset 1000000"),
    ] {
        let mut e = EventEngine::new(&spec, &bad, 1).unwrap();
        let err = e.set_precision(Precision::Int8).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert_eq!(e.precision(), Precision::F32);
    }
}

/// The hand-computed sequence of `integer_semantics_match_a_hand_computed_sequence` with a
/// per-neuron layer resetting to zero: after each spike the held membrane is `v_q = 0`.
#[test]
fn integer_semantics_of_a_reset_to_zero() {
    use joulebench_models::Reset;
    let mut p = LifParams::new(0.75);
    p.reset = Reset::To { v_reset: 0.0 };
    p.per_neuron = true;
    let spec = ModelSpec {
        preset: "hand".into(),
        input_shape: vec![3],
        num_classes: 2,
        preprocess: Default::default(),
        encoding: Encoding::Rate,
        steps: 4,
        readout: Readout::MembraneLast,
        layers: vec![
            Layer::new(
                "fc1",
                Op::Linear {
                    in_features: 3,
                    out_features: 2,
                },
            ),
            Layer::new("lif1", Op::Lif(p)),
        ],
    };
    spec.validate().unwrap();
    let mut w = Weights::random(&spec, 0);
    w.insert(
        "fc1.weight",
        Tensor::new(vec![2, 3], vec![0.5, -0.25, 1.0, -1.0, 0.75, 0.125]).unwrap(),
    );
    w.insert("fc1.bias", Tensor::new(vec![2], vec![0.1, 0.0]).unwrap());
    let mut e = EventEngine::new(&spec, &w, 1).unwrap();
    e.set_precision(Precision::Int8).unwrap();
    // Neuron 0: I = 3246, 2736, 202, −308 (see the subtracting test); θ_q = 2024.
    //   U: 3246 (spike); held 0: 2736 (spike); held 0: 202; (24576·202 + 2^14) >> 15 = 152,
    //   152 − 308 = −156. Neuron 1 never spikes: 625 as before.
    let mut x = SpikeBatch::zeros(4, 1, &[3]);
    for (t, i) in [(0, 0), (0, 2), (1, 0), (1, 1), (1, 2), (3, 1)] {
        x.set(t, 0, i, true);
    }
    let s_u = 16.0f64 / 32385.0;
    let want = vec![(-156.0 * s_u) as f32, (625.0 * s_u) as f32];
    for isa in Isa::supported() {
        e.set_isa(isa).unwrap();
        assert_eq!(e.run_spikes(&x).unwrap().data, want, "{isa:?}");
        assert_eq!(e.run(&x.to_tensor()).unwrap().data, want, "{isa:?}");
    }
}
