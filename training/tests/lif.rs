//! LIF dynamics and surrogate gradients against hand computation and a step-by-step reference.

use joulebench_models::{LifParams, Surrogate};
use joulebench_training::lif::{leak_filter, lif_exact, lif_forward, spike_fn};
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
        beta: 0.5,
        threshold: 1.0,
        surrogate: Surrogate::default(),
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
        beta: 1.0,
        threshold: 0.5,
        surrogate: Surrogate::default(),
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
            beta: 0.9,
            threshold: 1.0,
            surrogate: s,
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
