//! `experiment frag`: used memory versus RSS through fill, delete, refill and eviction
//! churn, per allocator; per-key overhead; active defragmentation.
//!
//! Redis's FAQ says it "will not always free up (return) memory to the OS when keys are
//! removed": fill 5 GB, delete 2 GB, and RSS stays near 5 GB while `used_memory` says 3 GB
//! (redis.io, "Memory optimization" / FAQ). This module reproduces that per allocator.
//!
//! One worker process per allocator ([`run_worker`]) — the `experiment` binary re-executed
//! with `EVICTLAB_ALLOCATOR` set (see [`crate::alloc`] for why) — runs an engine in
//! `lab-memory-mode allocator` with materialized values (`used_memory` = the counted live
//! heap, as Redis's zmalloc counts it) through these phases:
//!
//! 1. `fill`: new keys with values of `fill_sizes` bytes (uniform) until the logical bytes
//!    reach `fill_bytes` — or, with `--rdb FILE`, the keys of a Redis dump loaded with their
//!    real contents ([`crate::dump`]; the later phases' new keys are integers above the
//!    dump's largest integer key name);
//! 2. `delete`: every fill key is deleted with probability `delete_fraction` (the FAQ's
//!    2 GB of 5 GB is 40 %);
//! 3. `refill`: new keys with values of `refill_sizes` bytes (a different distribution)
//!    until the logical bytes are back at the fill's;
//! 4. `churn`: `maxmemory` is set to `churn_maxmemory` × the used memory after the refill
//!    and `churn_writes` × (fill keys) new keys of mixed sizes are written under
//!    `allkeys-lru`: eviction keeps the counted `used_memory` at the limit while the
//!    allocator's heap reshapes;
//! 5. `idle`: nothing runs for `idle_ms` (sampled);
//! 6. `defrag`: active defragmentation with Redis's thresholds ([`DefragConfig`]).
//!
//! Each phase ends with a sample (`event = end`); with `purge`, the allocator's purge
//! (Redis's `MEMORY PURGE`: `malloc_trim(0)`, jemalloc `arena.<ALL>.purge`,
//! `mi_collect(true)`) runs and is sampled too (`event = purged`); in between, a sample is
//! taken every `sample_ms` (`event = grid`). A sample reads the counters, the RSS and the
//! allocator's stats together ([`crate::mem::MemSample`]).
//!
//! Before the phases the worker measures the per-key overhead of small strings
//! ([`OverheadRow`]), on a fresh engine per value size.
//!
//! Outputs: `frag.csv` ([`FragRow`]), `overhead.csv` ([`OverheadRow`]), `defrag.csv`
//! ([`DefragRow`]). The logical columns (`keys`, `logical_bytes`) of the `end` rows of
//! fill, delete and refill depend only on the seed and the sizes; everything else is
//! measured.

pub mod cmd;
mod defrag;
mod overhead;
pub mod report;
mod worker;

pub use defrag::active_defrag;
pub use overhead::{jemalloc_q16_class, redis7_distro_bytes_per_key};
pub use worker::{can_spawn_workers, payload, run_worker, run_workers};

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::RunError;

/// Redis's active-defrag settings (redis `src/config.c` defaults) and the lab's pass cap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DefragConfig {
    /// `active-defrag-ignore-bytes`: do not start below this many fragmentation bytes
    /// (Redis: 100 MB).
    pub ignore_bytes: u64,
    /// `active-defrag-threshold-lower`: start at this fragmentation % (Redis: 10).
    pub threshold_lower: f64,
    /// `active-defrag-threshold-upper`: full effort at this % (Redis: 100).
    pub threshold_upper: f64,
    /// `active-defrag-cycle-min`: CPU % at the lower threshold (Redis: 1).
    pub cycle_min: f64,
    /// `active-defrag-cycle-max`: CPU % at the upper threshold (Redis: 25).
    pub cycle_max: f64,
    /// `hz`: cron calls per second (Redis: 10).
    pub hz: u32,
    /// Full keyspace passes at most (Redis keeps going while the thresholds say so).
    pub max_passes: u32,
}

impl Default for DefragConfig {
    fn default() -> DefragConfig {
        DefragConfig {
            ignore_bytes: 100 << 20,
            threshold_lower: 10.0,
            threshold_upper: 100.0,
            cycle_min: 1.0,
            cycle_max: 25.0,
            hz: 10,
            max_passes: 3,
        }
    }
}

impl DefragConfig {
    /// Redis's effort for a fragmentation percentage (redis `src/defrag.c`
    /// `computeDefragCycles`): `cycle_min` at the lower threshold rising linearly to
    /// `cycle_max` at the upper one, clamped.
    pub fn cpu_pct(&self, frag_pct: f64) -> f64 {
        let span = (self.threshold_upper - self.threshold_lower).max(f64::MIN_POSITIVE);
        let pct = self.cycle_min
            + (frag_pct - self.threshold_lower) * (self.cycle_max - self.cycle_min) / span;
        pct.clamp(self.cycle_min, self.cycle_max)
    }

    /// Time budget of one cron call at `cpu_pct`: `1e6 × cpu% / hz / 100` µs.
    pub fn cron_budget(&self, cpu_pct: f64) -> Duration {
        Duration::from_secs_f64(cpu_pct / 100.0 / self.hz.max(1) as f64)
    }
}

/// Everything a worker needs (serialized into `metadata.json` and handed to the workers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FragConfig {
    /// Logical bytes (keys + values) written by the fill phase.
    pub fill_bytes: u64,
    /// Value sizes of the fill (uniform, inclusive).
    pub fill_sizes: (u64, u64),
    /// Value sizes of the refill (uniform, inclusive).
    pub refill_sizes: (u64, u64),
    /// Probability that a fill key is deleted.
    pub delete_fraction: f64,
    /// `maxmemory` of the churn phase as a fraction of the used memory after the refill.
    pub churn_maxmemory: f64,
    /// Writes of the churn phase as a multiple of the fill's key count.
    pub churn_writes: f64,
    /// Length of the idle phase, ms.
    pub idle_ms: u64,
    /// Time grid of the samples, ms (Redis samples every 100 ms).
    pub sample_ms: u64,
    /// Purge after every phase.
    pub purge: bool,
    /// Keys per per-key-overhead measurement (0 = skip it).
    pub overhead_keys: u64,
    /// Value sizes of the per-key-overhead measurement.
    pub overhead_value_sizes: Vec<u64>,
    /// Active defragmentation after the idle phase (`None` = skip).
    pub defrag: Option<DefragConfig>,
    /// Seed of the sizes and of the deleted keys.
    pub seed: u64,
    /// `--rdb FILE` and `--rdb-db`: the fill phase loads this Redis dump instead of writing
    /// `fill_bytes` of new keys (see [`crate::dump`]).
    #[serde(default)]
    pub rdb: Option<(std::path::PathBuf, Option<String>)>,
}

impl FragConfig {
    /// The full-size defaults: 256 MiB of 64–512-byte values, refill with 512–2048 bytes.
    pub fn full(seed: u64) -> FragConfig {
        FragConfig {
            fill_bytes: 256 << 20,
            fill_sizes: (64, 512),
            refill_sizes: (512, 2048),
            delete_fraction: 0.4,
            churn_maxmemory: 0.8,
            churn_writes: 1.0,
            idle_ms: 2000,
            sample_ms: 100,
            purge: false,
            overhead_keys: 200_000,
            overhead_value_sizes: vec![10, 40, 100],
            defrag: Some(DefragConfig::default()),
            seed,
            rdb: None,
        }
    }

    /// The quick preset (a few seconds for three allocators): 24 MiB, 20 k keys of
    /// overhead, 300 ms idle, `active-defrag-ignore-bytes` scaled from 100 MB to 1 MB so
    /// that defragmentation can start at this size.
    pub fn quick(seed: u64) -> FragConfig {
        FragConfig {
            fill_bytes: 24 << 20,
            overhead_keys: 20_000,
            idle_ms: 300,
            sample_ms: 50,
            defrag: Some(DefragConfig {
                ignore_bytes: 1 << 20,
                ..DefragConfig::default()
            }),
            ..FragConfig::full(seed)
        }
    }

    /// Checks the values; the error names the field, the value and what is accepted.
    pub fn validate(&self) -> Result<(), RunError> {
        let bad = |flag: &'static str, value: String, expected: &'static str| {
            Err(RunError::BadArgument {
                flag,
                value,
                expected,
            })
        };
        for (flag, (lo, hi)) in [
            ("--sizes", self.fill_sizes),
            ("--refill-sizes", self.refill_sizes),
        ] {
            if lo == 0 || lo > hi {
                return bad(flag, format!("{lo}-{hi}"), "LO-HI with 1 <= LO <= HI bytes");
            }
        }
        if self.fill_bytes == 0 {
            return bad("--fill", "0".into(), "a size above 0 (e.g. 256mb)");
        }
        if !(0.0..=1.0).contains(&self.delete_fraction) {
            return bad(
                "--delete-fraction",
                self.delete_fraction.to_string(),
                "a fraction in 0..=1",
            );
        }
        if !(self.churn_maxmemory > 0.0 && self.churn_maxmemory <= 1.0) {
            return bad(
                "--churn-maxmemory",
                self.churn_maxmemory.to_string(),
                "a fraction in (0, 1]",
            );
        }
        if !(self.churn_writes >= 0.0 && self.churn_writes.is_finite()) {
            return bad(
                "--churn-writes",
                self.churn_writes.to_string(),
                "a multiple >= 0 of the fill's keys",
            );
        }
        if self.sample_ms == 0 {
            return bad("--sample-ms", "0".into(), "at least 1 ms");
        }
        Ok(())
    }
}

/// Parses `LO-HI` (bytes, e.g. `64-512`) or a single size.
pub fn parse_range(flag: &'static str, text: &str) -> Result<(u64, u64), RunError> {
    let bad = || RunError::BadArgument {
        flag,
        value: text.to_string(),
        expected: "LO-HI in bytes (e.g. 64-512) with 1 <= LO <= HI",
    };
    let (lo, hi) = match text.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (text.trim(), text.trim()),
    };
    let lo = evictlab_engine::parse_size(lo).ok_or_else(bad)?;
    let hi = evictlab_engine::parse_size(hi).ok_or_else(bad)?;
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// One row of `frag.csv`: a sample of one allocator's process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FragRow {
    /// `system`, `jemalloc` or `mimalloc`.
    pub allocator: String,
    /// `start`, `fill`, `delete`, `refill`, `churn`, `idle`, `defrag`.
    pub phase: String,
    /// `grid` (time-grid sample during the phase), `end` (phase done), `purged` (after
    /// the allocator's purge at the end of the phase).
    pub event: String,
    /// Milliseconds since the phases started.
    pub t_ms: u64,
    /// Keys in the engine.
    pub keys: u64,
    /// Σ key + value bytes (the logical model).
    pub logical_bytes: u64,
    /// Counted live usable heap bytes: `used_memory`.
    pub used_bytes: u64,
    /// Counted live requested heap bytes.
    pub requested_bytes: u64,
    /// Counted live heap blocks.
    pub live_allocations: u64,
    /// The allocator's allocated bytes (`allocator_allocated`).
    pub allocator_allocated_bytes: u64,
    /// The allocator's active bytes (`allocator_active`).
    pub allocator_active_bytes: u64,
    /// The allocator's resident bytes (`allocator_resident`; the RSS when unknown).
    pub allocator_resident_bytes: u64,
    /// Bytes the allocator has mapped.
    pub allocator_mapped_bytes: u64,
    /// Bytes the allocator keeps without returning them (jemalloc retained; glibc free).
    pub allocator_retained_bytes: u64,
    /// Fragmentation bytes as the allocator gives them (jemalloc: small-bin, Redis ≥ 7.4).
    pub allocator_frag_bytes: u64,
    /// Process RSS.
    pub rss_bytes: u64,
    /// `rss / used` (Redis's `mem_fragmentation_ratio`).
    pub mem_fragmentation_ratio: f64,
    /// `allocator_frag_bytes / allocated + 1` (Redis's `allocator_frag_ratio`).
    pub allocator_frag_ratio: f64,
    /// Keys evicted so far.
    pub evicted_keys: u64,
    /// `maxmemory` in force (0 = none).
    pub maxmemory: u64,
}

/// One row of `overhead.csv`: what a small string key costs, per allocator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverheadRow {
    /// The allocator.
    pub allocator: String,
    /// Key length (16, as the Redis worked example).
    pub key_bytes: u64,
    /// Value length.
    pub value_bytes: u64,
    /// Keys stored.
    pub keys: u64,
    /// The logical model: key + value bytes per key.
    pub logical_bytes_per_key: f64,
    /// Counted usable heap bytes per key (`used_memory` delta / keys).
    pub used_bytes_per_key: f64,
    /// Counted requested heap bytes per key.
    pub requested_bytes_per_key: f64,
    /// Heap blocks per key.
    pub allocations_per_key: f64,
    /// RSS growth per key (approximate: the heap may reuse memory freed earlier).
    pub rss_bytes_per_key: f64,
    /// Redis 7 with a distribution's jemalloc (16-byte quantum): key sds + value robj/sds
    /// + dictEntry + bucket pointers at this key count, each rounded to a size class
    ///   (redis-internals §7.5; the 10-byte row was measured at 104 B on Debian's 7.0.15).
    pub redis7_distro_bytes_per_key: f64,
}

/// One row of `defrag.csv`: an active-defragmentation run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DefragRow {
    /// The allocator.
    pub allocator: String,
    /// Whether the thresholds let it start.
    pub started: bool,
    /// Why it stopped: `threshold-lower`, `ignore-bytes`, `max-passes`.
    pub stop_reason: String,
    /// Fragmentation % when it was evaluated first (`frag_bytes / allocated × 100`).
    pub frag_pct_before: f64,
    /// Fragmentation bytes then.
    pub frag_bytes_before: u64,
    /// Fragmentation % at the end.
    pub frag_pct_after: f64,
    /// CPU % of the first pass (Redis's effort formula).
    pub cpu_pct: f64,
    /// Full keyspace passes.
    pub passes: u32,
    /// Keys visited.
    pub scanned: u64,
    /// Values moved (`active_defrag_hits`).
    pub hits: u64,
    /// Values left in place (`active_defrag_misses`).
    pub misses: u64,
    /// Cron calls used.
    pub cron_calls: u64,
    /// Time spent moving values, ms (measured).
    pub cpu_ms: f64,
    /// Wall time the cron calls take at `hz` (cron_calls / hz), ms.
    pub wall_ms_at_duty_cycle: f64,
    /// Used memory before / after.
    pub used_before_bytes: u64,
    /// Used memory after.
    pub used_after_bytes: u64,
    /// RSS before defrag (after a purge, so only defrag's own effect remains).
    pub rss_before_bytes: u64,
    /// RSS right after defrag.
    pub rss_after_bytes: u64,
    /// RSS after defrag and a purge.
    pub rss_after_purge_bytes: u64,
    /// `rss_before − rss_after_purge` (negative when RSS grew).
    pub rss_recovered_bytes: i64,
}

/// What one worker measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    /// The allocator's name and version.
    pub allocator_version: String,
    /// `frag.csv` rows.
    pub frag: Vec<FragRow>,
    /// `overhead.csv` rows.
    pub overhead: Vec<OverheadRow>,
    /// `defrag.csv` rows.
    pub defrag: Vec<DefragRow>,
}

/// Writes `frag.csv`, `overhead.csv` and `defrag.csv` from the workers' results.
pub fn write_results(dir: &Path, results: &[WorkerResult]) -> Result<(), RunError> {
    let frag: Vec<FragRow> = results.iter().flat_map(|r| r.frag.clone()).collect();
    let overhead: Vec<OverheadRow> = results.iter().flat_map(|r| r.overhead.clone()).collect();
    let defrag: Vec<DefragRow> = results.iter().flat_map(|r| r.defrag.clone()).collect();
    crate::output::write_csv(&dir.join("frag.csv"), &frag)?;
    if !overhead.is_empty() {
        crate::output::write_csv(&dir.join("overhead.csv"), &overhead)?;
    }
    if !defrag.is_empty() {
        crate::output::write_csv(&dir.join("defrag.csv"), &defrag)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::worker::engine_config;
    use super::*;
    use crate::alloc::{self, Allocator};
    use evictlab_engine::{Blob, Engine, Key, SetOptions};
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn size_classes_and_the_redis_model_match_the_reference() {
        assert_eq!(
            [8, 9, 17, 24, 30, 64, 65, 129, 160, 161, 257, 320].map(jemalloc_q16_class),
            [8, 16, 32, 32, 32, 64, 80, 160, 160, 192, 320, 320]
        );
        // redis-internals §7.5: 16-char key, 10-byte value, 981,650 keys in 2^20 buckets:
        // 32 + 32 + 32 + 8.5 ≈ 104.5 bytes per key on a distribution's build.
        let b = redis7_distro_bytes_per_key(16, 10, 981_650);
        assert!((b - 104.5).abs() < 0.1, "{b}");
    }

    #[test]
    fn defrag_effort_follows_redis() {
        let d = DefragConfig::default();
        assert_eq!(d.cpu_pct(5.0), 1.0);
        assert_eq!(d.cpu_pct(10.0), 1.0);
        assert_eq!(d.cpu_pct(100.0), 25.0);
        assert!((d.cpu_pct(55.0) - 13.0).abs() < 1e-9);
        // 25 % at hz 10: 25 ms per cron call (1e6 × 25 / 10 / 100 µs).
        assert_eq!(d.cron_budget(25.0), Duration::from_millis(25));
    }

    #[test]
    fn ranges_parse_and_bad_ones_are_named() {
        assert_eq!(parse_range("--sizes", "64-512").unwrap(), (64, 512));
        assert_eq!(parse_range("--sizes", "1kb-2kb").unwrap(), (1024, 2048));
        assert_eq!(parse_range("--sizes", "100").unwrap(), (100, 100));
        let e = parse_range("--sizes", "512-64").unwrap_err().to_string();
        assert!(e.contains("512-64") && e.contains("--sizes"), "{e}");
        let mut c = FragConfig::quick(1);
        c.delete_fraction = 1.5;
        assert!(c.validate().unwrap_err().to_string().contains("1.5"));
    }

    /// Defragmentation moves payloads and never changes one: every key is checked.
    #[test]
    fn defrag_never_changes_a_value() {
        let mut e = Engine::new(engine_config(0), 5).unwrap();
        e.set_allocator_probe(alloc::used_memory);
        let mut scratch = Vec::new();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        for id in 0..20_000u64 {
            let len = rng.random_range(1..=600);
            e.set(
                Key::from_id(id),
                payload(id, len, &mut scratch),
                SetOptions::default(),
            );
        }
        // Copy every value before the deletes: copies made afterwards would fill the holes
        // the deletes leave, and there would be nothing to defragment.
        let snapshot = |e: &Engine| -> std::collections::BTreeMap<u64, Vec<u8>> {
            e.keyspace()
                .iter()
                .map(|(_, en)| match &en.value {
                    evictlab_engine::Value::Str(b) => {
                        (en.key.as_id().unwrap(), b.to_bytes().unwrap())
                    }
                    _ => unreachable!(),
                })
                .collect()
        };
        let mut before = snapshot(&e);
        for id in (0..20_000u64).step_by(3) {
            e.del(&Key::from_id(id));
            before.remove(&id);
        }
        let ptrs_before: Vec<usize> = e
            .keyspace()
            .iter()
            .filter_map(|(_, en)| match &en.value {
                evictlab_engine::Value::Str(Blob::Bytes(b)) => Some(b.as_ptr() as usize),
                _ => None,
            })
            .collect();
        // Thresholds at zero: the pass always starts; without a hint every value moves.
        let dc = DefragConfig {
            ignore_bytes: 0,
            threshold_lower: -1.0,
            max_passes: 1,
            ..DefragConfig::default()
        };
        let row = active_defrag(Allocator::current(), &mut e, &dc).unwrap();
        assert!(row.started && row.passes == 1);
        if Allocator::current() == Allocator::Jemalloc {
            // A third of the keys were deleted: some slabs are sparse, the hint moves some.
            assert!(row.hits > 0 && row.misses > 0, "{row:?}");
        }
        assert_eq!(row.scanned, e.len() as u64);
        assert_eq!(row.hits + row.misses, e.len() as u64);
        assert_eq!(snapshot(&e), before);
        for (&kid, v) in &before {
            assert_eq!(
                payload(kid, v.len(), &mut scratch).as_bytes().unwrap(),
                &v[..]
            );
        }
        e.check_invariants().unwrap();
        if Allocator::current() != Allocator::Jemalloc {
            // No hint: every payload got a new block (the old ones were freed after the
            // copy, so no new block can sit at its own old address).
            let ptrs_after: Vec<usize> = e
                .keyspace()
                .iter()
                .filter_map(|(_, en)| match &en.value {
                    evictlab_engine::Value::Str(Blob::Bytes(b)) => Some(b.as_ptr() as usize),
                    _ => None,
                })
                .collect();
            assert_eq!(row.hits, e.len() as u64);
            assert!(ptrs_before.iter().zip(&ptrs_after).all(|(a, b)| a != b));
        }
    }

    /// The defrag test again on jemalloc (its hint, thread cache off) and mimalloc: this test
    /// binary re-executed with `EVICTLAB_ALLOCATOR` set.
    #[test]
    fn defrag_never_changes_a_value_on_every_allocator() {
        if alloc::requested().is_some() {
            return; // already a child
        }
        let exe = std::env::current_exe().unwrap();
        for a in [Allocator::Jemalloc, Allocator::Mimalloc] {
            let out = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "frag::tests::defrag_never_changes_a_value",
                    "--test-threads=1",
                ])
                .env(alloc::ENV_VAR, a.name())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "{a}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// In allocator memory mode `maxmemory` is enforced against the counted bytes.
    #[test]
    fn allocator_mode_enforces_maxmemory_on_counted_bytes() {
        // Count only this thread's allocations (other tests allocate concurrently).
        static BASE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        fn probe() -> u64 {
            (alloc::thread_counters().0 - BASE.load(std::sync::atomic::Ordering::Relaxed)).max(0)
                as u64
        }
        let limit = 2u64 << 20;
        let mut e = Engine::new(engine_config(limit), 9).unwrap();
        BASE.store(
            alloc::thread_counters().0,
            std::sync::atomic::Ordering::Relaxed,
        );
        e.set_allocator_probe(probe);
        let mut scratch = Vec::new();
        let mut max_seen = 0;
        for id in 0..20_000u64 {
            e.set(
                Key::from_id(id),
                payload(id, 1000, &mut scratch),
                SetOptions::default(),
            );
            max_seen = max_seen.max(e.used_memory());
        }
        assert!(e.stats().evicted_keys > 10_000, "{:?}", e.stats());
        // Redis evicts before each command; one write (value block + table growth) may
        // overshoot the limit.
        assert!(max_seen <= limit + (256 << 10), "{max_seen} vs {limit}");
        assert!(e.used_memory() <= limit + (256 << 10));
    }
}
