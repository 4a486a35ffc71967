//! Drawing helpers shared by the chart kinds: fonts and text measurement, the title/legend
//! frame, the cartesian grid, markers, and dashed/dotted polylines in pixel space.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Ctx, PlotNote, SkipReason, note};
use crate::axis::AxisPlan;
use crate::error::ReportError;
use crate::style::{INK, MUTED, MarkerShape, Rgb};

/// Font sizes (plotters "size" units, about 1.24 × the em height in pixels).
pub const TITLE_PX: f64 = 24.0;
pub const SUBTITLE_PX: f64 = 16.0;
pub const TICK_PX: f64 = 15.0;
pub const DESC_PX: f64 = 17.0;
pub const LEGEND_PX: f64 = 15.0;
pub const LEGEND_SMALL_PX: f64 = 13.0;
pub const ANNOTATION_PX: f64 = 13.0;

/// Series line width in pixels.
pub const LINE_W: u32 = 2;
/// Marker "radius" in pixels.
pub const MARKER_R: i32 = 4;

pub fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal)
}

pub fn bold(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Bold)
}

pub fn color(c: Rgb) -> RGBColor {
    c.plotters()
}

/// Width and height of `text` in pixels.
pub fn measure(ctx: &Ctx, text: &str, f: &FontDesc) -> Result<(i32, i32), ReportError> {
    let (w, h) = f.box_size(text).map_err(|e| ctx.err(e))?;
    Ok((w as i32, h as i32))
}

/// Shortens `text` until it fits in `max_w` pixels by replacing its middle with "…",
/// keeping the start and the end, where names usually differ (`allkeys-lru samples=10`
/// → `allkeys…samples=10`). Returns the text and whether it was shortened.
pub fn fit_text(
    ctx: &Ctx,
    text: &str,
    f: &FontDesc,
    max_w: i32,
) -> Result<(String, bool), ReportError> {
    if measure(ctx, text, f)?.0 <= max_w {
        return Ok((text.to_string(), false));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    while keep > 1 {
        keep -= 1;
        let head = keep * 2 / 5;
        let tail = keep - head;
        let s: String = chars[..head]
            .iter()
            .chain(std::iter::once(&'…'))
            .chain(&chars[chars.len() - tail..])
            .collect();
        if measure(ctx, &s, f)?.0 <= max_w {
            return Ok((s, true));
        }
    }
    Ok(("…".to_string(), true))
}

/// Breaks `text` at spaces into at most `max_lines` lines no wider than `max_w`, or `None`
/// when that is impossible (a single word too wide, or too many lines).
pub fn wrap(
    ctx: &Ctx,
    text: &str,
    f: &FontDesc,
    max_w: i32,
    max_lines: usize,
) -> Result<Option<Vec<String>>, ReportError> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if measure(ctx, &candidate, f)?.0 <= max_w {
            cur = candidate;
            continue;
        }
        if cur.is_empty() || measure(ctx, word, f)?.0 > max_w {
            return Ok(None);
        }
        lines.push(std::mem::replace(&mut cur, word.to_string()));
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    Ok((lines.len() <= max_lines).then_some(lines))
}

// ---------------------------------------------------------------------------------------
// The axis plan is its own plotters coordinate: linear or log mapping, our tick positions.

impl Ranged for AxisPlan {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let a = self.project(self.min);
        let b = self.project(self.max);
        let t = (self.project(*value) - a) / (b - a);
        let len = (limit.1 - limit.0) as f64;
        if !t.is_finite() {
            return limit.0;
        }
        // Clamp far-out values so the i32 conversion cannot saturate into nonsense lines.
        let px = (len * t).round().clamp(-1e6, 1e6);
        limit.0 + px as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.min..self.max
    }
}

// ---------------------------------------------------------------------------------------
// Legend.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Solid,
    Dashed,
    Dotted,
}

#[derive(Debug, Clone)]
pub struct LegendEntry {
    pub label: String,
    pub color: Rgb,
    pub line: Option<LineKind>,
    pub marker: Option<MarkerShape>,
    pub bar: bool,
}

const SWATCH_W: i32 = 34;
const SWATCH_GAP: i32 = 8;
const LEGEND_PAD: i32 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegendPlace {
    /// A column (or several) right of the plot.
    Right,
    /// Rows under the plot, across the full width.
    Bottom,
}

struct LegendLayout {
    place: LegendPlace,
    font_px: f64,
    row_h: i32,
    rows: usize,
    col_w: i32,
    /// Width (right) or height (bottom) taken from the plot.
    extent: i32,
    labels: Vec<String>,
    shortened: Vec<bool>,
}

/// Right of the plot when every label fits there in full; otherwise under the plot if that
/// takes at most 40 % of the height; otherwise right of the plot with shortened labels.
fn legend_layout(
    ctx: &Ctx,
    entries: &[LegendEntry],
    (w, avail_h): (i32, i32),
) -> Result<LegendLayout, ReportError> {
    let right = |font_px: f64, row_h: i32| -> Result<LegendLayout, ReportError> {
        let rows_fit = (avail_h / row_h).max(1) as usize;
        let cols = entries.len().div_ceil(rows_fit).max(1);
        let max_w = w * 2 / 5;
        let max_col_w = (max_w - LEGEND_PAD) / cols as i32;
        let max_text = (max_col_w - SWATCH_W - SWATCH_GAP - LEGEND_PAD).max(20);
        fill(
            ctx,
            entries,
            LegendPlace::Right,
            font_px,
            row_h,
            cols,
            max_text,
            |col_w, _| col_w * cols as i32 + LEGEND_PAD,
        )
    };
    let l = right(LEGEND_PX, 22)?;
    if !l.shortened.contains(&true) && l.rows == entries.len() {
        return Ok(l);
    }
    let l = right(LEGEND_SMALL_PX, 18)?;
    if !l.shortened.contains(&true) {
        return Ok(l);
    }
    // Under the plot: as many columns as the widest label allows.
    let f = font(LEGEND_SMALL_PX);
    let mut text_w = 0;
    for e in entries {
        text_w = text_w.max(measure(ctx, &e.label, &f)?.0);
    }
    let max_text = (w - 2 * LEGEND_PAD - SWATCH_W - SWATCH_GAP - LEGEND_PAD).max(20);
    let col_w = SWATCH_W + SWATCH_GAP + text_w.min(max_text) + LEGEND_PAD;
    let cols = (((w - 2 * LEGEND_PAD) / col_w).max(1) as usize).min(entries.len());
    let rows = entries.len().div_ceil(cols);
    let bottom = fill(
        ctx,
        entries,
        LegendPlace::Bottom,
        LEGEND_SMALL_PX,
        18,
        cols,
        max_text,
        |_, rows| rows as i32 * 18 + 12,
    )?;
    if rows as i32 * 18 + 12 <= avail_h * 2 / 5 {
        return Ok(bottom);
    }
    Ok(l)
}

/// Lays `entries` out in `cols` columns (column-major), shortening labels to `max_text`.
#[allow(clippy::too_many_arguments)]
fn fill(
    ctx: &Ctx,
    entries: &[LegendEntry],
    place: LegendPlace,
    font_px: f64,
    row_h: i32,
    cols: usize,
    max_text: i32,
    extent: impl Fn(i32, usize) -> i32,
) -> Result<LegendLayout, ReportError> {
    let f = font(font_px);
    let rows = entries.len().div_ceil(cols.max(1));
    let mut labels = Vec::with_capacity(entries.len());
    let mut shortened = Vec::with_capacity(entries.len());
    let mut text_w = 0;
    for e in entries {
        let (s, cut) = fit_text(ctx, &e.label, &f, max_text)?;
        text_w = text_w.max(measure(ctx, &s, &f)?.0);
        labels.push(s);
        shortened.push(cut);
    }
    let col_w = SWATCH_W + SWATCH_GAP + text_w + LEGEND_PAD;
    Ok(LegendLayout {
        place,
        font_px,
        row_h,
        rows,
        col_w,
        extent: extent(col_w, rows),
        labels,
        shortened,
    })
}

/// Draws title, subtitle and legend; returns the area left for the plot.
pub fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    title: &str,
    subtitle: Option<&str>,
    legend: &[LegendEntry],
    notes: &mut Vec<PlotNote>,
) -> Result<DrawingArea<DB, Shift>, ReportError> {
    root.fill(&WHITE).map_err(|e| ctx.err(e))?;
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let top_style = bold(TITLE_PX)
        .color(&color(INK))
        .pos(Pos::new(HPos::Center, VPos::Top));
    let (title_text, _) = fit_text(ctx, title, &bold(TITLE_PX), w - 20)?;
    root.draw_text(&title_text, &top_style, (w / 2, 12))
        .map_err(|e| ctx.err(e))?;
    let mut header = 12 + measure(ctx, "Ag", &bold(TITLE_PX))?.1 + 8;
    if let Some(sub) = subtitle.filter(|s| !s.is_empty()) {
        let style = font(SUBTITLE_PX)
            .color(&color(MUTED))
            .pos(Pos::new(HPos::Center, VPos::Top));
        let (sub_text, _) = fit_text(ctx, sub, &font(SUBTITLE_PX), w - 20)?;
        root.draw_text(&sub_text, &style, (w / 2, header))
            .map_err(|e| ctx.err(e))?;
        header += measure(ctx, "Ag", &font(SUBTITLE_PX))?.1 + 8;
    }
    header += 4;
    let body = root.clone().shrink((0, header), (w, h - header));
    if legend.is_empty() {
        return Ok(body);
    }
    let layout = legend_layout(ctx, legend, (w, h - header - 16))?;
    let shortened = layout.shortened.iter().filter(|&&c| c).count();
    note(notes, "", SkipReason::LabelShortened, shortened);
    let (plot, legend_area) = match layout.place {
        LegendPlace::Right => body.split_horizontally(w - layout.extent),
        LegendPlace::Bottom => body.split_vertically(h - header - layout.extent),
    };
    draw_legend(&legend_area, ctx, legend, &layout)?;
    Ok(plot)
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    entries: &[LegendEntry],
    layout: &LegendLayout,
) -> Result<(), ReportError> {
    let f = font(layout.font_px)
        .color(&color(INK))
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (x_start, y_start) = match layout.place {
        LegendPlace::Right => (4, 14),
        LegendPlace::Bottom => (LEGEND_PAD, 2),
    };
    for (i, (e, label)) in entries.iter().zip(&layout.labels).enumerate() {
        let col = (i / layout.rows) as i32;
        let row = (i % layout.rows) as i32;
        let x0 = x_start + col * layout.col_w;
        let y = y_start + row * layout.row_h + layout.row_h / 2;
        let c = color(e.color);
        if e.bar {
            area.draw(&Rectangle::new(
                [(x0 + 6, y - 7), (x0 + SWATCH_W - 6, y + 7)],
                c.filled(),
            ))
            .map_err(|er| ctx.err(er))?;
        }
        if let Some(kind) = e.line {
            polyline(area, ctx, &[(x0, y), (x0 + SWATCH_W, y)], e.color, kind)?;
        }
        if let Some(m) = e.marker {
            marker(area, ctx, (x0 + SWATCH_W / 2, y), m, e.color)?;
        }
        area.draw_text(label, &f, (x0 + SWATCH_W + SWATCH_GAP, y))
            .map_err(|er| ctx.err(er))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Markers and lines in pixel space.

/// Draws one marker centred on `(x, y)` (pixels of `area`).
pub fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    (x, y): (i32, i32),
    shape: MarkerShape,
    c: Rgb,
) -> Result<(), ReportError> {
    let col = color(c);
    let fill = col.filled();
    let stroke = col.stroke_width(2);
    let r = MARKER_R;
    let res = match shape {
        MarkerShape::Circle => area.draw(&Circle::new((x, y), r, fill)),
        MarkerShape::Square => area.draw(&Rectangle::new([(x - r, y - r), (x + r, y + r)], fill)),
        MarkerShape::TriangleUp => area.draw(&Polygon::new(
            vec![(x, y - r - 1), (x - r - 1, y + r), (x + r + 1, y + r)],
            fill,
        )),
        MarkerShape::TriangleDown => area.draw(&Polygon::new(
            vec![(x, y + r + 1), (x - r - 1, y - r), (x + r + 1, y - r)],
            fill,
        )),
        MarkerShape::Diamond => area.draw(&Polygon::new(
            vec![
                (x, y - r - 1),
                (x + r + 1, y),
                (x, y + r + 1),
                (x - r - 1, y),
            ],
            fill,
        )),
        MarkerShape::Cross => area
            .draw(&PathElement::new(
                vec![(x - r, y - r), (x + r, y + r)],
                stroke,
            ))
            .and_then(|_| {
                area.draw(&PathElement::new(
                    vec![(x - r, y + r), (x + r, y - r)],
                    stroke,
                ))
            }),
        MarkerShape::Plus => area
            .draw(&PathElement::new(
                vec![(x - r - 1, y), (x + r + 1, y)],
                stroke,
            ))
            .and_then(|_| {
                area.draw(&PathElement::new(
                    vec![(x, y - r - 1), (x, y + r + 1)],
                    stroke,
                ))
            }),
    };
    res.map_err(|e| ctx.err(e))
}

/// Draws a polyline (pixels of `area`) solid, dashed or dotted.
pub fn polyline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    pts: &[(i32, i32)],
    c: Rgb,
    kind: LineKind,
) -> Result<(), ReportError> {
    styled_polyline(area, ctx, pts, color(c).stroke_width(LINE_W), kind)
}

/// Like [`polyline`] with an explicit stroke.
pub fn styled_polyline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    pts: &[(i32, i32)],
    style: ShapeStyle,
    kind: LineKind,
) -> Result<(), ReportError> {
    if pts.len() < 2 {
        return Ok(());
    }
    let (on, off) = match kind {
        LineKind::Solid => {
            return area
                .draw(&PathElement::new(pts.to_vec(), style))
                .map_err(|e| ctx.err(e));
        }
        LineKind::Dashed => (9.0, 6.0),
        LineKind::Dotted => (2.0, 4.0),
    };
    for seg in dash(pts, on, off) {
        area.draw(&PathElement::new(seg, style))
            .map_err(|e| ctx.err(e))?;
    }
    Ok(())
}

/// Splits a pixel polyline into dashes of length `on` separated by gaps of `off`, the
/// pattern running continuously across vertices.
pub fn dash(pts: &[(i32, i32)], on: f64, off: f64) -> Vec<Vec<(i32, i32)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(i32, i32)> = Vec::new();
    let mut drawing = true;
    let mut left = on; // length left in the current dash or gap
    let round = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
    for w in pts.windows(2) {
        let (ax, ay) = (w[0].0 as f64, w[0].1 as f64);
        let (bx, by) = (w[1].0 as f64, w[1].1 as f64);
        let len = ((bx - ax).powi(2) + (by - ay).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let mut pos = 0.0;
        if drawing && cur.is_empty() {
            cur.push(round(ax, ay));
        }
        while len - pos > left {
            pos += left;
            let p = round(ax + (bx - ax) * pos / len, ay + (by - ay) * pos / len);
            if drawing {
                cur.push(p);
                out.push(std::mem::take(&mut cur));
                left = off;
            } else {
                cur = vec![p];
                left = on;
            }
            drawing = !drawing;
        }
        left -= len - pos;
        if drawing {
            cur.push(round(bx, by));
        }
    }
    if cur.len() >= 2 {
        out.push(cur);
    }
    out
}

/// Draws `text` with a translucent white box behind it, anchored at `pos`.
pub fn boxed_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    text: &str,
    pos: (i32, i32),
    h: HPos,
    v: VPos,
    c: Rgb,
) -> Result<(i32, i32), ReportError> {
    let f = font(ANNOTATION_PX);
    let (tw, th) = measure(ctx, text, &f)?;
    let x0 = match h {
        HPos::Left => pos.0,
        HPos::Center => pos.0 - tw / 2,
        HPos::Right => pos.0 - tw,
    };
    let y0 = match v {
        VPos::Top => pos.1,
        VPos::Center => pos.1 - th / 2,
        VPos::Bottom => pos.1 - th,
    };
    area.draw(&Rectangle::new(
        [(x0 - 3, y0 - 2), (x0 + tw + 3, y0 + th + 2)],
        WHITE.mix(0.85).filled(),
    ))
    .map_err(|e| ctx.err(e))?;
    let style = f.color(&color(c)).pos(Pos::new(HPos::Left, VPos::Top));
    area.draw_text(text, &style, (x0, y0))
        .map_err(|e| ctx.err(e))?;
    Ok((x0 - 3, x0 + tw + 3))
}

/// The light grey of major grid lines.
pub fn grid_bold() -> ShapeStyle {
    RGBColor(0xD0, 0xD0, 0xD0).stroke_width(1)
}

/// The lighter grey of minor grid lines.
pub fn grid_light() -> ShapeStyle {
    RGBColor(0xEE, 0xEE, 0xEE).stroke_width(1)
}

/// Width needed left of the plot for the y tick labels and the rotated y title.
pub fn y_label_area(ctx: &Ctx, plan: &AxisPlan) -> Result<u32, ReportError> {
    let f = font(TICK_PX);
    let mut w = 0;
    for &t in &plan.ticks {
        w = w.max(measure(ctx, &plan.label(t), &f)?.0);
    }
    let desc_h = measure(ctx, "Ag", &font(DESC_PX))?.1;
    Ok((w + 14 + desc_h + 10) as u32)
}

/// Height needed below the plot for one row of tick labels and the x title.
pub fn x_label_area(ctx: &Ctx) -> Result<u32, ReportError> {
    let tick_h = measure(ctx, "0", &font(TICK_PX))?.1;
    let desc_h = measure(ctx, "Ag", &font(DESC_PX))?.1;
    Ok((tick_h + 12 + desc_h + 12) as u32)
}

/// Whether the labels of `plan` fit along `len_px` pixels with room between them.
pub fn x_labels_fit(ctx: &Ctx, plan: &AxisPlan, len_px: i32) -> Result<bool, ReportError> {
    let f = font(TICK_PX);
    let a = plan.project(plan.min);
    let b = plan.project(plan.max);
    let mut prev_right = i32::MIN;
    for &t in &plan.ticks {
        let centre = ((plan.project(t) - a) / (b - a) * len_px as f64) as i32;
        let w = measure(ctx, &plan.label(t), &f)?.0;
        let left = centre - w / 2;
        if left < prev_right + 12 {
            return Ok(false);
        }
        prev_right = centre + w / 2;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashes_follow_the_pattern_across_vertices() {
        // A 30 px horizontal line with 9 on / 6 off: dashes at 0-9, 15-24, 30-30 (empty).
        let d = dash(&[(0, 0), (30, 0)], 9.0, 6.0);
        assert_eq!(d, vec![vec![(0, 0), (9, 0)], vec![(15, 0), (24, 0)]]);
        // The pattern continues around a corner: 0-9 on x, gap 9-10 and 5 px down, dash on y.
        let d = dash(&[(0, 0), (10, 0), (10, 20)], 9.0, 6.0);
        assert_eq!(d[0], vec![(0, 0), (9, 0)]);
        assert_eq!(d[1], vec![(10, 5), (10, 14)]);
        assert_eq!(d.len(), 2, "{d:?}");
        // A dash spanning a vertex keeps the vertex.
        let d = dash(&[(0, 0), (5, 0), (5, 5)], 9.0, 6.0);
        assert_eq!(d[0], vec![(0, 0), (5, 0), (5, 4)]);
    }

    #[test]
    fn axis_plan_maps_linear_and_log() {
        let lin = crate::axis::plan(&crate::axis::Axis::new("x"), 0.0, 10.0, 5);
        assert_eq!(lin.map(&0.0, (100, 200)), 100);
        assert_eq!(lin.map(&5.0, (100, 200)), 150);
        assert_eq!(lin.map(&10.0, (100, 200)), 200);
        // y axes are mapped with a reversed limit.
        assert_eq!(lin.map(&2.5, (200, 100)), 175);
        let log = crate::axis::plan(&crate::axis::Axis::new("x").log(), 1.0, 1000.0, 5);
        assert_eq!(log.map(&10.0, (0, 300)), 100);
        assert_eq!(log.map(&100.0, (0, 300)), 200);
        assert_eq!(log.map(&f64::NAN, (0, 300)), 0);
    }
}
