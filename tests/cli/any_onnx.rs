//! Any ONNX model without ceremony, on real architectures: the graphs the `onnx` Python package
//! ships (`onnx/backend/test/data/light/`, in the project's venv). The input shape comes from the
//! graph, weights generated in the graph count as parameters, and `--layers` shows where the
//! operations go.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{joulebench as jb, refused};

/// The folder of the `onnx` package's light model graphs.
fn light_models() -> Option<PathBuf> {
    let py = joulebench_testkit::python()?;
    let out = Command::new(py)
        .args([
            "-c",
            "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend', 'test', 'data', 'light'))",
        ])
        .output()
        .expect("runs python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(dir.is_dir(), "{} is not a folder", dir.display());
    Some(dir)
}

fn profile_json(model: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "profile",
        model.to_str().unwrap(),
        "--backend",
        "tract",
        "--queries",
        "1",
        "--duration",
        "0",
        "--warmup",
        "0",
        "--meter",
        "estimate",
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = jb(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn resnet50_needs_no_input_shape_and_has_4_09_g_macs() {
    let Some(dir) = light_models() else { return };
    let model = dir.join("light_resnet50.onnx");
    let v = profile_json(&model, &[]);
    let c = &v["onnx_counts"]["counts"];
    assert_eq!(v["model"]["sample_shape"], serde_json::json!([3, 224, 224]));
    // 4.09 G MACs by the usual convention (convolutions and the classifier)
    let macs = c["macs"].as_u64().unwrap();
    assert!((4_080_000_000..4_100_000_000).contains(&macs), "{macs}");
    // weights are generated in the graph (ConstantOfShape): 25.5 M conv + fc parameters
    let params = c["params"].as_u64().unwrap();
    assert!((25_000_000..26_000_000).contains(&params), "{params}");
    let layers = c["layers"].as_array().unwrap();
    let share: f64 = layers
        .iter()
        .map(|l| l["share_of_macs"].as_f64().unwrap())
        .sum();
    assert!((share - 1.0).abs() < 1e-9, "{share}");
    let first_conv = layers.iter().find(|l| l["op"] == "Conv").unwrap();
    assert_eq!(
        first_conv["output_shape"],
        serde_json::json!([64, 112, 112])
    );
}

#[test]
fn layers_table_and_contradicting_shapes() {
    let Some(dir) = light_models() else { return };
    let model = dir.join("light_squeezenet.onnx");
    let m = model.to_str().unwrap();
    let args = [
        "profile",
        m,
        "--backend",
        "tract",
        "--queries",
        "1",
        "--duration",
        "0",
        "--warmup",
        "0",
        "--meter",
        "estimate",
        "--layers",
    ];
    let o = jb(&args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("layers (onnx_graph") && out.contains("Conv") && out.contains("share"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("total")),
        "{out}"
    );
    // a shape that contradicts the declared input is one clear error
    let bad = [
        "profile",
        m,
        "--backend",
        "tract",
        "--input-shape",
        "3,200,200",
    ];
    refused(
        &jb(&bad),
        &bad,
        &["contradicts the graph", "[1, 3, 224, 224]"],
    );
}

/// A foreign graph whose stored bytes are tiny but whose weights are generated at load time and
/// whose activations at the asked batch are huge is refused before any engine allocates: the
/// memory check reads the graph (shapes inferred), not only the file size.
#[test]
fn memory_refusal_reads_the_graph_not_the_file_size() {
    let Some(py) = joulebench_testkit::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("wide.onnx");
    // x [batch, 40] · W (ConstantOfShape [40, 1000], generated) → y [batch, 1000]
    let script = r#"
import sys, onnx
from onnx import helper, TensorProto, numpy_helper
import numpy as np
shape = numpy_helper.from_array(np.array([40, 1000], dtype=np.int64), "w_shape")
g = helper.make_graph(
    [helper.make_node("ConstantOfShape", ["w_shape"], ["w"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.01])),
     helper.make_node("MatMul", ["x", "w"], ["y"])],
    "wide",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 40])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1000])],
    [shape])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
onnx.save(m, sys.argv[1])
"#;
    let o = Command::new(py)
        .args(["-c", script, model.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = model.to_str().unwrap();
    // at batch 100 million: inputs 16 GB (what the file-size check sees), outputs 400 GB
    let args = [
        "profile",
        m,
        "--backend",
        "tract",
        "--batch",
        "100000000",
        "--meter",
        "estimate",
    ];
    let err = refused(
        &jb(&args),
        &args,
        &["would need at least", "refused before allocating"],
    );
    assert!(err.contains("wide.onnx at batch 100000000"), "{err}");
    // and at batch 1 it runs, its generated weights counted
    let v = profile_json(&model, &[]);
    assert_eq!(v["onnx_counts"]["counts"]["params"], 40_000);
    assert_eq!(v["model"]["sample_shape"], serde_json::json!([40]));
}
