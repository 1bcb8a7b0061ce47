//! `joulebench report DIR… --out OUT`: the results of several machines on one page, each row
//! labelled with its machine, each machine in the legend with its CPU, GPU and meters, each
//! energy figure with its own source.

use std::path::Path;
use std::process::Command;

use joulebench_report::{
    EnergyFigure, EnergyKind, GpuInfo, InferenceResult, LatencyStats, ModelResult, ReportData,
};

use crate::common::refused;

fn joulebench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
}

fn figure(kind: EnergyKind, source: &str, j: f64) -> EnergyFigure {
    EnergyFigure {
        kind,
        source: source.into(),
        joules_per_inference: j,
        low: j,
        high: j,
        method: format!("{source} test figure"),
        std_joules: None,
        total_joules: None,
        windows: None,
        window_s: None,
        idle_power_w: None,
        resolution_j: None,
        cpu_seconds_per_inference: None,
        busy_cpus: None,
        watts: None,
    }
}

/// A results folder `dir` as `joulebench run` leaves it on one machine.
fn machine(dir: &Path, cpu: &str, gpu: Option<&str>, meter: &str, energy: EnergyFigure, us: f64) {
    let mut d = ReportData::new("one machine");
    d.dataset = "mnist1d".into();
    d.machine.cpu_model = cpu.into();
    d.machine.logical_cores = 8;
    d.machine.meters = vec![meter.into()];
    d.machine.gpus = gpu
        .map(|g| GpuInfo {
            name: g.into(),
            ..Default::default()
        })
        .into_iter()
        .collect();
    d.models.push(ModelResult {
        name: "mlp1d".into(),
        preset: "mlp1d".into(),
        params: 3274,
        macs: 3200,
        flops: 6400,
        test_accuracy: Some(0.67),
        ..Default::default()
    });
    d.inference.push(InferenceResult {
        model: "mlp1d".into(),
        backend: "tract".into(),
        batch: 1,
        accuracy: Some(0.67),
        latency: Some(LatencyStats {
            queries: 100,
            mean_us: us,
            p50_us: us,
            p99_us: us * 1.5,
            ..Default::default()
        }),
        energy: Some(energy.clone()),
        energy_sources: vec![energy],
        ..Default::default()
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("results.json"), d.to_json()).unwrap();
}

#[test]
fn two_machines_side_by_side_on_one_page() {
    let tmp = tempfile::tempdir().unwrap();
    let (laptop, server) = (tmp.path().join("laptop"), tmp.path().join("server"));
    machine(
        &laptop,
        "Intel Core i7-1185G7",
        None,
        "rapl: package-0",
        figure(EnergyKind::Measured, "rapl (package-0)", 2e-5),
        30.0,
    );
    machine(
        &server,
        "AMD EPYC 7763",
        Some("NVIDIA A100"),
        "nvml: GPU 0",
        figure(EnergyKind::Modelled, "spec-sheet power model", 5e-5),
        12.0,
    );
    let out = tmp.path().join("all");
    let o = joulebench()
        .arg("report")
        .args([&laptop, &server])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 machines (laptop, server)"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for want in [
        "tract @ laptop",
        "tract @ server",
        "Intel Core i7-1185G7",
        "AMD EPYC 7763",
        "NVIDIA A100",
        "rapl: package-0",
        "nvml: GPU 0",
        "rapl (package-0)",
        "spec-sheet power model",
    ] {
        assert!(html.contains(want), "the page lacks `{want}`");
    }
    let merged: ReportData =
        ReportData::from_json(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(merged.machines.len(), 2);
    assert_eq!(
        merged.models.len(),
        1,
        "same model, same architecture: listed once"
    );
    let lap = merged
        .inference
        .iter()
        .find(|r| r.backend == "tract @ laptop")
        .unwrap();
    assert_eq!(lap.energy_sources[0].kind, EnergyKind::Measured);
    assert_eq!(lap.latency.as_ref().unwrap().mean_us, 30.0);
    // the merged folder rebuilds on its own
    let o = joulebench().arg("report").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(out.join("report.html"))
        .unwrap()
        .contains("tract @ server"));
}

#[test]
fn several_folders_need_out_and_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let args = ["report", a.to_str().unwrap(), b.to_str().unwrap()];
    refused(
        &joulebench().args(args).output().unwrap(),
        &args,
        &["--out"],
    );
    let out = tmp.path().join("o");
    let args = [
        "report",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    refused(
        &joulebench().args(args).output().unwrap(),
        &args,
        &["results.json", "missing"],
    );
}
