//! Chart kinds and the rendering pipeline they share.
//!
//! Every chart is drawn twice, once into an in-memory RGB bitmap (encoded to PNG by the
//! `png` crate) and once into an SVG string, by the same drawing code, then written next to
//! each other as `<stem>.png` and `<stem>.svg` (each through a temporary file renamed into
//! place, so a reader never sees half a file). Nothing in either output depends on the clock,
//! the thread, or a hash seed: the same chart value gives the same bytes.
//!
//! Layout of every chart: title (and subtitle) on top; the plot on the left; the legend in
//! its own column on the right, outside the plot, so it never hides data. Long legends wrap
//! into more columns or a smaller font before labels are shortened (which is noted).

mod bar;
mod clip;
mod draw;
mod line;
mod marks;
mod raster;
mod scatter;

use std::fmt;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::error::{ImageFormat, IoOp, ReportError};
use crate::font;

pub use bar::{BarChart, BarGroup};
pub use line::{HLine, LineChart, Series, VLine, series_from_rows};
pub use scatter::{ModelFit, ScatterWithModel};

/// Image size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl ChartSize {
    /// Smallest accepted side.
    pub const MIN: u32 = 200;
    /// Largest accepted side.
    pub const MAX: u32 = 8192;
}

impl Default for ChartSize {
    /// 1024 × 640: readable on a laptop screen and in a markdown viewer at full width.
    fn default() -> Self {
        ChartSize {
            width: 1024,
            height: 640,
        }
    }
}

/// Why some data did not make it onto a chart, or was shown shortened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// NaN or ±infinity.
    NonFinite,
    /// Zero or negative on a log axis.
    NonPositiveOnLogAxis,
    /// Outside a fixed axis range (lines are clipped at the frame; markers and bars are
    /// not drawn or are cut at the frame).
    OutsideFixedRange,
    /// The series had no points at all (it is listed in the legend as "(no data)").
    EmptySeries,
    /// The legend label was too long and was shortened with "…".
    LabelShortened,
    /// Bars were too narrow to carry value labels, so none were drawn.
    ValueLabelsOmitted,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::NonFinite => "non-finite value (NaN or infinity), not plotted",
            SkipReason::NonPositiveOnLogAxis => "value ≤ 0 on a log axis, not plotted",
            SkipReason::OutsideFixedRange => "outside the fixed axis range, clipped",
            SkipReason::EmptySeries => "series has no points",
            SkipReason::LabelShortened => "legend label shortened to fit",
            SkipReason::ValueLabelsOmitted => "bars too narrow for value labels, labels omitted",
        })
    }
}

/// Something the reader of a chart should know: data left out or shortened, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotNote {
    /// The series (or bar group) concerned; empty for the chart as a whole.
    pub series: String,
    /// How many points, bars or labels.
    pub count: usize,
    /// What happened to them.
    pub reason: SkipReason,
}

impl fmt::Display for PlotNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.series.is_empty() {
            write!(f, "{} × {}", self.count, self.reason)
        } else {
            write!(f, "{:?}: {} × {}", self.series, self.count, self.reason)
        }
    }
}

/// The files a chart was written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedChart {
    /// The chart's title (used as the default alt text in reports).
    pub title: String,
    /// `<dir>/<stem>.png`.
    pub png: PathBuf,
    /// `<dir>/<stem>.svg`.
    pub svg: PathBuf,
    /// Data left out or shortened, in series order; empty when everything was drawn.
    pub notes: Vec<PlotNote>,
}

/// What every chart kind can do. Implemented by [`LineChart`], [`BarChart`] and
/// [`ScatterWithModel`]; object-safe, and `Sync` so charts can be rendered from rayon.
pub trait Chart: Sync {
    /// The chart's title.
    fn title(&self) -> &str;

    /// Draws the chart as PNG bytes.
    fn to_png(&self) -> Result<Vec<u8>, ReportError>;

    /// Draws the chart as an SVG document.
    fn to_svg(&self) -> Result<String, ReportError>;

    /// Writes `<dir>/<stem>.png` and `<dir>/<stem>.svg` (creating `dir` if needed).
    /// `stem` must be 1–128 characters from `A-Z a-z 0-9 . _ -` and not start with `.`.
    fn render(&self, dir: &Path, stem: &str) -> Result<RenderedChart, ReportError>;
}

/// The drawing half of a chart kind (crate-private; [`Chart`] is implemented for every
/// `Draw` type).
pub(crate) trait Draw {
    fn title(&self) -> &str;
    fn size(&self) -> ChartSize;
    /// Draws onto `root`, returning notes about skipped data.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
        ctx: &Ctx,
    ) -> Result<Vec<PlotNote>, ReportError>;
}

/// Which chart and which output a drawing error belongs to.
pub(crate) struct Ctx<'a> {
    pub chart: &'a str,
    pub format: ImageFormat,
}

impl Ctx<'_> {
    pub fn err(&self, e: impl fmt::Display) -> ReportError {
        ReportError::Draw {
            chart: self.chart.to_string(),
            format: self.format,
            detail: e.to_string(),
        }
    }
}

fn check_size<C: Draw>(c: &C) -> Result<(u32, u32), ReportError> {
    let s = c.size();
    let ok = |v: u32| (ChartSize::MIN..=ChartSize::MAX).contains(&v);
    if !ok(s.width) || !ok(s.height) {
        return Err(ReportError::InvalidSize {
            chart: c.title().to_string(),
            width: s.width,
            height: s.height,
            min: ChartSize::MIN,
            max: ChartSize::MAX,
        });
    }
    Ok((s.width, s.height))
}

fn png_with_notes<C: Draw>(c: &C) -> Result<(Vec<u8>, Vec<PlotNote>), ReportError> {
    font::ensure_fonts()?;
    let (w, h) = check_size(c)?;
    let ctx = Ctx {
        chart: c.title(),
        format: ImageFormat::Png,
    };
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    let notes = {
        let root = raster::Raster::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let notes = c.draw(&root, &ctx)?;
        root.present().map_err(|e| ctx.err(e))?;
        notes
    };
    let mut out = Vec::with_capacity(64 * 1024);
    // `Fast`: fdeflate's single-pass compressor with per-row adaptive filters. `Balanced`
    // (zlib level 6 through miniz_oxide) made two charts ~7 % of a 5 M-request `hitrate`
    // process's instructions; its files are 1.6–2× smaller. Either is deterministic.
    let encode = |out: &mut Vec<u8>| -> Result<(), png::EncodingError> {
        let mut enc = png::Encoder::new(out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&rgb)?;
        writer.finish()
    };
    encode(&mut out).map_err(|source| ReportError::PngEncode {
        chart: c.title().to_string(),
        source,
    })?;
    Ok((out, notes))
}

fn svg_with_notes<C: Draw>(c: &C) -> Result<(String, Vec<PlotNote>), ReportError> {
    font::ensure_fonts()?;
    let (w, h) = check_size(c)?;
    let ctx = Ctx {
        chart: c.title(),
        format: ImageFormat::Svg,
    };
    let mut svg = String::with_capacity(64 * 1024);
    let notes = {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let notes = c.draw(&root, &ctx)?;
        root.present().map_err(|e| ctx.err(e))?;
        notes
    };
    Ok((svg, notes))
}

/// Checks that `stem` is a safe, portable file stem and markdown link target.
pub(crate) fn check_stem(stem: &str) -> Result<(), ReportError> {
    let ok = !stem.is_empty()
        && stem.len() <= 128
        && !stem.starts_with('.')
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ReportError::InvalidStem {
            stem: stem.to_string(),
        })
    }
}

/// Writes `bytes` to `path` through a temporary sibling renamed into place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    if let Err(source) = std::fs::write(&tmp, bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReportError::Io {
            path: tmp,
            op: IoOp::Write,
            source,
        });
    }
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        ReportError::Io {
            path: path.to_path_buf(),
            op: IoOp::Rename,
            source,
        }
    })
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        op: IoOp::CreateDir,
        source,
    })
}

impl<T: Draw + Sync> Chart for T {
    fn title(&self) -> &str {
        Draw::title(self)
    }

    fn to_png(&self) -> Result<Vec<u8>, ReportError> {
        png_with_notes(self).map(|(b, _)| b)
    }

    fn to_svg(&self) -> Result<String, ReportError> {
        svg_with_notes(self).map(|(s, _)| s)
    }

    fn render(&self, dir: &Path, stem: &str) -> Result<RenderedChart, ReportError> {
        check_stem(stem)?;
        let (png, notes) = png_with_notes(self)?;
        let (svg, _) = svg_with_notes(self)?;
        create_dir(dir)?;
        let png_path = dir.join(format!("{stem}.png"));
        let svg_path = dir.join(format!("{stem}.svg"));
        write_atomic(&png_path, &png)?;
        write_atomic(&svg_path, svg.as_bytes())?;
        Ok(RenderedChart {
            title: Draw::title(self).to_string(),
            png: png_path,
            svg: svg_path,
            notes,
        })
    }
}

/// Adds `count` to the note for (`series`, `reason`), creating it if needed.
pub(crate) fn note(notes: &mut Vec<PlotNote>, series: &str, reason: SkipReason, count: usize) {
    if count == 0 {
        return;
    }
    if let Some(n) = notes
        .iter_mut()
        .find(|n| n.series == series && n.reason == reason)
    {
        n.count += count;
    } else {
        notes.push(PlotNote {
            series: series.to_string(),
            count,
            reason,
        });
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    //! PNG/SVG checks shared by the chart tests.

    /// Width and height from a PNG's IHDR, after checking the signature.
    pub fn png_dimensions(bytes: &[u8]) -> (u32, u32) {
        assert!(bytes.len() > 33, "PNG too short: {} bytes", bytes.len());
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&bytes[12..16], b"IHDR", "first chunk must be IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (w, h)
    }

    /// Decodes a PNG fully (checking CRCs and zlib) and returns (width, height, RGB pixels).
    pub fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("PNG header decodes");
        let mut buf = vec![0; reader.output_buffer_size().expect("size known")];
        let info = reader.next_frame(&mut buf).expect("PNG frame decodes");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    /// Number of pixels whose colour is exactly `rgb`.
    pub fn count_color(pixels: &[u8], rgb: (u8, u8, u8)) -> usize {
        pixels
            .chunks_exact(3)
            .filter(|p| p[0] == rgb.0 && p[1] == rgb.1 && p[2] == rgb.2)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_charts_render_in_parallel_as_trait_objects() {
        use crate::{Axis, BarChart, BarGroup, LineChart, Series};
        let charts: Vec<Box<dyn Chart>> = vec![
            Box::new(
                LineChart::new("l", Axis::new("x"), Axis::new("y"))
                    .with_series(Series::line("a", vec![(0.0, 1.0), (1.0, 2.0)])),
            ),
            Box::new(
                BarChart::new("b", "c", vec!["x".into()], Axis::new("v"))
                    .with_group(BarGroup::new("g", vec![3.0])),
            ),
        ];
        let dir = tempfile::tempdir().unwrap();
        let parallel: Vec<RenderedChart> = std::thread::scope(|s| {
            let handles: Vec<_> = charts
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let d = dir.path();
                    s.spawn(move || c.render(d, &format!("c{i}")).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (c, r) in charts.iter().zip(&parallel) {
            assert_eq!(std::fs::read(&r.png).unwrap(), c.to_png().unwrap());
            assert_eq!(
                std::fs::read_to_string(&r.svg).unwrap(),
                c.to_svg().unwrap()
            );
            assert_eq!(r.title, c.title());
        }
    }

    #[test]
    fn stems_are_checked() {
        assert!(check_stem("miss_ratio-vs-size.v2").is_ok());
        for bad in ["", ".hidden", "a/b", "a b", "ü", "..", &"x".repeat(129)] {
            let e = check_stem(bad).unwrap_err();
            assert!(matches!(e, ReportError::InvalidStem { .. }), "{bad:?}");
        }
    }

    #[test]
    fn notes_accumulate_per_series_and_reason() {
        let mut n = Vec::new();
        note(&mut n, "a", SkipReason::NonFinite, 2);
        note(&mut n, "a", SkipReason::NonFinite, 3);
        note(&mut n, "b", SkipReason::NonFinite, 0);
        note(&mut n, "a", SkipReason::EmptySeries, 1);
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].count, 5);
        assert_eq!(
            n[0].to_string(),
            "\"a\": 5 × non-finite value (NaN or infinity), not plotted"
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.svg");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn write_into_missing_dir_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing").join("x.png");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }
}
