//! `joulebench report DIR` end to end through the binary: rebuilds the page from a saved
//! results.json plus a sweep folder; a folder with neither is a clear error and exit code 1.

use std::process::Command;

fn joulebench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
}

#[test]
fn report_rebuilds_page_from_results_and_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = joulebench_report::ReportData::new("cli test");
    data.dataset = "mnist1d".into();
    data.models.push(joulebench_report::ModelResult {
        name: "mlp1d".into(),
        preset: "mlp1d".into(),
        params: 3274,
        macs: 3200,
        flops: 6400,
        test_accuracy: Some(0.67),
        ..Default::default()
    });
    std::fs::write(dir.path().join("results.json"), data.to_json()).unwrap();
    let sweep = dir.path().join("sweeps").join("width");
    std::fs::create_dir_all(&sweep).unwrap();
    let rows: Vec<_> = [8usize, 64, 256]
        .iter()
        .map(|w| {
            serde_json::json!({"name": format!("w{w}"), "status": "done", "model": "mlp-sweep", "width": w, "depth": 1,
                "input": "identity", "macs": 40 * w + 10 * w, "params": 51 * w, "test_acc": 0.5 + (*w as f64).ln() / 30.0})
        })
        .collect();
    std::fs::write(
        sweep.join("summary.json"),
        serde_json::json!({"description": "Width study", "rows": rows}).to_string(),
    )
    .unwrap();

    let out = joulebench().arg("report").arg(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("Width study") && html.contains("<svg"));
    assert!(dir.path().join("plots/sweep-width-width.png").is_file());
    assert!(dir.path().join("plots/accuracy.svg").is_file());
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    // Running it again gives the same page.
    let out = joulebench().arg("report").arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("report.html")).unwrap(),
        html
    );
}

#[test]
fn report_on_empty_or_corrupt_folder_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = joulebench().arg("report").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no results.json"), "{err}");

    std::fs::write(dir.path().join("results.json"), b"\x00garbage").unwrap();
    let out = joulebench().arg("report").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("results.json") && !err.contains("panicked"),
        "{err}"
    );
}
