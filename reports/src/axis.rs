//! Axes: scale, tick format, range, and the tick planning behind them.
//!
//! We choose tick positions ourselves rather than take plotters' defaults, so that byte axes
//! tick at round binary sizes (`256 MiB`, `1 GiB`, powers of two on log axes), percentage
//! axes at round percentages, and every label on a linear axis has the same number of
//! decimals. The positions are handed to plotters as fixed key points.

use crate::error::{AxisName, ReportError};
use crate::format;

/// Linear or logarithmic axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Evenly spaced values.
    #[default]
    Linear,
    /// Base-10 logarithmic (byte axes tick at powers of two). Values ≤ 0 cannot be drawn
    /// and are skipped with a note.
    Log,
}

/// How tick labels print the axis's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AxisFormat {
    /// Plain decimal numbers, equal decimals on a linear axis (`0.25`, `0.50`).
    #[default]
    Plain,
    /// Values are fractions shown as percentages (`0.953` → `95.3%`).
    Percent,
    /// Values are bytes shown in IEC units (`512 MiB`, `1.5 GiB`).
    Bytes,
    /// Counts with SI suffixes (`250k`, `1.5M`).
    Si,
    /// Values are seconds shown in ns/µs/ms/s.
    Seconds,
}

impl AxisFormat {
    /// A single value in this format with enough precision for a data label or a table
    /// cell: `Percent` → `95.3%`, `Bytes` → `1.50 GiB`, `Si` → `1.23M`, `Seconds` →
    /// `15.3 ms`, `Plain` → 3 decimals below 1, 2 below 10, 1 below 100, else none.
    pub fn value_label(self, v: f64) -> String {
        match self {
            AxisFormat::Plain => {
                let a = v.abs();
                let d = if a >= 100.0 {
                    0
                } else if a >= 10.0 {
                    1
                } else if a >= 1.0 {
                    2
                } else {
                    3
                };
                format::fixed(v, d)
            }
            AxisFormat::Percent => format::percent(v, 1),
            AxisFormat::Bytes => format::bytes(v),
            AxisFormat::Si => format::si(v, 2),
            AxisFormat::Seconds => format::seconds(v, 2),
        }
    }
}

/// One axis of a chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axis {
    /// The axis title, including its unit when the format does not show one
    /// (e.g. `"cache size (fraction of working set)"`).
    pub label: String,
    /// Linear or log.
    pub scale: Scale,
    /// Tick label format.
    pub format: AxisFormat,
    /// Fixed `(min, max)`; `None` fits the data with a small margin. Points outside a fixed
    /// range are clipped (lines stop at the frame; markers outside are not drawn and noted).
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// A linear axis with plain number labels and an automatic range.
    pub fn new(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            ..Axis::default()
        }
    }

    /// Switches to a log scale.
    #[must_use]
    pub fn log(mut self) -> Self {
        self.scale = Scale::Log;
        self
    }

    /// Sets the tick label format.
    #[must_use]
    pub fn format(mut self, format: AxisFormat) -> Self {
        self.format = format;
        self
    }

    /// Fixes the range.
    #[must_use]
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.range = Some((min, max));
        self
    }

    /// Shorthand: `Axis::new(label).format(AxisFormat::Bytes)`.
    pub fn bytes(label: impl Into<String>) -> Self {
        Axis::new(label).format(AxisFormat::Bytes)
    }

    /// Shorthand: `Axis::new(label).format(AxisFormat::Percent)`.
    pub fn percent(label: impl Into<String>) -> Self {
        Axis::new(label).format(AxisFormat::Percent)
    }

    pub(crate) fn is_log(&self) -> bool {
        self.scale == Scale::Log
    }

    /// Whether `v` can be placed on this axis at all (finite; positive on a log axis).
    pub(crate) fn accepts(&self, v: f64) -> bool {
        v.is_finite() && (!self.is_log() || v > 0.0)
    }
}

/// Where ticks go and how they are labelled, for one rendered axis.
#[derive(Debug, Clone)]
pub(crate) struct AxisPlan {
    pub min: f64,
    pub max: f64,
    pub log: bool,
    /// Labelled ticks with a grid line.
    pub ticks: Vec<f64>,
    /// Unlabelled light grid lines (log axes).
    pub minor: Vec<f64>,
    labeler: Labeler,
}

#[derive(Debug, Clone)]
enum Labeler {
    /// Linear axis: one unit and one number of decimals for every tick.
    Uniform {
        format: AxisFormat,
        unit_size: f64,
        unit_name: &'static str,
        decimals: usize,
    },
    /// Log axis: each tick in the unit that suits it.
    Each(AxisFormat),
    /// Category axis: tick `i + 0.5` is labelled `names[i]`.
    Categories(Vec<String>),
}

impl AxisPlan {
    /// The text of the tick at `v`.
    pub fn label(&self, v: f64) -> String {
        match &self.labeler {
            Labeler::Uniform {
                format,
                unit_size,
                unit_name,
                decimals,
            } => {
                // Zero needs no unit ("0", not "0 MiB"); plain numbers keep their decimals.
                if v == 0.0
                    && matches!(
                        format,
                        AxisFormat::Bytes | AxisFormat::Si | AxisFormat::Seconds
                    )
                {
                    return "0".to_string();
                }
                let n = format::fixed(v / unit_size, *decimals);
                match format {
                    AxisFormat::Plain => n,
                    AxisFormat::Percent => format!("{n}%"),
                    AxisFormat::Si => format!("{n}{unit_name}"),
                    AxisFormat::Bytes | AxisFormat::Seconds => format!("{n} {unit_name}"),
                }
            }
            Labeler::Each(fmt) => match fmt {
                AxisFormat::Plain => format::compact(v),
                AxisFormat::Percent => format!("{}%", format::compact(v * 100.0)),
                AxisFormat::Bytes => {
                    let u = format::byte_unit_index(v);
                    format!(
                        "{} {}",
                        format::trimmed(v / 1024f64.powi(u as i32), 2),
                        format::BYTE_UNITS[u]
                    )
                }
                AxisFormat::Si => format::si(v, 2),
                AxisFormat::Seconds => format::seconds(v, 2),
            },
            Labeler::Categories(names) => {
                let i = (v - 0.5).round();
                if i >= 0.0 && (i as usize) < names.len() {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            }
        }
    }

    /// Axis value → position in "axis space" (log10 on a log axis), where straight lines stay
    /// straight and clipping is linear.
    pub fn project(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }

    /// Inverse of [`AxisPlan::project`].
    pub fn unproject(&self, s: f64) -> f64 {
        if self.log { 10f64.powf(s) } else { s }
    }

    /// A category axis over `names`: range 0..n, ticks at slot centres.
    pub fn categories(names: &[String]) -> AxisPlan {
        let n = names.len().max(1) as f64;
        AxisPlan {
            min: 0.0,
            max: n,
            log: false,
            ticks: (0..names.len()).map(|i| i as f64 + 0.5).collect(),
            minor: Vec::new(),
            labeler: Labeler::Categories(names.to_vec()),
        }
    }
}

/// Extent of the accepted values, or `None` if there is none.
pub(crate) fn extent(axis: &Axis, values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values {
        if axis.accepts(v) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Validates a fixed range or pads the data extent (by `pad` of the span on each side, not
/// crossing zero when the data do not, and not past 100 % on a percent axis whose data stay
/// within it).
pub(crate) fn resolve_range(
    chart: &str,
    which: AxisName,
    axis: &Axis,
    data: (f64, f64),
    pad: f64,
) -> Result<(f64, f64), ReportError> {
    if let Some((min, max)) = axis.range {
        let bad = |accepted| ReportError::InvalidRange {
            chart: chart.to_string(),
            axis: which,
            min,
            max,
            accepted,
        };
        if !min.is_finite() || !max.is_finite() || min >= max {
            return Err(bad("finite min < max"));
        }
        if axis.is_log() && min <= 0.0 {
            return Err(bad("0 < min < max on a log axis"));
        }
        return Ok((min, max));
    }
    let (lo, hi) = data;
    if axis.is_log() {
        let (l, h) = (lo.log10(), hi.log10());
        if l == h {
            return Ok((lo / 2.0, hi * 2.0));
        }
        let p = (h - l) * pad;
        return Ok((10f64.powf(l - p), 10f64.powf(h + p)));
    }
    if lo == hi {
        let half = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        let (a, b) = (lo - half, hi + half);
        // A single value ≥ 0 still starts the axis at 0 when it is a count or a fraction.
        return Ok(if lo >= 0.0 && a < 0.0 {
            (0.0, b)
        } else {
            (a, b)
        });
    }
    let p = (hi - lo) * pad;
    if !p.is_finite() {
        // Data spanning most of f64's range: no room to pad.
        return Ok((lo, hi));
    }
    let mut a = lo - p;
    let mut b = hi + p;
    if lo >= 0.0 && a < 0.0 {
        a = 0.0;
    }
    if hi <= 0.0 && b > 0.0 {
        b = 0.0;
    }
    if axis.format == AxisFormat::Percent && hi <= 1.0 && b > 1.0 {
        b = 1.0;
    }
    Ok((a, b))
}

/// The smallest of {1, 2, 2.5, 5} × 10^k that is ≥ `raw`.
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Multiples of `step` in `[min, max]`, computed as integer multiples (no accumulated error).
fn multiples(min: f64, max: f64, step: f64) -> Vec<f64> {
    let first = (min / step - 1e-9).ceil();
    let last = (max / step + 1e-9).floor();
    // A range too wide for f64 arithmetic (span overflowing to infinity) gets no ticks
    // rather than an endless loop.
    if !(first.is_finite() && last.is_finite()) || last - first > 1000.0 {
        return Vec::new();
    }
    let (first, last) = (first as i64, last as i64);
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            if v == 0.0 { 0.0 } else { v }
        })
        .collect()
}

/// Plans ticks for `[min, max]` aiming at about `target` labelled ticks.
pub(crate) fn plan(axis: &Axis, min: f64, max: f64, target: usize) -> AxisPlan {
    let target = target.max(2);
    if axis.is_log()
        && let Some(p) = plan_log(axis.format, min, max, target)
    {
        return p;
    }
    let mut p = plan_linear(axis.format, min, max, target);
    p.log = axis.is_log();
    if p.log {
        // Too narrow for log ticks: linear-style ticks on a log axis, labelled each alone.
        p.ticks.retain(|&t| t > 0.0);
    }
    p
}

fn plan_linear(format: AxisFormat, min: f64, max: f64, target: usize) -> AxisPlan {
    let span = max - min;
    let biggest = min.abs().max(max.abs());
    let (unit_size, unit_name) = match format {
        AxisFormat::Plain | AxisFormat::Percent => (1.0, ""),
        AxisFormat::Bytes => {
            let u = format::byte_unit_index(biggest);
            (1024f64.powi(u as i32), format::BYTE_UNITS[u])
        }
        AxisFormat::Si => {
            let u = format::si_unit_index(biggest);
            (1000f64.powi(u as i32), format::SI_UNITS[u])
        }
        AxisFormat::Seconds => {
            let (name, size) = format::TIME_UNITS[format::time_unit_index(biggest)];
            (size, name)
        }
    };
    let step = nice_step(span / unit_size / target as f64) * unit_size;
    let ticks = multiples(min, max, step);
    let decimals = match format {
        AxisFormat::Percent => format::decimals_for_step(step * 100.0),
        _ => format::decimals_for_step(step / unit_size),
    };
    // Percent labels print v*100 with unit_size 1, so scale via a 0.01 unit.
    let unit_size = if format == AxisFormat::Percent {
        0.01
    } else {
        unit_size
    };
    AxisPlan {
        min,
        max,
        log: false,
        ticks,
        minor: Vec::new(),
        labeler: Labeler::Uniform {
            format,
            unit_size,
            unit_name,
            decimals,
        },
    }
}

fn plan_log(format: AxisFormat, min: f64, max: f64, target: usize) -> Option<AxisPlan> {
    let make = |ticks: Vec<f64>, minor: Vec<f64>| AxisPlan {
        min,
        max,
        log: true,
        ticks,
        minor,
        labeler: Labeler::Each(format),
    };
    if format == AxisFormat::Bytes {
        // Powers of two, strided so that unit boundaries (2^10k) stay on a tick.
        let lo = min.log2().ceil() as i64;
        let hi = max.log2().floor() as i64;
        let count = (hi - lo + 1).max(0) as usize;
        let stride = [1usize, 2, 5, 10, 20, 30, 40, 50, 60]
            .into_iter()
            .find(|&s| count.div_ceil(s) <= target)
            .unwrap_or_else(|| count.div_ceil(target).next_multiple_of(10))
            as i64;
        let ticks: Vec<f64> = (lo..=hi)
            .filter(|e| e.rem_euclid(stride) == 0)
            .map(|e| 2f64.powi(e as i32))
            .collect();
        if ticks.len() >= 2 {
            let minor = if count <= 200 {
                (lo..=hi)
                    .filter(|e| e.rem_euclid(stride) != 0)
                    .map(|e| 2f64.powi(e as i32))
                    .collect()
            } else {
                Vec::new()
            };
            return Some(make(ticks, minor));
        }
        return None;
    }
    let lo = min.log10().ceil() as i32;
    let hi = max.log10().floor() as i32;
    let decades: Vec<i32> = (lo..=hi).collect();
    if decades.len() >= 2 {
        let stride = decades.len().div_ceil(target) as i32;
        let ticks: Vec<f64> = decades
            .iter()
            .filter(|d| d.rem_euclid(stride) == 0)
            .map(|&d| 10f64.powi(d))
            .collect();
        if ticks.len() >= 2 {
            let minor = if stride == 1 {
                let mut m = Vec::new();
                for d in (lo - 1)..=hi {
                    for k in 2..=9 {
                        let v = k as f64 * 10f64.powi(d);
                        if v > min && v < max {
                            m.push(v);
                        }
                    }
                }
                m
            } else {
                decades
                    .iter()
                    .filter(|d| d.rem_euclid(stride) != 0)
                    .map(|&d| 10f64.powi(d))
                    .collect()
            };
            return Some(make(ticks, minor));
        }
    }
    // Within about a decade: 1-2-5, then 1..9 times powers of ten.
    for mantissas in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        let mut ticks = Vec::new();
        for d in (lo - 1)..=(hi + 1) {
            for &m in mantissas {
                let v = m * 10f64.powi(d);
                if v >= min * (1.0 - 1e-12) && v <= max * (1.0 + 1e-12) {
                    ticks.push(v);
                }
            }
        }
        if ticks.len() >= 2 && ticks.len() <= target + 2 {
            return Some(make(ticks, Vec::new()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(p: &AxisPlan) -> Vec<String> {
        p.ticks.iter().map(|&t| p.label(t)).collect()
    }

    #[test]
    fn value_labels() {
        assert_eq!(AxisFormat::Plain.value_label(0.95345), "0.953");
        assert_eq!(AxisFormat::Plain.value_label(12.345), "12.3");
        assert_eq!(AxisFormat::Plain.value_label(1234.6), "1235");
        assert_eq!(AxisFormat::Percent.value_label(0.95345), "95.3%");
        assert_eq!(AxisFormat::Bytes.value_label(1536.0), "1.50 KiB");
        assert_eq!(AxisFormat::Si.value_label(1_234_567.0), "1.23M");
        assert_eq!(AxisFormat::Seconds.value_label(0.0153), "15.3 ms");
        assert_eq!(AxisFormat::Plain.value_label(f64::NAN), "n/a");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.13), 0.2);
        assert_eq!(nice_step(0.2), 0.2);
        assert_eq!(nice_step(0.21), 0.25);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(1.0), 1.0);
    }

    #[test]
    fn linear_plain_ticks_have_equal_decimals() {
        let p = plan(&Axis::new("x"), 0.0, 1.0, 5);
        assert_eq!(labels(&p), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let p = plan(&Axis::new("x"), -3.0, 7.0, 5);
        assert_eq!(labels(&p), ["-2", "0", "2", "4", "6"]);
    }

    #[test]
    fn percent_ticks() {
        let p = plan(&Axis::percent("hit"), 0.0, 1.0, 5);
        assert_eq!(labels(&p), ["0%", "20%", "40%", "60%", "80%", "100%"]);
        let p = plan(&Axis::percent("hit"), 0.9, 0.95, 5);
        assert_eq!(labels(&p), ["90%", "91%", "92%", "93%", "94%", "95%"]);
        let p = plan(&Axis::percent("hit"), 0.9, 0.92, 5);
        assert_eq!(labels(&p), ["90.0%", "90.5%", "91.0%", "91.5%", "92.0%"]);
    }

    #[test]
    fn byte_ticks_linear_use_one_unit() {
        let gib = 1024f64.powi(3);
        let p = plan(&Axis::bytes("rss"), 0.0, 5.0 * gib, 6);
        assert_eq!(
            labels(&p),
            ["0", "1 GiB", "2 GiB", "3 GiB", "4 GiB", "5 GiB"]
        );
        let mib = 1024f64.powi(2);
        let p = plan(&Axis::bytes("rss"), 0.0, 300.0 * mib, 6);
        assert_eq!(
            labels(&p),
            [
                "0", "50 MiB", "100 MiB", "150 MiB", "200 MiB", "250 MiB", "300 MiB"
            ]
        );
    }

    #[test]
    fn byte_ticks_log_are_powers_of_two_keeping_unit_boundaries() {
        let p = plan(&Axis::bytes("size").log(), 1024.0, 1024f64.powi(3), 8);
        // 21 powers of two: stride 5 keeps 2^10, 2^20, 2^30 on ticks.
        assert_eq!(labels(&p), ["1 KiB", "32 KiB", "1 MiB", "32 MiB", "1 GiB"]);
        assert!(p.minor.contains(&2048.0));
    }

    #[test]
    fn log_decades_and_narrow_ranges() {
        let p = plan(&Axis::new("x").log(), 1e-4, 1.0, 8);
        assert_eq!(labels(&p), ["1e-4", "0.001", "0.01", "0.1", "1"]);
        assert!(p.minor.contains(&0.02));
        let p = plan(&Axis::new("x").log(), 1.0, 1e12, 5);
        assert_eq!(
            p.ticks.len(),
            5,
            "stride 3 over 13 decades: {:?}",
            labels(&p)
        );
        let p = plan(&Axis::new("x").log(), 1.5, 9.0, 8);
        assert_eq!(labels(&p), ["2", "5"]);
        let p = plan(&Axis::new("x").log(), 3.0, 4.5, 8);
        assert!(
            p.ticks.len() >= 2,
            "narrow log axis still has ticks: {:?}",
            labels(&p)
        );
    }

    #[test]
    fn extreme_ranges_do_not_hang() {
        let p = plan(&Axis::new("x"), -1.7e308, 1.7e308, 5);
        assert!(p.ticks.len() <= 1001);
        let p = plan(&Axis::bytes("b").log(), 1e-300, 1e300, 5);
        assert!(p.ticks.len() <= 6, "{}", p.ticks.len());
        let a = Axis::new("y");
        let (lo, hi) = resolve_range("c", AxisName::Y, &a, (-1.7e308, 1.7e308), 0.05).unwrap();
        assert!(lo.is_finite() && hi.is_finite());
    }

    #[test]
    fn si_and_seconds() {
        let p = plan(&Axis::new("n").format(AxisFormat::Si), 0.0, 2_000_000.0, 4);
        assert_eq!(labels(&p), ["0", "0.5M", "1.0M", "1.5M", "2.0M"]);
        let p = plan(&Axis::new("t").format(AxisFormat::Seconds), 0.0, 0.05, 5);
        assert_eq!(
            labels(&p),
            ["0", "10 ms", "20 ms", "30 ms", "40 ms", "50 ms"]
        );
    }

    #[test]
    fn ranges_pad_and_respect_zero_and_percent() {
        let a = Axis::new("x");
        assert_eq!(
            resolve_range("c", AxisName::X, &a, (0.0, 10.0), 0.05).unwrap(),
            (0.0, 10.5)
        );
        let (lo, hi) = resolve_range("c", AxisName::X, &a, (-10.0, -2.0), 0.05).unwrap();
        assert!((lo + 10.4).abs() < 1e-12 && (hi + 1.6).abs() < 1e-12);
        let (_, hi) = resolve_range("c", AxisName::X, &a, (-10.0, -0.1), 0.05).unwrap();
        assert_eq!(hi, 0.0, "padding does not cross zero");
        let p = Axis::percent("h");
        assert_eq!(
            resolve_range("c", AxisName::Y, &p, (0.2, 0.99), 0.05)
                .unwrap()
                .1,
            1.0
        );
        assert_eq!(
            resolve_range("c", AxisName::Y, &a, (5.0, 5.0), 0.05).unwrap(),
            (4.5, 5.5)
        );
        assert_eq!(
            resolve_range("c", AxisName::Y, &a, (0.0, 0.0), 0.05).unwrap(),
            (0.0, 1.0)
        );
        let l = Axis::new("x").log();
        assert_eq!(
            resolve_range("c", AxisName::X, &l, (8.0, 8.0), 0.05).unwrap(),
            (4.0, 16.0)
        );
    }

    #[test]
    fn bad_fixed_ranges_are_errors_naming_the_axis() {
        let a = Axis::new("x").range(1.0, 1.0);
        let e = resolve_range("chart", AxisName::X, &a, (0.0, 1.0), 0.0).unwrap_err();
        assert!(e.to_string().contains("x axis range 1..1"), "{e}");
        let l = Axis::new("y").log().range(0.0, 10.0);
        let e = resolve_range("chart", AxisName::Y, &l, (1.0, 2.0), 0.0).unwrap_err();
        assert!(e.to_string().contains("0 < min < max on a log axis"), "{e}");
        let n = Axis::new("y").range(f64::NAN, 1.0);
        assert!(resolve_range("chart", AxisName::Y, &n, (1.0, 2.0), 0.0).is_err());
    }

    #[test]
    fn categories_label_slot_centres() {
        let p = AxisPlan::categories(&["a".into(), "b".into()]);
        assert_eq!(p.ticks, [0.5, 1.5]);
        assert_eq!(labels(&p), ["a", "b"]);
        assert_eq!(p.label(7.5), "");
    }
}
