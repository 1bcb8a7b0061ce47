//! Spike raster of one sample: one panel per LIF layer, time step on x, neuron index on y,
//! a dot per spike.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{sizes, text, titled, Draw, PlotError};
use crate::activity::RasterLayer;
use crate::palette::series_color;

#[derive(Debug, Clone, PartialEq)]
pub struct RasterPlot {
    pub title: String,
    pub layers: Vec<RasterLayer>,
    pub width: u32,
    pub panel_height: u32,
}

impl Draw for RasterPlot {
    fn size(&self) -> (u32, u32) {
        (
            self.width,
            36 + self.layers.len().max(1) as u32 * self.panel_height,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.title)?;
        let panels = area.split_evenly((self.layers.len().max(1), 1));
        for (i, (layer, cell)) in self.layers.iter().zip(panels.iter()).enumerate() {
            let steps = layer.spikes.len().max(1);
            let total: usize = layer.spikes.iter().map(|s| s.len()).sum();
            let rate = total as f64 / (steps * layer.neurons.max(1)) as f64;
            let caption = format!(
                "{} — {} neurons, {} spikes in {} steps ({:.1} % of neuron-steps)",
                layer.layer,
                layer.neurons,
                total,
                steps,
                100.0 * rate
            );
            let mut chart = ChartBuilder::on(cell)
                .caption(caption, text(sizes::LABEL))
                .margin(8)
                .margin_right(20)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(
                    -0.5..steps as f64 - 0.5,
                    -0.5..layer.neurons.max(1) as f64 - 0.5,
                )?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(10.min(steps + 1))
                .y_labels(6)
                .x_label_formatter(&|v: &f64| format!("{}", v.round() as i64))
                .y_label_formatter(&|v: &f64| format!("{}", v.round() as i64))
                .x_desc("time step t")
                .y_desc("neuron index")
                .axis_desc_style(text(sizes::SMALL + 1.0))
                .label_style(text(sizes::SMALL))
                .draw()?;
            let color = series_color(i);
            // Marker size scales with the cell size in pixels so single spikes stay visible.
            let (pw, ph) = cell.dim_in_pixel();
            let cw = (pw as f64 - 100.0) / steps as f64;
            let chh = (ph as f64 - 70.0) / layer.neurons.max(1) as f64;
            let r = (cw.min(chh) / 2.0).clamp(1.0, 4.0) as i32;
            chart.draw_series(layer.spikes.iter().enumerate().flat_map(|(t, idx)| {
                idx.iter()
                    .map(move |&n| Circle::new((t as f64, n as f64), r, color.filled()))
            }))?;
        }
        Ok(())
    }
}
