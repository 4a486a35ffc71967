//! Registers the embedded DejaVu Sans font with plotters, once per process.
//!
//! plotters is built without its `ttf` feature (that one loads system fonts through
//! font-kit → fontconfig/freetype); with `ab_glyph` it draws text only from fonts
//! registered by name. We register DejaVu Sans (regular and bold, embedded by the `dejavu`
//! crate) as `"sans-serif"`, the family every chart in this crate uses. The SVG output only
//! names the family (`font-family="sans-serif"`), but plotters still measures text with the
//! registered font to lay out labels and legends, so both formats need it.
//!
//! Registration goes through a [`OnceLock`]: safe to call from many rayon threads at once,
//! and it runs plotters' `register_font` exactly once. Every rendering entry point of this
//! crate calls [`ensure_fonts`] itself; callers never need to.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use crate::error::ReportError;

/// The family name charts use; the registered fonts answer to it.
pub(crate) const FAMILY: &str = "sans-serif";

static REGISTERED: OnceLock<Result<(), &'static str>> = OnceLock::new();

/// Registers DejaVu Sans regular and bold as plotters' `"sans-serif"` family. Idempotent and
/// thread-safe; the first call does the work, later calls return its outcome.
pub fn ensure_fonts() -> Result<(), ReportError> {
    let outcome = REGISTERED.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).map_err(|_| "regular")?;
        register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold()).map_err(|_| "bold")?;
        Ok(())
    });
    outcome.map_err(|style| ReportError::Font { style })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_is_idempotent_and_thread_safe() {
        let handles: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| ensure_fonts().is_ok()))
            .collect();
        for h in handles {
            assert!(h.join().expect("thread panicked"));
        }
        assert!(ensure_fonts().is_ok());
        // The family now measures text with a real font: wider text is wider.
        let font = plotters::style::FontDesc::new(
            plotters::style::FontFamily::Name(FAMILY),
            20.0,
            FontStyle::Normal,
        );
        let (w1, _) = font.box_size("i").expect("font measured");
        let (w2, _) = font.box_size("WWWW").expect("font measured");
        assert!(
            w2 > 3 * w1,
            "WWWW ({w2}px) should be far wider than i ({w1}px)"
        );
    }
}
