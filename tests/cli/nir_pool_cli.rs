//! NIR `SumPool2d` / `AvgPool2d`, which `joulebench import` folds into the weighted layer next to
//! them (`models/src/nir/pool.rs`; the engines pool by max only): graphs with average pools run
//! by snnTorch's importer (`torch.nn.AvgPool2d`) give exactly the spike counts every engine
//! computes after the import; sum pools (which snnTorch cannot import) give the same as the
//! equivalent average-pool graph; pools that cannot be folded exactly are refused naming the node
//! and field.

use joulebench_nir::{Conv, NirGraph, NirNode, Padding, Pool, Tensor};

use crate::common::{fails_with, joulebench as jb};
use crate::nir_cli::ground_truth_edited;

/// Conv2d → LIF → AvgPool2d 2×2 → Flatten → Affine → LIF: the pool folded forward into the
/// Affine.
#[test]
fn pooled_net_matches_snntorch() {
    ground_truth_edited("pool", None);
}

/// Odd sizes (each pool drops a row and a column): an AvgPool2d folded backward into the
/// padded Conv2d before it, one folded forward into the Conv2d after it.
#[test]
fn pools_folded_into_convolutions_match_snntorch() {
    ground_truth_edited("pool_conv", None);
}

/// The `pool_conv` graph with both 2×2 AvgPool2d nodes turned into SumPool2d and the layers
/// they fold into scaled by 1/4 — `conv1` before `pool1` (weight and bias), `conv2` after
/// `pool2` (weight) — is the same network, exactly (a power of two), so it must give snnTorch's
/// spike counts for the average-pool graph on every engine.
#[test]
fn sum_pools_import_like_average_pools_with_scaled_weights() {
    let edit = |g: &mut NirGraph| {
        for (conv, with_bias) in [("conv1", true), ("conv2", false)] {
            let Some(NirNode::Conv2d(c)) = g.nodes.get_mut(conv) else {
                panic!("{conv} is a Conv2d");
            };
            c.weight.data.iter_mut().for_each(|x| *x *= 0.25);
            if with_bias {
                c.bias.data.iter_mut().for_each(|x| *x *= 0.25);
            }
        }
        for pool in ["pool1", "pool2"] {
            let Some(NirNode::AvgPool2d(p)) = g.nodes.remove(pool) else {
                panic!("{pool} is an AvgPool2d");
            };
            g.nodes.insert(pool.into(), NirNode::SumPool2d(p));
        }
    };
    ground_truth_edited("pool_conv", Some(&edit));
}

fn tensor(shape: &[usize], x: f32) -> Tensor {
    Tensor {
        shape: shape.to_vec(),
        data: vec![x; shape.iter().product()],
    }
}

/// Conv2d `[out, in, k, k]` (weights 0.3), stride 1.
fn conv(out: usize, inp: usize, k: usize, padding: usize) -> NirNode {
    NirNode::Conv2d(Conv {
        weight: tensor(&[out, inp, k, k], 0.3),
        bias: tensor(&[out], 0.0),
        stride: vec![1, 1],
        padding: Padding::Explicit(vec![padding, padding]),
        dilation: vec![1, 1],
        groups: 1,
        input_shape: None,
    })
}

/// An LIF with input gain 1 (τ = 1 ms, r = τ/dt at dt = 0.1 ms).
fn lif(shape: &[usize]) -> NirNode {
    NirNode::Lif {
        tau: tensor(shape, 1e-3),
        r: tensor(shape, 10.0),
        v_leak: tensor(shape, 0.0),
        v_threshold: tensor(shape, 1.0),
        v_reset: tensor(shape, 0.0),
    }
}

fn pool(sum: bool, k: usize, stride: usize, padding: usize) -> NirNode {
    let p = Pool {
        kernel_size: vec![k, k],
        stride: vec![stride, stride],
        padding: vec![padding, padding],
    };
    if sum {
        NirNode::SumPool2d(p)
    } else {
        NirNode::AvgPool2d(p)
    }
}

fn chain(input: &[usize], nodes: Vec<(&str, NirNode)>, output: &[usize]) -> NirGraph {
    let mut all = vec![(
        "input",
        NirNode::Input {
            shape: input.to_vec(),
        },
    )];
    all.extend(nodes);
    all.push((
        "output",
        NirNode::Output {
            shape: output.to_vec(),
        },
    ));
    let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    NirGraph {
        edges: names
            .windows(2)
            .map(|w| (w[0].to_string(), w[1].to_string()))
            .collect(),
        nodes: all
            .into_iter()
            .map(|(n, node)| (n.to_string(), node))
            .collect(),
    }
}

#[test]
fn pools_that_cannot_be_folded_get_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let import = |name: &str, graph: &NirGraph| {
        let file = d.join(format!("{name}.nir"));
        joulebench_nir::write(&file, graph).unwrap();
        let out = d.join(name);
        let args = [
            "import".to_string(),
            file.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ];
        (args, out)
    };
    let refused = |name: &str, graph: NirGraph, wants: &[&str]| {
        let (args, out) = import(name, &graph);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let file = format!("{name}.nir");
        fails_with(&args, &[&[file.as_str()], wants].concat());
        assert!(!out.exists(), "{name}: nothing written for a refused graph");
    };
    // a pool of the last neuron's spikes, right before the Output: nothing to fold it into
    refused(
        "before_output",
        chain(
            &[1, 4, 4],
            vec![
                ("conv", conv(2, 1, 3, 1)),
                ("lif", lif(&[2, 4, 4])),
                ("pool", pool(true, 2, 2, 0)),
            ],
            &[2, 2, 2],
        ),
        &["node 'pool'", "'output' (Output)"],
    );
    // padding
    refused(
        "padded",
        chain(
            &[1, 4, 4],
            vec![("pool", pool(false, 2, 2, 1)), ("conv", conv(1, 1, 3, 0))],
            &[1, 1, 1],
        ),
        &["node 'pool'", "field 'padding'"],
    );
    // 5 rows pool to 2 (row 4 dropped); the padded conv after it would read row 4 folded
    refused(
        "drops",
        chain(
            &[1, 5, 5],
            vec![
                ("pool", pool(false, 2, 2, 0)),
                ("conv", conv(1, 1, 3, 1)),
                ("lif", lif(&[1, 2, 2])),
            ],
            &[1, 2, 2],
        ),
        &["node 'conv'", "field 'padding'", "drops 1 of the 5 rows"],
    );
    // overlapping windows right after a convolution
    refused(
        "overlapping",
        chain(
            &[1, 6, 6],
            vec![
                ("conv", conv(2, 1, 3, 0)),
                ("pool", pool(true, 2, 1, 0)),
                ("lif", lif(&[2, 3, 3])),
            ],
            &[2, 3, 3],
        ),
        &["node 'pool'", "field 'stride'"],
    );
    // without the padding, the same as "drops" folds, and the import says what it folded
    let (args, _) = import(
        "folds",
        &chain(
            &[1, 5, 5],
            vec![
                ("pool", pool(true, 2, 2, 0)),
                ("conv", conv(1, 1, 2, 0)),
                ("lif", lif(&[1, 1, 1])),
                (
                    "flat",
                    NirNode::Flatten {
                        start_dim: 0,
                        end_dim: -1,
                        input_type: None,
                    },
                ),
            ],
            &[1],
        ),
    );
    let o = jb(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.contains("note: pool: SumPool2d 2×2 (stride 2×2) folded into 'conv' after it (kernel 2 → 4, stride 1 → 2, padding 0 → 0;")
            && text.contains("operation counts are those of the folded layer"),
        "{text}"
    );
}
