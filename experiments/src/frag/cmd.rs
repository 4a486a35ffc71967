//! `experiment frag`: used memory versus RSS per allocator through fill → delete → refill →
//! eviction churn → idle → active defragmentation; per-key overhead (see [`crate::frag`]).
//!
//! The command re-executes its own binary once per allocator (`frag --worker NAME` with
//! `EVICTLAB_ALLOCATOR=NAME`), collects the workers' results and writes `frag.csv`,
//! `overhead.csv`, `defrag.csv`, `metadata.json`, plots and `report.md`.

use std::path::{Path, PathBuf};

use evictlab_reports::Report;
use serde::Serialize;

use crate::alloc::{self, Allocator};
use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::frag::{self, DefragConfig, DefragRow, FragConfig, FragRow, OverheadRow, WorkerResult};
use crate::ui::Ui;
use crate::{RunError, output};

/// Arguments of `experiment frag`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct FragArgs {
    /// Allocators to compare, comma-separated: system (glibc malloc), jemalloc, mimalloc.
    #[arg(long, default_value = "system,jemalloc,mimalloc")]
    pub allocators: String,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
    /// The quick preset: 24 MiB fill, 20 k overhead keys, 300 ms idle,
    /// active-defrag-ignore-bytes scaled to 1 MB (explicit flags still win).
    #[arg(long)]
    pub quick: bool,
    /// Logical bytes (keys + values) of the fill phase (default 256mb; quick 24mb).
    #[arg(long)]
    pub fill: Option<String>,
    /// Value sizes of the fill, LO-HI bytes, uniform.
    #[arg(long, default_value = "64-512")]
    pub sizes: String,
    /// A Redis dump (RDB 9-11: Redis 5.0-7.2) as the fill phase's keys instead of --fill
    /// and --sizes.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fill", "sizes"])]
    pub rdb: Option<PathBuf>,
    /// With --rdb: load db N alone, or `all` dbs merged into one keyspace (default: the
    /// dump's keys must all be in one db).
    #[arg(long, value_name = "N|all", requires = "rdb", value_parser = crate::dump::parse_db)]
    pub rdb_db: Option<String>,
    /// Value sizes of the refill, LO-HI bytes, uniform.
    #[arg(long, default_value = "512-2048")]
    pub refill_sizes: String,
    /// Probability that a fill key is deleted (Redis FAQ: 2 GB of 5 GB = 0.4).
    #[arg(long, default_value_t = 0.4)]
    pub delete_fraction: f64,
    /// maxmemory of the churn phase, as a fraction of used memory after the refill.
    #[arg(long, default_value_t = 0.8)]
    pub churn_maxmemory: f64,
    /// Writes of the churn phase, as a multiple of the fill's keys.
    #[arg(long, default_value_t = 1.0)]
    pub churn_writes: f64,
    /// Idle phase length, ms (default 2000; quick 300).
    #[arg(long)]
    pub idle_ms: Option<u64>,
    /// Sample period, ms (default 100 as Redis; quick 50).
    #[arg(long)]
    pub sample_ms: Option<u64>,
    /// Purge the allocator after every phase (Redis's MEMORY PURGE; malloc_trim(0) on glibc).
    #[arg(long)]
    pub purge: bool,
    /// Keys per per-key-overhead measurement (default 200000; quick 20000; 0 skips it).
    #[arg(long)]
    pub overhead_keys: Option<u64>,
    /// Skip active defragmentation.
    #[arg(long)]
    pub no_defrag: bool,
    /// active-defrag-ignore-bytes (default 100mb as Redis; quick 1mb).
    #[arg(long)]
    pub defrag_ignore_bytes: Option<String>,
    /// active-defrag-threshold-lower, %.
    #[arg(long, default_value_t = 10.0)]
    pub defrag_threshold_lower: f64,
    /// active-defrag-threshold-upper, %.
    #[arg(long, default_value_t = 100.0)]
    pub defrag_threshold_upper: f64,
    /// active-defrag-cycle-min, % CPU.
    #[arg(long, default_value_t = 1.0)]
    pub defrag_cycle_min: f64,
    /// active-defrag-cycle-max, % CPU.
    #[arg(long, default_value_t = 25.0)]
    pub defrag_cycle_max: f64,
    /// Seed of the sizes and deletions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Internal: run one allocator's phases in this process (set by the parent).
    #[arg(long, hide = true)]
    pub worker: Option<String>,
    /// Internal: the resolved configuration (JSON) for a worker.
    #[arg(long, hide = true)]
    pub worker_config: Option<String>,
    /// Internal: where a worker writes its result (JSON).
    #[arg(long, hide = true)]
    pub worker_out: Option<PathBuf>,
}

/// What `experiment frag` did.
#[derive(Debug)]
pub enum FragOutcome {
    /// The comparison ran; the results directory.
    Ran {
        /// The directory.
        dir: PathBuf,
        /// One line per allocator (FAQ numbers) for the terminal.
        summary: Vec<String>,
    },
    /// This process was a worker and wrote its result file.
    Worker,
}

fn size(flag: &'static str, text: &str) -> Result<u64, RunError> {
    evictlab_engine::parse_size(text).ok_or_else(|| RunError::BadArgument {
        flag,
        value: text.to_string(),
        expected: "a size in bytes, e.g. 64mb, 1gb, 1048576",
    })
}

/// The resolved configuration of `args`.
pub fn config(args: &FragArgs) -> Result<FragConfig, RunError> {
    let base = if args.quick {
        FragConfig::quick(args.seed)
    } else {
        FragConfig::full(args.seed)
    };
    let defrag = if args.no_defrag {
        None
    } else {
        let d = base.defrag.clone().unwrap_or_default();
        Some(DefragConfig {
            ignore_bytes: match &args.defrag_ignore_bytes {
                Some(t) => size("--defrag-ignore-bytes", t)?,
                None => d.ignore_bytes,
            },
            threshold_lower: args.defrag_threshold_lower,
            threshold_upper: args.defrag_threshold_upper,
            cycle_min: args.defrag_cycle_min,
            cycle_max: args.defrag_cycle_max,
            ..d
        })
    };
    let cfg = FragConfig {
        fill_bytes: match &args.fill {
            Some(t) => size("--fill", t)?,
            None => base.fill_bytes,
        },
        fill_sizes: frag::parse_range("--sizes", &args.sizes)?,
        refill_sizes: frag::parse_range("--refill-sizes", &args.refill_sizes)?,
        delete_fraction: args.delete_fraction,
        churn_maxmemory: args.churn_maxmemory,
        churn_writes: args.churn_writes,
        idle_ms: args.idle_ms.unwrap_or(base.idle_ms),
        sample_ms: args.sample_ms.unwrap_or(base.sample_ms),
        purge: args.purge,
        overhead_keys: args.overhead_keys.unwrap_or(base.overhead_keys),
        defrag,
        rdb: args.rdb.clone().map(|p| (p, args.rdb_db.clone())),
        ..base
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Runs `experiment frag` (or, with `--worker`, one allocator's worker).
pub fn run(args: &FragArgs, ui: &Ui) -> Result<FragOutcome, RunError> {
    if let Some(name) = &args.worker {
        return run_as_worker(name, args);
    }
    let allocators =
        alloc::parse_allocators(&args.allocators).map_err(|v| RunError::BadArgument {
            flag: "--allocators",
            value: v,
            expected: "a comma-separated list of system, jemalloc, mimalloc",
        })?;
    let cfg = config(args)?;
    if !frag::can_spawn_workers() {
        return Err(RunError::Report {
            message: "experiment frag re-executes the experiment binary once per allocator; \
                      this process is not that binary (or lacks its LabAllocator)"
                .into(),
        });
    }
    let dir = crate::cmd::out_dir(&args.out, "frag")?;
    let results = run_into(&dir, &allocators, &cfg, ui)?;
    let spec = Spec {
        args,
        resolved: &cfg,
        allocators: results
            .iter()
            .zip(&allocators)
            .map(|(r, a)| (a.name().to_string(), r.allocator_version.clone()))
            .collect(),
    };
    output::write_metadata(&dir, "frag", cfg.seed, spec, &crate::cmd::allocator_name())?;
    crate::cmd::report::render(&dir, "evictlab: memory realism (frag)")?;
    Ok(FragOutcome::Ran {
        dir: dir.commit()?,
        summary: results.iter().map(summary_line).collect(),
    })
}

#[derive(Serialize)]
struct Spec<'a> {
    args: &'a FragArgs,
    resolved: &'a FragConfig,
    allocators: Vec<(String, String)>,
}

/// Runs the workers for `allocators` and writes `frag.csv`, `overhead.csv` and
/// `defrag.csv` into `dir` (the default suite calls this too).
pub fn run_into(
    dir: &Path,
    allocators: &[Allocator],
    cfg: &FragConfig,
    ui: &Ui,
) -> Result<Vec<WorkerResult>, RunError> {
    let bar = ui.bar(allocators.len() as u64, "allocators");
    bar.set_message("frag");
    let results = frag::run_workers(allocators, cfg, dir, &|_| bar.inc(1))?;
    bar.finish_and_clear();
    frag::write_results(dir, &results)?;
    Ok(results)
}

/// `jemalloc-5.3.1: fill used 30.1 MiB rss 35.2 MiB → delete used 18.0 MiB rss 35.2 MiB`.
pub fn summary_line(r: &WorkerResult) -> String {
    let end = |phase: &str| r.frag.iter().find(|x| x.phase == phase && x.event == "end");
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    match (end("fill"), end("delete")) {
        (Some(f), Some(d)) => format!(
            "{}: fill used {:.1} MiB, RSS {:.1} MiB → delete used {:.1} MiB, RSS {:.1} MiB \
             (mem_fragmentation_ratio {:.2})",
            r.allocator_version,
            mib(f.used_bytes),
            mib(f.rss_bytes),
            mib(d.used_bytes),
            mib(d.rss_bytes),
            d.mem_fragmentation_ratio
        ),
        _ => r.allocator_version.clone(),
    }
}

fn run_as_worker(name: &str, args: &FragArgs) -> Result<FragOutcome, RunError> {
    let a = Allocator::from_name(name).ok_or_else(|| RunError::BadArgument {
        flag: "--worker",
        value: name.to_string(),
        expected: "system, jemalloc or mimalloc",
    })?;
    let cfg: FragConfig = match &args.worker_config {
        Some(j) => serde_json::from_str(j).map_err(|e| RunError::BadArgument {
            flag: "--worker-config",
            value: format!("{j} ({e})"),
            expected: "the JSON FragConfig the parent passes",
        })?,
        None => config(args)?,
    };
    let out = args
        .worker_out
        .clone()
        .ok_or_else(|| RunError::BadArgument {
            flag: "--worker-out",
            value: String::new(),
            expected: "the file a worker writes its result to",
        })?;
    let result = frag::run_worker(a, &cfg)?;
    output::write_json(&out, &result)?;
    Ok(FragOutcome::Worker)
}

/// `experiment frag` in the list of experiments.
#[derive(Debug)]
pub struct FragExperiment;

impl Experiment for FragExperiment {
    fn name(&self) -> &'static str {
        "frag"
    }

    fn about(&self) -> &'static str {
        "Used memory vs RSS per allocator: fill, delete, refill, eviction churn, idle, \
         active defragmentation; per-key overhead."
    }

    fn args(&self) -> clap::Command {
        experiment::args::<FragArgs>(self.name(), self.about())
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        match run(&experiment::parse(m)?, ui)? {
            FragOutcome::Worker => Ok(Ran::default()),
            FragOutcome::Ran { dir, mut summary } => {
                summary.push(format!("wrote {}", dir.join("frag.csv").display()));
                summary.push(format!("report: {}", dir.join("report.md").display()));
                Ok(Ran {
                    lines: summary,
                    warnings: Vec::new(),
                })
            }
        }
    }

    /// RSS and allocator statistics: measurements of real processes.
    fn files(&self) -> &'static [CsvFile] {
        const FILES: &[CsvFile] = &[
            CsvFile::measured("frag.csv"),
            CsvFile::measured("overhead.csv"),
            CsvFile::measured("defrag.csv"),
        ];
        FILES
    }

    fn report(&self, report: &mut Report, dir: &Path) -> Result<bool, RunError> {
        let Some(frag) = experiment::read_if_present::<FragRow>(dir, "frag.csv")? else {
            return Ok(false);
        };
        let overhead: Vec<OverheadRow> =
            experiment::read_if_present(dir, "overhead.csv")?.unwrap_or_default();
        let defrag: Vec<DefragRow> =
            experiment::read_if_present(dir, "defrag.csv")?.unwrap_or_default();
        crate::frag::report::add_section(report, &frag, &overhead, &defrag, &dir.join("plots"))?;
        Ok(true)
    }

    /// The quick preset, one worker process per allocator (this binary re-executed).
    fn suite(&self, s: &mut SuiteRun) -> Result<(), RunError> {
        if s.quick {
            s.notes.push(
                "--quick: memory realism (frag) skipped (it measures RSS: not deterministic)"
                    .into(),
            );
        } else if frag::can_spawn_workers() {
            let cfg = FragConfig::quick(s.seed);
            let results = run_into(&s.dir, &Allocator::ALL, &cfg, s.ui)?;
            s.notes.extend(results.iter().map(summary_line));
        } else {
            s.notes.push(
                "memory realism (frag) skipped: it re-executes the experiment binary per \
                 allocator, and this process is not that binary"
                    .into(),
            );
        }
        Ok(())
    }
}
