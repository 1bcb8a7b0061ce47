//! The verdict at the top of the page: one row per model (accuracy, fastest engine, µs,
//! energy with its kind word) and one sentence per spiking model against its dense twin.

use joulebench_report::plot::axis::fmt_num;
use joulebench_report::verdict::{twin_presets, verdict, TWINS};
use joulebench_report::*;

fn modelled(j: f64) -> EnergyFigure {
    EnergyFigure::new(
        EnergyKind::Modelled,
        "spec-sheet power model",
        j,
        0.5 * j,
        2.0 * j,
        "measured CPU time × 6 W; not a measurement",
    )
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

fn model(name: &str, spiking: bool, acc: f64) -> ModelResult {
    ModelResult {
        name: name.into(),
        preset: name.into(),
        spiking,
        steps: if spiking { 100 } else { 1 },
        test_accuracy: Some(acc),
        ..Default::default()
    }
}

fn row(model: &str, backend: &str, mean_us: f64, sources: Vec<EnergyFigure>) -> InferenceResult {
    InferenceResult {
        model: model.into(),
        backend: backend.into(),
        batch: 1,
        threads: 1,
        latency: Some(LatencyStats {
            queries: 100,
            mean_us,
            p50_us: mean_us,
            p99_us: mean_us,
            ..Default::default()
        }),
        energy: joulebench_models::energy::best(&sources).cloned(),
        energy_sources: sources,
        ..Default::default()
    }
}

fn verdict_html(d: &ReportData) -> String {
    let (html, _) = render_page(d).unwrap();
    let s = &html[html.find("<div id=\"verdict\">").expect("verdict element")..];
    // the verdict comes before the sections
    assert!(html.find("<div id=\"verdict\">") < html.find("<section id="));
    s[..s.find("</div>").unwrap()].to_string()
}

fn twins_data() -> ReportData {
    let mut d = ReportData::new("verdict");
    d.dataset = "mnist".into();
    d.models = vec![
        model("ann", false, 0.982),
        model("snn-temporal", true, 0.9705),
    ];
    d.inference = vec![
        row("ann", "tract", 20.0, vec![modelled(4e-6), estimate(1e-8)]),
        row(
            "ann",
            "native",
            12.0,
            vec![modelled(1.6e-6), estimate(1e-8)],
        ),
        row(
            "snn-temporal",
            "native",
            90.0,
            vec![modelled(1.5e-5), estimate(3e-9)],
        ),
        row(
            "snn-temporal",
            "event",
            30.0,
            vec![modelled(5e-6), estimate(2e-9)],
        ),
    ];
    d
}

#[test]
fn table_rows_and_twin_sentence() {
    let d = twins_data();
    let v = verdict_html(&d);
    // one row per model: accuracy, fastest engine, its mean µs, best energy with its kind word
    assert!(v.contains("<td>ann</td><td>98.20 %</td><td class=\"l\">native</td><td>12 µs</td><td class=\"mod\">1.6 µJ modelled</td>"), "{v}");
    assert!(v.contains("<td>snn-temporal</td><td>97.05 %</td><td class=\"l\">event</td><td>30 µs</td><td class=\"mod\">5 µJ modelled</td>"), "{v}");
    assert!(v.contains("spec-sheet power model"));
    assert!(v.contains("<b>mean</b>") && v.contains("on that fastest engine"));

    // the sentence: the faster model, the ratio from the data, the event engine, energy kind,
    // accuracy difference in points
    let speed = fmt_num(30.0 / 12.0); // snn-temporal on event ÷ ann on native
    let energy = fmt_num(5e-6 / 1.6e-6);
    assert_eq!((speed.as_str(), energy.as_str()), ("2.5", "3.125"));
    let want_speed = format!("<b>ann</b> is {speed}× faster than snn-temporal");
    assert!(v.contains(&want_speed), "{want_speed} in {v}");
    assert!(v.contains("the event-driven engine"), "{v}");
    let want_energy = format!("<b>ann</b> costs {energy}× less than snn-temporal");
    assert!(v.contains(&want_energy), "{want_energy} in {v}");
    assert!(v.contains("modelled figures on both"), "{v}");
    assert!(v.contains("snn-temporal 1.15 points lower"), "{v}");
}

#[test]
fn kinds_that_differ_are_said_and_the_common_kind_compared() {
    let mut d = twins_data();
    // the dense model's fastest engine has only an estimate
    d.inference[1] = row("ann", "native", 12.0, vec![estimate(1e-8)]);
    let v = verdict_html(&d);
    assert!(v.contains("<td class=\"est\">10 nJ estimate</td>"), "{v}");
    assert!(
        v.contains("differ in kind (snn-temporal modelled, ann estimate)"),
        "{v}"
    );
    // estimate on both: 2 nJ (spiking, event) vs 10 nJ (dense, native)
    assert!(
        v.contains("<b>snn-temporal</b> costs 5× less than ann"),
        "{v}"
    );
}

#[test]
fn spiking_model_without_twin_and_model_without_energy() {
    let mut d = ReportData::new("no twins");
    d.models = vec![model("snn-1step", true, 0.95), model("mlp1d", false, 0.8)];
    d.inference = vec![
        row("snn-1step", "native", 10.0, vec![]),
        row("mlp1d", "tract", 5.0, vec![estimate(1e-9)]),
    ];
    let v = verdict_html(&d);
    assert!(v.contains("no dense twin"), "{v}");
    assert!(v.contains("<code>ann</code>"), "{v}");
    // no energy: a dash
    assert!(
        v.contains("<td>snn-1step</td><td>95.00 %</td><td class=\"l\">native</td><td>10 µs</td><td class=\"none\">–</td>"),
        "{v}"
    );
    assert!(v.contains("<td class=\"est\">1 nJ estimate</td>"), "{v}");
}

#[test]
fn twin_table_names_real_presets() {
    for (s, dense) in TWINS {
        let sp = joulebench_models::preset::preset_info(s).unwrap();
        assert!(sp.spiking, "{s}");
        for p in *dense {
            assert!(!joulebench_models::preset::preset_info(p).unwrap().spiking);
        }
    }
    assert_eq!(twin_presets("snn"), &["mlp"]);
    assert!(twin_presets("mlp").is_empty());
    // the data side: rows in model order
    let d = twins_data();
    let v = verdict(&d);
    assert_eq!(v.batch, Some(1));
    assert_eq!(v.rows.len(), 2);
    assert_eq!(v.pairs().len(), 1);
}

#[test]
fn twin_without_latency_is_said() {
    let mut d = ReportData::new("twin without latency");
    d.models = vec![model("snn", true, 0.95), model("mlp", false, 0.97)];
    d.inference = vec![row("snn", "event", 10.0, vec![estimate(1e-9)])];
    let v = verdict_html(&d);
    assert!(
        v.contains("vs its dense twin <b>mlp</b>: no latency at batch 1 for mlp"),
        "{v}"
    );
    assert!(
        v.contains("<td>mlp</td><td>97.00 %</td><td class=\"none\">–</td>"),
        "{v}"
    );
}
