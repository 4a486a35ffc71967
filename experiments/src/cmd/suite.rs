//! The default suite (`experiment` with no arguments): a quick tour of every experiment,
//! sized to finish in about a minute of a release build on 2 cores, written to
//! `results/suite-<timestamp>/` with one `report.md`.

use std::path::PathBuf;

use serde::Serialize;

use crate::experiment::{EXPERIMENTS, SuiteRun};
use crate::ui::Ui;
use crate::{RunError, output};

/// Arguments of the default suite.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct SuiteArgs {
    /// Seed of every engine and generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// A smaller deterministic suite (synthetic workloads of 10 000 keys and 200 000
    /// requests, no traces): what `tests/baselines/quick-suite` holds for `experiment regress`.
    #[arg(long)]
    pub quick: bool,
}

/// What the suite wrote.
#[derive(Debug)]
pub struct SuiteOutcome {
    /// The results directory.
    pub dir: PathBuf,
    /// Notes for the user (e.g. skipped parts).
    pub notes: Vec<String>,
}

/// Runs the suite: every experiment's suite part, in the order of [`EXPERIMENTS`], into
/// one directory.
pub fn run(args: &SuiteArgs, ui: &Ui) -> Result<SuiteOutcome, RunError> {
    let out = crate::cmd::out_dir(&args.out, "suite")?;
    let mut suite = SuiteRun {
        dir: out.to_path_buf(),
        seed: args.seed,
        quick: args.quick,
        threads: args.threads,
        ui,
        notes: Vec::new(),
        workloads: Vec::new(),
    };
    for e in EXPERIMENTS {
        e.suite(&mut suite)?;
    }
    let SuiteRun { dir, notes, .. } = suite;
    // The reference loop's speed, so `experiment regress` can judge requests_per_sec.
    crate::regress::write_timings(&dir, crate::regress::SUITE_REFERENCE)?;
    output::write_metadata(&dir, "suite", args.seed, args, &super::allocator_name())?;
    super::report::render(&dir, "evictlab: default suite")?;
    Ok(SuiteOutcome {
        dir: out.commit()?,
        notes,
    })
}
