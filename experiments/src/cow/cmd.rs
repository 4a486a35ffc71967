//! `experiment cow`: fork vs forkless snapshots under writes, with the child's measured
//! copy-on-write, the page-level ground truth and the prediction (see [`crate::cow`]).
//!
//! Every cell runs in a worker process forked from the calling thread, which forks again
//! for the BGSAVE. The caller must therefore run this from a thread that holds no locks the
//! worker could need (the binary's main thread; the suite calls it after its rayon work has
//! finished) and should hold as little memory as possible (the worker inherits it and the
//! fork latency per GiB is measured on the worker's RSS). Progress bars are drawn by this
//! (parent) side only, between cells.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cow::{CowArgs, CowPoint, CowRow, CowSummary, quick_args, run_with_progress};
use crate::ui::Ui;
use crate::{RunError, cow_report, output};

/// Arguments of `experiment cow`.
#[derive(clap::Args, Clone, Debug)]
pub struct CowCmdArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub cow: CowArgs,
    /// The quick preset (32 MiB, 0/20k/100k writes/s, THP off and on, fork and forkless, a
    /// 96 MB/s emulated disk; a few seconds). Only --out and --seed apply with it.
    #[arg(long)]
    pub quick: bool,
}

/// The flags recorded in `metadata.json`.
#[derive(Serialize)]
struct Recorded<'a> {
    quick: bool,
    dataset: u64,
    value_size: u64,
    write_rates: &'a [u64],
    distribution: String,
    thp: Vec<&'static str>,
    snapshot: Vec<&'static str>,
    save_bandwidth: u64,
    report_period_ms: u64,
    duty_cycle: u64,
    repeats: u32,
    compression: bool,
    fsync: bool,
}

fn cow_err(e: crate::cow::CowError) -> RunError {
    RunError::Report {
        message: format!("cow: {e}"),
    }
}

/// The effective arguments: the quick preset keeps `--out` and `--seed`.
pub fn effective(args: &CowCmdArgs) -> CowArgs {
    if args.quick {
        let mut q = quick_args(&args.cow.out);
        q.seed = args.cow.seed;
        q
    } else {
        args.cow.clone()
    }
}

/// Runs the cells with a progress bar (cells run in forked workers; see the module docs).
pub fn run_cells(args: &CowArgs, ui: &Ui) -> Result<CowSummary, RunError> {
    let total = args.snapshot.len()
        * args.thp.len()
        * args.write_rates.len()
        * args.repeats.max(1) as usize;
    let bar = ui.bar(total as u64, "cells");
    bar.set_message("cow");
    let s = run_with_progress(args, &mut |p| {
        bar.set_position(p.done as u64);
        bar.set_message(p.label.clone());
    })
    .map_err(cow_err)?;
    bar.finish_and_clear();
    Ok(s)
}

/// Runs `experiment cow`: `cow.csv`, `cow_timeseries.csv`, `cow_log.txt`, `metadata.json`,
/// plots and `report.md` in `--out`. Returns the summary.
pub fn run(args: &CowCmdArgs, ui: &Ui) -> Result<CowSummary, RunError> {
    let eff = effective(args);
    let summary = run_cells(&eff, ui)?;
    let rec = Recorded {
        quick: args.quick,
        dataset: eff.dataset,
        value_size: eff.value_size,
        write_rates: &eff.write_rates,
        distribution: eff.distribution.name(),
        thp: eff.thp.iter().map(|t| t.name()).collect(),
        snapshot: eff.snapshot.iter().map(|s| s.name()).collect(),
        save_bandwidth: eff.save_bandwidth,
        report_period_ms: eff.report_period_ms,
        duty_cycle: eff.duty_cycle,
        repeats: eff.repeats,
        compression: eff.compression,
        fsync: !eff.no_fsync,
    };
    output::write_metadata(&eff.out, "cow", eff.seed, &rec, &super::allocator_name())?;
    let mut report = evictlab_reports::Report::new("evictlab: snapshots and copy-on-write");
    add_report_section(&mut report, &eff.out)?;
    report.write(&eff.out).map_err(|e| RunError::Report {
        message: e.to_string(),
    })?;
    Ok(summary)
}

/// Adds the COW section from `dir/cow.csv` (and `cow_timeseries.csv` if present); returns
/// whether `cow.csv` was found. Used by `experiment report`.
pub fn add_report_section(
    report: &mut evictlab_reports::Report,
    dir: &Path,
) -> Result<bool, RunError> {
    let csv = dir.join("cow.csv");
    if !csv.exists() {
        return Ok(false);
    }
    let rows: Vec<CowRow> = output::read_csv(&csv)?;
    let ts: PathBuf = dir.join("cow_timeseries.csv");
    let points: Vec<CowPoint> = if ts.exists() {
        output::read_csv(&ts)?
    } else {
        Vec::new()
    };
    cow_report::add_section(report, &rows, &points, &dir.join("plots"))?;
    Ok(true)
}
