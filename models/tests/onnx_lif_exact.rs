//! A tiny spiking network computed by hand, run through the ONNX export in tract: a 2→2 Linear
//! followed by LIF (β = 0.5, θ = 1) over 3 steps, batch 2, with a neuron landing exactly on the
//! threshold (no spike: the comparison is strict) and resets by subtraction. Every value below
//! is exact in binary floating point, so membranes and spike counts must match exactly.

mod common;

use common::{python_check, tract_plan, tract_run, PyJob};
use joulebench_models::onnx::export_onnx;
use joulebench_models::{
    Encoding, Layer, LifParams, ModelSpec, Op, Preprocess, Readout, Reset, Tensor, Weights,
};

fn tiny(readout: Readout) -> (ModelSpec, Weights) {
    let spec = ModelSpec {
        preset: "tiny".into(),
        input_shape: vec![2],
        num_classes: 2,
        preprocess: Preprocess::default(),
        encoding: Encoding::Rate,
        steps: 3,
        readout,
        layers: vec![
            Layer::new(
                "fc",
                Op::Linear {
                    in_features: 2,
                    out_features: 2,
                },
            ),
            Layer::new("lif", Op::Lif(LifParams::new(0.5))),
        ],
    };
    spec.validate().unwrap();
    let mut w = Weights::default();
    // W = [[1, 0.5], [0.25, −1]], b = [0, 0.5]
    w.insert(
        "fc.weight",
        Tensor::new(vec![2, 2], vec![1.0, 0.5, 0.25, -1.0]).unwrap(),
    );
    w.insert("fc.bias", Tensor::new(vec![2], vec![0.0, 0.5]).unwrap());
    (spec, w)
}

/// Input [T=3, batch=2, 2]. Sample 0: [1,0], [1,1], [0,1]. Sample 1: [1,1] at every step.
fn input() -> Tensor {
    #[rustfmt::skip]
    let data = vec![
        1.0, 0.0,   1.0, 1.0, // t = 0: sample 0, sample 1
        1.0, 1.0,   1.0, 1.0, // t = 1
        0.0, 1.0,   1.0, 1.0, // t = 2
    ];
    Tensor::new(vec![3, 2, 2], data).unwrap()
}

// Currents I = W x + b:
//   sample 0: t0 [1, 0.75], t1 [1.5, −0.25], t2 [0.5, −0.5]
//   sample 1: every step [1.5, −0.25]
// Membranes U[t] = 0.5·U[t−1] + I[t] − S[t−1], S[t] = U[t] > 1:
//   sample 0, neuron 0: U = 1.0 (exactly θ: no spike), 0.5 + 1.5 = 2.0 (spike), 1.0 + 0.5 − 1 = 0.5
//   sample 0, neuron 1: U = 0.75, 0.375 − 0.25 = 0.125, 0.0625 − 0.5 = −0.4375; no spikes
//   sample 1, neuron 0: U = 1.5 (spike), 0.75 + 1.5 − 1 = 1.25 (spike), 0.625 + 1.5 − 1 = 1.125 (spike)
//   sample 1, neuron 1: U = −0.25, −0.125 − 0.25 = −0.375, −0.1875 − 0.25 = −0.4375
fn expected(readout: Readout) -> Vec<f32> {
    match readout {
        Readout::MembraneLast => vec![0.5, -0.4375, 1.125, -0.4375],
        Readout::SpikeCount => vec![1.0, 0.0, 3.0, 0.0],
        // (1 + 2 + 0.5)/3, (0.75 + 0.125 − 0.4375)/3, (1.5 + 1.25 + 1.125)/3, (−0.25 − 0.375 − 0.4375)/3
        Readout::MembraneMean => vec![3.5 / 3.0, 0.4375 / 3.0, 3.875 / 3.0, -1.0625 / 3.0],
        // Output = the LIF's spikes averaged over the steps.
        Readout::Output => vec![1.0 / 3.0, 0.0, 1.0, 0.0],
    }
}

const READOUTS: [Readout; 4] = [
    Readout::MembraneLast,
    Readout::SpikeCount,
    Readout::MembraneMean,
    Readout::Output,
];

#[test]
fn tiny_lif_network_gives_the_hand_computed_logits_in_tract() {
    for readout in READOUTS {
        let (spec, w) = tiny(readout);
        let plan = tract_plan(&export_onnx(&spec, &w, &[]).unwrap());
        let y = tract_run(&plan, &input());
        assert_eq!(y.shape, vec![2, 2]);
        let want = expected(readout);
        match readout {
            // Sums and last values of exactly representable numbers: exact.
            Readout::MembraneLast | Readout::SpikeCount => assert_eq!(y.data, want, "{readout:?}"),
            // A division by 3 rounds; allow one rounding of the mean.
            _ => {
                for (a, b) in y.data.iter().zip(&want) {
                    assert!(
                        (a - b).abs() <= 1e-6,
                        "{readout:?}: got {:?}, want {want:?}",
                        y.data
                    );
                }
            }
        }
    }
}

#[test]
fn tiny_lif_network_in_onnxruntime() {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<PyJob> = READOUTS
        .iter()
        .map(|&r| {
            let (spec, w) = tiny(r);
            let path = dir.path().join(format!("tiny-{r:?}.onnx"));
            std::fs::write(&path, export_onnx(&spec, &w, &[]).unwrap()).unwrap();
            PyJob {
                model: path,
                input: input(),
            }
        })
        .collect();
    if let Some(results) = python_check(&jobs, dir.path()) {
        for (r, res) in READOUTS.iter().zip(results) {
            for (a, b) in res.logits.data.iter().zip(expected(*r)) {
                assert!(
                    (a - b).abs() <= 1e-6,
                    "{r:?}: onnxruntime gave {:?}",
                    res.logits.data
                );
            }
        }
    }
}

/// The tiny network with per-neuron β = [0.5, 0.25], θ = [1, 0.5], v_reset = [−0.5, 0.25] under
/// each reset mode; `[MembraneLast, SpikeCount]` logits from a direct loop over the spec's
/// equations (every value a short binary fraction, so exact in any engine).
fn tiny_neurons(reset: Reset, readout: Readout) -> (ModelSpec, Weights, Vec<f32>) {
    let (mut spec, mut w) = tiny(readout);
    let Op::Lif(p) = &mut spec.layers[1].op else {
        unreachable!()
    };
    p.reset = reset;
    p.per_neuron = true;
    spec.validate().unwrap();
    let (beta, theta, v_reset) = ([0.5f32, 0.25], [1.0f32, 0.5], [-0.5f32, 0.25]);
    w.insert("lif.beta", Tensor::new(vec![2], beta.to_vec()).unwrap());
    w.insert(
        "lif.threshold",
        Tensor::new(vec![2], theta.to_vec()).unwrap(),
    );
    if matches!(reset, Reset::To { .. }) {
        w.insert(
            "lif.v_reset",
            Tensor::new(vec![2], v_reset.to_vec()).unwrap(),
        );
    }
    w.check_against(&spec).unwrap();
    let x = input();
    let (wt, bt) = (
        &w.get("fc.weight").unwrap().data,
        &w.get("fc.bias").unwrap().data,
    );
    let mut want = vec![0.0f32; 4];
    for b in 0..2 {
        let (mut u, mut s) = ([0.0f32; 2], [0.0f32; 2]);
        for t in 0..3 {
            let xs = &x.data[(t * 2 + b) * 2..][..2];
            for j in 0..2 {
                let i = (xs[0] * wt[j * 2] + xs[1] * wt[j * 2 + 1]) + bt[j];
                u[j] = match reset {
                    Reset::Subtract => beta[j] * u[j] + i - s[j] * theta[j],
                    Reset::To { .. } => beta[j] * if s[j] == 1.0 { v_reset[j] } else { u[j] } + i,
                    Reset::None => beta[j] * u[j] + i,
                };
                s[j] = if u[j] > theta[j] { 1.0 } else { 0.0 };
                match readout {
                    Readout::MembraneLast => want[b * 2 + j] = u[j],
                    _ => want[b * 2 + j] += s[j],
                }
            }
        }
    }
    (spec, w, want)
}

const RESETS: [Reset; 3] = [Reset::Subtract, Reset::To { v_reset: 0.0 }, Reset::None];

/// Per-neuron values and every reset mode through the ONNX export: tract and ONNX Runtime give
/// the direct loop's logits exactly; the reset modes give different results on this input.
#[test]
fn per_neuron_values_and_reset_modes_in_tract_and_onnxruntime() {
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    let mut wants = Vec::new();
    for reset in RESETS {
        let mut seen = Vec::new();
        for readout in [Readout::MembraneLast, Readout::SpikeCount] {
            let (spec, w, want) = tiny_neurons(reset, readout);
            let bytes = export_onnx(&spec, &w, &[]).unwrap();
            let y = tract_run(&tract_plan(&bytes), &input());
            assert_eq!(y.data, want, "{reset:?} {readout:?}");
            let path = dir.path().join(format!("{reset:?}-{readout:?}.onnx"));
            std::fs::write(&path, bytes).unwrap();
            jobs.push(PyJob {
                model: path,
                input: input(),
            });
            wants.push(want.clone());
            seen.push(want);
        }
        // the network spikes and resets
        assert!(seen[1].iter().sum::<f32>() >= 2.0, "{reset:?}: {seen:?}");
    }
    let last: Vec<&Vec<f32>> = wants.iter().step_by(2).collect();
    assert!(last[0] != last[1] && last[1] != last[2] && last[0] != last[2]);
    if let Some(results) = python_check(&jobs, dir.path()) {
        for (res, want) in results.iter().zip(&wants) {
            assert_eq!(&res.logits.data, want, "onnxruntime");
        }
    }
}
