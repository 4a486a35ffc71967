//! `experiment cow`: what a snapshot costs in memory, measured on real processes.
//!
//! For every cell of (snapshot mode × THP mode × write rate × repeat) a fresh worker process
//! is forked from the caller. It builds a dataset of `--dataset` bytes of `--value-size`
//! values (materialized, random bytes), sets its THP mode (`off`: `prctl(PR_SET_THP_DISABLE)`
//! as Redis's `disable-thp`; `on`: `madvise(MADV_HUGEPAGE)` + `MADV_COLLAPSE` on the built
//! dataset; `system`: leave the process as the system mode makes it), then takes one
//! snapshot while writing random keys (`uniform` or `zipf:S`) at the cell's rate:
//!
//! With `--rdb FILE` the dataset is a Redis dump's keys instead ([`crate::dump`]), and a
//! write rewrites one of them (a string: new bytes of its length; another type: a copy).
//!
//! * `fork`: a real BGSAVE. The child reports its `Private_Dirty` through a pipe with
//!   Redis's duty cycle; the parent records the series, the fork latency and its own RSS.
//!   When the child has written the file it waits; the parent stops writing and counts the
//!   pages it dirtied (pagemap; see [`evictlab_engine::persist::pages`]) — a page-level
//!   attribution Redis itself cannot give — then lets the child take its final reading.
//! * `forkless`: the serialize-before-mutate snapshot
//!   ([`evictlab_engine::persist::forkless`]) under the same writes; its overhead is the
//!   serializer's buffered bytes and the RSS growth.
//!
//! A fresh process per cell keeps one cell's THP setting, heap layout and split huge pages
//! from contaminating the next. The worker only allocates and does I/O (it must not touch
//! the caller's progress bar or other locks); progress is reported by the caller's side.
//!
//! Outputs (`--out DIR`): `cow.csv` (one row per cell, columns of [`CowRow`]),
//! `cow_timeseries.csv` ([`CowPoint`]: child COW samples and parent RSS samples over time)
//! and `cow_log.txt` (Redis's log lines, e.g. `Fork CoW for RDB: current 12 MB, peak 12 MB,
//! average 6 MB`, and the system warnings).
//!
//! Prediction: `predicted_pages` is the expected number of distinct pages touched by the
//! observed number of writes, from the keys' real page layout at the fork and their write
//! probabilities ([`model`]); `predicted_uniform_pages` is the closed form
//! `P·(1 − (1 − 1/P)^W)` for uniform writes over the value and entry pages.

pub mod cmd;
pub mod model;
pub mod report;
mod worker;

use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use evictlab_engine::parse_size;
use evictlab_engine::persist::{pages, rules, thp};

pub use model::Distribution;
use worker::{Cell, CellResult};

/// Snapshot strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotMode {
    /// BGSAVE by `fork()`.
    Fork,
    /// Serialize-before-mutate, no fork.
    Forkless,
}

impl SnapshotMode {
    /// CSV name.
    pub fn name(self) -> &'static str {
        match self {
            SnapshotMode::Fork => "fork",
            SnapshotMode::Forkless => "forkless",
        }
    }
}

/// Transparent-huge-page setting of the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ThpMode {
    /// Leave the process as the system mode makes it.
    System,
    /// `prctl(PR_SET_THP_DISABLE)` (Redis's `disable-thp yes`).
    Off,
    /// `madvise(MADV_HUGEPAGE)` + `MADV_COLLAPSE` on the dataset.
    On,
}

impl ThpMode {
    /// CSV name.
    pub fn name(self) -> &'static str {
        match self {
            ThpMode::System => "system",
            ThpMode::Off => "off",
            ThpMode::On => "on",
        }
    }
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    parse_size(s).ok_or_else(|| {
        format!("invalid size '{s}': expected bytes or a size like 64mb, 256MiB, 1gb")
    })
}

fn parse_distribution(s: &str) -> Result<Distribution, String> {
    Distribution::parse(s)
}

/// Flags of `experiment cow`.
#[derive(Clone, Debug, clap::Args)]
pub struct CowArgs {
    /// Dataset size: value bytes in total (e.g. 256mb, 1GiB); keys = dataset / value-size.
    #[arg(long, default_value = "256MiB", value_parser = parse_size_arg)]
    pub dataset: u64,
    /// A Redis dump (RDB 9-11: Redis 5.0-7.2) as the dataset instead of --dataset and
    /// --value-size: the writes rewrite its keys (strings: new bytes of the same length;
    /// other types: a copy of the value). `value_size` is 0 in the rows.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dataset", "value_size"])]
    pub rdb: Option<PathBuf>,
    /// With --rdb: load db N alone, or `all` dbs merged into one keyspace (default: the
    /// dump's keys must all be in one db).
    #[arg(long, value_name = "N|all", requires = "rdb", value_parser = crate::dump::parse_db)]
    pub rdb_db: Option<String>,
    /// Bytes per value.
    #[arg(long, default_value_t = 1024)]
    pub value_size: u64,
    /// Writes per second applied during the snapshot, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1000,10000,100000")]
    pub write_rates: Vec<u64>,
    /// Key distribution of the writes: uniform or zipf:S.
    #[arg(long, default_value = "uniform", value_parser = parse_distribution)]
    pub distribution: Distribution,
    /// THP mode(s) of the worker: system, off, on (comma separated for several).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "off,on")]
    pub thp: Vec<ThpMode>,
    /// Snapshot strategy(ies): fork, forkless (comma separated for several).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "fork,forkless"
    )]
    pub snapshot: Vec<SnapshotMode>,
    /// Output directory (cow.csv, cow_timeseries.csv, cow_log.txt): set by the caller (the
    /// `cow` command stages it from `--out`, see [`crate::outdir`]).
    #[arg(skip = PathBuf::from("results/cow"))]
    pub out: PathBuf,
    /// Seed for the dataset, the key choice and the Zipf permutation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Emulated disk bandwidth of the snapshot writer, bytes per second (e.g. 200mb; 0 =
    /// unthrottled), so saves last long enough to watch COW grow.
    #[arg(long, default_value = "0", value_parser = parse_size_arg)]
    pub save_bandwidth: u64,
    /// Minimum time between the child's COW reports, ms (Redis: 1000).
    #[arg(long, default_value_t = 50)]
    pub report_period_ms: u64,
    /// Duty cycle of the child's Private_Dirty readings (Redis: 100).
    #[arg(long, default_value_t = 100)]
    pub duty_cycle: u64,
    /// Repetitions of each cell.
    #[arg(long, default_value_t = 1)]
    pub repeats: u32,
    /// Compress string payloads in the snapshot (LZ4; Redis uses LZF).
    #[arg(long)]
    pub compression: bool,
    /// Skip fsync of the snapshot file (faster, less realistic).
    #[arg(long)]
    pub no_fsync: bool,
}

impl CowArgs {
    /// Checks the arguments; every error names the flag, the value and what is accepted.
    pub fn validate(&self) -> Result<(), CowError> {
        let bad = |flag: &'static str, value: String, expected: &'static str| {
            Err(CowError::BadArgument {
                flag,
                value,
                expected,
            })
        };
        if self.value_size == 0 {
            return bad(
                "--value-size",
                "0".into(),
                "a value size of at least 1 byte",
            );
        }
        if self.dataset < self.value_size {
            return bad(
                "--dataset",
                self.dataset.to_string(),
                "a dataset at least as large as one value",
            );
        }
        if self.dataset / self.value_size > u32::MAX as u64 {
            return bad("--dataset", self.dataset.to_string(), "at most 2^32-1 keys");
        }
        if self.write_rates.is_empty() {
            return bad(
                "--write-rates",
                String::new(),
                "a comma-separated list of writes/s",
            );
        }
        if self.thp.is_empty() || self.snapshot.is_empty() {
            return bad("--thp/--snapshot", String::new(), "at least one mode");
        }
        if self.repeats == 0 {
            return bad("--repeats", "0".into(), "at least 1");
        }
        Ok(())
    }
}

/// One row of `cow.csv`: one snapshot under one workload. Missing columns read as their
/// defaults, so rows written by other tools (e.g. `snapshot = redis-bgsave`) load too.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CowRow {
    /// `fork` or `forkless`.
    pub snapshot: String,
    /// Requested dataset (value bytes).
    pub dataset_bytes: u64,
    /// Keys in the dataset.
    pub keys: u64,
    /// Bytes per value.
    pub value_size: u64,
    /// `uniform` or `zipf:S`.
    pub distribution: String,
    /// Requested writes per second.
    pub write_rate: u64,
    /// THP mode of the worker (`system`, `off`, `on`).
    pub thp: String,
    /// Repetition index.
    pub repeat: u32,
    /// Seed.
    pub seed: u64,
    /// Duration of the `fork()` call in the parent, µs (INFO `latest_fork_usec`).
    pub fork_usec: u64,
    /// Fork time per GiB of parent RSS, ms.
    pub fork_ms_per_gb: f64,
    /// Fork (or start) to the file being written, ms.
    pub save_ms: f64,
    /// Writes applied while the snapshot ran.
    pub writes_during_save: u64,
    /// Writes per second actually achieved during the save.
    pub achieved_write_rate: f64,
    /// Distinct keys among those writes.
    pub distinct_keys_written: u64,
    /// Ground truth: pages present at the fork that the parent copied (see
    /// `ground_truth_method`).
    pub dirtied_pages: u64,
    /// Pages present at the fork that the parent unmapped (child keeps the only copy).
    pub released_pages: u64,
    /// Pages of the values and entries the workload wrote (software tracking).
    pub written_pages: u64,
    /// `pagemap-exclusive`, `soft-dirty`, `written-addresses` or `n/a` (forkless).
    pub ground_truth_method: String,
    /// The child's own Private_Dirty right after the fork (subtracted below).
    pub cow_baseline_bytes: u64,
    /// Peak of the child's Private_Dirty minus its baseline.
    pub cow_peak_bytes: u64,
    /// Final (fresh) reading minus the baseline.
    pub cow_final_bytes: u64,
    /// Mean of the fresh readings minus the baseline.
    pub cow_average_bytes: u64,
    /// COW samples received.
    pub cow_samples: u64,
    /// Model: expected distinct pages dirtied by `writes_during_save` writes.
    pub predicted_pages: f64,
    /// `predicted_pages` × page size.
    pub predicted_cow_bytes: u64,
    /// Closed form `P·(1 − (1 − 1/P)^W)` for uniform writes, over the value pages plus the
    /// entry pages ([`model::closed_form_pages`]).
    pub predicted_uniform_pages: f64,
    /// Parent RSS before the snapshot.
    pub parent_rss_start_bytes: u64,
    /// Largest parent RSS during the snapshot.
    pub parent_rss_peak_bytes: u64,
    /// Extra memory the snapshot cost at its peak: parent RSS growth plus (fork) the child's
    /// COW peak.
    pub extra_memory_peak_bytes: u64,
    /// Forkless: largest amount of serialized data buffered at once.
    pub forkless_buffer_peak_bytes: u64,
    /// Forkless: keys serialized by the before-mutation hook.
    pub forkless_keys_by_hook: u64,
    /// `AnonHugePages` of the worker after the dataset was built.
    pub anon_huge_bytes: u64,
    /// System THP mode.
    pub thp_system: String,
    /// Snapshot file size.
    pub snapshot_bytes: u64,
    /// Page size.
    pub page_size: u64,
    /// `ok` or what went wrong.
    pub status: String,
}

/// One row of `cow_timeseries.csv` (missing columns read as their defaults).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CowPoint {
    /// `fork` or `forkless`.
    pub snapshot: String,
    /// THP mode.
    pub thp: String,
    /// Requested writes per second.
    pub write_rate: u64,
    /// Key distribution.
    pub distribution: String,
    /// Dataset bytes.
    pub dataset_bytes: u64,
    /// Value size.
    pub value_size: u64,
    /// Repetition index.
    pub repeat: u32,
    /// `child` (a COW report) or `parent` (an RSS sample).
    pub source: String,
    /// Time since the fork (or start), ms.
    pub t_ms: f64,
    /// Child: Private_Dirty minus baseline.
    pub cow_bytes: Option<u64>,
    /// Child: raw Private_Dirty.
    pub private_dirty_bytes: Option<u64>,
    /// Child: read afresh (false: re-sent under the duty cycle).
    pub fresh: Option<bool>,
    /// Keys serialized so far.
    pub keys_processed: Option<u64>,
    /// Writes applied so far by the parent.
    pub writes: Option<u64>,
    /// Parent RSS.
    pub parent_rss_bytes: Option<u64>,
    /// Forkless: peak buffered bytes so far.
    pub buffered_bytes: Option<u64>,
}

/// What a run produced.
#[derive(Clone, Debug, Default)]
pub struct CowSummary {
    /// The rows, in cell order.
    pub rows: Vec<CowRow>,
    /// `DIR/cow.csv`.
    pub csv: PathBuf,
    /// `DIR/cow_timeseries.csv`.
    pub timeseries_csv: PathBuf,
    /// `DIR/cow_log.txt`.
    pub log_file: PathBuf,
    /// Log lines (Redis's texts and the lab's notes), also in the log file.
    pub log: Vec<String>,
    /// System THP mode.
    pub thp_system: String,
    /// `/proc/sys/vm/overcommit_memory`, if readable.
    pub overcommit_memory: Option<u32>,
    /// Redis's overcommit warning when it applies.
    pub overcommit_warning: Option<String>,
    /// Ground-truth method available on this kernel.
    pub ground_truth_method: String,
    /// Mean fork latency per GiB of RSS, ms, with THP off / on (when measured).
    pub fork_ms_per_gb_thp_off: Option<f64>,
    /// See `fork_ms_per_gb_thp_off`.
    pub fork_ms_per_gb_thp_on: Option<f64>,
}

/// Progress of a run, given to the caller's callback after each cell.
#[derive(Clone, Debug)]
pub struct CowProgress<'a> {
    /// Cells finished.
    pub done: usize,
    /// Cells in the run.
    pub total: usize,
    /// The cell just finished, e.g. `fork thp=off rate=10000`.
    pub label: String,
    /// Its row.
    pub row: &'a CowRow,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum CowError {
    /// A bad flag value.
    #[error("invalid value '{value}' for {flag}: expected {expected}")]
    BadArgument {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {message}")]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A worker process could not be started or died.
    #[error("worker for cell '{cell}' failed: {message}")]
    Worker {
        /// The cell.
        cell: String,
        /// What happened.
        message: String,
    },
}

/// The quick preset for the default suite: 32 MiB of 1 KiB values, writes at 0, 20k and
/// 100k per second, THP off and on, fork and forkless, a 96 MB/s emulated disk (saves of
/// about a third of a second). About 10–20 s on two cores.
pub fn quick_args(out: &Path) -> CowArgs {
    CowArgs {
        dataset: 32 << 20,
        rdb: None,
        rdb_db: None,
        value_size: 1024,
        write_rates: vec![0, 20_000, 100_000],
        distribution: Distribution::Uniform,
        thp: vec![ThpMode::Off, ThpMode::On],
        snapshot: vec![SnapshotMode::Fork, SnapshotMode::Forkless],
        out: out.to_path_buf(),
        seed: 1,
        save_bandwidth: 96 << 20,
        report_period_ms: 20,
        duty_cycle: 100,
        repeats: 1,
        compression: false,
        no_fsync: false,
    }
}

/// Runs the experiment without progress reports.
pub fn run(args: &CowArgs) -> Result<CowSummary, CowError> {
    run_with_progress(args, &mut |_| {})
}

/// Runs the quick preset into `out`.
pub fn run_quick(
    out: &Path,
    progress: &mut dyn FnMut(&CowProgress<'_>),
) -> Result<CowSummary, CowError> {
    run_with_progress(&quick_args(out), progress)
}

fn cells(args: &CowArgs) -> Vec<Cell> {
    let mut v = Vec::new();
    for &snapshot in &args.snapshot {
        for &thp in &args.thp {
            for &write_rate in &args.write_rates {
                for repeat in 0..args.repeats {
                    v.push(Cell {
                        snapshot,
                        thp,
                        write_rate,
                        repeat,
                        dataset_bytes: args.dataset,
                        value_size: args.value_size,
                        distribution: args.distribution,
                        seed: args.seed,
                        save_bandwidth: args.save_bandwidth,
                        report_period_ms: args.report_period_ms,
                        duty_cycle: args.duty_cycle,
                        compression: args.compression,
                        fsync: !args.no_fsync,
                        rdb: args.rdb.clone().map(|p| (p, args.rdb_db.clone())),
                    });
                }
            }
        }
    }
    v
}

fn label(c: &Cell) -> String {
    format!(
        "{} thp={} rate={}{}",
        c.snapshot.name(),
        c.thp.name(),
        c.write_rate,
        if c.repeat > 0 {
            format!(" repeat={}", c.repeat)
        } else {
            String::new()
        }
    )
}

/// Runs one cell in a forked worker and collects its result.
fn run_in_worker(cell: &Cell, work_dir: &Path) -> Result<CellResult, String> {
    fork_call("worker", || worker::run_cell(cell, work_dir))
}

/// Runs `f` in a forked child with a fresh view of the heap and returns its result, sent
/// back as JSON through a pipe; the child leaves with `_exit`. `what` names the child in
/// errors.
///
/// Call it from a thread that holds no lock the child could need: the child only runs `f`
/// (allocation through the fork-safe allocators, file and /proc I/O, further forks) and
/// reports through the pipe, but a lock another thread held at the fork stays held in it.
pub fn fork_call<T, F>(what: &str, f: F) -> Result<T, String>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnOnce() -> Result<T, String>,
{
    let (rx, tx) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: see the function's doc: the child runs `f`, writes to the pipe and _exits; it
    // never returns into the caller's code.
    match unsafe { nix::unistd::fork() } {
        Err(e) => Err(format!("fork of the {what}: {e}")),
        Ok(nix::unistd::ForkResult::Child) => {
            drop(rx);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .unwrap_or_else(|_| Err(format!("the {what} panicked")));
            let bytes = serde_json::to_vec(&r).unwrap_or_default();
            let mut off = 0;
            while off < bytes.len() {
                match nix::unistd::write(tx.as_fd(), &bytes[off..]) {
                    Ok(n) => off += n,
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => break,
                }
            }
            // SAFETY: ends the child without running the caller's exit handlers.
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(tx);
            let mut buf = Vec::new();
            let read = std::fs::File::from(rx).read_to_end(&mut buf);
            let status = nix::sys::wait::waitpid(child, None);
            read.map_err(|e| format!("reading the {what}'s result: {e}"))?;
            match status {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => {}
                other => return Err(format!("{what} ended with {other:?}")),
            }
            serde_json::from_slice::<Result<T, String>>(&buf)
                .map_err(|e| format!("unreadable {what} result: {e}"))?
        }
    }
}

fn write_csv<T: serde::Serialize>(path: &Path, rows: &[T]) -> Result<(), CowError> {
    let err = |e: &dyn std::fmt::Display| CowError::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_path(path).map_err(|e| err(&e))?;
    for r in rows {
        w.serialize(r).map_err(|e| err(&e))?;
    }
    w.flush().map_err(|e| err(&e))
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// Runs the experiment, calling `progress` after each cell, and writes the CSVs.
pub fn run_with_progress(
    args: &CowArgs,
    progress: &mut dyn FnMut(&CowProgress<'_>),
) -> Result<CowSummary, CowError> {
    args.validate()?;
    let out_err = |p: &Path, e: std::io::Error| CowError::Output {
        path: p.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&args.out).map_err(|e| out_err(&args.out, e))?;
    let work = args.out.join(".cow-work");
    std::fs::create_dir_all(&work).map_err(|e| out_err(&work, e))?;
    let mut summary = CowSummary {
        csv: args.out.join("cow.csv"),
        timeseries_csv: args.out.join("cow_timeseries.csv"),
        log_file: args.out.join("cow_log.txt"),
        thp_system: thp::system_mode(),
        overcommit_memory: rules::overcommit_memory(),
        ground_truth_method: pages::best_method().name().into(),
        ..CowSummary::default()
    };
    summary.overcommit_warning = summary
        .overcommit_memory
        .and_then(|m| rules::overcommit_warning(m, false));
    if let Some(w) = &summary.overcommit_warning {
        summary.log.push(w.clone());
    }
    if summary.ground_truth_method != "soft-dirty" {
        summary.log.push(format!(
            "soft-dirty bits unavailable on this kernel (CONFIG_MEM_SOFT_DIRTY); ground truth uses {}",
            summary.ground_truth_method
        ));
    }
    let cells = cells(args);
    let mut points = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let name = label(cell);
        let result = run_in_worker(cell, &work).map_err(|message| CowError::Worker {
            cell: name.clone(),
            message,
        })?;
        summary
            .log
            .extend(result.log.iter().map(|l| format!("[{name}] {l}")));
        points.extend(result.points);
        summary.rows.push(result.row);
        if let Some(row) = summary.rows.last() {
            progress(&CowProgress {
                done: i + 1,
                total: cells.len(),
                label: name,
                row,
            });
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    write_csv(&summary.csv, &summary.rows)?;
    write_csv(&summary.timeseries_csv, &points)?;
    std::fs::write(&summary.log_file, summary.log.join("\n") + "\n")
        .map_err(|e| out_err(&summary.log_file, e))?;
    let fork_rate = |mode: &str| {
        mean(
            summary
                .rows
                .iter()
                .filter(|r| r.snapshot == "fork" && r.thp == mode && r.status == "ok")
                .map(|r| r.fork_ms_per_gb),
        )
    };
    summary.fork_ms_per_gb_thp_off = fork_rate("off");
    summary.fork_ms_per_gb_thp_on = fork_rate("on");
    Ok(summary)
}
