//! The event engine against a plain, obviously-correct dense reference written here with
//! straight loops: same weights + same input spike tensor → identical spikes at every step
//! of every LIF layer and identical (≤ 1e-5) output, including neurons sitting exactly at
//! threshold; plus activity counts, execution modes, instruction sets, threads and bad input.

use joulebench_inference::event::{EventEngine, ExecMode};
use joulebench_inference::Isa;
use joulebench_inference::{Backend, InferenceError};
use joulebench_models::{
    build_preset, DataShape, Layer, LifParams, ModelSpec, Op, PresetOptions, Readout, Reset,
    Tensor, Weights,
};
use rand::{Rng, SeedableRng};

mod common;
use common::{set_lif_neurons, set_lif_params, weights_with_gain};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------- dense reference

/// Output of the reference for one sample: logits and, per LIF layer, per step, spiking indices.
struct RefOut {
    logits: Vec<f32>,
    spikes: Vec<Vec<Vec<u32>>>,
    /// How many times a membrane ended a step exactly at threshold.
    at_threshold: usize,
    /// Non-zero inputs per layer (summed over steps).
    nonzero_inputs: Vec<u64>,
}

fn reference(spec: &ModelSpec, w: &Weights, input: &Tensor, b: usize) -> RefOut {
    let (steps, batch) = (input.shape[0], input.shape[1]);
    let n: usize = spec.input_shape.iter().product();
    let shapes = spec.layer_shapes().unwrap();
    let mut mem: Vec<Vec<f32>> = shapes
        .iter()
        .map(|s| vec![0.0; s.iter().product()])
        .collect();
    let mut prev: Vec<Vec<f32>> = mem.clone();
    let mut syn: Vec<Vec<f32>> = mem.clone();
    let mut spikes = vec![];
    let lif_count = spec
        .layers
        .iter()
        .filter(|l| matches!(l.op, Op::Lif(_)))
        .count();
    spikes.resize(lif_count, vec![]);
    let mut acc = vec![0.0f32; spec.num_classes];
    let mut at_threshold = 0;
    let mut nonzero_inputs = vec![0u64; spec.layers.len()];
    for t in 0..steps {
        let mut x: Vec<f32> = input.data[(t * batch + b) * n..][..n].to_vec();
        let mut shape = spec.input_shape.clone();
        let mut lif_no = 0;
        for (li, layer) in spec.layers.iter().enumerate() {
            nonzero_inputs[li] += x.iter().filter(|&&v| v != 0.0).count() as u64;
            let p = |s: &str| &w.get(&format!("{}.{s}", layer.name)).unwrap().data;
            let y: Vec<f32> = match layer.op {
                Op::Flatten => x.clone(),
                Op::Linear {
                    in_features,
                    out_features,
                } => {
                    let (wt, bt) = (p("weight"), p("bias"));
                    (0..out_features)
                        .map(|o| {
                            let mut a = 0.0f32;
                            for i in 0..in_features {
                                a += x[i] * wt[o * in_features + i];
                            }
                            a + bt[o]
                        })
                        .collect()
                }
                Op::Conv2d {
                    in_channels,
                    out_channels,
                    kernel_size: k,
                    stride: s,
                    padding: pd,
                } => {
                    let (h, wd) = (shape[1] as isize, shape[2] as isize);
                    let out = &shapes[li];
                    let (oh, ow) = (out[1], out[2]);
                    let (wt, bt) = (p("weight"), p("bias"));
                    let mut y = vec![0.0; out_channels * oh * ow];
                    for o in 0..out_channels {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let mut a = 0.0f32;
                                for c in 0..in_channels {
                                    for ky in 0..k {
                                        for kx in 0..k {
                                            let iy = (oy * s + ky) as isize - pd as isize;
                                            let ix = (ox * s + kx) as isize - pd as isize;
                                            if iy < 0 || ix < 0 || iy >= h || ix >= wd {
                                                continue;
                                            }
                                            let xv = x[(c * h as usize + iy as usize)
                                                * wd as usize
                                                + ix as usize];
                                            a += xv * wt[((o * in_channels + c) * k + ky) * k + kx];
                                        }
                                    }
                                }
                                y[(o * oh + oy) * ow + ox] = a + bt[o];
                            }
                        }
                    }
                    y
                }
                Op::MaxPool2d { kernel_size: k } => {
                    let (c, h, wd) = (shape[0], shape[1], shape[2]);
                    let (oh, ow) = (h / k, wd / k);
                    let mut y = vec![0.0; c * oh * ow];
                    for ci in 0..c {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let mut m = f32::NEG_INFINITY;
                                for dy in 0..k {
                                    for dx in 0..k {
                                        m = m.max(x[(ci * h + oy * k + dy) * wd + ox * k + dx]);
                                    }
                                }
                                y[(ci * oh + oy) * ow + ox] = m;
                            }
                        }
                    }
                    y
                }
                Op::Lif(lp) => {
                    // per neuron: the weights' vectors, else the scalars
                    let value = |s: &str, scalar: f32, j: usize| {
                        if lp.per_neuron {
                            p(s)[j]
                        } else {
                            scalar
                        }
                    };
                    let mut out = vec![0.0; x.len()];
                    let mut fired = vec![];
                    for j in 0..x.len() {
                        let beta = value("beta", lp.beta, j).clamp(0.0, 1.0);
                        let th = value("threshold", lp.threshold, j);
                        let (um, s) = (mem[li][j], prev[li][j]);
                        // a current-based layer integrates J = α·J + I
                        let i = match lp.synapse {
                            Some(a) => {
                                let a = value("alpha", a, j).clamp(0.0, 1.0);
                                syn[li][j] = a * syn[li][j] + x[j];
                                syn[li][j]
                            }
                            None => x[j],
                        };
                        let u = match lp.reset {
                            Reset::Subtract => beta * um + i - s * th,
                            Reset::To { v_reset } => {
                                let v = value("v_reset", v_reset, j);
                                beta * if s == 1.0 { v } else { um } + i
                            }
                            Reset::None => beta * um + i,
                        };
                        mem[li][j] = u;
                        if u == th {
                            at_threshold += 1;
                        }
                        if u > th {
                            out[j] = 1.0;
                            fired.push(j as u32);
                        }
                    }
                    prev[li] = out.clone();
                    spikes[lif_no].push(fired);
                    lif_no += 1;
                    out
                }
                ref op => panic!("reference has no {op:?}"),
            };
            x = y;
            shape = shapes[li].clone();
        }
        match spec.readout {
            Readout::Output => acc.iter_mut().zip(&x).for_each(|(a, v)| *a += v),
            Readout::MembraneMean => acc
                .iter_mut()
                .zip(mem.last().unwrap())
                .for_each(|(a, v)| *a += v),
            Readout::SpikeCount => acc.iter_mut().zip(&x).for_each(|(a, v)| *a += v),
            Readout::MembraneLast => acc.copy_from_slice(mem.last().unwrap()),
        }
    }
    let logits = match spec.readout {
        Readout::Output | Readout::MembraneMean => acc.iter().map(|a| a / steps as f32).collect(),
        _ => acc,
    };
    RefOut {
        logits,
        spikes,
        at_threshold,
        nonzero_inputs,
    }
}

// ---------------------------------------------------------------- helpers

fn data(shape: &[usize]) -> DataShape {
    DataShape {
        dataset: "synthetic".into(),
        sample_shape: shape.to_vec(),
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    }
}

fn preset(name: &str, shape: &[usize], steps: Option<usize>) -> ModelSpec {
    build_preset(
        name,
        &data(shape),
        &PresetOptions {
            steps,
            ..Default::default()
        },
    )
    .unwrap()
}

/// Rate-coded spikes of random "images" (a fraction of bright pixels): `[T, batch, shape…]`.
fn rate_input(spec: &ModelSpec, steps: usize, batch: usize, seed: u64) -> Tensor {
    let n: usize = spec.input_shape.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let images: Vec<Vec<f32>> = (0..batch)
        .map(|_| {
            (0..n)
                .map(|_| {
                    if rng.random::<f32>() < 0.3 {
                        rng.random::<f32>()
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let mut data = Vec::with_capacity(steps * batch * n);
    for _ in 0..steps {
        for img in &images {
            data.extend(
                img.iter()
                    .map(|&p| if rng.random::<f32>() < p { 1.0 } else { 0.0 }),
            );
        }
    }
    let mut shape = vec![steps, batch];
    shape.extend_from_slice(&spec.input_shape);
    Tensor::new(shape, data).unwrap()
}

/// Analog input repeated over `steps` (direct encoding).
fn analog_input(spec: &ModelSpec, steps: usize, batch: usize, seed: u64) -> Tensor {
    let n: usize = spec.input_shape.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let one: Vec<f32> = (0..batch * n)
        .map(|_| {
            if rng.random::<f32>() < 0.4 {
                rng.random::<f32>()
            } else {
                0.0
            }
        })
        .collect();
    let data = (0..steps).flat_map(|_| one.iter().copied()).collect();
    let mut shape = vec![steps, batch];
    shape.extend_from_slice(&spec.input_shape);
    Tensor::new(shape, data).unwrap()
}

/// One sample of a batch tensor, as its own `[T, 1, …]` tensor.
fn sample(input: &Tensor, b: usize) -> Tensor {
    let (steps, batch) = (input.shape[0], input.shape[1]);
    let n = input.data.len() / (steps * batch);
    let data = (0..steps)
        .flat_map(|t| input.data[(t * batch + b) * n..][..n].iter().copied())
        .collect();
    let mut shape = input.shape.clone();
    shape[1] = 1;
    Tensor::new(shape, data).unwrap()
}

/// Asserts that layer `layer` of the engine's last run formed its currents against a baseline
/// of frequent inputs: fewer operations performed than the effective (NeuroBench) count.
fn assert_baseline_used(e: &EventEngine, layer: usize) {
    let l = &e.activity().unwrap().layers[layer];
    assert!(
        l.performed_ops < l.effective_ops,
        "baseline in use in layer {layer}: {} of {} operations",
        l.performed_ops,
        l.effective_ops
    );
}

/// Runs every sample alone with a raster and checks spikes and logits against the reference,
/// for every instruction set; then the whole batch on 1 and 2 threads must give the same logits.
/// Returns the total number of exact-threshold events the reference saw.
fn check_exact(spec: &ModelSpec, w: &Weights, input: &Tensor) -> usize {
    let batch = input.shape[1];
    let refs: Vec<RefOut> = (0..batch).map(|b| reference(spec, w, input, b)).collect();
    let total_spikes: usize = refs
        .iter()
        .flat_map(|r| r.spikes.iter().flatten())
        .map(|s| s.len())
        .sum();
    assert!(
        total_spikes > 0,
        "test network never spiked; the test would prove nothing"
    );
    for isa in Isa::supported() {
        for mode in [ExecMode::Event, ExecMode::Dense] {
            let mut e = EventEngine::with_mode(spec, w, 1, mode).unwrap();
            e.set_isa(isa).unwrap();
            e.set_record_raster(true);
            for (b, r) in refs.iter().enumerate() {
                let out = e.run(&sample(input, b)).unwrap();
                let raster = e.activity().unwrap().raster.clone().unwrap();
                assert_eq!(raster.len(), r.spikes.len());
                for (l, (got, want)) in raster.iter().zip(&r.spikes).enumerate() {
                    for (t, (g, wv)) in got.iter().zip(want).enumerate() {
                        assert_eq!(
                            g, wv,
                            "{} {isa:?} {mode:?}: LIF layer {l}, step {t}, sample {b}",
                            spec.preset
                        );
                    }
                }
                for (g, wv) in out.data.iter().zip(&r.logits) {
                    assert!(
                        (g - wv).abs() <= 1e-5,
                        "{} {isa:?} {mode:?}: logit {g} vs {wv}",
                        spec.preset
                    );
                }
            }
        }
    }
    let want: Vec<f32> = refs.iter().flat_map(|r| r.logits.iter().copied()).collect();
    for threads in [1, 2, 3] {
        let mut e = EventEngine::new(spec, w, threads).unwrap();
        let out = e.run(input).unwrap();
        assert_eq!(out.shape, vec![batch, spec.num_classes]);
        for (g, wv) in out.data.iter().zip(&want) {
            assert!(
                (g - wv).abs() <= 1e-5,
                "{} threads {threads}: logit {g} vs {wv}",
                spec.preset
            );
        }
    }
    refs.iter().map(|r| r.at_threshold).sum()
}

// ---------------------------------------------------------------- tests

#[test]
fn temporal_mlp_matches_reference_over_many_steps() {
    let spec = preset("snn-temporal", &[1, 12, 12], Some(80));
    let w = weights_with_gain(&spec, 7, 3.0);
    let input = rate_input(&spec, 80, 3, 11);
    check_exact(&spec, &w, &input);
}

#[test]
fn single_step_presets_with_analog_input_match_reference() {
    for name in ["snn-1step", "snn"] {
        let spec = preset(name, &[1, 10, 10], None);
        let w = weights_with_gain(&spec, 3, 4.0);
        let input = analog_input(&spec, 1, 4, 5);
        check_exact(&spec, &w, &input);
        let mut e = EventEngine::new(&spec, &w, 1).unwrap();
        e.run(&input).unwrap();
        let act = e.activity().unwrap();
        assert!(
            !act.layers[1].event_driven,
            "{name}: fc1 sees analog pixels and must run densely"
        );
        assert!(
            act.layers[3].event_driven,
            "{name}: fc2 sees spikes and must run event-driven"
        );
    }
}

#[test]
fn convolutional_presets_match_reference() {
    let spec = preset("csnn-temporal", &[1, 16, 16], Some(12));
    let w = weights_with_gain(&spec, 21, 3.0);
    let input = rate_input(&spec, 12, 2, 4);
    check_exact(&spec, &w, &input);

    let spec = preset("csnn-1step", &[1, 16, 16], None);
    let w = weights_with_gain(&spec, 22, 3.0);
    let input = analog_input(&spec, 1, 2, 9);
    check_exact(&spec, &w, &input);
}

/// Every LIF layer with its own threshold and leak (not θ = 1, β = 0.9): the engine uses each
/// layer's own, in every mode and instruction set, and for every readout.
#[test]
fn per_layer_thresholds_and_leaks_match_reference() {
    let params = [(0.45f32, 0.6f32), (1.7, 0.97), (0.8, 0.3)];
    for readout in [
        Readout::MembraneMean,
        Readout::SpikeCount,
        Readout::MembraneLast,
    ] {
        for (name, shape, seed) in [
            ("snn-temporal", &[1usize, 12, 12][..], 41u64),
            ("csnn-temporal", &[1, 16, 16][..], 42),
        ] {
            let mut spec = preset(name, shape, Some(10));
            spec.readout = readout;
            set_lif_params(&mut spec, &params);
            let w = weights_with_gain(&spec, seed, 3.0);
            let input = rate_input(&spec, 10, 2, seed + 1);
            check_exact(&spec, &w, &input);
        }
    }
}

/// Every reset mode (subtract, zero, to a value, none), with scalar and with per-neuron β, θ and
/// `v_reset` (seeded random: β ∈ [0.5, 1], θ ∈ [0.5, 1.5], v_reset ∈ [−0.5, 0.5]): spikes
/// identical to the reference in every mode, instruction set and thread count, for fully
/// connected and convolutional networks; the native dense engine gives the same logits.
#[test]
fn reset_modes_and_per_neuron_values_match_reference() {
    let resets = [
        Reset::Subtract,
        Reset::To { v_reset: 0.0 },
        Reset::To { v_reset: -0.3 },
        Reset::None,
    ];
    for (k, reset) in resets.into_iter().enumerate() {
        for per_neuron in [false, true] {
            for (name, shape, seed) in [
                ("snn-temporal", &[1usize, 12, 12][..], 61u64),
                ("csnn-temporal", &[1, 16, 16][..], 62),
            ] {
                let mut spec = preset(name, shape, Some(10));
                let mut w = weights_with_gain(&spec, seed + k as u64, 3.0);
                set_lif_neurons(&mut spec, &mut w, reset, per_neuron, seed + 7);
                let input = rate_input(&spec, 10, 2, seed + 1);
                let what = format!("{name} {reset:?} per_neuron={per_neuron}");
                check_neurons_everywhere(&spec, &w, &input, &what);
            }
        }
    }
}

/// Current-based neurons (a synaptic current `J = α·J + I` before the membrane; NIR's CubaLIF):
/// scalar and per-neuron α (∈ [0.3, 0.9]) with a reset to a value and by subtraction, fully
/// connected and convolutional: spikes identical to the reference in every mode, instruction
/// set and thread count, the native engine's logits equal, and the synapse changes the output.
#[test]
fn synaptic_currents_match_reference() {
    for (k, reset) in [Reset::To { v_reset: 0.0 }, Reset::Subtract]
        .into_iter()
        .enumerate()
    {
        for per_neuron in [false, true] {
            for (name, shape, seed) in [
                ("snn-temporal", &[1usize, 12, 12][..], 71u64),
                ("csnn-temporal", &[1, 16, 16][..], 72),
            ] {
                let plain = preset(name, shape, Some(10));
                let mut spec = plain.clone();
                common::set_synapse(&mut spec, 0.7);
                let mut w = weights_with_gain(&spec, seed + k as u64, 2.0);
                set_lif_neurons(&mut spec, &mut w, reset, per_neuron, seed + 7);
                let input = rate_input(&spec, 10, 2, seed + 1);
                let what = format!("{name} synapse {reset:?} per_neuron={per_neuron}");
                let want = check_neurons_everywhere(&spec, &w, &input, &what);
                // the same weights without the synapse give other outputs
                let mut no_syn = spec.clone();
                common::set_synapse_off(&mut no_syn);
                let mut w2 = w.clone();
                w2.tensors.retain(|n, _| !n.ends_with(".alpha"));
                let other: Vec<f32> = (0..2)
                    .flat_map(|b| reference(&no_syn, &w2, &input, b).logits)
                    .collect();
                assert_ne!(other, want, "{what}: the synapse changes nothing");
            }
        }
    }
}

/// The hidden layers fire, the event engine matches the reference exactly ([`check_exact`]) and
/// the native engine gives its logits on every instruction set; returns the reference logits
/// (two samples).
fn check_neurons_everywhere(spec: &ModelSpec, w: &Weights, input: &Tensor, what: &str) -> Vec<f32> {
    let act = common::event_activity(spec, w, input);
    common::assert_hidden_lif_layers_fire(&act, what);
    check_exact(spec, w, input);
    let want: Vec<f32> = (0..2)
        .flat_map(|b| reference(spec, w, input, b).logits)
        .collect();
    for isa in Isa::supported() {
        let mut n = joulebench_inference::NativeBackend::with_isa(spec, w, 2, isa).unwrap();
        let got = n.run(input).unwrap();
        for (g, wv) in got.data.iter().zip(&want) {
            assert!((g - wv).abs() <= 1e-5, "{what} native {isa:?}: {g} vs {wv}");
        }
    }
    want
}

/// A per-neuron layer whose weights lack a vector, or hold one of the wrong length, is a clear
/// error at load in every engine.
#[test]
fn missing_or_mis_sized_per_neuron_vectors_are_clear_errors() {
    let mut spec = preset("snn-temporal", &[1, 12, 12], Some(4));
    let mut w = weights_with_gain(&spec, 3, 1.0);
    set_lif_neurons(&mut spec, &mut w, Reset::To { v_reset: 0.0 }, true, 5);
    let lif = spec
        .layers
        .iter()
        .find(|l| matches!(l.op, Op::Lif(_)))
        .unwrap()
        .name
        .clone();
    let mut missing = w.clone();
    missing.tensors.remove(&format!("{lif}.v_reset"));
    let mut short = w.clone();
    short.tensors.get_mut(&format!("{lif}.beta")).unwrap().shape = vec![3];
    short.tensors.get_mut(&format!("{lif}.beta")).unwrap().data = vec![0.5; 3];
    for (bad, want) in [(missing, "v_reset"), (short, "beta")] {
        let e = EventEngine::new(&spec, &bad, 1)
            .err()
            .expect("event refuses");
        assert!(e.to_string().contains(&format!("{lif}.{want}")), "{e}");
        let e = joulebench_inference::NativeBackend::new(&spec, &bad, 1)
            .err()
            .expect("native refuses");
        assert!(e.to_string().contains(&format!("{lif}.{want}")), "{e}");
    }
}

#[test]
fn conv_with_stride_padding_and_pooled_spikes_matches_reference() {
    // conv(stride 2, padding 1) → LIF → max-pool of spikes (OR) → LIF-free linear → LIF.
    let lif = Op::Lif(LifParams::new(0.8));
    let spec = ModelSpec {
        preset: "custom".into(),
        input_shape: vec![2, 9, 9],
        num_classes: 10,
        preprocess: Default::default(),
        encoding: joulebench_models::Encoding::Rate,
        steps: 15,
        readout: Readout::SpikeCount,
        layers: vec![
            Layer::new(
                "conv1",
                Op::Conv2d {
                    in_channels: 2,
                    out_channels: 5,
                    kernel_size: 3,
                    stride: 2,
                    padding: 1,
                },
            ),
            Layer::new("lif1", lif),
            Layer::new("pool1", Op::MaxPool2d { kernel_size: 2 }),
            Layer::new("flatten", Op::Flatten),
            Layer::new(
                "fc",
                Op::Linear {
                    in_features: 5 * 2 * 2,
                    out_features: 10,
                },
            ),
            Layer::new("lif2", lif),
        ],
    };
    spec.validate().unwrap();
    let w = weights_with_gain(&spec, 5, 4.0);
    let input = rate_input(&spec, 15, 3, 8);
    check_exact(&spec, &w, &input);
    let mut e = EventEngine::new(&spec, &w, 1).unwrap();
    e.run(&input).unwrap();
    let act = e.activity().unwrap();
    assert!(
        act.layers[2].event_driven,
        "pooling spikes is an OR over events"
    );
}

#[test]
fn neurons_exactly_at_threshold_do_not_spike() {
    // Weights and biases are multiples of 1/8 and β = 0.5, so every membrane value is a short
    // dyadic fraction and exact whatever the summation order. Input neuron k feeds hidden
    // neuron k with weight (k mod 9)/8 and a few others; θ = 1 is hit exactly many times.
    let lif = Op::Lif(LifParams {
        threshold: 1.0,
        ..LifParams::new(0.5)
    });
    let spec = ModelSpec {
        preset: "threshold".into(),
        input_shape: vec![40],
        num_classes: 10,
        preprocess: Default::default(),
        encoding: joulebench_models::Encoding::Rate,
        steps: 12,
        readout: Readout::MembraneMean,
        layers: vec![
            Layer::new(
                "fc1",
                Op::Linear {
                    in_features: 40,
                    out_features: 40,
                },
            ),
            Layer::new("lif1", lif),
            Layer::new(
                "fc2",
                Op::Linear {
                    in_features: 40,
                    out_features: 10,
                },
            ),
            Layer::new("lif2", lif),
        ],
    };
    spec.validate().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut w = Weights::default();
    let mut w1 = vec![0.0f32; 40 * 40];
    for o in 0..40 {
        w1[o * 40 + o] = (o % 9) as f32 / 8.0;
        for _ in 0..3 {
            w1[o * 40 + rng.random_range(0..40)] = rng.random_range(-4i32..=8) as f32 / 8.0;
        }
    }
    w.insert("fc1.weight", Tensor::new(vec![40, 40], w1).unwrap());
    w.insert(
        "fc1.bias",
        Tensor::new(
            vec![40],
            (0..40).map(|i| [0.0, 0.125, -0.125, 0.5][i % 4]).collect(),
        )
        .unwrap(),
    );
    let w2: Vec<f32> = (0..400)
        .map(|_| rng.random_range(-2i32..=8) as f32 / 8.0)
        .collect();
    w.insert("fc2.weight", Tensor::new(vec![10, 40], w2).unwrap());
    w.insert("fc2.bias", Tensor::new(vec![10], vec![0.0; 10]).unwrap());
    let input = rate_input(&spec, 12, 4, 3);
    let hits = check_exact(&spec, &w, &input);
    assert!(
        hits >= 5,
        "the construction should put membranes exactly at θ (got {hits} times)"
    );
    // Dyadic sums are exact in any order, the baseline's included: it was in use above.
    let mut e = EventEngine::new(&spec, &w, 1).unwrap();
    e.run(&sample(&input, 0)).unwrap();
    assert_baseline_used(&e, 0);

    // A single neuron driven to exactly θ: U = 1.0 must not spike; 1.0 + 1/8 must.
    let spec1 = ModelSpec {
        layers: vec![
            Layer::new(
                "fc1",
                Op::Linear {
                    in_features: 2,
                    out_features: 10,
                },
            ),
            Layer::new("lif1", lif),
        ],
        input_shape: vec![2],
        ..spec.clone()
    };
    let mut w = Weights::default();
    let mut wd = vec![0.0f32; 20];
    wd[0] = 1.0; // neuron 0: exactly θ from input 0
    wd[2] = 0.5; // neuron 1: 0.5 + 0.5 = θ
    wd[3] = 0.5;
    wd[4] = 1.125; // neuron 2: above θ
    w.insert("fc1.weight", Tensor::new(vec![10, 2], wd).unwrap());
    w.insert("fc1.bias", Tensor::new(vec![10], vec![0.0; 10]).unwrap());
    let mut e = EventEngine::new(&spec1, &w, 1).unwrap();
    e.set_record_raster(true);
    let x = Tensor::new(vec![1, 1, 2], vec![1.0, 1.0]).unwrap();
    let out = e.run(&x).unwrap();
    let raster = e.activity().unwrap().raster.clone().unwrap();
    assert_eq!(
        raster[0][0],
        vec![2],
        "only the neuron above θ fires; U == θ does not"
    );
    assert_eq!(&out.data[..3], &[1.0, 1.0, 1.125]);
}

#[test]
fn activity_counts_follow_neurobench_definitions() {
    let spec = preset("snn-temporal", &[1, 8, 8], Some(20));
    let w = weights_with_gain(&spec, 1, 3.0);
    let (batch, steps) = (3, 20);
    let input = rate_input(&spec, steps, batch, 2);
    let mut e = EventEngine::new(&spec, &w, 2).unwrap();
    e.run(&input).unwrap();
    let act = e.activity().unwrap().clone();
    assert_eq!((act.batch, act.steps), (batch, steps));
    assert_eq!(act.layers.len(), spec.layers.len());
    let refs: Vec<RefOut> = (0..batch)
        .map(|b| reference(&spec, &w, &input, b))
        .collect();
    let shapes = spec.layer_shapes().unwrap();
    let mut in_len = 64usize;
    for (li, (layer, la)) in spec.layers.iter().zip(&act.layers).enumerate() {
        assert_eq!(la.name, layer.name);
        let nz: u64 = refs.iter().map(|r| r.nonzero_inputs[li]).sum();
        let runs = (batch * steps) as u64;
        let want_sparsity = 1.0 - nz as f64 / (in_len as u64 * runs) as f64;
        assert!(
            (la.input_sparsity - want_sparsity).abs() < 1e-12,
            "{}: sparsity",
            layer.name
        );
        let out_len: usize = shapes[li].iter().product();
        match layer.op {
            Op::Linear {
                in_features,
                out_features,
            } => {
                assert!(la.event_driven, "{} gets spikes", layer.name);
                assert_eq!(
                    la.effective_ops,
                    nz * out_features as u64,
                    "{}: ACs = input spikes × fan-out",
                    layer.name
                );
                assert_eq!(la.dense_macs, (in_features * out_features) as u64 * runs);
                assert_eq!(la.membrane_updates, 0);
            }
            Op::Lif(_) => {
                assert_eq!(la.membrane_updates, out_len as u64 * runs);
                let lif_no = spec.layers[..li]
                    .iter()
                    .filter(|l| matches!(l.op, Op::Lif(_)))
                    .count();
                for t in 0..steps {
                    let want: u64 = refs.iter().map(|r| r.spikes[lif_no][t].len() as u64).sum();
                    assert_eq!(la.spikes_per_step[t], want, "{} step {t}", layer.name);
                }
            }
            _ => {}
        }
        in_len = out_len;
    }
    assert!(act.total_effective_ops() < act.total_dense_macs());
    assert_eq!(
        act.effective_macs(),
        0,
        "every synaptic layer of a rate-coded SNN accumulates"
    );
    let spikes: u64 = refs
        .iter()
        .flat_map(|r| r.spikes.iter().flatten())
        .map(|s| s.len() as u64)
        .sum();
    let updates = (256 + 128 + 10) as u64 * (batch * steps) as u64;
    assert!((act.activation_sparsity() - (1.0 - spikes as f64 / updates as f64)).abs() < 1e-12);
    assert_eq!(
        act.weight_bytes,
        4 * (64 * 256 + 256 + 256 * 128 + 128 + 128 * 16 + 16)
    );
    assert_eq!(act.state_bytes, 8 * (256 + 128 + 10));
}

#[test]
fn input_steps_and_batch_come_from_the_tensor() {
    let spec = preset("snn-temporal", &[1, 8, 8], Some(25));
    let w = weights_with_gain(&spec, 1, 3.0);
    let mut e = EventEngine::new(&spec, &w, 2).unwrap();
    for (steps, batch) in [(1, 1), (7, 5), (25, 2)] {
        let input = rate_input(&spec, steps, batch, 4);
        let out = e.run(&input).unwrap();
        assert_eq!(out.shape, vec![batch, 10]);
        assert_eq!(e.activity().unwrap().layers[2].spikes_per_step.len(), steps);
        let r = reference(&spec, &w, &input, batch - 1);
        for (g, wv) in out.data[(batch - 1) * 10..].iter().zip(&r.logits) {
            assert!((g - wv).abs() <= 1e-5);
        }
    }
}

#[test]
fn bad_input_and_models_are_clear_errors() {
    let spec = preset("snn-temporal", &[1, 8, 8], Some(5));
    let w = weights_with_gain(&spec, 1, 1.0);
    let mut e = EventEngine::new(&spec, &w, 1).unwrap();
    let wrong = Tensor::zeros(vec![5, 1, 1, 8, 9]);
    assert!(matches!(
        e.run(&wrong),
        Err(InferenceError::InputShape { .. })
    ));
    let no_time = Tensor::zeros(vec![1, 1, 8, 8]);
    assert!(matches!(
        e.run(&no_time),
        Err(InferenceError::InputShape { .. })
    ));
    let mut nan = Tensor::zeros(vec![5, 1, 1, 8, 8]);
    nan.data[3 * 64 + 17] = f32::NAN;
    let msg = e.run(&nan).unwrap_err().to_string();
    assert!(
        msg.contains("step 3") && msg.contains("element 17"),
        "{msg}"
    );
    // In a batch of spikes (packed to bits before the run when all binary), on 1 and 2 threads.
    for threads in [1, 2] {
        let mut e = EventEngine::new(&spec, &w, threads).unwrap();
        let mut nan = Tensor::zeros(vec![5, 3, 1, 8, 8]);
        nan.data[0] = 1.0;
        nan.data[(2 * 3 + 1) * 64 + 9] = f32::INFINITY;
        let msg = e.run(&nan).unwrap_err().to_string();
        assert!(
            msg.contains("step 2") && msg.contains("sample 1") && msg.contains("element 9"),
            "{msg}"
        );
    }

    let ann = preset("ann", &[1, 8, 8], None);
    let err = EventEngine::new(&ann, &Weights::random(&ann, 0), 1)
        .err()
        .expect("non-spiking model refused");
    assert!(err.to_string().contains("spiking"), "{err}");
    let mut missing = w.clone();
    missing.tensors.remove("fc2.bias");
    let err = EventEngine::new(&spec, &missing, 1)
        .err()
        .expect("missing tensor refused");
    assert!(err.to_string().contains("fc2.bias"), "{err}");
}

#[test]
fn temporal_blocking_of_the_input_layer_is_exact() {
    // Digit-like images have many saturated pixels that spike at every step: the input layer's
    // currents are then computed for several steps at once, block by block of weight columns (AVX-512); results must not change.
    let spec = preset("snn-temporal", &[1, 28, 28], Some(22));
    let w = weights_with_gain(&spec, 8, 3.0);
    let imgs = joulebench_data::synthetic_digits(2, 1);
    let input = joulebench_data::rate_encode(&imgs, 22, 6);
    check_exact(&spec, &w, &input);
    let mut on = EventEngine::new(&spec, &w, 1).unwrap();
    let mut off = EventEngine::new(&spec, &w, 1).unwrap();
    on.set_baseline(false);
    off.set_temporal_blocking(false);
    for e in [&mut on, &mut off] {
        e.set_record_raster(true);
    }
    let (a, b) = (on.run(&input).unwrap(), off.run(&input).unwrap());
    assert_eq!(a.data, b.data, "bit-identical logits");
    assert_eq!(on.activity().unwrap(), off.activity().unwrap());
}

#[test]
fn several_chunks_of_steps_with_and_without_a_baseline_match_reference() {
    // 230 steps: the layer-by-layer path runs chunks of 100, 100 and 30 steps, each with its
    // own baseline; digit-like input so that the baselines are in use.
    let spec = preset("snn-temporal", &[1, 14, 14], Some(230));
    let w = weights_with_gain(&spec, 21, 3.0);
    let imgs = joulebench_data::synthetic_digits(2, 9);
    // The 28×28 digits cropped to their centre 14×14.
    let crop: Vec<f32> = (0..2)
        .flat_map(|b| {
            let img = &imgs.data[b * 784..(b + 1) * 784];
            (7..21).flat_map(move |y| (7..21).map(move |x| img[y * 28 + x]))
        })
        .collect();
    let crop = Tensor::new(vec![2, 1, 14, 14], crop).unwrap();
    let input = joulebench_data::rate_encode(&crop, 230, 4);
    check_exact(&spec, &w, &input);
    let mut on = EventEngine::new(&spec, &w, 1).unwrap();
    on.run(&input).unwrap();
    assert_baseline_used(&on, 1);
    let mut off = EventEngine::new(&spec, &w, 1).unwrap();
    let mut step = EventEngine::new(&spec, &w, 1).unwrap();
    off.set_baseline(false);
    step.set_temporal_blocking(false);
    let (a, b) = (off.run(&input).unwrap(), step.run(&input).unwrap());
    assert_eq!(a.data, b.data, "bit-identical without the baseline");
}

#[test]
fn baseline_of_frequent_inputs_saves_additions_and_changes_no_spike() {
    // Digit-like images: saturated pixels spike at most steps, so the input layer's currents
    // are formed against a baseline of them. The spikes must not change, the logits only by
    // rounding, and the engine must report fewer performed than effective operations there
    // (and never more anywhere).
    let spec = preset("snn-temporal", &[1, 28, 28], Some(100));
    let w = weights_with_gain(&spec, 9, 3.0);
    let imgs = joulebench_data::synthetic_digits(3, 4);
    let input = joulebench_data::rate_encode(&imgs, 100, 5);
    for isa in Isa::supported() {
        let mut on = EventEngine::new(&spec, &w, 1).unwrap();
        let mut off = EventEngine::new(&spec, &w, 1).unwrap();
        off.set_baseline(false);
        for e in [&mut on, &mut off] {
            e.set_isa(isa).unwrap();
        }
        for b in 0..3 {
            let one = sample(&input, b);
            for e in [&mut on, &mut off] {
                e.set_record_raster(true);
            }
            let (a, c) = (on.run(&one).unwrap(), off.run(&one).unwrap());
            for (x, y) in a.data.iter().zip(&c.data) {
                assert!(
                    (x - y).abs() <= 1e-5,
                    "{isa:?} sample {b}: logit {x} vs {y}"
                );
            }
            let (ga, gc) = (on.activity().unwrap(), off.activity().unwrap());
            assert_eq!(ga.raster, gc.raster, "{isa:?} sample {b}: same spikes");
            let first = &ga.layers[1];
            assert_eq!(first.name, "fc1");
            assert_eq!(first.effective_ops, gc.layers[1].effective_ops);
            assert!(
                first.performed_ops * 2 < first.effective_ops,
                "{isa:?} sample {b}: performed {} of {} effective operations",
                first.performed_ops,
                first.effective_ops
            );
            // Deeper layers use a baseline only where their own inputs spike that often.
            assert!(ga.layers.iter().all(|l| l.performed_ops <= l.effective_ops));
            assert!(gc.layers.iter().all(|l| l.performed_ops == l.effective_ops));
        }
    }
}

#[test]
fn fully_connected_fast_path_matches_reference_for_every_readout_and_width() {
    // Widths that are not multiples of 16 (partial vectors; four-, two- and one-vector column
    // blocks), a step count that is not a multiple of the engine's chunk of steps, and every
    // readout: the layer-by-layer fast path must reproduce the reference and the step-by-step
    // loop.
    let lif = |beta: f32, threshold: f32| {
        Op::Lif(LifParams {
            threshold,
            ..LifParams::new(beta)
        })
    };
    for (k, readout) in [
        Readout::MembraneMean,
        Readout::SpikeCount,
        Readout::Output,
        Readout::MembraneLast,
    ]
    .into_iter()
    .enumerate()
    {
        let spec = ModelSpec {
            preset: "fc-widths".into(),
            input_shape: vec![1, 7, 9],
            num_classes: 10,
            preprocess: Default::default(),
            encoding: joulebench_models::Encoding::Rate,
            steps: 47,
            readout,
            layers: vec![
                Layer::new("flatten", Op::Flatten),
                Layer::new(
                    "fc1",
                    Op::Linear {
                        in_features: 63,
                        out_features: 90,
                    },
                ),
                Layer::new("lif1", lif(0.9, 1.0)),
                Layer::new(
                    "fc2",
                    Op::Linear {
                        in_features: 90,
                        out_features: 61,
                    },
                ),
                // A negative threshold once (the reset subtracts a negative θ).
                Layer::new("lif2", lif(0.8, if k == 1 { -0.25 } else { 1.0 })),
                Layer::new(
                    "fc3",
                    Op::Linear {
                        in_features: 61,
                        out_features: 10,
                    },
                ),
                Layer::new("lif3", lif(0.95, 1.0)),
            ],
        };
        spec.validate().unwrap();
        let w = weights_with_gain(&spec, 40 + k as u64, 3.0);
        let input = rate_input(&spec, 47, 3, 7 + k as u64);
        check_exact(&spec, &w, &input);
        for isa in Isa::supported() {
            let mut on = EventEngine::new(&spec, &w, 1).unwrap();
            let mut off = EventEngine::new(&spec, &w, 1).unwrap();
            on.set_baseline(false);
            off.set_temporal_blocking(false);
            for e in [&mut on, &mut off] {
                e.set_isa(isa).unwrap();
                e.set_record_raster(true);
            }
            let (a, b) = (on.run(&input).unwrap(), off.run(&input).unwrap());
            let bits = |t: &Tensor| t.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&a),
                bits(&b),
                "{readout:?} {isa:?}: bit-identical logits"
            );
            assert_eq!(
                on.activity().unwrap(),
                off.activity().unwrap(),
                "{readout:?} {isa:?}: same activity and raster"
            );
        }
    }
}
