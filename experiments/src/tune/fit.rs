//! Step 2 of `experiment tune`: copy-on-write runs at scaled-down dataset sizes and the
//! least-squares lines extrapolated to the budget.

use std::path::Path;

use super::*;
use crate::cow::{CowArgs, CowPoint, CowRow, SnapshotMode, ThpMode};
use crate::ui::Ui;
use crate::{RunError, output};

/// A linear least-squares fit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Line {
    /// Slope.
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// R².
    pub r2: f64,
    /// Points.
    pub n: usize,
}

impl Line {
    /// The line at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Ordinary least squares of `y` on `x` (a single point gives a line through it and the
/// origin; none gives zeros).
pub fn fit_line(pts: &[(f64, f64)]) -> Line {
    let n = pts.len();
    if n == 0 {
        return Line::default();
    }
    if n == 1 {
        let (x, y) = pts[0];
        return Line {
            slope: if x != 0.0 { y / x } else { 0.0 },
            intercept: 0.0,
            r2: 1.0,
            n,
        };
    }
    let nf = n as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = my - slope * mx;
    let sse: f64 = pts
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let r2 = if syy > 0.0 { 1.0 - sse / syy } else { 1.0 };
    Line {
        slope,
        intercept,
        r2,
        n,
    }
}

/// Least squares through the origin (`y = k·x`): fork latency is the copy of the page
/// tables, proportional to the RSS; small forks are too noisy to fit an intercept.
pub fn fit_origin(pts: &[(f64, f64)]) -> Line {
    let sxx: f64 = pts.iter().map(|p| p.0 * p.0).sum();
    let sxy: f64 = pts.iter().map(|p| p.0 * p.1).sum();
    let k = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let n = pts.len() as f64;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n.max(1.0);
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    let sse: f64 = pts.iter().map(|p| (p.1 - k * p.0).powi(2)).sum();
    Line {
        slope: k,
        intercept: 0.0,
        r2: if syy > 0.0 { 1.0 - sse / syy } else { 1.0 },
        n: pts.len(),
    }
}

pub(super) fn fit_rows(
    quantity: &str,
    snapshot: &str,
    thp: &str,
    pts: &[(f64, f64)],
    target: f64,
    out: &mut Vec<FitRow>,
) -> Line {
    let l = if quantity == "fork_usec" {
        fit_origin(pts)
    } else {
        fit_line(pts)
    };
    let base = FitRow {
        quantity: quantity.into(),
        snapshot: snapshot.into(),
        thp: thp.into(),
        slope: l.slope,
        intercept: l.intercept,
        r2: l.r2,
        n: l.n as u64,
        ..FitRow::default()
    };
    for &(x, y) in pts {
        out.push(FitRow {
            kind: "point".into(),
            x_bytes: x,
            y,
            fitted: l.at(x),
            residual: y - l.at(x),
            ..base.clone()
        });
    }
    out.push(FitRow {
        kind: "fit".into(),
        ..base.clone()
    });
    out.push(FitRow {
        kind: "extrapolation".into(),
        x_bytes: target,
        fitted: l.at(target),
        ..base
    });
    l
}

/// Runs the COW cells for every dataset size into `dir` (merged `cow.csv`,
/// `cow_timeseries.csv`, `cow_log.txt`).
pub(super) fn run_cow(
    p: &TuneParams,
    value_size: u64,
    ui: &Ui,
    dir: &Path,
) -> Result<Vec<CowRow>, RunError> {
    let per = 4u64;
    let bar = ui.bar(per * p.dataset_sizes.len() as u64, "snapshots");
    bar.set_message("copy-on-write");
    let mut rows = Vec::new();
    let mut points: Vec<CowPoint> = Vec::new();
    let mut log = Vec::new();
    for (i, &ds) in p.dataset_sizes.iter().enumerate() {
        let sub = dir.join(format!(".tune-cow-{i}"));
        let args = CowArgs {
            dataset: ds,
            rdb: None,
            rdb_db: None,
            value_size,
            write_rates: vec![p.write_rate],
            distribution: p.write_distribution,
            thp: vec![ThpMode::Off, ThpMode::On],
            snapshot: vec![SnapshotMode::Fork, SnapshotMode::Forkless],
            out: sub.clone(),
            seed: p.seed,
            save_bandwidth: p.disk_bandwidth,
            report_period_ms: 50,
            duty_cycle: 100,
            repeats: 1,
            compression: false,
            no_fsync: false,
        };
        let done = i as u64 * per;
        let s = crate::cow::run_with_progress(&args, &mut |pr| {
            bar.set_position(done + pr.done as u64);
            bar.set_message(format!(
                "{} {}",
                evictlab_reports::format::bytes_u64(ds),
                pr.label
            ));
        })
        .map_err(|e| report_err(format!("cow: {e}")))?;
        let ts: Vec<CowPoint> = output::read_csv(&s.timeseries_csv)?;
        points.extend(ts);
        log.extend(
            s.log
                .iter()
                .map(|l| format!("[{}] {l}", evictlab_reports::format::bytes_u64(ds))),
        );
        rows.extend(s.rows);
        let _ = std::fs::remove_dir_all(&sub);
    }
    bar.finish_and_clear();
    output::write_csv(&dir.join("cow.csv"), &rows)?;
    output::write_csv(&dir.join("cow_timeseries.csv"), &points)?;
    let lp = dir.join("cow_log.txt");
    std::fs::write(&lp, log.join("\n") + "\n").map_err(|e| io_err(&lp, e))?;
    Ok(rows)
}

/// The rows of one (snapshot, thp) as (RSS at fork, quantity) points.
pub(super) fn points(
    rows: &[CowRow],
    snapshot: &str,
    thp: &str,
    f: impl Fn(&CowRow) -> f64,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.snapshot == snapshot && r.thp == thp && r.status == "ok")
        .map(|r| (r.parent_rss_start_bytes as f64, f(r)))
        .collect()
}

/// Largest RSS at the fork `x` with `x + extra(x) + reserve ≤ ram`, for `extra(x) =
/// max(0, a + b·x)`.
pub(super) fn max_rss(ram: f64, reserve: f64, extra: &Line) -> f64 {
    let b = extra.slope.max(0.0);
    let x = (ram - reserve - extra.intercept) / (1.0 + b);
    if extra.intercept + b * x < 0.0 {
        ram - reserve
    } else {
        x
    }
}

/// The fitted lines and where they are evaluated.
#[derive(Debug)]
pub(super) struct Fits {
    /// `tune_fit.csv` rows.
    pub(super) rows: Vec<FitRow>,
    /// The RSS at the fork that fits the budget with the THP-off COW fit.
    pub(super) x_off: f64,
    /// The same with the THP-on COW fit.
    pub(super) x_on: f64,
    /// The same with the forkless extra-memory fit.
    pub(super) x_fl: f64,
    /// Peak COW, THP off.
    pub(super) cow_off: Line,
    /// Peak COW, THP on.
    pub(super) cow_on: Line,
    /// Forkless extra memory.
    pub(super) forkless: Line,
    /// Fork latency, THP off.
    pub(super) fork_off: Line,
    /// Fork latency, THP on.
    pub(super) fork_on: Line,
    /// Save time (fork, THP off).
    pub(super) save: Line,
}

/// Step 2: the COW runs at every dataset size (`cow.csv`), then the least-squares lines of
/// peak COW, fork latency, save time and forkless overhead against the RSS at the fork,
/// evaluated at the RSS the budget allows (`tune_fit.csv`).
pub(super) fn cow_step(
    p: &TuneParams,
    value_size: u64,
    ui: &Ui,
) -> Result<(Vec<CowRow>, Fits), RunError> {
    let cow = run_cow(p, value_size, ui, &p.out)?;
    let ram = p.ram as f64;
    let reserve = p.reserve as f64;
    // First pass of the fits (the target x depends on the COW fit itself).
    let cow_off = fit_line(&points(&cow, "fork", "off", |r| r.cow_peak_bytes as f64));
    let x_off = max_rss(ram, reserve, &cow_off).min(ram);
    let mut fits = Vec::new();
    let cow_off = fit_rows(
        "cow_peak_bytes",
        "fork",
        "off",
        &points(&cow, "fork", "off", |r| r.cow_peak_bytes as f64),
        x_off,
        &mut fits,
    );
    let cow_on = fit_line(&points(&cow, "fork", "on", |r| r.cow_peak_bytes as f64));
    let x_on = max_rss(ram, reserve, &cow_on).min(ram);
    let cow_on = fit_rows(
        "cow_peak_bytes",
        "fork",
        "on",
        &points(&cow, "fork", "on", |r| r.cow_peak_bytes as f64),
        x_on,
        &mut fits,
    );
    let fl = fit_line(&points(&cow, "forkless", "off", |r| {
        r.extra_memory_peak_bytes as f64
    }));
    let x_fl = max_rss(ram, reserve, &fl).min(ram);
    let forkless = fit_rows(
        "extra_memory_peak_bytes",
        "forkless",
        "off",
        &points(&cow, "forkless", "off", |r| {
            r.extra_memory_peak_bytes as f64
        }),
        x_fl,
        &mut fits,
    );
    let fork_off = fit_rows(
        "fork_usec",
        "fork",
        "off",
        &points(&cow, "fork", "off", |r| r.fork_usec as f64),
        x_off,
        &mut fits,
    );
    let fork_on = fit_rows(
        "fork_usec",
        "fork",
        "on",
        &points(&cow, "fork", "on", |r| r.fork_usec as f64),
        x_off,
        &mut fits,
    );
    let save = fit_rows(
        "save_ms",
        "fork",
        "off",
        &points(&cow, "fork", "off", |r| r.save_ms),
        x_off,
        &mut fits,
    );
    output::write_csv(&p.out.join("tune_fit.csv"), &fits)?;

    Ok((
        cow,
        Fits {
            rows: fits,
            x_off,
            x_on,
            x_fl,
            cow_off,
            cow_on,
            forkless,
            fork_off,
            fork_on,
            save,
        },
    ))
}
