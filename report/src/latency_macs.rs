//! The `joulebench bench macs` figure: latency against multiply-accumulate count, log-log,
//! one panel per batch size, one line per backend (points sorted by MACs).

use crate::error::ReportError;
use crate::palette::series_color;
use crate::plot::{render, Axis, Figure, LegendItem, LegendMark, Line, LinePanels, Panel};

/// One measured point: a model's dense MAC count per sample and a latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacsPoint {
    /// Dense multiply-accumulates per sample (the `ModelSpec` count).
    pub macs: f64,
    /// Median time per sample, microseconds.
    pub micros: f64,
}

/// All points of one backend at one batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct MacsSeries {
    pub backend: String,
    pub batch: usize,
    pub points: Vec<MacsPoint>,
}

/// Renders the log-log latency-vs-MACs figure (file stem `latency-vs-macs`): one panel per
/// batch size (ascending), a line per backend with the same colour in every panel.
/// Points with a non-positive value are dropped by the log axes. Errors only when drawing fails.
pub fn latency_vs_macs(series: &[MacsSeries], title: &str) -> Result<Figure, ReportError> {
    let mut backends: Vec<&str> = Vec::new();
    for s in series {
        if !backends.contains(&s.backend.as_str()) {
            backends.push(&s.backend);
        }
    }
    let color = |b: &str| series_color(backends.iter().position(|x| *x == b).unwrap_or(0));
    let mut batches: Vec<usize> = series.iter().map(|s| s.batch).collect();
    batches.sort_unstable();
    batches.dedup();
    let panels: Vec<Panel> = batches
        .iter()
        .map(|&b| {
            let lines = series
                .iter()
                .filter(|s| s.batch == b)
                .map(|s| {
                    let mut points: Vec<(f64, f64)> =
                        s.points.iter().map(|p| (p.macs, p.micros)).collect();
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Line {
                        name: s.backend.clone(),
                        color: color(&s.backend),
                        dashed: false,
                        points,
                    }
                })
                .collect();
            Panel::new(format!("batch {b}"), lines)
        })
        .collect();
    let chart = LinePanels {
        title: title.to_string(),
        x: Axis::log("dense MACs per sample"),
        y: Axis::log("µs per sample (median)"),
        columns: panels.len().clamp(1, 2),
        panels,
        legend: backends
            .iter()
            .map(|b| LegendItem::new(b.to_string(), color(b), LegendMark::Line { dashed: false }))
            .collect(),
        width: 1100,
        panel_height: 420,
        independent_y: true,
    };
    render("latency-vs-macs", &chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_svg_and_png_with_every_backend_named() {
        let s = |backend: &str, batch, k: f64| MacsSeries {
            backend: backend.into(),
            batch,
            points: vec![
                MacsPoint {
                    macs: 1e3,
                    micros: k,
                },
                MacsPoint {
                    macs: 1e6,
                    micros: 100.0 * k,
                },
            ],
        };
        let f = latency_vs_macs(
            &[
                s("native", 1, 1.0),
                s("tract", 1, 2.0),
                s("native", 64, 0.5),
            ],
            "t",
        )
        .unwrap();
        assert_eq!(f.name, "latency-vs-macs");
        assert!(f.svg.contains("native") && f.svg.contains("tract"));
        assert!(f.svg.contains("batch 64"));
        assert_eq!(&f.png[1..4], b"PNG");
    }
}
