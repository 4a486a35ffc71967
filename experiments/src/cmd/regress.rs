//! `experiment regress --baseline DIR --current DIR`: the regression gate (see
//! [`crate::regress`]). Returns the outcome; the binary prints the table and exits non-zero
//! when a check failed.

use std::path::PathBuf;

use crate::RunError;
use crate::regress::{RegressOutcome, compare_dirs};

/// Arguments of `experiment regress`.
#[derive(clap::Args, Clone, Debug)]
pub struct RegressArgs {
    /// The baseline results directory (e.g. tests/baselines/quick-suite).
    #[arg(long, value_name = "DIR")]
    pub baseline: PathBuf,
    /// The results directory to check.
    #[arg(long, value_name = "DIR")]
    pub current: PathBuf,
    /// Accepted slowdown of throughput relative to the reference loop (0.3 = 30 %; this VM's
    /// run-to-run noise is about ±8 %).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.3)]
    pub tolerance: f64,
}

/// Compares the two directories.
pub fn run(args: &RegressArgs) -> Result<RegressOutcome, RunError> {
    if !(args.tolerance.is_finite() && (0.0..1.0).contains(&args.tolerance)) {
        return Err(RunError::BadArgument {
            flag: "--tolerance",
            value: args.tolerance.to_string(),
            expected: "a fraction in [0, 1)",
        });
    }
    for d in [&args.baseline, &args.current] {
        if !d.is_dir() {
            return Err(RunError::Io {
                path: d.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
    }
    compare_dirs(&args.baseline, &args.current, args.tolerance)
}
