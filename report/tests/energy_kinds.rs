//! Energy of three kinds — measured, modelled, estimate — in the report: side by side in the
//! figure, the table and the CSV, each labelled with its kind; comparisons across models
//! (the Pareto front) use one kind for all; old results still load.

use joulebench_report::csv::{results_csv, CSV_COLUMNS};
use joulebench_report::figures::{energy_rows, pareto_choice};
use joulebench_report::*;

fn measured(j: f64) -> EnergyFigure {
    let mut f = EnergyFigure::new(
        EnergyKind::Measured,
        "rapl (package-0)",
        j,
        0.9 * j,
        1.1 * j,
        "rapl counter, above idle; 5 windows × 2.00 s at batch 1, mean ± std",
    );
    f.std_joules = Some(0.1 * j);
    f.total_joules = Some(3.0 * j);
    f.windows = Some(5);
    f.window_s = Some(2.0);
    f.idle_power_w = Some(4.5);
    f.resolution_j = Some(1e-9);
    f
}

fn modelled(j: f64) -> EnergyFigure {
    let mut f = EnergyFigure::new(
        EnergyKind::Modelled,
        "spec-sheet power model",
        j,
        0.5 * j,
        2.0 * j,
        "measured CPU time (process, all threads) → 1.00 busy CPUs × 6.00 W; not a measurement",
    );
    f.cpu_seconds_per_inference = Some(20e-6);
    f.busy_cpus = Some(1.0);
    f.watts = Some(6.0);
    f
}

fn estimate(j: f64) -> EnergyFigure {
    EnergyFigure::new(
        EnergyKind::Estimate,
        "horowitz-isscc2014-45nm",
        j,
        j,
        4.0 * j,
        "op counts × Horowitz 45 nm table",
    )
}

fn model(name: &str, acc: f64) -> ModelResult {
    ModelResult {
        name: name.into(),
        preset: name.into(),
        steps: 1,
        macs: 1000,
        flops: 2000,
        test_accuracy: Some(acc),
        ..Default::default()
    }
}

fn row(model: &str, backend: &str, sources: Vec<EnergyFigure>) -> InferenceResult {
    InferenceResult {
        model: model.into(),
        backend: backend.into(),
        batch: 1,
        threads: 1,
        latency: Some(LatencyStats {
            queries: 100,
            mean_us: 20.0,
            p50_us: 20.0,
            p99_us: 25.0,
            cpu_us_per_inference: Some(21.0),
            busy_cpus: Some(1.05),
            ..Default::default()
        }),
        energy: joulebench_models::energy::best(&sources).cloned(),
        energy_sources: sources,
        ..Default::default()
    }
}

fn data(models: Vec<ModelResult>, rows: Vec<InferenceResult>) -> ReportData {
    let mut d = ReportData::new("energy kinds");
    d.models = models;
    d.inference = rows;
    d
}

/// The body of `<section id="{id}">`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let s = &html[html.find(&format!("<section id=\"{id}\">")).unwrap()..];
    &s[..s.find("</section>").unwrap()]
}

fn svg<'a>(figs: &'a [plot::Figure], name: &str) -> &'a str {
    &figs.iter().find(|f| f.name == name).expect(name).svg
}

#[test]
fn all_three_kinds_side_by_side_each_named() {
    let d = data(
        vec![model("mlp", 0.9)],
        vec![row(
            "mlp",
            "tract",
            vec![measured(2e-6), modelled(3e-6), estimate(1e-8)],
        )],
    );
    let (html, figs) = render_page(&d).unwrap();
    let energy = section(&html, "energy");
    // The table: one row, a cell per kind, each with its kind word.
    assert_eq!(energy.matches("<td>mlp</td>").count(), 1, "{energy}");
    for w in [
        "2 µJ measured (above idle)",
        "3 µJ modelled",
        "10 nJ estimate",
    ] {
        assert!(energy.contains(w), "{w} in {energy}");
    }
    // measured details: ± std, idle included, windows, idle watts
    assert!(energy.contains("<td>200 nJ</td>") && energy.contains("<td>6 µJ</td>"));
    assert!(energy.contains("<td>5 × 2</td>") && energy.contains("<td>4.5</td>"));
    // modelled: its band, CPU time, busy CPUs, watts, in modelled-styled cells
    assert!(
        energy.contains("<td class=\"mod\">1.5–6 µJ</td>"),
        "{energy}"
    );
    assert!(energy.contains("<td class=\"mod\">20 µs</td>"));
    assert!(energy.contains("<td class=\"mod\">1.00</td>"));
    assert!(energy.contains("<td class=\"mod\">6</td>"));
    // estimate: its band, in estimate-styled cells
    assert!(
        energy.contains("<td class=\"est\">10–40 nJ</td>"),
        "{energy}"
    );
    // modelled ÷ measured, with the model's band
    assert!(energy.contains("<th>modelled ÷ measured</th>"));
    assert!(energy.contains("× 1.5 (0.75–3)"), "{energy}");
    // the caption says which cells are which
    assert!(energy.contains("cells are modelled") && energy.contains("cells are estimates"));
    // source / method of each figure, with its kind
    assert!(energy.contains("<b>modelled</b>: spec-sheet power model — measured CPU time"));

    // The figure: three bars of the same row, labelled by kind, legend explains the styles.
    let svg = svg(&figs, "energy");
    for kind in ["measured", "modelled", "estimate"] {
        assert!(svg.contains(&format!("mlp · tract · {kind}")), "{kind} bar");
    }
    assert!(svg.contains("2 µJ measured ± 200 nJ (rapl (package-0))"));
    assert!(svg.contains("3 µJ modelled, 1.5–6 µJ (spec-sheet power model)"));
    assert!(svg.contains("10 nJ estimate, 10–40 nJ (ideal 45 nm accelerator"));
    assert!(svg.contains("solid = measured"));
    assert!(svg.contains("outlined = modelled"));
    assert!(svg.contains("hatched, lighter = estimate"));
    // The provenance key explains modelled and estimate.
    assert!(html.contains("<b>modelled</b> = measured CPU time × a CPU power model"));
    assert!(html.contains(
        "what an ideal 45 nm accelerator would spend on these operations, not this machine"
    ));
    // One model with a measured figure: the front is measured.
    let pareto = section(&html, "pareto");
    assert!(
        pareto.contains("every point measured: rapl (package-0)"),
        "{pareto}"
    );
}

#[test]
fn no_ratio_column_without_both_measured_and_modelled() {
    let d = data(
        vec![model("mlp", 0.9)],
        vec![row("mlp", "tract", vec![modelled(3e-6), estimate(1e-8)])],
    );
    let (html, _) = render_page(&d).unwrap();
    let energy = section(&html, "energy");
    assert!(!energy.contains("modelled ÷ measured"));
    assert!(energy.contains("<td class=\"meas none\">–</td>"));
}

#[test]
fn pareto_uses_one_kind_for_all_models() {
    // Only modelled for one model, only estimate for the other: no kind in common. The front
    // uses the kind most models have (a tie here: the better one, modelled) and leaves out
    // the model without it, saying so.
    let d = data(
        vec![model("a", 0.9), model("b", 0.8)],
        vec![
            row("a", "tract", vec![modelled(3e-6)]),
            row("b", "tract", vec![estimate(1e-8)]),
        ],
    );
    let c = pareto_choice(&d).unwrap();
    assert_eq!(c.kind, EnergyKind::Modelled);
    assert_eq!(c.points.len(), 1);
    assert_eq!(c.points[0].0.name, "a");
    assert_eq!(
        c.left_out,
        vec![("b".to_string(), vec![EnergyKind::Estimate])]
    );
    let (html, figs) = render_page(&d).unwrap();
    let pareto = section(&html, "pareto");
    assert!(
        pareto.contains("every point modelled: spec-sheet power model"),
        "{pareto}"
    );
    assert!(pareto.contains("Left out, having no modelled figure: b (only estimate)."));
    let svg = svg(&figs, "pareto-energy");
    assert!(
        svg.contains("modelled: spec-sheet power model"),
        "axis names the kind"
    );
    assert!(svg.contains("Accuracy against modelled energy per inference"));
    assert!(!svg.contains("b (tract)"), "the estimate is not mixed in");
    // The energy figure still shows both, each with its kind.
    let e = self::svg(&figs, "energy");
    assert!(e.contains("a · tract · modelled") && e.contains("b · tract · estimate"));

    // A third model with only an estimate: estimate is now the most common kind.
    let mut d3 = d.clone();
    d3.models.push(model("c", 0.7));
    d3.inference.push(row("c", "tract", vec![estimate(2e-8)]));
    let c = pareto_choice(&d3).unwrap();
    assert_eq!(c.kind, EnergyKind::Estimate);
    assert_eq!(c.left_out.len(), 1);
    assert_eq!(c.left_out[0].0, "a");
}

#[test]
fn pareto_falls_back_to_the_best_common_kind() {
    // a: measured (ort) and modelled (tract, ort); b: modelled only. Measured for a alone
    // would set a counter against a model: both use modelled, a's lowest modelled backend.
    let d = data(
        vec![model("a", 0.9), model("b", 0.8)],
        vec![
            row(
                "a",
                "ort",
                vec![measured(1e-6), modelled(5e-6), estimate(1e-8)],
            ),
            row("a", "tract", vec![modelled(4e-6), estimate(1e-8)]),
            row("b", "tract", vec![modelled(2e-6), estimate(3e-8)]),
        ],
    );
    let c = pareto_choice(&d).unwrap();
    assert_eq!(c.kind, EnergyKind::Modelled);
    assert!(c.left_out.is_empty());
    assert_eq!(c.downgraded, vec![("a".to_string(), EnergyKind::Measured)]);
    let a = c.points.iter().find(|p| p.0.name == "a").unwrap();
    assert_eq!((a.1, a.2.joules_per_inference), ("tract", 4e-6));
    let (html, _) = render_page(&d).unwrap();
    let pareto = section(&html, "pareto");
    assert!(pareto.contains("every point modelled"), "{pareto}");
    assert!(pareto.contains("also for a (measured)"), "{pareto}");
    // When every model is measured, measured it is.
    let d = data(
        vec![model("a", 0.9), model("b", 0.8)],
        vec![
            row("a", "ort", vec![measured(1e-6), modelled(5e-6)]),
            row("b", "ort", vec![measured(2e-6), estimate(3e-8)]),
        ],
    );
    let c = pareto_choice(&d).unwrap();
    assert_eq!(c.kind, EnergyKind::Measured);
    assert!(c.downgraded.is_empty() && c.left_out.is_empty());
}

#[test]
fn csv_has_every_kind_in_its_own_columns() {
    let d = data(
        vec![model("mlp", 0.9)],
        vec![
            row(
                "mlp",
                "tract",
                vec![measured(2e-6), modelled(3e-6), estimate(1e-8)],
            ),
            row("mlp", "native", vec![modelled(4e-6), estimate(1e-8)]),
        ],
    );
    let csv = results_csv(&d);
    let lines: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header, CSV_COLUMNS);
    let col = |line: usize, name: &str| -> String {
        let i = header.iter().position(|h| *h == name).expect(name);
        let cells: Vec<&str> = lines[line].split(',').collect();
        assert_eq!(cells.len(), header.len(), "row {line} has every column");
        cells[i].to_string()
    };
    let num = |line: usize, name: &str| col(line, name).parse::<f64>().unwrap();
    let close = |line: usize, name: &str, want: f64| {
        let got = num(line, name);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs(),
            "{name}: {got} ≠ {want}"
        );
    };
    // Row 1: measured leads.
    assert_eq!(col(1, "energy_kind"), "measured");
    assert_eq!(col(1, "energy_source"), "measured: rapl (package-0)");
    close(1, "energy_j", 2e-6);
    close(1, "energy_std_j", 2e-7);
    close(1, "energy_above_idle_j", 2e-6);
    close(1, "energy_low_j", 1.8e-6);
    close(1, "energy_high_j", 2.2e-6);
    close(1, "measured_j", 2e-6);
    close(1, "modelled_j", 3e-6);
    close(1, "modelled_low_j", 1.5e-6);
    close(1, "modelled_high_j", 6e-6);
    close(1, "estimate_low_j", 1e-8);
    close(1, "estimate_high_j", 4e-8);
    close(1, "cpu_us_per_inference", 21.0);
    close(1, "busy_cpus", 1.05);
    // Row 2: no counter, so the best is modelled, and the measured column is empty.
    assert_eq!(col(2, "energy_kind"), "modelled");
    assert_eq!(col(2, "energy_source"), "modelled: spec-sheet power model");
    close(2, "energy_j", 4e-6);
    assert_eq!(col(2, "energy_std_j"), "");
    assert_eq!(col(2, "energy_above_idle_j"), "");
    assert_eq!(col(2, "measured_j"), "");
    close(2, "modelled_high_j", 8e-6);
}

#[test]
fn old_results_without_energy_sources_still_load() {
    // The layout before modelled energy: `energy` only, in its old shape, no `energy_sources`,
    // no CPU time in the latency.
    let old = r#"{
      "schema_version": 1, "title": "old", "dataset": "mnist1d",
      "models": [{"name": "mlp", "preset": "mlp", "test_accuracy": 0.9},
                 {"name": "cnn", "preset": "cnn", "test_accuracy": 0.95}],
      "inference": [
        {"model": "mlp", "backend": "ort", "batch": 1,
         "latency": {"queries": 10, "mean_us": 5.0, "p50_us": 5.0, "p99_us": 6.0},
         "energy": {"source": {"kind": "measured", "meter": "rapl", "domains": ["package-0"]},
                    "joules": 9e-6, "std_joules": 1e-6, "above_idle_joules": 4e-6,
                    "windows": 5, "window_s": 1.0, "idle_power_w": 3.0, "method": "old"}},
        {"model": "cnn", "backend": "ort", "batch": 1,
         "energy": {"source": {"kind": "estimate", "table": "horowitz-45nm"},
                    "joules": 2e-9, "method": "old estimate"}}
      ]
    }"#;
    let d = ReportData::from_json(old).unwrap();
    let r = &d.inference[0];
    assert!(r.energy_sources.is_empty());
    assert_eq!(r.latency.as_ref().unwrap().cpu_us_per_inference, None);
    let e = r.energy.as_ref().unwrap();
    assert_eq!(
        (e.kind, e.joules_per_inference),
        (EnergyKind::Measured, 4e-6)
    );
    assert_eq!(
        r.energy_figures().len(),
        1,
        "energy stands in for the sources"
    );
    assert_eq!(energy_rows(&d).len(), 2);
    let (html, figs) = render_page(&d).unwrap();
    let energy = section(&html, "energy");
    assert!(energy.contains("4 µJ measured (above idle)") && energy.contains("2 nJ estimate"));
    assert!(svg(&figs, "energy").contains("cnn · ort · estimate"));
    // Measured for one model, estimate for the other: no kind in common, a tie, so the
    // better kind (measured), and cnn is left out rather than mixed in.
    assert!(section(&html, "pareto")
        .contains("Left out, having no measured figure: cnn (only estimate)."));

    // The current layout without `energy_sources` (the field's default) loads too.
    let mut new = data(
        vec![model("mlp", 0.9)],
        vec![row("mlp", "ort", vec![modelled(1e-6)])],
    );
    new.inference[0].energy_sources.clear();
    let mut v: serde_json::Value = serde_json::from_str(&new.to_json()).unwrap();
    v["inference"][0]
        .as_object_mut()
        .unwrap()
        .remove("energy_sources");
    let back = ReportData::from_json(&v.to_string()).unwrap();
    assert_eq!(back, new);
    assert_eq!(
        back.inference[0].energy_figures()[0].kind,
        EnergyKind::Modelled
    );
}
