//! The spiking knobs a user can pick (`--beta`, `--threshold`, `--surrogate`, `--readout`) reach
//! the spec, and wrong ones are refused with a message naming them.

use joulebench_models::{build_preset, DataShape, Op, PresetOptions, Readout, Surrogate, PRESETS};

fn fashion() -> DataShape {
    DataShape {
        dataset: "fashion-mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    }
}

#[test]
fn surrogates_parse_with_snntorch_defaults() {
    assert_eq!(
        Surrogate::parse("atan").unwrap(),
        Surrogate::Atan { alpha: 2.0 }
    );
    assert_eq!(
        Surrogate::parse("fast-sigmoid").unwrap(),
        Surrogate::FastSigmoid { slope: 25.0 }
    );
    assert_eq!(
        Surrogate::parse("fast-sigmoid:10").unwrap(),
        Surrogate::FastSigmoid { slope: 10.0 }
    );
    assert_eq!(
        Surrogate::parse("atan:3.5").unwrap(),
        Surrogate::Atan { alpha: 3.5 }
    );
    for bad in [
        "sigmoid",
        "atan:0",
        "atan:x",
        "fast-sigmoid:nan",
        "fast-sigmoid:-1",
    ] {
        assert!(Surrogate::parse(bad).is_err(), "{bad} was accepted");
    }
    // the derivative at the threshold is 1 for both defaults (α/2 with α = 2; 1/(0+1)²)
    for s in ["atan", "fast-sigmoid"] {
        assert_eq!(Surrogate::parse(s).unwrap().derivative(0.0), 1.0);
    }
}

#[test]
fn readouts_parse_back_from_their_names() {
    for r in [
        Readout::Output,
        Readout::MembraneMean,
        Readout::MembraneLast,
        Readout::SpikeCount,
    ] {
        assert_eq!(Readout::parse(r.name()).unwrap(), r);
    }
    assert!(Readout::parse("max").is_err());
}

#[test]
fn beta_surrogate_and_readout_reach_every_lif_layer() {
    let opts = PresetOptions {
        beta: Some(0.5),
        threshold: Some(0.75),
        surrogate: Some(Surrogate::FastSigmoid { slope: 25.0 }),
        readout: Some(Readout::SpikeCount),
        ..Default::default()
    };
    let spec = build_preset("csnn-temporal", &fashion(), &opts).unwrap();
    assert_eq!(spec.readout, Readout::SpikeCount);
    let lifs: Vec<_> = spec
        .layers
        .iter()
        .filter_map(|l| match l.op {
            Op::Lif(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(lifs.len(), 3);
    for p in lifs {
        assert_eq!(p.beta, 0.5);
        assert_eq!(p.threshold, 0.75);
        assert_eq!(p.surrogate, Surrogate::FastSigmoid { slope: 25.0 });
    }
    // defaults untouched without options
    let d = build_preset("csnn-temporal", &fashion(), &PresetOptions::default()).unwrap();
    assert_eq!(d.readout, Readout::MembraneMean);
    assert!(d
        .layers
        .iter()
        .all(|l| !matches!(l.op, Op::Lif(p) if p.threshold != 1.0)));
}

/// A spec whose LIF parameters cannot work — a hand-edited spec.json with a NaN β, an infinite
/// or NaN threshold or a surrogate slope of 0 — is refused by `validate`, naming the layer (a
/// negative threshold is legal there: the engines handle it); `--threshold` asks for θ > 0.
#[test]
fn impossible_lif_parameters_are_refused() {
    let spec = build_preset("snn-temporal", &fashion(), &PresetOptions::default()).unwrap();
    type Edit = fn(&mut joulebench_models::LifParams);
    let edits: [(Edit, &str); 5] = [
        (|p| p.beta = f32::NAN, "beta must be a finite number"),
        (
            |p| p.threshold = f32::NAN,
            "threshold must be a finite number",
        ),
        (
            |p| p.threshold = f32::INFINITY,
            "threshold must be a finite number",
        ),
        (
            |p| p.surrogate = Surrogate::FastSigmoid { slope: 0.0 },
            "surrogate slope must be a finite number > 0",
        ),
        (
            |p| p.surrogate = Surrogate::Atan { alpha: f32::NAN },
            "surrogate alpha must be a finite number > 0",
        ),
    ];
    for (edit, want) in edits {
        let mut bad = spec.clone();
        if let Some(Op::Lif(p)) = bad.layers.iter_mut().rev().map(|l| &mut l.op).next() {
            edit(p);
        }
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("LIF layer `lif3`") && e.contains(want), "{e}");
    }
    let mut negative = spec.clone();
    if let Some(Op::Lif(p)) = negative.layers.iter_mut().rev().map(|l| &mut l.op).next() {
        p.threshold = -0.25;
    }
    negative.validate().unwrap();
    for t in [0.0, -1.0, f32::NAN] {
        let o = PresetOptions {
            threshold: Some(t),
            ..Default::default()
        };
        let e = build_preset("csnn-1step", &fashion(), &o)
            .unwrap_err()
            .to_string();
        assert!(e.contains("threshold must be a finite number > 0"), "{e}");
    }
}

#[test]
fn knobs_that_do_not_apply_are_refused() {
    for info in PRESETS {
        let shape = if info.needs_1d {
            DataShape {
                dataset: "mnist1d".into(),
                sample_shape: vec![1, 40],
                num_classes: 10,
                normalize: None,
                spike_scale: None,
            }
        } else {
            fashion()
        };
        let beta = PresetOptions {
            beta: Some(0.5),
            ..Default::default()
        };
        let r = build_preset(info.name, &shape, &beta);
        assert_eq!(r.is_ok(), info.spiking, "{}: --beta", info.name);
        if let Err(e) = r {
            assert!(e.to_string().contains("no LIF neurons"), "{e}");
        }
        let threshold = PresetOptions {
            threshold: Some(0.5),
            ..Default::default()
        };
        let r = build_preset(info.name, &shape, &threshold);
        assert_eq!(r.is_ok(), info.spiking, "{}: --threshold", info.name);
        let count = PresetOptions {
            readout: Some(Readout::SpikeCount),
            ..Default::default()
        };
        let ends_in_lif = matches!(
            info.name,
            "snn-1step" | "snn-temporal" | "csnn-1step" | "csnn-temporal"
        );
        let r = build_preset(info.name, &shape, &count);
        assert_eq!(r.is_ok(), ends_in_lif, "{}: --readout", info.name);
    }
}

/// Reset modes parse (`subtract`, `zero`, `to:V`, `none`), old specs without `reset` /
/// `per_neuron` load as snnTorch's default neuron, and the new fields round-trip through JSON.
#[test]
fn reset_modes_parse_and_old_specs_load_unchanged() {
    use joulebench_models::{ModelSpec, Reset};
    assert_eq!(Reset::parse("subtract").unwrap(), Reset::Subtract);
    assert_eq!(Reset::parse("zero").unwrap(), Reset::To { v_reset: 0.0 });
    assert_eq!(
        Reset::parse("to:-0.5").unwrap(),
        Reset::To { v_reset: -0.5 }
    );
    assert_eq!(Reset::parse("none").unwrap(), Reset::None);
    for bad in ["reset", "to:", "to:nan", "zero:1"] {
        let e = Reset::parse(bad).unwrap_err().to_string();
        assert!(e.contains(bad), "{e}");
    }
    let spec = build_preset("snn-temporal", &fashion(), &PresetOptions::default()).unwrap();
    // a spec.json written before the fields existed
    let mut old: serde_json::Value = serde_json::from_str(&spec.to_json()).unwrap();
    for l in old["layers"].as_array_mut().unwrap() {
        if l["op"]["type"] == "lif" {
            let op = l["op"].as_object_mut().unwrap();
            assert!(op.remove("reset").is_some() && op.remove("per_neuron").is_some());
        }
    }
    let loaded = ModelSpec::from_json(&old.to_string()).unwrap();
    assert_eq!(loaded, spec);
    // new fields survive a round trip, and a per-neuron layer's vectors are parameters
    let mut new = spec.clone();
    for l in new.layers.iter_mut() {
        if let Op::Lif(p) = &mut l.op {
            p.reset = Reset::To { v_reset: -0.25 };
            p.per_neuron = true;
        }
    }
    let json = new.to_json();
    assert!(json.contains("\"v_reset\": -0.25"), "{json}");
    assert_eq!(ModelSpec::from_json(&json).unwrap(), new);
    let shapes = new.layer_shapes().unwrap();
    let lif = new
        .layers
        .iter()
        .position(|l| matches!(l.op, Op::Lif(_)))
        .unwrap();
    let neurons: usize = shapes[lif].iter().product();
    let name = &new.layers[lif].name;
    let params = new.parameters();
    for suffix in ["beta", "threshold", "v_reset"] {
        let p = params
            .iter()
            .find(|p| p.name == format!("{name}.{suffix}"))
            .unwrap_or_else(|| panic!("{name}.{suffix} missing from {params:?}"));
        assert_eq!(p.shape, vec![neurons]);
    }
    assert_eq!(
        new.num_parameters(),
        spec.num_parameters()
            + 3 * shapes
                .iter()
                .zip(&new.layers)
                .filter(|(_, l)| matches!(l.op, Op::Lif(_)))
                .map(|(s, _)| s.iter().product::<usize>())
                .sum::<usize>()
    );
    // random weights start the vectors at the scalars; a missing one is an error naming it
    let mut w = joulebench_models::Weights::random(&new, 1);
    assert!(w
        .get(&format!("{name}.v_reset"))
        .unwrap()
        .data
        .iter()
        .all(|&v| v == -0.25));
    w.check_against(&new).unwrap();
    w.tensors.remove(&format!("{name}.threshold"));
    let e = w.check_against(&new).unwrap_err().to_string();
    assert!(e.contains(&format!("{name}.threshold")), "{e}");
}

/// A synaptic current (`synapse: α`, current-based neurons): absent from old specs (they load
/// without one), round-trips through JSON, is a `{layer}.alpha` vector of a per-neuron layer
/// (random weights start it at α), counts 2 more ops per neuron and step, and a non-finite α is
/// refused.
#[test]
fn synaptic_current_round_trips_and_is_checked() {
    use joulebench_models::{LifNeurons, ModelSpec, OpCounts};
    let spec = build_preset("snn-temporal", &fashion(), &PresetOptions::default()).unwrap();
    assert!(!spec.to_json().contains("synapse"), "absent unless set");
    let mut cuba = spec.clone();
    for l in cuba.layers.iter_mut() {
        if let Op::Lif(p) = &mut l.op {
            p.synapse = Some(0.75);
            p.per_neuron = true;
        }
    }
    let json = cuba.to_json();
    assert!(json.contains("\"synapse\": 0.75"), "{json}");
    assert_eq!(ModelSpec::from_json(&json).unwrap(), cuba);
    let lif = cuba
        .layers
        .iter()
        .position(|l| matches!(l.op, Op::Lif(_)))
        .unwrap();
    let name = cuba.layers[lif].name.clone();
    let w = joulebench_models::Weights::random(&cuba, 2);
    let alpha = w.get(&format!("{name}.alpha")).unwrap();
    assert!(alpha.data.iter().all(|&a| a == 0.75));
    let Op::Lif(p) = cuba.layers[lif].op else {
        unreachable!()
    };
    let n = LifNeurons::resolve(&name, &p, &w, alpha.data.len()).unwrap();
    assert!(n.has_synapse() && n.uniform_subtract().is_none());
    // J = 0.75·J + I over three steps: 1, 1.75, 1.3125
    let (mut j, mut seen) = (vec![0.0f32; n.len()], vec![]);
    for i in [1.0f32, 1.0, 0.0] {
        n.synapse_step(&mut j, &vec![i; n.len()]);
        seen.push(j[0]);
    }
    assert_eq!(seen, [1.0, 1.75, 1.3125]);
    let lif_ops = |s: &ModelSpec| OpCounts::of(s).unwrap().layers[lif].other.lif_ops;
    assert_eq!(lif_ops(&cuba), lif_ops(&spec) / 4 * 6);
    let mut bad = cuba.clone();
    if let Op::Lif(p) = &mut bad.layers[lif].op {
        p.synapse = Some(f32::NAN);
    }
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("synapse alpha"), "{e}");
}
