//! The embedded plot font: DejaVu Sans 2.37 (Bitstream Vera licence, which permits embedding
//! and redistribution; see `assets/DejaVuSans-LICENSE.txt`). No system fonts are needed.

use std::sync::Once;

use plotters::style::FontStyle;

/// DejaVu Sans, regular.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Font family name the plots use; SVG output names it too, with a generic fallback.
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process).
pub fn ensure_registered() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TTF shipped with the crate; a failure here is a build defect.
        if plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_err() {
            tracing::error!("embedded DejaVu Sans failed to parse; plot text will be missing");
        }
        let _ = plotters::style::register_font(FAMILY, FontStyle::Bold, DEJAVU_SANS);
    });
}
