//! The Okabe–Ito colour-blind-safe palette (Okabe & Ito, 2008), and helpers.

use plotters::style::RGBColor;

/// Okabe–Ito, in the order used for series (black last: it is kept for reference lines).
pub const OKABE_ITO: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(240, 228, 66),  // yellow
    RGBColor(0, 0, 0),       // black
];

/// Colour of series `i` (cycles through the first seven; black is reserved).
pub fn series_color(i: usize) -> RGBColor {
    OKABE_ITO[i % 7]
}

/// `c` mixed with white: `amount` 0 = `c`, 1 = white.
pub fn lighten(c: RGBColor, amount: f64) -> RGBColor {
    let m = |v: u8| {
        (v as f64 + (255.0 - v as f64) * amount)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    RGBColor(m(c.0), m(c.1), m(c.2))
}

/// Diverging map for signed weights: blue (negative) – white (0) – vermillion (positive);
/// `t` in `[-1, 1]`.
pub fn diverging(t: f64) -> RGBColor {
    let t = t.clamp(-1.0, 1.0);
    if t < 0.0 {
        lighten(OKABE_ITO[0], 1.0 + t)
    } else {
        lighten(OKABE_ITO[5], 1.0 - t)
    }
}

/// CSS hex form `#rrggbb`.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}
