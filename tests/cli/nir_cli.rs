//! NIR in and out, against the reference tools: graphs built with the `nir` Python package and
//! run by snnTorch's own importer (`snntorch.import_nir.import_from_nir`) on the same input
//! spikes give exactly the output spike counts every joulebench engine computes after
//! `joulebench import` (a fully connected net with per-neuron leaks, a convolutional one);
//! `export --format nir` → the `nir` package reads it → `import` → identical outputs; presets
//! NIR cannot express are refused with the reason; bad files get one clear error.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{fails_with, joulebench as jb};

const GROUND_TRUTH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/nir/ground_truth.py");
const ENGINES: [&str; 4] = ["native", "event", "tract", "ort"];

/// The venv's Python with `nir`, `snntorch` and `nirtorch` (pip-installed once when missing),
/// or a skip.
fn python_with_snntorch() -> Option<PathBuf> {
    joulebench_testkit::python_with(
        "nir, nirtorch, snntorch.import_nir",
        joulebench_testkit::SNNTORCH_INSTALLS,
    )
}

fn ok(args: &[&str]) -> String {
    let o = jb(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn npy(path: &Path) -> joulebench_models::Tensor {
    joulebench_data::npy::read_npy(path).unwrap()
}

/// Output of every engine on `input` for the run folder `run`.
fn engine_outputs(run: &Path, input: &Path, dir: &Path) -> Vec<(&'static str, Vec<f32>)> {
    ENGINES
        .iter()
        .map(|b| {
            let out = dir.join(format!("out-{b}.npy"));
            ok(&[
                "infer",
                run.to_str().unwrap(),
                "--backend",
                b,
                "--input",
                input.to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
            ]);
            (*b, npy(&out).data)
        })
        .collect()
}

fn ground_truth(kind: &str) {
    ground_truth_edited(kind, None);
}

/// [`ground_truth`] with the graph rewritten by `edit` (read and written by `joulebench-nir`)
/// before the import; the spike counts to match stay those snnTorch computed on the original.
pub(crate) fn ground_truth_edited(
    kind: &str,
    edit: Option<&dyn Fn(&mut joulebench_nir::NirGraph)>,
) {
    let Some(py) = python_with_snntorch() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = Command::new(&py)
        .args([GROUND_TRUTH, kind, d.to_str().unwrap(), "3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = npy(&d.join("spike_counts.npy"));
    assert!(
        want.data.iter().sum::<f32>() > 20.0,
        "the reference network fires: {want:?}"
    );
    if let Some(edit) = edit {
        let file = d.join("graph.nir");
        let mut graph = joulebench_nir::read(&file).unwrap();
        edit(&mut graph);
        joulebench_nir::write(&file, &graph).unwrap();
    }
    let run = d.join("run");
    let steps = npy(&d.join("input.npy")).shape[0].to_string();
    ok(&[
        "import",
        d.join("graph.nir").to_str().unwrap(),
        "--steps",
        &steps,
        "--out",
        run.to_str().unwrap(),
    ]);
    for (engine, got) in engine_outputs(&run, &d.join("input.npy"), d) {
        assert_eq!(
            got, want.data,
            "{kind}: {engine}'s output spike counts differ from snnTorch's"
        );
    }
}

#[test]
fn fully_connected_per_neuron_leaks_match_snntorch() {
    ground_truth("fc");
}

#[test]
fn convolutional_net_matches_snntorch() {
    ground_truth("conv");
}

/// Current-based neurons (CubaLIF, per-neuron τ_syn and τ_mem): snnTorch's `Synaptic`.
#[test]
fn current_based_net_matches_snntorch() {
    ground_truth("cuba");
}

/// export → the `nir` package reads it (its own type checks) → import → the same outputs.
#[test]
fn export_read_by_nir_and_imported_back_gives_identical_outputs() {
    round_trip(
        "conv",
        &["Conv2d", "LIF", "Flatten", "Affine", "Input", "Output"],
    );
}

#[test]
fn current_based_export_round_trips() {
    round_trip("cuba", &["CubaLIF", "Affine", "Input", "Output"]);
}

fn round_trip(kind: &str, node_types: &[&str]) {
    let Some(py) = python_with_snntorch() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = Command::new(&py)
        .args([GROUND_TRUTH, kind, d.to_str().unwrap(), "5"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (first, second) = (d.join("run1"), d.join("run2"));
    let input = d.join("input.npy");
    let steps = npy(&input).shape[0].to_string();
    let graph = d.join("graph.nir");
    ok(&[
        "import",
        graph.to_str().unwrap(),
        "--steps",
        &steps,
        "--out",
        first.to_str().unwrap(),
    ]);
    let exported = d.join("exported.nir");
    ok(&[
        "export",
        first.to_str().unwrap(),
        "--format",
        "nir",
        "--out",
        exported.to_str().unwrap(),
    ]);
    let read = Command::new(&py)
        .args([
            "-c",
            "import nir, sys; g = nir.read(sys.argv[1]); print(sorted(type(n).__name__ for n in g.nodes.values()))",
            exported.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let types = String::from_utf8_lossy(&read.stdout);
    for t in node_types {
        assert!(types.contains(&format!("'{t}'")), "nir.read sees {types}");
    }
    ok(&[
        "import",
        exported.to_str().unwrap(),
        "--steps",
        &steps,
        "--out",
        second.to_str().unwrap(),
    ]);
    let a = engine_outputs(&first, &input, &d.join("a").tap_mkdir());
    let b = engine_outputs(&second, &input, &d.join("b").tap_mkdir());
    assert_eq!(a, b, "round trip changed the outputs");
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}
impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

/// Our presets reset by subtraction and read the membrane, which NIR's LIF cannot express:
/// refused with the reason by default, written as the nearest graph (each change listed) with
/// --nearest.
#[test]
fn preset_export_refuses_subtraction_reset_or_writes_the_nearest_graph() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("snn");
    crate::common::make_run(&run, "snn-temporal", Some(4));
    let out = dir.path().join("snn.nir");
    let args = [
        "export",
        run.to_str().unwrap(),
        "--format",
        "nir",
        "--out",
        out.to_str().unwrap(),
    ];
    fails_with(&args, &["resets by subtracting θ", "--nearest"]);
    assert!(!out.exists());
    let text = ok(&[&args[..], &["--nearest"]].concat());
    assert!(text.contains("changed (--nearest)"), "{text}");
    let g = joulebench_nir::read(&out).unwrap();
    assert_eq!(
        g.nodes.values().filter(|n| n.type_name() == "LIF").count(),
        3
    );
    // a network with max pooling has no NIR form at all
    let cnn = dir.path().join("cnn1d");
    crate::common::make_run(&cnn, "cnn1d", None);
    fails_with(
        &[
            "export",
            cnn.to_str().unwrap(),
            "--format",
            "nir",
            "--nearest",
        ],
        &["has no NIR node"],
    );
}

#[test]
fn bad_nir_files_get_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = d.join("model.nir");
    std::fs::write(&text, "not hdf5 at all\n").unwrap();
    let out = d.join("run");
    fails_with(
        &[
            "import",
            text.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["model.nir", "not an HDF5 file"],
    );
    assert!(!out.exists(), "nothing written for a bad file");
    let missing = d.join("missing.nir");
    fails_with(
        &[
            "import",
            missing.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["missing.nir"],
    );
    // a graph whose τ is shorter than the time step: named node and field
    let graph = nir_graph_with_tau(1e-5);
    let file = d.join("fast.nir");
    joulebench_nir::write(&file, &graph).unwrap();
    fails_with(
        &[
            "import",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["fast.nir", "node 'lif'", "field 'tau'", "--dt"],
    );
    // and with a small enough --dt it imports
    ok(&[
        "import",
        file.to_str().unwrap(),
        "--dt",
        "1e-6",
        "--steps",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    fails_with(
        &[
            "import",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["already holds a run"],
    );
}

/// A CubaLIF whose v_leak is not 0 (a constant membrane drive, which joulebench's current-based
/// neurons cannot fold) is refused naming the node and field; with v_leak = 0 it imports and
/// every engine runs it, the int8 event mode included.
#[test]
fn current_based_neurons_with_a_leak_are_refused_and_run_everywhere() {
    use joulebench_nir::{NirNode, Tensor};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cuba = |v_leak: f32| {
        let mut g = nir_graph_with_tau(1e-3);
        let v = |x: f32| Tensor::vector(vec![x; 3]);
        let lif = NirNode::CubaLif {
            tau_syn: v(5e-4),
            tau_mem: v(1e-3),
            r: v(10.0),
            v_leak: v(v_leak),
            v_threshold: v(1.0),
            v_reset: v(0.0),
            w_in: v(5.0),
        };
        g.nodes.insert("lif".into(), lif);
        g
    };
    let (bad, good) = (d.join("leaky.nir"), d.join("cuba.nir"));
    joulebench_nir::write(&bad, &cuba(0.5)).unwrap();
    joulebench_nir::write(&good, &cuba(0.0)).unwrap();
    let run = d.join("run");
    fails_with(
        &[
            "import",
            bad.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ],
        &["leaky.nir", "node 'lif'", "field 'v_leak'"],
    );
    assert!(!run.exists(), "nothing written for a refused graph");
    ok(&[
        "import",
        good.to_str().unwrap(),
        "--steps",
        "8",
        "--out",
        run.to_str().unwrap(),
    ]);
    let spec = joulebench_models::RunDir::new(&run).spec().unwrap();
    let Some(joulebench_models::Op::Lif(p)) = spec.layers.last().map(|l| l.op) else {
        panic!("last layer is the neuron: {spec:?}");
    };
    // α = 1 − dt/τ_syn = 0.8, β = 1 − dt/τ_mem = 0.9
    assert_eq!((p.synapse, p.beta), (Some(0.8), 0.9));
    let x = joulebench_models::Tensor::new(vec![8, 2, 2], vec![1.0; 32]).unwrap();
    let input = d.join("x.npy");
    joulebench_data::npy::write_npy(&input, &x).unwrap();
    let infer = |backend: &str| {
        let o = d.join(format!("{backend}.npy"));
        vec![
            "infer".to_string(),
            run.to_str().unwrap().into(),
            "--backend".into(),
            backend.into(),
            "--input".into(),
            input.to_str().unwrap().into(),
            "--output".into(),
            o.to_str().unwrap().into(),
        ]
    };
    // every engine runs it, the int8 event mode included (its integer synaptic current)
    for backend in ["event", "native", "tract", "event-int8"] {
        let args = infer(backend);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let y = npy(&d.join(format!("{backend}.npy")));
        assert_eq!(y.shape, vec![2, 3], "{backend}");
        assert!(
            y.data.iter().sum::<f32>() > 0.0,
            "{backend}: the neurons fire"
        );
    }
}

fn nir_graph_with_tau(tau: f32) -> joulebench_nir::NirGraph {
    use joulebench_nir::{NirGraph, NirNode, Tensor};
    let v = |x: f32| Tensor::vector(vec![x; 3]);
    let nodes = [
        ("input", NirNode::Input { shape: vec![2] }),
        (
            "fc",
            NirNode::Affine {
                weight: Tensor {
                    shape: vec![3, 2],
                    data: vec![0.5; 6],
                },
                bias: v(0.0),
            },
        ),
        (
            "lif",
            NirNode::Lif {
                tau: v(tau),
                r: v(1.0),
                v_leak: v(0.0),
                v_threshold: v(1.0),
                v_reset: v(0.0),
            },
        ),
        ("output", NirNode::Output { shape: vec![3] }),
    ];
    let names: Vec<&str> = nodes.iter().map(|(n, _)| *n).collect();
    NirGraph {
        nodes: nodes
            .into_iter()
            .map(|(n, node)| (n.to_string(), node))
            .collect(),
        edges: names
            .windows(2)
            .map(|w| (w[0].to_string(), w[1].to_string()))
            .collect(),
    }
}

/// A preset trained with `--reset zero --readout spike-count` is exactly a NIR network: it
/// exports without --nearest, and the import of that file computes what the run computes.
#[cfg(feature = "training")]
#[test]
fn preset_trained_with_reset_zero_exports_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = d.join("snn");
    ok(&[
        "train",
        "--model",
        "snn-temporal",
        "--steps",
        "4",
        "--epochs",
        "1",
        "--limit-train",
        "256",
        "--limit-test",
        "64",
        "--threads",
        "1",
        "--reset",
        "zero",
        "--readout",
        "spike-count",
        "--meter",
        "none",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ]);
    let file = d.join("snn.nir");
    let text = ok(&[
        "export",
        run.to_str().unwrap(),
        "--format",
        "nir",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(!text.contains("changed"), "{text}");
    let back = d.join("back");
    ok(&[
        "import",
        file.to_str().unwrap(),
        "--steps",
        "4",
        "--out",
        back.to_str().unwrap(),
    ]);
    // the same spikes into both (MNIST-1D samples [1, 40]; the graph keeps Input [1, 40] and
    // its Flatten)
    let spec = joulebench_models::RunDir::new(&run).spec().unwrap();
    let x = joulebench_data::encode::encode(
        spec.encoding,
        &joulebench_models::Tensor::new(
            vec![3, 1, 40],
            (0..120).map(|i| ((i * 37) % 100) as f32 / 100.0).collect(),
        )
        .unwrap(),
        4,
        9,
    )
    .unwrap();
    let input = d.join("x.npy");
    joulebench_data::npy::write_npy(&input, &x).unwrap();
    for engine in ENGINES {
        let (a, b) = (
            d.join(format!("a-{engine}.npy")),
            d.join(format!("b-{engine}.npy")),
        );
        let infer = |r: &Path, i: &Path, o: &Path| {
            ok(&[
                "infer",
                r.to_str().unwrap(),
                "--backend",
                engine,
                "--input",
                i.to_str().unwrap(),
                "--output",
                o.to_str().unwrap(),
            ])
        };
        infer(&run, &input, &a);
        infer(&back, &input, &b);
        assert_eq!(
            npy(&a).data,
            npy(&b).data,
            "{engine}: export → import changed the outputs"
        );
    }
}

/// An imported network in the main job (`run --add-run`): not trained, profiled on every
/// backend next to the presets, in results.json and the report; no accuracy, since its input is
/// not the dataset's sample shape (said so), and profiled on seeded uniform inputs.
#[cfg(feature = "training")]
#[test]
fn imported_network_joins_the_main_job_and_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("tiny.nir");
    joulebench_nir::write(&file, &nir_graph_with_tau(1e-3)).unwrap();
    let net = d.join("tiny-nir");
    ok(&[
        "import",
        file.to_str().unwrap(),
        "--steps",
        "8",
        "--out",
        net.to_str().unwrap(),
    ]);
    let out = d.join("job");
    let o = Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args([
            "run",
            "--quick",
            "--quiet",
            "--models",
            "mlp1d",
            "--backends",
            "native,event",
        ])
        .args([
            "--meter",
            "estimate",
            "--add-run",
            net.to_str().unwrap(),
            "--out",
        ])
        .arg(&out)
        .env("JOULEBENCH_CONFIG_DIR", d.join("config"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let data: joulebench_report::ReportData =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let m = data
        .models
        .iter()
        .find(|m| m.name == "tiny-nir")
        .expect("the imported model");
    assert!(m.spiking && m.training.is_none() && m.test_accuracy.is_none());
    let rows: Vec<_> = data
        .inference
        .iter()
        .filter(|r| r.model == "tiny-nir")
        .collect();
    let backends: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.backend.as_str()).collect();
    assert_eq!(backends, ["event", "native"].into_iter().collect());
    assert!(rows
        .iter()
        .all(|r| r.accuracy.is_none() && r.latency.is_some()));
    assert!(
        rows.iter().any(|r| r.activity.is_some()),
        "event activity recorded"
    );
    assert!(std::fs::read_to_string(out.join("report.html"))
        .unwrap()
        .contains("tiny-nir"));
    // its folder name may not shadow a preset
    let ann = d.join("ann");
    std::fs::create_dir_all(&ann).unwrap();
    for f in ["spec.json", "weights.safetensors"] {
        std::fs::copy(net.join(f), ann.join(f)).unwrap();
    }
    fails_with(
        &[
            "run",
            "--quick",
            "--models",
            "mlp1d",
            "--add-run",
            ann.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["already a model of this job"],
    );
}
