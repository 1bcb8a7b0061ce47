//! Interoperability with the reference implementation, the `nir` Python package (installed into
//! the project's venv by the test when missing): files it writes read back with the values it
//! holds, and files we write read in Python (`nir.read`, with its type checks) with the values
//! we hold. The graphs (`tests/nir_py.py gen`) cover every node type joulebench-nir supports,
//! per-neuron parameter vectors, float64 parameters, multi-chunk gzip datasets and files
//! without `v_reset`/`w_in` (nir < 1.0).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use joulebench_nir::hdf5::{Object, Value};
use joulebench_nir::{NirGraph, NirNode};
use serde_json::Value as Json;

const HELPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/nir_py.py");

/// The venv's Python with `nir` importable (pip-installs it once when missing), or a skip.
fn python_with_nir() -> Option<PathBuf> {
    joulebench_testkit::python_with("nir, h5py", &[&["nir"]])
}

fn run_json(py: &Path, args: &[&str]) -> Json {
    let out = Command::new(py)
        .arg(HELPER)
        .args(args)
        .output()
        .expect("runs python");
    assert!(
        out.status.success(),
        "nir_py.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from nir_py.py")
}

/// Generates the Python-written files in `dir`; returns Python's view of each.
fn generate(py: &Path, dir: &Path, seed: u64) -> BTreeMap<String, Json> {
    let v = run_json(py, &["gen", dir.to_str().unwrap(), &seed.to_string()]);
    let files: BTreeMap<String, Json> = v.as_object().unwrap().clone().into_iter().collect();
    assert_eq!(files.len(), 6, "files: {:?}", files.keys());
    files
}

/// Asserts `g` holds what the dump holds: same nodes, edges, fields, shapes, and values equal
/// at f32 precision (float64 files are narrowed to f32).
fn assert_same(g: &NirGraph, dump: &Json, what: &str) {
    let nodes = dump["nodes"].as_object().unwrap();
    let ours: BTreeSet<&str> = g.nodes.keys().map(String::as_str).collect();
    let theirs: BTreeSet<&str> = nodes.keys().map(String::as_str).collect();
    assert_eq!(ours, theirs, "{what}: node names");
    let mut edges: Vec<(String, String)> = dump["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e[0].as_str().unwrap().to_string(),
                e[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut our_edges = g.edges.clone();
    edges.sort();
    our_edges.sort();
    assert_eq!(our_edges, edges, "{what}: edges");
    for (name, node) in &g.nodes {
        let py = nodes[name].as_object().unwrap();
        let fields = node.fields();
        let a: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
        let b: BTreeSet<&str> = py.keys().map(String::as_str).collect();
        assert_eq!(a, b, "{what}: fields of node '{name}'");
        for (field, obj) in &fields {
            let at = format!("{what}: node '{name}', field '{field}'");
            let Object::Dataset(d) = obj else {
                panic!("{at}: a group")
            };
            let values: Vec<f64> = match &d.value {
                Value::Str(s) => {
                    assert_eq!(py[field].as_str(), Some(s[0].as_str()), "{at}");
                    continue;
                }
                Value::F32(v) => v.iter().map(|&x| x as f64).collect(),
                Value::F64(v) => v.clone(),
                Value::Int(v) => v.iter().map(|&x| x as f64).collect(),
            };
            let shape: Vec<usize> = py[field]["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(d.shape, shape, "{at}: shape");
            let data: Vec<f64> = py[field]["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            assert_eq!(values.len(), data.len(), "{at}: length");
            for (i, (x, y)) in values.iter().zip(&data).enumerate() {
                assert_eq!(*x as f32, *y as f32, "{at}: value {i}");
            }
        }
    }
}

#[test]
fn reads_every_node_type_as_python_wrote_it() {
    let Some(py) = python_with_nir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = generate(&py, dir.path(), 11);
    let mut types = BTreeSet::new();
    for (file, dump) in &files {
        let g = joulebench_nir::read(&dir.path().join(file)).unwrap_or_else(|e| panic!("{e}"));
        assert_same(&g, dump, file);
        types.extend(g.nodes.values().map(|n| n.type_name()));
    }
    let all: BTreeSet<&str> = joulebench_nir::SUPPORTED_TYPES.iter().copied().collect();
    assert_eq!(
        types, all,
        "the generated files cover every supported node type"
    );

    // per-neuron vectors really differ per neuron (not one broadcast value)
    let g = joulebench_nir::read(&dir.path().join("conv2d.nir")).unwrap();
    let NirNode::Lif { tau, .. } = &g.nodes["lif1"] else {
        panic!("lif1 is a LIF")
    };
    assert_eq!(tau.shape, vec![4, 8, 8]);
    assert!(
        tau.data
            .iter()
            .map(|x| x.to_bits())
            .collect::<BTreeSet<_>>()
            .len()
            > 200,
        "distinct τ per neuron"
    );
    // nir < 1.0 files: v_reset defaults to 0, w_in to 1
    let g = joulebench_nir::read(&dir.path().join("old.nir")).unwrap();
    let NirNode::Lif { v_reset, .. } = &g.nodes["lif"] else {
        panic!()
    };
    assert!(v_reset.data.iter().all(|&v| v == 0.0) && v_reset.shape == vec![4]);
    let NirNode::CubaLif { w_in, .. } = &g.nodes["cubalif"] else {
        panic!()
    };
    assert!(w_in.data.iter().all(|&v| v == 1.0) && w_in.shape == vec![4]);
    // the big weight was stored in several gzip chunks
    let out = Command::new(&py)
        .args(["-c", "import h5py,sys; d=h5py.File(sys.argv[1])['node/nodes/affine/weight']; print(d.compression, d.chunks != d.shape)"])
        .arg(dir.path().join("big.nir"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "gzip True");
}

#[test]
fn python_reads_what_we_write_and_so_do_we() {
    let Some(py) = python_with_nir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = generate(&py, dir.path(), 12);
    let out = dir.path().join("ours");
    let mut written = Vec::new();
    let mut graphs = BTreeMap::new();
    for file in files.keys() {
        let g = joulebench_nir::read(&dir.path().join(file)).unwrap();
        let path = out.join(file);
        joulebench_nir::write(&path, &g).unwrap();
        // our read of our write is the graph we wrote
        assert_eq!(joulebench_nir::read(&path).unwrap(), g, "{file}");
        written.push(path.to_str().unwrap().to_string());
        graphs.insert(file.clone(), g);
    }
    // no temporary file left behind by the atomic writes
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".nir") && !n.starts_with('.')),
        "{names:?}"
    );
    let mut args = vec!["dump"];
    args.extend(written.iter().map(String::as_str));
    let dumps = run_json(&py, &args);
    for (file, g) in &graphs {
        let key = out.join(file);
        let dump = &dumps[key.to_str().unwrap()];
        // what Python reads from our file is what we hold, and what Python originally wrote
        assert_same(g, dump, &format!("python's read of our {file}"));
        assert_same(g, &files[file], &format!("python's original {file}"));
    }
}

#[test]
fn reads_h5py_newest_format() {
    let Some(py) = python_with_nir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lif_chain.nir");
    let out = dir.path().join("latest.nir");
    let st = Command::new(&py)
        .arg(HELPER)
        .args(["latest", fixture, out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes[8], 3, "superblock version 3");
    let ours = joulebench_nir::read(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours, joulebench_nir::read(Path::new(fixture)).unwrap());
}

#[test]
fn a_python_chain_comes_back_in_order() {
    let Some(py) = python_with_nir() else { return };
    let dir = tempfile::tempdir().unwrap();
    generate(&py, dir.path(), 13);
    let g = joulebench_nir::read(&dir.path().join("dense.nir")).unwrap();
    let chain: Vec<&str> = g.chain().unwrap().iter().map(|(n, _)| *n).collect();
    assert_eq!(
        chain,
        [
            "input",
            "linear",
            "scale",
            "li",
            "if",
            "threshold",
            "cubali",
            "output"
        ]
    );
    let shapes = g.shapes().unwrap();
    assert_eq!(shapes["linear"], (vec![5], vec![3]));
    let g = joulebench_nir::read(&dir.path().join("conv1d.nir")).unwrap();
    let shapes = g.shapes().unwrap();
    assert_eq!(
        shapes["conv1d"].1,
        vec![2, 10],
        "padding 'same' keeps the length"
    );
    assert_eq!(
        shapes["conv1d_1"].1,
        vec![4, 4],
        "⌊(10 + 2 − 2·2 − 1)/2⌋ + 1 = 4"
    );
}
