//! `--size-unit fraction` under a byte model that counts more than value bytes
//! (`lab-memory-mode redis`, EchoVault's estimate).
//!
//! A fraction is libCacheSim's: of the working set — every distinct object once, at its
//! first request's size. In `logical` bytes that is Σ first-seen sizes, and a cell's
//! `maxmemory` is that sum times the fraction. Under the Redis 7.0 model the same
//! `maxmemory` would also have to hold the server's startup memory (~914 KB) and every
//! key's `dictEntry`, `robj`, sds header and bucket share, so a "10 %" cache would hold far
//! fewer than 10 % of the objects — or none, when the product is below the startup memory.
//! Here the working set is counted as the model counts it instead: an engine of the cell's
//! configuration without a limit takes every distinct object once (first-appearance order,
//! first size and TTL, virtual time standing still so nothing expires), and
//!
//! `maxmemory = startup + round(fraction × (used_memory − startup))`,
//!
//! so the fraction is of the modelled dataset and the startup memory always fits
//! (`used_memory_startup`, as Redis's `INFO memory` separates it). `capacity_fraction` in
//! the row is then `(maxmemory − startup) / (used_memory − startup)`.

use evictlab_engine::{Config, Engine, MemoryMode};
use evictlab_workloads::Op;

use crate::RunError;
use crate::workload::Workload;

/// The working set as a byte model counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelledWorkingSet {
    /// `used_memory` of the empty engine (Redis's `used_memory_startup`; 0 for EchoVault).
    pub startup: u64,
    /// `used_memory − startup` once every distinct object is stored.
    pub dataset: u64,
}

impl ModelledWorkingSet {
    /// The `maxmemory` of a fraction of it (at least 1: 0 means "no limit").
    pub fn maxmemory(&self, fraction: f64) -> u64 {
        (self.startup + (fraction * self.dataset as f64).round() as u64).max(1)
    }
}

/// Whether a fraction under `mode` needs the modelled working set (every byte mode but
/// `logical`, whose working set is the workload's own byte count).
pub fn needs_model(mode: MemoryMode) -> bool {
    matches!(mode, MemoryMode::Redis | MemoryMode::Echovault)
}

/// Counts `w`'s working set under `config`'s memory model (see the module doc).
pub fn modelled_working_set(
    w: &Workload,
    config: &Config,
    seed: u64,
) -> Result<ModelledWorkingSet, RunError> {
    let mut engine =
        Engine::new(config.clone(), seed).map_err(|e| RunError::Config { source: e })?;
    // A limit that is never reached: the model's choices that depend on a limit being set
    // (Redis shares no integer objects under an LRU/LFU policy with a maxmemory) stay the
    // cell's.
    engine.set_maxmemory(u64::MAX);
    let startup = engine.used_memory();
    let objects = w.requests.objects();
    if w.stream.is_none() && objects.iter().all(|o| o.ttl_ms().is_some()) {
        for o in objects {
            engine.get_or_fill_id(o.key, o.size as u64, o.ttl_ms().unwrap_or(0));
        }
    } else {
        // Streamed, or a first TTL in the side list: the requests themselves. A GET or SET
        // of a stored key is a hit that changes nothing, so each object stays at its first
        // request's size and TTL.
        w.for_each_request(|r| {
            if r.op != Op::Delete {
                engine.get_or_fill_id(r.key, r.value_size as u64, r.ttl_ms);
            }
        })?;
    }
    Ok(ModelledWorkingSet {
        startup,
        dataset: engine.used_memory() - startup,
    })
}
