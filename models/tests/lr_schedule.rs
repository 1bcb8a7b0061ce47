use joulebench_models::LrSchedule;

#[test]
fn cosine_anneals_from_lr_to_zero_monotonically() {
    let s = LrSchedule::Cosine;
    let total = 1000;
    assert_eq!(s.lr_at(0.01, 0, total), 0.01);
    assert!((s.lr_at(0.01, total / 2, total) - 0.005).abs() < 1e-12);
    assert!(s.lr_at(0.01, total, total).abs() < 1e-12);
    let mut prev = f64::INFINITY;
    for k in 0..=total {
        let lr = s.lr_at(0.01, k, total);
        assert!(lr <= prev && lr >= 0.0, "step {k}: {lr} after {prev}");
        prev = lr;
    }
    // past the end it stays at zero instead of rising again
    assert!(s.lr_at(0.01, total + 300, total).abs() < 1e-12);
}

#[test]
fn constant_keeps_lr_and_names_parse_back() {
    assert_eq!(LrSchedule::Constant.lr_at(0.003, 17, 20), 0.003);
    for s in [LrSchedule::Constant, LrSchedule::Cosine] {
        assert_eq!(LrSchedule::parse(s.name()).unwrap(), s);
    }
    assert!(LrSchedule::parse("linear").is_err());
}

/// The spelled enums: every name parses back to its value, aliases too, and an unknown
/// spelling names itself and the accepted names.
#[test]
fn spelled_enums_round_trip_and_list_their_names() {
    use joulebench_models::{Augment, Loss, OptimizerKind};
    for o in [
        OptimizerKind::Adam,
        OptimizerKind::Sgd,
        OptimizerKind::AdamW,
    ] {
        assert_eq!(OptimizerKind::parse(o.name()).unwrap(), o);
    }
    for a in [
        Augment::None,
        Augment::Flip,
        Augment::Shift(1),
        Augment::Shift(8),
    ] {
        assert_eq!(Augment::parse(&a.name()).unwrap(), a);
    }
    assert_eq!(Augment::parse("shift").unwrap(), Augment::Shift(2));
    // train.json spells them as the command line does
    assert_eq!(
        serde_json::to_string(&OptimizerKind::AdamW).unwrap(),
        "\"adamw\""
    );
    assert_eq!(
        serde_json::to_string(&Augment::Shift(3)).unwrap(),
        "\"shift:3\""
    );
    assert_eq!(serde_json::to_string(&Augment::Flip).unwrap(), "\"flip\"");
    assert_eq!(
        serde_json::from_str::<Augment>("\"shift:3\"").unwrap(),
        Augment::Shift(3)
    );
    assert_eq!(
        serde_json::from_str::<OptimizerKind>("\"adamw\"").unwrap(),
        OptimizerKind::AdamW
    );
    assert!(serde_json::from_str::<Augment>("\"shift:0\"").is_err());
    for bad in [
        "shift:0", "shift:9", "shift:-1", "shift:x", "flip:2", "rotate",
    ] {
        let e = Augment::parse(bad).unwrap_err().to_string();
        assert!(e.contains(&format!("`{bad}`")), "{e}");
    }
    for l in [Loss::Readout, Loss::PerStep] {
        assert_eq!(Loss::parse(l.name()).unwrap(), l);
    }
    assert_eq!(Augment::parse("hflip").unwrap(), Augment::Flip);
    assert_eq!(Loss::parse("per_step").unwrap(), Loss::PerStep);
    for (e, want) in [
        (
            OptimizerKind::parse("rmsprop").unwrap_err().to_string(),
            "unknown optimizer `rmsprop` (expected adam, sgd or adamw)",
        ),
        (
            LrSchedule::parse("step").unwrap_err().to_string(),
            "unknown learning-rate schedule `step` (expected constant or cosine)",
        ),
        (
            Loss::parse("mse").unwrap_err().to_string(),
            "unknown loss `mse` (expected readout or per-step)",
        ),
    ] {
        assert!(e.contains(want), "{e}");
    }
}
