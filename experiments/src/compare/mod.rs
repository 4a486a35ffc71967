//! `experiment compare --url URL`: the engine and a real server on the same workload, policy
//! and size, side by side (`compare.csv`, the server's `server.csv`, and a report section).
//!
//! Each server cell (see [`crate::server`]) is followed by three engine runs of the same
//! requests, one per **match**:
//!
//! * `keys`: the engine holds exactly the key count the server held at the end (`DBSIZE`),
//!   which takes per-key overhead out and leaves the policies' choices;
//! * `bytes`: the engine gets the server's `maxmemory` in bytes under `lab-memory-mode
//!   redis` (the Redis 7.0 model of `evictlab_engine::memory`): `lab-base-memory` = the
//!   empty server's `used_memory` measured before the cell, `lab-jemalloc-quantum` probed
//!   from the server ([`crate::server::Server::jemalloc_quantum`]: 16 for Debian's package,
//!   which links the system jemalloc). This is the answer in `maxmemory` bytes;
//! * `logical-bytes`: the server's byte budget, `maxmemory` − the empty server's
//!   `used_memory`, counting key + value bytes per entry (no per-entry overhead, as
//!   simulators count). Redis spends far more per key (dict entry, robj, sds headers,
//!   jemalloc size classes), so the engine holds more keys: the simulators' error, shown.
//!
//! `--config` may set `lab-jemalloc-quantum` / `lab-base-memory` (they then replace the
//! probe / the measured base in the `bytes` rows) and `lab-memory-mode redis` or `logical`
//! (only that byte match runs beside `keys`).
//!
//! The engine's clock runs at the rate the server achieved (`engine_rate`), so the 1 s LRU
//! clock ties the same keys in both; enforcement defaults to Redis's (evict before each
//! command) as the server does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evictlab_engine::policy::registry;
use evictlab_reports::{Align, Axis, BarChart, Chart, Report, Table, format};
use serde::Serialize;

use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::grid::{EngineArgs, GridArgs};
use crate::hitrate::{Cell, HitOptions, SizeUnit, run_cell_with_end};
use crate::server::ServerRow;
use crate::server::cmd::{ServerConnArgs, ServerOutcome, measure, redis_grid, redis_grid_args};
use crate::source::{WorkloadArgs, load};
use crate::ui::Ui;
use crate::workload::Workload;
use crate::{RunError, output};

/// Arguments of `experiment compare`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct CompareArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub workload: WorkloadArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ServerConnArgs,
    #[command(flatten)]
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub grid: GridArgs,
    #[command(flatten)]
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub engine: EngineArgs,
    /// Seed of the generator and the engines.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
}

/// One line of `compare.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct CompareRow {
    /// Server cell index.
    pub cell: u64,
    /// Workload.
    pub workload: String,
    /// Policy.
    pub policy: String,
    /// `maxmemory-samples`.
    pub samples: Option<u32>,
    /// `keys` (the engine holds the server's key count), `bytes` (the server's `maxmemory`
    /// under the redis model) or `logical-bytes` (the byte budget counting key + value).
    #[serde(rename = "match")]
    pub matching: String,
    /// The engine's `lab-memory-mode` in this row (`keys`, `redis`, `logical`).
    pub engine_memory_mode: String,
    /// `lab-jemalloc-quantum` of a `redis` row (empty otherwise).
    pub jemalloc_quantum: Option<u64>,
    /// `lab-base-memory` of a `redis` row (empty otherwise).
    pub engine_base_memory: Option<u64>,
    /// The engine's capacity in `capacity_unit`.
    pub capacity: u64,
    /// `bytes` or `keys`.
    pub capacity_unit: String,
    /// The size asked for, as a fraction of the working set (hitrate rules).
    pub capacity_fraction: f64,
    /// The server's `maxmemory`.
    pub server_maxmemory: u64,
    /// Engine hit ratio.
    pub engine_hit_ratio: f64,
    /// Server hit ratio.
    pub server_hit_ratio: f64,
    /// (engine − server) × 100, percentage points.
    pub diff_pp: f64,
    /// Engine misses.
    pub engine_misses: u64,
    /// Server misses.
    pub server_misses: u64,
    /// Engine evictions.
    pub engine_evicted_keys: u64,
    /// Server `evicted_keys`.
    pub server_evicted_keys: u64,
    /// Engine writes refused (OOM).
    pub engine_oom_rejections: u64,
    /// Server writes refused (`-OOM`).
    pub server_oom_rejections: u64,
    /// Keys the engine held at the end.
    pub engine_keys: u64,
    /// Keys the server held at the end (`DBSIZE`).
    pub server_keys: u64,
    /// Engine bytes per key at the end: (modelled `used_memory` − `lab-base-memory`) / keys
    /// in `redis` rows, key + value bytes / keys otherwise.
    pub engine_memory_per_key: f64,
    /// Server (`used_memory` − empty `used_memory`) / keys.
    pub server_memory_per_key: f64,
    /// The engine's virtual request rate (= the server's achieved rate), requests/s.
    pub engine_rate: f64,
}

/// How the `bytes` rows model the server: the redis model's quantum and, unless `--config`
/// sets `lab-base-memory`, the server's own empty `used_memory` as the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedisMatch {
    /// `lab-jemalloc-quantum` (probed, or `--config`'s).
    pub quantum: u64,
    /// `lab-base-memory` when `--config` sets it (kept instead of the measured base).
    pub base: Option<u64>,
    /// `--config`'s `lab-memory-mode`: `redis` runs only the `bytes` match beside `keys`,
    /// `logical` only `logical-bytes`; None runs both.
    pub bytes_mode: Option<evictlab_engine::MemoryMode>,
}

/// The lower-cased parameter names `lines` set.
fn names_set(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The compare rows (keys, bytes, logical-bytes) of one server row: the hit-rate runner
/// replays `w` into an engine holding the key count the server held, one limited to the
/// server's `maxmemory` under the redis model, and one limited to the server's byte budget
/// counting key + value bytes, each with its clock at the rate the server achieved.
pub fn compare_rows(
    w: &Workload,
    s: &ServerRow,
    opts: &HitOptions,
    seed: u64,
    redis: RedisMatch,
) -> Result<Vec<CompareRow>, RunError> {
    let policy = registry::find(&s.policy).ok_or_else(|| RunError::UnknownPolicy {
        name: s.policy.clone(),
        known: registry::names().collect::<Vec<_>>().join(", "),
    })?;
    let rate = if s.requests_per_sec > 0.0 {
        s.requests_per_sec
    } else {
        crate::hitrate::DEFAULT_RATE
    };
    use evictlab_engine::MemoryMode;
    // The matches set their own memory mode; --config's only chose which byte match runs.
    let lines: Vec<String> = opts
        .config_lines
        .iter()
        .flat_map(|t| t.lines())
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_none_or(|n| !n.eq_ignore_ascii_case("lab-memory-mode"))
        })
        .map(String::from)
        .collect();
    let mut out = Vec::new();
    for (matching, mode, unit, cap) in [
        ("keys", "keys", SizeUnit::Keys, s.keys),
        ("bytes", "redis", SizeUnit::Bytes, s.maxmemory),
        (
            "logical-bytes",
            "logical",
            SizeUnit::Bytes,
            s.maxmemory.saturating_sub(s.baseline_used_memory),
        ),
    ] {
        match (redis.bytes_mode, mode) {
            (Some(MemoryMode::Redis), "logical") | (Some(MemoryMode::Logical), "redis") => continue,
            _ => {}
        }
        let cell = Cell {
            workload: 0,
            policy,
            samples: s.samples,
            size: cap as f64,
            size_unit: unit,
            seed,
        };
        let mut o = opts.clone();
        o.rate = rate;
        o.config_lines = lines.clone();
        let (quantum, base) = match mode {
            "redis" => {
                let mut pre = vec![
                    "lab-memory-mode redis".to_string(),
                    format!("lab-jemalloc-quantum {}", redis.quantum),
                ];
                if redis.base.is_none() {
                    pre.push(format!("lab-base-memory {}", s.baseline_used_memory));
                }
                o.config_lines.splice(0..0, pre);
                (
                    Some(redis.quantum),
                    Some(redis.base.unwrap_or(s.baseline_used_memory)),
                )
            }
            "logical" => {
                // A server's byte budget holds keys too: count them, as simulators do not.
                o.config_lines.insert(0, "lab-count-key-bytes yes".into());
                (None, None)
            }
            _ => (None, None),
        };
        let (e, end) = run_cell_with_end(w, &cell, &o)?;
        let per_key_bytes = match mode {
            "redis" => end.used_memory.saturating_sub(base.unwrap_or(0)),
            _ => end.logical_bytes,
        };
        out.push(CompareRow {
            cell: s.cell,
            workload: s.workload.clone(),
            policy: s.policy.clone(),
            samples: s.samples,
            matching: matching.into(),
            engine_memory_mode: mode.into(),
            jemalloc_quantum: quantum,
            engine_base_memory: base,
            capacity: cap.max(1),
            capacity_unit: if unit == SizeUnit::Keys {
                "keys"
            } else {
                "bytes"
            }
            .into(),
            capacity_fraction: s.capacity_fraction,
            server_maxmemory: s.maxmemory,
            engine_hit_ratio: e.hit_ratio,
            server_hit_ratio: s.hit_ratio,
            diff_pp: (e.hit_ratio - s.hit_ratio) * 100.0,
            engine_misses: e.misses,
            server_misses: s.misses,
            engine_evicted_keys: e.evicted_keys,
            server_evicted_keys: s.evicted_keys,
            engine_oom_rejections: e.oom_rejections,
            server_oom_rejections: s.oom_rejections,
            engine_keys: end.keys,
            server_keys: s.keys,
            engine_memory_per_key: if end.keys > 0 {
                per_key_bytes as f64 / end.keys as f64
            } else {
                0.0
            },
            server_memory_per_key: s.memory_per_key,
            engine_rate: rate,
        });
    }
    Ok(out)
}

/// The redis model's settings for the `bytes` rows: `lab-memory-mode` in `--config`
/// chooses the byte match (`redis`: `bytes`, `logical`: `logical-bytes`; the `keys` match
/// always runs), `lab-jemalloc-quantum` replaces the probe of the server, `lab-base-memory`
/// the measured base.
pub fn redis_match(conn: &ServerConnArgs, config_lines: &[String]) -> Result<RedisMatch, RunError> {
    use evictlab_engine::MemoryMode;
    let names = names_set(config_lines);
    let mut c = evictlab_engine::Config::default();
    c.apply_str(&config_lines.join("\n"), None)?;
    let base = names
        .iter()
        .any(|n| n == "lab-base-memory")
        .then_some(c.base_memory);
    let bytes_mode = if names.iter().any(|n| n == "lab-memory-mode") {
        match c.memory_mode {
            m @ (MemoryMode::Redis | MemoryMode::Logical) => Some(m),
            m => {
                return Err(RunError::BadArgument {
                    flag: "--config",
                    value: format!("lab-memory-mode {}", m.name()),
                    expected: "redis (only the bytes match beside keys) or logical (only \
                               logical-bytes): compare's keys match is always in keys, and \
                               allocator needs a probe compare does not install",
                });
            }
        }
    } else {
        None
    };
    let quantum = if names.iter().any(|n| n == "lab-jemalloc-quantum") {
        c.jemalloc_quantum.bytes()
    } else if bytes_mode == Some(MemoryMode::Logical) {
        0
    } else {
        let mut server = crate::server::Server::connect(&conn.url)?;
        server.reset()?;
        server.jemalloc_quantum()?
    };
    Ok(RedisMatch {
        quantum,
        base,
        bytes_mode,
    })
}

/// Runs `experiment compare`; returns the directory and the rows.
pub fn run(args: &CompareArgs, ui: &Ui) -> Result<(PathBuf, Vec<CompareRow>), RunError> {
    let grid = redis_grid(&args.grid)?;
    args.conn.check()?;
    let dir = crate::cmd::out_dir(&args.out, "compare")?;
    let opts = args
        .engine
        .options(crate::hitrate::DEFAULT_RATE, grid.fill_on_miss)?;
    let redis = redis_match(&args.conn, &opts.config_lines)?;
    let input = args.workload.to_input(args.seed)?;
    let spin = ui.spinner("loading workload");
    let w = load(&input)?;
    spin.finish_and_clear();
    let cells = grid.cells(1, &[args.seed]);
    let out: ServerOutcome = measure(&args.conn, &w, &cells, grid.fill_on_miss, args.seed, ui)?;
    let bar = ui.bar(out.rows.len() as u64, "engine cells");
    let mut rows = Vec::new();
    for s in &out.rows {
        rows.extend(compare_rows(&w, s, &opts, args.seed, redis)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    crate::server::cmd::write(&dir, &out)?;
    output::write_csv(&dir.join("compare.csv"), &rows)?;
    output::write_metadata(
        &dir,
        "compare",
        args.seed,
        args,
        &crate::cmd::allocator_name(),
    )?;
    crate::cmd::report::render(&dir, "evictlab: engine vs server")?;
    Ok((dir.commit()?, rows))
}

fn rerr(e: evictlab_reports::ReportError) -> RunError {
    RunError::Report {
        message: e.to_string(),
    }
}

/// The "engine vs server" report section from `compare.csv` rows: a bar chart of both hit
/// ratios per policy and size for each match, a table, and sentences with the differences.
pub fn add_section(report: &mut Report, rows: &[CompareRow], plots: &Path) -> Result<(), RunError> {
    if rows.is_empty() {
        return Ok(());
    }
    report.heading(2, "Engine vs real server");
    report.paragraph(
        "The same requests replayed into the engine and into a real server (cache-aside \
         through a server-side script, so every GET's outcome is exact). `keys` rows give \
         the engine the key count the server held, which removes the per-key overhead and \
         leaves the policies' choices; `bytes` rows give it the server's `maxmemory` under \
         the redis memory model (Redis 7.0's `used_memory`, the server's jemalloc quantum, \
         the empty server's `used_memory` as its base); `logical-bytes` rows give it the \
         server's byte budget counting key + value bytes only, as simulators do. \
         diff = engine − server, in percentage points.",
    );
    for (i, matching) in ["keys", "bytes", "logical-bytes"].iter().enumerate() {
        let sel: Vec<&CompareRow> = rows.iter().filter(|r| r.matching == *matching).collect();
        if sel.is_empty() {
            continue;
        }
        report.heading(
            3,
            match *matching {
                "bytes" => "Matched by maxmemory bytes (redis model)".to_string(),
                "logical-bytes" => "Matched by bytes counting key + value (logical)".to_string(),
                m => format!("Matched by {m}"),
            },
        );
        let label = |r: &CompareRow| match r.samples {
            Some(s) => format!(
                "{} s{s} @{}",
                r.policy,
                format::trimmed(r.capacity_fraction, 4)
            ),
            None => format!("{} @{}", r.policy, format::trimmed(r.capacity_fraction, 4)),
        };
        let bars = sel.iter().flat_map(|r| {
            [
                (label(r), "engine".to_string(), r.engine_hit_ratio),
                (label(r), "server".to_string(), r.server_hit_ratio),
            ]
        });
        let chart = BarChart::from_rows(
            format!("Hit ratio, engine vs server (matched by {matching})"),
            "policy @ size (fraction of working set)",
            Axis::percent("hit ratio"),
            bars,
        )
        .with_value_labels(false);
        let rendered = chart
            .render(plots, &format!("compare_{i}_{matching}"))
            .map_err(rerr)?;
        report.chart(&rendered, "");
        let mut t = Table::new([
            ("policy", Align::Left),
            ("size", Align::Right),
            ("engine capacity", Align::Right),
            ("engine", Align::Right),
            ("server", Align::Right),
            ("diff", Align::Right),
            ("engine keys", Align::Right),
            ("server keys", Align::Right),
            ("server B/key", Align::Right),
        ]);
        for r in &sel {
            t.push_row([
                match r.samples {
                    Some(s) => format!("{} (samples {s})", r.policy),
                    None => r.policy.clone(),
                },
                format::trimmed(r.capacity_fraction, 4),
                format!("{} {}", r.capacity, r.capacity_unit),
                format::percent(r.engine_hit_ratio, 2),
                format::percent(r.server_hit_ratio, 2),
                format!("{:+.2} pp", r.diff_pp),
                r.engine_keys.to_string(),
                r.server_keys.to_string(),
                format::trimmed(r.server_memory_per_key, 1),
            ])
            .map_err(rerr)?;
        }
        report.table(&t);
        let mut by_policy: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for r in &sel {
            by_policy.entry(&r.policy).or_default().push(r.diff_pp);
        }
        let sentences: Vec<String> = by_policy
            .iter()
            .map(|(p, d)| {
                let max = d
                    .iter()
                    .fold(0.0f64, |m, x| if x.abs() > m.abs() { *x } else { m });
                let mean = d.iter().sum::<f64>() / d.len() as f64;
                format!(
                    "{p}: the engine is {:+.2} pp from the server on average over {} sizes \
                     (largest difference {max:+.2} pp).",
                    mean,
                    d.len()
                )
            })
            .collect();
        report.bullets(sentences);
    }
    for (matching, how) in [
        (
            "bytes",
            "under the redis model (modelled used_memory above lab-base-memory / keys)",
        ),
        ("logical-bytes", "counting key + value only"),
    ] {
        let sel: Vec<&CompareRow> = rows.iter().filter(|r| r.matching == matching).collect();
        if let Some(r) = sel.iter().max_by_key(|r| r.server_keys) {
            report.paragraph(format!(
                "Memory per key, {how}: the server spent {} per key (used_memory above the \
                 empty server / keys) and the engine {}, so at the same byte budget the engine \
                 held {} keys and the server {}.",
                format::bytes(r.server_memory_per_key),
                format::bytes(r.engine_memory_per_key),
                r.engine_keys,
                r.server_keys
            ));
        }
    }
    Ok(())
}

/// `experiment compare` in the list of experiments.
#[derive(Debug)]
pub struct CompareExperiment;

impl Experiment for CompareExperiment {
    fn name(&self) -> &'static str {
        "compare"
    }

    fn about(&self) -> &'static str {
        "The engine and a real server on the same workload, policy and size (compare.csv)."
    }

    fn args(&self) -> clap::Command {
        redis_grid_args(experiment::args::<CompareArgs>(self.name(), self.about())).mut_arg(
            "enforcement",
            |a| {
                a.default_value("redis")
                    .help("The engine's memory-limit enforcement (the server's is Redis's)")
            },
        )
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (dir, rows) = run(&experiment::parse(m)?, ui)?;
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{:<16} samples {:<4} {:>6} match {:<13} engine {:.4} server {:.4} diff {:+.2} pp",
                    r.policy,
                    r.samples.map_or("-".to_string(), |s| s.to_string()),
                    r.capacity_fraction,
                    r.matching,
                    r.engine_hit_ratio,
                    r.server_hit_ratio,
                    r.diff_pp
                )
            })
            .collect();
        lines.push(format!("wrote {}", dir.join("compare.csv").display()));
        lines.push(format!("report: {}", dir.join("report.md").display()));
        Ok(Ran {
            lines,
            warnings: Vec::new(),
        })
    }

    /// Each row holds the server's measured side: measured.
    fn files(&self) -> &'static [CsvFile] {
        const FILES: &[CsvFile] = &[CsvFile::measured("compare.csv")];
        FILES
    }

    fn report(&self, report: &mut Report, dir: &Path) -> Result<bool, RunError> {
        let Some(rows) = experiment::read_if_present::<CompareRow>(dir, "compare.csv")? else {
            return Ok(false);
        };
        add_section(report, &rows, &dir.join("plots"))?;
        Ok(true)
    }

    /// Not in the suite: it needs a server the user points it at.
    fn suite(&self, _suite: &mut SuiteRun) -> Result<(), RunError> {
        Ok(())
    }
}
