//! Hit-rate replay: one workload into one engine configuration per cell, cells in parallel.
//!
//! A **cell** is (workload, policy, samples, cache size, seed). [`run_cell`] builds the
//! engine for it and replays every request through the engine's one request loop:
//!
//! * time: the request's timestamp when the workload has them, else `i / rate` seconds
//!   (`--rate`, default 100 000 requests/s). The rate matters for Redis's policies: the LRU
//!   clock ticks once per second, so every key touched within the same second ties;
//! * GET → `GET`, or with fill-on-miss `GET` + on a miss `SET key <size> [PX ttl]`
//!   ([`Engine::get_or_fill`]); SET → `SET key <size> [PX ttl]`; DELETE → `DEL`;
//! * policies that need the future (Belady) get each request's next-access index.
//!
//! Capacity follows libCacheSim: a fraction of the working set in distinct objects (keys
//! memory mode) or, when the workload has sizes, in bytes (logical mode counting only value
//! bytes, no per-entry overhead: libCacheSim's byte mode). Enforcement is `strict` by
//! default — a cache of N objects holds N, as in every simulator — and can be switched to
//! Redis's before-command eviction. Under `--config "lab-server echovault"` the cells model
//! EchoVault instead: its policies, its memory estimate (so the capacity is in bytes) and
//! its eviction after each write (`hitrate::server` states it in the report).

pub mod cmd;
pub mod modelled;
pub mod report;
pub(crate) mod row;
pub mod server;

use row::HitHead;
pub(crate) use row::{hit_row, with_hit_columns};

use std::time::Instant;

use evictlab_engine::config::Enforcement;
use evictlab_engine::engine::FAR;
use evictlab_engine::policy::registry::PolicyInfo;
use evictlab_engine::{Blob, Config, Engine, FillOutcome, GetOutcome, Key, Lookahead, SetOptions};
use evictlab_workloads::{Op, Request};
use rayon::prelude::*;
use serde::Serialize;

use crate::RunError;
use crate::workload::Workload;

/// Default virtual request rate when a workload has no timestamps.
pub const DEFAULT_RATE: f64 = 100_000.0;

/// How a cache size is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeUnit {
    /// A fraction of the working set (objects, or bytes when the workload has sizes).
    Fraction,
    /// Bytes (logical value bytes).
    Bytes,
    /// Keys (objects).
    Keys,
}

/// What `maxmemory` counts in a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CapacityUnit {
    /// Objects (`lab-memory-mode keys`).
    Keys,
    /// Value bytes (`lab-memory-mode logical`, key bytes and overhead not counted).
    Bytes,
}

impl CapacityUnit {
    /// The CSV name.
    pub fn name(self) -> &'static str {
        match self {
            CapacityUnit::Keys => "keys",
            CapacityUnit::Bytes => "bytes",
        }
    }
}

/// Options shared by every cell of a run.
#[derive(Clone, Debug)]
pub struct HitOptions {
    /// Virtual requests per second when the workload has no timestamps.
    pub rate: f64,
    /// Fill the cache on a GET miss.
    pub fill_on_miss: bool,
    /// Strict (simulator) or Redis enforcement.
    pub enforcement: Enforcement,
    /// Extra redis.conf-style lines for every engine (e.g. `lab-sampling uniform`).
    pub config_lines: Vec<String>,
}

impl Default for HitOptions {
    fn default() -> Self {
        HitOptions {
            rate: DEFAULT_RATE,
            fill_on_miss: true,
            enforcement: Enforcement::Strict,
            config_lines: Vec::new(),
        }
    }
}

/// One cell of a sweep.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Index of the workload in the run's workload list.
    pub workload: usize,
    /// The policy.
    pub policy: &'static PolicyInfo,
    /// `maxmemory-samples`, for sampled policies.
    pub samples: Option<u32>,
    /// The size as given.
    pub size: f64,
    /// Its unit.
    pub size_unit: SizeUnit,
    /// The engine seed.
    pub seed: u64,
}

with_hit_columns! {
    /// One result row (one line of `hitrate.csv`). Every column but the last is
    /// deterministic.
    #[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
    pub struct HitRow {}
}

/// The CSV columns that are not deterministic.
pub const TIMING_COLUMNS: &[&str] = &["requests_per_sec"];

/// Resolves a cell's capacity.
pub fn capacity(w: &Workload, size: f64, unit: SizeUnit) -> (u64, CapacityUnit) {
    let (cap, unit) = match unit {
        SizeUnit::Fraction if w.info.has_sizes => (
            (size * w.working_set.bytes as f64).round(),
            CapacityUnit::Bytes,
        ),
        SizeUnit::Fraction => (
            (size * w.working_set.objects as f64).round(),
            CapacityUnit::Keys,
        ),
        SizeUnit::Bytes => (size.round(), CapacityUnit::Bytes),
        SizeUnit::Keys => (size.round(), CapacityUnit::Keys),
    };
    // maxmemory 0 means "no limit": the smallest cache is one unit.
    ((cap as u64).max(1), unit)
}

/// The engine parameters a cell's grid sets, with the command-line flag and the sweep-spec
/// field that set them. An extra config line may not set them: it would apply to every
/// cell while the rows state the grid's value (issue 12).
pub const GRID_PARAMS: &[(&str, &str)] = &[
    ("maxmemory-policy", "--policies (sweep spec: `policies`)"),
    ("maxmemory", "--sizes (sweep spec: `sizes`)"),
    ("maxmemory-samples", "--samples (sweep spec: `samples`)"),
    (
        "lab-enforcement",
        "--enforcement (sweep spec: `enforcement`)",
    ),
];

/// Refuses extra config lines that set a parameter of [`GRID_PARAMS`], naming the line and
/// the grid flag to use instead.
pub fn check_config_lines(lines: &[String]) -> Result<(), RunError> {
    for text in lines {
        for line in text.lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if let Some((param, grid)) = GRID_PARAMS.iter().find(|(p, _)| *p == name) {
                return Err(RunError::GridConflict {
                    line: line.trim().to_string(),
                    param,
                    grid,
                });
            }
        }
    }
    Ok(())
}

/// The engine configuration of a cell.
pub fn cell_config(
    cell: &Cell,
    cap: u64,
    unit: CapacityUnit,
    opts: &HitOptions,
) -> Result<Config, RunError> {
    cell_config_changes(cell, cap, unit, opts).map(|(c, _)| c)
}

/// [`cell_config`] and the parameters the extra config lines changed (config lines joined
/// by `; `, in parameter order). A change to a grid parameter is an error, whatever
/// spelling the line used.
pub fn cell_config_changes(
    cell: &Cell,
    cap: u64,
    unit: CapacityUnit,
    opts: &HitOptions,
) -> Result<(Config, String), RunError> {
    check_config_lines(&opts.config_lines)?;
    let mut c = Config::default();
    let set = |c: &mut Config, k: &str, v: &str| {
        c.set(k, &[v]).map_err(|e| RunError::Config { source: e })
    };
    // Under `lab-server echovault` (from the config lines) the profile fixes the memory mode
    // and the enforcement: the grid leaves them to it, and the capacity must be in bytes.
    let mut probe = Config::default();
    probe
        .apply_str(&opts.config_lines.join("\n"), None)
        .map_err(|e| RunError::Config { source: e })?;
    let echovault = probe.server == evictlab_engine::Server::Echovault;
    if echovault && opts.enforcement != Enforcement::Echovault {
        return Err(RunError::BadArgument {
            flag: "--enforcement",
            value: opts.enforcement.name().into(),
            expected: "none with --config \"lab-server echovault\": EchoVault evicts after \
                       each write (lab-enforcement echovault)",
        });
    }
    set(&mut c, "maxmemory-policy", cell.policy.name)?;
    set(&mut c, "maxmemory", &cap.to_string())?;
    match (unit, echovault) {
        (CapacityUnit::Keys, true) => {
            return Err(RunError::BadArgument {
                flag: "--config",
                value: "lab-server echovault".into(),
                expected: "a capacity in bytes: EchoVault's max-memory limits its byte \
                           estimate (use --size-unit bytes, or fractions of a workload \
                           with sizes)",
            });
        }
        (_, true) => {}
        (CapacityUnit::Keys, false) => set(&mut c, "lab-memory-mode", "keys")?,
        (CapacityUnit::Bytes, false) => {
            set(&mut c, "lab-memory-mode", "logical")?;
            set(&mut c, "lab-count-key-bytes", "no")?;
        }
    }
    if let Some(s) = cell.samples {
        set(&mut c, "maxmemory-samples", &s.to_string())?;
    }
    if !echovault {
        set(&mut c, "lab-enforcement", opts.enforcement.name())?;
    }
    if opts.config_lines.is_empty() {
        return Ok((c, String::new()));
    }
    let before = c.to_lines();
    c.apply_str(&opts.config_lines.join("\n"), None)
        .map_err(|e| RunError::Config { source: e })?;
    let after = c.to_lines();
    let mut changed = Vec::new();
    let fixed = c.server.fixed();
    for line in after.iter().filter(|l| !before.contains(l)) {
        let name = line.split_whitespace().next().unwrap_or("");
        // A setting the server profile fixed (lab-enforcement echovault) is the profile's.
        let by_profile = fixed.iter().any(|(p, v)| format!("{p} {v}") == *line);
        if let Some((param, grid)) = GRID_PARAMS
            .iter()
            .find(|(p, _)| *p == name)
            .filter(|_| !by_profile)
        {
            return Err(RunError::GridConflict {
                line: opts.config_lines.join("; "),
                param,
                grid,
            });
        }
        changed.push(line.as_str());
    }
    check_memory_mode(&c, unit)?;
    Ok((c, changed.join("; ")))
}

/// A memory mode given with `--config` that cannot take effect in a replay cell is an error
/// naming it and where it applies (never a silent fallback): `allocator` needs the
/// counting-allocator probe that only `experiment frag` and `tune` install, and a byte mode
/// (`logical`, `redis`) contradicts a capacity counted in keys, as `keys` does a capacity in
/// bytes. (`lab-memory-mode` is therefore not a grid parameter: `--size-unit` picks the
/// unit, `--config` the byte model within it.)
pub fn check_memory_mode(c: &Config, unit: CapacityUnit) -> Result<(), RunError> {
    use evictlab_engine::MemoryMode;
    match (c.memory_mode, unit) {
        (MemoryMode::Allocator, _) => Err(RunError::BadArgument {
            flag: "--config",
            value: "lab-memory-mode allocator".into(),
            expected: "logical, keys or redis here: lab-memory-mode allocator needs the \
                       allocator probe, which only `experiment frag` and `tune` install",
        }),
        (MemoryMode::Logical | MemoryMode::Redis, CapacityUnit::Keys) => {
            Err(RunError::BadArgument {
                flag: "--config",
                value: format!("lab-memory-mode {}", c.memory_mode.name()),
                expected: "a capacity in bytes for a byte memory mode: use --size-unit bytes \
                           (or fraction with a workload that has value sizes)",
            })
        }
        (MemoryMode::Echovault, CapacityUnit::Keys) => Err(RunError::BadArgument {
            flag: "--config",
            value: "lab-memory-mode echovault".into(),
            expected: "a capacity in bytes for EchoVault's byte estimate: use --size-unit \
                       bytes (or fraction with a workload that has value sizes)",
        }),
        (MemoryMode::Keys, CapacityUnit::Bytes) => Err(RunError::BadArgument {
            flag: "--config",
            value: "lab-memory-mode keys".into(),
            expected: "logical or redis with --size-unit bytes: a capacity in keys is \
                       --size-unit keys",
        }),
        _ => Ok(()),
    }
}

/// Replays `w` into the engine of `cell`.
pub fn run_cell(w: &Workload, cell: &Cell, opts: &HitOptions) -> Result<HitRow, RunError> {
    run_indexed(w, cell, opts, 0).map(|(row, _)| row)
}

/// What the engine held when a replay ended (`experiment compare` sets it beside a real
/// server's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndState {
    /// Keys held.
    pub keys: u64,
    /// Key + value bytes held.
    pub logical_bytes: u64,
    /// `used_memory` as the cell's memory mode counts it (the key count in `keys` mode).
    pub used_memory: u64,
}

/// [`run_cell`], with what the engine held at the end.
pub fn run_cell_with_end(
    w: &Workload,
    cell: &Cell,
    opts: &HitOptions,
) -> Result<(HitRow, EndState), RunError> {
    run_indexed(w, cell, opts, 0)
}

fn run_indexed(
    w: &Workload,
    cell: &Cell,
    opts: &HitOptions,
    index: u64,
) -> Result<(HitRow, EndState), RunError> {
    let (mut cap, unit) = capacity(w, cell.size, cell.size_unit);
    let (mut config, config_changes) = cell_config_changes(cell, cap, unit, opts)?;
    // A fraction under the Redis (or EchoVault) model is of the working set as that model
    // counts it (`modelled`), not of its value bytes.
    let modelled = if cell.size_unit == SizeUnit::Fraction
        && unit == CapacityUnit::Bytes
        && modelled::needs_model(config.memory_mode)
    {
        let ws = modelled::modelled_working_set(w, &config, cell.seed)?;
        cap = ws.maxmemory(cell.size);
        config.maxmemory = cap;
        Some(ws)
    } else {
        None
    };
    let mut engine = Engine::new(config, cell.seed).map_err(|e| RunError::Config { source: e })?;
    let oracle = cell.policy.needs_next_access;
    if oracle && !w.info.has_next_access {
        return Err(RunError::NeedsNextAccess {
            policy: cell.policy.name,
            workload: w.info.name.clone(),
        });
    }
    let mut replay = Replay {
        engine: &mut engine,
        fill_on_miss: opts.fill_on_miss,
        oracle,
        has_time: w.info.has_time,
        clock: RateClock::new(1000.0 / opts.rate),
        gets: 0,
        hits: 0,
        get_bytes: 0,
        hit_bytes: 0,
        ahead: Lookahead::new(),
    };
    let started = Instant::now();
    let n = match &w.stream {
        None => {
            // Internal iteration: the packed columns stay in registers.
            w.requests.iter().enumerate().for_each(|(i, r)| {
                replay.hint(|| w.requests.key_at(i + FAR));
                replay.step(i, &r)
            });
            w.requests.len() as u64
        }
        Some(input) => {
            // Streaming: the source is read again in batches; memory is one batch.
            let mut i = 0usize;
            crate::source::for_each_batch(
                &mut *crate::source::open(input)?,
                &w.info.name,
                |batch| {
                    for (j, r) in batch.iter().enumerate() {
                        replay.hint(|| batch.get(j + FAR).map(|q| q.key));
                        replay.step(i, r);
                        i += 1;
                    }
                },
            )?;
            i as u64
        }
    };
    let (gets, hits, get_bytes, hit_bytes) =
        (replay.gets, replay.hits, replay.get_bytes, replay.hit_bytes);
    let secs = started.elapsed().as_secs_f64();
    let virtual_ms = engine.now_ms();
    debug_assert!(engine.check_invariants().is_ok());
    let st = engine.stats();
    let end = EndState {
        keys: engine.len() as u64,
        logical_bytes: engine.logical_bytes(),
        used_memory: engine.used_memory(),
    };
    let row = hit_row!(HitRow, HitHead {
        index,
        workload: w,
        cell,
        capacity: cap,
        unit,
        modelled,
        seed: cell.seed,
        requests: n,
        gets,
        hits,
        get_bytes,
        hit_bytes,
    }, {
        evicted_keys: st.evicted_keys,
        expired_keys: st.expired_keys,
        oom_rejections: st.rejected_writes,
        admission_bypasses: st.admission_bypasses,
        virtual_ms,
        config: config_changes,
        requests_per_sec: if secs > 0.0 { n as f64 / secs } else { 0.0 },
    });
    Ok((row, end))
}

/// One cell's replay state: the engine and the GET counters. [`Replay::step`] is the one
/// per-request body of both the in-memory and the streamed replay; before it, each gives
/// [`Replay::hint`] the key [`FAR`] requests ahead (prefetch hints; no result changes).
struct Replay<'a> {
    engine: &'a mut Engine,
    fill_on_miss: bool,
    oracle: bool,
    has_time: bool,
    clock: RateClock,
    gets: u64,
    hits: u64,
    get_bytes: u64,
    hit_bytes: u64,
    ahead: Lookahead,
}

impl Replay<'_> {
    /// The engine's look-ahead ([`Lookahead`]); `later` gives the key of the request
    /// [`FAR`] ahead of the next one, if the stream (or a streamed batch) has one.
    #[inline(always)]
    fn hint(&mut self, later: impl FnOnce() -> Option<u64>) {
        self.ahead.hint(self.engine, later);
    }

    /// Request `i` of the workload.
    #[inline(always)]
    fn step(&mut self, i: usize, r: &Request) {
        let engine = &mut *self.engine;
        let t = if self.has_time {
            r.time_ms
        } else {
            self.clock.at(i)
        };
        engine.set_time_ms(t);
        if self.oracle {
            engine.set_oracle(i as u64, r.next_access);
        }
        match r.op {
            Op::Get => {
                self.gets += 1;
                self.get_bytes += r.value_size as u64;
                let hit = if self.fill_on_miss {
                    matches!(
                        engine.get_or_fill_id(r.key, r.value_size as u64, r.ttl_ms),
                        FillOutcome::Hit(_)
                    )
                } else {
                    matches!(engine.get(&Key::from_id(r.key)), GetOutcome::Hit(_))
                };
                if hit {
                    self.hits += 1;
                    self.hit_bytes += r.value_size as u64;
                }
            }
            Op::Set => {
                engine.set(
                    Key::from_id(r.key),
                    Blob::Sized(r.value_size as u64),
                    SetOptions::ttl_ms(r.ttl_ms),
                );
            }
            Op::Delete => {
                engine.del(&Key::from_id(r.key));
            }
        }
    }
}

/// The virtual time of request `i` at a fixed rate, `(i as f64 * ms_per_request) as u64`,
/// evaluated only where its value changes: that expression is non-decreasing in `i`, so the
/// clock keeps the current value and the first index at which it grows (a float multiply
/// and a saturating conversion per request are a measurable share of a fast replay).
struct RateClock {
    ms_per_request: f64,
    t: u64,
    /// The first request index whose time is later than `t`.
    next: usize,
}

impl RateClock {
    fn new(ms_per_request: f64) -> RateClock {
        RateClock {
            ms_per_request,
            t: 0,
            next: 0,
        }
    }

    #[inline]
    fn time_of(&self, i: usize) -> u64 {
        (i as f64 * self.ms_per_request) as u64
    }

    /// The time of request `i`; `i` never decreases between calls.
    #[inline]
    fn at(&mut self, i: usize) -> u64 {
        if i >= self.next {
            self.advance(i);
        }
        self.t
    }

    #[cold]
    fn advance(&mut self, i: usize) {
        self.t = self.time_of(i);
        let ms = self.ms_per_request;
        if !(ms.is_finite() && ms > 0.0) {
            // Degenerate rates: evaluate every request.
            self.next = i + 1;
            return;
        }
        // Estimate the first index past `t`, then correct it exactly.
        let mut j = ((self.t as f64 + 1.0) / ms) as usize;
        j = j.clamp(i + 1, i.saturating_add(1 << 40));
        while j > i + 1 && self.time_of(j - 1) > self.t {
            j -= 1;
        }
        while self.time_of(j) <= self.t {
            j += 1;
        }
        self.next = j;
    }
}

/// Runs every cell (in parallel on rayon's pool) and returns rows in cell order, so the
/// output does not depend on the number of threads. `on_done` is called once per finished
/// cell (for a progress bar).
pub fn run_cells(
    workloads: &[Workload],
    cells: &[Cell],
    opts: &HitOptions,
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<HitRow>, RunError> {
    let indexed: Vec<(u64, &Cell)> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u64, c))
        .collect();
    run_indexed_cells(workloads, &indexed, opts, on_done)
}

/// Like [`run_cells`] for a subset of a sweep's cells, each with its global index.
pub fn run_indexed_cells(
    workloads: &[Workload],
    cells: &[(u64, &Cell)],
    opts: &HitOptions,
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<HitRow>, RunError> {
    cells
        .par_iter()
        .map(|&(i, c)| {
            let r = run_indexed(&workloads[c.workload], c, opts, i);
            on_done();
            r.map(|(row, _)| row)
        })
        .collect()
}

/// Writes rows as CSV (header from the field names).
pub fn write_csv(path: &std::path::Path, rows: &[HitRow]) -> Result<(), RunError> {
    crate::output::write_csv(path, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use evictlab_engine::policy::registry;
    use evictlab_workloads::{Request, SourceInfo};

    fn loop_workload(n: u64, reps: u64) -> Workload {
        let reqs: Vec<Request> = (0..reps)
            .flat_map(|_| (0..n).map(|k| Request::get(k, 1)))
            .collect();
        let info = SourceInfo {
            name: format!("loop{n}"),
            ..SourceInfo::default()
        };
        Workload::from_requests(info, reqs).unwrap()
    }

    #[test]
    fn a_loop_larger_than_the_cache_always_misses_under_lru_and_fifo() {
        let w = loop_workload(100, 10);
        for name in ["lru", "allkeys-lru"] {
            let cell = Cell {
                workload: 0,
                policy: registry::find(name).unwrap(),
                samples: Some(64),
                size: 0.5,
                size_unit: SizeUnit::Fraction,
                seed: 1,
            };
            let opts = HitOptions {
                rate: 1.0, // one request per virtual second: the LRU clock orders every access
                ..HitOptions::default()
            };
            let row = run_cell(&w, &cell, &opts).unwrap();
            assert_eq!(row.capacity, 50);
            assert_eq!(row.capacity_unit, "keys");
            assert_eq!(row.gets, 1000);
            assert_eq!(row.hits, 0, "{name}");
            assert_eq!(row.evicted_keys, 950, "{name}");
        }
    }

    #[test]
    fn the_rate_clock_equals_the_direct_formula() {
        for rate in [1.0, 3.0, 7.0, 1_000.0, 33_333.3, 100_000.0, 1e7, 1e9] {
            let ms = 1000.0 / rate;
            let mut clock = RateClock::new(ms);
            for i in (0..200_000).chain(1 << 40..(1 << 40) + 1000) {
                assert_eq!(
                    clock.at(i),
                    (i as f64 * ms) as u64,
                    "rate {rate}, request {i}"
                );
            }
        }
    }

    #[test]
    fn a_cache_holding_the_working_set_misses_only_cold() {
        let w = loop_workload(100, 10);
        let cell = Cell {
            workload: 0,
            policy: registry::find("allkeys-lfu").unwrap(),
            samples: Some(5),
            size: 1.0,
            size_unit: SizeUnit::Fraction,
            seed: 1,
        };
        let row = run_cell(&w, &cell, &HitOptions::default()).unwrap();
        assert_eq!(row.misses, 100);
        assert_eq!(row.evicted_keys, 0);
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let ws = vec![loop_workload(50, 20), loop_workload(200, 5)];
        let policies: Vec<_> = registry::POLICIES
            .iter()
            .filter(|p| !p.needs_next_access)
            .collect();
        let grid = crate::grid::Grid {
            policies,
            samples: vec![1, 5],
            sizes: vec![0.3, 0.8],
            size_unit: SizeUnit::Fraction,
            fill_on_miss: true,
        };
        let cells = grid.cells(ws.len(), &[7]);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run_cells(&ws, &cells, &HitOptions::default(), &|| {}).unwrap())
        };
        let strip = |rows: Vec<HitRow>| -> Vec<HitRow> {
            rows.into_iter()
                .map(|r| HitRow {
                    requests_per_sec: 0.0,
                    ..r
                })
                .collect()
        };
        assert_eq!(strip(run(1)), strip(run(2)));
    }
}
