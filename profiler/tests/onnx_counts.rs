//! Operation counts: hand-computed values for presets, and the ONNX graph counted with inferred
//! shapes equals the ModelSpec counts for our own exports.

use joulebench_data::DatasetKind;
use joulebench_models::{build_preset, export_onnx, DataShape, PresetOptions, Weights, PRESETS};
use joulebench_profiler::{count_onnx, spec_counts, ProfileError};

fn mnist() -> DataShape {
    DatasetKind::Mnist.data_shape()
}
fn mnist1d() -> DataShape {
    DatasetKind::Mnist1d.data_shape()
}

#[test]
fn flops_notebook_mlp_counts_by_hand() {
    // 784-1024-1024-10: 784·1024 + 1024·1024 + 1024·10 = 1,861,632 MACs
    let spec = build_preset("mlp-sweep", &mnist(), &PresetOptions::default()).unwrap();
    let c = spec_counts(&spec).unwrap();
    assert_eq!(c.macs, 1_861_632);
    assert_eq!(c.flops, 2 * 1_861_632);
    assert_eq!(c.params, 1_863_690);
    assert_eq!(c.other_ops, 2048, "two ReLU layers of 1024");
    // activations: input 784 + flatten 784 + fc1/relu1/fc2/relu2 4·1024 + fc3 10
    assert_eq!(c.activations, 784 + 784 + 4 * 1024 + 10);
}

#[test]
fn snn_temporal_counts_scale_with_steps() {
    let opts = PresetOptions {
        steps: Some(25),
        ..Default::default()
    };
    let spec = build_preset("snn-temporal", &mnist(), &opts).unwrap();
    let c = spec_counts(&spec).unwrap();
    assert_eq!(c.macs, 25 * (784 * 256 + 256 * 128 + 128 * 10));
    assert_eq!(c.membrane_updates, 25 * (256 + 128 + 10));
}

fn check_export(preset: &str, data: &DataShape, opts: &PresetOptions) {
    let spec = build_preset(preset, data, opts).unwrap();
    let weights = Weights::random(&spec, 1);
    let bytes = export_onnx(&spec, &weights, &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    std::fs::write(&path, bytes).unwrap();
    let want = spec_counts(&spec).unwrap();
    for batch in [1, 3] {
        let got = count_onnx(&path, &spec.batch_input_shape(batch), batch, spec.steps).unwrap();
        assert_eq!(
            got.counts.macs, want.macs,
            "{preset} MACs (batch {batch}): graph {:?}",
            got.counts.layers
        );
        assert_eq!(got.counts.flops, want.flops, "{preset} FLOPs");
        assert_eq!(got.counts.params, want.params, "{preset} params");
        // LIF updates are found by their threshold comparison (`Greater`); our export prunes the
        // final layer's last comparison under a membrane readout, so the graph may show fewer.
        assert!(
            got.counts.membrane_updates <= want.membrane_updates,
            "{preset} LIF updates"
        );
        assert_eq!(
            got.counts.membrane_updates > 0,
            want.membrane_updates > 0,
            "{preset} LIF pattern found"
        );
    }
}

#[test]
fn onnx_graph_counts_equal_spec_counts_for_every_preset() {
    for p in PRESETS {
        let data = if p.needs_1d { mnist1d() } else { mnist() };
        // keep temporal presets short: the export is unrolled over T
        let opts = PresetOptions {
            steps: if p.spiking && p.name.ends_with("temporal") {
                Some(3)
            } else {
                None
            },
            ..Default::default()
        };
        check_export(p.name, &data, &opts);
    }
    check_export("rnn", &mnist1d(), &PresetOptions::default());
}

#[test]
fn bad_onnx_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let e = count_onnx(&empty, &[1, 4], 1, 1).unwrap_err();
    assert!(
        matches!(e, ProfileError::Onnx { .. })
            && e.to_string().contains("empty.onnx")
            && e.to_string().contains("empty"),
        "{e}"
    );
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"\xff\xff\xff\xffnot a protobuf at all").unwrap();
    let e = count_onnx(&junk, &[1, 4], 1, 1).unwrap_err();
    assert!(e.to_string().contains("junk.onnx"), "{e}");
    let e = count_onnx(&dir.path().join("missing.onnx"), &[1, 4], 1, 1).unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
    // a real export fed the wrong input rank
    let spec = build_preset("ann", &mnist1d(), &PresetOptions::default()).unwrap();
    let p = dir.path().join("ann.onnx");
    std::fs::write(
        &p,
        export_onnx(&spec, &Weights::random(&spec, 0), &[]).unwrap(),
    )
    .unwrap();
    assert!(count_onnx(&p, &[1, 3, 7, 7, 2], 1, 1).is_err());
}

#[test]
fn unknown_op_and_missing_initializer_are_errors() {
    use prost::Message;
    let spec = build_preset("ann", &mnist1d(), &PresetOptions::default()).unwrap();
    let model =
        joulebench_models::onnx::build_model(&spec, &Weights::random(&spec, 0), &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let mut unknown = model.clone();
    let g = unknown.graph.as_mut().unwrap();
    let relu = g.node.iter_mut().find(|n| n.op_type == "Relu").unwrap();
    relu.op_type = "FancyActivation".into();
    let p = dir.path().join("unknown.onnx");
    std::fs::write(&p, unknown.encode_to_vec()).unwrap();
    let e = count_onnx(&p, &spec.batch_input_shape(1), 1, 1).unwrap_err();
    assert!(e.to_string().contains("unknown.onnx"), "{e}");

    let mut missing = model;
    let g = missing.graph.as_mut().unwrap();
    g.initializer.retain(|t| t.name != "fc2.weight");
    g.input.retain(|i| i.name != "fc2.weight");
    let p = dir.path().join("missing_init.onnx");
    std::fs::write(&p, missing.encode_to_vec()).unwrap();
    let e = count_onnx(&p, &spec.batch_input_shape(1), 1, 1).unwrap_err();
    assert!(e.to_string().contains("fc2.weight"), "{e}");
}
