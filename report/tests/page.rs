//! The report from synthetic but realistic results: self-contained page, every section,
//! inline SVGs, estimates labelled, PNGs that decode at the stated size, and a rebuild from
//! the saved results.json that reproduces the page byte for byte.

use joulebench_report::*;

/// A small deterministic generator (no rand dependency needed for test data).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn training(final_acc: f64, epochs: usize, s_per_epoch: f64, rng: &mut Lcg) -> TrainingSummary {
    let ep = (1..=epochs)
        .map(|e| {
            let f = 1.0 - (-(e as f64) / 2.5).exp();
            let test_accuracy = 0.1 + (final_acc - 0.1) * f;
            EpochSummary {
                epoch: e,
                train_loss: 2.3 * (1.0 - f) + 0.15 + 0.02 * rng.next(),
                train_accuracy: (test_accuracy + 0.02).min(1.0),
                test_loss: 2.3 * (1.0 - f) + 0.22 + 0.03 * rng.next(),
                test_accuracy,
                wall_s: s_per_epoch * (0.95 + 0.1 * rng.next()),
                samples_per_s: 4000.0 / s_per_epoch,
                energy: None,
            }
        })
        .collect();
    TrainingSummary {
        optimizer: "adam".into(),
        lr: 1e-3,
        batch_size: 64,
        seed: 0,
        device: "cpu".into(),
        train_samples: 4000,
        test_samples: 1000,
        epochs: ep,
    }
}

fn synthetic() -> ReportData {
    let mut rng = Lcg(7);
    let mut d = ReportData::new("joulebench: MNIST-1D (synthetic test data)");
    d.dataset = "mnist1d".into();
    d.created = "2026-01-01 00:00:00".into();
    d.command = "joulebench run --quick --out out/run".into();
    d.quick = true;
    d.machine = MachineInfo {
        cpu_model: "Intel(R) Xeon(R) CPU @ 2.20GHz".into(),
        physical_cores: Some(1),
        logical_cores: 2,
        memory_bytes: 8 << 30,
        os: "Debian GNU/Linux 12".into(),
        kernel: "6.1.0".into(),
        gpus: vec![],
        meters: vec!["rapl: energy_uj not readable (root only); using estimate".into()],
        extra: vec![("threads per backend".into(), "1".into())],
    };
    // (name, spiking, steps, params, macs, acc, s/epoch)
    let models = [
        ("mlp1d", false, 1, 3_274u64, 3_200u64, 0.68, 0.4),
        ("cnn1d", false, 1, 2_474, 9_856, 0.93, 1.1),
        ("ann", false, 1, 44_170, 43_264, 0.72, 0.8),
        ("snn-1step", true, 1, 44_170, 43_264, 0.66, 1.0),
        ("snn-temporal", true, 25, 44_170, 1_081_600, 0.61, 9.0),
    ];
    for (name, spiking, steps, params, macs, acc, spe) in models {
        let first_layer = if name == "cnn1d" {
            let values = (0..8 * 5)
                .map(|i| ((i as f32) * 0.37).sin() * 0.4)
                .collect();
            FirstLayerWeights {
                layer: "conv1".into(),
                kind: "conv1d".into(),
                shape: vec![8, 1, 5],
                input_shape: vec![1, 40],
                total_units: 8,
                values,
            }
        } else {
            let units = if name == "mlp1d" { 64 } else { 32 };
            let values = (0..units * 40)
                .map(|i| (((i % 40) as f32 / 6.0) + (i / 40) as f32).sin() * 0.3)
                .collect();
            FirstLayerWeights {
                layer: "fc1".into(),
                kind: "linear".into(),
                shape: vec![units, 40],
                input_shape: vec![1, 40],
                total_units: if name == "mlp1d" { 64 } else { 256 },
                values,
            }
        };
        d.models.push(ModelResult {
            name: name.into(),
            preset: name.into(),
            dataset: "mnist1d".into(),
            spiking,
            steps,
            params,
            macs,
            flops: 2 * macs,
            counts_source: "counted from ModelSpec; FLOPs = 2×MACs".into(),
            test_accuracy: Some(acc),
            training: Some(training(acc, 5, spe, &mut rng)),
            first_layer: Some(first_layer),
            run_dir: Some(format!("runs/{name}")),
        });
        let mut backends = vec!["tract", "ort", "native"];
        if spiking {
            backends.push("event");
        }
        for (bi, b) in backends.iter().enumerate() {
            for batch in [1usize, 8, 64] {
                let per = macs as f64 * 2e-4 * (1.0 + 0.4 * bi as f64) + 1.5;
                let eff = if *b == "event" { 0.3 } else { 1.0 };
                let q = per * eff * (batch as f64).powf(0.7);
                let lat = LatencyStats {
                    queries: 1024,
                    warmup: 50,
                    duration_s: 1.0,
                    mean_us: q,
                    std_us: q * 0.05,
                    min_us: q * 0.9,
                    p50_us: q * 0.98,
                    p90_us: q * 1.05,
                    p99_us: q * 1.3,
                    max_us: q * 2.0,
                    harness_overhead_us: Some(0.03),
                    clock: "Instant".into(),
                    cpu_us_per_inference: Some(q / batch as f64),
                    busy_cpus: Some(1.0),
                };
                // Energy at the first batch size only, as the main job records it: every row
                // modelled and estimated, the non-spiking models' ort rows also measured.
                let measured = *b == "ort" && !spiking;
                let mut energy_sources = vec![];
                if batch == 1 {
                    if measured {
                        let mut m = EnergyFigure::new(
                            EnergyKind::Measured,
                            "rapl (package-0)",
                            q * 1e-6 * 4.0,
                            q * 1e-6 * 3.6,
                            q * 1e-6 * 4.4,
                            "rapl counter, above idle; 5 windows × 1.00 s at batch 1, mean ± std",
                        );
                        m.std_joules = Some(q * 1e-6 * 0.4);
                        m.total_joules = Some(q * 1e-6 * 9.0);
                        m.windows = Some(5);
                        m.window_s = Some(1.0);
                        m.idle_power_w = Some(3.1);
                        m.resolution_j = Some(6.1e-5);
                        energy_sources.push(m);
                    }
                    let mut m = EnergyFigure::new(
                        EnergyKind::Modelled,
                        "spec-sheet power model",
                        q * 1e-6 * 5.0,
                        q * 1e-6 * 2.5,
                        q * 1e-6 * 9.0,
                        "measured CPU time × 5.00 W (spec-sheet model); not a measurement",
                    );
                    m.cpu_seconds_per_inference = Some(q * 1e-6);
                    m.busy_cpus = Some(1.0);
                    m.watts = Some(5.0);
                    energy_sources.push(m);
                    let e = macs as f64 * eff * 4.6e-12 + 1e-9;
                    energy_sources.push(EnergyFigure::new(
                        EnergyKind::Estimate,
                        "horowitz-45nm",
                        e,
                        e,
                        3.0 * e,
                        "fp32 MAC 4.6 pJ, add 0.9 pJ (Horowitz, ISSCC 2014, 45 nm)",
                    ));
                }
                let energy = joulebench_models::energy::best(&energy_sources).cloned();
                let activity = (*b == "event").then(|| SpikingActivity {
                    samples: 256,
                    steps,
                    layers: vec![
                        LayerSpiking {
                            name: "fc1".into(),
                            neurons: 256,
                            input_sparsity: 0.0,
                            spikes: 12.0 * steps as f64,
                            event_driven: false,
                            effective_ops: 10240.0 * steps as f64,
                            dense_macs: 10240.0 * steps as f64,
                        },
                        LayerSpiking {
                            name: "fc2".into(),
                            neurons: 128,
                            input_sparsity: 0.93,
                            spikes: 8.0 * steps as f64,
                            event_driven: true,
                            effective_ops: 0.07 * 32768.0 * steps as f64,
                            dense_macs: 32768.0 * steps as f64,
                        },
                        LayerSpiking {
                            name: "fc3".into(),
                            neurons: 10,
                            input_sparsity: 0.95,
                            spikes: 1.0 * steps as f64,
                            event_driven: true,
                            effective_ops: 0.05 * 1280.0 * steps as f64,
                            dense_macs: 1280.0 * steps as f64,
                        },
                    ],
                    raster: ["lif1", "lif2", "lif3"]
                        .iter()
                        .zip([256usize, 128, 10])
                        .map(|(l, n)| RasterLayer {
                            layer: l.to_string(),
                            neurons: n,
                            spikes: (0..steps)
                                .map(|_| (0..n as u32).filter(|_| rng.next() < 0.06).collect())
                                .collect(),
                        })
                        .collect(),
                });
                d.inference.push(InferenceResult {
                    model: name.into(),
                    backend: b.to_string(),
                    batch,
                    threads: 1,
                    accuracy: Some(acc),
                    eval_samples: 1000,
                    agreement: Some(1.0),
                    max_abs_logit_diff: Some(0.0),
                    latency: Some(lat),
                    throughput_per_s: Some(batch as f64 / q * 1e6),
                    energy,
                    energy_sources,
                    activity,
                });
            }
        }
    }
    d
}

fn write_sweeps(dir: &std::path::Path) {
    let depth = serde_json::json!({
        "description": "Depth study (width 64)",
        "trained": 4, "skipped": 0, "failed": 0,
        "rows": (1..=4).map(|k| serde_json::json!({
            "name": format!("mlp-sweep-d{k}"), "status": "done", "model": "mlp-sweep", "dataset": "mnist1d",
            "optimizer": "adam", "lr": 0.001, "batch": 64, "epochs": 2, "depth": k, "width": 64, "input": "identity",
            "steps": 1, "seed": 0, "params": 3000 * k, "macs": 2600 + 4096 * (k - 1), "test_acc": 0.6 + 0.02 * k as f64,
            "test_loss": 1.0, "train_acc": 0.7, "train_seconds": 0.5 * k as f64, "device": "cpu", "error": null
        })).collect::<Vec<_>>()
    });
    let recipe_rows: Vec<serde_json::Value> = ["adam", "sgd"].iter().flat_map(|o| [0.001, 0.01, 0.1].map(move |lr| serde_json::json!({
            "name": format!("mlp-{o}-{lr}"), "status": "done", "model": "mlp", "dataset": "mnist1d",
            "optimizer": o, "lr": lr, "batch": 64, "epochs": 1, "depth": null, "width": null, "input": "identity",
            "steps": 1, "seed": 0, "params": 26122, "macs": 25600, "test_acc": if *o == "adam" { 0.6 - lr } else { 0.3 + 2.0 * lr },
            "test_loss": 1.2, "train_acc": 0.6, "train_seconds": 0.4, "device": "cpu", "error": null
        }))).collect();
    let recipe = serde_json::json!({
        "description": "Adam vs SGD at three learning rates",
        "trained": 6, "skipped": 0, "failed": 0,
        "rows": recipe_rows
    });
    // schedule × seed on a held-out validation split
    let schedule_rows: Vec<serde_json::Value> = ["constant", "cosine"].iter().flat_map(|sch| [0, 1].map(move |seed| serde_json::json!({
            "name": format!("ann-{sch}-s{seed}"), "status": "done", "model": "ann", "dataset": "mnist",
            "optimizer": "adam", "lr": 0.001, "batch": 128, "epochs": 10, "depth": null, "width": null, "input": "identity",
            "steps": 1, "seed": seed, "schedule": sch, "params": 235146, "macs": 234752,
            "test_acc": if *sch == "cosine" { 0.982 } else { 0.978 }, "test_loss": 0.07,
            "eval_split": "validation (last 10000 training samples)", "train_acc": 0.99,
            "train_seconds": 18.0, "device": "cpu", "error": null
        }))).collect();
    let schedule = serde_json::json!({
        "description": "ann: constant vs cosine learning rate, on a validation split",
        "trained": 4, "skipped": 0, "failed": 0,
        "rows": schedule_rows
    });
    for (name, v) in [
        ("depth", depth),
        ("optimizer-lr", recipe),
        ("schedule", schedule),
    ] {
        let p = dir.join("sweeps").join(name);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(
            p.join("summary.json"),
            serde_json::to_string_pretty(&v).unwrap(),
        )
        .unwrap();
    }
}

fn png_dims(bytes: &[u8]) -> (u32, u32) {
    let img =
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png).expect("PNG decodes");
    (img.width(), img.height())
}

#[test]
fn page_is_self_contained_complete_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic();
    let files = write_report(&data, dir.path()).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();

    // No network, no external files.
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "<script",
        "<link",
        "url(http",
        "<img",
    ] {
        assert!(!html.contains(bad), "page contains {bad}");
    }
    // Every section present, with its question.
    for (id, q) in SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing"
        );
        assert!(html.contains(&html_escape(q)), "heading of {id} missing");
    }
    // Every plot inlined as SVG and saved as SVG + PNG with the stated size.
    assert!(
        files.plots.len() >= 2 * 12,
        "only {} plot files",
        files.plots.len()
    );
    let svgs = html.matches("<svg").count();
    assert_eq!(
        svgs * 2,
        files.plots.len(),
        "each saved plot appears inline once"
    );
    for p in files
        .plots
        .iter()
        .filter(|p| p.extension().unwrap() == "png")
    {
        let svg_text = std::fs::read_to_string(p.with_extension("svg")).unwrap();
        let (w, h) = png_dims(&std::fs::read(p).unwrap());
        assert!(
            svg_text.contains(&format!("width=\"{w}\""))
                && svg_text.contains(&format!("height=\"{h}\"")),
            "{}: PNG {w}×{h} differs from SVG",
            p.display()
        );
        assert!(w >= 600 && h >= 200, "{}: {w}×{h}", p.display());
        assert!(
            html.contains(
                &svg_text
                    .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
                    .trim()[..200]
            ),
            "{} not inlined",
            p.display()
        );
    }
    // Plots have text (axis labels with units) in the embedded font family.
    let energy_svg = std::fs::read_to_string(dir.path().join("plots/energy.svg")).unwrap();
    assert!(energy_svg.contains("energy per inference (") && energy_svg.contains("<text"));
    // Every bar says its kind: measured, modelled and estimate side by side, never unlabelled.
    for kind in ["measured", "modelled", "estimate"] {
        assert!(
            energy_svg.contains(&format!("ann · ort · {kind}")),
            "{kind} bar of ann · ort"
        );
    }
    assert!(
        energy_svg.contains("ann · tract · modelled")
            && !energy_svg.contains("ann · tract · measured")
    );
    assert!(
        energy_svg.contains("solid = measured")
            && energy_svg.contains("outlined = modelled")
            && energy_svg.contains("hatched, lighter = estimate")
    );
    assert!(
        html.contains("<b>estimate</b>: horowitz-45nm")
            && html.contains("<b>measured</b>: rapl (package-0)")
            && html.contains("<b>modelled</b>: spec-sheet power model")
    );
    // The Pareto front compares like with like: spiking models have no measured figure,
    // so every point is modelled, and the caption says so.
    let pareto = section(&html, "pareto");
    assert!(
        pareto.contains("every point modelled: spec-sheet power model"),
        "{pareto}"
    );
    assert!(
        pareto.contains("are used also for") && pareto.contains("ann (measured)"),
        "{pareto}"
    );
    // Machine and provenance are stated.
    assert!(html.contains("Intel(R) Xeon(R) CPU @ 2.20GHz") && html.contains("1024 (50)"));

    // results.json round-trips and the CSV has one row per model × backend × batch.
    let back = load_results(dir.path()).unwrap().unwrap();
    assert_eq!(back, data);
    let csv = std::fs::read_to_string(&files.csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + data.inference.len());
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .starts_with("model,preset,dataset"));
    assert!(csv.contains(",measured: rapl (package-0),measured,"));
    assert!(csv.contains(",modelled: spec-sheet power model,modelled,"));

    // `report DIR` from the saved results reproduces the page byte for byte.
    let before = html.clone();
    std::fs::remove_file(&files.html).unwrap();
    std::fs::remove_dir_all(dir.path().join("plots")).unwrap();
    let (_, again) = rebuild_report(dir.path()).unwrap();
    assert_eq!(std::fs::read_to_string(&again.html).unwrap(), before);
    assert_eq!(again.plots.len(), files.plots.len());

    if let Ok(keep) = std::env::var("JOULEBENCH_KEEP_REPORT") {
        copy_dir(dir.path(), std::path::Path::new(&keep));
    }
}

#[test]
fn sweeps_found_next_to_results_are_merged_and_plotted() {
    let dir = tempfile::tempdir().unwrap();
    write_report(&synthetic(), dir.path()).unwrap();
    write_sweeps(dir.path());
    let (data, files) = rebuild_report(dir.path()).unwrap();
    assert_eq!(data.sweeps.len(), 3);
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert!(
        html.contains("Depth study (width 64)")
            && html.contains("Adam vs SGD at three learning rates")
    );
    // a sweep evaluated on a validation split says so (never "test"), and lists its schedules
    let sched = &html[html.find("ann: constant vs cosine").unwrap()..];
    let sched = &sched[..sched.find("</table>").unwrap()];
    assert!(
        sched.contains("measured on the validation (last 10000 training samples) split"),
        "{sched}"
    );
    assert!(sched.contains("<th>validation accuracy</th>") && !sched.contains("test accuracy"));
    assert_eq!(
        sched.matches("<td class=\"l\">cosine</td>").count(),
        2,
        "{sched}"
    );
    let depth = &html[html.find("Depth study (width 64)").unwrap()..];
    assert!(depth[..depth.find("</table>").unwrap()].contains("<th>test accuracy</th>"));
    assert!(dir.path().join("plots/sweep-depth-depth.svg").is_file());
    assert!(dir.path().join("plots/sweep-depth-macs.png").is_file());
    // The optimizer/lr table lists all six runs.
    assert_eq!(
        html.matches("mlp-sgd-").count() + html.matches("mlp-adam-").count(),
        6
    );
    // Saved results now carry the sweeps; a second rebuild is stable.
    let (_, f2) = rebuild_report(dir.path()).unwrap();
    assert_eq!(std::fs::read_to_string(&f2.html).unwrap(), html);
}

#[test]
fn sweep_folder_alone_makes_a_report_and_bad_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_sweeps(dir.path());
    let (data, _) = rebuild_report(&dir.path().join("sweeps")).unwrap();
    assert_eq!(data.sweeps.len(), 3);
    assert!(data.models.is_empty());

    let empty = tempfile::tempdir().unwrap();
    let e = rebuild_report(empty.path()).unwrap_err().to_string();
    assert!(e.contains("no results.json"), "{e}");

    std::fs::write(empty.path().join("results.json"), b"{\"models\": 3").unwrap();
    let e = rebuild_report(empty.path()).unwrap_err().to_string();
    assert!(
        e.contains("results.json") && e.contains("not a joulebench results file"),
        "{e}"
    );
}

#[test]
fn empty_results_still_render_every_section() {
    let (html, figs) = render_page(&ReportData::new("empty")).unwrap();
    assert!(figs.is_empty());
    for (id, _) in SECTIONS {
        assert!(html.contains(&format!("<section id=\"{id}\">")));
    }
    assert!(html.contains("class=\"missing\""));
}

/// The body of `<section id="{id}">`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let s = &html[html.find(&format!("<section id=\"{id}\">")).unwrap()..];
    &s[..s.find("</section>").unwrap()]
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}
