//! `experiment report DIR`: re-renders plots and `report.md` from the CSVs in a results
//! directory alone (nothing is re-run).

use std::path::{Path, PathBuf};

use crate::hitrate::HitRow;
use crate::mrc::MrcRow;
use crate::{RunError, hitrate_report, mrc_report, output};

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

/// Builds `report.md` (and the plots) from every known CSV present in `dir`.
pub fn render(dir: &Path, title: &str) -> Result<PathBuf, RunError> {
    let mut report = evictlab_reports::Report::new(title);
    let mut found = false;
    let plots = dir.join("plots");
    let hit = dir.join("hitrate.csv");
    if hit.exists() {
        let rows: Vec<HitRow> = output::read_csv(&hit)?;
        hitrate_report::add_section(&mut report, &rows, &plots)?;
        found = true;
    }
    let hcl = dir.join("hcl.csv");
    if hcl.exists() {
        let rows: Vec<super::hcl::HclRow> = output::read_csv(&hcl)?;
        super::hcl::add_section(&mut report, &rows, &plots)?;
        found = true;
    }
    let frag_csv = dir.join("frag.csv");
    if frag_csv.exists() {
        let frag: Vec<crate::frag::FragRow> = output::read_csv(&frag_csv)?;
        let overhead: Vec<crate::frag::OverheadRow> = read_if_present(&dir.join("overhead.csv"))?;
        let defrag: Vec<crate::frag::DefragRow> = read_if_present(&dir.join("defrag.csv"))?;
        crate::frag_report::add_section(&mut report, &frag, &overhead, &defrag, &plots)?;
        found = true;
    }
    if super::cow::add_report_section(&mut report, dir)? {
        found = true;
    }
    let mrc = dir.join("mrc.csv");
    if mrc.exists() {
        let rows: Vec<MrcRow> = output::read_csv(&mrc)?;
        mrc_report::add_section(&mut report, &rows, &plots)?;
        found = true;
    }
    // Real server: server.csv (+ BGSAVE rows of cow.csv) and compare.csv.
    let server = dir.join("server.csv");
    if server.exists() {
        let rows: Vec<crate::server::ServerRow> = output::read_csv(&server)?;
        let cow = dir.join("cow.csv");
        let bgsave: Vec<crate::cow::CowRow> = if cow.exists() {
            output::read_csv::<crate::cow::CowRow>(&cow)?
                .into_iter()
                .filter(|r| r.snapshot == "redis-bgsave")
                .collect()
        } else {
            Vec::new()
        };
        super::compare::add_server_section(&mut report, &rows, &bgsave)?;
        found = true;
    }
    let compare = dir.join("compare.csv");
    if compare.exists() {
        let rows: Vec<super::compare::CompareRow> = output::read_csv(&compare)?;
        super::compare::add_section(&mut report, &rows, &plots)?;
        found = true;
    }
    if !found {
        return Err(RunError::Merge {
            message: format!(
                "{}: no result CSV found (expected hitrate.csv, hcl.csv, mrc.csv, cow.csv, frag.csv, server.csv or compare.csv)",
                dir.display()
            ),
        });
    }
    report.write(dir).map_err(|e| RunError::Report {
        message: e.to_string(),
    })
}

/// The rows of `path`, or none when the file does not exist.
fn read_if_present<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, RunError> {
    if path.exists() {
        output::read_csv(path)
    } else {
        Ok(Vec::new())
    }
}
