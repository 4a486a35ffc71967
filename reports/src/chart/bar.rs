//! Grouped bar charts: categories along x, one bar per group in each category, optional
//! error bars (± uncertainty) and value labels.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{self, LegendEntry};
use super::{ChartSize, Ctx, Draw, PlotNote, SkipReason, note};
use crate::axis::{self, Axis, AxisPlan, Scale};
use crate::error::{AxisName, ReportError};
use crate::style::{INK, MUTED, Rgb, series_color};

/// One group of bars: one value per category (e.g. one policy's hit ratio at each size).
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// Legend label.
    pub name: String,
    /// One value per category, in category order. NaN/infinite values leave a gap (noted).
    pub values: Vec<f64>,
    /// Optional ± uncertainty per category, drawn as an error bar (same length as `values`).
    pub errors: Option<Vec<f64>>,
    /// Colour override; `None` takes the palette colour of the group's position (colours
    /// repeat after 20 groups).
    pub color: Option<Rgb>,
}

impl BarGroup {
    /// A group with automatic colour and no error bars.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        BarGroup {
            name: name.into(),
            values,
            errors: None,
            color: None,
        }
    }

    /// Adds ± error bars.
    #[must_use]
    pub fn with_errors(mut self, errors: Vec<f64>) -> Self {
        self.errors = Some(errors);
        self
    }

    /// Sets a fixed colour.
    #[must_use]
    pub fn with_color(mut self, color: Rgb) -> Self {
        self.color = Some(color);
        self
    }
}

/// A grouped bar chart. The value axis is linear and includes zero.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title drawn on top.
    pub title: String,
    /// Optional smaller second line.
    pub subtitle: Option<String>,
    /// Category names along x (e.g. cache sizes, phases).
    pub categories: Vec<String>,
    /// Title of the category axis.
    pub category_label: String,
    /// The value axis (must be [`Scale::Linear`]; a fixed range clips bars at the frame).
    pub y: Axis,
    /// The groups; the legend lists them when there are two or more.
    pub groups: Vec<BarGroup>,
    /// Print each bar's value above it (in the value axis's format). Omitted, with a note,
    /// when the bars are too narrow even for vertical text.
    pub value_labels: bool,
    /// Image size.
    pub size: ChartSize,
}

impl BarChart {
    /// A chart with no groups yet, value labels on, default size.
    pub fn new(
        title: impl Into<String>,
        category_label: impl Into<String>,
        categories: Vec<String>,
        y: Axis,
    ) -> Self {
        BarChart {
            title: title.into(),
            subtitle: None,
            categories,
            category_label: category_label.into(),
            y,
            groups: Vec::new(),
            value_labels: true,
            size: ChartSize::default(),
        }
    }

    /// Builds a chart from tidy rows `(category, group, value)`, e.g. `(size, policy,
    /// hit_ratio)`: categories and groups in order of first appearance. A missing
    /// (category, group) cell becomes NaN, which leaves a gap and a note; a repeated cell
    /// keeps the last value.
    pub fn from_rows<I, C, G>(
        title: impl Into<String>,
        category_label: impl Into<String>,
        y: Axis,
        rows: I,
    ) -> Self
    where
        I: IntoIterator<Item = (C, G, f64)>,
        C: AsRef<str>,
        G: AsRef<str>,
    {
        let mut cats: Vec<String> = Vec::new();
        let mut groups: Vec<(String, Vec<(usize, f64)>)> = Vec::new();
        for (c, g, v) in rows {
            let ci = match cats.iter().position(|x| x == c.as_ref()) {
                Some(i) => i,
                None => {
                    cats.push(c.as_ref().to_string());
                    cats.len() - 1
                }
            };
            match groups.iter_mut().find(|(n, _)| n == g.as_ref()) {
                Some((_, cells)) => cells.push((ci, v)),
                None => groups.push((g.as_ref().to_string(), vec![(ci, v)])),
            }
        }
        let n = cats.len();
        let mut chart = BarChart::new(title, category_label, cats, y);
        for (name, cells) in groups {
            let mut values = vec![f64::NAN; n];
            for (ci, v) in cells {
                values[ci] = v;
            }
            chart.groups.push(BarGroup::new(name, values));
        }
        chart
    }

    /// Sets the subtitle.
    #[must_use]
    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Adds a group.
    #[must_use]
    pub fn with_group(mut self, group: BarGroup) -> Self {
        self.groups.push(group);
        self
    }

    /// Turns value labels on or off.
    #[must_use]
    pub fn with_value_labels(mut self, on: bool) -> Self {
        self.value_labels = on;
        self
    }

    /// Sets the image size.
    #[must_use]
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = ChartSize { width, height };
        self
    }

    fn validate(&self) -> Result<(), ReportError> {
        if self.y.scale == Scale::Log {
            return Err(ReportError::Unsupported {
                chart: self.title.clone(),
                setting: "a log value axis on a bar chart",
                accepted: "a linear value axis (bar lengths must start at zero); use a LineChart for log data",
            });
        }
        if self.categories.is_empty() || self.groups.is_empty() {
            return Err(ReportError::NoData {
                chart: self.title.clone(),
                reason: "a bar chart needs at least one category and one group",
            });
        }
        for g in &self.groups {
            let mismatch = |what, got| ReportError::LengthMismatch {
                chart: self.title.clone(),
                group: g.name.clone(),
                what,
                expected: self.categories.len(),
                got,
            };
            if g.values.len() != self.categories.len() {
                return Err(mismatch("values", g.values.len()));
            }
            if let Some(e) = &g.errors
                && e.len() != self.categories.len()
            {
                return Err(mismatch("errors", e.len()));
            }
        }
        Ok(())
    }
}

/// How text is oriented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Orient {
    Horizontal,
    /// Rotated to read bottom-to-top.
    Vertical,
}

impl Draw for BarChart {
    fn title(&self) -> &str {
        &self.title
    }

    fn size(&self) -> ChartSize {
        self.size
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        ctx: &Ctx,
    ) -> Result<Vec<PlotNote>, ReportError> {
        self.validate()?;
        let mut notes = Vec::new();
        let n_cat = self.categories.len();
        let n_grp = self.groups.len();
        let mut lo = 0.0f64;
        let mut hi = 0.0f64;
        let mut any = false;
        for g in &self.groups {
            let bad = g.values.iter().filter(|v| !v.is_finite()).count();
            note(&mut notes, &g.name, SkipReason::NonFinite, bad);
            for (k, &v) in g.values.iter().enumerate() {
                if !v.is_finite() {
                    continue;
                }
                any = true;
                let e = error_of(g, k);
                lo = lo.min(v - e);
                hi = hi.max(v + e);
            }
        }
        if !any {
            return Err(ReportError::NoData {
                chart: self.title.clone(),
                reason: "every bar value is NaN or infinite",
            });
        }

        let legend: Vec<LegendEntry> = if n_grp > 1 {
            self.groups
                .iter()
                .enumerate()
                .map(|(i, g)| LegendEntry {
                    label: g.name.clone(),
                    color: g.color.unwrap_or_else(|| series_color(i)),
                    line: None,
                    marker: None,
                    bar: true,
                })
                .collect()
        } else {
            Vec::new()
        };
        let plot = draw::frame(
            root,
            ctx,
            &self.title,
            self.subtitle.as_deref(),
            &legend,
            &mut notes,
        )?;
        let (pw, ph) = plot.dim_in_pixel();
        let (pw, ph) = (pw as i32, ph as i32);

        // Provisional y plan to size the left margin, then the category and value labels.
        let tick_f = draw::font(draw::TICK_PX);
        let val_f = draw::font(draw::ANNOTATION_PX);
        let prov = axis::plan(&self.y, lo, hi.max(lo + 1e-12), 6);
        let y_area = draw::y_label_area(ctx, &prov)? as i32;
        let plot_w = pw - y_area - 34;
        let slot_px = plot_w as f64 / n_cat as f64;
        let bar_px = slot_px * 0.8 / n_grp as f64;

        let mut cat_w = 0;
        for c in &self.categories {
            cat_w = cat_w.max(draw::measure(ctx, c, &tick_f)?.0);
        }
        let (text_h, desc_h) = (
            draw::measure(ctx, "Ag", &tick_f)?.1,
            draw::measure(ctx, "Ag", &draw::font(draw::DESC_PX))?.1,
        );
        // Category labels: one line if they fit the slot, else wrapped at spaces into up
        // to three lines, else rotated to read bottom-to-top.
        let fit_w = (slot_px - 8.0) as i32;
        let mut wrapped: Option<Vec<Vec<String>>> = Some(Vec::with_capacity(n_cat));
        for c in &self.categories {
            let lines = if cat_w <= fit_w {
                Some(vec![c.clone()])
            } else {
                draw::wrap(ctx, c, &tick_f, fit_w, 3)?
            };
            wrapped = match (wrapped, lines) {
                (Some(mut all), Some(l)) => {
                    all.push(l);
                    Some(all)
                }
                _ => None,
            };
        }
        let cat_orient = if wrapped.is_some() {
            Orient::Horizontal
        } else {
            Orient::Vertical
        };
        let line_h = text_h + 3;
        let max_lines = wrapped
            .as_ref()
            .and_then(|w| w.iter().map(Vec::len).max())
            .unwrap_or(1) as i32;
        let max_cat_len = ph * 3 / 10;
        let x_area = match cat_orient {
            Orient::Horizontal => max_lines * line_h + 10 + desc_h + 12,
            Orient::Vertical => cat_w.min(max_cat_len) + 12 + desc_h + 12,
        };

        let mut val_texts: Vec<Vec<String>> = Vec::with_capacity(n_grp);
        let mut val_w = 0;
        for g in &self.groups {
            let t: Vec<String> = g
                .values
                .iter()
                .map(|&v| self.y.format.value_label(v))
                .collect();
            for s in &t {
                val_w = val_w.max(draw::measure(ctx, s, &val_f)?.0);
            }
            val_texts.push(t);
        }
        let val_h = draw::measure(ctx, "0", &val_f)?.1;
        let val_orient = if !self.value_labels {
            None
        } else if val_w as f64 + 2.0 <= bar_px + if n_grp == 1 { slot_px * 0.2 } else { 0.0 } {
            Some(Orient::Horizontal)
        } else if val_h as f64 <= bar_px + 4.0 {
            Some(Orient::Vertical)
        } else {
            note(
                &mut notes,
                "",
                SkipReason::ValueLabelsOmitted,
                n_cat * n_grp,
            );
            None
        };

        // The value range: zero, the data, and room above (below) for the labels.
        let plot_h = (ph - x_area - 16).max(50);
        let (y0, y1) = if self.y.range.is_some() {
            axis::resolve_range(&self.title, AxisName::Y, &self.y, (lo, hi), 0.0)?
        } else {
            let room = match val_orient {
                Some(Orient::Horizontal) => val_h + 8,
                Some(Orient::Vertical) => val_w + 10,
                None => 0,
            };
            let f = (room as f64 / plot_h as f64).clamp(0.05, 0.6);
            let span = (hi - lo).max(f64::MIN_POSITIVE);
            let grow = span * f / (1.0 - f);
            let top = if hi > 0.0 { hi + grow } else { 0.0 };
            let bottom = if lo < 0.0 { lo - grow } else { 0.0 };
            if top == bottom {
                (0.0, 1.0)
            } else {
                (bottom, top)
            }
        };
        let y_plan = axis::plan(&self.y, y0, y1, (plot_h / 70).clamp(3, 10) as usize);
        let y_area = draw::y_label_area(ctx, &y_plan)?;
        let x_plan = AxisPlan::categories(&self.categories);

        let mut chart = ChartBuilder::on(&plot)
            .margin_top(8)
            .margin_left(10)
            .margin_right(24)
            .margin_bottom(8)
            .x_label_area_size(x_area as u32)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x_plan.clone(), y_plan.clone())
            .map_err(|e| ctx.err(e))?;
        let blank = |_: &f64| String::new();
        let yf = |v: &f64| y_plan.label(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(self.category_label.as_str())
            .y_desc(self.y.label.as_str())
            .x_label_formatter(&blank)
            .y_label_formatter(&yf)
            .label_style(tick_f.color(&draw::color(INK)))
            .axis_desc_style(draw::font(draw::DESC_PX).color(&draw::color(INK)))
            .bold_line_style(draw::grid_bold())
            .light_line_style(draw::grid_light())
            .axis_style(draw::color(MUTED).stroke_width(1))
            .draw()
            .map_err(|e| ctx.err(e))?;
        let (px, py) = chart.plotting_area().get_pixel_range();
        let at = |x: f64, y: f64| chart.backend_coord(&(x, y));
        let clamp_y = |v: f64| v.clamp(y0, y1);
        let base = clamp_y(0.0);

        // Category labels, centred under each slot.
        let cat_style = match cat_orient {
            Orient::Horizontal => tick_f
                .color(&draw::color(INK))
                .pos(Pos::new(HPos::Center, VPos::Top)),
            Orient::Vertical => tick_f
                .transform(FontTransform::Rotate270)
                .color(&draw::color(INK))
                .pos(Pos::new(HPos::Right, VPos::Center)),
        };
        for (i, c) in self.categories.iter().enumerate() {
            let (cx, _) = at(i as f64 + 0.5, base);
            let lines = match &wrapped {
                Some(w) => w[i].clone(),
                None => vec![draw::fit_text(ctx, c, &tick_f, max_cat_len)?.0],
            };
            for (k, line) in lines.iter().enumerate() {
                root.draw_text(line, &cat_style, (cx, py.end + 8 + k as i32 * line_h))
                    .map_err(|e| ctx.err(e))?;
            }
        }

        let w = 0.8 / n_grp as f64;
        let mut clipped = vec![0usize; n_grp];
        for (gi, g) in self.groups.iter().enumerate() {
            let col = draw::color(g.color.unwrap_or_else(|| series_color(gi)));
            for (k, &v) in g.values.iter().enumerate() {
                if !v.is_finite() {
                    continue;
                }
                let left = k as f64 + 0.1 + gi as f64 * w;
                let right = left + w;
                if v != clamp_y(v) {
                    clipped[gi] += 1;
                }
                let (lx, by) = at(left, base);
                let (rx, ty) = at(right, clamp_y(v));
                let gap = if rx - lx >= 6 { 1 } else { 0 };
                root.draw(&Rectangle::new(
                    [(lx + gap, ty), (rx - gap, by)],
                    col.filled(),
                ))
                .map_err(|e| ctx.err(e))?;
                let cx = (lx + rx) / 2;
                let e = error_of(g, k);
                let mut label_y = ty;
                if e > 0.0 {
                    let (_, ey0) = at(left, clamp_y(v - e));
                    let (_, ey1) = at(left, clamp_y(v + e));
                    let cap = ((rx - lx) / 4).clamp(2, 8);
                    let st = draw::color(INK).stroke_width(1);
                    for seg in [
                        vec![(cx, ey0), (cx, ey1)],
                        vec![(cx - cap, ey0), (cx + cap, ey0)],
                        vec![(cx - cap, ey1), (cx + cap, ey1)],
                    ] {
                        root.draw(&PathElement::new(seg, st))
                            .map_err(|er| ctx.err(er))?;
                    }
                    label_y = if v >= 0.0 { ey1.min(ty) } else { ey0.max(ty) };
                }
                if let Some(orient) = val_orient {
                    let text = &val_texts[gi][k];
                    let up = v >= 0.0;
                    let ink = draw::color(INK);
                    let style = match (orient, up) {
                        (Orient::Horizontal, true) => {
                            val_f.color(&ink).pos(Pos::new(HPos::Center, VPos::Bottom))
                        }
                        (Orient::Horizontal, false) => {
                            val_f.color(&ink).pos(Pos::new(HPos::Center, VPos::Top))
                        }
                        (Orient::Vertical, true) => val_f
                            .transform(FontTransform::Rotate270)
                            .color(&ink)
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                        (Orient::Vertical, false) => val_f
                            .transform(FontTransform::Rotate270)
                            .color(&ink)
                            .pos(Pos::new(HPos::Right, VPos::Center)),
                    };
                    let y = if up { label_y - 4 } else { label_y + 4 };
                    let y = y.clamp(py.start + 2, py.end - 2);
                    root.draw_text(text, &style, (cx, y))
                        .map_err(|e| ctx.err(e))?;
                }
            }
        }
        let _ = px;
        for (g, c) in self.groups.iter().zip(clipped) {
            note(&mut notes, &g.name, SkipReason::OutsideFixedRange, c);
        }
        Ok(notes)
    }
}

/// The finite, non-negative error of bar `k`, or 0.
fn error_of(g: &BarGroup, k: usize) -> f64 {
    g.errors
        .as_ref()
        .and_then(|e| e.get(k))
        .copied()
        .filter(|e| e.is_finite())
        .map(f64::abs)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Chart;
    use crate::chart::test_util::{count_color, decode_png, png_dimensions};

    fn sample() -> BarChart {
        let cats: Vec<String> = ["1%", "5%", "10%", "25%"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        BarChart::new(
            "Hit ratio by policy",
            "cache size",
            cats,
            Axis::percent("hit ratio"),
        )
        .with_group(BarGroup::new("allkeys-lru", vec![0.41, 0.62, 0.71, 0.83]))
        .with_group(
            BarGroup::new("lru", vec![0.42, 0.63, 0.72, 0.84])
                .with_errors(vec![0.01, 0.01, 0.02, 0.01]),
        )
        .with_group(BarGroup::new("sieve", vec![0.45, 0.66, 0.75, 0.86]))
    }

    #[test]
    fn renders_with_labels_and_legend() {
        let dir = tempfile::tempdir().unwrap();
        let r = sample().render(dir.path(), "hit_ratio").unwrap();
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        let png = std::fs::read(&r.png).unwrap();
        assert_eq!(png_dimensions(&png), (1024, 640));
        let (_, _, px) = decode_png(&png);
        // Each group's colour covers a real area (bars are filled).
        for i in 0..3 {
            let c = crate::style::PALETTE[i];
            assert!(count_color(&px, (c.0, c.1, c.2)) > 2000, "group {i}");
        }
        let svg = std::fs::read_to_string(&r.svg).unwrap();
        for needle in [
            "Hit ratio by policy",
            "allkeys-lru",
            "sieve",
            "25%",
            "cache size",
            "86.0%",
        ] {
            assert!(svg.contains(needle), "SVG lacks {needle:?}");
        }
    }

    #[test]
    fn from_tidy_rows() {
        let rows = [
            ("10%", "lru", 0.5),
            ("10%", "sieve", 0.6),
            ("1%", "lru", 0.2),
            // ("1%", "sieve") missing
        ];
        let c = BarChart::from_rows("t", "size", Axis::percent("hit"), rows);
        assert_eq!(c.categories, vec!["10%", "1%"]);
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.groups[0].values, vec![0.5, 0.2]);
        assert_eq!(c.groups[1].values[0], 0.6);
        assert!(c.groups[1].values[1].is_nan());
        let dir = tempfile::tempdir().unwrap();
        let r = c.render(dir.path(), "rows").unwrap();
        assert_eq!(r.notes.len(), 1);
        assert_eq!(r.notes[0].series, "sieve");
    }

    #[test]
    fn deterministic() {
        assert_eq!(sample().to_png().unwrap(), sample().to_png().unwrap());
        assert_eq!(sample().to_svg().unwrap(), sample().to_svg().unwrap());
    }

    #[test]
    fn bar_heights_are_proportional() {
        // One group, values 1 and 2 on a fixed 0..2 axis: the second bar is twice as tall.
        let c = BarChart::new(
            "h",
            "c",
            vec!["a".into(), "b".into()],
            Axis::new("v").range(0.0, 2.0),
        )
        .with_group(BarGroup::new("g", vec![1.0, 2.0]).with_color(Rgb(10, 200, 30)))
        .with_value_labels(false);
        let (w, h, px) = decode_png(&c.to_png().unwrap());
        let col_height = |x: u32| {
            (0..h)
                .filter(|&y| {
                    let i = ((y * w + x) * 3) as usize;
                    px[i..i + 3] == [10, 200, 30]
                })
                .count()
        };
        let heights: Vec<usize> = (0..w).map(col_height).filter(|&c| c > 0).collect();
        let tall = *heights.iter().max().unwrap() as f64;
        let short = *heights.iter().min().unwrap() as f64;
        assert!((tall / short - 2.0).abs() < 0.02, "{tall} vs {short}");
    }

    #[test]
    fn errors_are_typed() {
        let mut c = sample();
        c.groups[1].values.pop();
        let e = c.to_png().unwrap_err();
        assert!(
            matches!(e, ReportError::LengthMismatch { ref group, expected: 4, got: 3, what: "values", .. } if group == "lru"),
            "{e}"
        );
        let mut c = sample();
        c.groups[0].errors = Some(vec![0.1]);
        assert!(matches!(
            c.to_svg().unwrap_err(),
            ReportError::LengthMismatch { what: "errors", .. }
        ));
        let mut c = sample();
        c.y = Axis::new("v").log();
        assert!(matches!(
            c.to_svg().unwrap_err(),
            ReportError::Unsupported { .. }
        ));
        let c = BarChart::new("e", "c", vec![], Axis::new("v"));
        assert!(matches!(
            c.to_svg().unwrap_err(),
            ReportError::NoData { .. }
        ));
        let c = BarChart::new("n", "c", vec!["a".into()], Axis::new("v"))
            .with_group(BarGroup::new("g", vec![f64::NAN]));
        assert!(matches!(
            c.to_svg().unwrap_err(),
            ReportError::NoData { .. }
        ));
    }

    #[test]
    fn nan_bars_negative_values_and_narrow_bars() {
        let cats: Vec<String> = (0..12).map(|i| format!("category number {i}")).collect();
        let mut c = BarChart::new("many", "phase", cats, Axis::bytes("delta")).with_size(800, 500);
        for g in 0..20 {
            let vals = (0..12)
                .map(|k| {
                    if k == 3 && g == 0 {
                        f64::NAN
                    } else {
                        (k as f64 - 4.0) * 1e6 * (g + 1) as f64
                    }
                })
                .collect();
            c = c.with_group(BarGroup::new(format!("g{g}"), vals));
        }
        let dir = tempfile::tempdir().unwrap();
        let r = c.render(dir.path(), "many").unwrap();
        assert!(
            r.notes
                .iter()
                .any(|n| n.series == "g0" && n.reason == SkipReason::NonFinite && n.count == 1)
        );
        assert!(
            r.notes
                .iter()
                .any(|n| n.reason == SkipReason::ValueLabelsOmitted)
        );
        let png = std::fs::read(&r.png).unwrap();
        assert_eq!(png_dimensions(&png), (800, 500));
    }
}
