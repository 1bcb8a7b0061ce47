//! Line charts as small multiples: one panel per model (or study), the same axes in every
//! panel, one shared legend on top.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{draw_legend, legend_height, LegendItem};
use super::{sizes, text, titled, Axis, Draw, PlotError};

/// One line of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub color: RGBColor,
    pub dashed: bool,
    /// Points in value space (mapped through the axes when drawn); sorted by x.
    pub points: Vec<(f64, f64)>,
}

/// One panel: a title and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub lines: Vec<Line>,
    /// Text labels at x positions (categorical x axes), drawn instead of numeric ticks.
    pub x_categories: Vec<(f64, String)>,
}

impl Panel {
    pub fn new(title: impl Into<String>, lines: Vec<Line>) -> Self {
        Panel {
            title: title.into(),
            lines,
            x_categories: Vec::new(),
        }
    }
}

/// Small multiples of line charts sharing both axes.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePanels {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub panels: Vec<Panel>,
    pub legend: Vec<LegendItem>,
    /// Panels per row.
    pub columns: usize,
    pub width: u32,
    pub panel_height: u32,
    /// Each panel gets its own y range (when values differ by orders of magnitude between panels).
    pub independent_y: bool,
}

impl LinePanels {
    fn grid(&self) -> (usize, usize) {
        let cols = self.columns.clamp(1, self.panels.len().max(1));
        let rows = self.panels.len().div_ceil(cols).max(1);
        (rows, cols)
    }
}

impl Draw for LinePanels {
    fn size(&self) -> (u32, u32) {
        let (rows, _) = self.grid();
        (
            self.width,
            36 + legend_height(&self.legend, self.width) + rows as u32 * self.panel_height,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title)?;
        let area = draw_legend(&area, &self.legend)?;
        let (rows, cols) = self.grid();
        let cells = area.split_evenly((rows, cols));
        let all_x = || {
            self.panels
                .iter()
                .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)))
        };
        let all_y = || {
            self.panels
                .iter()
                .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)))
        };
        let x_range = self.x.range(all_x());
        let shared_y = self.y.range(all_y());
        for (panel, cell) in self.panels.iter().zip(cells.iter()) {
            let y_range = if self.independent_y {
                self.y.range(
                    panel
                        .lines
                        .iter()
                        .flat_map(|l| l.points.iter().map(|p| p.1)),
                )
            } else {
                shared_y.clone()
            };
            let mut chart = ChartBuilder::on(cell)
                .caption(panel.title.clone(), text(sizes::LABEL + 2.0))
                .margin(8)
                .margin_right(18)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(x_range.clone(), y_range.clone())?;
            let (xa, ya) = (self.x.clone(), self.y.clone());
            let cats = panel.x_categories.clone();
            let xf = move |v: &f64| {
                if cats.is_empty() {
                    xa.tick(*v)
                } else {
                    cats.iter()
                        .find(|(x, _)| (x - v).abs() < 1e-9)
                        .map(|c| c.1.clone())
                        .unwrap_or_default()
                }
            };
            let yf = move |v: &f64| ya.tick(*v);
            let x_ticks = if self.x.integer {
                ((x_range.end - x_range.start).floor() as usize + 1).clamp(2, 10)
            } else if panel.x_categories.is_empty() {
                self.x.ticks(&x_range).min(if cols > 2 { 6 } else { 10 })
            } else {
                // Category positions are 0..n; ask for integer ticks.
                (x_range.end - x_range.start).round() as usize + 1
            };
            chart
                .configure_mesh()
                .x_labels(x_ticks)
                .y_labels(self.y.ticks(&y_range).min(8))
                .x_label_formatter(&xf)
                .y_label_formatter(&yf)
                .x_desc(self.x.label.clone())
                .y_desc(self.y.label.clone())
                .axis_desc_style(text(sizes::SMALL + 1.0))
                .label_style(text(sizes::SMALL))
                .light_line_style(RGBColor(238, 238, 238))
                .bold_line_style(RGBColor(215, 215, 215))
                .draw()?;
            for line in &panel.lines {
                let pts: Vec<(f64, f64)> = line
                    .points
                    .iter()
                    .filter_map(|&(x, y)| Some((self.x.map(x)?, self.y.map(y)?)))
                    .collect();
                let style = line.color.stroke_width(3);
                if line.dashed {
                    chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))?;
                } else {
                    chart.draw_series(LineSeries::new(pts.clone(), style))?;
                }
                if line.dashed {
                    chart.draw_series(
                        pts.iter()
                            .map(|&p| Circle::new(p, 4, line.color.stroke_width(2))),
                    )?;
                } else {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 4, line.color.filled())))?;
                }
            }
        }
        Ok(())
    }
}
