//! The `joulebench bench spike-rate` study: time per inference of the event-driven engine and
//! of dense execution against the input spike rate (0–100 %), read from `spike_rate.json`, drawn
//! as one line chart (log time axis when the times span more than a decade) with the crossover
//! rate marked, and tabulated for the HTML report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use joulebench_models::write_atomic;
use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::html::esc;
use crate::palette::series_color;
use crate::plot::{render, Axis, Figure, LegendItem, LegendMark, Line, LinePanels, Panel};

/// Wall-clock statistics of one engine at one point, µs per inference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateTiming {
    pub median_us: f64,
    pub p10_us: f64,
    pub p90_us: f64,
}

/// One measured input spike rate (or the headline MNIST case).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    /// Input spike rate as a fraction (the headline case: the images' mean pixel value).
    pub input_rate: f64,
    #[serde(default)]
    pub input_spikes_per_step: f64,
    #[serde(default)]
    pub effective_ops: f64,
    #[serde(default)]
    pub dense_macs: f64,
    /// Event engine fed the `f32` spike tensor.
    pub event: RateTiming,
    /// Event engine fed bit-packed spikes (absent in older files).
    #[serde(default)]
    pub event_packed: Option<RateTiming>,
    #[serde(default)]
    pub native_dense: Option<RateTiming>,
    /// The event engine's own dense mode.
    pub engine_dense: RateTiming,
}

/// The machine line of the study.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateMachine {
    #[serde(default)]
    pub cpu: String,
    #[serde(default)]
    pub logical_cores: usize,
    #[serde(default)]
    pub load_average_1m: Option<f64>,
}

/// The contents of `spike_rate.json` the report uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpikeRateStudy {
    #[serde(default)]
    pub how: String,
    #[serde(default)]
    pub machine: RateMachine,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub weights: String,
    #[serde(default)]
    pub steps: usize,
    #[serde(default)]
    pub batch: usize,
    #[serde(default)]
    pub threads: usize,
    #[serde(default)]
    pub event_isa: String,
    #[serde(default)]
    pub headline_input: String,
    pub headline: RatePoint,
    pub sweep: Vec<RatePoint>,
    #[serde(default)]
    pub crossover_rate: Option<f64>,
    #[serde(default)]
    pub crossover_note: String,
}

/// File name of the study in a results folder.
pub const SPIKE_RATE_JSON: &str = "spike_rate.json";

/// Reads `dir/spike_rate.json` when present.
pub fn load_spike_rate(dir: &Path) -> Result<Option<SpikeRateStudy>, ReportError> {
    let path = dir.join(SPIKE_RATE_JSON);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ReportError::Parse {
            path,
            what: format!("not a `joulebench bench spike-rate` file: {e}"),
        })
}

/// The time-vs-input-spike-rate figure (file stem `spike-rate`): event-driven with `f32` and
/// with bit-packed input, native dense and the engine's dense mode (dashed), medians; a
/// vertical dashed line at the crossover rate when there is one. The time axis is logarithmic
/// when the plotted times span more than a factor of 10.
pub fn spike_rate_figure(s: &SpikeRateStudy) -> Result<Figure, ReportError> {
    let mut sweep = s.sweep.clone();
    sweep.sort_by(|a, b| a.input_rate.total_cmp(&b.input_rate));
    let pct = |p: &RatePoint| 100.0 * p.input_rate;
    let mut lines = Vec::new();
    let mut add = |name: &str, k: usize, dashed: bool, pts: Vec<(f64, f64)>| {
        if !pts.is_empty() {
            lines.push(Line {
                name: name.to_string(),
                color: series_color(k),
                dashed,
                points: pts,
            });
        }
    };
    add(
        "event-driven (f32 input)",
        0,
        false,
        sweep.iter().map(|p| (pct(p), p.event.median_us)).collect(),
    );
    add(
        "event-driven (bit-packed input)",
        1,
        false,
        sweep
            .iter()
            .filter_map(|p| Some((pct(p), p.event_packed.as_ref()?.median_us)))
            .collect(),
    );
    add(
        "native dense",
        2,
        false,
        sweep
            .iter()
            .filter_map(|p| Some((pct(p), p.native_dense.as_ref()?.median_us)))
            .collect(),
    );
    add(
        "event engine, dense mode",
        3,
        true,
        sweep
            .iter()
            .map(|p| (pct(p), p.engine_dense.median_us))
            .collect(),
    );
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|v| *v > 0.0)
        .collect();
    let (lo, hi) = ys
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let log = hi > 10.0 * lo;
    let mut legend: Vec<LegendItem> = lines
        .iter()
        .map(|l| {
            LegendItem::new(
                l.name.clone(),
                l.color,
                LegendMark::Line { dashed: l.dashed },
            )
        })
        .collect();
    if let (Some(x), true) = (s.crossover_rate, lo.is_finite()) {
        let name = format!("crossover ≈ {:.1} %", 100.0 * x);
        let color = series_color(5);
        lines.push(Line {
            name: name.clone(),
            color,
            dashed: true,
            points: vec![(100.0 * x, lo), (100.0 * x, hi)],
        });
        legend.push(LegendItem::new(
            name,
            color,
            LegendMark::Line { dashed: true },
        ));
    }
    let y_label = "µs per inference (median)";
    let chart = LinePanels {
        title: format!(
            "Time per inference vs input spike rate (T = {}, batch {}, {} thread{})",
            s.steps,
            s.batch,
            s.threads,
            if s.threads == 1 { "" } else { "s" }
        ),
        x: Axis::linear("input spike rate (%)").fixed(0.0, 100.0),
        y: if log {
            Axis::log(y_label)
        } else {
            Axis::linear(y_label).zero()
        },
        panels: vec![Panel::new(String::new(), lines)],
        legend,
        columns: 1,
        width: 1000,
        panel_height: 480,
        independent_y: false,
    };
    render("spike-rate", &chart)
}

/// Writes `dir/spike_rate.svg` and `dir/spike_rate.png` (atomically); returns their paths.
pub fn write_spike_rate_plot(dir: &Path, s: &SpikeRateStudy) -> Result<Vec<PathBuf>, ReportError> {
    let f = spike_rate_figure(s)?;
    let svg = dir.join("spike_rate.svg");
    let png = dir.join("spike_rate.png");
    write_atomic(&svg, f.svg.as_bytes())?;
    write_atomic(&png, &f.png)?;
    Ok(vec![svg, png])
}

/// The study's provenance line and table as HTML (the figure is added by the caller).
pub fn spike_rate_html(s: &SpikeRateStudy) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<p class=\"src\">Measured by <code>joulebench bench spike-rate</code>: {}. Model {}; weights {}; T = {}, batch {}, {} thread(s), event kernels {}; CPU {} (load average {}). Inputs: uniform random spike trains at each rate; headline: {}.</p>",
        esc(&s.how),
        esc(&s.model),
        esc(&s.weights),
        s.steps,
        s.batch,
        s.threads,
        esc(&s.event_isa),
        esc(&s.machine.cpu),
        s.machine
            .load_average_1m
            .map(|l| format!("{l:.2}"))
            .unwrap_or_else(|| "unknown".into()),
        esc(&s.headline_input)
    );
    let t = |t: &RateTiming| format!("{:.1} [{:.1}–{:.1}]", t.median_us, t.p10_us, t.p90_us);
    let opt = |x: &Option<RateTiming>| x.as_ref().map(t).unwrap_or_else(|| "–".into());
    h.push_str("<table><tr><th class=\"l\">input</th><th>input spikes / step</th><th>effective ops</th><th>event, f32 input (µs)</th><th>event, bit-packed (µs)</th><th>native dense (µs)</th><th>engine dense mode (µs)</th></tr>\n");
    let mut row = |label: String, p: &RatePoint| {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{:.1}</td><td>{:.3e}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&label),
            p.input_spikes_per_step,
            p.effective_ops,
            t(&p.event),
            opt(&p.event_packed),
            opt(&p.native_dense),
            t(&p.engine_dense)
        );
    };
    row("headline (rate-coded images)".into(), &s.headline);
    for p in &s.sweep {
        row(format!("{} %", 100.0 * p.input_rate), p);
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<p class=\"meta\">Median [p10–p90] µs per inference. Crossover: {}.</p>",
        esc(&s.crossover_note)
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(crossover: Option<f64>) -> SpikeRateStudy {
        let tm = |m: f64| RateTiming {
            median_us: m,
            p10_us: m * 0.9,
            p90_us: m * 1.1,
        };
        let pt = |r: f64| RatePoint {
            input_rate: r,
            input_spikes_per_step: 784.0 * r,
            event: tm(30.0 + 2000.0 * r),
            event_packed: Some(tm(20.0 + 2000.0 * r)),
            native_dense: Some(tm(1400.0)),
            engine_dense: tm(1200.0),
            ..Default::default()
        };
        SpikeRateStudy {
            model: "snn-temporal".into(),
            steps: 100,
            batch: 1,
            threads: 1,
            headline: pt(0.1),
            sweep: [0.0, 0.05, 0.5, 1.0].into_iter().map(pt).collect(),
            crossover_rate: crossover,
            crossover_note: "about 68.5 %".into(),
            ..Default::default()
        }
    }

    #[test]
    fn figure_names_every_line_and_marks_the_crossover() {
        let f = spike_rate_figure(&study(Some(0.685))).unwrap();
        assert_eq!(f.name, "spike-rate");
        for name in [
            "bit-packed",
            "native dense",
            "dense mode",
            "crossover ≈ 68.5 %",
        ] {
            assert!(f.svg.contains(name), "{name} missing");
        }
        assert_eq!(&f.png[1..4], b"PNG");
        let none = spike_rate_figure(&study(None)).unwrap();
        assert!(!none.svg.contains("crossover"));
    }

    #[test]
    fn reads_the_json_the_bench_writes_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_spike_rate(dir.path()).unwrap().is_none());
        let s = study(Some(0.5));
        std::fs::write(
            dir.path().join(SPIKE_RATE_JSON),
            serde_json::to_string(&s).unwrap(),
        )
        .unwrap();
        assert_eq!(load_spike_rate(dir.path()).unwrap(), Some(s.clone()));
        let paths = write_spike_rate_plot(dir.path(), &s).unwrap();
        assert!(paths.iter().all(|p| p.is_file()));
        assert!(spike_rate_html(&s).contains("<td>1200.0 [1080.0–1320.0]</td>"));
        std::fs::write(dir.path().join(SPIKE_RATE_JSON), "{\"sweep\": 3}").unwrap();
        let e = load_spike_rate(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("spike_rate.json") && e.contains("spike-rate"),
            "{e}"
        );
    }
}
