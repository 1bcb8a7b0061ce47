//! Bad input gives one clear error naming the file, node and field (never a panic): files that
//! are not HDF5, truncated or corrupted files, unknown node types, nested graphs, missing,
//! non-finite or non-positive parameters, per-neuron vectors of the wrong length, edges to
//! missing nodes, shapes that disagree, cycles; and the chain view names a branching node.
//!
//! `tests/fixtures/lif_chain.nir` was written by the `nir` package (`python tests/nir_py.py
//! small tests/fixtures/lif_chain.nir`): Input(3) → Affine(4×3) → LIF(4) → Output(4), gzip.

use std::collections::BTreeMap;
use std::path::Path;

use joulebench_nir::hdf5::{self, Dataset, Object, Value};
use joulebench_nir::{output_shape, Conv, NirError, NirGraph, NirNode, Padding, Pool, Tensor};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lif_chain.nir");

fn fixture_tree() -> BTreeMap<String, Object> {
    let bytes = std::fs::read(FIXTURE).unwrap();
    match hdf5::read(Path::new(FIXTURE), &bytes).unwrap() {
        Object::Group(g) => g,
        _ => panic!("root is a group"),
    }
}

/// The group of node `name` inside a NIR tree.
fn node_mut<'a>(
    tree: &'a mut BTreeMap<String, Object>,
    name: &str,
) -> &'a mut BTreeMap<String, Object> {
    let Some(Object::Group(g)) = tree.get_mut("node") else {
        panic!()
    };
    let Some(Object::Group(nodes)) = g.get_mut("nodes") else {
        panic!()
    };
    let Some(Object::Group(n)) = nodes.get_mut(name) else {
        panic!("no node {name}")
    };
    n
}

/// Writes `tree` as `dir/name` and reads it as a NIR file: the error message.
fn read_err(tree: &BTreeMap<String, Object>, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, hdf5::write(tree).unwrap()).unwrap();
    let e = joulebench_nir::read(&path)
        .expect_err("refused")
        .to_string();
    assert!(
        e.starts_with(&format!("{}: ", path.display())),
        "names the file: {e}"
    );
    e
}

/// Input(n_in) → fc: Affine(n × n_in) → lif: LIF(n) → output: Output(n).
fn lif_chain(n_in: usize, n: usize) -> NirGraph {
    let mut nodes = BTreeMap::new();
    nodes.insert("input".into(), NirNode::Input { shape: vec![n_in] });
    nodes.insert(
        "fc".into(),
        NirNode::Affine {
            weight: Tensor {
                shape: vec![n, n_in],
                data: (0..n * n_in).map(|i| i as f32 * 0.1).collect(),
            },
            bias: Tensor::full(&[n], 0.5),
        },
    );
    nodes.insert(
        "lif".into(),
        NirNode::Lif {
            tau: Tensor::vector((0..n).map(|i| 0.01 + 0.001 * i as f32).collect()),
            r: Tensor::full(&[n], 1.0),
            v_leak: Tensor::full(&[n], 0.0),
            v_threshold: Tensor::full(&[n], 1.0),
            v_reset: Tensor::full(&[n], 0.0),
        },
    );
    nodes.insert("output".into(), NirNode::Output { shape: vec![n] });
    let edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec();
    NirGraph { nodes, edges }
}

fn lif_field<'a>(g: &'a mut NirGraph, field: &str) -> &'a mut Tensor {
    let Some(NirNode::Lif {
        tau,
        r,
        v_threshold,
        ..
    }) = g.nodes.get_mut("lif")
    else {
        panic!()
    };
    match field {
        "tau" => tau,
        "r" => r,
        _ => v_threshold,
    }
}

fn invalid(g: &NirGraph) -> String {
    g.validate().expect_err("invalid").to_string()
}

#[test]
fn the_fixture_reads() {
    let g = joulebench_nir::read(Path::new(FIXTURE)).unwrap();
    let chain: Vec<&str> = g.chain().unwrap().iter().map(|c| c.0).collect();
    assert_eq!(chain, ["input", "affine", "lif", "output"]);
    assert!(lif_chain(3, 4).validate().is_ok());
}

#[test]
fn not_hdf5_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.nir");
    std::fs::write(&p, "just some text, not HDF5\n").unwrap();
    let e = joulebench_nir::read(&p).unwrap_err();
    assert!(matches!(e, NirError::NotHdf5 { .. }));
    assert_eq!(e.to_string(), format!("{}: not an HDF5 file (no HDF5 signature at offset 0, 512, 1024, …): a .nir file is HDF5, as written by the `nir` Python package", p.display()));
    let missing = dir.path().join("absent.nir");
    let e = joulebench_nir::read(&missing).unwrap_err().to_string();
    assert!(e.starts_with(&missing.display().to_string()), "{e}");
    // an HDF5 file without a NIR graph
    let mut tree = BTreeMap::new();
    tree.insert(
        "x".to_string(),
        Object::Dataset(Dataset {
            shape: vec![1],
            value: Value::Int(vec![1]),
        }),
    );
    assert!(read_err(&tree, dir.path(), "plain.h5").contains("no 'node' group at the HDF5 root"));
}

#[test]
fn truncated_and_corrupted_files_are_refused_without_panic() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let path = Path::new("cut.nir");
    let mut refused = 0;
    for len in (0..bytes.len()).step_by(61) {
        if let Err(e) = joulebench_nir::read_bytes(path, &bytes[..len]) {
            assert!(e.to_string().starts_with("cut.nir: "), "{e}");
            refused += 1;
        }
    }
    assert!(refused > 100, "most truncations are refused ({refused})");
    // every byte of the metadata region set to 0xff in turn (sizes, addresses, versions)
    let mut flipped = 0;
    for i in (0..4096.min(bytes.len())).step_by(3) {
        let mut b = bytes.clone();
        b[i] ^= 0xff;
        match joulebench_nir::read_bytes(path, &b) {
            Err(e) => {
                assert!(e.to_string().starts_with("cut.nir: "), "{e}");
                flipped += 1;
            }
            Ok(g) => assert!(g.validate().is_ok()),
        }
    }
    assert!(flipped > 50, "{flipped}");
}

#[test]
fn a_hostile_dataset_size_is_refused_before_allocating() {
    // a dataspace claiming 2^40 floats in a 1 KB file
    let mut tree = BTreeMap::new();
    tree.insert(
        "x".to_string(),
        Object::Dataset(Dataset {
            shape: vec![4],
            value: Value::F32(vec![1.0; 4]),
        }),
    );
    let mut bytes = hdf5::write(&tree).unwrap();
    // the dataspace message of the only dataset: version 1, rank 1, then the dimension (8 bytes)
    let at = bytes
        .windows(8)
        .position(|w| w == [1, 1, 0, 0, 0, 0, 0, 0])
        .expect("dataspace message");
    bytes[at + 8..at + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let e = hdf5::read(Path::new("huge.nir"), &bytes)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("huge.nir: HDF5 ") && e.contains("larger than the file can hold"),
        "{e}"
    );
}

#[test]
fn unknown_and_nested_node_types_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut tree = fixture_tree();
    node_mut(&mut tree, "lif").insert(
        "type".into(),
        Object::Dataset(Dataset {
            shape: vec![],
            value: Value::Str(vec!["Delay".into()]),
        }),
    );
    let e = read_err(&tree, dir.path(), "delay.nir");
    assert!(
        e.ends_with("node 'lif', field 'type': unknown node type 'Delay' (supported: Input, Output, Affine, Linear, Scale, Flatten, Conv1d, Conv2d, SumPool2d, AvgPool2d, LIF, IF, LI, CubaLIF, CubaLI, Threshold)"),
        "{e}"
    );
    node_mut(&mut tree, "lif").insert(
        "type".into(),
        Object::Dataset(Dataset {
            shape: vec![],
            value: Value::Str(vec!["NIRGraph".into()]),
        }),
    );
    let e = read_err(&tree, dir.path(), "nested.nir");
    assert!(
        e.contains("node 'lif': is a nested NIRGraph (subgraph): not supported"),
        "{e}"
    );
}

#[test]
fn missing_and_non_finite_parameters_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut tree = fixture_tree();
    node_mut(&mut tree, "lif").remove("tau");
    let e = read_err(&tree, dir.path(), "no_tau.nir");
    assert!(e.ends_with("node 'lif', field 'tau': missing"), "{e}");

    let mut tree = fixture_tree();
    node_mut(&mut tree, "affine").insert(
        "bias".into(),
        Object::Dataset(Dataset {
            shape: vec![4],
            value: Value::F64(vec![0.0, f64::NAN, 0.0, 0.0]),
        }),
    );
    let e = read_err(&tree, dir.path(), "nan.nir");
    assert!(
        e.ends_with("node 'affine', field 'bias': value 1 is NaN (parameters must be finite)"),
        "{e}"
    );

    let mut g = lif_chain(3, 4);
    lif_field(&mut g, "v_threshold").data[2] = f32::INFINITY;
    assert_eq!(
        invalid(&g),
        "NIR graph: node 'lif', field 'v_threshold': value 2 is inf (parameters must be finite)"
    );
    // a float64 value beyond f32's range becomes inf, and is refused
    let mut tree = fixture_tree();
    node_mut(&mut tree, "lif").insert(
        "r".into(),
        Object::Dataset(Dataset {
            shape: vec![4],
            value: Value::F64(vec![1.0, 1.0, 1e300, 1.0]),
        }),
    );
    assert!(read_err(&tree, dir.path(), "big.nir")
        .ends_with("node 'lif', field 'r': value 2 is inf (parameters must be finite)"));
}

#[test]
fn time_constants_must_be_positive() {
    let mut g = lif_chain(3, 4);
    lif_field(&mut g, "tau").data[3] = 0.0;
    assert_eq!(
        invalid(&g),
        "NIR graph: node 'lif', field 'tau': value 3 is 0: a time constant must be > 0"
    );
    lif_field(&mut g, "tau").data[3] = -0.01;
    assert!(invalid(&g).ends_with("value 3 is -0.01: a time constant must be > 0"));
    let n = 4;
    g.nodes.insert(
        "lif".into(),
        NirNode::CubaLif {
            tau_syn: Tensor::full(&[n], -1.0),
            tau_mem: Tensor::full(&[n], 0.02),
            r: Tensor::full(&[n], 1.0),
            v_leak: Tensor::full(&[n], 0.0),
            v_threshold: Tensor::full(&[n], 1.0),
            v_reset: Tensor::full(&[n], 0.0),
            w_in: Tensor::full(&[n], 1.0),
        },
    );
    assert!(invalid(&g).starts_with("NIR graph: node 'lif', field 'tau_syn': value 0 is -1"));
}

#[test]
fn neuron_vectors_must_match_each_other_and_the_input() {
    let mut g = lif_chain(3, 4);
    *lif_field(&mut g, "r") = Tensor::full(&[3], 1.0);
    assert_eq!(invalid(&g), "NIR graph: node 'lif', field 'r': has shape [3] (3 neurons) but 'tau' has shape [4] (4 neurons)");
    // all of LIF's vectors of 5 neurons, fed by an Affine with 4 outputs
    let mut g = lif_chain(3, 4);
    let Some(NirNode::Lif {
        tau,
        r,
        v_leak,
        v_threshold,
        v_reset,
    }) = g.nodes.get_mut("lif")
    else {
        panic!()
    };
    for t in [tau, r, v_leak, v_threshold, v_reset] {
        *t = Tensor::full(&[5], 0.5);
    }
    assert_eq!(
        invalid(&g),
        "NIR graph: node 'lif', field 'tau': has shape [5] (5 values) but the node receives shape [4] (4 values): one value per neuron is needed; its input shape is [4] (from 'fc')"
    );
}

#[test]
fn edges_must_name_nodes_and_agree_on_shapes() {
    let mut g = lif_chain(3, 4);
    g.edges.push(("lif".into(), "ghost".into()));
    assert_eq!(invalid(&g), "NIR graph: field 'edges': edge 'lif' → 'ghost' names node 'ghost', which the graph does not have");

    let mut g = lif_chain(3, 4);
    g.nodes
        .insert("input".into(), NirNode::Input { shape: vec![7] });
    assert_eq!(
        invalid(&g),
        "NIR graph: node 'fc', field 'weight': has shape [4, 3] (takes 3 inputs) but the node receives shape [7]; its input shape is [7] (from 'input')"
    );
    let mut g = lif_chain(3, 4);
    g.nodes
        .insert("output".into(), NirNode::Output { shape: vec![2, 2] });
    assert!(invalid(&g).ends_with("node 'output', field 'shape': declares shape [2, 2] but receives [4]; its input shape is [4] (from 'lif')"));
    let mut g = lif_chain(3, 4);
    g.nodes.insert(
        "stray".into(),
        NirNode::Scale {
            scale: Tensor::full(&[4], 2.0),
        },
    );
    assert_eq!(
        invalid(&g),
        "NIR graph: node 'stray': has no incoming edge (only Input nodes may)"
    );
}

#[test]
fn cycles_are_refused_naming_their_nodes() {
    let mut g = lif_chain(4, 4);
    g.edges.push(("lif".into(), "fc".into()));
    assert_eq!(
        invalid(&g),
        "NIR graph: the graph has a cycle (fc → lif → fc): recurrent NIR graphs are not supported"
    );
    assert!(g.topological_order().is_err() && g.chain().is_err());
    // the same from a file
    let dir = tempfile::tempdir().unwrap();
    let mut tree = fixture_tree();
    let Some(Object::Group(node)) = tree.get_mut("node") else {
        panic!()
    };
    let Some(Object::Dataset(Dataset {
        shape,
        value: Value::Str(e),
    })) = node.get_mut("edges")
    else {
        panic!()
    };
    e.extend(["lif".to_string(), "lif".to_string()]);
    shape[0] += 1;
    assert!(read_err(&tree, dir.path(), "self.nir")
        .ends_with("the graph has a cycle (lif → lif): recurrent NIR graphs are not supported"));
}

#[test]
fn chain_names_the_branching_node() {
    let mut g = lif_chain(3, 4);
    g.nodes
        .insert("probe".into(), NirNode::Output { shape: vec![4] });
    g.edges.push(("fc".into(), "probe".into()));
    assert!(
        g.validate().is_ok(),
        "a branching graph is a valid NIR graph"
    );
    assert_eq!(
        g.chain().unwrap_err().to_string(),
        "NIR graph: node 'fc': branches to 2 nodes (lif, probe): only a single chain Input → … → Output can be imported"
    );
    let order = g.topological_order().unwrap();
    let pos = |n: &str| order.iter().position(|&x| x == n).unwrap();
    for (a, b) in &g.edges {
        assert!(pos(a) < pos(b), "{a} before {b}");
    }
}

#[test]
fn write_refuses_an_invalid_graph_and_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("net.nir");
    let mut g = lif_chain(3, 4);
    joulebench_nir::write(&p, &g).unwrap();
    assert_eq!(joulebench_nir::read(&p).unwrap(), g);
    let before = std::fs::read(&p).unwrap();
    lif_field(&mut g, "tau").data[0] = f32::NAN;
    let e = joulebench_nir::write(&p, &g).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: node 'lif', field 'tau': value 0 is NaN (parameters must be finite)",
            p.display()
        )
    );
    assert_eq!(std::fs::read(&p).unwrap(), before, "the old file is intact");
    lif_field(&mut g, "tau").data[0] = 0.5;
    joulebench_nir::write(&p, &g).unwrap();
    assert_eq!(joulebench_nir::read(&p).unwrap(), g);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

fn conv(weight: &[usize], stride: usize, padding: Padding, dilation: usize, groups: usize) -> Conv {
    let dims = weight.len() - 2;
    Conv {
        weight: Tensor::full(weight, 0.1),
        bias: Tensor::full(&[weight[0]], 0.0),
        stride: vec![stride; dims],
        padding,
        dilation: vec![dilation; dims],
        groups,
        input_shape: None,
    }
}

#[test]
fn output_shapes_follow_pytorch() {
    let c = |w: &[usize], s, p: usize, d, g, input: &[usize]| {
        let node = if w.len() == 3 {
            NirNode::Conv1d(conv(w, s, Padding::Explicit(vec![p]), d, g))
        } else {
            NirNode::Conv2d(conv(w, s, Padding::Explicit(vec![p; 2]), d, g))
        };
        output_shape(&node, input)
    };
    // LeNet's first layer: 28 − 5 + 1 = 24
    assert_eq!(
        c(&[6, 1, 5, 5], 1, 0, 1, 1, &[1, 28, 28]).unwrap(),
        vec![6, 24, 24]
    );
    // ⌊(8 + 2 − 2 − 1)/2⌋ + 1 = 4
    assert_eq!(
        c(&[4, 2, 3, 3], 2, 1, 1, 1, &[2, 8, 8]).unwrap(),
        vec![4, 4, 4]
    );
    // dilation 2: 10 − 2·2 = 6; groups 2: 4 input channels, weight takes 2 each
    assert_eq!(c(&[4, 2, 3], 1, 0, 2, 2, &[4, 10]).unwrap(), vec![4, 6]);
    assert!(c(&[4, 2, 3], 1, 0, 2, 1, &[4, 10])
        .unwrap_err()
        .1
        .contains("the input has 4 channels"));
    assert!(c(&[4, 2, 5, 5], 1, 0, 1, 1, &[2, 3, 3])
        .unwrap_err()
        .1
        .contains("does not fit"));
    let same = NirNode::Conv1d(conv(&[3, 2, 5], 1, Padding::Same, 1, 1));
    assert_eq!(output_shape(&same, &[2, 9]).unwrap(), vec![3, 9]);
    let valid = NirNode::Conv2d(conv(&[3, 2, 3, 3], 1, Padding::Valid, 1, 1));
    assert_eq!(output_shape(&valid, &[2, 9, 7]).unwrap(), vec![3, 7, 5]);
    let pool = NirNode::SumPool2d(Pool {
        kernel_size: vec![2, 3],
        stride: vec![2, 3],
        padding: vec![0, 0],
    });
    assert_eq!(output_shape(&pool, &[5, 8, 9]).unwrap(), vec![5, 4, 3]);
    let flat = |s, e| NirNode::Flatten {
        start_dim: s,
        end_dim: e,
        input_type: None,
    };
    assert_eq!(output_shape(&flat(0, -1), &[4, 4, 4]).unwrap(), vec![64]);
    assert_eq!(output_shape(&flat(1, -1), &[4, 4, 4]).unwrap(), vec![4, 16]);
    assert_eq!(output_shape(&flat(0, 1), &[2, 3, 5]).unwrap(), vec![6, 5]);
    assert!(output_shape(&flat(2, 0), &[2, 3, 5]).is_err());
    let lin = NirNode::Linear {
        weight: Tensor::full(&[3, 5], 1.0),
    };
    assert_eq!(output_shape(&lin, &[5]).unwrap(), vec![3]);
}
