//! Line charts: any number of series over two numeric axes, with vertical markers (phase
//! boundaries) and horizontal reference lines (limits).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::clip::{Rect, polylines};
use super::draw::{self, LegendEntry, LineKind};
use super::marks::{MARGIN_LEFT, MARGIN_RIGHT, draw_hlines, draw_vlines, layout_vlines};
use super::{ChartSize, Ctx, Draw, PlotNote, SkipReason, note};
use crate::axis::{self, Axis};
use crate::error::{AxisName, ReportError};
use crate::style::{
    MAX_LINE_MARKERS, MUTED, MarkerShape, PALETTE, Rgb, SeriesStyle, series_color, series_marker,
};

/// One named series of `(x, y)` points, drawn in the given order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label (e.g. the policy name).
    pub name: String,
    /// The points. NaN/infinite values (and values ≤ 0 on a log axis) break the line and are
    /// reported in [`super::RenderedChart::notes`].
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub style: SeriesStyle,
    /// Colour override; `None` takes the palette colour of the series' position.
    pub color: Option<Rgb>,
    /// Marker override; `None` takes the marker cycle's shape for the series' position.
    pub marker: Option<MarkerShape>,
}

impl Series {
    /// A series with an explicit style and automatic colour and marker.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, style: SeriesStyle) -> Self {
        Series {
            name: name.into(),
            points,
            style,
            color: None,
            marker: None,
        }
    }

    /// A solid line.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series::new(name, points, SeriesStyle::Line)
    }

    /// Markers only.
    pub fn markers(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series::new(name, points, SeriesStyle::Markers)
    }

    /// A line with markers.
    pub fn line_markers(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series::new(name, points, SeriesStyle::LineMarkers)
    }

    /// A dashed line.
    pub fn dashed(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series::new(name, points, SeriesStyle::Dashed)
    }

    /// Sets a fixed colour (e.g. black for Belady's bound).
    #[must_use]
    pub fn with_color(mut self, color: Rgb) -> Self {
        self.color = Some(color);
        self
    }

    /// Sets a fixed marker shape.
    #[must_use]
    pub fn with_marker(mut self, marker: MarkerShape) -> Self {
        self.marker = Some(marker);
        self
    }
}

/// Groups tidy rows `(name, x, y)` into one series per name: series in order of first
/// appearance, points in row order. Handy for CSV rows such as `(policy, capacity, miss_ratio)`.
pub fn series_from_rows<I, S>(rows: I, style: SeriesStyle) -> Vec<Series>
where
    I: IntoIterator<Item = (S, f64, f64)>,
    S: AsRef<str>,
{
    let mut out: Vec<Series> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (name, x, y) in rows {
        let name = name.as_ref();
        let i = match index.get(name) {
            Some(&i) => i,
            None => {
                index.insert(name.to_string(), out.len());
                out.push(Series::new(name, Vec::new(), style));
                out.len() - 1
            }
        };
        out[i].points.push((x, y));
    }
    out
}

/// A vertical line across the plot at `x`, labelled at the top (phase boundaries, events).
#[derive(Debug, Clone, PartialEq)]
pub struct VLine {
    /// Position on the x axis.
    pub x: f64,
    /// Short label drawn at the top of the line (may be empty).
    pub label: String,
}

/// A horizontal line across the plot at `y`, labelled at the right (limits such as
/// `maxmemory`, or a bound).
#[derive(Debug, Clone, PartialEq)]
pub struct HLine {
    /// Position on the y axis.
    pub y: f64,
    /// Short label drawn above the line's right end (may be empty).
    pub label: String,
}

/// A line chart. Build with [`LineChart::new`] and the `with_*` methods, or as a struct
/// literal with `..LineChart::new(title, x, y)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title drawn on top.
    pub title: String,
    /// Optional smaller second line (workload, parameters).
    pub subtitle: Option<String>,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// The series, drawn in order (later ones on top).
    pub series: Vec<Series>,
    /// Vertical marker lines.
    pub vlines: Vec<VLine>,
    /// Horizontal reference lines.
    pub hlines: Vec<HLine>,
    /// Image size.
    pub size: ChartSize,
}

impl LineChart {
    /// An empty chart with the default size.
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        LineChart {
            title: title.into(),
            subtitle: None,
            x,
            y,
            series: Vec::new(),
            vlines: Vec::new(),
            hlines: Vec::new(),
            size: ChartSize::default(),
        }
    }

    /// Sets the subtitle.
    #[must_use]
    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Adds a series.
    #[must_use]
    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Adds a vertical marker line.
    #[must_use]
    pub fn with_vline(mut self, x: f64, label: impl Into<String>) -> Self {
        self.vlines.push(VLine {
            x,
            label: label.into(),
        });
        self
    }

    /// Adds a horizontal reference line.
    #[must_use]
    pub fn with_hline(mut self, y: f64, label: impl Into<String>) -> Self {
        self.hlines.push(HLine {
            y,
            label: label.into(),
        });
        self
    }

    /// Sets the image size.
    #[must_use]
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = ChartSize { width, height };
        self
    }
}

/// How a series is drawn once defaults are resolved.
struct Look {
    color: Rgb,
    marker: MarkerShape,
    line: Option<LineKind>,
    markers: bool,
}

fn look(i: usize, s: &Series) -> Look {
    let color = s.color.unwrap_or_else(|| series_color(i));
    let marker = s.marker.unwrap_or_else(|| series_marker(i));
    // Past the palette, automatic colours repeat: solid lines turn dashed, then dotted, so
    // (colour, line) stays unique up to 60 series even without markers.
    let solid = match (s.color, i / PALETTE.len()) {
        (None, 1) => LineKind::Dashed,
        (None, n) if n >= 2 => LineKind::Dotted,
        _ => LineKind::Solid,
    };
    let (line, markers) = match s.style {
        SeriesStyle::Line => (Some(solid), false),
        SeriesStyle::Markers => (None, true),
        SeriesStyle::LineMarkers => (Some(solid), true),
        SeriesStyle::Dashed => (Some(LineKind::Dashed), false),
        SeriesStyle::Dotted => (Some(LineKind::Dotted), false),
    };
    Look {
        color,
        marker,
        line,
        markers,
    }
}

impl LineChart {
    /// Axis-space coordinates of each point (`None` where not drawable), recording why.
    fn drawable(&self, s: &Series, notes: &mut Vec<PlotNote>) -> Vec<Option<(f64, f64)>> {
        let mut non_finite = 0;
        let mut non_positive = 0;
        let pts = s
            .points
            .iter()
            .map(|&(x, y)| {
                if !x.is_finite() || !y.is_finite() {
                    non_finite += 1;
                    None
                } else if !self.x.accepts(x) || !self.y.accepts(y) {
                    non_positive += 1;
                    None
                } else {
                    Some((x, y))
                }
            })
            .collect();
        note(notes, &s.name, SkipReason::NonFinite, non_finite);
        note(
            notes,
            &s.name,
            SkipReason::NonPositiveOnLogAxis,
            non_positive,
        );
        if s.points.is_empty() {
            note(notes, &s.name, SkipReason::EmptySeries, 1);
        }
        pts
    }
}

impl Draw for LineChart {
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
        let mut notes = Vec::new();
        let data: Vec<Vec<Option<(f64, f64)>>> = self
            .series
            .iter()
            .map(|s| self.drawable(s, &mut notes))
            .collect();
        let all = || data.iter().flatten().flatten();
        if all().next().is_none() {
            return Err(ReportError::NoData {
                chart: self.title.clone(),
                reason: "no series has a point with finite coordinates (positive on log axes)",
            });
        }
        let xs = all().map(|p| p.0).chain(self.vlines.iter().map(|v| v.x));
        let ys = all().map(|p| p.1).chain(self.hlines.iter().map(|h| h.y));
        let no_data = || ReportError::NoData {
            chart: self.title.clone(),
            reason: "no series has a point with finite coordinates (positive on log axes)",
        };
        let x_ext = axis::extent(&self.x, xs).ok_or_else(no_data)?;
        let y_ext = axis::extent(&self.y, ys).ok_or_else(no_data)?;
        let (x0, x1) = axis::resolve_range(&self.title, AxisName::X, &self.x, x_ext, 0.02)?;
        let (y0, y1) = axis::resolve_range(&self.title, AxisName::Y, &self.y, y_ext, 0.05)?;

        let legend: Vec<LegendEntry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let lk = look(i, s);
                let empty = data[i].iter().all(Option::is_none);
                LegendEntry {
                    label: if empty {
                        format!("{} (no data)", s.name)
                    } else {
                        s.name.clone()
                    },
                    color: lk.color,
                    line: lk.line,
                    marker: lk.markers.then_some(lk.marker),
                    bar: false,
                }
            })
            .collect();
        let plot = draw::frame(
            root,
            ctx,
            &self.title,
            self.subtitle.as_deref(),
            &legend,
            &mut notes,
        )?;

        // Plan ticks: y first (its labels set the left margin), then x to fit the width.
        let (pw, ph) = plot.dim_in_pixel();
        let x_area = draw::x_label_area(ctx)?;
        let plot_h = ph as i32 - x_area as i32 - 16;
        let y_plan = axis::plan(&self.y, y0, y1, (plot_h / 60).clamp(4, 10) as usize);
        let y_area = draw::y_label_area(ctx, &y_plan)?;
        let plot_w = pw as i32 - y_area as i32 - MARGIN_LEFT - MARGIN_RIGHT;
        let mut target = (plot_w / 90).clamp(2, 12) as usize;
        let x_plan = loop {
            let p = axis::plan(&self.x, x0, x1, target);
            if target <= 2 || draw::x_labels_fit(ctx, &p, plot_w)? {
                break p;
            }
            target -= 1;
        };

        // Labels of vertical lines sit in a strip above the plot, never over the data.
        let row_h = draw::measure(ctx, "Ag", &draw::font(draw::ANNOTATION_PX))?.1 + 6;
        let vlabels = layout_vlines(
            ctx,
            self,
            &x_plan,
            (MARGIN_LEFT + y_area as i32, pw as i32 - MARGIN_RIGHT),
        )?;
        let strip_rows = vlabels
            .iter()
            .filter(|l| !l.label.is_empty())
            .map(|l| l.row + 1)
            .max()
            .unwrap_or(0);
        let mut chart = ChartBuilder::on(&plot)
            .margin_top(8 + strip_rows as i32 * row_h)
            .margin_left(MARGIN_LEFT)
            .margin_right(MARGIN_RIGHT)
            .margin_bottom(8)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x_plan.clone(), y_plan.clone())
            .map_err(|e| ctx.err(e))?;
        let xf = |v: &f64| x_plan.label(*v);
        let yf = |v: &f64| y_plan.label(*v);
        chart
            .configure_mesh()
            .x_desc(self.x.label.as_str())
            .y_desc(self.y.label.as_str())
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .label_style(draw::font(draw::TICK_PX).color(&draw::color(crate::style::INK)))
            .axis_desc_style(draw::font(draw::DESC_PX).color(&draw::color(crate::style::INK)))
            .bold_line_style(draw::grid_bold())
            .light_line_style(draw::grid_light())
            .axis_style(draw::color(MUTED).stroke_width(1))
            .draw()
            .map_err(|e| ctx.err(e))?;

        let (px, py) = chart.plotting_area().get_pixel_range();
        let rect = Rect {
            x0: x_plan.project(x0),
            x1: x_plan.project(x1),
            y0: y_plan.project(y0),
            y1: y_plan.project(y1),
        };
        let to_px = |(sx, sy): (f64, f64)| {
            chart.backend_coord(&(x_plan.unproject(sx), y_plan.unproject(sy)))
        };

        draw_hlines(root, ctx, self, &y_plan, rect, &to_px, px.end)?;
        draw_vlines(root, ctx, &vlabels, &x_plan, rect, &to_px, py.start, row_h)?;

        // Lines first, then every marker on top, so no line hides a measured point.
        let mut markers = Vec::new();
        for (i, (s, pts)) in self.series.iter().zip(&data).enumerate() {
            let lk = look(i, s);
            let space: Vec<Option<(f64, f64)>> = pts
                .iter()
                .map(|p| p.map(|(x, y)| (x_plan.project(x), y_plan.project(y))))
                .collect();
            let outside = space
                .iter()
                .flatten()
                .filter(|&&p| !rect.contains(p))
                .count();
            note(&mut notes, &s.name, SkipReason::OutsideFixedRange, outside);
            let (lines, isolated) = polylines(&space, rect);
            if let Some(kind) = lk.line {
                for l in &lines {
                    let px_pts: Vec<(i32, i32)> = l.iter().map(|&p| to_px(p)).collect();
                    draw::polyline(root, ctx, &px_pts, lk.color, kind)?;
                }
            }
            let inside: Vec<usize> = (0..space.len())
                .filter(|&k| space[k].is_some_and(|p| rect.contains(p)))
                .collect();
            let marker_idx: Vec<usize> = match s.style {
                SeriesStyle::Markers => inside,
                SeriesStyle::LineMarkers if inside.len() > MAX_LINE_MARKERS => {
                    // Evenly thinned, always keeping the first and last point.
                    let n = inside.len();
                    (0..MAX_LINE_MARKERS)
                        .map(|j| inside[j * (n - 1) / (MAX_LINE_MARKERS - 1)])
                        .collect()
                }
                SeriesStyle::LineMarkers => inside,
                // A line alone would not show a point with no drawable neighbour.
                _ => isolated,
            };
            for k in marker_idx {
                if let Some(p) = space[k] {
                    markers.push((to_px(p), lk.marker, lk.color));
                }
            }
        }
        for (p, shape, color) in markers {
            draw::marker(root, ctx, p, shape, color)?;
        }
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::axis::AxisFormat;
    use crate::chart::Chart;
    use crate::chart::test_util::{count_color, decode_png, png_dimensions};

    fn sample() -> LineChart {
        let sizes = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
        let mut c = LineChart::new(
            "Miss ratio vs cache size",
            Axis::new("cache size (fraction of working set)").log(),
            Axis::percent("miss ratio"),
        )
        .with_subtitle("zipf:0.99, 100k keys, 1M requests");
        for (i, name) in ["lru", "allkeys-lru", "sieve"].iter().enumerate() {
            let pts = sizes
                .iter()
                .map(|&s: &f64| (s, 0.9 - 0.15 * (s.log10() + 2.0) - 0.02 * i as f64))
                .collect();
            c = c.with_series(Series::line_markers(*name, pts));
        }
        c.with_series(
            Series::dashed(
                "belady",
                sizes
                    .iter()
                    .map(|&s| (s, 0.5 - 0.1 * (s.log10() + 2.0)))
                    .collect(),
            )
            .with_color(crate::style::INK),
        )
    }

    #[test]
    fn renders_png_and_svg_with_title_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let c = sample();
        let r = c.render(dir.path(), "miss_ratio").unwrap();
        assert_eq!(r.png, dir.path().join("miss_ratio.png"));
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        let png = std::fs::read(&r.png).unwrap();
        assert_eq!(png_dimensions(&png), (1024, 640));
        let (w, h, px) = decode_png(&png);
        assert_eq!((w, h), (1024, 640));
        // The series colours made it into the raster (lru is palette colour 0).
        let blue = crate::style::PALETTE[0];
        assert!(count_color(&px, (blue.0, blue.1, blue.2)) > 200);
        let svg = std::fs::read_to_string(&r.svg).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("width=\"1024\"") && svg.contains("height=\"640\""));
        for needle in [
            "Miss ratio vs cache size",
            "zipf:0.99, 100k keys, 1M requests",
            "allkeys-lru",
            "sieve",
            "belady",
            "miss ratio",
            "cache size (fraction of working set)",
            "0.01",
            "#1F77B4",
        ] {
            assert!(svg.contains(needle), "SVG lacks {needle:?}");
        }
    }

    #[test]
    fn same_input_gives_identical_bytes() {
        let a = sample();
        let b = sample();
        assert_eq!(a.to_png().unwrap(), b.to_png().unwrap());
        assert_eq!(a.to_svg().unwrap(), b.to_svg().unwrap());
        // And through files, across two directories.
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let r1 = a.render(d1.path(), "x").unwrap();
        let r2 = b.render(d2.path(), "x").unwrap();
        assert_eq!(
            std::fs::read(r1.png).unwrap(),
            std::fs::read(r2.png).unwrap()
        );
        assert_eq!(
            std::fs::read(r1.svg).unwrap(),
            std::fs::read(r2.svg).unwrap()
        );
    }

    /// Helper for the test below: renders the sample into `$EVICTLAB_REPORTS_CHILD_OUT`.
    #[test]
    #[ignore = "helper, run in a child process by cross_process_output_is_identical"]
    fn child_render() {
        if let Ok(dir) = std::env::var("EVICTLAB_REPORTS_CHILD_OUT") {
            sample()
                .render(std::path::Path::new(&dir), "child")
                .unwrap();
        }
    }

    #[test]
    fn cross_process_output_is_identical() {
        // Another process has other hash seeds, addresses and thread ids: none may leak
        // into the files.
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "chart::line::tests::child_render",
                "--ignored",
                "--quiet",
            ])
            .env("EVICTLAB_REPORTS_CHILD_OUT", dir.path())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let png = std::fs::read(dir.path().join("child.png")).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("child.svg")).unwrap();
        assert_eq!(png, sample().to_png().unwrap());
        assert_eq!(svg, sample().to_svg().unwrap());
    }

    #[test]
    fn different_data_gives_different_bytes() {
        let a = sample();
        let mut b = sample();
        b.series[0].points[2].1 += 0.1;
        assert_ne!(a.to_png().unwrap(), b.to_png().unwrap());
        assert_ne!(a.to_svg().unwrap(), b.to_svg().unwrap());
    }

    #[test]
    fn parallel_rendering_matches_serial() {
        let serial = sample().to_png().unwrap();
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| sample().to_png().unwrap()))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), serial);
        }
    }

    #[test]
    fn nan_empty_and_non_positive_points_are_noted_not_fatal() {
        let c = LineChart::new("gaps", Axis::new("x"), Axis::new("y").log())
            .with_series(Series::line(
                "a",
                vec![
                    (1.0, 1.0),
                    (2.0, f64::NAN),
                    (3.0, 0.0),
                    (4.0, 4.0),
                    (5.0, f64::INFINITY),
                ],
            ))
            .with_series(Series::line("empty", vec![]));
        let dir = tempfile::tempdir().unwrap();
        let r = c.render(dir.path(), "gaps").unwrap();
        let find = |s: &str, reason| r.notes.iter().find(|n| n.series == s && n.reason == reason);
        assert_eq!(find("a", SkipReason::NonFinite).unwrap().count, 2);
        assert_eq!(
            find("a", SkipReason::NonPositiveOnLogAxis).unwrap().count,
            1
        );
        assert_eq!(find("empty", SkipReason::EmptySeries).unwrap().count, 1);
        let svg = std::fs::read_to_string(r.svg).unwrap();
        assert!(svg.contains("empty (no data)"));
    }

    #[test]
    fn rows_group_into_series_in_first_seen_order() {
        let rows = [
            ("b", 1.0, 10.0),
            ("a", 1.0, 20.0),
            ("b", 2.0, 11.0),
            ("a", 2.0, 21.0),
        ];
        let s = series_from_rows(rows, SeriesStyle::LineMarkers);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "b");
        assert_eq!(s[0].points, vec![(1.0, 10.0), (2.0, 11.0)]);
        assert_eq!(s[1].name, "a");
        assert_eq!(s[1].points, vec![(1.0, 20.0), (2.0, 21.0)]);
        assert_eq!(s[1].style, SeriesStyle::LineMarkers);
    }

    #[test]
    fn no_drawable_point_is_a_typed_error() {
        let c = LineChart::new("nothing", Axis::new("x"), Axis::new("y"))
            .with_series(Series::line("nan", vec![(f64::NAN, 1.0)]))
            .with_series(Series::line("empty", vec![]));
        let e = c.to_png().unwrap_err();
        assert!(
            matches!(e, ReportError::NoData { ref chart, .. } if chart == "nothing"),
            "{e}"
        );
        let e = LineChart::new("none", Axis::new("x"), Axis::new("y"))
            .to_svg()
            .unwrap_err();
        assert!(matches!(e, ReportError::NoData { .. }));
    }

    #[test]
    fn extreme_values_render() {
        let c = LineChart::new("extreme", Axis::new("x"), Axis::new("y"))
            .with_series(Series::line_markers(
                "s",
                vec![(0.0, -1.7e308), (1.0, 1.7e308), (2.0, 0.0)],
            ))
            .with_series(Series::line("tiny", vec![(0.0, 1e-320), (1.0, 2e-320)]));
        assert_eq!(png_dimensions(&c.to_png().unwrap()), (1024, 640));
        assert!(c.to_svg().unwrap().contains("extreme"));
    }

    #[test]
    fn fixed_range_clips_and_notes() {
        let c = LineChart::new("clip", Axis::new("x"), Axis::new("y").range(0.0, 1.0)).with_series(
            Series::line_markers("s", vec![(0.0, 0.5), (1.0, 2.0), (2.0, 0.5)]),
        );
        let (w, h, px) = decode_png(&c.to_png().unwrap());
        assert_eq!((w, h), (1024, 640));
        // Nothing of the series colour may appear in the title band above the plot.
        let blue = crate::style::PALETTE[0];
        let top_band = &px[..(w * 40 * 3) as usize];
        assert_eq!(count_color(top_band, (blue.0, blue.1, blue.2)), 0);
        let dir = tempfile::tempdir().unwrap();
        let r = c.render(dir.path(), "clip").unwrap();
        assert_eq!(r.notes.len(), 1);
        assert_eq!(r.notes[0].reason, SkipReason::OutsideFixedRange);
        assert_eq!(r.notes[0].count, 1);
    }

    #[test]
    fn bad_size_range_and_stem_are_errors() {
        let base = LineChart::new("t", Axis::new("x"), Axis::new("y"))
            .with_series(Series::line("s", vec![(0.0, 0.0), (1.0, 1.0)]));
        let e = base.clone().with_size(10, 640).to_png().unwrap_err();
        assert!(
            matches!(e, ReportError::InvalidSize { width: 10, .. }),
            "{e}"
        );
        let mut bad = base.clone();
        bad.y.range = Some((2.0, 1.0));
        assert!(matches!(
            bad.to_svg().unwrap_err(),
            ReportError::InvalidRange {
                axis: AxisName::Y,
                ..
            }
        ));
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            base.render(dir.path(), "../escape").unwrap_err(),
            ReportError::InvalidStem { .. }
        ));
    }

    #[test]
    fn many_series_byte_axis_vlines_and_small_size() {
        let mib = 1024.0 * 1024.0;
        let mut c = LineChart::new(
            "RSS vs used over time",
            Axis::new("time").format(AxisFormat::Seconds),
            Axis::bytes("memory"),
        )
        .with_vline(1.0, "fill")
        .with_vline(1.05, "delete")
        .with_vline(2.0, "refill")
        .with_hline(900.0 * mib, "maxmemory")
        .with_size(640, 400);
        for i in 0..24 {
            let pts = (0..200)
                .map(|k| (k as f64 * 0.02, (100.0 + 30.0 * i as f64 + k as f64) * mib))
                .collect();
            c = c.with_series(Series::new(
                format!("series number {i}"),
                pts,
                SeriesStyle::LineMarkers,
            ));
        }
        let svg = c.to_svg().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // 24 legend rows do not fit beside a 400 px plot: the legend goes under it, whole.
        assert_eq!(c.render(dir.path(), "m").unwrap().notes, vec![]);
        for needle in [
            "series number 0",
            "series number 23",
            "maxmemory",
            "refill",
            "GiB",
        ] {
            assert!(svg.contains(needle), "SVG lacks {needle:?}");
        }
        let png = c.to_png().unwrap();
        assert_eq!(png_dimensions(&png), (640, 400));
    }
}
