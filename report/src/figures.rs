//! Which plots a [`ReportData`] gives, and how each is built from it. Every builder returns
//! `None` when the results hold nothing to draw (the page then says what is missing).

use std::collections::BTreeMap;

use plotters::style::RGBColor;

use crate::data::{InferenceResult, ModelResult, ReportData};
use crate::energy::{comparison_kind, EnergyFigure, EnergyKind, KINDS};
use crate::error::ReportError;
use crate::palette::{series_color, OKABE_ITO};
use crate::plot::axis::fmt_num;
use crate::plot::scatter::Better;
use crate::plot::{
    render, Axis, BarRow, BarStyle, Figure, HBarChart, LegendItem, LegendMark, Line, LinePanels,
    Panel, RasterPlot, ScatterPlot, ScatterPoint, WeightTile, WeightTiles,
};
use crate::sweep::{SweepAxis, SweepSummary};

/// Plot width in pixels (the page shows plots at their natural size up to the column width).
pub const WIDTH: u32 = 1100;

const NON_SPIKING: RGBColor = OKABE_ITO[0];
const SPIKING: RGBColor = OKABE_ITO[1];
const GRAY: RGBColor = RGBColor(110, 110, 110);

fn family_color(m: Option<&ModelResult>) -> RGBColor {
    if m.is_some_and(|m| m.spiking) {
        SPIKING
    } else {
        NON_SPIKING
    }
}

fn family_legend() -> Vec<LegendItem> {
    vec![
        bar_key("non-spiking", NON_SPIKING),
        bar_key("spiking", SPIKING),
    ]
}

/// The model-family legend of the scatter plots (filled markers).
fn family_marker_legend() -> Vec<LegendItem> {
    vec![
        LegendItem::new(
            "non-spiking",
            NON_SPIKING,
            LegendMark::Marker { hollow: false },
        ),
        LegendItem::new("spiking", SPIKING, LegendMark::Marker { hollow: false }),
    ]
}

/// Pareto direction of every accuracy-against-cost scatter: less x, more accuracy.
const CHEAPER_AND_MORE_ACCURATE: Better = Better {
    x_smaller: true,
    y_larger: true,
};

/// A legend entry with a solid (not hatched) bar.
fn bar_key(label: impl Into<String>, color: RGBColor) -> LegendItem {
    LegendItem::new(
        label,
        color,
        LegendMark::Bar {
            style: BarStyle::Solid,
        },
    )
}

/// A solid bar (a measured or counted value, not an estimate).
fn solid_bar(
    group: &str,
    label: impl Into<String>,
    value: f64,
    color: RGBColor,
    annotation: String,
) -> BarRow {
    BarRow {
        group: group.to_string(),
        label: label.into(),
        value,
        color,
        style: BarStyle::Solid,
        range: None,
        annotation,
    }
}

/// An axis fitted to the bars' values ([`Axis::auto`]: log scale when they span decades).
fn axis_for(label: impl Into<String>, rows: &[BarRow]) -> Axis {
    Axis::auto(label, rows.iter().map(|r| r.value))
}

/// Renders `rows` as the horizontal bar chart `name`, [`WIDTH`] pixels wide.
fn bar_figure(
    name: &str,
    title: impl Into<String>,
    axis: Axis,
    rows: Vec<BarRow>,
    legend: Vec<LegendItem>,
) -> Result<Figure, ReportError> {
    render(
        name,
        &HBarChart {
            title: title.into(),
            axis,
            rows,
            legend,
            width: WIDTH,
        },
    )
}

/// Colour of each backend, by first appearance in the results.
pub fn backend_colors(data: &ReportData) -> BTreeMap<String, RGBColor> {
    data.backends()
        .into_iter()
        .enumerate()
        .map(|(i, b)| (b, series_color(i)))
        .collect()
}

/// Chooses a unit for energies around `max_j` joules: (multiplier, unit name).
pub fn energy_unit(max_j: f64) -> (f64, &'static str) {
    if max_j >= 1.0 {
        (1.0, "J")
    } else if max_j >= 1e-3 {
        (1e3, "mJ")
    } else if max_j >= 1e-6 {
        (1e6, "µJ")
    } else {
        (1e9, "nJ")
    }
}

/// `12.3 µJ` for joules.
pub fn fmt_energy(j: f64) -> String {
    let (k, u) = energy_unit(j.abs());
    format!("{} {u}", fmt_num(j * k))
}

/// `12.3 µs`, `4.5 ms` for microseconds.
pub fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{} s", fmt_num(us / 1e6))
    } else if us >= 1e3 {
        format!("{} ms", fmt_num(us / 1e3))
    } else {
        format!("{} µs", fmt_num(us))
    }
}

fn pct(v: f64) -> String {
    format!("{:.2} %", 100.0 * v)
}

/// Accuracy per model (bars).
pub fn accuracy(data: &ReportData) -> Result<Option<Figure>, ReportError> {
    let rows: Vec<BarRow> = data
        .models
        .iter()
        .filter_map(|m| {
            let a = data.model_accuracy(&m.name)?;
            Some(solid_bar(
                &m.name,
                m.name.clone(),
                100.0 * a,
                family_color(Some(m)),
                pct(a),
            ))
        })
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    bar_figure(
        "accuracy",
        format!("Test accuracy per model ({})", data.dataset),
        Axis::linear("test accuracy (%)").fixed(0.0, 100.0),
        rows,
        family_legend(),
    )
    .map(Some)
}

/// Training curves: loss and accuracy per epoch, train vs test, one panel per model.
pub fn training_curves(data: &ReportData) -> Result<Vec<Figure>, ReportError> {
    let trained: Vec<&ModelResult> = data
        .models
        .iter()
        .filter(|m| m.training.as_ref().is_some_and(|t| !t.epochs.is_empty()))
        .collect();
    if trained.is_empty() {
        return Ok(vec![]);
    }
    let legend = vec![
        LegendItem::new("train", OKABE_ITO[0], LegendMark::Line { dashed: false }),
        LegendItem::new("test", OKABE_ITO[5], LegendMark::Line { dashed: true }),
    ];
    let panels = |f: &dyn Fn(&crate::data::EpochSummary) -> (f64, f64)| -> Vec<Panel> {
        trained
            .iter()
            .map(|m| {
                let ep = &m
                    .training
                    .as_ref()
                    .map(|t| t.epochs.clone())
                    .unwrap_or_default();
                let train = ep.iter().map(|e| (e.epoch as f64, f(e).0)).collect();
                let test = ep.iter().map(|e| (e.epoch as f64, f(e).1)).collect();
                Panel::new(
                    m.name.clone(),
                    vec![
                        Line {
                            name: "train".into(),
                            color: OKABE_ITO[0],
                            dashed: false,
                            points: train,
                        },
                        Line {
                            name: "test".into(),
                            color: OKABE_ITO[5],
                            dashed: true,
                            points: test,
                        },
                    ],
                )
            })
            .collect()
    };
    let columns = 3;
    let loss = LinePanels {
        title: "Training curves: cross-entropy loss per epoch".into(),
        x: Axis::linear("epoch").integer(),
        y: Axis::linear("loss (mean cross-entropy)"),
        panels: panels(&|e| (e.train_loss, e.test_loss)),
        legend: legend.clone(),
        columns,
        width: WIDTH,
        panel_height: 260,
        independent_y: true,
    };
    let acc = LinePanels {
        title: "Training curves: accuracy per epoch".into(),
        x: Axis::linear("epoch").integer(),
        y: Axis::linear("accuracy (%)"),
        panels: panels(&|e| (100.0 * e.train_accuracy, 100.0 * e.test_accuracy)),
        legend,
        columns,
        width: WIDTH,
        panel_height: 260,
        independent_y: true,
    };
    Ok(vec![
        render("training-loss", &loss)?,
        render("training-accuracy", &acc)?,
    ])
}

/// Mean training seconds per epoch per model (bars), and measured energy per epoch when any.
pub fn training_cost(data: &ReportData) -> Result<Vec<Figure>, ReportError> {
    let mut out = Vec::new();
    let mut rows = Vec::new();
    let mut erows = Vec::new();
    for m in &data.models {
        let Some(t) = m.training.as_ref().filter(|t| !t.epochs.is_empty()) else {
            continue;
        };
        let n = t.epochs.len() as f64;
        let mean = t.total_wall_s() / n;
        let sd = (t
            .epochs
            .iter()
            .map(|e| (e.wall_s - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        rows.push(solid_bar(
            &m.name,
            m.name.clone(),
            mean,
            family_color(Some(m)),
            format!(
                "{} s ± {} over {} epochs ({})",
                fmt_num(mean),
                fmt_num(sd),
                t.epochs.len(),
                t.device
            ),
        ));
        let energies: Vec<f64> = t
            .epochs
            .iter()
            .filter_map(|e| e.energy.as_ref().map(|x| x.joules))
            .collect();
        if !energies.is_empty() {
            let meter = t
                .epochs
                .iter()
                .find_map(|e| e.energy.as_ref().map(|x| x.meter.clone()))
                .unwrap_or_default();
            let me = energies.iter().sum::<f64>() / energies.len() as f64;
            erows.push(solid_bar(
                &m.name,
                m.name.clone(),
                me,
                family_color(Some(m)),
                format!("{} J per epoch, measured: {meter}", fmt_num(me)),
            ));
        }
    }
    if !rows.is_empty() {
        let axis = axis_for(
            "wall time per epoch (s), training pass + test evaluation",
            &rows,
        );
        let axis = if axis.log { axis } else { axis.zero() };
        out.push(bar_figure(
            "training-time",
            "Training time per epoch",
            axis,
            rows,
            family_legend(),
        )?);
    }
    if !erows.is_empty() {
        out.push(bar_figure(
            "training-energy",
            "Training energy per epoch (measured)",
            axis_for("energy per epoch (J), measured", &erows),
            erows,
            family_legend(),
        )?);
    }
    Ok(out)
}

/// Latency at the smallest batch per model × backend (bars), and µs per sample against
/// batch size (one panel per model, a line per backend).
pub fn latency(data: &ReportData) -> Result<Vec<Figure>, ReportError> {
    let colors = backend_colors(data);
    let legend: Vec<LegendItem> = colors.iter().map(|(b, c)| bar_key(b.clone(), *c)).collect();
    let mut out = Vec::new();
    let Some(&b0) = data.batches().first() else {
        return Ok(out);
    };
    let mut rows = Vec::new();
    for m in &data.models {
        for b in data.backends() {
            let Some(l) = data
                .result(&m.name, &b, b0)
                .and_then(|r| r.latency.as_ref())
            else {
                continue;
            };
            rows.push(solid_bar(
                &m.name,
                format!("{} · {b}", m.name),
                l.per_sample_us(b0),
                colors[&b],
                format!(
                    "{} (p99 {})",
                    fmt_us(l.per_sample_us(b0)),
                    fmt_us(l.p99_us / b0 as f64)
                ),
            ));
        }
    }
    if rows.is_empty() {
        return Ok(out);
    }
    let axis = axis_for(
        format!("latency per inference at batch {b0} (µs, mean; log scale when spanning decades)"),
        &rows,
    );
    out.push(bar_figure(
        "latency-batch",
        format!("Latency per inference, batch {b0}, per model and backend"),
        axis,
        rows,
        legend.clone(),
    )?);
    if data.batches().len() > 1 {
        let panels: Vec<Panel> = data
            .models
            .iter()
            .filter_map(|m| {
                let lines: Vec<Line> = colors
                    .iter()
                    .filter_map(|(b, c)| {
                        let pts: Vec<(f64, f64)> = data
                            .inference
                            .iter()
                            .filter(|r| r.model == m.name && &r.backend == b)
                            .filter_map(|r| {
                                Some((r.batch as f64, r.latency.as_ref()?.per_sample_us(r.batch)))
                            })
                            .collect();
                        (!pts.is_empty()).then(|| {
                            let mut pts = pts;
                            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                            Line {
                                name: b.clone(),
                                color: *c,
                                dashed: false,
                                points: pts,
                            }
                        })
                    })
                    .collect();
                (!lines.is_empty()).then(|| Panel::new(m.name.clone(), lines))
            })
            .collect();
        if !panels.is_empty() {
            let lines = |p: &Panel| {
                p.lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|p| p.1))
                    .collect::<Vec<_>>()
            };
            let ys: Vec<f64> = panels.iter().flat_map(lines).collect();
            let chart = LinePanels {
                title: "Latency per sample against batch size".into(),
                x: Axis::log("batch size"),
                y: Axis::auto("µs per sample (mean)", ys),
                panels,
                legend: colors
                    .iter()
                    .map(|(b, c)| {
                        LegendItem::new(b.clone(), *c, LegendMark::Line { dashed: false })
                    })
                    .collect(),
                columns: 3,
                width: WIDTH,
                panel_height: 250,
                independent_y: false,
            };
            out.push(render("latency-vs-batch", &chart)?);
        }
    }
    Ok(out)
}

/// The fastest backend's mean latency per sample at the smallest batch, per model.
pub fn best_latency_us(data: &ReportData, model: &str) -> Option<(f64, String)> {
    let b0 = *data.batches().first()?;
    data.inference
        .iter()
        .filter(|r| r.model == model && r.batch == b0)
        .filter_map(|r| Some((r.latency.as_ref()?.per_sample_us(b0), r.backend.clone())))
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

/// The FLOPs notebook's three plots: accuracy vs FLOPs, latency vs FLOPs, accuracy vs latency.
pub fn flops_plots(data: &ReportData) -> Result<Vec<Figure>, ReportError> {
    let mut out = Vec::new();
    let legend = family_marker_legend();
    let mk = |pts: Vec<ScatterPoint>,
              name: &str,
              title: &str,
              x: Axis,
              y: Axis,
              pareto: Option<Better>| {
        if pts.is_empty() {
            return Ok(None);
        }
        let chart = ScatterPlot {
            title: title.into(),
            x,
            y,
            points: pts,
            legend: legend.clone(),
            pareto,
            width: WIDTH,
            height: 560,
        };
        render(name, &chart).map(Some)
    };
    let point = |m: &ModelResult, x: f64, y: f64| ScatterPoint {
        x,
        y,
        label: m.name.clone(),
        color: family_color(Some(m)),
        hollow: false,
    };
    let acc_flops: Vec<ScatterPoint> = data
        .models
        .iter()
        .filter(|m| m.flops > 0)
        .filter_map(|m| {
            Some(point(
                m,
                m.flops as f64,
                100.0 * data.model_accuracy(&m.name)?,
            ))
        })
        .collect();
    let xs = acc_flops.iter().map(|p| p.x).collect::<Vec<_>>();
    if let Some(f) = mk(
        acc_flops,
        "accuracy-vs-flops",
        "Accuracy against FLOPs per inference",
        Axis::auto("FLOPs per inference (counted; 2 × MACs)", xs.clone()),
        Axis::linear("test accuracy (%)"),
        Some(CHEAPER_AND_MORE_ACCURATE),
    )? {
        out.push(f);
    }
    let lat_flops: Vec<ScatterPoint> = data
        .models
        .iter()
        .filter(|m| m.flops > 0)
        .filter_map(|m| {
            let (us, b) = best_latency_us(data, &m.name)?;
            let mut p = point(m, m.flops as f64, us);
            p.label = format!("{} ({b})", m.name);
            Some(p)
        })
        .collect();
    let ys = lat_flops.iter().map(|p| p.y).collect::<Vec<_>>();
    let xs = lat_flops.iter().map(|p| p.x).collect::<Vec<_>>();
    if let Some(f) = mk(
        lat_flops,
        "latency-vs-flops",
        "Latency against FLOPs (fastest backend per model)",
        Axis::auto("FLOPs per inference (counted; 2 × MACs)", xs),
        Axis::auto("latency per inference (µs, mean)", ys),
        None,
    )? {
        out.push(f);
    }
    let acc_lat: Vec<ScatterPoint> = data
        .models
        .iter()
        .filter_map(|m| {
            let (us, b) = best_latency_us(data, &m.name)?;
            let mut p = point(m, us, 100.0 * data.model_accuracy(&m.name)?);
            p.label = format!("{} ({b})", m.name);
            Some(p)
        })
        .collect();
    let xs = acc_lat.iter().map(|p| p.x).collect::<Vec<_>>();
    if let Some(f) = mk(
        acc_lat,
        "accuracy-vs-latency",
        "Accuracy against latency (fastest backend per model)",
        Axis::auto("latency per inference (µs, mean)", xs),
        Axis::linear("test accuracy (%)"),
        Some(CHEAPER_AND_MORE_ACCURATE),
    )? {
        out.push(f);
    }
    Ok(out)
}

/// One model × backend in the energy figure and table: its result row at the smallest batch
/// that has any energy figure.
#[derive(Debug, Clone, Copy)]
pub struct EnergyRow<'a> {
    pub model: &'a ModelResult,
    pub backend: &'a str,
    pub batch: usize,
    pub result: &'a InferenceResult,
}

impl<'a> EnergyRow<'a> {
    /// Every figure of the row, measured first.
    pub fn figures(&self) -> &'a [EnergyFigure] {
        self.result.energy_figures()
    }

    /// The row's best figure (`energy`).
    pub fn best(&self) -> Option<&'a EnergyFigure> {
        self.result.best_energy()
    }

    /// The row's first figure of `kind`.
    pub fn of(&self, kind: EnergyKind) -> Option<&'a EnergyFigure> {
        self.result.energy_of(kind)
    }

    /// The kinds the row has, best first.
    pub fn kinds(&self) -> Vec<EnergyKind> {
        KINDS
            .iter()
            .copied()
            .filter(|&k| self.of(k).is_some())
            .collect()
    }
}

/// Energy per inference at the smallest batch per model × backend: the rows of the energy
/// plot and table, models in order, backends in first-seen order.
pub fn energy_rows(data: &ReportData) -> Vec<EnergyRow<'_>> {
    let backends = data.backends();
    let mut out = Vec::new();
    for m in &data.models {
        for b in &backends {
            let Some(r) = data
                .inference
                .iter()
                .filter(|x| x.model == m.name && &x.backend == b)
                .filter(|x| !x.energy_figures().is_empty())
                .min_by_key(|x| x.batch)
            else {
                continue;
            };
            out.push(EnergyRow {
                model: m,
                backend: &r.backend,
                batch: r.batch,
                result: r,
            });
        }
    }
    out
}

/// How a bar of each kind of energy figure is drawn.
pub fn kind_style(kind: EnergyKind) -> BarStyle {
    match kind {
        EnergyKind::Measured => BarStyle::Solid,
        EnergyKind::Modelled => BarStyle::Outlined,
        EnergyKind::Estimate => BarStyle::Hatched,
    }
}

/// The legend entry explaining the bars of `kind`.
fn kind_key(kind: EnergyKind) -> LegendItem {
    let label = match kind {
        EnergyKind::Measured => "solid = measured (hardware counter; whisker ± std)",
        EnergyKind::Modelled => "outlined = modelled (CPU time × power model; whisker low–high)",
        EnergyKind::Estimate => "hatched, lighter = estimate (op counts × 45 nm table)",
    };
    LegendItem::new(
        label,
        GRAY,
        LegendMark::Bar {
            style: kind_style(kind),
        },
    )
}

/// `1.2–3.4 µJ` (one unit, chosen for the high end).
pub fn fmt_energy_range(low: f64, high: f64) -> String {
    let (k, u) = energy_unit(high.abs().max(low.abs()));
    format!("{}–{} {u}", fmt_num(low * k), fmt_num(high * k))
}

/// The text at the end of a figure's bar: value, kind word, spread or band, source.
fn energy_annotation(e: &EnergyFigure) -> String {
    let v = fmt_energy(e.joules_per_inference);
    let band = (e.high > e.low).then(|| fmt_energy_range(e.low, e.high));
    match e.kind {
        EnergyKind::Measured => match e.std_joules {
            Some(sd) => format!("{v} measured ± {} ({})", fmt_energy(sd), e.source),
            None => format!("{v} measured ({})", e.source),
        },
        EnergyKind::Modelled => match band {
            Some(b) => format!("{v} modelled, {b} ({})", e.source),
            None => format!("{v} modelled ({})", e.source),
        },
        EnergyKind::Estimate => match band {
            Some(b) => format!("{v} estimate, {b} (ideal 45 nm accelerator: {})", e.source),
            None => format!("{v} estimate (ideal 45 nm accelerator: {})", e.source),
        },
    }
}

/// The whisker of a figure's bar, joules: ± std for a measurement, low–high otherwise.
fn energy_whisker(e: &EnergyFigure) -> Option<(f64, f64)> {
    match e.kind {
        EnergyKind::Measured => e
            .std_joules
            .filter(|sd| *sd > 0.0)
            .map(|sd| (e.joules_per_inference - sd, e.joules_per_inference + sd)),
        _ => (e.high > e.low).then_some((e.low, e.high)),
    }
}

/// Energy per inference per model and backend, one bar per figure side by side: measured
/// solid, modelled outlined, estimates hatched and lighter; each bar's label and text say its
/// kind, and the legend explains the three styles.
pub fn energy(data: &ReportData) -> Result<Option<Figure>, ReportError> {
    let rows_src = energy_rows(data);
    if rows_src.is_empty() {
        return Ok(None);
    }
    let colors = backend_colors(data);
    let max = rows_src
        .iter()
        .flat_map(|r| r.figures())
        .map(|e| e.joules_per_inference.max(e.high))
        .fold(0.0, f64::max);
    let (k, unit) = energy_unit(max);
    let mut rows: Vec<BarRow> = Vec::new();
    let mut kinds_seen: Vec<EnergyKind> = Vec::new();
    for r in &rows_src {
        let mut figs: Vec<&EnergyFigure> = r.figures().iter().collect();
        figs.sort_by_key(|e| e.kind);
        for e in figs {
            if !kinds_seen.contains(&e.kind) {
                kinds_seen.push(e.kind);
            }
            let batch = if r.batch > 1 {
                format!(", batch {}", r.batch)
            } else {
                String::new()
            };
            rows.push(BarRow {
                group: format!("{} · {}", r.model.name, r.backend),
                label: format!("{} · {} · {}", r.model.name, r.backend, e.kind),
                value: e.joules_per_inference * k,
                color: colors[r.backend],
                style: kind_style(e.kind),
                range: energy_whisker(e).map(|(lo, hi)| (lo * k, hi * k)),
                annotation: format!("{}{batch}", energy_annotation(e)),
            });
        }
    }
    kinds_seen.sort();
    let mut legend: Vec<LegendItem> = colors
        .iter()
        .filter(|(b, _)| rows_src.iter().any(|r| r.backend == b.as_str()))
        .map(|(b, c)| bar_key(b.clone(), *c))
        .collect();
    legend.extend(kinds_seen.iter().map(|&kind| kind_key(kind)));
    let kinds: Vec<&str> = kinds_seen.iter().map(|k| k.as_str()).collect();
    let title = match kinds.as_slice() {
        [one] => format!("Energy per inference, per model and backend ({one})"),
        [a, b] => format!("Energy per inference, per model and backend: {a} and {b} side by side"),
        _ => format!(
            "Energy per inference, per model and backend: {} side by side",
            kinds.join(", ")
        ),
    };
    let axis = Axis::auto(
        format!("energy per inference ({unit}); bar style and text give the kind"),
        rows.iter()
            .flat_map(|r| std::iter::once(r.value).chain(r.range.map(|x| x.1))),
    );
    bar_figure("energy", title, axis, rows, legend).map(Some)
}

/// What the accuracy–energy front compares: one figure per model, all of one kind.
#[derive(Debug, Clone)]
pub struct ParetoChoice<'a> {
    /// The kind every point is of ([`comparison_kind`] over the models' kinds).
    pub kind: EnergyKind,
    /// Per model: the backend with the lowest figure of `kind`, and that figure.
    pub points: Vec<(&'a ModelResult, &'a str, &'a EnergyFigure)>,
    /// Models with a better kind than `kind` that the comparison did not use (like for like).
    pub downgraded: Vec<(String, EnergyKind)>,
    /// Models left out because they have no figure of `kind`, with the kinds they have.
    pub left_out: Vec<(String, Vec<EnergyKind>)>,
}

impl ParetoChoice<'_> {
    /// Distinct sources of the points' figures, `; `-joined.
    pub fn sources(&self) -> String {
        let mut s: Vec<&str> = Vec::new();
        for (_, _, e) in &self.points {
            if !s.contains(&e.source.as_str()) {
                s.push(&e.source);
            }
        }
        s.join("; ")
    }

    /// `modelled: spec-sheet power model`: the kind and sources, for axis titles and captions.
    pub fn label(&self) -> String {
        format!("{}: {}", self.kind, self.sources())
    }
}

/// The figures the accuracy–energy front uses: per model (with an accuracy), its energy rows'
/// figures; one kind for all models by [`comparison_kind`] (the best kind all have, else the
/// most common), then per model the backend with the lowest figure of that kind.
pub fn pareto_choice(data: &ReportData) -> Option<ParetoChoice<'_>> {
    let rows = energy_rows(data);
    let mut per_model: Vec<(&ModelResult, Vec<EnergyRow<'_>>, Vec<EnergyKind>)> = Vec::new();
    for m in &data.models {
        if data.model_accuracy(&m.name).is_none() {
            continue;
        }
        let mine: Vec<EnergyRow<'_>> = rows
            .iter()
            .filter(|r| r.model.name == m.name)
            .copied()
            .collect();
        let kinds: Vec<EnergyKind> = KINDS
            .iter()
            .copied()
            .filter(|&k| mine.iter().any(|r| r.of(k).is_some()))
            .collect();
        if !kinds.is_empty() {
            per_model.push((m, mine, kinds));
        }
    }
    let kind = comparison_kind(per_model.iter().map(|(_, _, k)| k.as_slice()))?;
    let mut choice = ParetoChoice {
        kind,
        points: vec![],
        downgraded: vec![],
        left_out: vec![],
    };
    for (m, mine, kinds) in per_model {
        let lowest = mine
            .iter()
            .filter_map(|r| Some((r.backend, r.of(kind)?)))
            .min_by(|a, b| {
                a.1.joules_per_inference
                    .total_cmp(&b.1.joules_per_inference)
            });
        match lowest {
            Some((b, e)) => {
                if kinds[0] < kind {
                    choice.downgraded.push((m.name.clone(), kinds[0]));
                }
                choice.points.push((m, b, e));
            }
            None => choice.left_out.push((m.name.clone(), kinds)),
        }
    }
    Some(choice)
}

/// Accuracy against energy per inference (lowest-energy backend per model, every point of the
/// same kind: see [`pareto_choice`]), with the Pareto front.
pub fn pareto(data: &ReportData) -> Result<Option<Figure>, ReportError> {
    let Some(choice) = pareto_choice(data) else {
        return Ok(None);
    };
    let hollow = choice.kind != EnergyKind::Measured;
    let pts: Vec<ScatterPoint> = choice
        .points
        .iter()
        .filter_map(|(m, b, e)| {
            let acc = data.model_accuracy(&m.name)?;
            Some(ScatterPoint {
                x: e.joules_per_inference,
                y: 100.0 * acc,
                label: format!("{} ({b})", m.name),
                color: family_color(Some(m)),
                hollow,
            })
        })
        .collect();
    if pts.is_empty() {
        return Ok(None);
    }
    let max = pts.iter().map(|p| p.x).fold(0.0, f64::max);
    let (k, unit) = energy_unit(max);
    let pts: Vec<ScatterPoint> = pts
        .into_iter()
        .map(|mut p| {
            p.x *= k;
            p
        })
        .collect();
    let xs: Vec<f64> = pts.iter().map(|p| p.x).collect();
    let mut legend = family_marker_legend();
    if hollow {
        legend.push(LegendItem::new(
            format!("hollow = {}, not measured", choice.kind),
            GRAY,
            LegendMark::Marker { hollow: true },
        ));
    }
    legend.push(LegendItem::new(
        "Pareto front (dashed, ringed points)",
        RGBColor(0, 0, 0),
        LegendMark::Line { dashed: true },
    ));
    let chart = ScatterPlot {
        title: format!(
            "Accuracy against {} energy per inference: the Pareto front",
            choice.kind
        ),
        x: Axis::auto(
            format!("energy per inference ({unit}; {})", choice.label()),
            xs,
        ),
        y: Axis::linear("test accuracy (%)"),
        points: pts,
        legend,
        pareto: Some(CHEAPER_AND_MORE_ACCURATE),
        width: WIDTH,
        height: 560,
    };
    render("pareto-energy", &chart).map(Some)
}

/// Spiking results: one raster per model (at most `max_rasters`), per-layer sparsity, and
/// effective operations against dense MACs.
pub fn spiking(data: &ReportData, max_rasters: usize) -> Result<Vec<Figure>, ReportError> {
    let mut out = Vec::new();
    // One activity per model: the first result that has one.
    let mut acts = Vec::new();
    for m in &data.models {
        if let Some(r) = data
            .inference
            .iter()
            .find(|r| r.model == m.name && r.activity.is_some())
        {
            acts.push((m, r.backend.clone(), r.activity.as_ref().expect("filtered")));
        }
    }
    for (m, b, a) in acts
        .iter()
        .filter(|x| !x.2.raster.is_empty())
        .take(max_rasters)
    {
        let chart = RasterPlot {
            title: format!("Spike raster of one test sample: {} ({b} engine)", m.name),
            layers: a.raster.clone(),
            width: WIDTH,
            panel_height: 230,
        };
        out.push(render(&format!("raster-{}", slug(&m.name)), &chart)?);
    }
    let mut rows = Vec::new();
    for (m, _, a) in &acts {
        for l in &a.layers {
            rows.push(solid_bar(
                &m.name,
                format!("{} · {}", m.name, l.name),
                100.0 * l.input_sparsity,
                if l.event_driven { SPIKING } else { NON_SPIKING },
                format!(
                    "{:.1} % zeros, {} spikes/inference",
                    100.0 * l.input_sparsity,
                    fmt_num(l.spikes)
                ),
            ));
        }
    }
    if !rows.is_empty() {
        out.push(bar_figure(
            "sparsity",
            "Input sparsity per layer (fraction of zero inputs, averaged over samples and steps)",
            Axis::linear("zero inputs (%)").fixed(0.0, 100.0),
            rows,
            vec![
                bar_key("event-driven layer (spike input)", SPIKING),
                bar_key("dense layer (analog input)", NON_SPIKING),
            ],
        )?);
    }
    let mut rows = Vec::new();
    for (m, b, a) in &acts {
        let (eff, dense) = (a.total_effective_ops(), a.total_dense_macs());
        rows.push(solid_bar(
            &m.name,
            format!("{} · effective ({b})", m.name),
            eff,
            SPIKING,
            format!(
                "{} ops ({:.1} % of dense)",
                fmt_num(eff),
                100.0 * eff / dense.max(1.0)
            ),
        ));
        rows.push(solid_bar(
            &m.name,
            format!("{} · dense MACs", m.name),
            dense,
            NON_SPIKING,
            format!("{} MACs", fmt_num(dense)),
        ));
    }
    if !rows.is_empty() {
        out.push(bar_figure(
            "acs-vs-macs",
            "Effective synaptic operations (ACs + MACs actually done) against dense MACs",
            axis_for("operations per inference (counted by the engine)", &rows),
            rows,
            vec![
                bar_key("effective ops (event-driven engine)", SPIKING),
                bar_key("dense MACs (same network, all steps)", NON_SPIKING),
            ],
        )?);
    }
    Ok(out)
}

/// First-layer weights or filters of each model that has them (at most `max_models`).
pub fn weights(data: &ReportData, max_models: usize) -> Result<Vec<Figure>, ReportError> {
    let mut out = Vec::new();
    for m in data
        .models
        .iter()
        .filter(|m| m.first_layer.is_some())
        .take(max_models)
    {
        let w = m.first_layer.as_ref().expect("filtered");
        let Some(chart) = weight_tiles(m, w) else {
            continue;
        };
        out.push(render(&format!("weights-{}", slug(&m.name)), &chart)?);
    }
    Ok(out)
}

fn weight_tiles(m: &ModelResult, w: &crate::data::FirstLayerWeights) -> Option<WeightTiles> {
    let units = *w.shape.first()?;
    let per: usize = w.shape[1..].iter().product();
    if units == 0 || per == 0 || w.values.len() < units * per {
        return None;
    }
    let unit = |u: usize| w.values[u * per..(u + 1) * per].to_vec();
    let kept = if units < w.total_units {
        format!(" (first {units} of {})", w.total_units)
    } else {
        String::new()
    };
    let (tiles, per_row, px, sub) = match w.kind.as_str() {
        "linear" => {
            let img = match w.input_shape.as_slice() {
                [1, h, ww] | [h, ww] if h * ww == per && *h > 1 => Some((*h, *ww)),
                _ => None,
            };
            if let Some((h, ww)) = img {
                let n = units.min(16);
                let tiles = (0..n)
                    .map(|u| WeightTile {
                        title: format!("unit {u}"),
                        rows: h,
                        cols: ww,
                        values: unit(u),
                    })
                    .collect();
                (
                    tiles,
                    8,
                    110,
                    format!("each tile: one unit's {h}×{ww} input weights{kept}"),
                )
            } else {
                let tile = WeightTile {
                    title: format!("{} units × {per} inputs", units),
                    rows: units,
                    cols: per,
                    values: w.values[..units * per].to_vec(),
                };
                (
                    vec![tile],
                    1,
                    520,
                    format!("rows: units{kept}; columns: input positions"),
                )
            }
        }
        "conv1d" => {
            let (cin, k) = (w.shape[1], w.shape[2]);
            let tile = WeightTile {
                title: format!("{units} filters × {cin} channels × {k} taps"),
                rows: units * cin,
                cols: k,
                values: w.values[..units * per].to_vec(),
            };
            (
                vec![tile],
                1,
                360,
                format!("rows: filter × input channel{kept}; columns: kernel taps"),
            )
        }
        "conv2d" => {
            let (cin, kh, kw) = (w.shape[1], w.shape[2], w.shape[3]);
            let n = units.min(32);
            let tiles = (0..n)
                .map(|u| WeightTile {
                    title: format!("{u}"),
                    rows: kh,
                    cols: kw,
                    values: w.values[u * per..u * per + kh * kw].to_vec(),
                })
                .collect();
            let ch = if cin > 1 {
                format!(", input channel 0 of {cin}")
            } else {
                String::new()
            };
            (
                tiles,
                16,
                54,
                format!("each tile: one {kh}×{kw} filter{ch}{kept}"),
            )
        }
        _ => return None,
    };
    Some(WeightTiles {
        title: format!("First-layer weights of {} (layer `{}`)", m.name, w.layer),
        subtitle: sub,
        tiles,
        tiles_per_row: per_row,
        tile_px: px,
        width: WIDTH,
    })
}

/// A file-name-safe version of a label.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Plots of one sweep: accuracy against its varying axis (depth, width, input size) or
/// against MACs (several models). Recipe sweeps (optimizer/lr/batch) are tables only.
pub fn sweep(s: &SweepSummary) -> Result<Vec<Figure>, ReportError> {
    let rows: Vec<_> = s.done_rows().collect();
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let varying = s.varying();
    let mut out = Vec::new();
    let name = slug(&s.name);
    let acc = |r: &joulebench_models::SweepRow| 100.0 * r.test_acc.unwrap_or(f64::NAN);
    let acc_label = format!("{} accuracy (%)", s.eval_split_short());
    // Group rows by everything but the studied axis, a line per group.
    let lines_by = |x_of: &dyn Fn(&joulebench_models::SweepRow) -> Option<f64>,
                    group_of: &dyn Fn(&joulebench_models::SweepRow) -> String| {
        let mut groups: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for r in &rows {
            if let Some(x) = x_of(r) {
                groups.entry(group_of(r)).or_default().push((x, acc(r)));
            }
        }
        groups
            .into_iter()
            .enumerate()
            .map(|(i, (g, mut pts))| {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                Line {
                    name: g,
                    color: series_color(i),
                    dashed: false,
                    points: pts,
                }
            })
            .collect::<Vec<_>>()
    };
    let line_chart = |title: String, x: Axis, lines: Vec<Line>| LinePanels {
        title,
        x,
        y: Axis::linear(acc_label.clone()),
        legend: lines
            .iter()
            .map(|l| LegendItem::new(l.name.clone(), l.color, LegendMark::Line { dashed: false }))
            .collect(),
        panels: vec![Panel {
            title: String::new(),
            lines,
            x_categories: vec![],
        }],
        columns: 1,
        width: WIDTH,
        panel_height: 420,
        independent_y: false,
    };
    let desc = s.description.clone().unwrap_or_else(|| s.name.clone());
    // Accuracy against depth (a line per width and input) and against width (per depth).
    type Count = fn(&joulebench_models::SweepRow) -> Option<usize>;
    let studies: [(SweepAxis, &str, Count, &str, Count, Axis); 2] = [
        (
            SweepAxis::Depth,
            "depth",
            |r| r.depth,
            "width",
            |r| r.width,
            Axis::linear("hidden layers (depth)").integer(),
        ),
        (
            SweepAxis::Width,
            "width",
            |r| r.width,
            "depth",
            |r| r.depth,
            Axis::log("hidden units per layer (width)"),
        ),
    ];
    for (axis, what, x_of, other, other_of, x) in studies {
        if !varying.contains(&axis) {
            continue;
        }
        let lines = lines_by(&|r| x_of(r).map(|v| v as f64), &|r| {
            format!(
                "{other} {} · {}",
                other_of(r).map(|v| v.to_string()).unwrap_or("–".into()),
                r.input
            )
        });
        out.push(render(
            &format!("sweep-{name}-{what}"),
            &line_chart(format!("{desc}: accuracy against {what}"), x, lines),
        )?);
    }
    if varying.contains(&SweepAxis::Input) {
        let bars: Vec<BarRow> = rows
            .iter()
            .map(|r| {
                solid_bar(
                    &r.model,
                    format!("{} · {}", r.model, r.input),
                    acc(r),
                    series_color(0),
                    format!(
                        "{:.2} %, {} MACs, {} params",
                        acc(r),
                        fmt_num(r.macs as f64),
                        fmt_num(r.params as f64)
                    ),
                )
            })
            .collect();
        out.push(bar_figure(
            &format!("sweep-{name}-input"),
            format!("{desc}: accuracy per input size"),
            Axis::linear(acc_label.clone()).fixed(0.0, 100.0),
            bars,
            vec![],
        )?);
    }
    if rows.iter().any(|r| r.macs > 0)
        && (varying.contains(&SweepAxis::Model)
            || varying
                .iter()
                .any(|a| matches!(a, SweepAxis::Depth | SweepAxis::Width | SweepAxis::Input)))
    {
        let models: Vec<String> = rows
            .iter()
            .map(|r| r.model.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let pts: Vec<ScatterPoint> = rows
            .iter()
            .filter(|r| r.macs > 0)
            .map(|r| {
                let mut label = r.model.clone();
                if let (Some(d), Some(w)) = (r.depth, r.width) {
                    label = format!("{w}×{d}");
                }
                if r.input != "identity" && !r.input.is_empty() {
                    label = format!("{label} {}", r.input);
                }
                let i = models.iter().position(|m| m == &r.model).unwrap_or(0);
                ScatterPoint {
                    x: r.macs as f64,
                    y: acc(r),
                    label,
                    color: series_color(i),
                    hollow: false,
                }
            })
            .collect();
        let xs: Vec<f64> = pts.iter().map(|p| p.x).collect();
        let legend = models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                LegendItem::new(
                    m.clone(),
                    series_color(i),
                    LegendMark::Marker { hollow: false },
                )
            })
            .collect();
        out.push(render(
            &format!("sweep-{name}-macs"),
            &ScatterPlot {
                title: format!("{desc}: accuracy against MACs per inference"),
                x: Axis::auto("MACs per inference (counted)", xs),
                y: Axis::linear(acc_label.clone()),
                points: pts,
                legend,
                pareto: Some(CHEAPER_AND_MORE_ACCURATE),
                width: WIDTH,
                height: 520,
            },
        )?);
    }
    Ok(out)
}
