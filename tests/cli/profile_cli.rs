//! `joulebench profile` and `joulebench meters` as a user runs them (real child processes).

use std::path::Path;
use std::process::Output;

use joulebench_models::RunDir;

use crate::common::{joulebench as jb, make_run};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `joulebench profile <target> <flags…>`, which must succeed.
fn profile_ok(target: &Path, flags: &[&str]) -> Output {
    let mut args = vec!["profile", target.to_str().unwrap()];
    args.extend_from_slice(flags);
    let o = jb(&args);
    assert!(o.status.success(), "{}", text(&o));
    o
}

/// Stdout parsed as JSON.
fn stdout_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

fn fake_powercap(root: &Path) {
    for (dir, name, e) in [
        ("intel-rapl:0", "package-0", 1000u64),
        ("intel-rapl:0:0", "dram", 10),
    ] {
        let d = root.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("name"), name).unwrap();
        std::fs::write(d.join("energy_uj"), e.to_string()).unwrap();
        std::fs::write(d.join("max_energy_range_uj"), "262143328850").unwrap();
    }
}

#[test]
fn meters_lists_domains_or_why_unavailable() {
    let tmp = tempfile::tempdir().unwrap();
    fake_powercap(tmp.path());
    let o = jb(&[
        "meters",
        "--json",
        "--powercap-root",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = v.as_array().unwrap();
    let rapl = list.iter().find(|m| m["name"] == "rapl").unwrap();
    assert_eq!(rapl["available"], true);
    let names: Vec<&str> = rapl["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["package-0", "package-0/dram"]);
    // the counter's energy unit (stated per vendor: 2^-14 J Intel, 2^-16 J AMD), not 1 µJ
    let res = rapl["domains"][0]["resolution_j"].as_f64().unwrap();
    assert!(res == 1.0 / 16384.0 || res == 1.0 / 65536.0, "{res}");
    let nvml = list.iter().find(|m| m["name"] == "nvml").unwrap();
    // Which case applies is decided from the machine, not from the answer: without the NVIDIA
    // kernel driver NVML is unavailable and the reason names the missing library or driver;
    // with it, the GPUs' domains are listed.
    if Path::new("/proc/driver/nvidia/version").exists() {
        assert_eq!(nvml["available"], true, "NVIDIA driver loaded: {nvml}");
        assert!(!nvml["domains"].as_array().unwrap().is_empty(), "{nvml}");
    } else {
        assert_eq!(nvml["available"], false, "no NVIDIA driver: {nvml}");
        let reason = nvml["reason"].as_str().unwrap();
        assert!(
            reason.contains("libnvidia-ml") && reason.contains("NVIDIA"),
            "the reason must name what is missing: {reason}"
        );
    }
    // no powercap tree: a reason, exit 0 (listing is not an error)
    let o = jb(&[
        "meters",
        "--powercap-root",
        tmp.path().join("none").to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(
        text(&o).contains("rapl: unavailable — no powercap interface"),
        "{}",
        text(&o)
    );
}

#[test]
fn profile_run_folder_with_tract_and_native() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("ann");
    make_run(&run, "ann", None);
    // ann on [1, 40] by hand: 40·256 + 256·128 + 128·10 = 10,240 + 32,768 + 1,280 MACs;
    // parameters add the biases 256 + 128 + 10
    let (macs, params) = (44_288u64, 44_288u64 + 394);
    let out = tmp.path().join("res").join("profile.json");
    let o = profile_ok(
        &run,
        &[
            "--backend",
            "tract",
            "--batch",
            "1,4",
            "--queries",
            "20",
            "--duration",
            "0",
            "--warmup",
            "2",
            "--meter",
            "estimate",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let v = stdout_json(&o);
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["backend"]["name"], "tract");
    let lat = v["latency"].as_array().unwrap();
    assert_eq!(lat.len(), 2);
    assert_eq!(lat[1]["batch"], 4);
    assert!(lat[0]["queries"].as_u64().unwrap() >= 20);
    assert!(lat[0]["per_query_s"]["p50"].as_f64().unwrap() > 0.0);
    assert!(lat[0]["harness_overhead_s"]["n"].as_u64().unwrap() >= 20);
    assert_eq!(v["counts"]["macs"].as_u64().unwrap(), macs);
    assert_eq!(v["onnx_counts"]["counts"]["macs"].as_u64().unwrap(), macs);
    assert_eq!(
        v["onnx_counts"]["counts"]["params"].as_u64().unwrap(),
        params
    );
    assert!(
        v["energy"]["measured"].is_null(),
        "estimate requested: nothing may look measured"
    );
    assert_eq!(v["energy"]["estimate"]["label"], "estimate");
    assert!(
        v["system"]["cpu_model"].is_string() && v["system"]["memory_bytes"].as_u64().unwrap() > 0
    );
    // --out holds the same result
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(saved, v);

    // the table, native backend
    let o = profile_ok(
        &run,
        &[
            "--backend",
            "native",
            "--queries",
            "10",
            "--duration",
            "0",
            "--meter",
            "estimate",
        ],
    );
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(
        t.contains("ann on native") && t.contains("latency") && t.contains("estimate (horowitz"),
        "{t}"
    );
}

/// `profile --meter rapl` end to end on a fake powercap tree whose counters a background thread
/// advances (10 W package, 1 W DRAM; each write is a temp file renamed over `energy_uj`, so a
/// read never sees half a number): the measured figure comes from the counter.
#[test]
fn profile_with_rapl_on_a_fake_tree() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp1d");
    make_run(&run, "mlp1d", None);
    let tree = tmp.path().join("powercap");
    fake_powercap(&tree);
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (stop, tree) = (stop.clone(), tree.clone());
        std::thread::spawn(move || {
            let zones = [
                ("intel-rapl:0", 1000u64, 20_000u64),
                ("intel-rapl:0:0", 10, 2_000),
            ];
            let mut energy: Vec<u64> = zones.iter().map(|z| z.1).collect();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(2));
                for (k, (dir, _, step)) in zones.iter().enumerate() {
                    energy[k] += step; // µJ per 2 ms: 10 W and 1 W
                    let d = tree.join(dir);
                    let tmp = d.join("energy_uj.tmp");
                    std::fs::write(&tmp, format!("{}\n", energy[k])).unwrap();
                    std::fs::rename(&tmp, d.join("energy_uj")).unwrap();
                }
            }
        })
    };
    let started = std::time::Instant::now();
    let o = jb(&[
        "profile",
        run.to_str().unwrap(),
        "--backend",
        "native",
        "--meter",
        "rapl",
        "--powercap-root",
        tree.to_str().unwrap(),
        "--idle",
        "0.05",
        "--settle",
        "0.05",
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
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(took.as_secs_f64() < 10.0, "took {took:?}");
    let v = stdout_json(&o);
    let measured = v["energy"]["energy_sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "measured")
        .unwrap_or_else(|| panic!("no measured figure: {}", v["energy"]));
    let source = measured["source"].as_str().unwrap();
    assert!(
        source.starts_with("rapl (") && source.contains("package-0"),
        "{source}"
    );
    assert!(measured["joules_per_inference"]
        .as_f64()
        .unwrap()
        .is_finite());
    // idle included, the counter moved: a positive energy per inference
    assert!(
        measured["total_joules"].as_f64().unwrap() > 0.0,
        "{measured}"
    );
    let m = &v["energy"]["measured"];
    assert_eq!(m["meter"], "rapl");
    assert_eq!(m["windows"].as_array().unwrap().len(), 5);
    assert!(m["windows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["total_j"].as_f64().unwrap() > 0.0));
    assert!(
        m["warmup_window"].is_object() && m["idle_after"].is_object(),
        "{m}"
    );
    // the counters move at 11 W at most (less when the ticker is slowed down)
    let idle_w = measured["idle_power_w"].as_f64().unwrap();
    assert!((0.0..=12.0).contains(&idle_w), "{idle_w}");
}

#[test]
fn auto_meter_falls_back_to_the_estimate_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp1d");
    make_run(&run, "mlp1d", None);
    let o = profile_ok(
        &run,
        &[
            "--backend",
            "native",
            "--queries",
            "5",
            "--duration",
            "0",
            "--meter",
            "auto",
            "--powercap-root",
            tmp.path().join("no-powercap").to_str().unwrap(),
            "--hwmon-root",
            tmp.path().join("no-hwmon").to_str().unwrap(),
            "--json",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("auto: no rapl meter")
            && err.contains("modelled from measured CPU time")
            && err.contains("never measured"),
        "{err}"
    );
    let v = stdout_json(&o);
    assert!(v["energy"]["meter_note"]
        .as_str()
        .unwrap()
        .contains("no powercap interface"));
    let kinds: Vec<&str> = v["energy"]["energy_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["modelled", "estimate"]);
}

/// Without a counter, the modelled energy follows the engine: two engines running the same model
/// (same op counts, so the same estimate) get modelled energies in the ratio of their measured CPU
/// times, and the slower engine costs more.
#[test]
fn modelled_energy_follows_the_engines_cpu_time() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp1d");
    make_run(&run, "mlp1d", None);
    let calib = tmp.path().join("no-calibrations");
    let fig = |backend: &str| {
        let v = stdout_json(&profile_ok(
            &run,
            &[
                "--backend",
                backend,
                "--queries",
                "2000",
                "--duration",
                "0.3",
                "--meter",
                "estimate",
                // a spec-sheet model (concave), not this machine's unknown CPU
                "--tdp",
                "90",
                "--cores",
                "8",
                "--logical-cpus",
                "16",
                "--calibration-dir",
                calib.to_str().unwrap(),
                "--json",
            ],
        ));
        let l = &v["latency"][0];
        let cpu = l["cpu_seconds_per_inference"].as_f64().unwrap();
        let e = &v["energy"];
        let m = e["modelled"]["joules_per_inference"].as_f64().unwrap();
        let est = e["estimate"]["joules_per_inference_estimate_low"]
            .as_f64()
            .unwrap();
        assert_eq!(e["modelled"]["source"], "spec-sheet power model");
        assert!(cpu > 0.0 && m > 0.0);
        (cpu, m, est)
    };
    let (cpu_n, m_n, est_n) = fig("native");
    let (cpu_t, m_t, est_t) = fig("tract");
    assert_eq!(est_n, est_t, "the estimate does not see the engine");
    let (cpu_ratio, energy_ratio) = (cpu_t / cpu_n, m_t / m_n);
    assert!(
        (energy_ratio / cpu_ratio - 1.0).abs() < 0.10,
        "modelled ratio {energy_ratio:.3} vs CPU-time ratio {cpu_ratio:.3}"
    );
    // tract's per-call overhead makes it several times slower on this tiny model
    assert!(
        energy_ratio > 1.3,
        "tract/native modelled {energy_ratio:.3}"
    );
}

#[test]
fn profile_errors_are_clear_and_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("ann");
    make_run(&run, "ann", None);
    let r = run.to_str().unwrap();
    let nothing = tmp.path().join("nothing").display().to_string();
    let no_powercap = tmp.path().join("x").display().to_string();
    let cases: [(&[&str], &str); 5] = [
        (&["profile", &nothing], "no such run folder or ONNX file"),
        (&["profile", r, "--backend", "warp"], "unknown backend"),
        (&["profile", r, "--meter", "joulemeter"], "unknown meter"),
        (&["profile", r, "--batch", "0"], "at least 1"),
        (
            &[
                "profile",
                r,
                "--meter",
                "rapl",
                "--powercap-root",
                &no_powercap,
            ],
            "no powercap interface",
        ),
    ];
    for (args, want) in cases {
        let o = jb(args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
    }
    let empty = tmp.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let o = jb(&["profile", empty.to_str().unwrap(), "--input-shape", "1,40"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("empty.onnx"), "{}", text(&o));
}

#[test]
fn profile_bare_onnx_and_spiking_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("cnn1d");
    let spec = make_run(&run, "cnn1d", None);
    let onnx = RunDir::new(&run).onnx_path();
    let quick = [
        "--queries",
        "5",
        "--duration",
        "0",
        "--meter",
        "estimate",
        "--json",
    ];
    let v = stdout_json(&profile_ok(
        &onnx,
        &[&["--backend", "tract"][..], &quick].concat(),
    ));
    assert_eq!(
        v["model"]["sample_shape"],
        serde_json::json!(spec.input_shape)
    );
    // cnn1d on [1, 40] by hand: conv1 1→8 k5 gives 8×36 outputs × 5; conv2 8→16 k3 on the
    // pooled 8×18 gives 16×16 outputs × 24; fc 16·8 → 10: 1,440 + 6,144 + 1,280 MACs
    assert_eq!(v["onnx_counts"]["counts"]["macs"].as_u64().unwrap(), 8_864);

    let srun = tmp.path().join("snn");
    let sspec = make_run(&srun, "snn-temporal", Some(3));
    let v = stdout_json(&profile_ok(
        &srun,
        &[&["--backend", "tract", "--batch", "2"][..], &quick].concat(),
    ));
    assert_eq!(v["model"]["spiking"], true);
    assert_eq!(v["model"]["steps"], 3);
    assert!(v["inputs"]["description"]
        .as_str()
        .unwrap()
        .contains("encoded Rate over T = 3"));
    assert_eq!(
        v["counts"]["membrane_updates"].as_u64().unwrap(),
        3 * (256 + 128 + 10)
    );
    assert_eq!(v["counts"]["steps"], sspec.steps);
}

/// The built binary finds ONNX Runtime without `scripts/jb-env`: the library it was built with
/// (the build ran through jb-env, as `make` does); `ORT_DYLIB_PATH` still overrides it.
#[test]
fn the_built_binary_finds_onnx_runtime_on_its_own() {
    // the tests run through scripts/jb-env, which sets the variable for the build too
    if joulebench_testkit::ort_library().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp1d");
    make_run(&run, "mlp1d", None);
    let args = [
        "profile",
        run.to_str().unwrap(),
        "--backend",
        "ort",
        "--queries",
        "3",
        "--duration",
        "0",
        "--meter",
        "estimate",
    ];
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .env_remove("ORT_DYLIB_PATH")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .env("ORT_DYLIB_PATH", tmp.path().join("no-such-lib.so"))
        .output()
        .unwrap();
    crate::common::refused(&o, &args, &["ORT_DYLIB_PATH points at", "no-such-lib.so"]);
}

/// A run folder not exported yet runs on the ONNX engines all the same: it is exported first,
/// with the same file `joulebench export` writes.
#[test]
fn a_run_without_model_onnx_is_exported_on_the_fly() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp1d");
    make_run(&run, "mlp1d", None);
    let onnx = run.join("model.onnx");
    let exported = std::fs::read(&onnx).unwrap();
    std::fs::remove_file(&onnx).unwrap();
    profile_ok(
        &run,
        &[
            "--backend",
            "tract",
            "--queries",
            "3",
            "--duration",
            "0",
            "--meter",
            "estimate",
        ],
    );
    assert!(onnx.is_file(), "model.onnx written");
    // the same graph as the explicit export (make_run's export has no training metadata either)
    let again = std::fs::read(&onnx).unwrap();
    assert_eq!(
        joulebench_models::onnx::summarize_onnx(&again)
            .unwrap()
            .nodes,
        joulebench_models::onnx::summarize_onnx(&exported)
            .unwrap()
            .nodes
    );
}
