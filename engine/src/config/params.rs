//! The parameter table: every parameter's name, what it accepts, its documentation and how it
//! is set and read. Parsing, dumping and errors all come from [`PARAMS`].

use super::*;

type Setter = fn(&mut Config, &[&str]) -> Result<(), ()>;
type Getter = fn(&Config) -> String;

/// One configuration parameter.
pub struct Param {
    /// The name in config files.
    pub name: &'static str,
    /// What it accepts, in words (used in error messages and `--help`).
    pub accepts: &'static str,
    /// One line of documentation.
    pub doc: &'static str,
    pub(super) set: Setter,
    pub(super) get: Getter,
}

fn one<'a>(args: &[&'a str]) -> Result<&'a str, ()> {
    match args {
        [v] => Ok(v),
        _ => Err(()),
    }
}
fn int_in(args: &[&str], lo: u64, hi: u64) -> Result<u64, ()> {
    let v: u64 = one(args)?.parse().map_err(|_| ())?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(())
    }
}
fn yes_no(args: &[&str]) -> Result<bool, ()> {
    match one(args)?.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(()),
    }
}
fn yn(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}
fn size(args: &[&str]) -> Result<u64, ()> {
    parse_size(one(args)?).ok_or(())
}

const INT_MAX: u64 = i32::MAX as u64;

/// The table of every parameter: the single list that parsing, dumping and errors use.
pub static PARAMS: &[Param] = &[
    Param {
        name: "maxmemory",
        accepts: "a size: bytes, or with k/kb/m/mb/g/gb (k=1000, kb=1024, as Redis) or KiB/MiB/GiB; 0 = no limit",
        doc: "memory limit (a key count in lab-memory-mode keys)",
        set: |c, a| {
            c.maxmemory = size(a)?;
            Ok(())
        },
        get: |c| c.maxmemory.to_string(),
    },
    Param {
        name: "maxmemory-policy",
        accepts: "a policy name (see `experiment list policies`)",
        doc: "eviction policy",
        set: |c, a| {
            let v = one(a)?.to_ascii_lowercase();
            if crate::policy::registry::find(&v).is_none() {
                return Err(());
            }
            c.maxmemory_policy = v;
            Ok(())
        },
        get: |c| c.maxmemory_policy.clone(),
    },
    Param {
        name: "maxmemory-samples",
        accepts: "an integer in 1..=64",
        doc: "keys sampled per eviction-pool refill (redis src/config.c: default 5, 1..64)",
        set: |c, a| {
            c.maxmemory_samples = int_in(a, 1, 64)? as u32;
            Ok(())
        },
        get: |c| c.maxmemory_samples.to_string(),
    },
    Param {
        name: "maxmemory-eviction-tenacity",
        accepts: "an integer in 0..=100",
        doc: "eviction time budget per command (redis src/evict.c evictionTimeLimitUs)",
        set: |c, a| {
            c.maxmemory_eviction_tenacity = int_in(a, 0, 100)? as u32;
            Ok(())
        },
        get: |c| c.maxmemory_eviction_tenacity.to_string(),
    },
    Param {
        name: "lfu-log-factor",
        accepts: "an integer in 0..=2147483647",
        doc: "LFU counter logarithm factor (default 10)",
        set: |c, a| {
            c.lfu_log_factor = int_in(a, 0, INT_MAX)? as u32;
            Ok(())
        },
        get: |c| c.lfu_log_factor.to_string(),
    },
    Param {
        name: "lfu-decay-time",
        accepts: "an integer number of minutes in 0..=2147483647 (0 = never decay)",
        doc: "minutes per LFU counter decrement (default 1)",
        set: |c, a| {
            c.lfu_decay_time = int_in(a, 0, INT_MAX)? as u32;
            Ok(())
        },
        get: |c| c.lfu_decay_time.to_string(),
    },
    Param {
        name: "hz",
        accepts: "an integer in 0..=2147483647 (clamped to 1..=500 as Redis does)",
        doc: "cron frequency: LRU clock refresh and active-expire cycles per second",
        set: |c, a| {
            let v = int_in(a, 0, INT_MAX)? as u32;
            c.hz = v.clamp(HZ_RANGE.0, HZ_RANGE.1);
            Ok(())
        },
        get: |c| c.hz.to_string(),
    },
    Param {
        name: "active-expire-effort",
        accepts: "an integer in 1..=10",
        doc: "active-expire effort (redis src/expire.c)",
        set: |c, a| {
            c.active_expire_effort = int_in(a, 1, 10)? as u32;
            Ok(())
        },
        get: |c| c.active_expire_effort.to_string(),
    },
    Param {
        name: "save",
        accepts: "pairs of '<seconds> <changes>' integers, or \"\" to disable",
        doc: "snapshot save points (Redis 7 default: 3600 1 300 100 60 10000)",
        set: |c, a| {
            if a.is_empty() || (a.len() == 1 && a[0].is_empty()) {
                c.save.clear();
                return Ok(());
            }
            if a.len() % 2 != 0 {
                return Err(());
            }
            let mut rules = Vec::new();
            for pair in a.chunks(2) {
                let seconds = pair[0].parse().map_err(|_| ())?;
                let changes = pair[1].parse().map_err(|_| ())?;
                rules.push(SaveRule { seconds, changes });
            }
            c.save = rules;
            Ok(())
        },
        get: |c| {
            c.save
                .iter()
                .map(|r| format!("{} {}", r.seconds, r.changes))
                .collect::<Vec<_>>()
                .join(" ")
        },
    },
    Param {
        name: "stop-writes-on-bgsave-error",
        accepts: "yes or no",
        doc: "refuse writes with MISCONF after a failed background save",
        set: |c, a| {
            c.stop_writes_on_bgsave_error = yes_no(a)?;
            Ok(())
        },
        get: |c| yn(c.stop_writes_on_bgsave_error),
    },
    Param {
        name: "rdbcompression",
        accepts: "yes or no",
        doc: "compress string payloads in snapshots",
        set: |c, a| {
            c.rdbcompression = yes_no(a)?;
            Ok(())
        },
        get: |c| yn(c.rdbcompression),
    },
    Param {
        name: "rdbchecksum",
        accepts: "yes or no",
        doc: "write and verify the CRC-64 trailer of snapshots",
        set: |c, a| {
            c.rdbchecksum = yes_no(a)?;
            Ok(())
        },
        get: |c| yn(c.rdbchecksum),
    },
    Param {
        name: "appendonly",
        accepts: "yes or no",
        doc: "log every write to the append-only file",
        set: |c, a| {
            c.appendonly = yes_no(a)?;
            Ok(())
        },
        get: |c| yn(c.appendonly),
    },
    Param {
        name: "appendfsync",
        accepts: "always, everysec or no",
        doc: "AOF fsync policy",
        set: |c, a| {
            c.appendfsync = match one(a)?.to_ascii_lowercase().as_str() {
                "always" => AppendFsync::Always,
                "everysec" => AppendFsync::Everysec,
                "no" => AppendFsync::No,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| c.appendfsync.name().into(),
    },
    Param {
        name: "auto-aof-rewrite-percentage",
        accepts: "an integer in 0..=2147483647 (0 disables)",
        doc: "AOF growth over its base size that triggers a rewrite",
        set: |c, a| {
            c.auto_aof_rewrite_percentage = int_in(a, 0, INT_MAX)? as u32;
            Ok(())
        },
        get: |c| c.auto_aof_rewrite_percentage.to_string(),
    },
    Param {
        name: "auto-aof-rewrite-min-size",
        accepts: "a size (default 64mb)",
        doc: "AOF size below which no automatic rewrite happens",
        set: |c, a| {
            c.auto_aof_rewrite_min_size = size(a)?;
            Ok(())
        },
        get: |c| c.auto_aof_rewrite_min_size.to_string(),
    },
    Param {
        name: "aof-load-truncated",
        accepts: "yes or no",
        doc: "load an AOF whose last command is truncated",
        set: |c, a| {
            c.aof_load_truncated = yes_no(a)?;
            Ok(())
        },
        get: |c| yn(c.aof_load_truncated),
    },
    Param {
        name: "disable-thp",
        accepts: "yes or no",
        doc: "prctl(PR_SET_THP_DISABLE) for the process",
        set: |c, a| {
            c.disable_thp = yes_no(a)?;
            Ok(())
        },
        get: |c| yn(c.disable_thp),
    },
    Param {
        name: "activedefrag",
        accepts: "yes or no",
        doc: "active defragmentation",
        set: |c, a| {
            c.activedefrag = yes_no(a)?;
            Ok(())
        },
        get: |c| yn(c.activedefrag),
    },
    Param {
        name: "active-defrag-ignore-bytes",
        accepts: "a size (default 100mb)",
        doc: "fragmentation bytes below which defrag does not start",
        set: |c, a| {
            c.active_defrag_ignore_bytes = size(a)?;
            Ok(())
        },
        get: |c| c.active_defrag_ignore_bytes.to_string(),
    },
    Param {
        name: "active-defrag-threshold-lower",
        accepts: "an integer percentage in 0..=1000",
        doc: "fragmentation % at which defrag starts (default 10)",
        set: |c, a| {
            c.active_defrag_threshold_lower = int_in(a, 0, 1000)? as u32;
            Ok(())
        },
        get: |c| c.active_defrag_threshold_lower.to_string(),
    },
    Param {
        name: "active-defrag-threshold-upper",
        accepts: "an integer percentage in 0..=1000",
        doc: "fragmentation % at which defrag uses maximum effort (default 100)",
        set: |c, a| {
            c.active_defrag_threshold_upper = int_in(a, 0, 1000)? as u32;
            Ok(())
        },
        get: |c| c.active_defrag_threshold_upper.to_string(),
    },
    Param {
        name: "active-defrag-cycle-min",
        accepts: "an integer percentage in 1..=99",
        doc: "minimal defrag CPU effort (default 1)",
        set: |c, a| {
            c.active_defrag_cycle_min = int_in(a, 1, 99)? as u32;
            Ok(())
        },
        get: |c| c.active_defrag_cycle_min.to_string(),
    },
    Param {
        name: "active-defrag-cycle-max",
        accepts: "an integer percentage in 1..=99",
        doc: "maximal defrag CPU effort (default 25)",
        set: |c, a| {
            c.active_defrag_cycle_max = int_in(a, 1, 99)? as u32;
            Ok(())
        },
        get: |c| c.active_defrag_cycle_max.to_string(),
    },
    Param {
        name: "lab-memory-mode",
        accepts: "logical, keys, allocator or redis",
        doc: "what used_memory counts",
        set: |c, a| {
            c.memory_mode = match one(a)?.to_ascii_lowercase().as_str() {
                "logical" => MemoryMode::Logical,
                "keys" => MemoryMode::Keys,
                "allocator" => MemoryMode::Allocator,
                "redis" => MemoryMode::Redis,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| c.memory_mode.name().into(),
    },
    Param {
        name: "lab-entry-overhead",
        accepts: "a size in bytes (0 allowed)",
        doc: "bytes charged per key on top of key and value bytes in logical mode",
        set: |c, a| {
            c.entry_overhead = size(a)?;
            Ok(())
        },
        get: |c| c.entry_overhead.to_string(),
    },
    Param {
        name: "lab-expire-overhead",
        accepts: "a size in bytes (0 allowed)",
        doc: "bytes charged per key with a TTL in logical mode",
        set: |c, a| {
            c.expire_overhead = size(a)?;
            Ok(())
        },
        get: |c| c.expire_overhead.to_string(),
    },
    Param {
        name: "lab-count-key-bytes",
        accepts: "yes or no",
        doc: "whether key bytes count in logical mode (no = libCacheSim byte mode)",
        set: |c, a| {
            c.count_key_bytes = yes_no(a)?;
            Ok(())
        },
        get: |c| yn(c.count_key_bytes),
    },
    Param {
        name: "lab-maxkeys",
        accepts: "a non-negative integer (0 = no limit)",
        doc: "key-count limit enforced together with maxmemory",
        set: |c, a| {
            c.maxkeys = int_in(a, 0, u64::MAX)?;
            Ok(())
        },
        get: |c| c.maxkeys.to_string(),
    },
    Param {
        name: "lab-storage",
        accepts: "sized or materialized",
        doc: "keep only payload lengths, or real bytes",
        set: |c, a| {
            c.storage = match one(a)?.to_ascii_lowercase().as_str() {
                "sized" => Storage::Sized,
                "materialized" => Storage::Materialized,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| c.storage.name().into(),
    },
    Param {
        name: "lab-sampling",
        accepts: "dict or uniform",
        doc: "Redis dict model (dictGetSomeKeys) or independent uniform draws",
        set: |c, a| {
            c.sampling = match one(a)?.to_ascii_lowercase().as_str() {
                "dict" => Sampling::Dict,
                "uniform" => Sampling::Uniform,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| c.sampling.name().into(),
    },
    Param {
        name: "lab-enforcement",
        accepts: "redis or strict",
        doc: "evict before each write while over (redis) or until the write fits (strict)",
        set: |c, a| {
            c.enforcement = match one(a)?.to_ascii_lowercase().as_str() {
                "redis" => Enforcement::Redis,
                "strict" => Enforcement::Strict,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| c.enforcement.name().into(),
    },
    Param {
        name: "lab-active-expire",
        accepts: "redis, redis5, echovault or off",
        doc: "active-expire cycle preset",
        set: |c, a| {
            c.active_expire = match one(a)?.to_ascii_lowercase().as_str() {
                "redis" => ActiveExpire::Redis,
                "redis5" => ActiveExpire::Redis5,
                "echovault" => ActiveExpire::Echovault,
                "off" => ActiveExpire::Off,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| c.active_expire.name().into(),
    },
    Param {
        name: "lab-clock",
        accepts: "virtual or system",
        doc: "time source",
        set: |c, a| {
            c.clock = match one(a)?.to_ascii_lowercase().as_str() {
                "virtual" => ClockKind::Virtual,
                "system" => ClockKind::System,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| c.clock.name().into(),
    },
    Param {
        name: "lab-expire-key-cost-ns",
        accepts: "an integer in 1..=1000000000",
        doc: "virtual-time cost of examining one key in the active-expire cycle",
        set: |c, a| {
            c.expire_key_cost_ns = int_in(a, 1, 1_000_000_000)?;
            Ok(())
        },
        get: |c| c.expire_key_cost_ns.to_string(),
    },
    Param {
        name: "lab-evict-key-cost-ns",
        accepts: "an integer in 1..=1000000000",
        doc: "virtual-time cost of evicting one key (tenacity budget)",
        set: |c, a| {
            c.evict_key_cost_ns = int_in(a, 1, 1_000_000_000)?;
            Ok(())
        },
        get: |c| c.evict_key_cost_ns.to_string(),
    },
    Param {
        name: "lab-cron-stepping",
        accepts: "idle-skip or every-tick",
        doc: "virtual time: skip idle cron ticks in closed form, or step every tick (same results)",
        set: |c, a| {
            c.cron_every_tick = match one(a)?.to_ascii_lowercase().as_str() {
                "idle-skip" => false,
                "every-tick" => true,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| {
            if c.cron_every_tick {
                "every-tick"
            } else {
                "idle-skip"
            }
            .into()
        },
    },
    Param {
        name: "lab-policy-param",
        accepts: "NAME VALUE (a parameter of the chosen policy; see `experiment list policies`)",
        doc: "research-policy parameter, typed and range-checked as its policy declares",
        set: |c, a| match a {
            [name, value] => {
                crate::policy::registry::check_param(name, value).map_err(|_| ())?;
                c.policy_params.retain(|(n, _)| n != name);
                c.policy_params.push((name.to_string(), value.to_string()));
                Ok(())
            }
            _ => Err(()),
        },
        get: |c| {
            c.policy_params
                .iter()
                .map(|(n, v)| format!("{n} {v}"))
                .collect::<Vec<_>>()
                .join(" ")
        },
    },
    Param {
        name: "lab-base-memory",
        accepts: "a size (0 allowed)",
        doc: "used_memory of the empty server in lab-memory-mode redis (default: Redis 7.0.15's, 914592)",
        set: |c, a| {
            c.base_memory = size(a)?;
            Ok(())
        },
        get: |c| c.base_memory.to_string(),
    },
    Param {
        name: "lab-jemalloc-quantum",
        accepts: "8 (Redis's bundled jemalloc) or 16 (a system jemalloc, as Debian's package)",
        doc: "jemalloc size-class quantum of lab-memory-mode redis",
        set: |c, a| {
            c.jemalloc_quantum = match one(a)? {
                "8" => crate::memory::Quantum::Q8,
                "16" => crate::memory::Quantum::Q16,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |c| c.jemalloc_quantum.bytes().to_string(),
    },
    Param {
        name: "hash-max-listpack-entries",
        accepts: "a non-negative integer",
        doc: "hashes with more fields are hashtables (Redis 7.0 default 512; redis model)",
        set: |c, a| {
            c.encoding_thresholds.hash_max_listpack_entries = int_in(a, 0, i64::MAX as u64)?;
            Ok(())
        },
        get: |c| c.encoding_thresholds.hash_max_listpack_entries.to_string(),
    },
    Param {
        name: "hash-max-listpack-value",
        accepts: "a non-negative integer",
        doc: "hashes with a longer field or value are hashtables (default 64; redis model)",
        set: |c, a| {
            c.encoding_thresholds.hash_max_listpack_value = int_in(a, 0, i64::MAX as u64)?;
            Ok(())
        },
        get: |c| c.encoding_thresholds.hash_max_listpack_value.to_string(),
    },
    Param {
        name: "set-max-intset-entries",
        accepts: "a non-negative integer",
        doc: "integer sets with more members are hashtables (default 512; redis model)",
        set: |c, a| {
            c.encoding_thresholds.set_max_intset_entries = int_in(a, 0, i64::MAX as u64)?;
            Ok(())
        },
        get: |c| c.encoding_thresholds.set_max_intset_entries.to_string(),
    },
    Param {
        name: "zset-max-listpack-entries",
        accepts: "a non-negative integer",
        doc: "sorted sets with more members are skiplists (default 128; redis model)",
        set: |c, a| {
            c.encoding_thresholds.zset_max_listpack_entries = int_in(a, 0, i64::MAX as u64)?;
            Ok(())
        },
        get: |c| c.encoding_thresholds.zset_max_listpack_entries.to_string(),
    },
    Param {
        name: "zset-max-listpack-value",
        accepts: "a non-negative integer",
        doc: "sorted sets with a longer member are skiplists (default 64; redis model)",
        set: |c, a| {
            c.encoding_thresholds.zset_max_listpack_value = int_in(a, 0, i64::MAX as u64)?;
            Ok(())
        },
        get: |c| c.encoding_thresholds.zset_max_listpack_value.to_string(),
    },
    Param {
        name: "list-max-listpack-size",
        accepts: "-5..=-1 (node size 4..64 KiB) or a positive element count up to 32767",
        doc: "quicklist node limit (default -2 = 8 KiB; redis model)",
        set: |c, a| {
            let v: i64 = one(a)?.parse().map_err(|_| ())?;
            if !(-5..=32767).contains(&v) || v == 0 {
                return Err(());
            }
            c.encoding_thresholds.list_max_listpack_size = v;
            Ok(())
        },
        get: |c| c.encoding_thresholds.list_max_listpack_size.to_string(),
    },
];

/// Finds a parameter by (case-insensitive) name.
pub fn param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

pub(super) fn known_names() -> String {
    PARAMS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}
