//! The snapshot / copy-on-write section of a report, computed from `cow.csv` and
//! `cow_timeseries.csv` alone (so `experiment report DIR` re-renders it): COW over time per
//! write rate (the child's `Private_Dirty` samples), COW against write rate with the
//! prediction and the page-level ground truth, fork latency per GiB with THP off and on, and
//! fork vs forkless peak extra memory, with sentences that quote the numbers and the log
//! line Redis would print (`Fork CoW for RDB: current X MB, peak Y MB, average Z MB`, redis
//! `src/childinfo.c`). Rows with `snapshot = redis-bgsave` (a real Redis server's BGSAVE,
//! written by `experiment server --bgsave`) are drawn next to the lab's own forks.

use std::collections::BTreeMap;
use std::path::Path;

use evictlab_reports::{Align, Axis, BarChart, Chart, LineChart, Report, Series, Table, format};

use crate::RunError;
use crate::cow::{CowPoint, CowRow};

/// (snapshot, thp, write rate, repeat) of a time series.
type SeriesKey = (String, String, u64, u32);

fn rerr(e: evictlab_reports::ReportError) -> RunError {
    RunError::Report {
        message: e.to_string(),
    }
}

/// A forked snapshot (the lab's own fork, or a real Redis BGSAVE).
fn is_fork(r: &CowRow) -> bool {
    r.snapshot == "fork" || r.snapshot == "redis-bgsave"
}

fn ok(r: &CowRow) -> bool {
    r.status == "ok" || r.status.is_empty()
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Median (forks are noisy on a VM: one slow fork should not move the summary).
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

fn mib(b: u64) -> u64 {
    b >> 20
}

/// Redis's log line for a fork row (`Fork CoW for RDB: …`, MB = bytes >> 20, redis
/// `src/childinfo.c` `sendChildCowInfo`). The lab's values have the child's baseline
/// subtracted; Redis reports the raw `Private_Dirty`.
pub fn redis_log_line(r: &CowRow) -> String {
    format!(
        "Fork CoW for RDB: current {} MB, peak {} MB, average {} MB",
        mib(r.cow_final_bytes),
        mib(r.cow_peak_bytes),
        mib(r.cow_average_bytes)
    )
}

/// Ground truth in bytes: the pages the parent dirtied since the fork × page size.
pub fn ground_truth_bytes(r: &CowRow) -> u64 {
    r.dirtied_pages * r.page_size.max(1)
}

fn dataset_label(bytes: u64) -> String {
    format::bytes_u64(bytes)
}

/// Adds the section; `points` may be empty (no time-series file).
pub fn add_section(
    report: &mut Report,
    rows: &[CowRow],
    points: &[CowPoint],
    plots: &Path,
) -> Result<(), RunError> {
    if rows.is_empty() {
        return Ok(());
    }
    report.heading(2, "Snapshots and copy-on-write");
    report.paragraph(
        "Each row is one snapshot of a materialized dataset taken in a fresh worker process \
         while the workload writes at the given rate. `fork` is a real BGSAVE: the child \
         reads its own `Private_Dirty` (as Redis's `zmalloc_get_private_dirty`) with Redis's \
         duty cycle and reports it through a pipe; the lab subtracts the child's baseline \
         right after the fork. `forkless` serializes before mutating (as Dragonfly does) and \
         costs buffered bytes instead of copied pages. `redis-bgsave` rows, when present, are \
         a real Redis server's BGSAVE (INFO `latest_fork_usec`, `current_cow_peak`).",
    );
    let mut datasets: Vec<u64> = rows.iter().map(|r| r.dataset_bytes).collect();
    datasets.sort_unstable();
    datasets.dedup();
    for (i, &ds) in datasets.iter().enumerate() {
        let rs: Vec<&CowRow> = rows
            .iter()
            .filter(|r| r.dataset_bytes == ds && ok(r))
            .collect();
        if rs.is_empty() {
            continue;
        }
        let ps: Vec<&CowPoint> = points.iter().filter(|p| p.dataset_bytes == ds).collect();
        dataset_section(report, ds, &rs, &ps, plots, i, datasets.len() > 1)?;
    }
    fork_latency(report, rows, plots)?;
    forkless(report, rows, plots)?;
    let failed: Vec<&CowRow> = rows.iter().filter(|r| !ok(r)).collect();
    if !failed.is_empty() {
        report.paragraph(format!(
            "{} cell(s) did not complete: {}.",
            failed.len(),
            failed
                .iter()
                .map(|r| format!(
                    "{} thp={} rate={}: {}",
                    r.snapshot, r.thp, r.write_rate, r.status
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    Ok(())
}

fn dataset_section(
    report: &mut Report,
    ds: u64,
    rows: &[&CowRow],
    points: &[&CowPoint],
    plots: &Path,
    index: usize,
    several: bool,
) -> Result<(), RunError> {
    let keys = rows[0].keys;
    let vs = rows[0].value_size;
    let dist = &rows[0].distribution;
    if several {
        report.heading(3, format!("Dataset {}", dataset_label(ds)));
    }
    // 1. COW over time, one series per (snapshot, thp, rate, repeat), from the child's samples.
    let mut series: BTreeMap<SeriesKey, Vec<(f64, f64)>> = BTreeMap::new();
    for p in points {
        if p.source != "child" {
            continue;
        }
        if let Some(c) = p.cow_bytes {
            series
                .entry((p.snapshot.clone(), p.thp.clone(), p.write_rate, p.repeat))
                .or_default()
                .push((p.t_ms, c as f64));
        }
    }
    if !series.is_empty() {
        let mut chart = LineChart::new(
            format!(
                "COW during the snapshot — {} of {vs} B values, {dist} writes",
                dataset_label(ds)
            ),
            Axis::new("time since fork (ms)"),
            Axis::bytes("copy-on-write (child Private_Dirty − baseline)"),
        );
        for ((snap, thp, rate, rep), mut pts) in series {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let rep = if rep > 0 {
                format!(" #{rep}")
            } else {
                String::new()
            };
            let name = if snap == "fork" {
                format!("{rate}/s thp={thp}{rep}")
            } else {
                format!("{snap} {rate}/s thp={thp}{rep}")
            };
            chart = chart.with_series(Series::line_markers(name, pts));
        }
        let r = chart
            .render(plots, &format!("cow_{index}_over_time"))
            .map_err(rerr)?;
        report.chart(&r, "");
    }

    // 2. COW against write rate: measured peak, ground truth, predictions.
    let forks: Vec<&&CowRow> = rows.iter().filter(|r| is_fork(r)).collect();
    if !forks.is_empty() {
        let mut chart = LineChart::new(
            format!(
                "COW vs write rate — {} ({keys} keys), {dist} writes",
                dataset_label(ds)
            ),
            Axis::new("writes per second during the save"),
            Axis::bytes("bytes"),
        );
        let mut by: BTreeMap<(String, String), Vec<&CowRow>> = BTreeMap::new();
        for r in &forks {
            by.entry((r.snapshot.clone(), r.thp.clone()))
                .or_default()
                .push(r);
        }
        for ((snap, thp), mut rs) in by {
            rs.sort_by_key(|r| (r.write_rate, r.repeat));
            let pick = |f: &dyn Fn(&CowRow) -> f64| -> Vec<(f64, f64)> {
                rs.iter().map(|r| (r.write_rate as f64, f(r))).collect()
            };
            let tag = if snap == "fork" {
                format!("thp={thp}")
            } else {
                format!("{snap} thp={thp}")
            };
            chart = chart.with_series(Series::line_markers(
                format!("measured peak COW, {tag}"),
                pick(&|r| r.cow_peak_bytes as f64),
            ));
            if snap == "fork" {
                chart = chart
                    .with_series(Series::markers(
                        format!("dirtied pages × page size (ground truth), {tag}"),
                        pick(&|r| ground_truth_bytes(r) as f64),
                    ))
                    .with_series(Series::dashed(
                        format!("prediction ({dist}), {tag}"),
                        pick(&|r| r.predicted_cow_bytes as f64),
                    ));
                if dist != "uniform" {
                    chart = chart.with_series(Series::dashed(
                        format!("uniform closed form, {tag}"),
                        pick(&|r| r.predicted_uniform_pages * r.page_size as f64),
                    ));
                }
            }
        }
        let r = chart
            .render(plots, &format!("cow_{index}_vs_write_rate"))
            .map_err(rerr)?;
        report.chart(&r, "");

        // Table and sentences.
        let mut t = Table::new([
            ("snapshot", Align::Left),
            ("thp", Align::Left),
            ("writes/s", Align::Right),
            ("fork", Align::Right),
            ("save", Align::Right),
            ("writes", Align::Right),
            ("dirtied pages", Align::Right),
            ("ground truth", Align::Right),
            ("COW peak", Align::Right),
            ("predicted", Align::Right),
            ("Redis would log", Align::Left),
        ]);
        for r in &forks {
            t.push_row([
                r.snapshot.clone(),
                r.thp.clone(),
                r.write_rate.to_string(),
                format::seconds(r.fork_usec as f64 / 1e6, 2),
                format::seconds(r.save_ms / 1e3, 2),
                format::count(r.writes_during_save),
                format::count(r.dirtied_pages),
                format::bytes_u64(ground_truth_bytes(r)),
                format::bytes_u64(r.cow_peak_bytes),
                format::bytes_u64(r.predicted_cow_bytes),
                format!("`{}`", redis_log_line(r)),
            ])
            .map_err(rerr)?;
        }
        report.table(&t);
        let mut sentences = Vec::new();
        for r in forks.iter().filter(|r| r.snapshot == "fork") {
            if r.writes_during_save == 0 {
                continue;
            }
            let truth = ground_truth_bytes(r);
            let ratio = if truth > 0 {
                r.cow_peak_bytes as f64 / truth as f64
            } else {
                f64::NAN
            };
            sentences.push(format!(
                "THP {}, {} writes/s: {} writes ({} distinct keys) during a {} save dirtied {} \
                 pages of the parent ({} by `{}`); the child measured a peak COW of {} \
                 ({} of the ground truth) and the model predicted {}. Redis would log only \
                 `{}`.",
                r.thp,
                r.write_rate,
                format::count(r.writes_during_save),
                format::count(r.distinct_keys_written),
                format::seconds(r.save_ms / 1e3, 2),
                format::count(r.dirtied_pages),
                format::bytes_u64(truth),
                r.ground_truth_method,
                format::bytes_u64(r.cow_peak_bytes),
                format::percent(ratio, 1),
                format::bytes_u64(r.predicted_cow_bytes),
                redis_log_line(r)
            ));
        }
        for r in forks.iter().filter(|r| r.snapshot == "redis-bgsave") {
            sentences.push(format!(
                "A real Redis BGSAVE (thp={}, {} writes/s): fork {}, peak COW {} \
                 (`{}`).",
                r.thp,
                r.write_rate,
                format::seconds(r.fork_usec as f64 / 1e6, 2),
                format::bytes_u64(r.cow_peak_bytes),
                redis_log_line(r)
            ));
        }
        // THP amplification check at the highest rate measured both ways.
        let top = forks
            .iter()
            .filter(|r| r.snapshot == "fork")
            .map(|r| r.write_rate)
            .max()
            .unwrap_or(0);
        let at = |thp: &str| {
            forks
                .iter()
                .find(|r| r.snapshot == "fork" && r.thp == thp && r.write_rate == top)
        };
        if top > 0
            && let (Some(off), Some(on)) = (at("off"), at("on"))
        {
            sentences.push(format!(
                "At {top} writes/s the peak COW was {} with THP off and {} with THP on \
                 ({} of the worker's anonymous memory was in huge pages with THP on, AnonHugePages): this kernel splits a \
                 huge page on a COW fault instead of copying 2 MiB, so THP did {}.",
                format::bytes_u64(off.cow_peak_bytes),
                format::bytes_u64(on.cow_peak_bytes),
                format::bytes_u64(on.anon_huge_bytes),
                if on.cow_peak_bytes as f64 > 2.0 * off.cow_peak_bytes.max(1) as f64 {
                    "inflate COW here"
                } else {
                    "not inflate COW here"
                }
            ));
        }
        report.bullets(sentences);
        report.note(
            "Redis reports how much memory the fork child's copy-on-write costs (`Fork CoW \
             for RDB`, INFO `current_cow_peak`), never which pages or keys caused it. The \
             `dirtied pages` column is a page-level attribution Redis cannot show: the lab \
             reads the parent's own page table (`/proc/self/pagemap` exclusive bits, or \
             soft-dirty bits where the kernel has them) after the save and counts the pages \
             present at the fork that the parent copied; `distinct_keys_written` names how many \
             keys those writes touched.",
        );
    }
    Ok(())
}

fn fork_latency(report: &mut Report, rows: &[CowRow], plots: &Path) -> Result<(), RunError> {
    let forks: Vec<&CowRow> = rows
        .iter()
        .filter(|r| is_fork(r) && ok(r) && r.fork_usec > 0)
        .collect();
    if forks.is_empty() {
        return Ok(());
    }
    let mut cells: BTreeMap<(u64, String), Vec<f64>> = BTreeMap::new();
    for r in &forks {
        let g = if r.snapshot == "fork" {
            format!("THP {}", r.thp)
        } else {
            format!("{} THP {}", r.snapshot, r.thp)
        };
        cells
            .entry((r.dataset_bytes, g))
            .or_default()
            .push(r.fork_ms_per_gb);
    }
    let bars = BarChart::from_rows(
        "Fork latency per GiB of parent RSS",
        "dataset",
        Axis::new("fork time (ms per GiB of RSS)"),
        cells
            .iter()
            .map(|((ds, g), v)| (dataset_label(*ds), g.clone(), mean(v).unwrap_or(f64::NAN))),
    );
    let r = bars.render(plots, "cow_fork_latency").map_err(rerr)?;
    report.chart(&r, "");
    let per = |thp: &str| -> (Option<f64>, usize) {
        let v: Vec<f64> = forks
            .iter()
            .filter(|r| r.snapshot == "fork" && r.thp == thp)
            .map(|r| r.fork_ms_per_gb)
            .collect();
        (median(&v), v.len())
    };
    let (off, n_off) = per("off");
    let (on, n_on) = per("on");
    let mut s = Vec::new();
    if let Some(off) = off {
        s.push(format!(
            "With THP off, `fork()` took {} ms per GiB of RSS (median of {n_off} forks); Redis's \
             latency doc quotes 9–24 ms/GB on physical machines and KVM.",
            format::trimmed(off, 2)
        ));
    }
    if let (Some(off), Some(on)) = (off, on) {
        let why = if on < off {
            format!(
                "{}× faster: with huge pages the parent copies one page-table entry per 2 MiB \
                 instead of 512",
                format::trimmed(off / on.max(1e-9), 1)
            )
        } else {
            "no faster here (small datasets fork in about a millisecond either way, and single \
             forks on a VM are noisy)"
                .to_string()
        };
        s.push(format!(
            "With THP on, {} ms per GiB (median of {n_on}): {why}.",
            format::trimmed(on, 2),
        ));
    }
    report.bullets(s);
    Ok(())
}

fn forkless(report: &mut Report, rows: &[CowRow], plots: &Path) -> Result<(), RunError> {
    let rs: Vec<&CowRow> = rows
        .iter()
        .filter(|r| ok(r) && (r.snapshot == "fork" || r.snapshot == "forkless"))
        .collect();
    if !rs.iter().any(|r| r.snapshot == "forkless") {
        return Ok(());
    }
    let several = rs.iter().any(|r| r.dataset_bytes != rs[0].dataset_bytes);
    let cat = |r: &CowRow| {
        if several {
            format!("{} @ {}/s", dataset_label(r.dataset_bytes), r.write_rate)
        } else {
            format!("{}/s", r.write_rate)
        }
    };
    let mut sorted = rs.clone();
    sorted.sort_by_key(|r| (r.dataset_bytes, r.write_rate, r.repeat));
    let bars = BarChart::from_rows(
        "Peak extra memory of one snapshot: fork vs forkless",
        "writes per second during the save",
        Axis::bytes("extra memory at the peak"),
        sorted.iter().map(|r| {
            (
                cat(r),
                format!("{} THP {}", r.snapshot, r.thp),
                r.extra_memory_peak_bytes as f64,
            )
        }),
    )
    .with_value_labels(false);
    let r = bars.render(plots, "cow_fork_vs_forkless").map_err(rerr)?;
    report.chart(&r, "");
    let mut s = Vec::new();
    for r in sorted.iter().filter(|r| r.snapshot == "forkless") {
        if let Some(f) = sorted.iter().find(|f| {
            f.snapshot == "fork"
                && f.thp == r.thp
                && f.write_rate == r.write_rate
                && f.dataset_bytes == r.dataset_bytes
        }) {
            s.push(format!(
                "{} at {} writes/s, THP {}: fork cost {} extra at its peak, forkless {} \
                 ({} buffered by the serializer, {} keys serialized by the before-write hook).",
                dataset_label(r.dataset_bytes),
                r.write_rate,
                r.thp,
                format::bytes_u64(f.extra_memory_peak_bytes),
                format::bytes_u64(r.extra_memory_peak_bytes),
                format::bytes_u64(r.forkless_buffer_peak_bytes),
                format::count(r.forkless_keys_by_hook)
            ));
        }
    }
    report.bullets(s);
    Ok(())
}
