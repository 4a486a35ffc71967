//! Number formatting shared by axis ticks and markdown tables.
//!
//! Every function is pure and deterministic: the same `f64` always gives the same string
//! (Rust's float formatting is exact and locale-free). Non-finite input prints as `n/a`
//! rather than `NaN`/`inf`, so a table never shows a bare IEEE special value; `-0` prints
//! as `0`.
//!
//! Byte sizes use IEC binary units (KiB = 1024 B), the units Redis's `INFO memory` uses in
//! its `*_human` fields (`used_memory_human:1.00M` means 1024² bytes; Redis abbreviates
//! them K/M/G, we spell them out so nobody mistakes them for SI).

/// IEC binary units: 1 KiB = 1024 B.
pub const BYTE_UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/// SI suffixes for counts: 1k = 1000.
pub const SI_UNITS: [&str; 6] = ["", "k", "M", "G", "T", "P"];

/// What non-finite values print as.
pub const NOT_AVAILABLE: &str = "n/a";

/// Formats with exactly `decimals` digits after the point; `-0.00` becomes `0.00`.
pub fn fixed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let s = format!("{x:.decimals$}");
    strip_negative_zero(s)
}

/// Like [`fixed`] but drops trailing zeros and a trailing point (`2.50` → `2.5`, `3.00` → `3`).
pub fn trimmed(x: f64, max_decimals: usize) -> String {
    let s = fixed(x, max_decimals);
    if s == NOT_AVAILABLE || !s.contains('.') {
        return s;
    }
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    strip_negative_zero(s)
}

fn strip_negative_zero(s: String) -> String {
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// A fraction as a percentage: `percent(0.9534, 1)` → `95.3%`.
pub fn percent(fraction: f64, decimals: usize) -> String {
    if !fraction.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    format!("{}%", fixed(fraction * 100.0, decimals))
}

/// A difference of two fractions in percentage points, always signed:
/// `points(0.912 - 0.887, 1)` → `+2.5 pp`.
pub fn points(delta_fraction: f64, decimals: usize) -> String {
    if !delta_fraction.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let s = fixed(delta_fraction * 100.0, decimals);
    if s.starts_with('-') || s.chars().all(|c| c == '0' || c == '.') {
        format!("{s} pp")
    } else {
        format!("+{s} pp")
    }
}

/// A value with its uncertainty: `plus_minus(0.9534, 0.0042, 3)` → `0.953 ± 0.004`.
pub fn plus_minus(value: f64, uncertainty: f64, decimals: usize) -> String {
    format!(
        "{} ± {}",
        fixed(value, decimals),
        fixed(uncertainty.abs(), decimals)
    )
}

/// A fraction and its uncertainty as percentages: `percent_plus_minus(0.9534, 0.0042, 1)`
/// → `95.3 ± 0.4%`.
pub fn percent_plus_minus(fraction: f64, uncertainty: f64, decimals: usize) -> String {
    if !fraction.is_finite() || !uncertainty.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    format!(
        "{} ± {}%",
        fixed(fraction * 100.0, decimals),
        fixed(uncertainty.abs() * 100.0, decimals)
    )
}

/// Index of the IEC unit for `bytes` (0 = B, 1 = KiB, …), by magnitude.
pub fn byte_unit_index(bytes: f64) -> usize {
    let mut a = bytes.abs();
    let mut u = 0;
    while a >= 1024.0 && u + 1 < BYTE_UNITS.len() {
        a /= 1024.0;
        u += 1;
    }
    u
}

/// Human-readable bytes with three significant digits: `512 B`, `1.50 KiB`, `15.3 MiB`,
/// `512 GiB`. Whole bytes below 1 KiB print without decimals.
pub fn bytes(bytes: f64) -> String {
    if !bytes.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let u = byte_unit_index(bytes);
    if u == 0 {
        return format!("{} B", trimmed(bytes, 2));
    }
    let v = bytes / 1024f64.powi(u as i32);
    // Rounding can carry 1023.96 KiB up to "1024 KiB"; move to the next unit then.
    let (v, u) = if v.abs() >= 1023.5 && u + 1 < BYTE_UNITS.len() {
        (v / 1024.0, u + 1)
    } else {
        (v, u)
    };
    let decimals = if v.abs() < 10.0 {
        2
    } else if v.abs() < 100.0 {
        1
    } else {
        0
    };
    format!("{} {}", fixed(v, decimals), BYTE_UNITS[u])
}

/// [`bytes`] for an integer count.
pub fn bytes_u64(n: u64) -> String {
    bytes(n as f64)
}

/// An integer with thousands separators: `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Index of the SI suffix for `x` (0 = none, 1 = k, …), by magnitude.
pub fn si_unit_index(x: f64) -> usize {
    let mut a = x.abs();
    let mut u = 0;
    while a >= 1000.0 && u + 1 < SI_UNITS.len() {
        a /= 1000.0;
        u += 1;
    }
    u
}

/// A count with an SI suffix and up to `max_decimals` decimals: `si(2_500_000.0, 1)` → `2.5M`.
pub fn si(x: f64, max_decimals: usize) -> String {
    if !x.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let u = si_unit_index(x);
    format!(
        "{}{}",
        trimmed(x / 1000f64.powi(u as i32), max_decimals),
        SI_UNITS[u]
    )
}

/// Duration units used by [`seconds`], smallest first, with their size in seconds.
pub const TIME_UNITS: [(&str, f64); 4] = [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)];

/// Index into [`TIME_UNITS`] that suits `secs` (largest unit not above it; seconds at most).
pub fn time_unit_index(secs: f64) -> usize {
    let a = secs.abs();
    if a == 0.0 {
        return TIME_UNITS.len() - 1;
    }
    (0..TIME_UNITS.len())
        .rev()
        .find(|&i| a >= TIME_UNITS[i].1)
        .unwrap_or(0)
}

/// A duration given in seconds, in the unit that suits it: `seconds(0.0153, 1)` → `15.3 ms`.
pub fn seconds(secs: f64, max_decimals: usize) -> String {
    if !secs.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let (name, size) = TIME_UNITS[time_unit_index(secs)];
    format!("{} {name}", trimmed(secs / size, max_decimals))
}

/// A short, trimmed rendering of any magnitude for log-axis ticks and labels:
/// `0.001`, `0.25`, `3`, `12000`, and exponent form (`1e-5`, `1e7`) outside 1e-3..1e6.
pub fn compact(x: f64) -> String {
    if !x.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        let e = a.log10().floor() as i32;
        let m = x / 10f64.powi(e);
        // Exponent form keeps two significant decimals at most: 2.5e7, 1e-5.
        let m = trimmed(m, 2);
        if m == "1" {
            return format!("1e{e}");
        }
        if m == "-1" {
            return format!("-1e{e}");
        }
        return format!("{m}e{e}");
    }
    trimmed(x, 4)
}

/// The fewest decimals (0..=6) that print `step` (and therefore every multiple of it) exactly.
pub fn decimals_for_step(step: f64) -> usize {
    if !step.is_finite() || step == 0.0 {
        return 0;
    }
    for d in 0..=6usize {
        let scaled = step.abs() * 10f64.powi(d as i32);
        if (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0) {
            return d;
        }
    }
    6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_trimmed() {
        assert_eq!(fixed(1.0 / 3.0, 3), "0.333");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(f64::NAN, 2), "n/a");
        assert_eq!(fixed(f64::INFINITY, 2), "n/a");
        assert_eq!(trimmed(2.50, 3), "2.5");
        assert_eq!(trimmed(3.0, 3), "3");
        assert_eq!(trimmed(-0.0004, 3), "0");
        assert_eq!(trimmed(1200.0, 2), "1200");
    }

    #[test]
    fn percentages_points_and_uncertainty() {
        assert_eq!(percent(0.95345, 1), "95.3%");
        assert_eq!(percent(1.0, 0), "100%");
        assert_eq!(points(0.912 - 0.887, 1), "+2.5 pp");
        assert_eq!(points(-0.031, 1), "-3.1 pp");
        assert_eq!(points(0.0, 1), "0.0 pp");
        assert_eq!(plus_minus(0.9534, 0.0042, 3), "0.953 ± 0.004");
        assert_eq!(plus_minus(5.0, -0.25, 2), "5.00 ± 0.25");
        assert_eq!(percent_plus_minus(0.9534, 0.0042, 1), "95.3 ± 0.4%");
        assert_eq!(percent_plus_minus(f64::NAN, 0.1, 1), "n/a");
    }

    #[test]
    fn bytes_human_readable() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1023.0), "1023 B");
        assert_eq!(bytes(1024.0), "1.00 KiB");
        assert_eq!(bytes(1536.0), "1.50 KiB");
        assert_eq!(bytes(15.3 * 1024.0 * 1024.0), "15.3 MiB");
        assert_eq!(bytes(512.0 * 1024f64.powi(3)), "512 GiB");
        // 1023.9 KiB would round to "1024 KiB": it must carry to MiB.
        assert_eq!(bytes(1023.9 * 1024.0), "1.00 MiB");
        assert_eq!(bytes(-2048.0), "-2.00 KiB");
        assert_eq!(bytes_u64(5 * 1024 * 1024 * 1024), "5.00 GiB");
    }

    #[test]
    fn counts_si_seconds() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(si(2_500_000.0, 1), "2.5M");
        assert_eq!(si(999.0, 1), "999");
        assert_eq!(si(1000.0, 1), "1k");
        assert_eq!(seconds(0.0153, 1), "15.3 ms");
        assert_eq!(seconds(2.0, 1), "2 s");
        assert_eq!(seconds(120.0, 1), "120 s");
        assert_eq!(seconds(0.000_000_5, 1), "500 ns");
        assert_eq!(seconds(0.0, 1), "0 s");
    }

    #[test]
    fn compact_forms() {
        assert_eq!(compact(0.001), "0.001");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(12000.0), "12000");
        assert_eq!(compact(1e-5), "1e-5");
        assert_eq!(compact(2.5e7), "2.5e7");
        assert_eq!(compact(1e7), "1e7");
        assert_eq!(compact(0.0), "0");
    }

    #[test]
    fn step_decimals() {
        assert_eq!(decimals_for_step(1.0), 0);
        assert_eq!(decimals_for_step(50.0), 0);
        assert_eq!(decimals_for_step(0.1), 1);
        assert_eq!(decimals_for_step(0.25), 2);
        assert_eq!(decimals_for_step(0.025), 3);
        assert_eq!(decimals_for_step(0.1 + 0.2), 1);
    }
}
