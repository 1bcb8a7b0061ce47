//! Each NIR neuron node becomes the LIF layer its discretization says (`models/src/nir/mod.rs`):
//! IF (β = 1, reset to v_reset, input gain r·dt folded into the weights), Threshold (β = 0, no
//! reset), LI (β = 1 − dt/τ, never fires, membrane readout), with the fold noted.

use joulebench_models::nir::{import, ImportOptions};
use joulebench_models::{Op, Readout, Reset};
use joulebench_nir::{NirGraph, NirNode, Tensor};

fn affine(out: usize, inp: usize, w: f32) -> NirNode {
    NirNode::Affine {
        weight: Tensor {
            shape: vec![out, inp],
            data: vec![w; out * inp],
        },
        bias: Tensor::vector(vec![0.0; out]),
    }
}

#[test]
fn if_threshold_and_li_nodes_become_their_lif_layers() {
    let dt = 1e-4f64;
    let v = |n: usize, x: f32| Tensor::vector(vec![x; n]);
    let nodes = [
        ("input", NirNode::Input { shape: vec![2] }),
        ("fc1", affine(3, 2, 0.25)),
        (
            "if1",
            NirNode::If {
                r: v(3, (2.0 / dt) as f32),
                v_threshold: v(3, 0.5),
                v_reset: v(3, 0.125),
            },
        ),
        ("fc2", affine(3, 3, 0.5)),
        (
            "thr",
            NirNode::Threshold {
                threshold: v(3, 0.25),
            },
        ),
        ("fc3", affine(2, 3, 0.5)),
        (
            "li",
            NirNode::Li {
                tau: v(2, 1e-3),
                r: v(2, 10.0),
                v_leak: v(2, 0.0),
            },
        ),
        ("output", NirNode::Output { shape: vec![2] }),
    ];
    let names: Vec<&str> = nodes.iter().map(|(n, _)| *n).collect();
    let graph = NirGraph {
        nodes: nodes
            .into_iter()
            .map(|(n, node)| (n.to_string(), node))
            .collect(),
        edges: names
            .windows(2)
            .map(|w| (w[0].to_string(), w[1].to_string()))
            .collect(),
    };
    let im = import(&graph, "test.nir", &ImportOptions { dt, steps: 5 }).unwrap();
    let lifs: Vec<_> = im
        .spec
        .layers
        .iter()
        .filter_map(|l| match l.op {
            Op::Lif(p) => Some((l.name.clone(), p)),
            _ => None,
        })
        .collect();
    assert_eq!(lifs.len(), 3, "{:?}", im.spec.layers);
    let (_, p_if) = lifs[0];
    assert_eq!((p_if.beta, p_if.threshold), (1.0, 0.5));
    assert_eq!(p_if.reset, Reset::To { v_reset: 0.125 });
    let (_, p_thr) = lifs[1];
    assert_eq!(
        (p_thr.beta, p_thr.threshold, p_thr.reset),
        (0.0, 0.25, Reset::None)
    );
    let (_, p_li) = lifs[2];
    assert_eq!(
        (p_li.beta, p_li.threshold, p_li.reset),
        (0.9, f32::MAX, Reset::None)
    );
    assert!(lifs
        .iter()
        .all(|(_, p)| p.synapse.is_none() && !p.per_neuron));
    assert_eq!(im.spec.readout, Readout::MembraneMean);
    // IF's gain r·dt = 2 folded into fc1; LI's r·dt/τ = 1 and Threshold's 1 fold nothing
    let w = |name: &str| {
        im.weights
            .get(&format!("{name}.weight"))
            .unwrap()
            .data
            .clone()
    };
    assert!(
        w("fc1").iter().all(|&x| (x - 0.5).abs() < 1e-6),
        "{:?}",
        w("fc1")
    );
    assert_eq!(w("fc2"), vec![0.5; 9]);
    assert_eq!(w("fc3"), vec![0.5; 6]);
    assert_eq!(im.notes.len(), 1, "{:?}", im.notes);
    assert!(
        im.notes[0].contains("if1: input gain r·dt folded into"),
        "{:?}",
        im.notes
    );
}
