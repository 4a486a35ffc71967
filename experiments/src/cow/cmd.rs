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

use evictlab_reports::Report;
use serde::Serialize;

use crate::cow::report as cow_report;
use crate::cow::{CowArgs, CowPoint, CowRow, CowSummary, quick_args, run_with_progress};
use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::ui::Ui;
use crate::{RunError, output};

/// Arguments of `experiment cow`.
#[derive(clap::Args, Clone, Debug)]
pub struct CowCmdArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub cow: CowArgs,
    /// `--out DIR` (default: results/cow-<timestamp>) and `--overwrite`.
    #[command(flatten)]
    pub out: crate::outdir::OutArgs,
    /// The quick preset (32 MiB, 0/20k/100k writes/s, THP off and on, fork and forkless, a
    /// 96 MB/s emulated disk; a few seconds). Only --out and --seed apply with it.
    #[arg(long, conflicts_with = "rdb")]
    pub quick: bool,
}

/// The flags recorded in `metadata.json`.
#[derive(Serialize)]
struct Recorded<'a> {
    quick: bool,
    rdb: Option<String>,
    rdb_db: Option<String>,
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
pub fn effective(args: &CowCmdArgs, out: &Path) -> CowArgs {
    let mut eff = if args.quick {
        let mut q = quick_args(out);
        q.seed = args.cow.seed;
        q
    } else {
        args.cow.clone()
    };
    eff.out = out.to_path_buf();
    eff
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
pub fn run(args: &CowCmdArgs, ui: &Ui) -> Result<(CowSummary, PathBuf), RunError> {
    let dir = crate::cmd::out_dir(&args.out, "cow")?;
    let eff = effective(args, &dir);
    let summary = run_cells(&eff, ui)?;
    let rec = Recorded {
        quick: args.quick,
        rdb: eff.rdb.as_ref().map(|p| p.display().to_string()),
        rdb_db: eff.rdb_db.clone(),
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
    output::write_metadata(
        &eff.out,
        "cow",
        eff.seed,
        &rec,
        &crate::cmd::allocator_name(),
    )?;
    let mut report = evictlab_reports::Report::new("evictlab: snapshots and copy-on-write");
    add_report_section(&mut report, &eff.out)?;
    report.write(&eff.out).map_err(|e| RunError::Report {
        message: e.to_string(),
    })?;
    Ok((summary, dir.commit()?))
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

/// `experiment cow` in the list of experiments.
#[derive(Debug)]
pub struct CowExperiment;

/// `cow.csv` and `cow_timeseries.csv` (also written by `experiment server --bgsave`).
pub const FILES: &[CsvFile] = &[
    CsvFile::measured("cow.csv"),
    CsvFile::measured("cow_timeseries.csv"),
];

impl Experiment for CowExperiment {
    fn name(&self) -> &'static str {
        "cow"
    }

    fn about(&self) -> &'static str {
        "Fork vs forkless snapshots under writes: copy-on-write measured, ground truth, model."
    }

    fn args(&self) -> clap::Command {
        experiment::args::<CowCmdArgs>(self.name(), self.about())
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (s, dir) = run(&experiment::parse(m)?, ui)?;
        let ms = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}"));
        let mut lines = vec![format!(
            "{} snapshots; fork ms/GiB THP off {}, THP on {}; wrote {}",
            s.rows.len(),
            ms(s.fork_ms_per_gb_thp_off),
            ms(s.fork_ms_per_gb_thp_on),
            dir.join("cow.csv").display()
        )];
        lines.push(format!("report: {}", dir.join("report.md").display()));
        Ok(Ran {
            lines,
            warnings: s
                .log
                .iter()
                .filter(|l| l.starts_with("WARNING"))
                .cloned()
                .collect(),
        })
    }

    /// Fork latency and copy-on-write of real processes: measurements.
    fn files(&self) -> &'static [CsvFile] {
        FILES
    }

    fn report(&self, report: &mut Report, dir: &Path) -> Result<bool, RunError> {
        add_report_section(report, dir)
    }

    /// The quick preset shrunk to a few seconds. Its cells fork worker processes from this
    /// thread, so the suite's workloads are dropped first (the workers would inherit them).
    fn suite(&self, s: &mut SuiteRun) -> Result<(), RunError> {
        s.workloads = Vec::new();
        if s.quick {
            s.notes.push(
                "--quick: snapshots (cow) skipped (fork latency and COW are measurements of \
                 real processes: not deterministic)"
                    .into(),
            );
            return Ok(());
        }
        let mut cow = quick_args(&s.dir);
        cow.dataset = 16 << 20;
        cow.write_rates = vec![0, 50_000];
        cow.seed = s.seed;
        run_cells(&cow, s.ui)?;
        Ok(())
    }
}
