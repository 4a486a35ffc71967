//! Plots and markdown reports for evictlab.
//!
//! Experiments hand this crate tidy data (`(x, y)` points per named series, or values per
//! category and group) and get back PNG + SVG files and markdown. Charts render with no
//! system libraries: plotters draws text through `ab_glyph` with the DejaVu Sans font
//! embedded in the binary (registered once, thread-safely, on first use), and PNGs are
//! encoded by the pure-Rust `png` crate. Output is deterministic: the same chart value gives
//! byte-identical PNG and SVG files, whatever the thread or the run.
//!
//! ```no_run
//! use evictlab_reports::{Axis, Chart, LineChart, Report, Series};
//! # fn main() -> Result<(), evictlab_reports::ReportError> {
//! let dir = std::path::Path::new("results/run-1");
//! let chart = LineChart::new(
//!     "Miss ratio vs cache size",
//!     Axis::new("cache size (fraction of working set)").log(),
//!     Axis::percent("miss ratio"),
//! )
//! .with_series(Series::line_markers("lru", vec![(0.01, 0.62), (0.1, 0.35)]))
//! .with_series(Series::dashed("belady", vec![(0.01, 0.48), (0.1, 0.22)]));
//! let rendered = chart.render(&dir.join("plots"), "miss_ratio")?;
//! let mut report = Report::new("Hit rates");
//! report.chart(&rendered, "");
//! report.write(dir)?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`error`]: [`ReportError`], the one error type (chart/file named in every variant).
//! - [`format`]: number formatting for ticks and tables (percent, bytes in KiB/MiB/GiB,
//!   `±`, percentage points, SI counts, durations).
//! - [`axis`]: [`Axis`] (label, linear/log [`Scale`], [`AxisFormat`], optional range) and the
//!   tick planning behind it (round binary sizes, round percentages, log decades).
//! - [`style`]: the 20-colour palette, marker shapes and [`SeriesStyle`].
//! - [`chart`]: the [`Chart`] trait (`render`, `to_png`, `to_svg`) and the chart kinds
//!   [`LineChart`], [`BarChart`], [`ScatterWithModel`]; the shared frame (title, legend
//!   outside the plot), clipping, dashes and markers live in its private submodules.
//! - [`markdown`]: [`Table`] (aligned, escaped) and [`Report`] (headings, paragraphs, lists,
//!   tables, numbered figures with SVG links; writes `report.md`).
//! - `font` (private): registers the embedded DejaVu Sans with plotters exactly once.

pub mod axis;
pub mod chart;
pub mod error;
mod font;
pub mod format;
pub mod markdown;
pub mod style;

pub use axis::{Axis, AxisFormat, Scale};
pub use chart::{
    BarChart, BarGroup, Chart, ChartSize, HLine, LineChart, ModelFit, PlotNote, RenderedChart,
    ScatterWithModel, Series, SkipReason, VLine, series_from_rows,
};
pub use error::{AxisName, ImageFormat, IoOp, ReportError};
pub use font::ensure_fonts;
pub use markdown::{Align, Report, Table};
pub use style::{MarkerShape, Rgb, SeriesStyle};
