//! The reference marks of line charts: horizontal reference lines (limits) with their
//! labels, and vertical markers (phase boundaries) with labels laid out so they do not
//! overlap.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::Ctx;
use super::clip::Rect;
use super::draw::{self, LineKind};
use super::line::{LineChart, VLine};
use crate::axis::AxisPlan;
use crate::error::ReportError;
use crate::style::MUTED;

pub(super) fn draw_hlines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    c: &LineChart,
    y_plan: &AxisPlan,
    rect: Rect,
    to_px: &dyn Fn((f64, f64)) -> (i32, i32),
    right_px: i32,
) -> Result<(), ReportError> {
    for h in &c.hlines {
        if !c.y.accepts(h.y) {
            continue;
        }
        let sy = y_plan.project(h.y);
        if sy < rect.y0 || sy > rect.y1 {
            continue;
        }
        let a = to_px((rect.x0, sy));
        let b = to_px((rect.x1, sy));
        draw::styled_polyline(
            root,
            ctx,
            &[a, b],
            draw::color(MUTED).stroke_width(1),
            LineKind::Dashed,
        )?;
        if !h.label.is_empty() {
            draw::boxed_text(
                root,
                ctx,
                &h.label,
                (right_px - 6, a.1 - 3),
                HPos::Right,
                VPos::Bottom,
                MUTED,
            )?;
        }
    }
    Ok(())
}

/// Left and right margins of the plot inside its area, in pixels.
pub(super) const MARGIN_LEFT: i32 = 10;
pub(super) const MARGIN_RIGHT: i32 = 24;

/// Where a vertical line's label goes.
pub(super) struct VLabel<'a> {
    pub(super) x: f64,
    pub(super) label: &'a str,
    /// Row of the strip above the plot, 0 = nearest the plot.
    pub(super) row: usize,
    /// Label right of the line (else left of it).
    pub(super) right: bool,
}

/// Assigns each labelled vertical line inside the x range a row of the label strip, so
/// labels never overlap: a label moves up a row when it would overlap the previous label
/// in its row (at most three rows; after that the emptiest row is reused).
pub(super) fn layout_vlines<'a>(
    ctx: &Ctx,
    c: &'a LineChart,
    x_plan: &AxisPlan,
    (left, right): (i32, i32),
) -> Result<Vec<VLabel<'a>>, ReportError> {
    const ROWS: usize = 3;
    let mut row_right = [i32::MIN; ROWS];
    let mut order: Vec<&VLine> = c
        .vlines
        .iter()
        .filter(|v| c.x.accepts(v.x) && v.x >= x_plan.min && v.x <= x_plan.max)
        .collect();
    order.sort_by(|a, b| a.x.total_cmp(&b.x));
    let mut out = Vec::with_capacity(order.len());
    for v in order {
        if v.label.is_empty() {
            out.push(VLabel {
                x: v.x,
                label: "",
                row: 0,
                right: true,
            });
            continue;
        }
        let px = x_plan.map(&v.x, (left, right));
        let w = draw::measure(ctx, &v.label, &draw::font(draw::ANNOTATION_PX))?.0 + 6;
        let fits_right = px + 4 + w <= right + MARGIN_RIGHT;
        let (l, r) = if fits_right {
            (px, px + 4 + w)
        } else {
            (px - 4 - w, px)
        };
        let row = (0..ROWS)
            .find(|&k| l > row_right[k] + 4)
            .unwrap_or_else(|| (0..ROWS).min_by_key(|&k| row_right[k]).unwrap_or(0));
        row_right[row] = r;
        out.push(VLabel {
            x: v.x,
            label: &v.label,
            row,
            right: fits_right,
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn draw_vlines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    labels: &[VLabel],
    x_plan: &AxisPlan,
    rect: Rect,
    to_px: &dyn Fn((f64, f64)) -> (i32, i32),
    plot_top: i32,
    row_h: i32,
) -> Result<(), ReportError> {
    let style = draw::color(MUTED).stroke_width(1);
    for v in labels {
        let sx = x_plan.project(v.x);
        let bottom = to_px((sx, rect.y0));
        if v.label.is_empty() {
            let top = to_px((sx, rect.y1));
            draw::styled_polyline(root, ctx, &[top, bottom], style, LineKind::Dashed)?;
            continue;
        }
        let label_y = plot_top - (v.row as i32 + 1) * row_h;
        draw::styled_polyline(
            root,
            ctx,
            &[(bottom.0, label_y + row_h / 2), bottom],
            style,
            LineKind::Dashed,
        )?;
        let (x, h) = if v.right {
            (bottom.0 + 4, HPos::Left)
        } else {
            (bottom.0 - 4, HPos::Right)
        };
        draw::boxed_text(root, ctx, v.label, (x, label_y + 2), h, VPos::Top, MUTED)?;
    }
    Ok(())
}
