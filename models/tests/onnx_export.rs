//! ONNX export of every preset: structure, tract, the onnx checker and onnxruntime (through
//! `scripts/check_onnx.py` with `$JOULEBENCH_PYTHON`; without it: a failure in CI, a listed skip
//! locally), and agreement with a straightforward reference forward pass written here for the
//! MLP-shaped presets.

mod common;
use common::{mnist, mnist1d};

use common::{python_check, test_input, tract_plan, tract_run, weights_with_gain, PyJob};
use std::collections::HashMap;

use joulebench_models::onnx::{
    build_model, export_onnx, summarize_onnx, write_onnx, IR_VERSION, OPSET,
};
use joulebench_models::{
    build_preset, DataShape, ModelSpec, Op, PresetOptions, Readout, Tensor, Weights, PRESETS,
};

/// Every preset, small where the preset allows it (mlp-sweep width 32, few time steps).
fn small_specs() -> Vec<ModelSpec> {
    let mut v = vec![];
    for p in PRESETS {
        let data = if p.needs_1d { mnist1d() } else { mnist() };
        let opts = match p.name {
            "mlp-sweep" => PresetOptions {
                width: Some(32),
                depth: Some(2),
                ..Default::default()
            },
            "snn-temporal" => PresetOptions {
                steps: Some(5),
                ..Default::default()
            },
            "csnn-temporal" => PresetOptions {
                steps: Some(3),
                ..Default::default()
            },
            _ => PresetOptions::default(),
        };
        v.push(build_preset(p.name, &data, &opts).unwrap());
    }
    // The RNN also on 1-D sequences ([C, L] is read as L steps of C features).
    v.push(build_preset("rnn", &mnist1d(), &PresetOptions::default()).unwrap());
    v
}

/// Reference forward pass for Flatten/Linear/ReLU/LIF stacks, straight from spec.rs' text.
/// Returns the logits and, per LIF layer in order, (name, spikes, membrane updates) over all
/// steps and samples.
fn reference_forward(
    spec: &ModelSpec,
    w: &Weights,
    x: &Tensor,
) -> (Tensor, Vec<(String, u64, u64)>) {
    let spiking = spec.is_spiking();
    let t_steps = if spiking { spec.steps } else { 1 };
    let batch = if spiking { x.shape[1] } else { x.shape[0] };
    let sample: usize = spec.input_shape.iter().product();
    let classes = spec.num_classes;
    let mut logits = vec![0f32; batch * classes];
    let mut fired = vec![(0u64, 0u64); spec.layers.len()];
    for b in 0..batch {
        // Per LIF layer: (U, S) of the previous step.
        let mut state: Vec<Option<(Vec<f32>, Vec<f32>)>> = vec![None; spec.layers.len()];
        let mut acc = vec![0f32; classes];
        let mut last_mem = vec![0f32; classes];
        for t in 0..t_steps {
            let off = if spiking {
                (t * batch + b) * sample
            } else {
                b * sample
            };
            let mut h: Vec<f32> = x.data[off..off + sample].to_vec();
            let mut mem_of_last_lif = None;
            for (i, layer) in spec.layers.iter().enumerate() {
                h = match layer.op {
                    Op::Flatten => h,
                    Op::Relu => h.iter().map(|v| v.max(0.0)).collect(),
                    Op::Linear {
                        in_features,
                        out_features,
                    } => {
                        let wt = w.get(&format!("{}.weight", layer.name)).unwrap();
                        let bs = w.get(&format!("{}.bias", layer.name)).unwrap();
                        (0..out_features)
                            .map(|o| {
                                let row = &wt.data[o * in_features..(o + 1) * in_features];
                                row.iter().zip(&h).map(|(a, b)| a * b).sum::<f32>() + bs.data[o]
                            })
                            .collect()
                    }
                    Op::Lif(p) => {
                        let (beta, th) = (p.beta_clamped(), p.threshold);
                        let (u, s): (Vec<f32>, Vec<f32>) = match &state[i] {
                            None => (
                                h.clone(),
                                h.iter().map(|&u| if u > th { 1.0 } else { 0.0 }).collect(),
                            ),
                            Some((pu, ps)) => {
                                let u: Vec<f32> = h
                                    .iter()
                                    .zip(pu)
                                    .zip(ps)
                                    .map(|((i, u), s)| beta * u + i - s * th)
                                    .collect();
                                let s = u.iter().map(|&u| if u > th { 1.0 } else { 0.0 }).collect();
                                (u, s)
                            }
                        };
                        fired[i].0 += s.iter().filter(|&&v| v > 0.0).count() as u64;
                        fired[i].1 += s.len() as u64;
                        mem_of_last_lif = Some(u.clone());
                        state[i] = Some((u, s.clone()));
                        s
                    }
                    other => panic!("reference does not do {other:?}"),
                };
            }
            match spec.readout {
                Readout::Output => acc.iter_mut().zip(&h).for_each(|(a, v)| *a += v),
                Readout::MembraneMean => acc
                    .iter_mut()
                    .zip(mem_of_last_lif.as_ref().unwrap())
                    .for_each(|(a, v)| *a += v),
                Readout::MembraneLast => last_mem = mem_of_last_lif.unwrap(),
                Readout::SpikeCount => acc.iter_mut().zip(&h).for_each(|(a, v)| *a += v),
            }
        }
        let out = match spec.readout {
            Readout::Output | Readout::MembraneMean => {
                acc.iter().map(|v| v / t_steps as f32).collect()
            }
            Readout::MembraneLast => last_mem,
            Readout::SpikeCount => acc,
        };
        logits[b * classes..(b + 1) * classes].copy_from_slice(&out);
    }
    let lif = spec
        .layers
        .iter()
        .zip(fired)
        .filter(|(l, _)| matches!(l.op, Op::Lif(_)))
        .map(|(l, f)| (l.name.clone(), f.0, f.1))
        .collect();
    (
        Tensor {
            shape: vec![batch, classes],
            data: logits,
        },
        lif,
    )
}

fn row(t: &Tensor, r: usize) -> Vec<f32> {
    let c = t.shape[1];
    t.data[r * c..(r + 1) * c].to_vec()
}

#[test]
fn every_preset_exports_runs_in_tract_and_matches_onnxruntime() {
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = vec![];
    let mut tract_out = vec![];
    for (k, spec) in small_specs().into_iter().enumerate() {
        let name = format!("{}-{}", spec.preset, spec.input_shape.len());
        // spiking presets: weights ×3, else hidden LIF layers stay silent (checked below)
        let gain = if spec.is_spiking() { 3.0 } else { 1.0 };
        let w = weights_with_gain(&spec, 11 + k as u64, gain);
        let meta = vec![("joulebench.train".to_string(), "{\"seed\": 0}".to_string())];
        let bytes = export_onnx(&spec, &w, &meta).unwrap();

        // Structure and metadata.
        let s = summarize_onnx(&bytes).unwrap();
        assert_eq!((s.opset, s.ir_version), (OPSET, IR_VERSION), "{name}");
        assert_eq!(s.inputs, vec!["input"], "{name}");
        assert_eq!(s.outputs, vec!["logits"], "{name}");
        let back = ModelSpec::from_json(&s.metadata["joulebench.spec"]).unwrap();
        assert_eq!(back, spec, "{name}: spec in metadata");
        assert_eq!(s.metadata["joulebench.train"], "{\"seed\": 0}");
        // Every parameter is an initializer of the same name and values; all other
        // initializers are LIF scalars or `const.*` index/shape constants.
        let model = build_model(&spec, &w, &meta).unwrap();
        let inits: HashMap<String, Vec<f32>> = model
            .graph
            .as_ref()
            .unwrap()
            .initializer
            .iter()
            .map(|t| {
                let vals = t
                    .raw_data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                (t.name.clone(), vals.collect())
            })
            .collect();
        for p in spec.parameters() {
            let v = inits
                .get(&p.name)
                .unwrap_or_else(|| panic!("{name}: {} not stored", p.name));
            assert_eq!(v, &w.get(&p.name).unwrap().data, "{name}: {}", p.name);
        }
        for k in inits.keys() {
            let known = spec.parameters().iter().any(|p| &p.name == k)
                || k.starts_with("const.")
                || k.ends_with(".beta")
                || k.ends_with(".threshold");
            assert!(known, "{name}: unexpected initializer {k}");
        }

        // tract, with the batch dimension left symbolic: batch 3, then batch 1.
        let plan = tract_plan(&bytes);
        let x = test_input(&spec, 3, 100 + k as u64);
        let y = tract_run(&plan, &x);
        assert_eq!(y.shape, vec![3, spec.num_classes], "{name}");
        assert!(y.data.iter().all(|v| v.is_finite()), "{name}");
        let x1 = first_sample(&spec, &x);
        let y1 = tract_run(&plan, &x1);
        assert_eq!(y1.shape, vec![1, spec.num_classes], "{name}");
        let d = y1
            .data
            .iter()
            .zip(row(&y, 0))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(d <= 1e-5, "{name}: batch 1 vs batch 3 differ by {d}");

        // The reference forward pass, where it applies.
        let simple = spec.layers.iter().all(|l| {
            matches!(
                l.op,
                Op::Flatten | Op::Linear { .. } | Op::Relu | Op::Lif(_)
            )
        });
        if simple {
            let (r, lif) = reference_forward(&spec, &w, &x);
            let d = r.max_abs_diff(&y).unwrap();
            assert!(d <= 1e-4, "{name}: tract vs reference differ by {d}");
            // spiking: the agreement covers spikes that reach a next layer — every LIF layer
            // but an output one fired, and none saturated
            let output = &spec.layers.last().unwrap().name;
            for (layer, spikes, updates) in lif.iter().filter(|l| &l.0 != output) {
                assert!(
                    0 < *spikes && spikes < updates,
                    "{name}: hidden LIF layer {layer} fired {spikes} times in {updates} updates"
                );
            }
        }

        let path = dir.path().join(format!("{name}.onnx"));
        write_onnx(&path, &spec, &w, &meta).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{name}: write_onnx writes export_onnx's bytes"
        );
        jobs.push(PyJob {
            model: path,
            input: x,
        });
        tract_out.push((name, y));
    }
    if let Some(results) = python_check(&jobs, dir.path()) {
        assert_eq!(results.len(), tract_out.len());
        for ((name, y), r) in tract_out.iter().zip(&results) {
            assert_eq!(r.opset, OPSET);
            let d = y.max_abs_diff(&r.logits).unwrap();
            assert!(d <= 1e-4, "{name}: tract vs onnxruntime differ by {d}");
        }
    }
}

/// The first sample of a batch input (batch is axis 1 for spiking models, 0 otherwise).
fn first_sample(spec: &ModelSpec, x: &Tensor) -> Tensor {
    let sample: usize = spec.input_shape.iter().product();
    let mut data = vec![];
    if spec.is_spiking() {
        let batch = x.shape[1];
        for t in 0..spec.steps {
            let off = t * batch * sample;
            data.extend_from_slice(&x.data[off..off + sample]);
        }
    } else {
        data.extend_from_slice(&x.data[..sample]);
    }
    Tensor {
        shape: spec.batch_input_shape(1),
        data,
    }
}

#[test]
fn temporal_graph_is_unrolled_with_the_documented_nodes() {
    // snn-temporal at T = 4: per step Gather, Flatten, 3 Gemm; LIF at t = 0: Greater + Cast;
    // t ≥ 1: Mul (β·U), Add, Mul (S·θ), Sub, Greater, Cast. The last layer's spikes at t = 3
    // are not read by the membrane-mean readout and are pruned; one Mean reads out.
    let opts = PresetOptions {
        steps: Some(4),
        ..Default::default()
    };
    let spec = build_preset("snn-temporal", &mnist(), &opts).unwrap();
    let bytes = export_onnx(&spec, &Weights::random(&spec, 3), &[]).unwrap();
    let s = summarize_onnx(&bytes).unwrap();
    let want = [
        ("Gather", 4),
        ("Flatten", 4),
        ("Gemm", 12),
        ("Greater", 11),
        ("Cast", 11),
        ("Mul", 18), // 3 layers × 3 steps × 2
        ("Add", 9),
        ("Sub", 9),
        ("Mean", 1),
    ];
    let got: Vec<(&str, usize)> = s.ops.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let mut want_sorted = want.to_vec();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    assert_eq!(s.nodes, want.iter().map(|w| w.1).sum::<usize>());

    // Non-spiking models are not unrolled: ann is Flatten, 3 Gemm, 2 Relu.
    let spec = build_preset("ann", &mnist(), &PresetOptions::default()).unwrap();
    let s = summarize_onnx(&export_onnx(&spec, &Weights::random(&spec, 3), &[]).unwrap()).unwrap();
    assert_eq!(s.nodes, 6);
    assert_eq!(s.ops.get("Gemm"), Some(&3));
    assert_eq!(s.ops.get("Relu"), Some(&2));
}

#[test]
fn every_op_kind_appears_where_expected() {
    let ops_of = |name: &str, data: DataShape| {
        let spec = build_preset(name, &data, &PresetOptions::default()).unwrap();
        summarize_onnx(&export_onnx(&spec, &Weights::random(&spec, 1), &[]).unwrap())
            .unwrap()
            .ops
    };
    let cnn = ops_of("cnn", mnist());
    assert_eq!(
        (
            cnn["Conv"],
            cnn["MaxPool"],
            cnn["Relu"],
            cnn["Flatten"],
            cnn["Gemm"]
        ),
        (2, 2, 2, 1, 1)
    );
    let cnn1d = ops_of("cnn1d", mnist1d());
    assert_eq!((cnn1d["Conv"], cnn1d["MaxPool"]), (2, 2));
    let rnn = ops_of("rnn", mnist());
    // unrolled: per image row a Gather, two Gemms, an Add and a Tanh; then the classifier Gemm
    assert_eq!(rnn.get("RNN"), None);
    assert_eq!(
        (
            rnn["Transpose"],
            rnn["Squeeze"],
            rnn["Gather"],
            rnn["Gemm"],
            rnn["Add"],
            rnn["Tanh"]
        ),
        (1, 1, 28, 2 * 28 + 1, 28, 28)
    );
    let rnn1d = ops_of("rnn", mnist1d());
    assert_eq!(
        (rnn1d["Transpose"], rnn1d.get("Squeeze"), rnn1d["Tanh"]),
        (1, None, 40)
    );
}

#[test]
fn writer_rejects_bad_weights_and_specs_with_errors() {
    let spec = build_preset("ann", &mnist(), &PresetOptions::default()).unwrap();
    let good = Weights::random(&spec, 5);

    let mut missing = good.clone();
    missing.tensors.remove("fc2.bias");
    let e = export_onnx(&spec, &missing, &[]).unwrap_err().to_string();
    assert!(e.contains("fc2.bias") && e.contains("missing"), "{e}");

    let mut wrong = good.clone();
    wrong.insert("fc1.weight", Tensor::zeros(vec![784, 256]));
    let e = export_onnx(&spec, &wrong, &[]).unwrap_err().to_string();
    assert!(e.contains("fc1.weight") && e.contains("shape"), "{e}");

    let mut nan = good.clone();
    nan.tensors.get_mut("fc3.weight").unwrap().data[7] = f32::NAN;
    let e = export_onnx(&spec, &nan, &[]).unwrap_err().to_string();
    assert!(e.contains("fc3.weight") && e.contains("non-finite"), "{e}");

    let mut bad_spec = spec.clone();
    bad_spec.layers[1].op = Op::Linear {
        in_features: 100,
        out_features: 256,
    };
    let e = export_onnx(&bad_spec, &good, &[]).unwrap_err().to_string();
    assert!(e.contains("fc1"), "{e}");

    let dup = vec![("joulebench.spec".to_string(), "x".to_string())];
    let e = export_onnx(&spec, &good, &dup).unwrap_err().to_string();
    assert!(e.contains("joulebench.spec"), "{e}");

    // write_onnx reports the path it could not write.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let e = write_onnx(&blocker.join("model.onnx"), &spec, &good, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("file"), "{e}");

    // A truncated export is reported, not a panic.
    let bytes = export_onnx(&spec, &good, &[]).unwrap();
    assert!(summarize_onnx(&bytes[..bytes.len() / 3]).is_err());
}
