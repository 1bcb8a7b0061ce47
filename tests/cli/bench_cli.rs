//! `joulebench bench backends`, `bench macs` and `bench table` as a user runs them (real child
//! processes, tiny repeat counts): the structure of their outputs, not the timings.

use std::path::Path;
use std::process::{Command, Output};

use joulebench_models::Weights;
use serde_json::{json, Value};

fn jb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .output()
        .expect("run joulebench")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

const QUICK: [&str; 8] = [
    "--repeats",
    "3",
    "--min-seconds",
    "0",
    "--warmup",
    "1",
    "--warmup-seconds",
    "0",
];

/// Checks one timing object: repeats and ordered percentiles.
fn check_timing(t: &Value, min_repeats: u64, what: &str) {
    let f = |k: &str| {
        t[k].as_f64()
            .unwrap_or_else(|| panic!("{what}: {k} missing"))
    };
    assert!(t["repeats"].as_u64().unwrap() >= min_repeats, "{what}");
    assert!(f("min_us") > 0.0, "{what}");
    assert!(f("min_us") <= f("p10_us") + 1e-9, "{what}: min ≤ p10");
    assert!(f("p10_us") <= f("median_us") + 1e-9, "{what}: p10 ≤ median");
    assert!(f("median_us") <= f("p90_us") + 1e-9, "{what}: median ≤ p90");
    assert!(f("p90_us") <= f("max_us") + 1e-9, "{what}: p90 ≤ max");
}

#[test]
fn bench_backends_writes_rows_models_inputs_and_a_table_that_merges_peers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let out_s = out.to_str().unwrap();
    let mut args = vec![
        "bench",
        "backends",
        "--steps",
        "3",
        "--batches",
        "1,2",
        "--out",
        out_s,
    ];
    args.extend(QUICK);
    let o = jb(&args);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("| case | batch | backend |"), "{stdout}");

    let r = read_json(&out.join("backends.json"));
    assert!(!r["machine"]["line"].as_str().unwrap().is_empty());
    assert!(r["date_start"].as_str().unwrap().ends_with('Z'));
    let cases = r["cases"].as_array().unwrap();
    // ann, snn-1step, snn-temporal-T3 × batches 1, 2
    assert_eq!(cases.len(), 6);
    let rows = r["rows"].as_array().unwrap();
    // ann: native, tract, ort (no event row for a non-spiking model); spiking: all four.
    assert_eq!(rows.len(), 2 * 3 + 2 * 4 + 2 * 4);
    assert!(!rows
        .iter()
        .any(|x| x["case"] == "ann" && x["backend"] == "event"));
    for row in rows {
        let what = format!("{} b{} {}", row["case"], row["batch"], row["backend"]);
        let status = row["status"].as_str().unwrap();
        if row["backend"] == "ort" && status.starts_with("unavailable") {
            continue; // no ONNX Runtime library configured outside scripts/jb-env
        }
        assert_eq!(status, "ok", "{what}");
        check_timing(&row["timing"], 3, &what);
        let d = row["max_abs_diff_vs_reference"].as_f64().unwrap();
        assert!(d <= 1e-4, "{what}: logits differ from the reference by {d}");
        assert_eq!(row["argmax_agreement"].as_f64().unwrap(), 1.0, "{what}");
        assert!(row["load_start"].is_array() && row["load_end"].is_array());
        assert!(row["macs_per_sample"].as_u64().unwrap() > 0);
    }
    // ann (784-256-128-10): 784·256 + 256·128 + 128·10 MACs per sample.
    let ann = rows.iter().find(|x| x["case"] == "ann").unwrap();
    assert_eq!(
        ann["macs_per_sample"].as_u64().unwrap(),
        784 * 256 + 256 * 128 + 128 * 10
    );
    // The saved model folders and exact inputs with reference logits, for the peers.
    for c in cases {
        let m = out.join(c["model_dir"].as_str().unwrap());
        for f in ["spec.json", "weights.safetensors", "model.onnx"] {
            assert!(m.join(f).is_file(), "{}", m.join(f).display());
        }
        let saved = Weights::load(&out.join(c["inputs_file"].as_str().unwrap())).unwrap();
        let batch = c["batch"].as_u64().unwrap() as usize;
        let x = saved.get("input.1").unwrap();
        let expect: Vec<usize> = if c["case"] == "ann" {
            vec![batch, 1, 28, 28]
        } else {
            vec![c["steps"].as_u64().unwrap() as usize, batch, 1, 28, 28]
        };
        assert_eq!(x.shape, expect, "{}", c["case"]);
        assert_eq!(saved.get("logits.1").unwrap().shape, vec![batch, 10]);
        if c["case"] == "snn-temporal-T3" {
            assert!(
                x.data.iter().all(|&v| v == 0.0 || v == 1.0),
                "rate-coded spikes"
            );
        }
    }
    let csv = std::fs::read_to_string(out.join("backends.csv")).unwrap();
    assert!(csv.starts_with("case,preset,steps,batch,backend,threads,status,median_us"));
    assert_eq!(csv.lines().count(), 1 + rows.len());
    let md = std::fs::read_to_string(out.join("backends.md")).unwrap();
    assert_eq!(
        md.lines()
            .filter(|l| l.starts_with("| ann |") || l.starts_with("| snn-"))
            .count(),
        rows.len()
    );

    // A peers file: PyTorch eager exactly twice native's median on ann batch 1, one peer
    // disagreeing with our logits on snn-1step batch 2.
    let native_ann_b1 = rows
        .iter()
        .find(|x| x["case"] == "ann" && x["batch"] == 1 && x["backend"] == "native")
        .unwrap()["timing"]["median_us"]
        .as_f64()
        .unwrap();
    let peer_row = |case: &str, batch: u64, backend: &str, median: f64, agrees: bool| {
        json!({"case": case, "batch": batch, "backend": backend, "status": "ok",
               "timing": {"median_us": median, "p10_us": median, "p90_us": median, "repeats": 3},
               "max_abs_diff_vs_reference": if agrees { 0.0 } else { 0.5 },
               "argmax_agreement": 1.0, "agrees": agrees})
    };
    let peers = json!({
        "date_start": "2026-01-01T00:00:00Z", "machine": "test", "versions": {"torch": "x"},
        "load_start": [0.1, 0.2, 0.3], "load_end": [0.1, 0.2, 0.3], "command": "peers.py",
        "tolerance": 1e-4,
        "rows": [peer_row("ann", 1, "pytorch-eager", 2.0 * native_ann_b1, true),
                 peer_row("snn-1step", 2, "snntorch", 1000.0, false)]
    });
    std::fs::write(out.join("peers.json"), peers.to_string()).unwrap();
    let doc = dir.path().join("docs/benchmarks.md");
    let o = jb(&["bench", "table", out_s, "--doc", doc.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let t = read_json(&out.join("table.json"));
    let merged = t.as_array().unwrap();
    assert_eq!(merged.len(), 6, "one line per case and batch");
    let ann_b1 = merged
        .iter()
        .find(|x| x["case"] == "ann" && x["batch"] == 1)
        .unwrap();
    assert!((ann_b1["torch_over_native"].as_f64().unwrap() - 2.0).abs() < 1e-9);
    assert!(ann_b1["snntorch_over_event"].is_null());
    let snn_b2 = merged
        .iter()
        .find(|x| x["case"] == "snn-1step" && x["batch"] == 2)
        .unwrap();
    assert_eq!(snn_b2["disagreeing_peers"], json!(["snntorch"]));
    let page = std::fs::read_to_string(&doc).unwrap();
    assert!(page.contains("| case | batch | event | native | tract | ort | onnxruntime-py | pytorch-eager | snntorch |"));
    assert!(page.contains("Logits differ from ours"));
    assert!(
        page.contains("bench backends"),
        "the exact command is on the page"
    );
}

#[test]
fn bench_macs_counts_macs_and_draws_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("macs");
    let mut args = vec![
        "bench",
        "macs",
        "--widths",
        "2,8",
        "--depths",
        "1,2",
        "--batches",
        "1",
        "--backends",
        "native,tract",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(QUICK);
    let o = jb(&args);
    assert!(o.status.success(), "{}", text(&o));
    let r = read_json(&out.join("macs.json"));
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * 2 * 2);
    for row in rows {
        let (w, d) = (
            row["width"].as_u64().unwrap(),
            row["depth"].as_u64().unwrap(),
        );
        // flatten → [w]×d → 10 on 784 inputs
        let macs = 784 * w + (d - 1) * w * w + w * 10;
        assert_eq!(row["macs_per_sample"].as_u64().unwrap(), macs, "w{w} d{d}");
        assert_eq!(row["status"], "ok", "{row}");
        check_timing(&row["timing"], 3, &format!("w{w} d{d} {}", row["backend"]));
        assert!(row["max_abs_diff_vs_native"].as_f64().unwrap() <= 1e-4);
    }
    let svg = std::fs::read_to_string(out.join("plots/latency-vs-macs.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("dense MACs per sample"));
    assert!(svg.contains("native") && svg.contains("tract"));
    let png = std::fs::read(out.join("plots/latency-vs-macs.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let csv = std::fs::read_to_string(out.join("macs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + rows.len());
    assert!(std::fs::read_to_string(out.join("macs.md"))
        .unwrap()
        .contains("| depth | width | MACs/sample | batch | native | tract |"));
}

#[test]
fn bench_bad_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = jb(&["bench", "backends", "--batches", "0", "--out", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--batches"), "{}", text(&o));
    let o = jb(&["bench", "backends", "--backends", "cuda", "--out", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown engine `cuda`"), "{}", text(&o));
    let o = jb(&["bench", "macs", "--widths", "0", "--out", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--widths"), "{}", text(&o));
    let o = jb(&["bench", "spike-rate", "--isa", "avx3", "--out", d]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("--isa avx3: expected avx512, avx2 or scalar"),
        "{}",
        text(&o)
    );
    let o = jb(&["bench", "table", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("backends.json"), "{}", text(&o));
    // A corrupt results file names itself.
    std::fs::write(dir.path().join("backends.json"), "{ not json").unwrap();
    let o = jb(&["bench", "table", d]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("not a valid results file"),
        "{}",
        text(&o)
    );
}

/// `bench spike-rate` on seeded random weights (no data needed): every point has the four
/// timings with ordered percentiles and a mean inside [min, max], spike counts that grow with
/// the input rate, and the files it promises; `--variants 0` is refused.
#[test]
fn bench_spike_rate_reports_every_point_and_the_mean() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args([
            "bench",
            "spike-rate",
            "--steps",
            "8",
            "--rates",
            "0,50,100",
            "--repeats",
            "3",
            "--warmup",
            "1",
            "--variants",
            "2",
            "--out",
            d,
        ])
        .env_remove("JOULEBENCH_DATA")
        .env("XDG_CACHE_HOME", "/nonexistent-joulebench-test-cache")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v = read_json(&dir.path().join("spike_rate.json"));
    let points: Vec<&Value> = std::iter::once(&v["headline"])
        .chain(v["sweep"].as_array().unwrap())
        .collect();
    assert_eq!(points.len(), 4);
    for p in &points {
        for k in ["event", "event_packed", "engine_dense"] {
            check_timing(&p[k], 3, k);
            let t = &p[k];
            let mean = t["mean_us"].as_f64().unwrap();
            assert!(
                t["min_us"].as_f64().unwrap() <= mean + 1e-9
                    && mean <= t["max_us"].as_f64().unwrap() + 1e-9,
                "{k}: mean {mean} outside [min, max]"
            );
        }
    }
    let spikes: Vec<f64> = v["sweep"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["input_spikes_per_step"].as_f64().unwrap())
        .collect();
    assert_eq!(spikes[0], 0.0);
    assert!(spikes[0] < spikes[1] && spikes[1] < spikes[2], "{spikes:?}");
    assert_eq!(spikes[2], 784.0);
    // Every input spikes at every step at 100 %: the baseline of frequent inputs takes them
    // all, so the engine performs far fewer operations than the effective count; none at 0 %.
    let ops = |p: &Value| {
        (
            p["effective_ops"].as_f64().unwrap(),
            p["performed_ops"].as_f64().unwrap(),
        )
    };
    let sweep = v["sweep"].as_array().unwrap();
    assert_eq!(ops(&sweep[0]), (0.0, 0.0));
    let (eff, done) = ops(&sweep[2]);
    assert!(eff > 0.0 && done < eff / 2.0, "100 %: {done} of {eff}");
    assert_eq!(v["event_baseline"], Value::Bool(true));
    assert!(v["headline_input"].as_str().unwrap().contains("synthetic"));
    for f in ["spike_rate.csv", "spike_rate.svg", "spike_rate.png"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let o = jb(&["bench", "spike-rate", "--variants", "0", "--out", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--variants"), "{}", text(&o));
}

/// `bench spike-rate --run R` runs a model at the T it was trained at (here 6), not the default
/// 100; `--steps` asking for another T is refused with the reason.
#[test]
fn bench_spike_rate_runs_a_run_folder_at_its_own_steps() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("snn-temporal");
    let spec = joulebench_models::build_preset(
        "snn-temporal",
        &joulebench_data::DatasetKind::Mnist.data_shape(),
        &joulebench_models::PresetOptions {
            steps: Some(6),
            ..Default::default()
        },
    )
    .unwrap();
    let r = joulebench_models::RunDir::new(&run);
    r.write_spec(&spec).unwrap();
    joulebench_models::Weights::random(&spec, 1)
        .save(&r.weights_path())
        .unwrap();
    let out = dir.path().join("out");
    let study = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "spike-rate",
            "--run",
            run.to_str().unwrap(),
            "--rates",
            "0,50",
            "--repeats",
            "1",
            "--warmup",
            "0",
            "--variants",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = Command::new(env!("CARGO_BIN_EXE_joulebench"))
            .args(&args)
            .env_remove("JOULEBENCH_DATA")
            .env("XDG_CACHE_HOME", "/nonexistent-joulebench-test-cache")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        read_json(&out.join("spike_rate.json"))
    };
    let v = study(&[]);
    assert_eq!(v["steps"], 6, "{}", v["steps"]);
    let v = study(&["--steps", "6"]);
    assert_eq!(v["steps"], 6);
    let o = Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args([
            "bench",
            "spike-rate",
            "--run",
            run.to_str().unwrap(),
            "--steps",
            "4",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let said = text(&o);
    assert!(
        said.contains("trained at T = 6")
            && said.contains("--steps 4")
            && !said.contains("panicked"),
        "{said}"
    );
}

/// `--dataset fashion-mnist` times on Fashion-MNIST test images (from `DATA/fashion-mnist/`), says
/// so in the output and the JSON, and a dataset without 28×28 images is one clear error.
#[test]
fn bench_backends_times_on_fashion_mnist_images() {
    let Some(fashion) = joulebench_testkit::shared_data("fashion-mnist") else {
        return;
    };
    let data = fashion.parent().unwrap().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let mut args = vec![
        "bench",
        "backends",
        "--models",
        "ann",
        "--batches",
        "1",
        "--backends",
        "native",
        "--dataset",
        "fashion-mnist",
        "--data",
        &data,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(QUICK);
    let o = jb(&args);
    assert!(o.status.success(), "{}", text(&o));
    let r = read_json(&out.join("backends.json"));
    assert_eq!(r["images"], "fashion-mnist");
    assert_eq!(r["real_mnist"], false);
    let inputs = r["inputs"].as_str().unwrap();
    assert!(
        inputs.starts_with("fashion-mnist test images 0..2"),
        "{inputs}"
    );
    let bad = jb(&[
        "bench",
        "backends",
        "--dataset",
        "mnist1d",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    let e = text(&bad);
    assert!(e.contains("mnist or fashion-mnist"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}
