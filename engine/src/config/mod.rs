//! Configuration with Redis's names, defaults and ranges, parsed from redis.conf-style lines.
//!
//! Every parameter is one row of [`PARAMS`]: its name, its default, what it accepts and how
//! it is applied. Parsing, `CONFIG GET`-style dumping ([`Config::to_lines`]) and the error for
//! a bad value all come from that table. Parameters that Redis has keep Redis's exact name,
//! default and range (sources in the comments); the lab's own knobs start with `lab-`.
//!
//! A bad value is a [`ConfigError`] that names the parameter, the value, what is accepted and,
//! when parsing a file, the file and line.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::policy::params::ParamError;

mod params;
mod parse;

use crate::value::Storage;
pub use params::{PARAMS, Param, param};
pub use parse::parse_size;

/// Redis `CONFIG_DEFAULT_HZ` (server.h).
pub const DEFAULT_HZ: u32 = 10;
/// Redis `CONFIG_MIN_HZ` / `CONFIG_MAX_HZ` (server.h): `hz` is clamped to this range.
pub const HZ_RANGE: (u32, u32) = (1, 500);

/// What `used_memory` (the number compared with `maxmemory`) counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MemoryMode {
    /// Σ (key bytes + value bytes + per-entry overhead). Overhead 0 with key bytes off
    /// reproduces libCacheSim's byte mode.
    #[default]
    Logical,
    /// The number of keys; `maxmemory` is then a key count.
    Keys,
    /// Live heap bytes reported by a counting global allocator (Redis's `zmalloc` view).
    /// The probe is installed with [`crate::Engine::set_allocator_probe`].
    Allocator,
    /// What Redis 7.0's `used_memory` would be for the data held ([`crate::memory`]):
    /// startup bytes, both dicts, key sds, robj and encodings, jemalloc size classes.
    Redis,
}

impl MemoryMode {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            MemoryMode::Logical => "logical",
            MemoryMode::Keys => "keys",
            MemoryMode::Allocator => "allocator",
            MemoryMode::Redis => "redis",
        }
    }
}

/// How the sampled policies and the active-expire cycle draw keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sampling {
    /// A model of Redis's chained hash table (`dict.c`): power-of-two buckets, chains,
    /// `dictGetSomeKeys` walking consecutive buckets, `dictGetRandomKey`, `dictScan`.
    #[default]
    Dict,
    /// Independent uniform draws from the keyspace (with replacement).
    Uniform,
}

impl Sampling {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Sampling::Dict => "dict",
            Sampling::Uniform => "uniform",
        }
    }
}

/// When `maxmemory` is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Enforcement {
    /// Redis's `performEvictions()`: before each command that may grow memory, evict while
    /// used memory is over the limit; the command itself may then overshoot it.
    #[default]
    Redis,
    /// Simulator semantics (libCacheSim's `cache_get_base`): evict until the write fits, so
    /// used memory never exceeds the limit after a write. A capacity of N objects holds N.
    Strict,
}

impl Enforcement {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Enforcement::Redis => "redis",
            Enforcement::Strict => "strict",
        }
    }
}

/// The active-expire cycle to run from the cron.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ActiveExpire {
    /// Redis ≥ 6.0 (`expire.c`): cursor scan of the expires table, effort-scaled keys per
    /// loop, repeat while more than the acceptable stale % expired, CPU budget per tick.
    #[default]
    Redis,
    /// Redis ≤ 5.0: 20 random volatile keys per loop, repeat while more than 25 % expired.
    Redis5,
    /// EchoVault / SugarDB docs: sample 20 every 100 ms, repeat at once while ≥ 20 % expired.
    Echovault,
    /// No active expiry (passive only).
    Off,
}

impl ActiveExpire {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            ActiveExpire::Redis => "redis",
            ActiveExpire::Redis5 => "redis5",
            ActiveExpire::Echovault => "echovault",
            ActiveExpire::Off => "off",
        }
    }
}

/// Where time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClockKind {
    /// Virtual milliseconds set by the caller ([`crate::Engine::set_time_ms`]).
    #[default]
    Virtual,
    /// The system's monotonic clock.
    System,
}

impl ClockKind {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            ClockKind::Virtual => "virtual",
            ClockKind::System => "system",
        }
    }
}

/// `appendfsync` (redis `src/config.c`, default `everysec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AppendFsync {
    /// fsync after every write batch.
    Always,
    /// fsync once per second.
    #[default]
    Everysec,
    /// never fsync; the OS flushes.
    No,
}

impl AppendFsync {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::Everysec => "everysec",
            AppendFsync::No => "no",
        }
    }
}

/// One `save <seconds> <changes>` point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveRule {
    /// Seconds since the last save.
    pub seconds: u64,
    /// Changes since the last save.
    pub changes: u64,
}

/// Redis ≥ 7.0 default save points: `save 3600 1 300 100 60 10000` (redis `src/server.c`).
pub const DEFAULT_SAVE_RULES: [SaveRule; 3] = [
    SaveRule {
        seconds: 3600,
        changes: 1,
    },
    SaveRule {
        seconds: 300,
        changes: 100,
    },
    SaveRule {
        seconds: 60,
        changes: 10000,
    },
];

/// The engine's configuration. Build it with `Config::default()` and [`Config::set`], or
/// parse redis.conf-style text with [`Config::parse_str`] / [`Config::from_file`].
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `maxmemory`: the limit in bytes (a key count in `keys` memory mode); 0 = no limit.
    pub maxmemory: u64,
    /// `maxmemory-policy`: a name from the policy registry.
    pub maxmemory_policy: String,
    /// `maxmemory-samples` (1..64, default 5).
    pub maxmemory_samples: u32,
    /// `maxmemory-eviction-tenacity` (0..100, default 10).
    pub maxmemory_eviction_tenacity: u32,
    /// `lfu-log-factor` (default 10).
    pub lfu_log_factor: u32,
    /// `lfu-decay-time` in minutes (default 1; 0 = never decay).
    pub lfu_decay_time: u32,
    /// `hz` (default 10, clamped to 1..500 as Redis does).
    pub hz: u32,
    /// `active-expire-effort` (1..10, default 1).
    pub active_expire_effort: u32,
    /// `save` points; empty = no automatic snapshots.
    pub save: Vec<SaveRule>,
    /// `stop-writes-on-bgsave-error` (default yes).
    pub stop_writes_on_bgsave_error: bool,
    /// `rdbcompression` (default yes).
    pub rdbcompression: bool,
    /// `rdbchecksum` (default yes).
    pub rdbchecksum: bool,
    /// `appendonly` (default no).
    pub appendonly: bool,
    /// `appendfsync` (default everysec).
    pub appendfsync: AppendFsync,
    /// `auto-aof-rewrite-percentage` (default 100; 0 disables).
    pub auto_aof_rewrite_percentage: u32,
    /// `auto-aof-rewrite-min-size` (default 64mb).
    pub auto_aof_rewrite_min_size: u64,
    /// `aof-load-truncated` (default yes).
    pub aof_load_truncated: bool,
    /// `disable-thp` (default yes).
    pub disable_thp: bool,
    /// `activedefrag` (default no).
    pub activedefrag: bool,
    /// `active-defrag-ignore-bytes` (default 100mb).
    pub active_defrag_ignore_bytes: u64,
    /// `active-defrag-threshold-lower` (default 10 %).
    pub active_defrag_threshold_lower: u32,
    /// `active-defrag-threshold-upper` (default 100 %).
    pub active_defrag_threshold_upper: u32,
    /// `active-defrag-cycle-min` (default 1 % CPU).
    pub active_defrag_cycle_min: u32,
    /// `active-defrag-cycle-max` (default 25 % CPU).
    pub active_defrag_cycle_max: u32,
    /// `lab-memory-mode`: what `used_memory` counts.
    pub memory_mode: MemoryMode,
    /// `lab-entry-overhead`: bytes added per key in logical mode (default 0).
    pub entry_overhead: u64,
    /// `lab-expire-overhead`: bytes added per key with a TTL in logical mode (default 0).
    pub expire_overhead: u64,
    /// `lab-count-key-bytes`: whether key bytes count in logical mode (default yes).
    pub count_key_bytes: bool,
    /// `lab-maxkeys`: a key-count limit on top of `maxmemory` (0 = none).
    pub maxkeys: u64,
    /// `lab-storage`: sized or materialized payloads.
    pub storage: Storage,
    /// `lab-sampling`: Redis dict model or uniform draws.
    pub sampling: Sampling,
    /// `lab-enforcement`: Redis's before-command eviction or strict make-room.
    pub enforcement: Enforcement,
    /// `lab-active-expire`: which active-expire cycle the cron runs.
    pub active_expire: ActiveExpire,
    /// `lab-clock`: virtual or system time.
    pub clock: ClockKind,
    /// `lab-expire-key-cost-ns`: in virtual time, the modelled cost of examining one key in
    /// the active-expire cycle; a cycle's time budget divided by it is its key budget.
    pub expire_key_cost_ns: u64,
    /// `lab-evict-key-cost-ns`: in virtual time, the modelled cost of evicting one key,
    /// used to turn `maxmemory-eviction-tenacity`'s time limit into a key budget.
    pub evict_key_cost_ns: u64,
    /// `lab-cron-stepping`: `idle-skip` (default) runs virtual-time cron ticks that cannot
    /// change anything in closed form; `every-tick` steps each one (the reference the
    /// closed form is tested against; results are identical).
    pub cron_every_tick: bool,
    /// `lab-policy-param NAME VALUE` lines: parameters of research policies. Each is
    /// checked when set against the parameters the policies declare (name, type, range);
    /// the engine resolves them against the chosen policy.
    pub policy_params: Vec<(String, String)>,
    /// `lab-base-memory`: `used_memory` of the empty server in `lab-memory-mode redis`.
    pub base_memory: u64,
    /// `lab-jemalloc-quantum`: 8 (Redis's bundled jemalloc) or 16 (a system jemalloc).
    pub jemalloc_quantum: crate::memory::Quantum,
    /// Redis's encoding thresholds (`hash-max-listpack-entries`, …) for the redis model.
    pub encoding_thresholds: crate::memory::Thresholds,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            hz: DEFAULT_HZ,
            active_expire_effort: 1,
            save: DEFAULT_SAVE_RULES.to_vec(),
            stop_writes_on_bgsave_error: true,
            rdbcompression: true,
            rdbchecksum: true,
            appendonly: false,
            appendfsync: AppendFsync::Everysec,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            aof_load_truncated: true,
            disable_thp: true,
            activedefrag: false,
            active_defrag_ignore_bytes: 100 << 20,
            active_defrag_threshold_lower: 10,
            active_defrag_threshold_upper: 100,
            active_defrag_cycle_min: 1,
            active_defrag_cycle_max: 25,
            memory_mode: MemoryMode::Logical,
            entry_overhead: 0,
            expire_overhead: 0,
            count_key_bytes: true,
            maxkeys: 0,
            storage: Storage::Sized,
            sampling: Sampling::Dict,
            enforcement: Enforcement::Redis,
            active_expire: ActiveExpire::Redis,
            clock: ClockKind::Virtual,
            expire_key_cost_ns: 1000,
            evict_key_cost_ns: 1000,
            cron_every_tick: false,
            policy_params: Vec::new(),
            base_memory: crate::memory::DEFAULT_BASE_MEMORY,
            jemalloc_quantum: crate::memory::Quantum::Q8,
            encoding_thresholds: crate::memory::Thresholds::default(),
        }
    }
}

/// A configuration error: always names the parameter and value, says what is accepted and,
/// when it came from a file, where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The parameter name is not known.
    #[error("{at}unknown config parameter '{name}'; known parameters: {known}")]
    UnknownParameter {
        /// Where (file and line), if known.
        at: Location,
        /// The unknown name.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// The value is not accepted.
    #[error("{at}invalid value '{value}' for '{name}': expected {expected}")]
    BadValue {
        /// Where (file and line), if known.
        at: Location,
        /// The parameter.
        name: String,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// The file could not be read.
    #[error("cannot read config file {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
}

impl ConfigError {
    /// A policy-parameter error as a config error at `at`.
    pub fn from_param(e: ParamError, at: Location) -> ConfigError {
        ConfigError::BadValue {
            at,
            name: format!("lab-policy-param {}", e.name),
            value: e.value,
            expected: e.expected,
        }
    }
}

impl From<ParamError> for ConfigError {
    fn from(e: ParamError) -> ConfigError {
        ConfigError::from_param(e, Location::default())
    }
}

/// A position in a config file (empty when the value did not come from a file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file, if any.
    pub file: Option<PathBuf>,
    /// The 1-based line, if any.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{}: ", p.display(), l),
            (None, Some(l)) => write!(f, "line {}: ", l),
            (Some(p), None) => write!(f, "{}: ", p.display()),
            (None, None) => Ok(()),
        }
    }
}
