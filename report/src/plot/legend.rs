//! A horizontal legend drawn above a chart, wrapping onto several lines when needed.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::bars::BarStyle;
use super::{sizes, text, text_width, PlotError};

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LegendMark {
    /// A box drawn like a bar of that style (solid, outlined = modelled, hatched = estimate).
    Bar { style: BarStyle },
    /// A line, solid or dashed.
    Line { dashed: bool },
    /// A round marker, hollow for estimates.
    Marker { hollow: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LegendItem {
    pub label: String,
    pub color: RGBColor,
    pub mark: LegendMark,
}

impl LegendItem {
    pub fn new(label: impl Into<String>, color: RGBColor, mark: LegendMark) -> Self {
        LegendItem {
            label: label.into(),
            color,
            mark,
        }
    }
}

const ROW_H: i32 = 22;
const SWATCH: i32 = 26;

fn item_width(it: &LegendItem) -> i32 {
    SWATCH + 6 + text_width(&it.label, sizes::LABEL) as i32 + 18
}

/// Height in pixels the legend needs at `width`.
pub fn legend_height(items: &[LegendItem], width: u32) -> u32 {
    if items.is_empty() {
        return 0;
    }
    let mut rows = 1;
    let mut x = 0;
    for it in items {
        let w = item_width(it);
        if x > 0 && x + w > width as i32 - 20 {
            rows += 1;
            x = 0;
        }
        x += w;
    }
    (rows * ROW_H + 8) as u32
}

/// Draws the legend at the top of `area`, returns the area below it.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
) -> Result<DrawingArea<DB, Shift>, PlotError>
where
    DB::ErrorType: 'static,
{
    if items.is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    let h = legend_height(items, w);
    let (x_off, y_off) = (20, 4);
    let mut x = x_off;
    let mut y = y_off;
    for it in items {
        let iw = item_width(it);
        if x > x_off && x + iw > w as i32 - 20 {
            x = x_off;
            y += ROW_H;
        }
        let cy = y + ROW_H / 2;
        match it.mark {
            LegendMark::Bar { style } => {
                style.draw(area, it.color, (x, cy - 7), (x + SWATCH, cy + 7), 5)?;
            }
            LegendMark::Line { dashed } => {
                let style = it.color.stroke_width(3);
                if dashed {
                    for k in 0..3 {
                        let a = x + k * 10;
                        area.draw(&PathElement::new(vec![(a, cy), (a + 6, cy)], style))?;
                    }
                } else {
                    area.draw(&PathElement::new(vec![(x, cy), (x + SWATCH, cy)], style))?;
                }
            }
            LegendMark::Marker { hollow } => {
                let c = (x + SWATCH / 2, cy);
                if hollow {
                    area.draw(&Circle::new(c, 6, it.color.stroke_width(2)))?;
                } else {
                    area.draw(&Circle::new(c, 6, it.color.filled()))?;
                }
            }
        }
        area.draw(&Text::new(
            it.label.clone(),
            (x + SWATCH + 6, cy),
            text(sizes::LABEL).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += iw;
    }
    Ok(area.split_vertically(h).1)
}
