//! `experiment report DIR`: re-renders plots and `report.md` from the CSVs in a results
//! directory alone (nothing is re-run).

use std::path::{Path, PathBuf};

use crate::RunError;
use crate::experiment::EXPERIMENTS;

/// Arguments of `experiment report`.
#[derive(clap::Args, Clone, Debug)]
pub struct ReportArgs {
    /// A results directory (with hitrate.csv and/or the other experiments' CSVs).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Re-renders the report of `dir`; returns the report's path.
pub fn run(args: &ReportArgs) -> Result<PathBuf, RunError> {
    render(&args.dir, "evictlab report")
}

/// Builds `report.md` (and the plots) from every experiment's CSVs present in `dir`, in
/// the order of [`EXPERIMENTS`].
pub fn render(dir: &Path, title: &str) -> Result<PathBuf, RunError> {
    let mut report = evictlab_reports::Report::new(title);
    let mut found = false;
    for e in EXPERIMENTS {
        found |= e.report(&mut report, dir)?;
    }
    if !found {
        let names: Vec<&str> = EXPERIMENTS
            .iter()
            .flat_map(|e| e.files())
            .map(|f| f.name)
            .collect();
        return Err(RunError::Merge {
            message: format!(
                "{}: no result CSV found (expected one of {})",
                dir.display(),
                names.join(", ")
            ),
        });
    }
    report.write(dir).map_err(|e| RunError::Report {
        message: e.to_string(),
    })
}
