//! The spiking knobs a user can pick (`--beta`, `--surrogate`, `--readout`) reach the spec, and
//! wrong ones are refused with a message naming them.

use joulebench_models::{build_preset, DataShape, Op, PresetOptions, Readout, Surrogate, PRESETS};

fn fashion() -> DataShape {
    DataShape {
        dataset: "fashion-mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: None,
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
        assert_eq!(p.surrogate, Surrogate::FastSigmoid { slope: 25.0 });
    }
    // defaults untouched without options
    let d = build_preset("csnn-temporal", &fashion(), &PresetOptions::default()).unwrap();
    assert_eq!(d.readout, Readout::MembraneMean);
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
