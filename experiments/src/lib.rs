//! # evictlab-experiments
//!
//! The experiments behind the `experiment` binary: each module owns its command-line
//! arguments (clap `Args`), runs engines and workloads, and writes tidy CSVs, metadata and
//! reports into a results directory. Libraries do not print: progress goes through the
//! `indicatif` bars or callbacks the binary passes in.
//!
//! # Layout
//!
//! Each experiment is one folder: its runner, rows, report section and command-line glue
//! (an [`experiment::Experiment`] implementation listed in [`experiment::EXPERIMENTS`]).
//!
//! - [`experiment`] — the [`experiment::Experiment`] trait and the one list of experiments
//!   that the binary, the suite, `report`, `regress` and `merge` iterate.
//! - [`grid`] — the one cell grid (policies × samples × sizes, fill-on-miss) and the engine
//!   options, as clap flags and TOML spec fields from one definition, checked once.
//! - [`hitrate`] — `experiment hitrate`: the hit-rate runner (one cell's replay, parallel
//!   runs), `hitrate.csv` rows (`row`: the columns `server.csv` shares); `modelled`: a size fraction
//!   under the redis model; `report`, `cmd`.
//! - [`mrc`] — `experiment mrc`: LRU miss-ratio curves in one pass, exact stack distances
//!   (`stack`: the LRU stack, bitmap + Fenwick tree) and SHARDS fixed-rate / fixed-size
//!   sampling, `mrc.csv`; `report`, `cmd`.
//! - [`hcl`] — `experiment hcl`: the HCL Cache scenario on the engine (`scenario`: data
//!   hashes, dependency sets, maintenance jobs) under each policy, `hcl.csv`, report section.
//! - [`frag`] — `experiment frag`: fill/delete/refill/churn/idle/defrag phases per allocator in
//!   worker processes (`worker`), per-key overhead (`overhead`), active defragmentation
//!   (`defrag`); `report`, `cmd`.
//! - [`memory`] — `experiment memory`: the data's RAM in Redis 7.0 (logical vs the redis
//!   model), by type and encoding; `memory.csv`, `memory_by_type.csv`, `report`.
//! - [`cow`] — `experiment cow`: fork vs forkless snapshots under writes, copy-on-write measured
//!   from the child's `Private_Dirty`, page-level ground truth, the prediction; `report`, `cmd`.
//! - [`tune`] — `experiment tune`: a pipeline of named steps — `memory` (probe), `fit` (COW
//!   runs and least-squares lines), `budget` (maxmemory and the derived figures), `policy`
//!   (hit ratio around the budget); `report` writes `tuning-report.md` citing every number
//!   (`tune_citations.csv`).
//! - [`server`] — `experiment server`: replaying a workload against a real Redis-protocol
//!   server — `client` (connection, INFO, the replay script), `replay` (one cell, maxmemory
//!   calibration), `bgsave` (BGSAVE under writes); `report`, `cmd`.
//! - [`compare`] — `experiment compare`: the engine and a real server on the same cells.
//! - [`cmd`] — the commands that are not experiments (`run`, `merge`, `suite`, `report`,
//!   `regress`, `list`, `export`) and the helpers every command shares.
//! - [`source`] — `--trace` / `--workload` arguments into a loaded workload.
//! - [`dump`] — `--rdb FILE`: a Redis dump as the dataset of `memory`, `cow` and `frag`.
//! - [`ui`] — progress bars handed in by the binary.
//! - [`sweep`] — declarative TOML sweeps: validation, the cell grid, shards.
//! - [`workload`] — a workload loaded in memory: requests, working set, next accesses.
//! - [`output`] — CSV and JSON writing, `metadata.json`, run directory names.
//! - [`outdir`] — `--out`/`--overwrite` and results directories staged and renamed into place.
//! - [`alloc`] — [`alloc::LabAllocator`]: the counting global allocator dispatching at run time
//!   to glibc, jemalloc or mimalloc; allocator stats, purge, the jemalloc defrag hint.
//! - [`mem`] — one memory sample: counted used bytes, RSS (`/proc/self/statm`), allocator stats.
//! - [`regress`] — the regression gate: exact deterministic columns, throughput relative to a
//!   reference loop (`timings.csv`).
//! - [`timing`] — the fastest of repeated runs of a short deterministic computation (`mrc`
//!   passes), so one scheduler tick does not make its throughput.

// Errors are cold-path values that carry the file, field, value and what is accepted (the
// lab's error convention), so `RunError` is larger than clippy's 128-byte default; boxing it
// would buy nothing on a path taken once per run. `WorkloadInput` is built once per sweep.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

pub mod alloc;
pub mod cmd;
pub mod compare;
pub mod cow;
pub mod dump;
pub mod experiment;
pub mod frag;
pub mod grid;
pub mod hcl;
pub mod hitrate;
pub mod mem;
pub mod memory;
pub mod mrc;
pub mod outdir;
pub mod output;
pub mod regress;
pub mod server;
pub mod source;
pub mod sweep;
pub mod timing;
pub mod tune;
pub mod ui;
pub mod workload;

use std::path::PathBuf;

/// Errors running an experiment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A CSV or JSON file could not be written or parsed.
    #[error("{path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What went wrong (with the row when reading).
        message: String,
    },
    /// An engine configuration was rejected.
    #[error(transparent)]
    Config {
        /// The configuration error.
        #[from]
        source: evictlab_engine::ConfigError,
    },
    /// A workload could not be read or generated.
    #[error("{}", workload_message(.name, .source))]
    Workload {
        /// The workload.
        name: String,
        /// The error.
        source: evictlab_workloads::WorkloadError,
    },
    /// A plot or report could not be written.
    #[error("report: {message}")]
    Report {
        /// What failed (names the chart and file).
        message: String,
    },
    /// A policy name is not in the registry.
    #[error("unknown policy '{name}'; known policies: {known}")]
    UnknownPolicy {
        /// The name given.
        name: String,
        /// The registry's names.
        known: String,
    },
    /// Parsed command-line arguments do not fit an experiment's arguments.
    #[error("arguments: {message}")]
    Arguments {
        /// clap's message.
        message: String,
    },
    /// A command-line value is not accepted.
    #[error("invalid value '{value}' for {flag}: expected {expected}")]
    BadArgument {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// An extra config line sets a parameter the grid sets per cell.
    #[error(
        "config line `{line}` sets {param}, which the grid sets per cell (each row states the grid's value): use {grid} instead"
    )]
    GridConflict {
        /// The config line(s).
        line: String,
        /// The grid parameter.
        param: &'static str,
        /// The flag (and sweep-spec field) that sets it.
        grid: &'static str,
    },
    /// A grid flag is not accepted.
    #[error(transparent)]
    Grid(#[from] grid::GridError),
    /// A sweep spec is invalid.
    #[error(transparent)]
    Spec(#[from] sweep::SpecError),
    /// Result directories cannot be merged.
    #[error("merge: {message}")]
    Merge {
        /// Why.
        message: String,
    },
    /// A policy needs next-access information the workload does not have.
    #[error(
        "policy {policy} needs each request's next access, which workload {workload} does not carry (run the next-access pre-pass)"
    )]
    NeedsNextAccess {
        /// The policy.
        policy: &'static str,
        /// The workload.
        workload: String,
    },
    /// A Redis dump (`--rdb`) could not be read or loaded.
    #[error(transparent)]
    Rdb(#[from] evictlab_engine::persist::rdb::RdbError),
    /// A real server refused a command or could not be reached.
    #[error("server {url}: {message}")]
    Server {
        /// The server URL.
        url: String,
        /// The command and the server's or client's error.
        message: String,
    },
}

/// `workload NAME: ERROR`, or just `ERROR` when it already names the workload (a trace
/// error names its file): each thing is said once.
fn workload_message(name: &str, source: &evictlab_workloads::WorkloadError) -> String {
    let text = source.to_string();
    if text.contains(name) {
        text
    } else {
        format!("workload {name}: {text}")
    }
}
