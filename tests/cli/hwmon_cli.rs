//! hwmon sensors as a user meets them (real child processes, fake `/sys/class/hwmon` trees):
//! `meters --hwmon-root` lists a Jetson's rails with only the module input in the total,
//! `profile --meter hwmon` measures from an amd_energy socket counter, `measure --meter hwmon`
//! integrates a power-only rail, and `auto` falls back to hwmon when RAPL is missing.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{joulebench as jb, make_run};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(args: &[&str]) -> Output {
    let o = jb(args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    o
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `root/hwmonN` with `name` and the given files.
fn device(root: &Path, n: u32, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = root.join(format!("hwmon{n}"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
    for (f, v) in files {
        std::fs::write(d.join(f), format!("{v}\n")).unwrap();
    }
    d
}

/// A Jetson Orin NX as mainline kernels show it: a coretemp-like sensor without energy, and the
/// ina3221 with VDD_IN (5 V × 1.2 A), VDD_CPU_GPU_CV and VDD_SOC.
fn jetson(root: &Path) {
    device(root, 0, "cpu_thermal", &[("temp1_input", "41000")]);
    device(
        root,
        1,
        "ina3221",
        &[
            ("in1_label", "VDD_IN"),
            ("in1_input", "5000"),
            ("curr1_input", "1200"),
            ("in2_label", "VDD_CPU_GPU_CV"),
            ("in2_input", "5000"),
            ("curr2_input", "400"),
            ("in3_label", "VDD_SOC"),
            ("in3_input", "5000"),
            ("curr3_input", "300"),
        ],
    );
}

#[test]
fn meters_lists_the_jetson_rails_with_only_vdd_in_in_the_total() {
    let tmp = tempfile::tempdir().unwrap();
    jetson(tmp.path());
    let root = tmp.path().to_str().unwrap();
    let none = tmp.path().join("no-powercap");
    let none = none.to_str().unwrap();
    let v = json(&ok(&[
        "meters",
        "--json",
        "--hwmon-root",
        root,
        "--powercap-root",
        none,
    ]));
    let hwmon = v
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "hwmon")
        .unwrap_or_else(|| panic!("no hwmon entry: {v}"));
    assert_eq!(hwmon["available"], true, "{hwmon}");
    let rails: Vec<(&str, &str, bool)> = hwmon["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap(),
                d["kind"].as_str().unwrap(),
                d["in_total"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rails,
        [
            ("hwmon1/ina3221/VDD_IN", "module", true),
            ("hwmon1/ina3221/VDD_CPU_GPU_CV", "rail", false),
            ("hwmon1/ina3221/VDD_SOC", "rail", false),
        ]
    );
    assert_eq!(hwmon["domains"][0]["update_period_s"], 0.02);
    assert!(
        hwmon["notes"][0]
            .as_str()
            .unwrap()
            .contains("hwmon0 (cpu_thermal)"),
        "{hwmon}"
    );
    // the text: each rail, in total or not, with how it is read
    let o = ok(&["meters", "--hwmon-root", root, "--powercap-root", none]);
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("hwmon: available"), "{t}");
    let line = |name: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line: {t}"))
            .to_string()
    };
    assert!(line("hwmon1/ina3221/VDD_IN ").contains(" in total"), "{t}");
    for rail in ["hwmon1/ina3221/VDD_CPU_GPU_CV", "hwmon1/ina3221/VDD_SOC"] {
        let l = line(rail);
        assert!(
            l.contains("not in total") && l.contains("inside the module input VDD_IN"),
            "{l}"
        );
    }
    assert!(
        line("hwmon1/ina3221/VDD_IN ").contains("polled every 20 ms"),
        "{t}"
    );
    // no tree: a reason, exit 0
    let missing = tmp.path().join("none");
    let o = ok(&["meters", "--hwmon-root", missing.to_str().unwrap()]);
    assert!(
        text(&o).contains("hwmon: unavailable — no hwmon interface at"),
        "{}",
        text(&o)
    );
}

/// Advances `dir/energy1_input` by `step` µJ every 2 ms until `stop` (each write a temp file
/// renamed over the counter, so a read never sees half a number).
fn tick(dir: PathBuf, file: &'static str, start: u64, step: u64, stop: Arc<AtomicBool>) {
    let mut e = start;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(2));
        e += step;
        let tmp = dir.join(".tick.tmp");
        std::fs::write(&tmp, format!("{e}\n")).unwrap();
        std::fs::rename(&tmp, dir.join(file)).unwrap();
    }
}

/// `profile --meter hwmon` end to end on an amd_energy tree: the socket counter moves (a
/// background thread, 10 W), a core counter stays still and is not counted.
#[test]
fn profile_measures_with_hwmon() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp1d");
    make_run(&run, "mlp1d", None);
    let tree = tmp.path().join("hwmon");
    let amd = device(
        &tree,
        0,
        "amd_energy",
        &[
            ("energy1_label", "Ecore000"),
            ("energy1_input", "5000"),
            ("energy2_label", "Esocket0"),
            ("energy2_input", "1000000"),
        ],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let stop = stop.clone();
        std::thread::spawn(move || tick(amd, "energy2_input", 1_000_000, 20_000, stop))
    };
    let o = jb(&[
        "profile",
        run.to_str().unwrap(),
        "--backend",
        "native",
        "--meter",
        "hwmon",
        "--hwmon-root",
        tree.to_str().unwrap(),
        "--idle",
        "0",
        "--min-window",
        "0.05",
        "--windows",
        "5",
        "--queries",
        "20",
        "--duration",
        "0",
        "--json",
    ]);
    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v = json(&o);
    let m = &v["energy"]["measured"];
    assert_eq!(m["meter"], "hwmon", "{m}");
    assert_eq!(m["source"]["type"], "measured");
    let names: Vec<(&str, bool)> = m["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap(),
                d["in_total"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("hwmon0/amd_energy/Ecore000", false),
            ("hwmon0/amd_energy/Esocket0", true)
        ]
    );
    assert!(
        v["energy"]["meter_note"]
            .as_str()
            .unwrap()
            .starts_with("hwmon requested"),
        "{}",
        v["energy"]["meter_note"]
    );
    let windows = m["windows"].as_array().unwrap();
    assert!(windows.len() >= 5, "{m}");
    for w in windows {
        // the socket moved, the still core counts 0 J and is not in the total
        assert_eq!(w["joules"][0], 0.0, "{w}");
        assert!(w["total_j"].as_f64().unwrap() > 0.0, "{w}");
        assert_eq!(w["total_j"], w["joules"][1], "{w}");
    }
    let first = &v["energy"]["energy_sources"][0];
    assert_eq!(first["kind"], "measured", "{first}");
    assert_eq!(first["source"], "hwmon (hwmon0/amd_energy/Esocket0)");
    assert!(
        first["joules_per_inference"].as_f64().unwrap() > 0.0,
        "{first}"
    );
}

/// `measure --meter hwmon` integrates a Jetson's power-only VDD_IN over the command; `auto`
/// without RAPL falls back to it (the whole module, on a CPU command).
#[test]
fn measure_integrates_a_power_rail_and_auto_falls_back_to_hwmon() {
    let tmp = tempfile::tempdir().unwrap();
    jetson(tmp.path());
    let root = tmp.path().to_str().unwrap();
    let none = tmp.path().join("no-powercap");
    for meter in ["hwmon", "auto"] {
        let o = ok(&[
            "measure",
            "--meter",
            meter,
            "--hwmon-root",
            root,
            "--powercap-root",
            none.to_str().unwrap(),
            "--idle",
            "0",
            "--cpu-watts",
            "5",
            "--no-calibration",
            "--json",
            "--",
            "sh",
            "-c",
            "sleep 0.2",
        ]);
        let v = json(&o);
        let f = v["energy_sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "measured")
            .unwrap_or_else(|| panic!("--meter {meter}: nothing measured: {v}"));
        assert_eq!(f["source"], "hwmon (hwmon1/ina3221/VDD_IN)", "{f}");
        // 6 W (5 V × 1.2 A) over a window of at least the 0.2 s sleep, well under 10 s
        let j = f["joules_per_inference"].as_f64().unwrap();
        assert!((1.2..60.0).contains(&j), "--meter {meter}: {j} J");
        let note = v["meter_note"].as_str().unwrap();
        if meter == "auto" {
            assert!(
                note.contains("no rapl meter") && note.contains("hwmon instead"),
                "{note}"
            );
        }
    }
}
