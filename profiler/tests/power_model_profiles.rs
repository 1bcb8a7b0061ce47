//! The CPU power model against the measured RAPL profiles in the shared data (`cpu-power/`):
//! the shipped shapes are what fitting the data gives, and the errors the docs quote hold —
//! also for the machine a shape was not fitted on.

use joulebench_profiler::power_model::{
    fit_shape, group_by_cpu, median_relative_error, parse_profiles_csv, spec_model, spec_watts,
    CENTRAL, PER_MACHINE,
};

fn profiles() -> Option<Vec<(String, Vec<joulebench_profiler::power_model::ProfilePoint>)>> {
    let dir = joulebench_testkit::shared_data("cpu-power")?;
    let path = dir.join("profiles.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let groups = group_by_cpu(&parse_profiles_csv(&text).unwrap());
    assert_eq!(groups.len(), 2, "two machines in the shared profiles");
    Some(groups)
}

#[test]
fn shipped_shapes_are_the_fits_of_the_shared_profiles() {
    let Some(groups) = profiles() else { return };
    for (name, shape) in PER_MACHINE {
        let (_, pts) = groups
            .iter()
            .find(|(m, _)| m == name)
            .expect("machine present");
        let (fitted, err) = fit_shape(&[pts]);
        eprintln!("{name}: own fit {fitted:?}, median error {:.3}", err[0]);
        assert!(
            (fitted.saturation - shape.saturation).abs() < 0.003
                && (fitted.scale - shape.scale).abs() < 0.003,
            "{name}: fitted {fitted:?}, shipped {shape:?}"
        );
        assert!(err[0] < 0.05, "{name}: own-fit median error {}", err[0]);
    }
    let all: Vec<&[_]> = groups.iter().map(|(_, p)| p.as_slice()).collect();
    let (fitted, errs) = fit_shape(&all);
    eprintln!("both: {fitted:?}, median errors {errs:?}");
    assert!(
        (fitted.saturation - CENTRAL.saturation).abs() < 0.003
            && (fitted.scale - CENTRAL.scale).abs() < 0.003,
        "joint fit {fitted:?}, shipped {CENTRAL:?}"
    );
    // docs/measurements.md quotes these: the central model within 20 % median on both machines
    for e in errs {
        assert!(e < 0.20, "central model median error {e}");
    }
}

#[test]
fn fit_on_one_machine_test_on_the_other() {
    let Some(groups) = profiles() else { return };
    // the model is concave, like the data: far better than TDP × utilisation at low load
    for (i, (name, pts)) in groups.iter().enumerate() {
        let (other_name, other) = &groups[1 - i];
        let (shape, _) = fit_shape(&[pts]);
        let transfer = median_relative_error(other, |p| spec_watts(&p.spec, shape, p.busy));
        let linear = median_relative_error(other, |p| {
            p.spec.tdp_total_w() * p.busy / f64::from(p.spec.logical_cpus)
        });
        eprintln!("fit on {name}, test on {other_name}: median error {transfer:.3} (linear TDP×u: {linear:.3})");
        assert!(transfer < 0.65, "{transfer}");
        // the central model (fitted to both) beats TDP × utilisation on each machine
        let central = median_relative_error(other, |p| spec_watts(&p.spec, CENTRAL, p.busy));
        assert!(central < linear / 2.0, "{central} vs linear {linear}");
        // the spec model's band covers most measured points of both machines
        let covered = other
            .iter()
            .filter(|p| {
                let m = spec_model(&p.spec, p.busy);
                m.low * 0.95 <= p.watts && p.watts <= m.high * 1.05
            })
            .count();
        assert!(covered * 2 >= other.len(), "{covered} of {}", other.len());
    }
}
