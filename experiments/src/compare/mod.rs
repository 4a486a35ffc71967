//! `experiment compare --url URL`: the engine and a real server on the same workload, policy
//! and size, side by side (`compare.csv`, the server's `server.csv`, and a report section).
//!
//! Each server cell (see [`crate::server`]) is followed by two engine runs of the same
//! requests, one per **match**:
//!
//! * `bytes`: the engine gets the server's byte budget, `maxmemory` − the empty server's
//!   `used_memory`, counting key + value bytes per entry (no per-entry overhead, as
//!   simulators count). Redis spends far more per key (dict entry, robj, sds headers,
//!   jemalloc size classes: see `server_memory_per_key`), so the engine holds more keys;
//! * `keys`: the engine holds exactly the key count the server held at the end (`DBSIZE`),
//!   which takes per-key overhead out and leaves the policies' choices.
//!
//! The engine's clock runs at the rate the server achieved (`engine_rate`), so the 1 s LRU
//! clock ties the same keys in both; enforcement defaults to Redis's (evict before each
//! command) as the server does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evictlab_engine::{Blob, Engine, FillOutcome, GetOutcome, Key, SetOptions};
use evictlab_reports::{Align, Axis, BarChart, Chart, Report, Table, format};
use evictlab_workloads::Op;
use serde::Serialize;

use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::hitrate::cmd::EnforcementArg;
use crate::hitrate::{Cell, HitOptions, SizeUnit, cell_config};
use crate::server::ServerRow;
use crate::server::cmd::{
    ServerConnArgs, ServerOutcome, cells, check_grid, measure, server_policies,
};
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
    /// Redis policies: `all` (Redis's eight) or a comma-separated list.
    #[arg(
        long,
        value_name = "all|LIST",
        default_value = "allkeys-lru,allkeys-lfu,allkeys-random"
    )]
    pub policies: String,
    /// Cache sizes in --size-unit (hitrate rules).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "0.01,0.05,0.1,0.2"
    )]
    pub sizes: Vec<f64>,
    /// Unit of --sizes.
    #[arg(long, value_enum, default_value = "fraction")]
    pub size_unit: SizeUnit,
    /// `maxmemory-samples` values.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "5")]
    pub samples: Vec<u32>,
    /// Fill on a GET miss (cache-aside).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub fill_on_miss: bool,
    /// The engine's memory-limit enforcement (the server's is Redis's).
    #[arg(long, value_enum, default_value = "redis")]
    pub enforcement: EnforcementArg,
    /// Extra engine config line (repeatable), e.g. `--config "lab-sampling uniform"`.
    #[arg(long = "config", value_name = "LINE")]
    pub config: Vec<String>,
    /// Seed of the generator and the engines.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (default: results/compare-<timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
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
    /// `bytes` (same byte budget) or `keys` (the engine holds the server's key count).
    #[serde(rename = "match")]
    pub matching: String,
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
    /// Engine bytes per key at the end (key + value bytes, no overhead).
    pub engine_memory_per_key: f64,
    /// Server (`used_memory` − empty `used_memory`) / keys.
    pub server_memory_per_key: f64,
    /// The engine's virtual request rate (= the server's achieved rate), requests/s.
    pub engine_rate: f64,
}

/// What the engine did in one run.
#[derive(Clone, Copy, Debug)]
pub struct EngineResult {
    /// GETs.
    pub gets: u64,
    /// Hits.
    pub hits: u64,
    /// Evictions.
    pub evicted: u64,
    /// Refused writes.
    pub oom: u64,
    /// Keys at the end.
    pub keys: u64,
    /// Key + value bytes at the end.
    pub logical_bytes: u64,
}

/// One engine run of a comparison.
#[derive(Clone, Copy, Debug)]
pub struct EngineRun {
    /// The policy.
    pub policy: &'static evictlab_engine::policy::registry::PolicyInfo,
    /// `maxmemory-samples`.
    pub samples: Option<u32>,
    /// Capacity in `unit`.
    pub cap: u64,
    /// `Keys`, or `Bytes` (key + value bytes).
    pub unit: SizeUnit,
    /// Virtual requests per second.
    pub rate: f64,
    /// Fill on a GET miss.
    pub fill_on_miss: bool,
    /// Engine seed.
    pub seed: u64,
}

/// Replays `w` into an engine limited to `cap` keys (`unit` = keys) or `cap` bytes of key +
/// value (`unit` = bytes), at `rate` virtual requests per second.
pub fn engine_run(
    w: &Workload,
    run: &EngineRun,
    opts: &HitOptions,
) -> Result<EngineResult, RunError> {
    let EngineRun {
        policy,
        samples,
        cap,
        unit,
        rate,
        fill_on_miss,
        seed,
    } = *run;
    let cell = Cell {
        workload: 0,
        policy,
        samples,
        size: cap as f64,
        size_unit: unit,
        seed,
    };
    let (cap_unit, lines) = match unit {
        SizeUnit::Keys => (crate::hitrate::CapacityUnit::Keys, Vec::new()),
        _ => (
            crate::hitrate::CapacityUnit::Bytes,
            vec!["lab-count-key-bytes yes".to_string()],
        ),
    };
    let mut o = opts.clone();
    o.config_lines = lines.into_iter().chain(opts.config_lines.clone()).collect();
    let config = cell_config(&cell, cap.max(1), cap_unit, &o)?;
    let mut e = Engine::new(config, seed).map_err(|e| RunError::Config { source: e })?;
    let ms_per_request = 1000.0 / rate.max(1e-9);
    let (mut gets, mut hits) = (0u64, 0u64);
    for (i, r) in w.requests.iter().enumerate() {
        let t = if w.info.has_time {
            r.time_ms
        } else {
            (i as f64 * ms_per_request) as u64
        };
        e.set_time_ms(t);
        let key = Key::from_id(r.key);
        match r.op {
            Op::Get => {
                gets += 1;
                let hit = if fill_on_miss {
                    matches!(
                        e.get_or_fill(key, Blob::Sized(r.value_size as u64), r.ttl_ms),
                        FillOutcome::Hit(_)
                    )
                } else {
                    matches!(e.get(&key), GetOutcome::Hit(_))
                };
                hits += u64::from(hit);
            }
            Op::Set => {
                e.set(
                    key,
                    Blob::Sized(r.value_size as u64),
                    SetOptions::ttl_ms(r.ttl_ms),
                );
            }
            Op::Delete => {
                e.del(&key);
            }
        }
    }
    let st = e.stats();
    Ok(EngineResult {
        gets,
        hits,
        evicted: st.evicted_keys,
        oom: st.rejected_writes,
        keys: e.len() as u64,
        logical_bytes: e.logical_bytes(),
    })
}

/// The two compare rows (bytes, keys) of one server row.
pub fn compare_rows(
    w: &Workload,
    s: &ServerRow,
    opts: &HitOptions,
    fill_on_miss: bool,
    seed: u64,
) -> Result<Vec<CompareRow>, RunError> {
    let policy = crate::cmd::parse_policies(&s.policy)?[0];
    let rate = if s.requests_per_sec > 0.0 {
        s.requests_per_sec
    } else {
        crate::hitrate::DEFAULT_RATE
    };
    let mut out = Vec::new();
    for (matching, unit, cap) in [
        (
            "bytes",
            SizeUnit::Bytes,
            s.maxmemory.saturating_sub(s.baseline_used_memory),
        ),
        ("keys", SizeUnit::Keys, s.keys),
    ] {
        let run = EngineRun {
            policy,
            samples: s.samples,
            cap,
            unit,
            rate,
            fill_on_miss,
            seed,
        };
        let e = engine_run(w, &run, opts)?;
        let eh = if e.gets > 0 {
            e.hits as f64 / e.gets as f64
        } else {
            0.0
        };
        out.push(CompareRow {
            cell: s.cell,
            workload: s.workload.clone(),
            policy: s.policy.clone(),
            samples: s.samples,
            matching: matching.into(),
            capacity: cap.max(1),
            capacity_unit: matching.into(),
            capacity_fraction: s.capacity_fraction,
            server_maxmemory: s.maxmemory,
            engine_hit_ratio: eh,
            server_hit_ratio: s.hit_ratio,
            diff_pp: (eh - s.hit_ratio) * 100.0,
            engine_misses: e.gets - e.hits,
            server_misses: s.misses,
            engine_evicted_keys: e.evicted,
            server_evicted_keys: s.evicted_keys,
            engine_oom_rejections: e.oom,
            server_oom_rejections: s.oom_rejections,
            engine_keys: e.keys,
            server_keys: s.keys,
            engine_memory_per_key: if e.keys > 0 {
                e.logical_bytes as f64 / e.keys as f64
            } else {
                0.0
            },
            server_memory_per_key: s.memory_per_key,
            engine_rate: rate,
        });
    }
    Ok(out)
}

/// Runs `experiment compare`; returns the directory and the rows.
pub fn run(args: &CompareArgs, ui: &Ui) -> Result<(PathBuf, Vec<CompareRow>), RunError> {
    let policies = server_policies(&args.policies)?;
    check_grid(&args.sizes, args.size_unit, &args.samples, args.conn.rate)?;
    let opts = HitOptions {
        rate: crate::hitrate::DEFAULT_RATE,
        fill_on_miss: args.fill_on_miss,
        enforcement: args.enforcement.engine(),
        config_lines: args.config.clone(),
    };
    let mut probe = evictlab_engine::Config::default();
    probe.apply_str(&opts.config_lines.join("\n"), None)?;
    let input = args.workload.to_input(args.seed)?;
    let spin = ui.spinner("loading workload");
    let w = load(&input)?;
    spin.finish_and_clear();
    let cells = cells(&policies, &args.samples, &args.sizes, args.size_unit);
    let out: ServerOutcome = measure(&args.conn, &w, &cells, args.fill_on_miss, args.seed, ui)?;
    let bar = ui.bar(out.rows.len() as u64, "engine cells");
    let mut rows = Vec::new();
    for s in &out.rows {
        rows.extend(compare_rows(&w, s, &opts, args.fill_on_miss, args.seed)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let dir = crate::cmd::out_dir(&args.out, "compare")?;
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
    Ok((dir, rows))
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
         through a server-side script, so every GET's outcome is exact). `bytes` rows give \
         the engine the server's byte budget counting key + value bytes only; `keys` rows \
         give it the key count the server held, which removes the per-key overhead and \
         leaves the policies' choices. diff = engine − server, in percentage points.",
    );
    for (i, matching) in ["keys", "bytes"].iter().enumerate() {
        let sel: Vec<&CompareRow> = rows.iter().filter(|r| r.matching == *matching).collect();
        if sel.is_empty() {
            continue;
        }
        report.heading(3, format!("Matched by {matching}"));
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
    let mpk: Vec<&CompareRow> = rows.iter().filter(|r| r.matching == "bytes").collect();
    if let Some(r) = mpk.iter().max_by_key(|r| r.server_keys) {
        report.paragraph(format!(
            "Memory per key: the server spent {} per key (used_memory above the empty \
             server / keys) where the engine's byte accounting counts {} (key + value), so at \
             the same byte budget the engine held {} keys and the server {}.",
            format::bytes(r.server_memory_per_key),
            format::bytes(r.engine_memory_per_key),
            r.engine_keys,
            r.server_keys
        ));
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
        experiment::args::<CompareArgs>(self.name(), self.about())
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (dir, rows) = run(&experiment::parse(m)?, ui)?;
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{:<16} samples {:<4} {:>6} match {:<5} engine {:.4} server {:.4} diff {:+.2} pp",
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
