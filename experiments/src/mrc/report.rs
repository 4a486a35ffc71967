//! The miss-ratio-curve section of a report, from `mrc.csv` rows alone (so
//! `experiment report DIR` re-renders it): per workload and capacity unit, the exact LRU
//! curve against the SHARDS curves, and a table with each SHARDS curve's mean absolute error
//! against exact, its sample and its speed.

use std::collections::BTreeMap;
use std::path::Path;

use evictlab_reports::{Align, Axis, Chart, LineChart, Report, Series, Table, format};

use crate::RunError;
use crate::mrc::MrcRow;

fn rerr(e: evictlab_reports::ReportError) -> RunError {
    RunError::Report {
        message: e.to_string(),
    }
}

/// One curve of the rows: (method, rate) in a workload and unit.
struct Curve<'a> {
    label: String,
    method: &'a str,
    rows: Vec<&'a MrcRow>,
}

/// Adds the section for every (workload, unit) in `rows`, rendering plots into `plots`.
pub fn add_section(report: &mut Report, rows: &[MrcRow], plots: &Path) -> Result<(), RunError> {
    if rows.is_empty() {
        return Ok(());
    }
    report.heading(2, "Miss-ratio curves: exact LRU and SHARDS");
    report.paragraph(
        "The exact curve is LRU's miss ratio (GET misses / GETs, demand fill) at every size, \
         from one pass computing each request's stack distance with a Fenwick tree \
         (Mattson et al. 1970; Bennett & Kruskal 1975). SHARDS (Waldspurger et al., FAST '15) \
         runs the same pass on the requests of a hash-sampled subset of the keys and scales \
         distances by 1/R: `shards-rate` samples a fixed rate R, `shards-size` tracks at \
         most s_max keys and lowers R as needed; both apply the SHARDS_adj correction \
         unless run with `--no-adjust`. \
         MAE is the mean over the grid of |SHARDS − exact|.",
    );
    let mut groups: BTreeMap<(&str, &str), Vec<&MrcRow>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((&r.workload, &r.capacity_unit))
            .or_default()
            .push(r);
    }
    for (i, ((workload, unit), rows)) in groups.into_iter().enumerate() {
        group_section(report, workload, unit, &rows, plots, i)?;
    }
    Ok(())
}

fn curves<'a>(rows: &[&'a MrcRow]) -> Vec<Curve<'a>> {
    let mut out: Vec<Curve<'a>> = Vec::new();
    for &r in rows {
        let label = match r.method.as_str() {
            "exact" => "exact".to_string(),
            "shards-size" => format!("shards-size (final R = {})", format::trimmed(r.rate, 5)),
            m => format!("{m} (R = {})", format::trimmed(r.rate, 5)),
        };
        match out.iter_mut().find(|c| c.label == label) {
            Some(c) => c.rows.push(r),
            None => out.push(Curve {
                label,
                method: &r.method,
                rows: vec![r],
            }),
        }
    }
    for c in &mut out {
        c.rows.sort_by_key(|r| r.capacity);
    }
    out
}

/// Mean and max |a − b| over the capacities both curves have.
fn errors(a: &Curve, b: &Curve) -> Option<(f64, f64)> {
    let (mut sum, mut max, mut n) = (0.0f64, 0.0f64, 0u64);
    for r in &a.rows {
        if let Ok(j) = b.rows.binary_search_by_key(&r.capacity, |x| x.capacity) {
            let d = (r.miss_ratio - b.rows[j].miss_ratio).abs();
            sum += d;
            max = max.max(d);
            n += 1;
        }
    }
    (n > 0).then(|| (sum / n as f64, max))
}

fn group_section(
    report: &mut Report,
    workload: &str,
    unit: &str,
    rows: &[&MrcRow],
    plots: &Path,
    index: usize,
) -> Result<(), RunError> {
    report.heading(3, format!("Workload `{workload}`, capacity in {unit}"));
    let curves = curves(rows);
    let mut chart = LineChart::new(
        format!("LRU miss-ratio curve — {workload}"),
        Axis::new(format!("cache size (fraction of working set, {unit})")),
        Axis::percent("miss ratio"),
    );
    for c in &curves {
        let pts: Vec<(f64, f64)> = c
            .rows
            .iter()
            .map(|r| (r.capacity_fraction, r.miss_ratio))
            .collect();
        chart = chart.with_series(if c.method == "exact" {
            Series::line(c.label.clone(), pts)
        } else {
            Series::dashed(c.label.clone(), pts)
        });
    }
    let rendered = chart
        .render(plots, &format!("mrc_{index}_{unit}"))
        .map_err(rerr)?;
    report.chart(&rendered, "");

    let exact = curves.iter().find(|c| c.method == "exact");
    let exact_speed = exact.map(|c| c.rows[0].requests_per_sec);
    let mut t = Table::new([
        ("method", Align::Left),
        ("sampled GETs", Align::Right),
        ("MAE vs exact", Align::Right),
        ("max error", Align::Right),
        ("requests/s", Align::Right),
        ("speed-up", Align::Right),
    ]);
    let mut sentences = Vec::new();
    for c in &curves {
        let r0 = c.rows[0];
        let err = exact
            .filter(|e| e.label != c.label)
            .and_then(|e| errors(c, e));
        let speedup = exact_speed
            .filter(|&s| s > 0.0)
            .map(|s| r0.requests_per_sec / s);
        t.push_row([
            c.label.clone(),
            format!(
                "{} of {}",
                format::count(r0.sampled_requests),
                format::count(r0.gets)
            ),
            err.map_or("–".into(), |(m, _)| format::fixed(m, 5)),
            err.map_or("–".into(), |(_, x)| format::fixed(x, 5)),
            format::si(r0.requests_per_sec, 1),
            speedup.map_or("–".into(), |s| format!("{}×", format::trimmed(s, 1))),
        ])
        .map_err(rerr)?;
        if let Some((mae, max)) = err {
            let mut s = format!(
                "**{}** follows the exact curve with a mean absolute error of {} (at most {}) \
                 while processing {} of the GETs",
                c.label,
                format::fixed(mae, 4),
                format::fixed(max, 4),
                format::percent(r0.sampled_requests as f64 / r0.gets.max(1) as f64, 2),
            );
            if let Some(sp) = speedup {
                s.push_str(&format!(
                    ", {}× the exact pass's speed",
                    format::trimmed(sp, 1)
                ));
            }
            s.push('.');
            sentences.push(s);
        }
    }
    report.table(&t);
    if let Some(e) = exact {
        let at = |f: f64| {
            e.rows
                .iter()
                .min_by(|a, b| {
                    (a.capacity_fraction - f)
                        .abs()
                        .total_cmp(&(b.capacity_fraction - f).abs())
                })
                .map(|r| (r.capacity_fraction, r.miss_ratio))
        };
        if let (Some((f1, m1)), Some((f2, m2))) = (at(0.1), at(0.5)) {
            sentences.insert(
                0,
                format!(
                    "Exact LRU misses {} of GETs at {} of the working set and {} at {}.",
                    format::percent(m1, 2),
                    format::percent(f1, 1),
                    format::percent(m2, 2),
                    format::percent(f2, 1),
                ),
            );
        }
    }
    report.bullets(sentences);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, rate: f64, cap: u64, miss: f64, rps: f64) -> MrcRow {
        MrcRow {
            capacity: cap,
            miss_ratio: miss,
            method: method.into(),
            rate,
            workload: "w".into(),
            capacity_unit: "keys".into(),
            capacity_fraction: cap as f64 / 100.0,
            requests: 1000,
            gets: 1000,
            sampled_requests: if method == "exact" { 1000 } else { 10 },
            seconds: 1.0,
            requests_per_sec: rps,
        }
    }

    #[test]
    fn table_states_mae_and_speedup_from_rows() {
        let rows = vec![
            row("exact", 1.0, 10, 0.8, 1e6),
            row("exact", 1.0, 50, 0.4, 1e6),
            row("shards-rate", 0.01, 10, 0.82, 2e7),
            row("shards-rate", 0.01, 50, 0.37, 2e7),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut r = Report::new("t");
        add_section(&mut r, &rows, dir.path()).unwrap();
        let md = r.to_markdown(dir.path());
        assert!(
            md.contains("mean absolute error of 0.0250 (at most 0.0300)"),
            "{md}"
        );
        assert!(md.contains("20× the exact pass's speed"), "{md}");
        assert!(dir.path().join("mrc_0_keys.png").exists());
    }
}
