//! The one shape of an experiment ([`Experiment`]) and the one list of them
//! ([`EXPERIMENTS`]).
//!
//! The binary's dispatch (one subcommand per entry), the default suite (each entry's
//! [`Experiment::suite`] part, in list order), `experiment report` and `merge` (each entry's
//! [`Experiment::report`] section) and `experiment regress` (each entry's
//! [`Experiment::files`]: which CSVs it writes, their key columns and whether their values are
//! deterministic) all iterate [`EXPERIMENTS`]. Adding an experiment is one folder under
//! `experiments/src/` with a unit struct implementing [`Experiment`], and one line in
//! [`EXPERIMENTS`].

use std::path::{Path, PathBuf};

use evictlab_reports::Report;

use crate::ui::Ui;
use crate::workload::Workload;
use crate::{RunError, output};

/// Whether a CSV's values repeat exactly from run to run (same seed, any machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// Every column is deterministic except throughput columns (names ending in `_per_sec`,
    /// judged relative to the reference loop) and wall-clock columns (`_ms` other than
    /// `virtual_ms`, `_usec`, `_ns`, `_secs`, `_seconds`, `seconds`), which `regress`
    /// recognises by name.
    Deterministic,
    /// Measurements of real processes (fork, copy-on-write, RSS, a real server): nothing in
    /// the file is compared exactly.
    Measured,
}

/// One CSV an experiment writes.
#[derive(Clone, Copy, Debug)]
pub struct CsvFile {
    /// File name inside the results directory.
    pub name: &'static str,
    /// Columns that identify a row (besides every non-numeric column, which `regress` also
    /// uses as a key).
    pub keys: &'static [&'static str],
    /// Whether the values are deterministic.
    pub values: Values,
}

impl CsvFile {
    /// A deterministic CSV with these key columns.
    pub const fn deterministic(name: &'static str, keys: &'static [&'static str]) -> CsvFile {
        CsvFile {
            name,
            keys,
            values: Values::Deterministic,
        }
    }

    /// A CSV of measurements.
    pub const fn measured(name: &'static str) -> CsvFile {
        CsvFile {
            name,
            keys: &[],
            values: Values::Measured,
        }
    }
}

/// What a run wrote, for the binary to print.
#[derive(Debug, Default)]
pub struct Ran {
    /// Lines for standard output (what was written, a summary).
    pub lines: Vec<String>,
    /// Lines for standard error (warnings about the measurement).
    pub warnings: Vec<String>,
}

impl Ran {
    /// The usual summary: `<what>; wrote <dir>/<csv>` and the report's path.
    pub fn wrote(what: String, dir: &Path, csv: &str) -> Ran {
        Ran {
            lines: vec![
                format!("{what}; wrote {}", dir.join(csv).display()),
                format!("report: {}", dir.join("report.md").display()),
            ],
            warnings: Vec::new(),
        }
    }
}

/// A workload the suite's hit-rate part loaded, kept for the later parts.
#[derive(Debug)]
pub struct SuiteWorkload {
    /// The requests.
    pub workload: Workload,
    /// Whether the workload sets TTLs (the miss-ratio curves skip those: they ignore expiry).
    pub has_ttls: bool,
}

/// The default suite in progress: one results directory that every experiment's suite part
/// writes into.
#[derive(Debug)]
pub struct SuiteRun<'a> {
    /// The results directory.
    pub dir: PathBuf,
    /// Seed of every engine and generator.
    pub seed: u64,
    /// The small deterministic suite (`--quick`): deterministic parts only.
    pub quick: bool,
    /// Worker threads (all cores when `None`).
    pub threads: Option<usize>,
    /// Progress bars.
    pub ui: &'a Ui,
    /// Notes for the user (skipped parts).
    pub notes: Vec<String>,
    /// Workloads loaded by an earlier part (hit rates) for later ones (miss-ratio curves);
    /// parts that fork worker processes empty it first.
    pub workloads: Vec<SuiteWorkload>,
}

/// An experiment: a subcommand of the `experiment` binary with its arguments, the CSVs it
/// writes, its section of `report.md` (with its plots) and its part of the default suite.
pub trait Experiment: Sync {
    /// The subcommand, e.g. `hitrate`.
    fn name(&self) -> &'static str;

    /// One line for `experiment --help`.
    fn about(&self) -> &'static str;

    /// The subcommand's arguments (usually [`args::<A>`] of a clap `Args` type).
    fn args(&self) -> clap::Command;

    /// Runs the experiment from parsed arguments: writes its CSVs, `metadata.json`, plots and
    /// `report.md`, and says what it wrote.
    fn run(&self, args: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError>;

    /// The CSVs it writes and which of their columns are deterministic.
    fn files(&self) -> &'static [CsvFile];

    /// Adds its section (tables, sentences, plots under `dir/plots`) from its CSVs in `dir`;
    /// returns `false` (and adds nothing) when none of them is there.
    fn report(&self, report: &mut Report, dir: &Path) -> Result<bool, RunError>;

    /// Runs its part of the default suite into `suite.dir` (or adds a note saying why it is
    /// skipped).
    fn suite(&self, suite: &mut SuiteRun) -> Result<(), RunError>;
}

/// Every experiment, in the order of the suite and of `report.md`.
pub static EXPERIMENTS: &[&dyn Experiment] = &[
    &crate::hitrate::cmd::HitrateExperiment,
    &crate::mrc::cmd::MrcExperiment,
    &crate::hcl::HclExperiment,
    &crate::frag::cmd::FragExperiment,
    &crate::cow::cmd::CowExperiment,
    &crate::tune::cmd::TuneExperiment,
    &crate::server::cmd::ServerExperiment,
    &crate::compare::CompareExperiment,
    &crate::memory::MemoryExperiment,
];

/// The experiment called `name`.
pub fn find(name: &str) -> Option<&'static dyn Experiment> {
    EXPERIMENTS.iter().copied().find(|e| e.name() == name)
}

/// The declaration of the CSV called `name` (any experiment's, or `timings.csv`).
pub fn csv_file(name: &str) -> Option<CsvFile> {
    if name == crate::regress::TIMINGS.name {
        return Some(crate::regress::TIMINGS);
    }
    EXPERIMENTS
        .iter()
        .flat_map(|e| e.files())
        .find(|f| f.name == name)
        .copied()
}

/// The subcommand `name` with the arguments of the clap `Args` type `A`.
pub fn args<A: clap::Args>(name: &'static str, about: &'static str) -> clap::Command {
    A::augment_args(clap::Command::new(name).about(about))
}

/// The arguments of type `A` from parsed matches.
pub fn parse<A: clap::FromArgMatches>(m: &clap::ArgMatches) -> Result<A, RunError> {
    A::from_arg_matches(m).map_err(|e| RunError::Arguments {
        message: e.to_string(),
    })
}

/// Reads `dir/name` when it exists (no rows when it does not).
pub fn read_if_present<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> Result<Option<Vec<T>>, RunError> {
    let path = dir.join(name);
    if path.exists() {
        output::read_csv(&path).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_files_are_unique() {
        let mut names: Vec<&str> = EXPERIMENTS.iter().map(|e| e.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EXPERIMENTS.len());
        // A file written by two experiments (cow.csv: snapshots and server BGSAVEs) must be
        // declared the same way by both.
        for e in EXPERIMENTS {
            for f in e.files() {
                let first = csv_file(f.name).unwrap();
                assert_eq!((first.keys, first.values), (f.keys, f.values), "{}", f.name);
            }
            assert_eq!(e.args().get_name(), e.name());
        }
    }
}
