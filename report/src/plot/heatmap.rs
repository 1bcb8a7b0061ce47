//! Weight heatmaps: a grid of tiles (one per unit or filter) on a shared symmetric colour
//! scale (blue negative, white zero, vermillion positive), with a colour bar.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::fmt_num;
use super::{sizes, text, titled, Draw, PlotError};
use crate::palette::diverging;

/// One tile: `rows × cols` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightTile {
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WeightTiles {
    pub title: String,
    /// Text under the title (what a tile is, axes of a tile).
    pub subtitle: String,
    pub tiles: Vec<WeightTile>,
    pub tiles_per_row: usize,
    /// Pixel size of one tile's longer side.
    pub tile_px: u32,
    pub width: u32,
}

impl WeightTiles {
    fn grid(&self) -> (usize, usize) {
        let cols = self.tiles_per_row.clamp(1, self.tiles.len().max(1));
        (self.tiles.len().div_ceil(cols).max(1), cols)
    }

    fn tile_dims(&self, t: &WeightTile) -> (u32, u32) {
        let long = t.rows.max(t.cols).max(1) as f64;
        let cell = self.tile_px as f64 / long;
        (
            (t.cols as f64 * cell).round() as u32,
            (t.rows as f64 * cell).round() as u32,
        )
    }

    fn cell_height(&self) -> u32 {
        self.tiles
            .iter()
            .map(|t| self.tile_dims(t).1)
            .max()
            .unwrap_or(self.tile_px)
            + 26
    }

    /// Largest |value| over all tiles (the colour scale is ±vmax).
    pub fn vmax(&self) -> f32 {
        self.tiles
            .iter()
            .flat_map(|t| t.values.iter())
            .fold(0.0f32, |a, v| a.max(v.abs()))
            .max(1e-12)
    }
}

impl Draw for WeightTiles {
    fn size(&self) -> (u32, u32) {
        let (rows, _) = self.grid();
        (self.width, 36 + 26 + rows as u32 * self.cell_height() + 70)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title)?;
        let (w, _) = area.dim_in_pixel();
        area.draw(&Text::new(
            self.subtitle.clone(),
            (w as i32 / 2, 0),
            text(sizes::LABEL).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        let (_, cols) = self.grid();
        let vmax = self.vmax();
        let col_w = (w as i32 - 40) / cols as i32;
        let cell_h = self.cell_height() as i32;
        for (i, t) in self.tiles.iter().enumerate() {
            let (r, c) = (i / cols, i % cols);
            let (tw, th) = self.tile_dims(t);
            let x0 = 20 + c as i32 * col_w + (col_w - tw as i32) / 2;
            let y0 = 26 + r as i32 * cell_h + 20;
            area.draw(&Text::new(
                t.title.clone(),
                (x0 + tw as i32 / 2, y0 - 3),
                text(sizes::SMALL).pos(Pos::new(HPos::Center, VPos::Bottom)),
            ))?;
            let cw = tw as f64 / t.cols.max(1) as f64;
            let ch = th as f64 / t.rows.max(1) as f64;
            for rr in 0..t.rows {
                for cc in 0..t.cols {
                    let v = t.values.get(rr * t.cols + cc).copied().unwrap_or(0.0);
                    let a = (x0 + (cc as f64 * cw) as i32, y0 + (rr as f64 * ch) as i32);
                    let b = (
                        x0 + ((cc + 1) as f64 * cw) as i32,
                        y0 + ((rr + 1) as f64 * ch) as i32,
                    );
                    area.draw(&Rectangle::new(
                        [a, b],
                        diverging((v / vmax) as f64).filled(),
                    ))?;
                }
            }
            area.draw(&Rectangle::new(
                [(x0, y0), (x0 + tw as i32, y0 + th as i32)],
                RGBColor(150, 150, 150),
            ))?;
        }
        // Colour bar.
        let (_, h) = area.dim_in_pixel();
        let (bx0, bw, by) = (w as i32 / 2 - 150, 300, h as i32 - 44);
        for k in 0..bw {
            let t = 2.0 * k as f64 / (bw - 1) as f64 - 1.0;
            area.draw(&Rectangle::new(
                [(bx0 + k, by), (bx0 + k + 1, by + 14)],
                diverging(t).filled(),
            ))?;
        }
        area.draw(&Rectangle::new(
            [(bx0, by), (bx0 + bw, by + 14)],
            RGBColor(150, 150, 150),
        ))?;
        for (t, s) in [
            (-1.0, fmt_num(-vmax as f64)),
            (0.0, "0".to_string()),
            (1.0, fmt_num(vmax as f64)),
        ] {
            let x = bx0 + ((t + 1.0) / 2.0 * bw as f64) as i32;
            area.draw(&Text::new(
                s,
                (x, by + 18),
                text(sizes::SMALL).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        area.draw(&Text::new(
            "weight value".to_string(),
            (bx0 - 10, by + 7),
            text(sizes::SMALL).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        Ok(())
    }
}
