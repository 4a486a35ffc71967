//! `experiment export`: write a generated workload as the lab's CSV or as libCacheSim's
//! oracleGeneral (next access computed), so other simulators replay it exactly.

use std::path::PathBuf;

use evictlab_workloads::{ExportFormat, WorkloadSpec};

use crate::RunError;

/// Arguments of `experiment export`.
#[derive(clap::Args, Clone, Debug)]
pub struct ExportArgs {
    /// Generator SPEC (see `experiment list workloads`).
    #[arg(long, value_name = "SPEC")]
    pub workload: String,
    /// Distinct keys.
    #[arg(long, value_name = "N")]
    pub keys: u64,
    /// Requests.
    #[arg(long, value_name = "N")]
    pub requests: u64,
    /// Seed of the generator.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// `csv` (the lab's format) or `oracle-general` (libCacheSim; `.zst` suffix compresses).
    #[arg(long, value_name = "csv|oracle-general")]
    pub format: String,
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Writes the file; returns the number of requests written.
pub fn run(args: &ExportArgs) -> Result<u64, RunError> {
    let werr = |e| RunError::Workload {
        name: args.workload.clone(),
        source: e,
    };
    let spec: WorkloadSpec = args.workload.parse().map_err(werr)?;
    let format = ExportFormat::from_name(&args.format).map_err(werr)?;
    let mut src = spec
        .build(args.keys, args.requests, args.seed)
        .map_err(werr)?;
    evictlab_workloads::export(src.as_mut(), format, &args.out).map_err(werr)
}
