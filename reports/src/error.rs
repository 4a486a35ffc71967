//! The crate's one error type. Every variant names the chart, table or file involved and
//! what was wrong with it.

use std::path::PathBuf;

/// Which output format a drawing step was producing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// The raster image (RGB, 8 bits per channel).
    Png,
    /// The vector image.
    Svg,
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImageFormat::Png => "PNG",
            ImageFormat::Svg => "SVG",
        })
    }
}

/// What a file-system call was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoOp {
    /// Creating the output directory.
    CreateDir,
    /// Writing a temporary file next to the destination.
    Write,
    /// Renaming the temporary file over the destination.
    Rename,
}

impl std::fmt::Display for IoOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IoOp::CreateDir => "creating directory",
            IoOp::Write => "writing",
            IoOp::Rename => "renaming into place",
        })
    }
}

/// Which axis a range error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisName {
    /// The horizontal axis.
    X,
    /// The vertical axis.
    Y,
}

impl std::fmt::Display for AxisName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AxisName::X => "x",
            AxisName::Y => "y",
        })
    }
}

/// Everything that can go wrong while rendering charts or writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The embedded DejaVu Sans font could not be registered with plotters.
    #[error(
        "registering the embedded DejaVu Sans {style} font with plotters failed (the font bytes did not parse)"
    )]
    Font {
        /// `regular` or `bold`.
        style: &'static str,
    },

    /// The chart has no point, bar or value that can be drawn.
    #[error("chart {chart:?}: nothing to plot ({reason})")]
    NoData {
        /// The chart's title.
        chart: String,
        /// Why nothing is drawable, e.g. "every series is empty or non-finite".
        reason: &'static str,
    },

    /// An explicit axis range is unusable.
    #[error("chart {chart:?}: {axis} axis range {min}..{max} is invalid; accepted: {accepted}")]
    InvalidRange {
        /// The chart's title.
        chart: String,
        /// Which axis.
        axis: AxisName,
        /// The given lower bound.
        min: f64,
        /// The given upper bound.
        max: f64,
        /// What a valid range looks like.
        accepted: &'static str,
    },

    /// A setting is not supported by this chart kind (e.g. a log value axis on a bar chart).
    #[error("chart {chart:?}: {setting} is not supported; accepted: {accepted}")]
    Unsupported {
        /// The chart's title.
        chart: String,
        /// The setting that was given.
        setting: &'static str,
        /// What is accepted instead.
        accepted: &'static str,
    },

    /// A bar group has a different number of values (or errors) than there are categories.
    #[error(
        "chart {chart:?}: group {group:?} has {got} {what} but the chart has {expected} categories"
    )]
    LengthMismatch {
        /// The chart's title.
        chart: String,
        /// The bar group's name.
        group: String,
        /// `values` or `errors`.
        what: &'static str,
        /// Number of categories.
        expected: usize,
        /// Number given.
        got: usize,
    },

    /// The image size is outside what we render.
    #[error(
        "chart {chart:?}: size {width}x{height} is invalid; accepted: width and height in {min}..={max} pixels"
    )]
    InvalidSize {
        /// The chart's title.
        chart: String,
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// Smallest accepted side.
        min: u32,
        /// Largest accepted side.
        max: u32,
    },

    /// The file stem would not make a safe, portable file name or markdown link.
    #[error(
        "output file stem {stem:?} is invalid; accepted: 1-128 characters from A-Z a-z 0-9 . _ -, not starting with '.'"
    )]
    InvalidStem {
        /// The stem given.
        stem: String,
    },

    /// plotters reported an error while drawing (text layout or backend).
    #[error("chart {chart:?}: drawing the {format} failed: {detail}")]
    Draw {
        /// The chart's title.
        chart: String,
        /// Which output was being drawn.
        format: ImageFormat,
        /// plotters' own description of the failure.
        detail: String,
    },

    /// PNG encoding failed.
    #[error("chart {chart:?}: encoding the PNG failed: {source}")]
    PngEncode {
        /// The chart's title.
        chart: String,
        /// The encoder's error.
        #[source]
        source: png::EncodingError,
    },

    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: IoOp,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A markdown table row has the wrong number of cells.
    #[error("table with columns [{columns}]: row {row} has {got} cells, expected {expected}")]
    RowWidth {
        /// The table's column titles, comma-separated (to find the table).
        columns: String,
        /// 0-based index of the offending row.
        row: usize,
        /// Number of columns.
        expected: usize,
        /// Number of cells given.
        got: usize,
    },
}
