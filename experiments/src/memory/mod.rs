//! `experiment memory`: how much RAM a dataset takes in Redis — the answer redis-rdb-tools'
//! memory report gives for a dump, from a workload or trace replayed with no limit.
//!
//! The workload is replayed twice, into an engine in `lab-memory-mode logical` and one in
//! `lab-memory-mode redis` (the Redis 7.0 model of `evictlab_engine::memory`, with the
//! configured `lab-jemalloc-quantum` and `lab-base-memory`), and the end state is written:
//!
//! * `memory.csv` — one row per model: `model, keys, expires, used_memory,
//!   used_memory_startup, used_memory_dataset, bytes_per_key`. For `redis`,
//!   `used_memory_dataset` is Redis's (`used_memory` − startup − the dicts' overhead as
//!   `getMemoryOverheadData` counts it) and `bytes_per_key` is `MEMORY STATS`'s
//!   `keys.bytes-per-key` ((`used_memory` − startup) / keys); for `logical` startup is 0.
//! * `memory_by_type.csv` — per type and encoding under the redis model: `type, encoding,
//!   keys, bytes, bytes_per_key` (bytes of the keys' own allocations: dictEntries, key sds,
//!   value; the dicts' bucket arrays are in `memory.csv` only).
//! * `rdb_load.csv` with `--rdb`: one row, [`RdbLoadRow`].
//! * a plot of bytes per key by type and encoding, and a report section.
//!
//! Time: requests carry their trace's timestamps, else one request per virtual ms.
//!
//! From a dump (`--rdb FILE`, [`crate::dump`]): instead of a replay, the dump's keys are
//! loaded into both engines as Redis's loading builds them (values with their real contents,
//! so the redis model picks encodings from the configured thresholds; the clock at the
//! dump's `ctime`), then one virtual second passes (cron: the dicts finish their incremental
//! rehash, as on the server that wrote the dump). `rdb_load.csv` says what the dump held and
//! what was loaded or skipped (see [`crate::dump::RdbLoadRow`]).
//!
//! # Layout
//!
//! - this file — arguments, the replay, the rows and CSVs, the [`Experiment`] entry.
//! - [`report`] — the report section and its plot.

pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evictlab_engine::{Blob, Config, Engine, FillOutcome, Key, MemoryMode, SetOptions};
use evictlab_reports::Report;
use evictlab_workloads::Op;
use serde::{Deserialize, Serialize};

use crate::dump::RdbLoadRow;
use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::source::{WorkloadArgs, load};
use crate::ui::Ui;
use crate::workload::Workload;
use crate::{RunError, output};

/// Arguments of `experiment memory`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct MemoryArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub workload: WorkloadArgs,
    /// A Redis dump (RDB 9-11: Redis 5.0-7.2) as the dataset instead of a replay.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trace", "workload", "keys", "requests"])]
    pub rdb: Option<PathBuf>,
    /// With --rdb: load db N alone, or `all` dbs merged into one keyspace (default: the
    /// dump's keys must all be in one db).
    #[arg(long, value_name = "N|all", requires = "rdb", value_parser = crate::dump::parse_db)]
    pub rdb_db: Option<String>,
    /// Engine config line for both replays, e.g. `--config "lab-jemalloc-quantum 16"`,
    /// `--config "lab-base-memory 20mb"`, `--config "hash-max-listpack-entries 128"`
    /// (repeatable). `lab-memory-mode` and `maxmemory` are the experiment's own.
    #[arg(long = "config", value_name = "LINE")]
    pub config: Vec<String>,
    /// Seed of the generator and engines.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
}

/// One row of `memory.csv`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemoryRow {
    /// `logical` or `redis`.
    pub model: String,
    /// Keys at the end.
    pub keys: u64,
    /// Keys with a TTL.
    pub expires: u64,
    /// `used_memory` under the model.
    pub used_memory: u64,
    /// Startup bytes (`lab-base-memory` for redis; 0 for logical).
    pub used_memory_startup: u64,
    /// `used_memory_dataset`.
    pub used_memory_dataset: u64,
    /// (`used_memory` − startup) / keys.
    pub bytes_per_key: f64,
}

/// One row of `memory_by_type.csv`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TypeRow {
    /// Redis's type name.
    #[serde(rename = "type")]
    pub value_type: String,
    /// The encoding (`OBJECT ENCODING`; shared integers as `int-shared`).
    pub encoding: String,
    /// Keys.
    pub keys: u64,
    /// Bytes of those keys' allocations.
    pub bytes: u64,
    /// bytes / keys.
    pub bytes_per_key: f64,
}

/// The configuration of one model's replay: the user's lines, then the model and no limit.
pub fn model_config(lines: &[String], mode: MemoryMode) -> Result<Config, RunError> {
    let mut c = Config::default();
    c.apply_str(&lines.join("\n"), None)?;
    let default = Config::default();
    if c.memory_mode != default.memory_mode {
        return Err(RunError::BadArgument {
            flag: "--config",
            value: format!("lab-memory-mode {}", c.memory_mode.name()),
            expected: "no lab-memory-mode line: experiment memory replays under both logical and redis",
        });
    }
    if c.maxmemory != 0 {
        return Err(RunError::BadArgument {
            flag: "--config",
            value: format!("maxmemory {}", c.maxmemory),
            expected: "no maxmemory line: experiment memory replays with no limit",
        });
    }
    c.memory_mode = mode;
    Ok(c)
}

/// Replays `w` into a fresh engine for `config` (no limit): GETs fill on a miss (cache-aside),
/// SETs store, DELETEs delete.
pub fn replay(w: &Workload, config: Config, seed: u64) -> Result<Engine, RunError> {
    let mut e = Engine::new(config, seed)?;
    let has_time = w.info.has_time;
    for (i, r) in w.requests.iter().enumerate() {
        e.set_time_ms(if has_time { r.time_ms } else { i as u64 });
        match r.op {
            Op::Get => {
                let _: FillOutcome = e.get_or_fill_id(r.key, r.value_size as u64, r.ttl_ms);
            }
            Op::Set => {
                e.set(
                    Key::from_id(r.key),
                    Blob::Sized(r.value_size as u64),
                    SetOptions::ttl_ms(r.ttl_ms),
                );
            }
            Op::Delete => {
                e.del(&Key::from_id(r.key));
            }
        }
    }
    Ok(e)
}

/// The `memory.csv` row of an engine.
pub fn memory_row(e: &Engine) -> MemoryRow {
    let keys = e.len() as u64;
    let per_key = |net: u64| {
        if keys > 0 {
            net as f64 / keys as f64
        } else {
            0.0
        }
    };
    match e.redis_memory() {
        Some(m) => {
            let used = m.used();
            let startup = m.startup();
            MemoryRow {
                model: "redis".into(),
                keys,
                expires: e.expires() as u64,
                used_memory: used,
                used_memory_startup: startup,
                used_memory_dataset: used.saturating_sub(startup + m.dict_overhead()),
                bytes_per_key: per_key(used - startup),
            }
        }
        None => MemoryRow {
            model: e.config().memory_mode.name().into(),
            keys,
            expires: e.expires() as u64,
            used_memory: e.used_memory(),
            used_memory_startup: 0,
            used_memory_dataset: e.used_memory(),
            bytes_per_key: per_key(e.used_memory()),
        },
    }
}

/// `memory_by_type.csv` rows of an engine in redis mode (empty otherwise), sorted by type
/// and encoding.
pub fn type_rows(e: &Engine) -> Vec<TypeRow> {
    let Some(m) = e.redis_memory() else {
        return Vec::new();
    };
    let mut groups: BTreeMap<(&'static str, &'static str), (u64, u64)> = BTreeMap::new();
    for (slot, entry) in e.keyspace().iter() {
        let g = groups
            .entry((
                entry.value.value_type().name(),
                m.slot_encoding(slot).name(),
            ))
            .or_default();
        g.0 += 1;
        g.1 += m.slot_bytes(slot);
    }
    groups
        .into_iter()
        .map(|((t, enc), (keys, bytes))| TypeRow {
            value_type: t.into(),
            encoding: enc.into(),
            keys,
            bytes,
            bytes_per_key: bytes as f64 / keys as f64,
        })
        .collect()
}

/// Replays under both models and writes the CSVs, `metadata.json`, the plot and
/// `report.md`; returns the directory and the rows.
pub fn run(args: &MemoryArgs, ui: &Ui) -> Result<(PathBuf, Vec<MemoryRow>), RunError> {
    // The results directory first: a refused --out fails before any work.
    let dir = crate::cmd::out_dir(&args.out, "memory")?;
    let logical_cfg = model_config(&args.config, MemoryMode::Logical)?;
    let redis_cfg = model_config(&args.config, MemoryMode::Redis)?;
    let (logical, redis, dump_row) = match &args.rdb {
        Some(path) => {
            let spin = ui.spinner("loading the dump under the logical and redis models");
            let mut logical = Engine::new(logical_cfg, args.seed)?;
            crate::dump::load(&mut logical, path, args.rdb_db.as_deref())?;
            let mut redis = Engine::new(redis_cfg, args.seed)?;
            let rep = crate::dump::load(&mut redis, path, args.rdb_db.as_deref())?;
            for e in [&mut logical, &mut redis] {
                e.advance_ms(1000);
            }
            spin.finish_and_clear();
            (logical, redis, Some(RdbLoadRow::new(path, &rep)))
        }
        None => {
            let input = args.workload.to_input(args.seed)?;
            let spin = ui.spinner("loading workload");
            let w = load(&input)?;
            spin.finish_and_clear();
            let spin = ui.spinner("replaying under the logical and redis models");
            let logical = replay(&w, logical_cfg, args.seed)?;
            let redis = replay(&w, redis_cfg, args.seed)?;
            spin.finish_and_clear();
            (logical, redis, None)
        }
    };
    let rows = vec![memory_row(&logical), memory_row(&redis)];
    let types = type_rows(&redis);
    output::write_csv(&dir.join("memory.csv"), &rows)?;
    output::write_csv(&dir.join("memory_by_type.csv"), &types)?;
    if let Some(row) = &dump_row {
        output::write_csv(&dir.join("rdb_load.csv"), std::slice::from_ref(row))?;
    }
    output::write_metadata(
        &dir,
        "memory",
        args.seed,
        args,
        &crate::cmd::allocator_name(),
    )?;
    let mut rep = Report::new("evictlab: memory");
    report::add_section(
        &mut rep,
        &rows,
        &types,
        dump_row.as_ref(),
        &dir.join("plots"),
    )?;
    rep.write(&dir).map_err(|e| RunError::Report {
        message: e.to_string(),
    })?;
    Ok((dir.commit()?, rows))
}

/// `experiment memory` in the list of experiments.
#[derive(Debug)]
pub struct MemoryExperiment;

impl Experiment for MemoryExperiment {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn about(&self) -> &'static str {
        "How much RAM the data takes in Redis 7.0: logical vs the redis model, by type and encoding."
    }

    fn args(&self) -> clap::Command {
        experiment::args::<MemoryArgs>(self.name(), self.about())
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (dir, rows) = run(&experiment::parse(m)?, ui)?;
        let redis = rows.iter().find(|r| r.model == "redis");
        Ok(Ran::wrote(
            format!(
                "{} keys, redis used_memory {}",
                rows.first().map_or(0, |r| r.keys),
                redis.map_or(0, |r| r.used_memory)
            ),
            &dir,
            "memory.csv",
        ))
    }

    fn files(&self) -> &'static [CsvFile] {
        const FILES: &[CsvFile] = &[
            CsvFile::deterministic("memory.csv", &["model"]),
            CsvFile::deterministic("memory_by_type.csv", &["type", "encoding"]),
            CsvFile::deterministic("rdb_load.csv", &["file"]),
        ];
        FILES
    }

    fn report(&self, rep: &mut Report, dir: &Path) -> Result<bool, RunError> {
        let Some(rows) = experiment::read_if_present::<MemoryRow>(dir, "memory.csv")? else {
            return Ok(false);
        };
        let types =
            experiment::read_if_present::<TypeRow>(dir, "memory_by_type.csv")?.unwrap_or_default();
        let dump = experiment::read_if_present::<RdbLoadRow>(dir, "rdb_load.csv")?
            .and_then(|r| r.into_iter().next());
        report::add_section(rep, &rows, &types, dump.as_ref(), &dir.join("plots"))?;
        Ok(true)
    }

    /// Not part of the default suite yet (its numbers follow from the hit-rate workloads).
    fn suite(&self, s: &mut SuiteRun) -> Result<(), RunError> {
        s.notes
            .push("memory: not in the default suite (run `experiment memory`)".into());
        Ok(())
    }
}
