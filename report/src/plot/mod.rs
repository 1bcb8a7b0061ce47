//! Plot rendering: every chart draws itself once on an SVG backend and once on a bitmap
//! (encoded as PNG), from the same code, with the embedded font.
//!
//! Coordinates: all charts use `f64 × f64` coordinates; a log axis plots `log10(value)` and
//! labels ticks with the value itself ([`Axis`]).

pub mod axis;
pub mod bars;
pub mod heatmap;
pub mod legend;
pub mod lines;
pub mod raster;
pub mod scatter;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use axis::Axis;
pub use bars::{BarRow, BarStyle, HBarChart};
pub use heatmap::{WeightTile, WeightTiles};
pub use legend::{LegendItem, LegendMark};
pub use lines::{Line, LinePanels, Panel};
pub use raster::RasterPlot;
pub use scatter::{ScatterPlot, ScatterPoint};

use crate::error::ReportError;
use crate::font;

/// A rendered plot: the SVG text and PNG bytes of the same picture.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem (`accuracy`, `latency-batch`, …): saved as `plots/<name>.svg` and `.png`.
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub svg: String,
    pub png: Vec<u8>,
}

/// Error while drawing (the backend's message).
#[derive(Debug, Clone)]
pub struct PlotError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError(e.to_string())
    }
}

/// A chart that can draw itself on any plotters backend.
pub trait Draw {
    /// Picture size in pixels (also the SVG's size).
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static;
}

/// Renders `chart` to SVG and PNG.
pub fn render<D: Draw>(name: &str, chart: &D) -> Result<Figure, ReportError> {
    font::ensure_registered();
    let (w, h) = chart.size();
    let err = |what: String| ReportError::Plot {
        plot: name.to_string(),
        what,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        chart.draw(&root).map_err(|e| err(e.0))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        chart.draw(&root).map_err(|e| err(e.0))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let mut png = Vec::new();
    {
        use image::ImageEncoder;
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&rgb, w, h, image::ColorType::Rgb8)
            .map_err(|e| err(format!("PNG encoding: {e}")))?;
    }
    Ok(Figure {
        name: name.to_string(),
        width: w,
        height: h,
        svg,
        png,
    })
}

/// Font sizes used by every chart, in plotters' units (plotters writes `size / 1.24` as the
/// SVG font size in px, so SMALL = 14 gives 11.3 px, TICK = 16 gives 12.9 px): readable at 100 %.
pub mod sizes {
    pub const TITLE: f64 = 23.0;
    pub const AXIS_DESC: f64 = 18.0;
    pub const TICK: f64 = 16.0;
    pub const LABEL: f64 = 16.0;
    pub const SMALL: f64 = 14.0;
}

/// The text style of the embedded font at `size` px.
pub fn text(size: f64) -> TextStyle<'static> {
    (crate::font::FAMILY, size).into_font().color(&BLACK)
}

/// Approximate width in pixels of `s` at `size` px (DejaVu Sans averages ≈ 0.6 em).
pub fn text_width(s: &str, size: f64) -> u32 {
    (s.chars().count() as f64 * size * 0.6).ceil() as u32
}

/// Draws a chart title centred at the top of `area`; returns the area below it.
pub fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError>
where
    DB::ErrorType: 'static,
{
    if title.is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 8),
        text(sizes::TITLE).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    Ok(area.split_vertically(36).1)
}

/// Diagonal hatch lines (45°, `gap` px apart) inside the pixel rectangle `(x0, y0)–(x1, y1)`.
pub fn hatch_segments(x0: i32, y0: i32, x1: i32, y1: i32, gap: i32) -> Vec<[(i32, i32); 2]> {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let (y0, y1) = (y0.min(y1), y0.max(y1));
    let mut out = Vec::new();
    // Lines x - y = c for c covering the rectangle; clip each to it.
    let mut c = x0 - y1;
    while c <= x1 - y0 {
        // On the line: x = y + c. y range where x in [x0, x1]: [x0 - c, x1 - c] ∩ [y0, y1].
        let ya = (x0 - c).max(y0);
        let yb = (x1 - c).min(y1);
        if ya < yb {
            out.push([(ya + c, ya), (yb + c, yb)]);
        }
        c += gap.max(2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hatch_stays_inside_rectangle() {
        let segs = hatch_segments(10, 20, 50, 35, 6);
        assert!(!segs.is_empty());
        for s in segs {
            for (x, y) in s {
                assert!((10..=50).contains(&x) && (20..=35).contains(&y), "{x},{y}");
            }
            assert_eq!(s[1].0 - s[0].0, s[1].1 - s[0].1, "45° line");
        }
    }
}
