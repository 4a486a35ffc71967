//! The worker side of `experiment frag`: one process per allocator (the binary re-executed
//! with `EVICTLAB_ALLOCATOR`) runs the fill → delete → refill → churn → idle → defrag
//! phases, sampling used memory, RSS and the allocator's statistics; the parent spawns the
//! workers and collects their results.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use evictlab_engine::{Blob, Config, Engine, Key, MemoryMode, SetOptions, Storage};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::overhead::measure_overhead;
use super::*;
use crate::RunError;
use crate::alloc::{self, Allocator};
use crate::mem::MemSample;

pub(super) fn engine_config(maxmemory: u64) -> Config {
    let mut c = Config {
        maxmemory,
        maxmemory_policy: "allkeys-lru".into(),
        memory_mode: MemoryMode::Allocator,
        storage: Storage::Materialized,
        ..Config::default()
    };
    c.save.clear();
    c
}

/// A deterministic payload for key `id` of `len` bytes (checked after defragmentation).
pub fn payload(id: u64, len: usize, scratch: &mut Vec<u8>) -> Blob {
    scratch.clear();
    scratch.extend((0..len).map(|i| (id as usize).wrapping_mul(31).wrapping_add(i) as u8));
    Blob::bytes(scratch)
}

pub(super) struct Sampler {
    allocator: Allocator,
    start: Instant,
    next_ms: u64,
    sample_ms: u64,
    rows: Vec<FragRow>,
    ops: u64,
}

impl Sampler {
    fn sample(&mut self, phase: &str, event: &str, e: &Engine) -> Result<MemSample, RunError> {
        let t_ms = self.start.elapsed().as_millis() as u64;
        let s = MemSample::read().map_err(|source| RunError::Io {
            path: "/proc/self/statm".into(),
            source,
        })?;
        self.rows.push(FragRow {
            allocator: self.allocator.name().into(),
            phase: phase.into(),
            event: event.into(),
            t_ms,
            keys: e.len() as u64,
            logical_bytes: e.logical_bytes(),
            used_bytes: s.used_bytes,
            requested_bytes: s.requested_bytes,
            live_allocations: s.live_allocations,
            allocator_allocated_bytes: s.allocator.allocated,
            allocator_active_bytes: s.allocator.active,
            allocator_resident_bytes: s.allocator_resident(),
            allocator_mapped_bytes: s.allocator.mapped,
            allocator_retained_bytes: s.allocator.retained,
            allocator_frag_bytes: s.allocator.frag_bytes,
            rss_bytes: s.rss_bytes,
            mem_fragmentation_ratio: s.mem_fragmentation_ratio(),
            allocator_frag_ratio: s.allocator.frag_ratio(),
            evicted_keys: e.stats().evicted_keys,
            maxmemory: e.config().maxmemory,
        });
        Ok(s)
    }

    /// Called once per operation: samples when the time grid says so.
    #[inline]
    fn tick(&mut self, phase: &str, e: &Engine) -> Result<(), RunError> {
        self.ops += 1;
        if self.ops.is_multiple_of(256) && self.start.elapsed().as_millis() as u64 >= self.next_ms {
            self.sample(phase, "grid", e)?;
            let now = self.start.elapsed().as_millis() as u64;
            self.next_ms = (now / self.sample_ms + 1) * self.sample_ms;
        }
        Ok(())
    }

    fn end(&mut self, phase: &str, e: &Engine, purge: bool) -> Result<MemSample, RunError> {
        let s = self.sample(phase, "end", e)?;
        if purge {
            self.allocator.purge();
            self.sample(phase, "purged", e)?;
        }
        Ok(s)
    }
}

/// Runs every phase in this process, whose heap is served by `allocator` (the process
/// must have been started with `EVICTLAB_ALLOCATOR` naming it and [`alloc::LabAllocator`]
/// as its global allocator).
pub fn run_worker(allocator: Allocator, cfg: &FragConfig) -> Result<WorkerResult, RunError> {
    cfg.validate()?;
    if !alloc::installed() || Allocator::current() != allocator {
        return Err(RunError::BadArgument {
            flag: "--worker",
            value: allocator.name().into(),
            expected: "the allocator this process runs on (start the experiment binary with EVICTLAB_ALLOCATOR set to it)",
        });
    }
    let overhead = if cfg.overhead_keys > 0 {
        measure_overhead(allocator, cfg)?
    } else {
        Vec::new()
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
    let mut scratch = Vec::with_capacity(cfg.refill_sizes.1.max(cfg.fill_sizes.1) as usize);
    let mut e = Engine::new(engine_config(0), cfg.seed)?;
    e.set_allocator_probe(alloc::used_memory);
    let mut s = Sampler {
        allocator,
        start: Instant::now(),
        next_ms: cfg.sample_ms,
        sample_ms: cfg.sample_ms,
        rows: Vec::with_capacity(4096),
        ops: 0,
    };
    s.sample("start", "end", &e)?;
    let set = |e: &mut Engine, id: u64, len: u64, scratch: &mut Vec<u8>| {
        e.set(
            Key::from_id(id),
            payload(id, len as usize, scratch),
            SetOptions::default(),
        );
    };
    // 1. fill: new keys, or the dump's keys (later keys are integers above its names)
    let mut next_id = 0u64;
    let mut names: Vec<Key> = Vec::new();
    match &cfg.rdb {
        Some((path, db)) => {
            crate::dump::load(&mut e, path, db.as_deref())?;
            names = e.keyspace().iter().map(|(_, en)| en.key.clone()).collect();
            next_id = names
                .iter()
                .filter_map(Key::as_id)
                .max()
                .map_or(0, |m| m + 1);
            s.tick("fill", &e)?;
        }
        None => {
            while e.logical_bytes() < cfg.fill_bytes {
                let len = rng.random_range(cfg.fill_sizes.0..=cfg.fill_sizes.1);
                set(&mut e, next_id, len, &mut scratch);
                next_id += 1;
                s.tick("fill", &e)?;
            }
        }
    }
    let fill_keys = if cfg.rdb.is_some() {
        names.len() as u64
    } else {
        next_id
    };
    let fill_logical = e.logical_bytes();
    s.end("fill", &e, cfg.purge)?;
    // 2. delete a random fraction of the fill's keys
    for id in 0..fill_keys {
        if rng.random_bool(cfg.delete_fraction) {
            match names.get(id as usize) {
                Some(k) => e.del(k),
                None => e.del(&Key::from_id(id)),
            };
        }
        s.tick("delete", &e)?;
    }
    s.end("delete", &e, cfg.purge)?;
    // 3. refill with another size distribution, back to the fill's logical bytes
    while e.logical_bytes() < fill_logical {
        let len = rng.random_range(cfg.refill_sizes.0..=cfg.refill_sizes.1);
        set(&mut e, next_id, len, &mut scratch);
        next_id += 1;
        s.tick("refill", &e)?;
    }
    let refilled = s.end("refill", &e, cfg.purge)?;
    // 4. eviction churn under maxmemory (allocator accounting), mixed sizes
    e.set_maxmemory((refilled.used_bytes as f64 * cfg.churn_maxmemory) as u64);
    let (lo, hi) = (
        cfg.fill_sizes.0.min(cfg.refill_sizes.0),
        cfg.fill_sizes.1.max(cfg.refill_sizes.1),
    );
    let writes = (fill_keys as f64 * cfg.churn_writes) as u64;
    for _ in 0..writes {
        let len = rng.random_range(lo..=hi);
        set(&mut e, next_id, len, &mut scratch);
        next_id += 1;
        s.tick("churn", &e)?;
    }
    s.end("churn", &e, cfg.purge)?;
    // 5. idle
    let idle_end = Instant::now() + Duration::from_millis(cfg.idle_ms);
    while Instant::now() < idle_end {
        let left = idle_end.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(Duration::from_millis(cfg.sample_ms)));
        s.sample("idle", "grid", &e)?;
    }
    s.end("idle", &e, cfg.purge)?;
    // 6. active defragmentation
    let mut defrag = Vec::new();
    if let Some(dc) = &cfg.defrag {
        defrag.push(active_defrag(allocator, &mut e, dc)?);
        s.end("defrag", &e, cfg.purge)?;
    }
    Ok(WorkerResult {
        allocator_version: allocator.version(),
        frag: s.rows,
        overhead,
        defrag,
    })
}

/// True when this process is the `experiment` binary with [`alloc::LabAllocator`] as its
/// global allocator, i.e. it can re-execute itself as a worker.
pub fn can_spawn_workers() -> bool {
    alloc::installed()
        && std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s == "experiment"))
            .unwrap_or(false)
}

/// Runs one worker process per allocator (this binary, `frag --worker NAME`) and collects
/// their results. `progress` is called after each allocator.
pub fn run_workers(
    allocators: &[Allocator],
    cfg: &FragConfig,
    dir: &Path,
    progress: &dyn Fn(Allocator),
) -> Result<Vec<WorkerResult>, RunError> {
    let exe = std::env::current_exe().map_err(|source| RunError::Io {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    let cfg_json = serde_json::to_string(cfg).map_err(|e| RunError::Csv {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for &a in allocators {
        let result_path = dir.join(format!(".frag-worker-{}.json", a.name()));
        let output = std::process::Command::new(&exe)
            .arg("frag")
            .arg("--worker")
            .arg(a.name())
            .arg("--worker-config")
            .arg(&cfg_json)
            .arg("--worker-out")
            .arg(&result_path)
            .env(alloc::ENV_VAR, a.name())
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| RunError::Io {
                path: exe.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(RunError::Report {
                message: format!(
                    "frag worker for {} failed ({}): {}",
                    a.name(),
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        let text = std::fs::read_to_string(&result_path).map_err(|source| RunError::Io {
            path: result_path.clone(),
            source,
        })?;
        let _ = std::fs::remove_file(&result_path);
        let r: WorkerResult = serde_json::from_str(&text).map_err(|e| RunError::Csv {
            path: result_path.clone(),
            message: e.to_string(),
        })?;
        out.push(r);
        progress(a);
    }
    Ok(out)
}
