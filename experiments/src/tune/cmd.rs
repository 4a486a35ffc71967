//! `experiment tune`: a workload, a RAM budget, a write rate and persistence settings in;
//! `tuning-report.md` with measured recommendations out (see [`crate::tune`]).
//!
//! The COW and memory measurements fork worker processes from the calling thread: run it
//! from the binary's main thread (as `experiment cow`).

use std::path::{Path, PathBuf};

use evictlab_engine::config::SaveRule;
use evictlab_engine::parse_size;
use evictlab_reports::Report;
use serde::Serialize;

use crate::cow::Distribution;
use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::source::WorkloadArgs;
use crate::tune::report as tune_report;
use crate::tune::{TuneOutcome, TuneParams};
use crate::ui::Ui;
use crate::{RunError, output, tune};

fn size(s: &str) -> Result<u64, String> {
    parse_size(s).ok_or_else(|| {
        format!("invalid size '{s}': expected bytes or a Redis size like 8gb, 512mb, 1.5GiB")
    })
}

fn distribution(s: &str) -> Result<Distribution, String> {
    Distribution::parse(s)
}

/// Parses `save` points as redis.conf writes them: `"900 1 300 100"` (pairs of seconds and
/// changes) or `""` for none.
pub fn parse_save(text: &str) -> Result<Vec<SaveRule>, RunError> {
    let t = text.trim().trim_matches('"');
    let nums: Vec<&str> = t.split_whitespace().collect();
    let bad = || RunError::BadArgument {
        flag: "--save",
        value: text.to_string(),
        expected: "pairs of <seconds> <changes>, e.g. \"3600 1 300 100 60 10000\", or \"\"",
    };
    if !nums.len().is_multiple_of(2) {
        return Err(bad());
    }
    nums.chunks(2)
        .map(|p| {
            Ok(SaveRule {
                seconds: p[0].parse().map_err(|_| bad())?,
                changes: p[1].parse().map_err(|_| bad())?,
            })
        })
        .collect()
}

/// `appendfsync` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppendFsync {
    /// fsync after every write.
    Always,
    /// fsync once a second (Redis's default).
    Everysec,
    /// Leave it to the OS.
    No,
}

/// Arguments of `experiment tune`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct TuneArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub workload: WorkloadArgs,
    /// RAM of the box (Redis units: 8gb, 512mb, or bytes).
    #[arg(long, value_parser = size)]
    pub ram: u64,
    /// Writes per second in production.
    #[arg(long, value_name = "OPS", default_value_t = 1000)]
    pub write_rate: u64,
    /// RDB save points as in redis.conf, e.g. "3600 1 300 100 60 10000" (Redis 7's
    /// default); "" for none.
    #[arg(long, default_value = "3600 1 300 100 60 10000")]
    pub save: String,
    /// appendonly yes.
    #[arg(long)]
    pub appendonly: bool,
    /// appendfsync policy (with --appendonly).
    #[arg(long, value_enum, default_value = "everysec")]
    pub appendfsync: AppendFsync,
    /// Scaled-down dataset sizes (value bytes) for the COW runs, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = size, default_value = "64mb,128mb,256mb")]
    pub dataset_sizes: Vec<u64>,
    /// Bytes per value (default: the trace's mean object size, else 1024).
    #[arg(long)]
    pub value_size: Option<u64>,
    /// Keys in your real keyspace (default: the workload's distinct keys).
    #[arg(long)]
    pub keyspace: Option<u64>,
    /// Emulated disk bandwidth of the snapshot writer (bytes/s, e.g. 200mb).
    #[arg(long, value_parser = size, default_value = "200mb")]
    pub disk_bandwidth: u64,
    /// Other memory to keep free: client output buffers, replication backlog (e.g. 64mb).
    #[arg(long, value_parser = size, default_value = "0")]
    pub reserve: u64,
    /// Distribution of the writes over keys during a save: uniform (worst case) or zipf:S.
    #[arg(long, value_parser = distribution, default_value = "uniform")]
    #[serde(skip)]
    pub write_distribution: Distribution,
    /// Value bytes of the fragmentation probe.
    #[arg(long, value_parser = size, default_value = "64mb")]
    pub memory_dataset: u64,
    /// Engine seeds for the sampled policies (the spread is reported).
    #[arg(long, default_value_t = 3)]
    pub seeds: u32,
    /// Memory model that turns the recommended maxmemory into a key count (repeatable):
    /// `lab-memory-mode redis` (default: Redis 7.0's used_memory) or `logical`,
    /// `lab-jemalloc-quantum 8|16` (default 8: Redis's bundled jemalloc; 16 for Debian's and
    /// Ubuntu's packages), `lab-base-memory SIZE`.
    #[arg(long = "config", value_name = "LINE")]
    pub config: Vec<String>,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
}

/// Runs `experiment tune`; returns the outcome and the report's path.
pub fn run(args: &TuneArgs, ui: &Ui) -> Result<(TuneOutcome, PathBuf), RunError> {
    if args.ram == 0 {
        return Err(RunError::BadArgument {
            flag: "--ram",
            value: "0".into(),
            expected: "a RAM size such as 8gb",
        });
    }
    let save_rules = parse_save(&args.save)?;
    let dir = crate::cmd::out_dir(&args.out, "tune")?;
    let p = TuneParams {
        workload: args.workload.to_input(args.seed)?,
        ram: args.ram,
        write_rate: args.write_rate,
        save_rules,
        appendonly: args.appendonly,
        appendfsync: format!("{:?}", args.appendfsync).to_ascii_lowercase(),
        out: dir.to_path_buf(),
        seed: args.seed,
        dataset_sizes: args.dataset_sizes.clone(),
        value_size: args.value_size,
        keyspace: args.keyspace,
        disk_bandwidth: args.disk_bandwidth,
        reserve: args.reserve,
        write_distribution: args.write_distribution,
        memory_dataset: args.memory_dataset,
        seeds: args.seeds,
        config_lines: args.config.clone(),
    };
    let outcome = tune::run(&p, ui)?;
    output::write_metadata(&dir, "tune", args.seed, args, &crate::cmd::allocator_name())?;
    let path = tune_report::write(&outcome)?;
    // The detailed sections (every hit-rate cell, every snapshot) in report.md.
    crate::cmd::report::render(&dir, "evictlab: tune (details)")?;
    let staged = dir.to_path_buf();
    let dir = dir.commit()?;
    let path = dir.join(path.strip_prefix(&staged).unwrap_or(&path));
    Ok((outcome, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_points_parse_like_redis_conf() {
        let r = parse_save("900 1 300 100").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[1].seconds, r[1].changes), (300, 100));
        assert!(parse_save("\"\"").unwrap().is_empty());
        let e = parse_save("900 1 300").unwrap_err().to_string();
        assert!(e.contains("--save") && e.contains("900 1 300"), "{e}");
        assert!(parse_save("9x 1").is_err());
    }
}

/// `experiment tune` in the list of experiments.
#[derive(Debug)]
pub struct TuneExperiment;

impl Experiment for TuneExperiment {
    fn name(&self) -> &'static str {
        "tune"
    }

    fn about(&self) -> &'static str {
        "From a workload and a RAM budget to maxmemory, policy, THP and overcommit advice."
    }

    fn args(&self) -> clap::Command {
        experiment::args::<TuneArgs>(self.name(), self.about())
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (o, path) = run(&experiment::parse(m)?, ui)?;
        let mut lines = Vec::new();
        if let Some(m) = o.rec("maxmemory_bytes") {
            lines.push(format!("maxmemory {}mb", (m / 1048576.0).floor()));
        }
        lines.push(format!("wrote {}", path.display()));
        Ok(Ran {
            lines,
            warnings: Vec::new(),
        })
    }

    /// The policy sweep replays the engine (deterministic); the memory probe, the COW fits
    /// and the recommendations derived from them are measurements. Tune also writes
    /// `hitrate.csv` and `cow.csv` (declared by those experiments).
    fn files(&self) -> &'static [CsvFile] {
        const FILES: &[CsvFile] = &[
            CsvFile::deterministic(
                "tune_policy.csv",
                &["policy", "samples", "size", "capacity"],
            ),
            CsvFile::measured("tune_memory.csv"),
            CsvFile::measured("tune_fit.csv"),
            CsvFile::measured("tune_recommendation.csv"),
            CsvFile::measured("tune_citations.csv"),
        ];
        FILES
    }

    /// `tuning-report.md` is written from the run's outcome, not re-rendered from CSVs; the
    /// details in `report.md` are the hit-rate and snapshot sections of its CSVs.
    fn report(&self, _report: &mut Report, _dir: &Path) -> Result<bool, RunError> {
        Ok(false)
    }

    /// Not in the suite: it needs a RAM budget and runs minutes of fork measurements.
    fn suite(&self, _suite: &mut SuiteRun) -> Result<(), RunError> {
        Ok(())
    }
}
