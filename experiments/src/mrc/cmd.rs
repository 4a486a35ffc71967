//! `experiment mrc`: LRU miss-ratio curves of one workload — exact (one pass, stack
//! distances) and SHARDS fixed-rate / fixed-size — into `mrc.csv`, plots and `report.md`.

use std::path::PathBuf;

use serde::Serialize;

use crate::mrc::{
    self, DEFAULT_RATE, DEFAULT_SHARDS_SIZE, GridKind, METHOD_NAMES, Method, Mrc, MrcRow,
};
use crate::source::{WorkloadArgs, load};
use crate::ui::Ui;
use crate::workload::Workload;
use crate::{RunError, mrc_report, output};

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
    /// Output directory (default: results/mrc-<timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
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
/// other, so their timings do not compete for a core).
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
        out.extend(mrc::compute(w, m, &grids, seed)?);
        on_done();
    }
    Ok(out)
}

/// Runs the methods and writes `mrc.csv`, `metadata.json`, plots and `report.md`; returns
/// the directory and the rows.
pub fn run(args: &MrcArgs, ui: &Ui) -> Result<(PathBuf, Vec<MrcRow>), RunError> {
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
    let dir = super::out_dir(&args.out, "mrc")?;
    mrc::write_csv(&dir.join("mrc.csv"), &rows)?;
    output::write_metadata(&dir, "mrc", args.seed, args, &super::allocator_name())?;
    let mut report = evictlab_reports::Report::new("evictlab: miss-ratio curves");
    mrc_report::add_section(&mut report, &rows, &dir.join("plots"))?;
    report.write(&dir).map_err(|e| RunError::Report {
        message: e.to_string(),
    })?;
    Ok((dir, rows))
}
