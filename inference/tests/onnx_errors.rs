//! Malformed or unsupported ONNX files give clear errors, never panics; a tiny valid graph runs
//! on tract and ONNX Runtime (`$ORT_DYLIB_PATH`; without it: a failure in CI, a listed skip
//! locally) with the expected numbers.

use std::path::{Path, PathBuf};

use joulebench_inference::{
    open_backend, Backend, BackendKind, BackendOptions, InferenceError, ModelSource,
};
use joulebench_models::onnx::proto;
use joulebench_models::Tensor;
use prost::Message;

fn dim(v: Option<i64>) -> proto::tensor_shape_proto::Dimension {
    use proto::tensor_shape_proto::dimension::Value;
    proto::tensor_shape_proto::Dimension {
        value: Some(match v {
            Some(n) => Value::DimValue(n),
            None => Value::DimParam("batch".into()),
        }),
    }
}

fn value_info(name: &str, dims: &[Option<i64>]) -> proto::ValueInfoProto {
    proto::ValueInfoProto {
        name: name.into(),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(
                proto::type_proto::Tensor {
                    elem_type: proto::tensor_proto::DataType::Float as i32,
                    shape: Some(proto::TensorShapeProto {
                        dim: dims.iter().map(|&d| dim(d)).collect(),
                    }),
                },
            )),
        }),
    }
}

fn init(name: &str, dims: &[i64], data: &[f32]) -> proto::TensorProto {
    proto::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: proto::tensor_proto::DataType::Float as i32,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

const W: [f32; 12] = [1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
const B: [f32; 3] = [0.5, 0.0, -1.0];

/// `y = x·Wᵀ + b` with x `[batch, 4]`, W `[3, 4]`: a 3-class "classifier".
fn gemm_model() -> proto::ModelProto {
    let node = proto::NodeProto {
        name: "fc".into(),
        op_type: "Gemm".into(),
        input: vec!["x".into(), "W".into(), "B".into()],
        output: vec!["y".into()],
        attribute: vec![proto::AttributeProto {
            name: "transB".into(),
            r#type: proto::attribute_proto::AttributeType::Int as i32,
            i: 1,
            ..Default::default()
        }],
        ..Default::default()
    };
    proto::ModelProto {
        ir_version: 8,
        opset_import: vec![proto::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(proto::GraphProto {
            name: "g".into(),
            node: vec![node],
            initializer: vec![init("W", &[3, 4], &W), init("B", &[3], &B)],
            input: vec![value_info("x", &[None, Some(4)])],
            output: vec![value_info("y", &[None, Some(3)])],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn onnx_kinds() -> Vec<BackendKind> {
    let mut k = vec![BackendKind::Tract];
    if joulebench_testkit::ort_library().is_some() {
        k.push(BackendKind::Ort);
    }
    k
}

fn open(
    kind: BackendKind,
    path: &Path,
    sample: &[usize],
) -> Result<Box<dyn Backend>, InferenceError> {
    let src = ModelSource::Onnx {
        path: path.to_path_buf(),
        input_shape: sample.to_vec(),
    };
    open_backend(kind, &src, &BackendOptions::default())
}

#[test]
fn a_valid_foreign_graph_runs_with_the_right_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ok.onnx", &gemm_model().encode_to_vec());
    let x = Tensor::new(vec![2, 4], vec![1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 0.0, 1.0]).unwrap();
    // row 0: [1+0.5, 4, 10-1] ; row 1: [-1+0.5, 0, 0-1]
    let want = [1.5, 4.0, 9.0, -0.5, 0.0, -1.0];
    for kind in onnx_kinds() {
        let mut b = open(kind, &p, &[4]).unwrap();
        let y = b.run(&x).unwrap();
        assert_eq!(y.shape, vec![2, 3], "{kind}");
        for (a, w) in y.data.iter().zip(want) {
            assert!((a - w).abs() < 1e-6, "{kind}: {:?}", y.data);
        }
        // a second batch size reuses/compiles another plan
        let y1 = b
            .run(&Tensor::new(vec![1, 4], vec![1.0, 2.0, 3.0, 4.0]).unwrap())
            .unwrap();
        assert_eq!(y1.data.len(), 3);
        // a tensor of the wrong shape at run time is an input-shape error
        let err = b
            .run(&Tensor::new(vec![1, 5], vec![0.0; 5]).unwrap())
            .unwrap_err();
        assert!(
            matches!(err, InferenceError::InputShape { .. }),
            "{kind}: {err}"
        );
    }
}

#[test]
fn unknown_op_names_the_op_and_the_node() {
    let mut m = gemm_model();
    let g = m.graph.as_mut().unwrap();
    g.node.push(proto::NodeProto {
        name: "mystery_node".into(),
        op_type: "FrobnicateXYZ".into(),
        input: vec!["y".into()],
        output: vec!["z".into()],
        ..Default::default()
    });
    g.output = vec![value_info("z", &[None, Some(3)])];
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "unknown.onnx", &m.encode_to_vec());
    for kind in onnx_kinds() {
        let err = open(kind, &p, &[4]).err().expect("must fail");
        let msg = err.to_string();
        assert!(msg.contains("FrobnicateXYZ"), "{kind}: {msg}");
        assert!(msg.contains("mystery_node"), "{kind}: {msg}");
        assert!(msg.contains("unknown.onnx"), "{kind}: {msg}");
    }
}

#[test]
fn truncated_and_empty_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = gemm_model().encode_to_vec();
    for cut in [bytes.len() / 2, bytes.len() - 3, 7] {
        let p = write(dir.path(), &format!("cut{cut}.onnx"), &bytes[..cut]);
        for kind in onnx_kinds() {
            let err = open(kind, &p, &[4]).err().expect("must fail");
            assert!(
                err.to_string().contains(&format!("cut{cut}.onnx")),
                "{kind}: {err}"
            );
        }
    }
    let p = write(dir.path(), "empty.onnx", b"");
    for kind in onnx_kinds() {
        let err = open(kind, &p, &[4]).err().expect("must fail");
        assert!(err.to_string().contains("empty"), "{kind}: {err}");
    }
    let missing = dir.path().join("nope.onnx");
    let err = open(BackendKind::Tract, &missing, &[4])
        .err()
        .expect("must fail");
    assert!(matches!(err, InferenceError::Io { .. }), "{err}");
}

#[test]
fn wrong_input_rank_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "rank.onnx", &gemm_model().encode_to_vec());
    for kind in onnx_kinds() {
        let err = open(kind, &p, &[1, 2, 2]).err().expect("must fail");
        let msg = err.to_string();
        assert!(msg.contains("rank"), "{kind}: {msg}");
        let err = open(kind, &p, &[5]).err().expect("must fail");
        assert!(err.to_string().contains("dimensions"), "{kind}: {err}");
    }
}

#[test]
fn missing_initializer_is_reported() {
    let mut m = gemm_model();
    m.graph
        .as_mut()
        .unwrap()
        .initializer
        .retain(|t| t.name != "W");
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "noinit.onnx", &m.encode_to_vec());
    for kind in onnx_kinds() {
        let err = open(kind, &p, &[4]).err().expect("must fail");
        let msg = err.to_string();
        assert!(
            msg.contains("`W`") && msg.contains("missing initializer"),
            "{kind}: {msg}"
        );
    }
}

#[test]
fn initializer_with_too_few_values_is_reported() {
    let mut m = gemm_model();
    m.graph.as_mut().unwrap().initializer[0] = init("W", &[3, 4], &W[..10]);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "short.onnx", &m.encode_to_vec());
    let err = open(BackendKind::Tract, &p, &[4]).err().expect("must fail");
    assert!(err.to_string().contains("holds 10 values"), "{err}");
}

/// `ort-cuda` opens where it can run — a CUDA build of ONNX Runtime (its CUDA provider library
/// beside `libonnxruntime.so`) on a machine with an NVIDIA driver — and is refused otherwise,
/// with the reason that applies: a CPU-only build says so, a GPU build without a GPU says the
/// provider could not start. Which case applies is decided from the files, not from the result.
#[test]
fn ort_cuda_opens_or_says_why_it_cannot() {
    let Some(lib) = joulebench_testkit::ort_library() else {
        return;
    };
    let cuda_build = lib
        .parent()
        .is_some_and(|d| d.join("libonnxruntime_providers_cuda.so").is_file());
    let gpu = Path::new("/dev/nvidiactl").exists();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ok.onnx", &gemm_model().encode_to_vec());
    let r = open(BackendKind::OrtCuda, &p, &[4]);
    match (cuda_build, gpu) {
        (true, true) => {
            let b = r.unwrap_or_else(|e| panic!("a CUDA build on a GPU machine: {e}"));
            assert_eq!(b.name(), "ort-cuda");
        }
        (false, _) => {
            let e = r
                .err()
                .expect("a CPU-only ONNX Runtime cannot open ort-cuda");
            assert!(matches!(e, InferenceError::Unavailable(_)), "{e:?}");
            let e = e.to_string();
            assert!(
                e.contains("no CUDA execution provider") && e.contains("onnxruntime-gpu"),
                "{e}"
            );
        }
        (true, false) => {
            let e = r.err().expect("no NVIDIA driver: ort-cuda cannot start");
            assert!(e.to_string().contains("could not start on GPU"), "{e}");
        }
    }
}

#[test]
fn backend_names_parse() {
    for k in BackendKind::ALL {
        assert_eq!(k.name().parse::<BackendKind>().unwrap(), k);
    }
    assert!("torchscript".parse::<BackendKind>().is_err());
    let err = open_backend(
        BackendKind::Tch,
        &ModelSource::Onnx {
            path: "x.onnx".into(),
            input_shape: vec![4],
        },
        &BackendOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("training"), "{err}");
}
