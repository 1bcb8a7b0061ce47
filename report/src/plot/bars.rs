//! Horizontal bar charts: one bar per row, rows grouped (a small gap between groups),
//! labels on the left, the value printed at the end of each bar. The [`BarStyle`] tells what
//! kind of number a bar is: solid (measured or counted), outlined (modelled) or hatched and
//! lighter (estimated); an optional whisker shows a bar's spread or range.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::{draw_legend, legend_height, LegendItem};
use super::{hatch_segments, sizes, text, text_width, titled, Axis, Draw, PlotError};
use crate::palette::lighten;

/// How a bar (or its legend swatch) is drawn: what kind of number it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BarStyle {
    /// Filled with the colour: a measured or counted value.
    #[default]
    Solid,
    /// A faint tint inside a thick outline in the colour: a modelled value (measured inputs ×
    /// a model), not a measurement.
    Outlined,
    /// Lighter fill with diagonal lines: an estimate (operation counts × a table).
    Hatched,
}

impl BarStyle {
    /// Draws a bar of this style in the pixel rectangle `(x0, y0)–(x1, y1)` of `area`.
    pub fn draw<DB: DrawingBackend>(
        self,
        area: &DrawingArea<DB, Shift>,
        color: RGBColor,
        (x0, y0): (i32, i32),
        (x1, y1): (i32, i32),
        hatch_gap: i32,
    ) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        let rect = [(x0, y0), (x1, y1)];
        match self {
            BarStyle::Solid => {
                area.draw(&Rectangle::new(rect, color.filled()))?;
            }
            BarStyle::Outlined => {
                area.draw(&Rectangle::new(rect, lighten(color, 0.85).filled()))?;
                // Two nested 1 px rectangles: a 2 px outline that stays inside the bar.
                area.draw(&Rectangle::new(rect, color.stroke_width(1)))?;
                if (x1 - x0).abs() > 2 && (y1 - y0).abs() > 2 {
                    let (a, b) = (
                        (x0.min(x1) + 1, y0.min(y1) + 1),
                        (x0.max(x1) - 1, y0.max(y1) - 1),
                    );
                    area.draw(&Rectangle::new([a, b], color.stroke_width(1)))?;
                }
            }
            BarStyle::Hatched => {
                area.draw(&Rectangle::new(rect, lighten(color, 0.6).filled()))?;
                for s in hatch_segments(x0, y0, x1, y1, hatch_gap) {
                    area.draw(&PathElement::new(s.to_vec(), color.stroke_width(1)))?;
                }
                area.draw(&Rectangle::new(rect, color.stroke_width(1)))?;
            }
        }
        Ok(())
    }
}

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    /// Rows with the same group are kept together; a gap separates groups.
    pub group: String,
    /// Label at the left of the bar.
    pub label: String,
    pub value: f64,
    pub color: RGBColor,
    /// What kind of value it is: solid, outlined (modelled) or hatched (estimate).
    pub style: BarStyle,
    /// A whisker from `low` to `high` (same units as `value`): ± std of a measurement, the
    /// low–high band of a model or an estimate.
    pub range: Option<(f64, f64)>,
    /// Text at the end of the bar (e.g. `97.2 %`, `3.1 µJ estimate`).
    pub annotation: String,
}

/// A horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct HBarChart {
    pub title: String,
    pub axis: Axis,
    pub rows: Vec<BarRow>,
    pub legend: Vec<LegendItem>,
    pub width: u32,
}

const ROW_PX: u32 = 26;
const GROUP_GAP: f64 = 0.6;

impl HBarChart {
    /// Vertical position (in row units, from the top) of each row's centre, and the total height.
    fn layout(&self) -> (Vec<f64>, f64) {
        let mut y = 0.0;
        let mut pos = Vec::with_capacity(self.rows.len());
        for (i, r) in self.rows.iter().enumerate() {
            if i > 0 && self.rows[i - 1].group != r.group {
                y += GROUP_GAP;
            }
            pos.push(y + 0.5);
            y += 1.0;
        }
        (pos, y.max(1.0))
    }

    fn label_width(&self) -> u32 {
        self.rows
            .iter()
            .map(|r| text_width(&r.label, sizes::LABEL))
            .max()
            .unwrap_or(40)
            + 16
    }
}

impl Draw for HBarChart {
    fn size(&self) -> (u32, u32) {
        let (_, h) = self.layout();
        let height = 36 + legend_height(&self.legend, self.width) + (h * ROW_PX as f64) as u32 + 80;
        (self.width, height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title)?;
        let area = draw_legend(&area, &self.legend)?;
        let (pos, total) = self.layout();
        // The whiskers' high ends are kept inside the plot; their low ends are clipped to it.
        let x_range = self.axis.range(
            self.rows
                .iter()
                .flat_map(|r| std::iter::once(r.value).chain(r.range.map(|(_, hi)| hi))),
        );
        // Room on the right for the annotations of the longest bars.
        let ann_w = self
            .rows
            .iter()
            .map(|r| text_width(&r.annotation, sizes::SMALL))
            .max()
            .unwrap_or(0);
        let mut chart = ChartBuilder::on(&area)
            .margin_right(ann_w.min(self.width / 3) + 12)
            .margin_top(6)
            .x_label_area_size(50)
            .y_label_area_size(self.label_width())
            .build_cartesian_2d(x_range.clone(), 0.0..total)?;
        let axis = self.axis.clone();
        let fmt = move |v: &f64| axis.tick(*v);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(self.axis.ticks(&x_range))
            .x_label_formatter(&fmt)
            .x_desc(self.axis.label.clone())
            .axis_desc_style(text(sizes::AXIS_DESC))
            .label_style(text(sizes::TICK))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()?;

        let pa = chart.plotting_area().strip_coord_spec();
        let base = chart.plotting_area().get_base_pixel();
        let px = |x: f64, y: f64| {
            let (a, b) = chart.backend_coord(&(x, y));
            (a - base.0, b - base.1)
        };
        let start = x_range
            .start
            .max(if self.axis.log {
                f64::NEG_INFINITY
            } else {
                0.0
            })
            .min(x_range.end);
        for (r, &yc) in self.rows.iter().zip(&pos) {
            // Rows run top to bottom; the chart's y grows upwards.
            let y = total - yc;
            // Labels go in the label area left of the axis: drawn on the outer area, whose
            // own coordinates start at its top-left corner.
            let abs = chart.backend_coord(&(x_range.start, y));
            let outer = area.get_base_pixel();
            area.draw(&Text::new(
                r.label.clone(),
                (abs.0 - outer.0 - 10, abs.1 - outer.1),
                text(sizes::LABEL).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            let Some(v) = self.axis.map(r.value) else {
                continue;
            };
            let v = v.clamp(x_range.start, x_range.end);
            let (x0, y0) = px(start, y + 0.38);
            let (x1, y1) = px(v, y - 0.38);
            let x1 = x1.max(x0 + 1);
            r.style.draw(&pa, r.color, (x0, y0), (x1, y1), 6)?;
            let mut text_x = x1;
            if let Some((lo, hi)) = r.range {
                let clip = |v: f64| {
                    self.axis
                        .map(v)
                        .unwrap_or(x_range.start)
                        .clamp(x_range.start, x_range.end)
                };
                let (wa, wy) = px(clip(lo), y);
                let (wb, _) = px(clip(hi), y);
                let ink = RGBColor(40, 40, 40).stroke_width(2);
                pa.draw(&PathElement::new(vec![(wa, wy), (wb, wy)], ink))?;
                for wx in [wa, wb] {
                    pa.draw(&PathElement::new(vec![(wx, wy - 5), (wx, wy + 5)], ink))?;
                }
                text_x = text_x.max(wb);
            }
            if !r.annotation.is_empty() {
                pa.draw(&Text::new(
                    r.annotation.clone(),
                    (text_x + 5, (y0 + y1) / 2),
                    text(sizes::SMALL).pos(Pos::new(HPos::Left, VPos::Center)),
                ))?;
            }
        }
        Ok(())
    }
}
