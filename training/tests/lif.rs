//! LIF dynamics and surrogate gradients against hand computation and a step-by-step reference.

use joulebench_models::{LifParams, Reset, Surrogate};
use joulebench_training::lif::{
    leak_filter, lif_exact, lif_exact_neurons, lif_forward, lif_forward_neurons, spike_fn,
    synaptic_current, NeuronTensors,
};
use tch::{Device, Kind, Tensor};

fn t2(data: &[f32], rows: i64, cols: i64) -> Tensor {
    Tensor::from_slice(data).reshape([rows, cols])
}

fn vec(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(&t.detach().contiguous().flatten(0, -1)).unwrap()
}

/// β = 0.5, θ = 1, four steps, three neurons; every value is exact in binary floating point.
/// Neuron 0 sits exactly at threshold twice (U = 1.0 = θ: no spike), neuron 1 crosses it once,
/// neuron 2 spikes at t = 0 and is reset by subtraction at t = 1.
#[test]
fn lif_forward_matches_hand_computation() {
    let p = LifParams {
        threshold: 1.0,
        ..LifParams::new(0.5)
    };
    #[rustfmt::skip]
    let current = [
        1.0, 0.75, 2.5,
        0.5, 0.75, 0.0,
        0.0, 0.75, 0.0,
        0.0, 0.75, 0.0,
    ];
    #[rustfmt::skip]
    let u_expected = [
        1.0,  0.75,    2.5,
        1.0,  1.125,   0.25,   // 0.5·1 + 0.5 = 1.0 (= θ); 0.5·0.75 + 0.75; 0.5·2.5 + 0 − 1
        0.5,  0.3125,  0.125,  // 0.5·1.125 + 0.75 − 1
        0.25, 0.90625, 0.0625,
    ];
    #[rustfmt::skip]
    let s_expected = [
        0.0, 0.0, 1.0,
        0.0, 1.0, 0.0,
        0.0, 0.0, 0.0,
        0.0, 0.0, 0.0,
    ];
    let i = t2(&current, 4, 3);
    let (u, s) = lif_exact(&i, &p);
    assert_eq!(vec(&u), u_expected);
    assert_eq!(vec(&s), s_expected);
    // the differentiable path has exactly the same values
    let ig = i.set_requires_grad(true);
    let f = Tensor::from_slice(&leak_filter(4, 0.5)).reshape([4, 4]);
    let out = lif_forward(&ig, &p, Some(&f));
    assert_eq!(vec(&out.membrane), u_expected);
    assert_eq!(vec(&out.spikes), s_expected);
    // β is clamped to [0, 1]: β = 1.7 behaves as β = 1
    let p2 = LifParams { beta: 1.7, ..p };
    let (u2, _) = lif_exact(&t2(&[0.25, 0.25, 0.25], 3, 1), &p2);
    assert_eq!(vec(&u2), [0.25, 0.5, 0.75]);
}

#[test]
fn threshold_other_than_one() {
    let p = LifParams {
        threshold: 0.5,
        ..LifParams::new(1.0)
    };
    let (u, s) = lif_exact(&t2(&[0.5, 0.25, 0.0], 3, 1), &p);
    // U: 0.5 (= θ, no spike), 0.75 (spike), 0.75 − 0.5 = 0.25
    assert_eq!(vec(&u), [0.5, 0.75, 0.25]);
    assert_eq!(vec(&s), [0.0, 1.0, 0.0]);
}

/// The surrogate derivative computed by autograd equals its formula (`Surrogate::derivative`).
#[test]
fn surrogate_gradient_matches_formula() {
    let xs = [-2.0f32, -0.7, -0.1, -0.01, 0.0, 0.01, 0.3, 1.0, 4.0];
    for s in [
        Surrogate::Atan { alpha: 2.0 },
        Surrogate::Atan { alpha: 5.0 },
        Surrogate::FastSigmoid { slope: 25.0 },
    ] {
        let x = Tensor::from_slice(&xs).set_requires_grad(true);
        let y = spike_fn(&x, &s);
        // forward value: exactly the Heaviside (x > 0)
        let expect_h: Vec<f32> = xs
            .iter()
            .map(|&v| if v > 0.0 { 1.0 } else { 0.0 })
            .collect();
        assert_eq!(vec(&y), expect_h);
        y.sum(Kind::Float).backward();
        let g = vec(&x.grad());
        for (k, &v) in xs.iter().enumerate() {
            let want = s.derivative(v);
            assert!(
                (g[k] - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{s:?} at x = {v}: autograd {} vs formula {want}",
                g[k]
            );
        }
    }
}

/// Step-by-step BPTT reference: snnTorch's loop with the straight-through spike and the detached
/// reset, built from autograd ops one step at a time.
fn reference_loop(i: &Tensor, p: &LifParams) -> (Tensor, Tensor) {
    let steps = i.size()[0];
    let beta = p.beta_clamped() as f64;
    let theta = p.threshold as f64;
    let mut u = i.get(0).zeros_like();
    let mut s_prev = i.get(0).zeros_like();
    let mut us = Vec::new();
    let mut ss = Vec::new();
    for t in 0..steps {
        u = &u * beta + i.get(t) - s_prev.detach() * theta;
        let s = spike_fn(&(&u - theta), &p.surrogate);
        us.push(u.shallow_clone());
        ss.push(s.shallow_clone());
        s_prev = s;
    }
    (Tensor::stack(&us, 0), Tensor::stack(&ss, 0))
}

/// The fused layer-wise LIF gives the same values and the same gradients as the step-by-step loop.
#[test]
fn fused_lif_equals_step_by_step_bptt() {
    tch::manual_seed(3);
    for s in [
        Surrogate::Atan { alpha: 2.0 },
        Surrogate::FastSigmoid { slope: 25.0 },
    ] {
        let p = LifParams {
            surrogate: s,
            ..LifParams::new(0.9)
        };
        let steps = 25;
        let base =
            (Tensor::rand([steps, 4, 7], (Kind::Float, Device::Cpu)) * 0.8).set_requires_grad(true);
        let weights = Tensor::randn([steps, 4, 7], (Kind::Float, Device::Cpu));
        // reference
        let (u_ref, s_ref) = reference_loop(&base, &p);
        let loss_ref = (&u_ref * &weights).sum(Kind::Float) + (&s_ref * &weights).sum(Kind::Float);
        let g_ref = Tensor::run_backward(&[loss_ref], &[&base], false, false)[0].shallow_clone();
        // fused
        let f = Tensor::from_slice(&leak_filter(steps as usize, 0.9)).reshape([steps, steps]);
        let out = lif_forward(&base, &p, Some(&f));
        assert_eq!(vec(&out.spikes), vec(&s_ref), "spikes differ");
        let du = (&out.membrane - &u_ref).abs().max().double_value(&[]);
        assert!(du <= 1e-5, "membranes differ by {du}");
        let loss =
            (&out.membrane * &weights).sum(Kind::Float) + (&out.spikes * &weights).sum(Kind::Float);
        let g = Tensor::run_backward(&[loss], &[&base], false, false)[0].shallow_clone();
        let dg = (&g - &g_ref).abs().max().double_value(&[]);
        let scale = g_ref.abs().max().double_value(&[]);
        assert!(
            dg <= 1e-4 * scale.max(1.0),
            "gradients differ by {dg} (scale {scale})"
        );
        assert!(scale > 0.0);
    }
}

/// Per-neuron tensors `[n]` (β, θ, v_reset) for `reset`.
fn neurons(beta: &[f32], theta: &[f32], v_reset: &[f32], reset: Reset) -> NeuronTensors {
    NeuronTensors {
        beta: Tensor::from_slice(beta),
        threshold: Tensor::from_slice(theta),
        v_reset: matches!(reset, Reset::To { .. }).then(|| Tensor::from_slice(v_reset)),
        alpha: None,
        reset,
    }
}

/// Reset to zero, to a value and no reset, hand-computed with exact binary fractions; per-neuron
/// β and θ (neuron 0: β = 0.5, θ = 1; neuron 1: β = 0.25, θ = 0.5).
#[test]
fn reset_modes_match_hand_computation() {
    let current = t2(&[1.5, 0.75, 0.5, 0.25, 0.25, 0.5], 3, 2);
    let (beta, theta) = ([0.5, 0.25], [1.0, 0.5]);
    // to 0 (snnTorch "zero"): n0: 1.5 (spike), 0.5·0 + 0.5 = 0.5, 0.25 + 0.25 = 0.5
    //                         n1: 0.75 (spike), 0.25·0 + 0.25 = 0.25, 0.0625 + 0.5 = 0.5625 (spike)
    // to −0.5:  n0: 1.5 (spike), 0.5·(−0.5) + 0.5 = 0.25, 0.125 + 0.25 = 0.375
    //           n1: 0.75 (spike), 0.25·(−0.5) + 0.25 = 0.125, 0.03125 + 0.5 = 0.53125 (spike)
    // none:     n0: 1.5 (spike), 0.75 + 0.5 = 1.25 (spike), 0.625 + 0.25 = 0.875
    //           n1: 0.75 (spike), 0.1875 + 0.25 = 0.4375, 0.109375 + 0.5 = 0.609375 (spike)
    // subtract: n0: 1.5 (spike), 0.75 + 0.5 − 1 = 0.25, 0.125 + 0.25 = 0.375
    //           n1: 0.75 (spike), 0.1875 + 0.25 − 0.5 = −0.0625, −0.015625 + 0.5 = 0.484375
    for (reset, v, u_want, s_want) in [
        (
            Reset::To { v_reset: 0.0 },
            [0.0, 0.0],
            [1.5, 0.75, 0.5, 0.25, 0.5, 0.5625],
            [1.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        ),
        (
            Reset::To { v_reset: -0.5 },
            [-0.5, -0.5],
            [1.5, 0.75, 0.25, 0.125, 0.375, 0.53125],
            [1.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        ),
        (
            Reset::None,
            [0.0, 0.0],
            [1.5, 0.75, 1.25, 0.4375, 0.875, 0.609375],
            [1.0, 1.0, 1.0, 0.0, 0.0, 1.0],
        ),
        (
            Reset::Subtract,
            [0.0, 0.0],
            [1.5, 0.75, 0.25, -0.0625, 0.375, 0.484375],
            [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        ),
    ] {
        let n = neurons(&beta, &theta, &v, reset);
        let (u, s) = lif_exact_neurons(&current, &n);
        assert_eq!(vec(&u), u_want, "{reset:?}");
        assert_eq!(vec(&s), s_want, "{reset:?}");
        let p = LifParams {
            reset,
            per_neuron: true,
            ..LifParams::new(0.5)
        };
        let out = lif_forward_neurons(&current.set_requires_grad(true), &p, &n);
        assert_eq!(vec(&out.membrane), u_want, "{reset:?} (gradient path)");
        assert_eq!(vec(&out.spikes), s_want, "{reset:?} (gradient path)");
    }
}

/// snnTorch's loop for any reset, step by step with autograd: the reset signal is the detached
/// `S[t−1]`; zero/to-value resets multiply the previous membrane by the detached `1 − S[t−1]`.
fn reference_loop_neurons(i: &Tensor, p: &LifParams, n: &NeuronTensors) -> (Tensor, Tensor) {
    let mut u = i.get(0).zeros_like();
    let mut s_prev = i.get(0).zeros_like();
    let (mut us, mut ss) = (Vec::new(), Vec::new());
    for t in 0..i.size()[0] {
        let r = s_prev.detach();
        u = match (p.reset, &n.v_reset) {
            (Reset::Subtract, _) => &n.beta * &u + i.get(t) - &r * &n.threshold,
            (Reset::To { .. }, Some(v)) => {
                let held = &u * (1.0 - &r) + &r * v;
                &n.beta * held + i.get(t)
            }
            _ => &n.beta * &u + i.get(t),
        };
        let s = spike_fn(&(&u - &n.threshold), &p.surrogate);
        us.push(u.shallow_clone());
        ss.push(s.shallow_clone());
        s_prev = s;
    }
    (Tensor::stack(&us, 0), Tensor::stack(&ss, 0))
}

/// Per-neuron β, θ, v_reset and every reset: the layer-wise LIF gives the step-by-step loop's
/// spikes, membranes and gradients.
#[test]
fn per_neuron_lif_equals_step_by_step_bptt() {
    tch::manual_seed(5);
    let (steps, b, k) = (20, 3, 9);
    let opts = (Kind::Float, Device::Cpu);
    let beta = Tensor::rand([k], opts) * 0.5 + 0.5;
    let theta = Tensor::rand([k], opts) + 0.5;
    let v = Tensor::rand([k], opts) - 0.5;
    for reset in [
        Reset::Subtract,
        Reset::To { v_reset: 0.0 },
        Reset::To { v_reset: -0.2 },
        Reset::None,
    ] {
        let n = NeuronTensors {
            beta: beta.shallow_clone(),
            threshold: theta.shallow_clone(),
            v_reset: matches!(reset, Reset::To { .. }).then(|| v.shallow_clone()),
            alpha: None,
            reset,
        };
        let p = LifParams {
            reset,
            per_neuron: true,
            ..LifParams::new(0.9)
        };
        let base = (Tensor::rand([steps, b, k], opts) * 0.9).set_requires_grad(true);
        let weights = Tensor::randn([steps, b, k], opts);
        let (u_ref, s_ref) = reference_loop_neurons(&base, &p, &n);
        let loss_ref = (&u_ref * &weights).sum(Kind::Float) + (&s_ref * &weights).sum(Kind::Float);
        let g_ref = Tensor::run_backward(&[loss_ref], &[&base], false, false)[0].shallow_clone();
        let out = lif_forward_neurons(&base, &p, &n);
        let spikes = vec(&out.spikes);
        assert_eq!(spikes, vec(&s_ref), "{reset:?}: spikes differ");
        let fired = spikes.iter().filter(|&&x| x == 1.0).count();
        assert!(
            fired > 0 && fired < spikes.len(),
            "{reset:?}: {fired} spikes"
        );
        let du = (&out.membrane - &u_ref).abs().max().double_value(&[]);
        assert!(du <= 1e-5, "{reset:?}: membranes differ by {du}");
        let loss =
            (&out.membrane * &weights).sum(Kind::Float) + (&out.spikes * &weights).sum(Kind::Float);
        let g = Tensor::run_backward(&[loss], &[&base], false, false)[0].shallow_clone();
        let dg = (&g - &g_ref).abs().max().double_value(&[]);
        let scale = g_ref.abs().max().double_value(&[]);
        assert!(scale > 0.0);
        assert!(
            dg <= 1e-4 * scale.max(1.0),
            "{reset:?}: gradients differ by {dg} (scale {scale})"
        );
    }
}

/// The strongest check of the reset formulas: snnTorch's own `Leaky` (per-neuron β and θ
/// tensors, `reset_mechanism` subtract / zero / none) on the same input gives the same spikes
/// and membranes as `lif_exact_neurons`. Needs `$JOULEBENCH_PYTHON` with snntorch.
#[test]
fn reset_modes_match_snntorch() {
    let Some(py) =
        joulebench_testkit::python_with("snntorch, torch", joulebench_testkit::SNNTORCH_INSTALLS)
    else {
        return;
    };
    tch::manual_seed(11);
    let (steps, b, k) = (16i64, 2i64, 12i64);
    let opts = (Kind::Float, Device::Cpu);
    let current = Tensor::rand([steps, b, k], opts) * 1.2 - 0.2;
    let beta = Tensor::rand([k], opts) * 0.5 + 0.5;
    let theta = Tensor::rand([k], opts) + 0.5;
    let job = serde_json::json!({
        "shape": [steps, b, k],
        "current": vec(&current),
        "beta": vec(&beta),
        "threshold": vec(&theta),
    });
    let script = r#"
import json, sys, torch, snntorch as snn
job = json.load(open(sys.argv[1]))
cur = torch.tensor(job["current"], dtype=torch.float32).reshape(job["shape"])
beta = torch.tensor(job["beta"], dtype=torch.float32)
theta = torch.tensor(job["threshold"], dtype=torch.float32)
out = {}
for mech in ["subtract", "zero", "none"]:
    lif = snn.Leaky(beta=beta, threshold=theta, reset_mechanism=mech)
    mem = lif.init_leaky()
    us, ss = [], []
    with torch.no_grad():
        for t in range(cur.shape[0]):
            spk, mem = lif(cur[t], mem)
            us.append(mem.clone()); ss.append(spk.clone())
    out[mech] = {"mem": torch.stack(us).flatten().tolist(), "spk": torch.stack(ss).flatten().tolist()}
json.dump(out, open(sys.argv[2], "w"))
"#;
    let got = run_snntorch(&py, script, &job);
    for (mech, reset) in [
        ("subtract", Reset::Subtract),
        ("zero", Reset::To { v_reset: 0.0 }),
        ("none", Reset::None),
    ] {
        let n = NeuronTensors {
            beta: beta.shallow_clone(),
            threshold: theta.shallow_clone(),
            v_reset: matches!(reset, Reset::To { .. }).then(|| Tensor::zeros([k], opts)),
            alpha: None,
            reset,
        };
        let (u, s) = lif_exact_neurons(&current, &n);
        let (mem, spk) = (floats(&got[mech]["mem"]), floats(&got[mech]["spk"]));
        let s = vec(&s);
        assert_eq!(s, spk, "{mech}: spikes differ from snntorch");
        let fired = s.iter().filter(|&&x| x == 1.0).count();
        assert!(fired > 0 && fired < s.len(), "{mech}: {fired} spikes");
        // the same float operations in the same order: equal values (±0 compare equal)
        for (i, (a, b)) in vec(&u).iter().zip(&mem).enumerate() {
            assert!(a == b, "{mech}: membrane {i}: {a} vs snntorch {b}");
        }
    }
}

/// Runs `script` (`python -c script JOB OUT`) with the job as JSON; returns what it wrote to OUT.
fn run_snntorch(py: &std::path::Path, script: &str, job: &serde_json::Value) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let (job_path, out_path) = (dir.path().join("job.json"), dir.path().join("out.json"));
    std::fs::write(&job_path, job.to_string()).unwrap();
    let st = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(&job_path)
        .arg(&out_path)
        .status()
        .unwrap();
    assert!(st.success(), "the snntorch script failed");
    serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap()
}

/// A JSON array of numbers as f32.
fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// Current-based neurons, hand-computed with exact binary fractions: `J = α·J + I`, then the
/// neuron on `J` (reset to zero; neuron 0: α = 0.5, neuron 1: α = 0.25; β = 0.5, θ = 1), and
/// the filter's gradient `∂ΣJ·w/∂I[t] = Σ_{t'≥t} α^(t'−t)·w[t']`.
#[test]
fn synaptic_current_matches_hand_computation() {
    let current = t2(&[1.0, 0.5, 0.5, 0.25, 0.0, 0.5], 3, 2).set_requires_grad(true);
    let alpha = Tensor::from_slice(&[0.5f32, 0.25]);
    // n0: J = 1, 1, 0.5;          U = 1 (= θ, no spike), 0.5 + 1 = 1.5 (spike), 0 + 0.5
    // n1: J = 0.5, 0.375, 0.59375; U = 0.5, 0.25 + 0.375, 0.3125 + 0.59375
    let j = synaptic_current(&current, &alpha);
    assert_eq!(vec(&j), [1.0, 0.5, 1.0, 0.375, 0.5, 0.59375]);
    let n = NeuronTensors {
        alpha: Some(alpha.shallow_clone()),
        ..neurons(
            &[0.5, 0.5],
            &[1.0, 1.0],
            &[0.0, 0.0],
            Reset::To { v_reset: 0.0 },
        )
    };
    let (u, s) = lif_exact_neurons(&j, &n);
    assert_eq!(vec(&u), [1.0, 0.5, 1.5, 0.625, 0.5, 0.90625]);
    assert_eq!(vec(&s), [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    let w = t2(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
    let g = Tensor::run_backward(&[(&j * &w).sum(Kind::Float)], &[&current], false, false)[0]
        .shallow_clone();
    // n0 (α = 0.5): 1 + 0.5·3 + 0.25·5, 3 + 0.5·5, 5; n1 (α = 0.25): 2 + 0.25·4 + 0.0625·6, …
    assert_eq!(vec(&g), [3.75, 3.375, 5.5, 5.5, 5.0, 6.0]);
}

/// snnTorch's own `Synaptic` (per-neuron α, β, θ) on the same input: the synaptic current and
/// the neuron give its spikes and membranes — reset by subtraction and none with its default
/// `reset_delay=True`; reset to zero with `reset_delay=False`, as its NIR importer builds it (it
/// zeroes the membrane right at the spiking step, so membranes are compared where no spike
/// fired; the dynamics that follow are ours). Needs `$JOULEBENCH_PYTHON` with snntorch.
#[test]
fn synaptic_current_matches_snntorch_synaptic() {
    let Some(py) =
        joulebench_testkit::python_with("snntorch, torch", joulebench_testkit::SNNTORCH_INSTALLS)
    else {
        return;
    };
    tch::manual_seed(12);
    let (steps, b, k) = (16i64, 2i64, 12i64);
    let opts = (Kind::Float, Device::Cpu);
    let current = Tensor::rand([steps, b, k], opts) * 0.8 - 0.3;
    let alpha = Tensor::rand([k], opts) * 0.6 + 0.3;
    let beta = Tensor::rand([k], opts) * 0.5 + 0.5;
    let theta = Tensor::rand([k], opts) + 0.5;
    let job = serde_json::json!({
        "shape": [steps, b, k],
        "current": vec(&current),
        "alpha": vec(&alpha),
        "beta": vec(&beta),
        "threshold": vec(&theta),
    });
    let script = r#"
import json, sys, torch, snntorch as snn
job = json.load(open(sys.argv[1]))
cur = torch.tensor(job["current"], dtype=torch.float32).reshape(job["shape"])
f = lambda k: torch.tensor(job[k], dtype=torch.float32)
out = {}
for mech, delay in [("subtract", True), ("zero", False), ("none", True)]:
    lif = snn.Synaptic(alpha=f("alpha"), beta=f("beta"), threshold=f("threshold"),
                       reset_mechanism=mech, reset_delay=delay)
    syn, mem = lif.init_synaptic()
    us, ss = [], []
    with torch.no_grad():
        for t in range(cur.shape[0]):
            spk, syn, mem = lif(cur[t], syn, mem)
            us.append(mem.clone()); ss.append(spk.clone())
    out[mech] = {"mem": torch.stack(us).flatten().tolist(), "spk": torch.stack(ss).flatten().tolist()}
json.dump(out, open(sys.argv[2], "w"))
"#;
    let got = run_snntorch(&py, script, &job);
    let j = synaptic_current(&current, &alpha);
    for (mech, reset) in [
        ("subtract", Reset::Subtract),
        ("zero", Reset::To { v_reset: 0.0 }),
        ("none", Reset::None),
    ] {
        let n = NeuronTensors {
            beta: beta.shallow_clone(),
            threshold: theta.shallow_clone(),
            v_reset: matches!(reset, Reset::To { .. }).then(|| Tensor::zeros([k], opts)),
            alpha: Some(alpha.shallow_clone()),
            reset,
        };
        let (u, s) = lif_exact_neurons(&j, &n);
        let (mem, spk) = (floats(&got[mech]["mem"]), floats(&got[mech]["spk"]));
        let s = vec(&s);
        assert_eq!(s, spk, "{mech}: spikes differ from snntorch's Synaptic");
        let fired = s.iter().filter(|&&x| x == 1.0).count();
        assert!(fired > 0 && fired < s.len(), "{mech}: {fired} spikes");
        for (i, (a, b)) in vec(&u).iter().zip(&mem).enumerate() {
            if s[i] == 1.0 && mech == "zero" {
                assert_eq!(*b, 0.0, "snntorch zeroes a spiking membrane at once");
                continue;
            }
            assert!(a == b, "{mech}: membrane {i}: {a} vs snntorch {b}");
        }
    }
}

/// A convolutional spiking network whose LIF layers have per-neuron β, θ, v_reset and reset to
/// a value: the tch module (`Net`) gives the native and event engines' logits, keeps the
/// vectors as fixed (untrained) variables, and hands them back in its weights.
#[test]
fn per_neuron_network_in_tch_matches_the_engines() {
    per_neuron_network_check(None);
}

/// The same with per-neuron synaptic currents (current-based neurons, `{layer}.alpha`).
#[test]
fn current_based_network_in_tch_matches_the_engines() {
    per_neuron_network_check(Some(0.6));
}

fn per_neuron_network_check(synapse: Option<f32>) {
    use joulebench_inference::{Backend, EventEngine, NativeBackend};
    use joulebench_models::{build_preset, DataShape, Op, PresetOptions, Weights};
    use joulebench_training::net::Net;
    use rand::{Rng, SeedableRng};
    let data = DataShape {
        dataset: "synthetic".into(),
        sample_shape: vec![1, 16, 16],
        num_classes: 10,
        normalize: None,
        ..joulebench_data::DatasetKind::Mnist.data_shape()
    };
    let opts = PresetOptions {
        steps: Some(6),
        ..Default::default()
    };
    let mut spec = build_preset("csnn-temporal", &data, &opts).unwrap();
    for l in spec.layers.iter_mut() {
        if let Op::Lif(p) = &mut l.op {
            p.reset = Reset::To { v_reset: 0.1 };
            p.per_neuron = true;
            p.synapse = synapse;
        }
    }
    spec.validate().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let mut w = Weights::random(&spec, 4);
    for (name, t) in w.tensors.iter_mut() {
        let r = match name.rsplit('.').next() {
            Some("beta") => 0.5..1.0,
            Some("threshold") => 0.5..1.5,
            Some("v_reset") => -0.4..0.4,
            Some("alpha") => 0.3..0.9,
            _ => {
                t.data.iter_mut().for_each(|v| *v *= 3.0);
                continue;
            }
        };
        t.data
            .iter_mut()
            .for_each(|v| *v = rng.random_range(r.clone()));
    }
    let shape = spec.batch_input_shape(3);
    let n: usize = shape.iter().product();
    let x = joulebench_models::Tensor::new(
        shape,
        (0..n)
            .map(|_| if rng.random::<f32>() < 0.3 { 1.0 } else { 0.0 })
            .collect(),
    )
    .unwrap();
    let net = Net::with_weights(&spec, &w, Device::Cpu).unwrap();
    let xt = joulebench_training::weights_io::from_jtensor(&x, Device::Cpu);
    let out = net.forward_full(&xt, true).unwrap();
    let logits = vec(&out.logits);
    let spikes: f64 = out.spike_counts.iter().map(|(_, c)| c).sum();
    assert!(spikes > 0.0, "the network fires");
    let native = NativeBackend::new(&spec, &w, 1).unwrap().clone_run(&x);
    let event = EventEngine::new(&spec, &w, 1).unwrap().clone_run(&x);
    for (what, other) in [("native", native), ("event", event)] {
        let d = logits
            .iter()
            .zip(&other)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(d <= 1e-4, "tch vs {what}: {d}");
    }
    // the vectors are variables without gradient, returned unchanged in the weights
    let trainable: Vec<String> = net
        .vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .map(|(k, _)| k)
        .collect();
    assert!(
        trainable
            .iter()
            .all(|k| !k.ends_with("beta") && !k.ends_with("alpha")),
        "{trainable:?}"
    );
    if synapse.is_some() {
        assert!(w.tensors.keys().any(|k| k.ends_with(".alpha")));
    }
    assert_eq!(net.weights().unwrap(), w);

    trait RunOnce {
        fn clone_run(self, x: &joulebench_models::Tensor) -> Vec<f32>;
    }
    impl<B: Backend> RunOnce for B {
        fn clone_run(mut self, x: &joulebench_models::Tensor) -> Vec<f32> {
            self.run(x).unwrap().data
        }
    }
}
