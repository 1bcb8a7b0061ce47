use joulebench_models::{build_preset, DataShape, PresetOptions, Weights, PRESETS};

fn mnist() -> DataShape {
    DataShape {
        dataset: "mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    }
}

#[test]
fn random_weights_fit_every_preset_and_survive_a_safetensors_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for p in PRESETS.iter().filter(|p| !p.needs_1d) {
        let spec = build_preset(p.name, &mnist(), &PresetOptions::default()).unwrap();
        let w = Weights::random(&spec, 7);
        w.check_against(&spec).unwrap();
        let path = dir.path().join(format!("{}.safetensors", p.name));
        w.save(&path).unwrap();
        let back = Weights::load(&path).unwrap();
        assert_eq!(back, w, "{}", p.name);
    }
}

#[test]
fn truncated_safetensors_is_an_error_not_a_panic() {
    let spec = build_preset("ann", &mnist(), &PresetOptions::default()).unwrap();
    let bytes = Weights::random(&spec, 1).to_bytes().unwrap();
    let err = Weights::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(err.to_string().contains("safetensors"), "{err}");
}
