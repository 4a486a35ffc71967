//! The PNG drawing backend: plotters' `BitMapBackend` with our own text rasterizer.
//!
//! plotters 0.3.7 draws ab_glyph text by truncating each glyph's offsets to whole pixels
//! (`plotters/src/style/font/ab_glyph.rs`, `draw`): the x advance loses its fraction per
//! glyph (uneven letter spacing) and each glyph's vertical offset is truncated towards zero
//! from its own bounding box, so a decimal point sits a pixel or two above the baseline
//! (`1.02` reads as `1·02`). This backend forwards every shape to `BitMapBackend` unchanged
//! and only replaces `draw_text`: glyphs are laid out with fractional advances and kerning
//! and rasterized at their sub-pixel position on one shared baseline.
//!
//! The text box (used for anchoring) is plotters' own estimate (width = advances + kerning,
//! height = size / 1.24), so layout is identical in the PNG and the SVG.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::backend::BitMapBackend;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// Baseline below the top of the text box, as a fraction of the font size. DejaVu Sans
/// digits are 0.626 × size tall (cap height 1493 of 2384 units of ascent − descent); 0.716
/// centres them in plotters' box of height size / 1.24, so a `VPos::Center` label lines up
/// with its tick.
const BASELINE: f32 = 0.716;

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn fonts() -> Option<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                regular: FontRef::try_from_slice(dejavu::sans::regular()).ok()?,
                bold: FontRef::try_from_slice(dejavu::sans::bold()).ok()?,
            })
        })
        .as_ref()
}

#[derive(Debug)]
struct FontMissing;

impl std::fmt::Display for FontMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("embedded DejaVu Sans did not parse")
    }
}

impl std::error::Error for FontMissing {}

/// `BitMapBackend` with sub-pixel text.
pub(crate) struct Raster<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> Raster<'a> {
    pub fn with_buffer(buf: &'a mut [u8], size: (u32, u32)) -> Self {
        Raster {
            inner: BitMapBackend::with_buffer(buf, size),
        }
    }
}

type Err<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

impl<'a> DrawingBackend for Raster<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Err<'a>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Err<'a>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Err<'a>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Err<'a>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Err<'a>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Err<'a>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Err<'a>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Err<'a>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), Err<'a>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), Err<'a>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let fonts = fonts().ok_or_else(|| DrawingErrorKind::FontError(Box::new(FontMissing)))?;
        let font = match style.style() {
            FontStyle::Bold => &fonts.bold,
            _ => &fonts.regular,
        };
        let size = style.size() as f32;
        let scale = PxScale::from(size);
        let scaled = font.as_scaled(scale);
        // A whole-pixel baseline keeps flat glyph bottoms crisp and on one row.
        let baseline = (BASELINE * size).round();
        let mut caret = 0.0f32;
        let mut prev = None;
        let mut glyphs = Vec::with_capacity(text.len());
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(scale, point(caret, baseline)));
            caret += scaled.h_advance(id);
            prev = Some(id);
        }
        // plotters' box: ((0, 0), (advance as i32, (size / 1.24) as i32)).
        let w = caret as i32;
        let h = (style.size() / 1.24) as i32;
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Right => -w,
            HPos::Center => -w / 2,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let trans = style.transform();
        let mut failure = None;
        for g in glyphs {
            let Some(outline) = font.outline_glyph(g) else {
                continue; // spaces
            };
            let b = outline.px_bounds();
            let (bx, by) = (b.min.x as i32 + dx, b.min.y as i32 + dy);
            outline.draw(|x, y, coverage| {
                if coverage <= 0.0 || failure.is_some() {
                    return;
                }
                let (tx, ty) = trans.transform(bx + x as i32, by + y as i32);
                let c = BackendColor {
                    alpha: color.alpha * f64::from(coverage.min(1.0)),
                    rgb: color.rgb,
                };
                if let Err(e) = self.inner.draw_pixel((pos.0 + tx, pos.1 + ty), c) {
                    failure = Some(e);
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;
    use plotters::style::text_anchor::Pos;

    /// Rows and columns holding ink (any non-white pixel) within x range `cols`.
    fn ink_rows(buf: &[u8], w: usize, cols: std::ops::Range<usize>) -> Vec<usize> {
        let h = buf.len() / 3 / w;
        (0..h)
            .filter(|&y| cols.clone().any(|x| buf[(y * w + x) * 3] < 200))
            .collect()
    }

    /// Draws "1.1" at `size` and returns (top row, bottom row) of each glyph's ink.
    fn glyph_rows(size: f64) -> Vec<(usize, usize)> {
        let (w, h) = (200usize, 90usize);
        let mut buf = vec![255u8; w * h * 3];
        {
            let root = Raster::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
            let style = FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal)
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Top));
            root.draw_text("1.1", &style, (10, 10)).unwrap();
            root.present().unwrap();
        }
        // Columns of ink, split into glyphs by blank columns.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for x in (0..w).filter(|&x| !ink_rows(&buf, w, x..x + 1).is_empty()) {
            match runs.last_mut() {
                Some(r) if r.1 + 1 == x => r.1 = x,
                _ => runs.push((x, x)),
            }
        }
        runs.iter()
            .map(|r| {
                let rows = ink_rows(&buf, w, r.0..r.1 + 1);
                (rows[0], *rows.last().unwrap())
            })
            .collect()
    }

    #[test]
    fn decimal_point_sits_on_the_digits_baseline() {
        crate::font::ensure_fonts().unwrap();
        // Tick and label sizes, and a large one. plotters' own ab_glyph path leaves the
        // point's bottom one row above the digits' at 13, 15 and 17.
        for size in [13.0, 15.0, 17.0, 60.0] {
            let g = glyph_rows(size);
            assert_eq!(g.len(), 3, "three glyphs at size {size}: {g:?}");
            assert_eq!(
                g[1].1, g[0].1,
                "point and digit share a baseline at size {size}: {g:?}"
            );
            assert_eq!(g[0], g[2], "both digits alike at size {size}");
            // The point is a small glyph at the baseline, not floating at mid-height.
            assert!(
                g[1].0 > g[0].0 + (size * 0.35) as usize,
                "size {size}: {g:?}"
            );
        }
    }
}
