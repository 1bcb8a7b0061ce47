//! `joulebench_models::onnx::proto` against an independent definition of the same messages
//! (tract-onnx's generated `pb`, a dev-dependency): the writer's bytes re-encode unchanged
//! through it, and every field the checker and counter read decodes from it with its value.

mod common;
use common::{mnist, mnist1d};

use joulebench_models::onnx::{export_onnx, proto};
use joulebench_models::{build_preset, PresetOptions, Weights, PRESETS};
use prost::Message;
use tract_onnx::pb;

#[test]
fn exports_reencode_unchanged_through_tract_pb() {
    for p in PRESETS {
        let data = if p.needs_1d { mnist1d() } else { mnist() };
        let opts = PresetOptions {
            steps: (p.spiking && p.name.ends_with("temporal")).then_some(2),
            ..Default::default()
        };
        let spec = build_preset(p.name, &data, &opts).unwrap();
        let meta = vec![("joulebench.train".to_string(), "{}".to_string())];
        let bytes = export_onnx(&spec, &Weights::random(&spec, 3), &meta).unwrap();
        let theirs = pb::ModelProto::decode(&bytes[..]).unwrap();
        // A field number or wire type unknown to tract would be dropped here.
        assert_eq!(theirs.encode_to_vec(), bytes, "{}", p.name);
        let g = theirs.graph.as_ref().unwrap();
        assert_eq!(g.input[0].name, "input", "{}", p.name);
        assert_eq!(g.output[0].name, "logits", "{}", p.name);
        assert_eq!(theirs.opset_import[0].version, 17, "{}", p.name);
        assert!(g.node.iter().all(|n| !n.op_type.is_empty()), "{}", p.name);
    }
}

/// A model using every field `proto` declares, written with tract's types.
fn tract_model() -> pb::ModelProto {
    use pb::tensor_shape_proto::{dimension, Dimension};
    let tensor = |name: &str, data_type: i32| pb::TensorProto {
        name: name.into(),
        dims: vec![2, 3],
        data_type,
        float_data: vec![1.5, -2.0],
        int32_data: vec![7, -8],
        int64_data: vec![1 << 40],
        double_data: vec![0.25],
        raw_data: vec![1, 2, 3],
        data_location: Some(pb::tensor_proto::DataLocation::External as i32),
        ..Default::default()
    };
    let value = |name: &str| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Double as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: vec![
                        Dimension {
                            value: Some(dimension::Value::DimParam("batch".into())),
                            ..Default::default()
                        },
                        Dimension {
                            value: Some(dimension::Value::DimValue(5)),
                            ..Default::default()
                        },
                        Dimension::default(),
                    ],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    let sub = pb::GraphProto {
        name: "body".into(),
        node: vec![pb::NodeProto {
            op_type: "Identity".into(),
            input: vec!["a".into()],
            output: vec!["b".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    let node = pb::NodeProto {
        name: "n".into(),
        op_type: "Loop".into(),
        domain: "ai.onnx".into(),
        input: vec!["x".into(), String::new()],
        output: vec!["y".into()],
        attribute: vec![pb::AttributeProto {
            name: "attr".into(),
            r#type: pb::attribute_proto::AttributeType::Graphs as i32,
            i: -3,
            ints: vec![1, 2, 3],
            t: Some(tensor("t", 6)),
            g: Some(sub.clone()),
            graphs: vec![sub.clone(), sub],
            ..Default::default()
        }],
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: "ai.onnx.ml".into(),
            version: 3,
        }],
        producer_name: "p".into(),
        producer_version: "1.0".into(),
        model_version: 4,
        doc_string: "doc".into(),
        metadata_props: vec![pb::StringStringEntryProto {
            key: "k".into(),
            value: "v".into(),
        }],
        graph: Some(pb::GraphProto {
            name: "g".into(),
            doc_string: "gdoc".into(),
            node: vec![node],
            initializer: vec![tensor("w", 1)],
            input: vec![value("x")],
            output: vec![value("y")],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn every_declared_field_decodes_from_tract_pb() {
    let m = proto::ModelProto::decode(&tract_model().encode_to_vec()[..]).unwrap();
    assert_eq!(
        (m.ir_version, m.model_version, m.producer_name.as_str()),
        (8, 4, "p")
    );
    assert_eq!(
        (m.producer_version.as_str(), m.doc_string.as_str()),
        ("1.0", "doc")
    );
    assert_eq!(
        (m.opset_import[0].domain.as_str(), m.opset_import[0].version),
        ("ai.onnx.ml", 3)
    );
    assert_eq!(
        (
            m.metadata_props[0].key.as_str(),
            m.metadata_props[0].value.as_str()
        ),
        ("k", "v")
    );
    let g = m.graph.unwrap();
    assert_eq!((g.name.as_str(), g.doc_string.as_str()), ("g", "gdoc"));

    let w = &g.initializer[0];
    assert_eq!((w.name.as_str(), w.dims.as_slice()), ("w", &[2i64, 3][..]));
    assert_eq!(w.data_type, proto::tensor_proto::DataType::Float as i32);
    assert_eq!(w.float_data, vec![1.5, -2.0]);
    assert_eq!(w.int32_data, vec![7, -8]);
    assert_eq!(w.int64_data, vec![1 << 40]);
    assert_eq!(w.double_data, vec![0.25]);
    assert_eq!(w.raw_data, vec![1, 2, 3]);
    assert_eq!(
        w.data_location,
        proto::tensor_proto::DataLocation::External as i32
    );

    let x = &g.input[0];
    assert_eq!((x.name.as_str(), g.output[0].name.as_str()), ("x", "y"));
    let Some(proto::type_proto::Value::TensorType(t)) = x.r#type.as_ref().unwrap().value.clone()
    else {
        panic!("no tensor type: {x:?}")
    };
    assert_eq!(t.elem_type, proto::tensor_proto::DataType::Double as i32);
    use proto::tensor_shape_proto::dimension::Value as Dim;
    let dims: Vec<Option<Dim>> = t.shape.unwrap().dim.into_iter().map(|d| d.value).collect();
    assert_eq!(
        dims,
        vec![
            Some(Dim::DimParam("batch".into())),
            Some(Dim::DimValue(5)),
            None
        ]
    );

    let n = &g.node[0];
    assert_eq!(
        (n.name.as_str(), n.op_type.as_str(), n.domain.as_str()),
        ("n", "Loop", "ai.onnx")
    );
    assert_eq!(
        (n.input.as_slice(), n.output.as_slice()),
        (
            &["x".to_string(), String::new()][..],
            &["y".to_string()][..]
        )
    );
    let a = &n.attribute[0];
    assert_eq!(a.name, "attr");
    assert_eq!(
        a.r#type,
        proto::attribute_proto::AttributeType::Graphs as i32
    );
    assert_eq!((a.i, a.ints.as_slice()), (-3, &[1i64, 2, 3][..]));
    assert_eq!(a.t.as_ref().unwrap().name, "t");
    assert_eq!(
        a.t.as_ref().unwrap().data_type,
        proto::tensor_proto::DataType::Int32 as i32
    );
    let body = a.g.as_ref().unwrap();
    assert_eq!(
        (body.name.as_str(), body.node[0].op_type.as_str()),
        ("body", "Identity")
    );
    assert_eq!(a.graphs.len(), 2);
    assert_eq!(a.graphs[1], *body);
}

#[test]
fn fields_not_declared_are_skipped() {
    // A sparse initializer (GraphProto field 15) and a value_info entry (field 13) are not
    // declared: decoding skips them and keeps the rest.
    let mut m = tract_model();
    let g = m.graph.as_mut().unwrap();
    g.sparse_initializer.push(pb::SparseTensorProto {
        dims: vec![4],
        ..Default::default()
    });
    g.value_info.push(g.input[0].clone());
    let ours = proto::ModelProto::decode(&m.encode_to_vec()[..]).unwrap();
    let plain = proto::ModelProto::decode(&tract_model().encode_to_vec()[..]).unwrap();
    assert_eq!(ours, plain);
}
