//! `experiment mrc`: LRU miss-ratio curves of one workload — exact (one pass, stack
//! distances) and SHARDS fixed-rate / fixed-size — into `mrc.csv`, plots and `report.md`.

use std::path::{Path, PathBuf};

use evictlab_reports::Report;

use serde::Serialize;

use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::mrc::report as mrc_report;
use crate::mrc::{
    self, DEFAULT_RATE, DEFAULT_SHARDS_SIZE, GridKind, METHOD_NAMES, Method, Mrc, MrcRow,
};
use crate::source::{WorkloadArgs, load};
use crate::timing::Repeat;
use crate::ui::Ui;
use crate::workload::Workload;
use crate::{RunError, output};

/// Arguments of `experiment mrc`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct MrcArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub workload: WorkloadArgs,
    /// Methods, comma-separated: exact, shards-rate, shards-size.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "exact,shards-rate,shards-size"
    )]
    pub methods: Vec<String>,
    /// SHARDS fixed sampling rate R in (0, 1].
    #[arg(long, value_name = "R", default_value_t = DEFAULT_RATE)]
    pub rate: f64,
    /// Turn off the SHARDS_adj correction (both SHARDS methods).
    #[arg(long)]
    pub no_adjust: bool,
    /// SHARDS fixed-size: the most keys tracked at once (s_max).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SHARDS_SIZE)]
    pub shards_size: usize,
    /// Points of the capacity grid (per unit).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub points: usize,
    /// Grid spacing: linear (working set × i/N) or log (1 … working set).
    #[arg(long, value_enum, default_value = "linear")]
    pub grid: GridKind,
    /// Seed of the SHARDS sampling hash (and of the generator).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
}

/// Parses `--methods` with the `--rate` / `--shards-size` parameters.
pub fn parse_methods(
    names: &[String],
    rate: f64,
    adjust: bool,
    s_max: usize,
) -> Result<Vec<Method>, RunError> {
    let mut out = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let m = match n {
            "exact" => Method::Exact,
            "shards-rate" => Method::ShardsRate { rate, adjust },
            "shards-size" => Method::ShardsSize { s_max, adjust },
            _ => {
                return Err(RunError::BadArgument {
                    flag: "--methods",
                    value: n.to_string(),
                    expected: "a comma-separated list of exact, shards-rate, shards-size",
                });
            }
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.is_empty() {
        return Err(RunError::BadArgument {
            flag: "--methods",
            value: names.join(","),
            expected: "at least one of exact, shards-rate, shards-size",
        });
    }
    debug_assert!(out.iter().all(|m| METHOD_NAMES.contains(&m.name())));
    Ok(out)
}

/// Computes every method's curves of `w` on the grid of `points` (methods run one after the
/// other, so their timings do not compete for a core). Each pass is repeated as
/// [`Repeat::MRC`] asks and timed by its fastest run (short passes: one timing of a
/// millisecond is mostly the machine's noise).
pub fn curves(
    w: &Workload,
    methods: &[Method],
    points: usize,
    grid: GridKind,
    seed: u64,
    on_done: &dyn Fn(),
) -> Result<Vec<Mrc>, RunError> {
    let grids = mrc::grids_for(w, points, grid);
    let mut out = Vec::new();
    for &m in methods {
        out.extend(mrc::compute_timed(w, m, &grids, seed, Repeat::MRC)?);
        on_done();
    }
    Ok(out)
}

/// Runs the methods and writes `mrc.csv`, `metadata.json`, plots and `report.md`; returns
/// the directory and the rows.
pub fn run(args: &MrcArgs, ui: &Ui) -> Result<(PathBuf, Vec<MrcRow>), RunError> {
    // The results directory first: a refused --out fails before any work.
    let dir = crate::cmd::out_dir(&args.out, "mrc")?;
    let methods = parse_methods(&args.methods, args.rate, !args.no_adjust, args.shards_size)?;
    if args.points == 0 {
        return Err(RunError::BadArgument {
            flag: "--points",
            value: "0".into(),
            expected: "a positive number of grid points",
        });
    }
    let input = args.workload.to_input(args.seed)?;
    let spin = ui.spinner("loading workload");
    let w = load(&input)?;
    spin.finish_and_clear();
    let bar = ui.bar(methods.len() as u64, "curves");
    bar.set_message(format!("mrc {}", w.info.name));
    let all = curves(&w, &methods, args.points, args.grid, args.seed, &|| {
        bar.inc(1)
    })?;
    bar.finish_and_clear();
    let rows = mrc::rows(&w, &all);
    mrc::write_csv(&dir.join("mrc.csv"), &rows)?;
    output::write_metadata(&dir, "mrc", args.seed, args, &crate::cmd::allocator_name())?;
    let mut report = evictlab_reports::Report::new("evictlab: miss-ratio curves");
    mrc_report::add_section(&mut report, &rows, &dir.join("plots"))?;
    report.write(&dir).map_err(|e| RunError::Report {
        message: e.to_string(),
    })?;
    Ok((dir.commit()?, rows))
}

/// `experiment mrc` in the list of experiments.
#[derive(Debug)]
pub struct MrcExperiment;

impl Experiment for MrcExperiment {
    fn name(&self) -> &'static str {
        "mrc"
    }

    fn about(&self) -> &'static str {
        "LRU miss-ratio curve: exact in one pass (stack distances) and SHARDS sampling."
    }

    fn args(&self) -> clap::Command {
        experiment::args::<MrcArgs>(self.name(), self.about())
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (dir, rows) = run(&experiment::parse(m)?, ui)?;
        Ok(Ran::wrote(
            format!("{} points", rows.len()),
            &dir,
            "mrc.csv",
        ))
    }

    fn files(&self) -> &'static [CsvFile] {
        const FILES: &[CsvFile] = &[CsvFile::deterministic(
            "mrc.csv",
            &["capacity", "workload", "capacity_unit", "capacity_fraction"],
        )];
        FILES
    }

    fn report(&self, report: &mut Report, dir: &Path) -> Result<bool, RunError> {
        let Some(rows) = experiment::read_if_present::<MrcRow>(dir, "mrc.csv")? else {
            return Ok(false);
        };
        mrc_report::add_section(report, &rows, &dir.join("plots"))?;
        Ok(true)
    }

    /// Exact LRU against SHARDS on the suite's workloads without TTLs (well under 3 s in a
    /// release build).
    fn suite(&self, s: &mut SuiteRun) -> Result<(), RunError> {
        let methods = [
            Method::Exact,
            Method::ShardsRate {
                rate: mrc::DEFAULT_RATE,
                adjust: true,
            },
            Method::ShardsSize {
                s_max: mrc::DEFAULT_SHARDS_SIZE,
                adjust: true,
            },
        ];
        let workloads: Vec<&Workload> = s
            .workloads
            .iter()
            .filter(|w| !w.has_ttls)
            .map(|w| &w.workload)
            .collect();
        let bar = s.ui.bar((workloads.len() * methods.len()) as u64, "curves");
        bar.set_message("miss-ratio curves");
        let mut rows = Vec::new();
        for w in workloads {
            let c = curves(w, &methods, 100, GridKind::Linear, s.seed, &|| bar.inc(1))?;
            rows.extend(mrc::rows(w, &c));
        }
        bar.finish_and_clear();
        mrc::write_csv(&s.dir.join("mrc.csv"), &rows)
    }
}
