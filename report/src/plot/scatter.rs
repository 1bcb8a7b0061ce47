//! Labelled scatter plots (accuracy vs FLOPs, latency vs FLOPs, …) with an optional
//! Pareto front drawn as a step line through the non-dominated points.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::{draw_legend, legend_height, LegendItem};
use super::{sizes, text, titled, Axis, Draw, PlotError};

#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPoint {
    pub x: f64,
    pub y: f64,
    pub label: String,
    pub color: RGBColor,
    /// Hollow marker: the value is an estimate.
    pub hollow: bool,
}

/// Which direction is better on each axis, for the Pareto front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Better {
    /// Smaller x is better (cost).
    pub x_smaller: bool,
    /// Larger y is better (accuracy).
    pub y_larger: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPlot {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub points: Vec<ScatterPoint>,
    pub legend: Vec<LegendItem>,
    /// Draw the Pareto front of the points under this preference.
    pub pareto: Option<Better>,
    pub width: u32,
    pub height: u32,
}

/// Indices of the non-dominated points (no other point is at least as good on both axes and
/// strictly better on one), sorted by x.
pub fn pareto_front(points: &[(f64, f64)], better: Better) -> Vec<usize> {
    let sx = |x: f64| if better.x_smaller { x } else { -x };
    let sy = |y: f64| if better.y_larger { -y } else { y };
    // Convert to "smaller is better" on both axes.
    let mut idx: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0.is_finite() && points[i].1.is_finite())
        .collect();
    idx.sort_by(|&a, &b| {
        sx(points[a].0)
            .total_cmp(&sx(points[b].0))
            .then(sy(points[a].1).total_cmp(&sy(points[b].1)))
    });
    let mut front = Vec::new();
    let mut best_y = f64::INFINITY;
    for i in idx {
        let y = sy(points[i].1);
        if y < best_y {
            front.push(i);
            best_y = y;
        }
    }
    front.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0));
    front
}

impl Draw for ScatterPlot {
    fn size(&self) -> (u32, u32) {
        (
            self.width,
            self.height + legend_height(&self.legend, self.width),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title)?;
        let area = draw_legend(&area, &self.legend)?;
        let x_range = self.x.range(self.points.iter().map(|p| p.x));
        let y_range = self.y.range(self.points.iter().map(|p| p.y));
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .margin_right(210)
            .x_label_area_size(52)
            .y_label_area_size(76)
            .build_cartesian_2d(x_range.clone(), y_range.clone())?;
        let (xa, ya) = (self.x.clone(), self.y.clone());
        let xf = move |v: &f64| xa.tick(*v);
        let yf = move |v: &f64| ya.tick(*v);
        chart
            .configure_mesh()
            .x_labels(self.x.ticks(&x_range))
            .y_labels(self.y.ticks(&y_range))
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .x_desc(self.x.label.clone())
            .y_desc(self.y.label.clone())
            .axis_desc_style(text(sizes::AXIS_DESC))
            .label_style(text(sizes::TICK))
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()?;
        let mapped: Vec<(f64, f64)> = self
            .points
            .iter()
            .map(|p| {
                (
                    self.x.map(p.x).unwrap_or(f64::NAN),
                    self.y.map(p.y).unwrap_or(f64::NAN),
                )
            })
            .collect();
        if let Some(better) = self.pareto {
            let front = pareto_front(&mapped, better);
            if front.len() > 1 {
                // Step line: horizontal then vertical between successive front points.
                let mut path = Vec::new();
                for w in front.windows(2) {
                    let (a, b) = (mapped[w[0]], mapped[w[1]]);
                    path.push(a);
                    path.push((b.0, a.1));
                }
                path.push(mapped[*front.last().unwrap_or(&0)]);
                chart.draw_series(DashedLineSeries::new(path, 6, 4, BLACK.stroke_width(2)))?;
            }
            for &i in &front {
                chart.draw_series(std::iter::once(Circle::new(
                    mapped[i],
                    10,
                    BLACK.stroke_width(1),
                )))?;
            }
        }
        let (xs, ys) = (x_range.end - x_range.start, y_range.end - y_range.start);
        for (i, (p, &m)) in self.points.iter().zip(&mapped).enumerate() {
            if !(m.0.is_finite() && m.1.is_finite()) {
                continue;
            }
            // Labels of (nearly) coincident points are stacked instead of overprinted.
            let stack = mapped[..i]
                .iter()
                .filter(|q| (q.0 - m.0).abs() < 0.03 * xs && (q.1 - m.1).abs() < 0.03 * ys)
                .count() as i32;
            if p.hollow {
                chart.draw_series(std::iter::once(Circle::new(m, 6, p.color.stroke_width(2))))?;
            } else {
                chart.draw_series(std::iter::once(Circle::new(m, 6, p.color.filled())))?;
            }
            chart.draw_series(std::iter::once(
                EmptyElement::at(m)
                    + Text::new(
                        p.label.clone(),
                        (9, -14 + 17 * stack),
                        text(sizes::SMALL).pos(Pos::new(HPos::Left, VPos::Top)),
                    ),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_keeps_only_non_dominated() {
        // (cost, accuracy): b dominates c; a is cheapest; d best accuracy.
        let pts = [(1.0, 0.8), (2.0, 0.9), (3.0, 0.85), (10.0, 0.95)];
        let f = pareto_front(
            &pts,
            Better {
                x_smaller: true,
                y_larger: true,
            },
        );
        assert_eq!(f, vec![0, 1, 3]);
    }
}
