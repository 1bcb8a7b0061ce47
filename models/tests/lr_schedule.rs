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
