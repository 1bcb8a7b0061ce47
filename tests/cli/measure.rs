//! `joulebench measure -- CMD…` as a user runs it: real child processes, the JSON result, failed
//! and unstartable commands.

use std::path::Path;
use std::process::Output;

use crate::common::{joulebench as jb, refused};

const BUSY: &str = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn figure<'a>(v: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    v["energy_sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} figure in {v}"))
}

#[test]
fn json_with_count_gives_the_modelled_energy_per_prediction() {
    let o = jb(&[
        "measure",
        "--json",
        "--count",
        "10",
        "--meter",
        "none",
        "--cpu-watts",
        "5",
        "--no-calibration",
        "--",
        "sh",
        "-c",
        BUSY,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["exit"]["code"], 0);
    assert_eq!(v["exit"]["success"], true);
    assert_eq!(v["count"], 10);
    assert_eq!(v["command"][0], "sh");
    let cpu = v["cpu_seconds"].as_f64().unwrap();
    assert!(cpu > 0.0, "{v}");
    let m = figure(&v, "modelled");
    let j = m["joules_per_inference"].as_f64().unwrap();
    let want = 5.0 * cpu / 10.0;
    assert!((j - want).abs() <= 1e-9 * want, "{j} J vs {want} J");
    assert!(v["energy_sources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["kind"] != "measured"));
}

#[test]
fn the_summary_names_each_kind_first_and_a_fake_counter_is_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m.json");
    for (dir, name) in [("intel-rapl:0", "package-0"), ("intel-rapl:0:0", "dram")] {
        let d = tmp.path().join("powercap").join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("name"), name).unwrap();
        std::fs::write(d.join("energy_uj"), "1000").unwrap();
        std::fs::write(d.join("max_energy_range_uj"), "262143328850").unwrap();
    }
    let root = tmp.path().join("powercap");
    let o = jb(&[
        "measure",
        "--meter",
        "rapl",
        "--powercap-root",
        root.to_str().unwrap(),
        "--idle",
        "0.05",
        "--cpu-watts",
        "5",
        "--no-calibration",
        "--count",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "exit 0",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let measured = lines.iter().find(|l| l.starts_with("measured ")).expect(&t);
    assert!(
        measured.contains("per prediction") && measured.contains("idle"),
        "{measured}"
    );
    let modelled = lines.iter().find(|l| l.starts_with("modelled ")).expect(&t);
    assert!(modelled.contains("not a measurement"), "{modelled}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(figure(&v, "measured")["windows"], 1);
    assert!(Path::new(&out).exists());
}

#[test]
fn a_failing_command_prints_its_results_and_exits_non_zero() {
    let args = [
        "measure",
        "--meter",
        "none",
        "--no-calibration",
        "--cpu-watts",
        "5",
        "--",
        "sh",
        "-c",
        "exit 3",
    ];
    let o = jb(&args);
    let err = refused(&o, &args, &["exit code 3", "failed"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("FAILED: exit code 3"), "{stdout}\n{err}");
    assert!(stdout.contains("modelled "), "{stdout}");
    assert!(stdout.contains("CPU "), "{stdout}");
}

#[test]
fn a_missing_program_is_one_clear_error() {
    let args = ["measure", "--meter", "none", "--", "/no/such/program"];
    let err = refused(&jb(&args), &args, &["/no/such/program"]);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error:"), "{err}");
    // and no command at all is a usage error
    refused(&jb(&["measure"]), &["measure"], &["CMD"]);
}
