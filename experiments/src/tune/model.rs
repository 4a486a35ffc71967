//! Step 3a of `experiment tune`: the recommended `maxmemory` as a key count under a memory
//! model — `lab-memory-mode redis` by default (Redis 7.0's `used_memory`, see
//! `evictlab_engine::memory`), or `logical` (key + value bytes, the fill probe's
//! `used_per_key_bytes`) — chosen and parameterized with `--config`.

use evictlab_engine::memory::{RedisMemory, keys_that_fit};
use evictlab_engine::{Blob, Config, Key, MemoryMode};

use super::RecRow;
use crate::RunError;
use crate::workload::{FastMap, Workload};
use evictlab_workloads::Request;

/// The parameters tune's `--config` may set: the memory model's. (The hit-ratio cells are
/// sized in keys, so engine behaviour settings would not reach the recommendation.)
pub const MODEL_PARAMS: &[&str] = &["lab-memory-mode", "lab-jemalloc-quantum", "lab-base-memory"];

/// The checked model configuration of `--config` lines: only [`MODEL_PARAMS`], and
/// `lab-memory-mode` `redis` (the default here) or `logical`.
pub fn model_config(lines: &[String]) -> Result<Config, RunError> {
    for line in lines.iter().flat_map(|t| t.lines()) {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if !MODEL_PARAMS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(RunError::BadArgument {
                flag: "--config",
                value: line.trim().to_string(),
                expected: "a memory-model line: lab-memory-mode redis|logical, \
                           lab-jemalloc-quantum 8|16 or lab-base-memory SIZE (tune sizes \
                           its hit-ratio cells in keys, so other engine settings would not \
                           reach the recommendation)",
            });
        }
    }
    let mut c = Config {
        memory_mode: MemoryMode::Redis,
        ..Config::default()
    };
    c.apply_str(&lines.join("\n"), None)?;
    match c.memory_mode {
        MemoryMode::Redis | MemoryMode::Logical => Ok(c),
        other => Err(RunError::BadArgument {
            flag: "--config",
            value: format!("lab-memory-mode {}", other.name()),
            expected: "redis (default) or logical: tune turns maxmemory bytes into keys, so \
                       the model must count bytes; allocator is measured by the \
                       fragmentation probe itself",
        }),
    }
}

/// The redis model's charge for the workload's keys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyCharge {
    /// Mean bytes per key: dictEntry, key sds, robj and value, and the expires dictEntry
    /// of keys with a TTL (buckets apart).
    pub per_key: f64,
    /// Fraction of the keys with a TTL.
    pub ttl_fraction: f64,
}

/// The mean redis-model charge of `w`'s distinct keys as strings of their first-seen size
/// (or `value_size` when given), with a TTL where their first request has one. A streamed
/// workload is read again in batches.
pub fn key_charge(
    w: &Workload,
    value_size: Option<u64>,
    c: &Config,
) -> Result<KeyCharge, RunError> {
    let m = RedisMemory::new(
        c.jemalloc_quantum,
        c.encoding_thresholds,
        c.base_memory,
        0,
        "noeviction",
    );
    let mut seen: FastMap<u64, ()> = FastMap::default();
    let (mut sum, mut ttl, mut n) = (0u64, 0u64, 0u64);
    let mut add = |r: &Request| {
        if seen.insert(r.key, ()).is_some() {
            return;
        }
        let size = value_size.unwrap_or(r.value_size as u64);
        let key_len = Key::from_id(r.key).len();
        sum += m.string_charge(key_len, &Blob::Sized(size), r.ttl_ms > 0);
        ttl += u64::from(r.ttl_ms > 0);
        n += 1;
    };
    w.for_each_request(&mut add)?;
    if n == 0 {
        return Err(RunError::BadArgument {
            flag: "--workload",
            value: w.info.name.clone(),
            expected: "a workload with at least one request (its keys size the budget)",
        });
    }
    Ok(KeyCharge {
        per_key: sum as f64 / n as f64,
        ttl_fraction: ttl as f64 / n as f64,
    })
}

/// The `tune_recommendation.csv` rows that turn `maxmemory` into keys under both models and
/// name the one in force (`budget_keys`, `budget_per_key_bytes`); returns `budget_keys`.
pub fn budget_recs(
    maxmemory: f64,
    logical_per_key: f64,
    charge: KeyCharge,
    c: &Config,
    recs: &mut Vec<RecRow>,
) -> f64 {
    let q = c.jemalloc_quantum;
    let mut rec = |name: &str, value: f64, unit: &str, derivation: String| {
        recs.push(RecRow {
            name: name.into(),
            value,
            unit: unit.into(),
            derivation,
        });
    };
    let model = format!(
        "redis model (Redis 7.0 used_memory, lab-jemalloc-quantum {}, lab-base-memory {})",
        q.bytes(),
        c.base_memory
    );
    rec(
        "jemalloc_quantum",
        q.bytes() as f64,
        "bytes",
        "lab-jemalloc-quantum of the redis model: 8 = Redis's bundled jemalloc (official \
         builds, Docker), 16 = a system jemalloc (Debian/Ubuntu packages); --config sets it"
            .into(),
    );
    rec(
        "redis_per_key_bytes",
        charge.per_key,
        "bytes",
        format!(
            "{model}: mean charge of the workload's distinct keys as strings of their size: \
             dictEntry + key sds + robj + value (+ expires dictEntry for the {:.1} % with a TTL)",
            charge.ttl_fraction * 100.0
        ),
    );
    let redis_keys = keys_that_fit(
        maxmemory.max(0.0) as u64,
        c.base_memory,
        charge.per_key,
        charge.ttl_fraction,
        q,
    ) as f64;
    rec(
        "budget_keys_redis",
        redis_keys,
        "keys",
        format!(
            "{model}: keys of redis_per_key_bytes that fit in maxmemory_bytes beside \
             lab-base-memory and the dicts' bucket arrays"
        ),
    );
    let logical_keys = maxmemory / logical_per_key;
    rec(
        "budget_keys_logical",
        logical_keys,
        "keys",
        "maxmemory_bytes / used_per_key_bytes (logical model: key + value bytes, no Redis \
         overhead)"
            .into(),
    );
    let (keys, per_key, which) = match c.memory_mode {
        MemoryMode::Logical => (
            logical_keys,
            logical_per_key,
            "budget_keys_logical (--config lab-memory-mode logical)".to_string(),
        ),
        _ => (
            redis_keys,
            charge.per_key,
            format!("budget_keys_redis ({model})"),
        ),
    };
    rec("budget_keys", keys, "keys", which.clone());
    rec("budget_per_key_bytes", per_key, "bytes", which);
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_in_force_names_budget_keys_and_other_lines_are_refused() {
        let charge = KeyCharge {
            per_key: 100.0,
            ttl_fraction: 0.0,
        };
        let keys = |lines: &[&str]| {
            let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let c = model_config(&lines).unwrap();
            let mut recs = Vec::new();
            let k = budget_recs(10_000_000.0, 10.0, charge, &c, &mut recs);
            let get = |n: &str| recs.iter().find(|r| r.name == n).unwrap().value;
            assert_eq!(k, get("budget_keys"));
            (k, get("budget_keys_redis"), get("budget_keys_logical"))
        };
        let (k, redis, logical) = keys(&[]);
        assert_eq!(k, redis, "redis by default");
        assert_eq!(logical, 1_000_000.0);
        // (10 MB − 914 592) / (100 + 8 bytes of bucket per key), at a power-of-two table.
        assert!(redis > 80_000.0 && redis < 90_900.0, "{redis}");
        assert_eq!(keys(&["lab-memory-mode logical"]).0, logical);
        assert!(keys(&["lab-base-memory 5mb"]).1 < redis / 1.5);
        for bad in [
            "lab-sampling uniform",
            "lab-memory-mode keys",
            "maxmemory 1gb",
        ] {
            let e = model_config(&[bad.to_string()]).unwrap_err().to_string();
            assert!(e.contains("--config"), "{bad}: {e}");
        }
    }
}
