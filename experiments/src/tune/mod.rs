//! `experiment tune`: from a workload, a RAM budget, a write rate and persistence settings to
//! measured recommendations (`maxmemory`, policy and `maxmemory-samples`, THP and
//! `vm.overcommit_memory`, forkless / AOF-only / replica alternatives).
//!
//! Three measurements, each written to a CSV in the results directory:
//!
//! 1. **Memory** ([`measure_memory`], `tune_memory.csv`): in a forked child, the process RSS
//!    before any data (the base footprint), after a fill of materialized values, after
//!    deleting a random half and after refilling with mixed sizes; the fragmentation ratio is
//!    `(rss − base) / used_memory` (Redis's `mem_fragmentation_ratio` is `rss / used`; the
//!    base is split out here because it does not scale with the data). Kept in one small
//!    function so an `experiments::frag` module can replace it.
//! 2. **Copy-on-write** (`cow.csv`, `cow_timeseries.csv`): [`crate::cow`] at the stated
//!    write rate for a few scaled-down dataset sizes, THP off and on, fork and forkless; then
//!    a linear least-squares fit of peak COW, fork latency, save time and forkless overhead
//!    against the RSS at the fork (`tune_fit.csv`, with residuals), extrapolated to the RSS
//!    the recommended `maxmemory` implies. Linear is the right form for uniform writes during
//!    a save whose duration grows with the data: `P·(1 − e^(−rate·T/P))` with `T ∝ P`.
//! 3. **Hit ratio** (`hitrate.csv`, `tune_policy.csv`): every registry policy (samples 1, 3,
//!    5 and 10 for the sampled ones; three engine seeds for them, one for the deterministic
//!    ones) at cache sizes around the key count the recommended `maxmemory` holds, and Belady.
//!
//! The derived figures (maxmemory, headrooms, save intervals, gaps) go to
//! `tune_recommendation.csv`; [`crate::tune::report`] writes `tuning-report.md` citing every
//! number through `tune_citations.csv`.

pub mod cmd;
pub mod report;

use std::path::{Path, PathBuf};

use evictlab_engine::config::SaveRule;
use evictlab_engine::persist::cow::read_rss;
use evictlab_engine::persist::{rules, thp};
use evictlab_engine::{Blob, Config, Engine, Key, SetOptions};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::cow::{CowArgs, CowPoint, CowRow, Distribution, SnapshotMode, ThpMode};
use crate::grid::Grid;
use crate::hitrate::{HitOptions, HitRow, SizeUnit, run_cells};
use crate::source::load;
use crate::sweep::WorkloadInput;
use crate::ui::Ui;
use crate::{RunError, output};

/// Everything `experiment tune` needs (built from the command line by `cmd::tune`).
#[derive(Clone, Debug)]
pub struct TuneParams {
    /// The workload.
    pub workload: WorkloadInput,
    /// RAM budget of the box, bytes.
    pub ram: u64,
    /// Writes per second in production.
    pub write_rate: u64,
    /// `save` points (empty: no RDB snapshots).
    pub save_rules: Vec<SaveRule>,
    /// `appendonly yes`.
    pub appendonly: bool,
    /// `appendfsync` (always, everysec, no).
    pub appendfsync: String,
    /// Results directory.
    pub out: PathBuf,
    /// Seed.
    pub seed: u64,
    /// Scaled-down dataset sizes for the COW runs (value bytes).
    pub dataset_sizes: Vec<u64>,
    /// Bytes per value (default: the workload's mean object size, else 1 KiB).
    pub value_size: Option<u64>,
    /// Keys in the real keyspace (default: the workload's distinct keys).
    pub keyspace: Option<u64>,
    /// Emulated disk bandwidth of the snapshot writer, bytes/s.
    pub disk_bandwidth: u64,
    /// Other memory to keep free (client output buffers, replication backlog), bytes.
    pub reserve: u64,
    /// Key distribution of the writes during a save.
    pub write_distribution: Distribution,
    /// Value bytes of the fragmentation measurement.
    pub memory_dataset: u64,
    /// Engine seeds for the sampled policies.
    pub seeds: u32,
}

/// One row of `tune_memory.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemRow {
    /// `empty`, `fill`, `delete-half` or `refill-mixed`.
    pub phase: String,
    /// Keys live.
    pub keys: u64,
    /// Mean value size of the fill.
    pub value_size: u64,
    /// Engine `used_memory` (key + value + per-entry overhead, as Redis counts).
    pub used_memory_bytes: u64,
    /// Process RSS.
    pub rss_bytes: u64,
    /// RSS before any data (base footprint).
    pub base_rss_bytes: u64,
    /// `(rss − base) / used` (NaN-free: 0 when used is 0).
    pub frag_ratio: f64,
    /// `used / keys`.
    pub used_per_key_bytes: f64,
}

/// One row of `tune_fit.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitRow {
    /// `cow_peak_bytes`, `fork_usec`, `save_ms` or `extra_memory_peak_bytes`.
    pub quantity: String,
    /// `fork` or `forkless`.
    pub snapshot: String,
    /// `off` or `on`.
    pub thp: String,
    /// `point` (a measurement), `fit` (the line) or `extrapolation` (the line at the target).
    pub kind: String,
    /// RSS at the fork (x), bytes.
    pub x_bytes: f64,
    /// Measured value (points).
    pub y: f64,
    /// The line at x.
    pub fitted: f64,
    /// y − fitted (points).
    pub residual: f64,
    /// Slope (per byte of RSS).
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Points in the fit.
    pub n: u64,
}

/// One row of `tune_policy.csv`: a (policy, samples) at one size, over seeds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyRow {
    /// Policy.
    pub policy: String,
    /// `redis`, `research` or `oracle`.
    pub family: String,
    /// `maxmemory-samples` (0 for non-sampled).
    pub samples: u32,
    /// `budget` (the size the recommended maxmemory holds), `half` or `double`.
    pub size: String,
    /// Cache size as a fraction of the workload's working set.
    pub fraction: f64,
    /// Capacity in the cell's unit.
    pub capacity: u64,
    /// Seeds run.
    pub seeds: u64,
    /// Mean hit ratio.
    pub hit_ratio: f64,
    /// Lowest over seeds.
    pub hit_ratio_min: f64,
    /// Highest over seeds.
    pub hit_ratio_max: f64,
    /// Belady − this, percentage points.
    pub gap_to_belady_pp: f64,
}

/// One row of `tune_recommendation.csv`: a derived figure and how it was derived.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecRow {
    /// Name (unique).
    pub name: String,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: String,
    /// Formula or source.
    pub derivation: String,
}

/// A linear least-squares fit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Line {
    /// Slope.
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// R².
    pub r2: f64,
    /// Points.
    pub n: usize,
}

impl Line {
    /// The line at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Ordinary least squares of `y` on `x` (a single point gives a line through it and the
/// origin; none gives zeros).
pub fn fit_line(pts: &[(f64, f64)]) -> Line {
    let n = pts.len();
    if n == 0 {
        return Line::default();
    }
    if n == 1 {
        let (x, y) = pts[0];
        return Line {
            slope: if x != 0.0 { y / x } else { 0.0 },
            intercept: 0.0,
            r2: 1.0,
            n,
        };
    }
    let nf = n as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = my - slope * mx;
    let sse: f64 = pts
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let r2 = if syy > 0.0 { 1.0 - sse / syy } else { 1.0 };
    Line {
        slope,
        intercept,
        r2,
        n,
    }
}

/// What a tune run measured and derived.
#[derive(Clone, Debug, Default)]
pub struct TuneOutcome {
    /// The directory.
    pub dir: PathBuf,
    /// `tune_memory.csv` rows.
    pub memory: Vec<MemRow>,
    /// `cow.csv` rows.
    pub cow: Vec<CowRow>,
    /// `tune_fit.csv` rows.
    pub fits: Vec<FitRow>,
    /// `tune_policy.csv` rows.
    pub policies: Vec<PolicyRow>,
    /// `tune_recommendation.csv` rows.
    pub recs: Vec<RecRow>,
    /// The workload's name.
    pub workload: String,
    /// System settings read at the start.
    pub system: SystemSettings,
    /// The parameters.
    pub params_text: Vec<(String, String)>,
}

impl TuneOutcome {
    /// A derived figure by name.
    pub fn rec(&self, name: &str) -> Option<f64> {
        self.recs.iter().find(|r| r.name == name).map(|r| r.value)
    }
}

/// The kernel settings that decide whether a fork fails.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SystemSettings {
    /// `/sys/kernel/mm/transparent_hugepage/enabled` (the selected mode).
    pub thp: String,
    /// `/proc/sys/vm/overcommit_memory`.
    pub overcommit_memory: Option<u32>,
    /// `/proc/sys/vm/overcommit_ratio`.
    pub overcommit_ratio: Option<u32>,
    /// `SwapTotal` of `/proc/meminfo`, bytes.
    pub swap_bytes: Option<u64>,
    /// `MemTotal`, bytes.
    pub mem_total_bytes: Option<u64>,
}

fn read_u32(path: &str) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Reads the system's THP mode, overcommit settings and memory.
pub fn system_settings() -> SystemSettings {
    SystemSettings {
        thp: thp::system_mode(),
        overcommit_memory: rules::overcommit_memory(),
        overcommit_ratio: read_u32("/proc/sys/vm/overcommit_ratio"),
        swap_bytes: meminfo("SwapTotal"),
        mem_total_bytes: meminfo("MemTotal"),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> RunError {
    RunError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn report_err(m: impl std::fmt::Display) -> RunError {
    RunError::Report {
        message: m.to_string(),
    }
}

/// Fills, deletes and refills a materialized engine inside this process and returns the
/// rows (run it in a fresh child: see [`measure_memory`]).
fn memory_phases(value_size: u64, dataset: u64, seed: u64) -> Result<Vec<MemRow>, String> {
    let cfg = Config::parse_str(
        "lab-storage materialized\nmaxmemory 0\nmaxmemory-policy noeviction\nsave \"\"",
    )
    .map_err(|e| e.to_string())?;
    let mut engine = Engine::new(cfg, seed).map_err(|e| e.to_string())?;
    // The base footprint: the process with an empty engine.
    let base = read_rss().map_err(|e| format!("reading RSS: {e}"))?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x7e57);
    let vs = value_size.max(1) as usize;
    let keys = (dataset / value_size.max(1)).max(1);
    let mut template = vec![0u8; vs * 2 + 1];
    for b in template.iter_mut() {
        *b = rng.random::<u8>();
    }
    let mut rows = Vec::new();
    let mut row = |phase: &str, engine: &Engine, live: u64| -> Result<(), String> {
        let rss = read_rss().map_err(|e| format!("reading RSS: {e}"))?;
        let used = engine.used_memory();
        rows.push(MemRow {
            phase: phase.into(),
            keys: live,
            value_size,
            used_memory_bytes: used,
            rss_bytes: rss,
            base_rss_bytes: base,
            frag_ratio: if used > 0 {
                rss.saturating_sub(base) as f64 / used as f64
            } else {
                0.0
            },
            used_per_key_bytes: if live > 0 {
                used as f64 / live as f64
            } else {
                0.0
            },
        });
        Ok(())
    };
    row("empty", &engine, 0)?;
    for id in 0..keys {
        engine.set(
            Key::from_id(id),
            Blob::bytes(&template[(id as usize * 7) % vs..][..vs]),
            SetOptions::default(),
        );
    }
    row("fill", &engine, keys)?;
    let mut live = keys;
    let mut deleted = Vec::new();
    for id in 0..keys {
        if rng.random::<bool>() && engine.del(&Key::from_id(id)) {
            live -= 1;
            deleted.push(id);
        }
    }
    row("delete-half", &engine, live)?;
    // Refill the deleted keys with sizes from 0.5× to 1.5× the value size: the holes left by
    // the deletes fit some and not others, as a workload whose values change size.
    for id in deleted {
        let len = rng.random_range(vs / 2..=vs + vs / 2).max(1);
        engine.set(
            Key::from_id(id),
            Blob::bytes(&template[..len]),
            SetOptions::default(),
        );
        live += 1;
    }
    row("refill-mixed", &engine, live)?;
    Ok(rows)
}

/// Measures the base footprint and the fragmentation ratio in a forked child (a fresh heap
/// that the caller's allocations do not pollute). Returns the `tune_memory.csv` rows.
///
/// Call it from a thread that holds no locks the child could need (see [`crate::cow::cmd`]).
pub fn measure_memory(value_size: u64, dataset: u64, seed: u64) -> Result<Vec<MemRow>, RunError> {
    crate::cow::fork_call("memory probe", || memory_phases(value_size, dataset, seed))
        .map_err(report_err)
}

/// Seconds between two BGSAVEs at `rate` writes/s under `rules` (a point `s c` fires once
/// `c` changes happened and more than `s` seconds passed: redis `src/server.c` serverCron);
/// `None` when no rule ever fires.
pub fn save_interval_secs(rules: &[SaveRule], rate: u64) -> Option<f64> {
    if rate == 0 {
        return None;
    }
    rules
        .iter()
        .map(|r| (r.seconds as f64).max(r.changes as f64 / rate as f64))
        .min_by(f64::total_cmp)
}

/// Least squares through the origin (`y = k·x`): fork latency is the copy of the page
/// tables, proportional to the RSS; small forks are too noisy to fit an intercept.
pub fn fit_origin(pts: &[(f64, f64)]) -> Line {
    let sxx: f64 = pts.iter().map(|p| p.0 * p.0).sum();
    let sxy: f64 = pts.iter().map(|p| p.0 * p.1).sum();
    let k = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let n = pts.len() as f64;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n.max(1.0);
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    let sse: f64 = pts.iter().map(|p| (p.1 - k * p.0).powi(2)).sum();
    Line {
        slope: k,
        intercept: 0.0,
        r2: if syy > 0.0 { 1.0 - sse / syy } else { 1.0 },
        n: pts.len(),
    }
}

fn fit_rows(
    quantity: &str,
    snapshot: &str,
    thp: &str,
    pts: &[(f64, f64)],
    target: f64,
    out: &mut Vec<FitRow>,
) -> Line {
    let l = if quantity == "fork_usec" {
        fit_origin(pts)
    } else {
        fit_line(pts)
    };
    let base = FitRow {
        quantity: quantity.into(),
        snapshot: snapshot.into(),
        thp: thp.into(),
        slope: l.slope,
        intercept: l.intercept,
        r2: l.r2,
        n: l.n as u64,
        ..FitRow::default()
    };
    for &(x, y) in pts {
        out.push(FitRow {
            kind: "point".into(),
            x_bytes: x,
            y,
            fitted: l.at(x),
            residual: y - l.at(x),
            ..base.clone()
        });
    }
    out.push(FitRow {
        kind: "fit".into(),
        ..base.clone()
    });
    out.push(FitRow {
        kind: "extrapolation".into(),
        x_bytes: target,
        fitted: l.at(target),
        ..base
    });
    l
}

/// Runs the COW cells for every dataset size into `dir` (merged `cow.csv`,
/// `cow_timeseries.csv`, `cow_log.txt`).
fn run_cow(p: &TuneParams, value_size: u64, ui: &Ui, dir: &Path) -> Result<Vec<CowRow>, RunError> {
    let per = 4u64;
    let bar = ui.bar(per * p.dataset_sizes.len() as u64, "snapshots");
    bar.set_message("copy-on-write");
    let mut rows = Vec::new();
    let mut points: Vec<CowPoint> = Vec::new();
    let mut log = Vec::new();
    for (i, &ds) in p.dataset_sizes.iter().enumerate() {
        let sub = dir.join(format!(".tune-cow-{i}"));
        let args = CowArgs {
            dataset: ds,
            value_size,
            write_rates: vec![p.write_rate],
            distribution: p.write_distribution,
            thp: vec![ThpMode::Off, ThpMode::On],
            snapshot: vec![SnapshotMode::Fork, SnapshotMode::Forkless],
            out: sub.clone(),
            seed: p.seed,
            save_bandwidth: p.disk_bandwidth,
            report_period_ms: 50,
            duty_cycle: 100,
            repeats: 1,
            compression: false,
            no_fsync: false,
        };
        let done = i as u64 * per;
        let s = crate::cow::run_with_progress(&args, &mut |pr| {
            bar.set_position(done + pr.done as u64);
            bar.set_message(format!(
                "{} {}",
                evictlab_reports::format::bytes_u64(ds),
                pr.label
            ));
        })
        .map_err(|e| report_err(format!("cow: {e}")))?;
        let ts: Vec<CowPoint> = output::read_csv(&s.timeseries_csv)?;
        points.extend(ts);
        log.extend(
            s.log
                .iter()
                .map(|l| format!("[{}] {l}", evictlab_reports::format::bytes_u64(ds))),
        );
        rows.extend(s.rows);
        let _ = std::fs::remove_dir_all(&sub);
    }
    bar.finish_and_clear();
    output::write_csv(&dir.join("cow.csv"), &rows)?;
    output::write_csv(&dir.join("cow_timeseries.csv"), &points)?;
    let lp = dir.join("cow_log.txt");
    std::fs::write(&lp, log.join("\n") + "\n").map_err(|e| io_err(&lp, e))?;
    Ok(rows)
}

/// The rows of one (snapshot, thp) as (RSS at fork, quantity) points.
fn points(
    rows: &[CowRow],
    snapshot: &str,
    thp: &str,
    f: impl Fn(&CowRow) -> f64,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.snapshot == snapshot && r.thp == thp && r.status == "ok")
        .map(|r| (r.parent_rss_start_bytes as f64, f(r)))
        .collect()
}

/// Largest RSS at the fork `x` with `x + extra(x) + reserve ≤ ram`, for `extra(x) =
/// max(0, a + b·x)`.
fn max_rss(ram: f64, reserve: f64, extra: &Line) -> f64 {
    let b = extra.slope.max(0.0);
    let x = (ram - reserve - extra.intercept) / (1.0 + b);
    if extra.intercept + b * x < 0.0 {
        ram - reserve
    } else {
        x
    }
}

/// The (policy, samples) with the highest mean hit ratio at the budget size among the rows
/// `keep` accepts; ties go to fewer samples (cheaper eviction).
pub fn best_at_budget<'a>(
    rows: &'a [PolicyRow],
    keep: &dyn Fn(&PolicyRow) -> bool,
) -> Option<&'a PolicyRow> {
    let size = decision_size(rows);
    rows.iter()
        .filter(|r| r.size == size && keep(r))
        .max_by(|a, b| {
            a.hit_ratio
                .total_cmp(&b.hit_ratio)
                .then(b.samples.cmp(&a.samples))
                .then(b.policy.cmp(&a.policy))
        })
}

/// The size the policy is chosen at: the budget, or (when the budget holds the whole working
/// set and every policy ties) a quarter of it, the size where the choice starts to matter.
pub fn decision_size(rows: &[PolicyRow]) -> &'static str {
    if rows.iter().any(|r| r.size == "quarter") {
        "quarter"
    } else {
        "budget"
    }
}

/// Policies a recommendation may name: Redis's evicting `allkeys-*` policies (`volatile-*`
/// evict only keys with a TTL and `noeviction` refuses writes; both are workload choices,
/// not tuning).
pub fn recommendable(r: &PolicyRow) -> bool {
    r.family == "redis" && r.policy.starts_with("allkeys-")
}

/// The policy figures at the budget size: the best Redis `maxmemory-policy` (and samples),
/// the best policy of any family, Belady, and allkeys-lru with 5 samples as the baseline.
fn policy_recs(rows: &[PolicyRow], recs: &mut Vec<RecRow>) {
    let size = decision_size(rows);
    let at: Vec<&PolicyRow> = rows.iter().filter(|r| r.size == size).collect();
    let best = |f: &dyn Fn(&PolicyRow) -> bool| best_at_budget(rows, f);
    let mut push = |name: &str, value: f64, unit: &str, d: String| {
        recs.push(RecRow {
            name: name.into(),
            value,
            unit: unit.into(),
            derivation: d,
        })
    };
    let redis = best(&recommendable);
    let any = best(&|r| r.family != "oracle");
    let baseline = at
        .iter()
        .find(|r| r.policy == "allkeys-lru" && r.samples == 5);
    let belady = at.iter().find(|r| r.policy == "belady");
    if let Some(b) = redis {
        push(
            "best_redis_hit_ratio",
            b.hit_ratio,
            "ratio",
            format!(
                "tune_policy.csv size={size} policy={} samples={}",
                b.policy, b.samples
            ),
        );
        push(
            "best_redis_spread_pp",
            (b.hit_ratio_max - b.hit_ratio_min) * 100.0,
            "pp",
            format!("max - min hit ratio over {} seeds", b.seeds),
        );
        push(
            "best_redis_gap_to_belady_pp",
            b.gap_to_belady_pp,
            "pp",
            "tune_policy.csv gap_to_belady_pp".into(),
        );
        if let Some(base) = baseline {
            push(
                "gain_over_allkeys_lru5_pp",
                (b.hit_ratio - base.hit_ratio) * 100.0,
                "pp",
                "best Redis policy - allkeys-lru samples 5, hit ratio at the budget".into(),
            );
            push(
                "allkeys_lru5_hit_ratio",
                base.hit_ratio,
                "ratio",
                "tune_policy.csv size=budget policy=allkeys-lru samples=5".into(),
            );
        }
        if let Some(a) = any {
            push(
                "best_any_hit_ratio",
                a.hit_ratio,
                "ratio",
                format!(
                    "tune_policy.csv size={size} policy={} samples={}",
                    a.policy, a.samples
                ),
            );
            push(
                "best_any_gain_over_redis_pp",
                (a.hit_ratio - b.hit_ratio) * 100.0,
                "pp",
                "best policy of any family - best Redis policy".into(),
            );
        }
        // Samples: the same policy at 5 samples (Redis's default).
        if let Some(five) = at.iter().find(|r| r.policy == b.policy && r.samples == 5) {
            push(
                "best_vs_5_samples_pp",
                (b.hit_ratio - five.hit_ratio) * 100.0,
                "pp",
                "best samples - samples 5, same policy".into(),
            );
        }
    }
    if let Some(o) = belady {
        push(
            "belady_hit_ratio",
            o.hit_ratio,
            "ratio",
            "tune_policy.csv size=budget policy=belady".into(),
        );
    }
}

/// Runs everything and writes the CSVs; the report is written by [`crate::tune::report`].
pub fn run(p: &TuneParams, ui: &Ui) -> Result<TuneOutcome, RunError> {
    std::fs::create_dir_all(&p.out).map_err(|e| io_err(&p.out, e))?;
    if p.dataset_sizes.is_empty() {
        return Err(RunError::BadArgument {
            flag: "--dataset-sizes",
            value: String::new(),
            expected: "a comma-separated list of sizes, e.g. 64mb,128mb,256mb",
        });
    }
    let system = system_settings();
    // The workload's shape (then dropped: the forked workers below would inherit it).
    let spin = ui.spinner("loading workload");
    let (name, objects, mean_size, has_sizes) = {
        let w = load(&p.workload)?;
        let ws = w.working_set;
        let mean = if w.info.has_sizes && ws.objects > 0 {
            Some(ws.bytes / ws.objects)
        } else {
            None
        };
        (w.info.name.clone(), ws.objects, mean, w.info.has_sizes)
    };
    spin.finish_and_clear();
    let value_size = p.value_size.or(mean_size).unwrap_or(1024).max(1);
    let keyspace = p.keyspace.unwrap_or(objects).max(1);

    // 1. Memory.
    let spin = ui.spinner("fragmentation probe");
    let memory = measure_memory(value_size, p.memory_dataset, p.seed)?;
    spin.finish_and_clear();
    output::write_csv(&p.out.join("tune_memory.csv"), &memory)?;
    let phase = |n: &str| {
        memory
            .iter()
            .find(|r| r.phase == n)
            .cloned()
            .unwrap_or_default()
    };
    let base = phase("empty").rss_bytes as f64;
    let fill = phase("fill");
    let refill = phase("refill-mixed");
    let frag = refill.frag_ratio.max(fill.frag_ratio).max(1.0);
    let per_key = fill.used_per_key_bytes.max(1.0);

    // 2. COW.
    let cow = run_cow(p, value_size, ui, &p.out)?;
    let ram = p.ram as f64;
    let reserve = p.reserve as f64;
    // First pass of the fits (the target x depends on the COW fit itself).
    let cow_off = fit_line(&points(&cow, "fork", "off", |r| r.cow_peak_bytes as f64));
    let x_off = max_rss(ram, reserve, &cow_off).min(ram);
    let mut fits = Vec::new();
    let cow_off = fit_rows(
        "cow_peak_bytes",
        "fork",
        "off",
        &points(&cow, "fork", "off", |r| r.cow_peak_bytes as f64),
        x_off,
        &mut fits,
    );
    let cow_on = fit_line(&points(&cow, "fork", "on", |r| r.cow_peak_bytes as f64));
    let x_on = max_rss(ram, reserve, &cow_on).min(ram);
    let cow_on = fit_rows(
        "cow_peak_bytes",
        "fork",
        "on",
        &points(&cow, "fork", "on", |r| r.cow_peak_bytes as f64),
        x_on,
        &mut fits,
    );
    let fl = fit_line(&points(&cow, "forkless", "off", |r| {
        r.extra_memory_peak_bytes as f64
    }));
    let x_fl = max_rss(ram, reserve, &fl).min(ram);
    let forkless = fit_rows(
        "extra_memory_peak_bytes",
        "forkless",
        "off",
        &points(&cow, "forkless", "off", |r| {
            r.extra_memory_peak_bytes as f64
        }),
        x_fl,
        &mut fits,
    );
    let fork_off = fit_rows(
        "fork_usec",
        "fork",
        "off",
        &points(&cow, "fork", "off", |r| r.fork_usec as f64),
        x_off,
        &mut fits,
    );
    let fork_on = fit_rows(
        "fork_usec",
        "fork",
        "on",
        &points(&cow, "fork", "on", |r| r.fork_usec as f64),
        x_off,
        &mut fits,
    );
    let save = fit_rows(
        "save_ms",
        "fork",
        "off",
        &points(&cow, "fork", "off", |r| r.save_ms),
        x_off,
        &mut fits,
    );
    output::write_csv(&p.out.join("tune_fit.csv"), &fits)?;

    // maxmemory: RSS at the fork is base + frag·maxmemory.
    let mm = |x: f64| ((x - base) / frag).max(0.0);
    let maxmemory = mm(x_off);
    let mut recs: Vec<RecRow> = Vec::new();
    let mut rec = |name: &str, value: f64, unit: &str, derivation: &str| {
        recs.push(RecRow {
            name: name.into(),
            value,
            unit: unit.into(),
            derivation: derivation.into(),
        });
    };
    rec("ram_bytes", ram, "bytes", "--ram");
    rec("reserve_bytes", reserve, "bytes", "--reserve");
    rec(
        "write_rate",
        p.write_rate as f64,
        "writes/s",
        "--write-rate",
    );
    rec(
        "base_footprint_bytes",
        base,
        "bytes",
        "tune_memory.csv phase=empty rss_bytes",
    );
    rec(
        "frag_ratio",
        frag,
        "ratio",
        "max(1, tune_memory.csv frag_ratio of phases fill and refill-mixed)",
    );
    rec(
        "used_per_key_bytes",
        per_key,
        "bytes",
        "tune_memory.csv phase=fill used_per_key_bytes",
    );
    rec(
        "value_size_bytes",
        value_size as f64,
        "bytes",
        "--value-size, else the workload's mean object size, else 1024",
    );
    rec(
        "rss_at_fork_bytes",
        x_off,
        "bytes",
        "largest x with x + cow(x) + reserve <= ram, cow = tune_fit.csv cow_peak_bytes fork thp=off",
    );
    let measured_max = cow
        .iter()
        .map(|r| r.parent_rss_start_bytes as f64)
        .fold(1.0, f64::max);
    rec(
        "extrapolation_factor",
        x_off / measured_max,
        "x",
        "rss_at_fork_bytes / largest parent_rss_start_bytes in cow.csv",
    );
    rec(
        "cow_headroom_bytes",
        cow_off.at(x_off).max(0.0),
        "bytes",
        "tune_fit.csv cow_peak_bytes fork off at rss_at_fork_bytes",
    );
    rec(
        "maxmemory_bytes",
        maxmemory,
        "bytes",
        "(rss_at_fork_bytes - base_footprint_bytes) / frag_ratio",
    );
    rec(
        "maxmemory_thp_on_bytes",
        mm(x_on),
        "bytes",
        "same with the THP-on COW fit",
    );
    rec(
        "cow_headroom_thp_on_bytes",
        cow_on.at(x_on).max(0.0),
        "bytes",
        "tune_fit.csv cow_peak_bytes fork on",
    );
    rec(
        "maxmemory_forkless_bytes",
        mm(x_fl),
        "bytes",
        "same with the forkless extra-memory fit",
    );
    rec(
        "forkless_overhead_bytes",
        forkless.at(x_fl).max(0.0),
        "bytes",
        "tune_fit.csv extra_memory_peak_bytes forkless",
    );
    rec(
        "maxmemory_no_fork_bytes",
        mm(ram - reserve),
        "bytes",
        "(ram - reserve - base) / frag: no snapshot child on this node (persistence on a replica)",
    );
    rec(
        "fork_usec_thp_off",
        fork_off.at(x_off).max(0.0),
        "us",
        "tune_fit.csv fork_usec fork off at rss_at_fork_bytes",
    );
    rec(
        "fork_usec_thp_on",
        fork_on.at(x_off).max(0.0),
        "us",
        "tune_fit.csv fork_usec fork on at rss_at_fork_bytes",
    );
    rec(
        "cow_thp_off_at_target_bytes",
        cow_off.at(x_off).max(0.0),
        "bytes",
        "tune_fit.csv cow_peak_bytes fork off at rss_at_fork_bytes",
    );
    rec(
        "cow_thp_on_at_target_bytes",
        cow_on.at(x_off).max(0.0),
        "bytes",
        "tune_fit.csv cow_peak_bytes fork on at rss_at_fork_bytes",
    );
    let save_s = save.at(x_off).max(0.0) / 1e3;
    rec(
        "save_secs",
        save_s,
        "s",
        "tune_fit.csv save_ms fork off at rss_at_fork_bytes (emulated disk --disk-bandwidth)",
    );
    // Naive setting: maxmemory = what fits without a child, then a BGSAVE.
    let naive_x = ram - reserve;
    rec(
        "naive_peak_bytes",
        naive_x + reserve + cow_off.at(naive_x).max(0.0),
        "bytes",
        "maxmemory_no_fork_bytes with a BGSAVE: rss + reserve + cow(rss)",
    );
    if let Some(i) = save_interval_secs(&p.save_rules, p.write_rate) {
        rec(
            "save_interval_secs",
            i,
            "s",
            "min over save points of max(seconds, changes / write_rate)",
        );
    }
    if p.appendonly && p.write_rate > 0 {
        // auto-aof-rewrite-percentage 100, auto-aof-rewrite-min-size 64mb (Redis defaults):
        // a rewrite when the AOF doubles its size after the last rewrite. A SET of a value
        // costs about value + key + 40 bytes of RESP in the AOF.
        let rec_bytes = value_size as f64 + 40.0 + 16.0;
        let base_aof = maxmemory.max(64.0 * 1048576.0);
        rec(
            "aof_bytes_per_sec",
            rec_bytes * p.write_rate as f64,
            "bytes/s",
            "write_rate * (value_size + 56)",
        );
        rec(
            "aof_rewrite_interval_secs",
            base_aof / (rec_bytes * p.write_rate as f64),
            "s",
            "max(64mb, maxmemory) / aof_bytes_per_sec (auto-aof-rewrite-percentage 100: the AOF doubles its rewritten size, which is about the dataset)",
        );
    }
    if let Some(ratio) = system.overcommit_ratio {
        // Mode 2: CommitLimit = swap + RAM × ratio; a fork commits the parent's private
        // writable memory again, so it fails once 2 × rss > CommitLimit (no swap assumed).
        rec(
            "overcommit2_max_rss_bytes",
            ram * ratio as f64 / 100.0 / 2.0,
            "bytes",
            "ram * overcommit_ratio / 100 / 2 (vm.overcommit_memory=2, no swap)",
        );
    }
    rec(
        "keyspace_keys",
        keyspace as f64,
        "keys",
        "--keyspace, else the workload's distinct keys",
    );
    let budget_keys = maxmemory / per_key;
    rec(
        "budget_keys",
        budget_keys,
        "keys",
        "maxmemory_bytes / used_per_key_bytes",
    );
    let f0 = budget_keys / keyspace as f64;
    rec(
        "budget_fraction",
        f0,
        "fraction",
        "budget_keys / keyspace_keys",
    );

    // 3. Hit ratio around the budget.
    let (sizes, labels): (Vec<f64>, Vec<&str>) = if f0 >= 1.0 {
        (vec![0.25, 0.5, 1.0], vec!["quarter", "half", "budget"])
    } else {
        let lo = (f0 / 2.0).max(1e-6);
        let hi = (f0 * 2.0).min(1.0);
        (vec![lo, f0.max(1e-6), hi], vec!["half", "budget", "double"])
    };
    let policies: Vec<&'static _> = evictlab_engine::policy::registry::POLICIES.iter().collect();
    let seeds: Vec<u64> = (0..p.seeds.max(1) as u64).map(|i| p.seed + i).collect();
    let mut cells = Vec::new();
    let grid = Grid {
        policies,
        samples: vec![1, 3, 5, 10],
        sizes: sizes.clone(),
        size_unit: SizeUnit::Fraction,
        fill_on_miss: true,
    };
    for c in grid.cells(1, &seeds) {
        // Deterministic policies do not use the engine seed: one seed is enough.
        if c.policy.sampled || c.seed == p.seed {
            cells.push(c);
        }
    }
    let spin = ui.spinner("loading workload");
    let mut w = load(&p.workload)?;
    w.ensure_next_access();
    spin.finish_and_clear();
    let bar = ui.bar(cells.len() as u64, "cells");
    bar.set_message("hit ratio by policy");
    let ws = [w];
    let hit: Vec<HitRow> = run_cells(&ws, &cells, &HitOptions::default(), &|| bar.inc(1))?;
    bar.finish_and_clear();
    output::write_csv(&p.out.join("hitrate.csv"), &hit)?;
    let mut prows = Vec::new();
    for (si, &size) in sizes.iter().enumerate() {
        let at: Vec<&HitRow> = hit
            .iter()
            .zip(&cells)
            .filter(|(_, c)| c.size == size)
            .map(|(h, _)| h)
            .collect();
        let belady = at
            .iter()
            .filter(|h| h.policy == "belady")
            .map(|h| h.hit_ratio)
            .fold(f64::NAN, f64::max);
        let mut keys: Vec<(String, Option<u32>)> = Vec::new();
        for h in &at {
            let k = (h.policy.clone(), h.samples);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (policy, samples) in keys {
            let v: Vec<&&HitRow> = at
                .iter()
                .filter(|h| h.policy == policy && h.samples == samples)
                .collect();
            let hr: Vec<f64> = v.iter().map(|h| h.hit_ratio).collect();
            let mean = hr.iter().sum::<f64>() / hr.len() as f64;
            let family = evictlab_engine::policy::registry::find(&policy)
                .map(|i| i.family.name().to_ascii_lowercase())
                .unwrap_or_default();
            prows.push(PolicyRow {
                policy: policy.clone(),
                family,
                samples: samples.unwrap_or(0),
                size: labels[si].into(),
                fraction: v[0].capacity_fraction,
                capacity: v[0].capacity,
                seeds: hr.len() as u64,
                hit_ratio: mean,
                hit_ratio_min: hr.iter().copied().fold(f64::INFINITY, f64::min),
                hit_ratio_max: hr.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                gap_to_belady_pp: (belady - mean) * 100.0,
            });
        }
    }
    output::write_csv(&p.out.join("tune_policy.csv"), &prows)?;
    policy_recs(&prows, &mut recs);
    if let Some(m) = system.overcommit_memory {
        recs.push(RecRow {
            name: "overcommit_memory".into(),
            value: m as f64,
            unit: "mode".into(),
            derivation: "/proc/sys/vm/overcommit_memory".into(),
        });
    }
    output::write_csv(&p.out.join("tune_recommendation.csv"), &recs)?;
    let mut params_text = vec![
        ("workload".to_string(), name.clone()),
        ("ram".into(), p.ram.to_string()),
        ("write rate".into(), p.write_rate.to_string()),
        (
            "save".into(),
            if p.save_rules.is_empty() {
                "\"\"".into()
            } else {
                p.save_rules
                    .iter()
                    .map(|r| format!("{} {}", r.seconds, r.changes))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        ),
        (
            "appendonly".into(),
            if p.appendonly {
                format!("yes (appendfsync {})", p.appendfsync)
            } else {
                "no".into()
            },
        ),
    ];
    if has_sizes {
        params_text.push(("object sizes".into(), "from the trace".into()));
    }
    Ok(TuneOutcome {
        dir: p.out.clone(),
        memory,
        cow,
        fits,
        policies: prows,
        recs,
        workload: name,
        system,
        params_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_a_line_and_reports_residual_quality() {
        let pts: Vec<(f64, f64)> = (1..=5).map(|i| (i as f64, 3.0 + 2.0 * i as f64)).collect();
        let l = fit_line(&pts);
        assert!((l.slope - 2.0).abs() < 1e-12 && (l.intercept - 3.0).abs() < 1e-12);
        assert!((l.r2 - 1.0).abs() < 1e-12);
        let noisy = [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0)];
        let l = fit_line(&noisy);
        assert!(l.r2 < 1.0 && l.r2 > 0.0);
        let o = fit_origin(&[(1.0, 2.0), (2.0, 4.0)]);
        assert!((o.slope - 2.0).abs() < 1e-12 && o.intercept == 0.0);
    }

    #[test]
    fn save_points_fire_at_the_later_of_seconds_and_changes() {
        let rules = [
            SaveRule {
                seconds: 900,
                changes: 1,
            },
            SaveRule {
                seconds: 300,
                changes: 100,
            },
            SaveRule {
                seconds: 60,
                changes: 10_000,
            },
        ];
        // 100 writes/s: 10000 changes take 100 s, so the 60 s point fires after 100 s.
        assert_eq!(save_interval_secs(&rules, 100), Some(100.0));
        assert_eq!(save_interval_secs(&rules, 1_000_000), Some(60.0));
        assert_eq!(save_interval_secs(&rules, 0), None);
        assert_eq!(save_interval_secs(&[], 10), None);
    }

    #[test]
    fn headroom_solves_rss_plus_cow_equal_to_ram() {
        let cow = Line {
            slope: 0.25,
            intercept: 1000.0,
            r2: 1.0,
            n: 3,
        };
        let x = max_rss(10_000.0, 500.0, &cow);
        assert!((x + cow.at(x) + 500.0 - 10_000.0).abs() < 1e-6);
        // A negative line (no COW) leaves everything but the reserve.
        let none = Line {
            slope: 0.0,
            intercept: -5.0,
            r2: 1.0,
            n: 3,
        };
        assert_eq!(max_rss(10_000.0, 500.0, &none), 9_500.0);
    }
}
