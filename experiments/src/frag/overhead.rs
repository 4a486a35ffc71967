//! Per-key overhead: bytes per key for small keys and values per allocator, beside Redis
//! 7's structure sizes rounded to jemalloc's size classes.

use evictlab_engine::{Engine, Key, SetOptions};

use super::worker::engine_config;
use super::*;
use crate::RunError;
use crate::alloc::{self, Allocator};
use crate::mem::MemSample;

/// jemalloc size class with the default 16-byte quantum (what a distribution's jemalloc,
/// and so Debian's Redis, uses): 8, 16, 32, 48, …, 128, then four classes per doubling.
pub fn jemalloc_q16_class(n: u64) -> u64 {
    match n {
        0..=8 => 8,
        9..=128 => n.div_ceil(16) * 16,
        _ => {
            let k = 63 - (n - 1).leading_zeros() as u64; // 2^k < n <= 2^(k+1)
            let step = 1u64 << (k - 2);
            n.div_ceil(step) * step
        }
    }
}

/// Redis 7's bytes per string key (no TTL, non-cluster) with a 16-byte-quantum jemalloc
/// (redis `src/sds.c`, `src/object.c`, `src/dict.c`; redis-internals §7.5): key sds
/// (SDS_TYPE_5 below 32 bytes: 1 + len + 1, else sdshdr8: 3 + len + 1) + value (EMBSTR
/// up to 44 bytes: robj 16 + 3 + len + 1 in one block; else robj 16 + sdshdr8 block) +
/// dictEntry 24 + the bucket array (8 bytes × the power of two ≥ keys, per key).
pub fn redis7_distro_bytes_per_key(key_len: u64, value_len: u64, keys: u64) -> f64 {
    let key = if key_len < 32 {
        jemalloc_q16_class(key_len + 2)
    } else {
        jemalloc_q16_class(key_len + 4)
    };
    let value = if value_len <= 44 {
        jemalloc_q16_class(16 + 3 + value_len + 1)
    } else {
        jemalloc_q16_class(16) + jemalloc_q16_class(3 + value_len + 1)
    };
    let entry = jemalloc_q16_class(24);
    let buckets = keys.max(4).next_power_of_two() as f64 * 8.0 / keys.max(1) as f64;
    (key + value + entry) as f64 + buckets
}

pub(super) fn measure_overhead(
    allocator: Allocator,
    cfg: &FragConfig,
) -> Result<Vec<OverheadRow>, RunError> {
    let mut rows = Vec::new();
    let mut scratch = Vec::with_capacity(4096);
    let n = cfg.overhead_keys;
    for &vlen in &cfg.overhead_value_sizes {
        allocator.purge();
        let read = || {
            MemSample::read().map_err(|source| RunError::Io {
                path: "/proc/self/statm".into(),
                source,
            })
        };
        let mut e = Engine::new(engine_config(0), cfg.seed)?;
        e.set_allocator_probe(alloc::used_memory);
        // Key strings are built before the baseline so only the engine's copies count.
        let keys: Vec<Key> = (0..n)
            .map(|i| Key::from(format!("key:{i:012}").as_str()))
            .collect();
        let before = read()?;
        for (i, k) in keys.iter().enumerate() {
            e.set(
                k.clone(),
                payload(i as u64, vlen as usize, &mut scratch),
                SetOptions::default(),
            );
        }
        let after = read()?;
        let per = |a: u64, b: u64| (a as f64 - b as f64) / n.max(1) as f64;
        rows.push(OverheadRow {
            allocator: allocator.name().into(),
            key_bytes: 16,
            value_bytes: vlen,
            keys: e.len() as u64,
            logical_bytes_per_key: e.logical_bytes() as f64 / n.max(1) as f64,
            used_bytes_per_key: per(after.used_bytes, before.used_bytes),
            requested_bytes_per_key: per(after.requested_bytes, before.requested_bytes),
            allocations_per_key: per(after.live_allocations, before.live_allocations),
            rss_bytes_per_key: per(after.rss_bytes, before.rss_bytes),
            redis7_distro_bytes_per_key: redis7_distro_bytes_per_key(16, vlen, n),
        });
        drop(e);
        drop(keys);
    }
    allocator.purge();
    Ok(rows)
}
