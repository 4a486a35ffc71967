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
use crate::value::Storage;

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
    /// EchoVault's own estimate of what it stores ([`crate::memory::echovault`]): per key
    /// 24 + the value's estimate + 16 + the key's length.
    Echovault,
}

impl MemoryMode {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            MemoryMode::Logical => "logical",
            MemoryMode::Keys => "keys",
            MemoryMode::Allocator => "allocator",
            MemoryMode::Redis => "redis",
            MemoryMode::Echovault => "echovault",
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
    /// EchoVault's `adjustMemoryUsage`: after each write, while used memory is at or above
    /// the limit, evict (the key just written may be the victim); `noeviction` refuses a
    /// write when used memory is at or above the limit before it.
    Echovault,
}

impl Enforcement {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Enforcement::Redis => "redis",
            Enforcement::Strict => "strict",
            Enforcement::Echovault => "echovault",
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
    /// `lab-server`: the server profile ([`crate::server`]); `echovault` fixes
    /// `lab-memory-mode`, `lab-enforcement` and `lab-active-expire` and maps the policy.
    pub server: crate::server::Server,
    /// Which parameters config lines set (what the `lab-server` check needs; not part of the
    /// value: equal settings compare equal however they were reached).
    pub set_by: crate::server::SetByLines,
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
            server: crate::server::Server::Redis,
            set_by: crate::server::SetByLines::default(),
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
    set: Setter,
    get: Getter,
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
        name: "lab-server",
        accepts: "redis or echovault",
        doc: "server profile: echovault fixes lab-memory-mode, lab-enforcement and lab-active-expire to echovault and maps maxmemory-policy to EchoVault's (docs/echovault.md)",
        set: |c, a| {
            c.server = crate::server::Server::parse(one(a)?).ok_or(())?;
            Ok(())
        },
        get: |c| c.server.name().into(),
    },
    Param {
        name: "lab-memory-mode",
        accepts: "logical, keys, allocator, redis or echovault",
        doc: "what used_memory counts",
        set: |c, a| {
            c.memory_mode = match one(a)?.to_ascii_lowercase().as_str() {
                "logical" => MemoryMode::Logical,
                "keys" => MemoryMode::Keys,
                "allocator" => MemoryMode::Allocator,
                "redis" => MemoryMode::Redis,
                "echovault" => MemoryMode::Echovault,
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
        accepts: "redis, strict or echovault",
        doc: "evict before each write while over (redis), until the write fits (strict), or after each write while at or over (echovault)",
        set: |c, a| {
            c.enforcement = match one(a)?.to_ascii_lowercase().as_str() {
                "redis" => Enforcement::Redis,
                "strict" => Enforcement::Strict,
                "echovault" => Enforcement::Echovault,
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

fn known_names() -> String {
    PARAMS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

impl Config {
    /// Sets one parameter from its textual arguments (as after the name on a config line).
    pub fn set(&mut self, name: &str, args: &[&str]) -> Result<(), ConfigError> {
        self.set_at(name, args, Location::default())
    }

    fn set_at(&mut self, name: &str, args: &[&str], at: Location) -> Result<(), ConfigError> {
        let p = param(name).ok_or_else(|| ConfigError::UnknownParameter {
            at: at.clone(),
            name: name.to_string(),
            known: known_names(),
        })?;
        let mut next = self.clone();
        (p.set)(&mut next, args).map_err(|()| {
            if let ("lab-policy-param", [name, value]) = (p.name, args)
                && let Err(e) = crate::policy::registry::check_param(name, value)
            {
                return ConfigError::from_param(e, at.clone());
            }
            let expected = if p.name == "maxmemory-policy" {
                format!(
                    "one of {}",
                    crate::policy::registry::names()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                p.accepts.to_string()
            };
            ConfigError::BadValue {
                at: at.clone(),
                name: p.name.to_string(),
                value: args.join(" "),
                expected,
            }
        })?;
        // The server profile: a `lab-server` line applies what it fixes; a line
        // contradicting the profile, in either order, is an error naming both.
        crate::server::after_line(&mut next, p.name).map_err(|expected| {
            ConfigError::BadValue {
                at,
                name: p.name.to_string(),
                value: args.join(" "),
                expected,
            }
        })?;
        next.set_by.mark(p.name);
        *self = next;
        Ok(())
    }

    /// Sets `name` to `value` as a server profile does: not recorded as set by a line, no
    /// profile check (the caller is that check).
    pub(crate) fn set_unmarked(&mut self, name: &str, value: &str) {
        if let Some(p) = param(name) {
            let applied = (p.set)(self, &[value]);
            debug_assert!(applied.is_ok(), "{name} {value}");
        }
    }

    /// The current value of a parameter, as `CONFIG GET` would print it.
    pub fn get(&self, name: &str) -> Option<String> {
        param(name).map(|p| (p.get)(self))
    }

    /// Parses redis.conf-style text (`name value...` per line, `#` comments, double-quoted
    /// arguments) on top of the defaults.
    pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        c.apply_str(text, None)?;
        Ok(c)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut c = Config::default();
        c.apply_str(&text, Some(path))?;
        Ok(c)
    }

    /// Applies config lines on top of this configuration. Nothing is changed if any line
    /// is bad.
    pub fn apply_str(&mut self, text: &str, file: Option<&Path>) -> Result<(), ConfigError> {
        let mut next = self.clone();
        for (i, raw) in text.lines().enumerate() {
            let at = Location {
                file: file.map(Path::to_path_buf),
                line: Some(i + 1),
            };
            let words = split_args(raw).map_err(|()| ConfigError::BadValue {
                at: at.clone(),
                name: raw.split_whitespace().next().unwrap_or("").to_string(),
                value: raw.to_string(),
                expected: "balanced double quotes".into(),
            })?;
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            next.set_at(name, &args, at)?;
        }
        *self = next;
        Ok(())
    }

    /// Every parameter as a config line, in table order; parsing the result gives back an
    /// equal `Config`.
    pub fn to_lines(&self) -> Vec<String> {
        PARAMS
            .iter()
            .filter_map(|p| {
                let v = (p.get)(self);
                match p.name {
                    "save" if v.is_empty() => Some("save \"\"".to_string()),
                    "lab-policy-param" => None,
                    _ => Some(format!("{} {}", p.name, v)),
                }
            })
            .chain(
                self.policy_params
                    .iter()
                    .map(|(n, v)| format!("lab-policy-param {n} {v}")),
            )
            .collect()
    }

    /// Redis's eviction time limit for the configured tenacity, in µs (`u64::MAX` = none);
    /// redis `src/evict.c` `evictionTimeLimitUs`.
    pub fn eviction_time_limit_us(&self) -> u64 {
        let t = self.maxmemory_eviction_tenacity;
        if t <= 10 {
            50 * t as u64
        } else if t < 100 {
            (500.0 * 1.15f64.powi(t as i32 - 10)) as u64
        } else {
            u64::MAX
        }
    }

    /// The value of a `lab-policy-param`.
    pub fn policy_param(&self, name: &str) -> Option<&str> {
        self.policy_params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn split_args(line: &str) -> Result<Vec<String>, ()> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        if let Some(n) = chars.next() {
                            word.push(n)
                        }
                    }
                    _ => word.push(c),
                }
            }
            if !closed {
                return Err(());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
    Ok(out)
}

/// Parses a memory size as Redis's `memtoull` does (`1k` = 1000, `1kb` = 1024, `m`, `mb`,
/// `g`, `gb`, case-insensitive), plus `KiB`/`MiB`/`GiB`/`TiB`, `t`/`tb`, a `b` suffix and a
/// decimal fraction (`1.5gb`) as the lab's extensions. `None` if malformed or overflowing.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return None;
    }
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" | "kib" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" | "mib" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" | "gib" => 1 << 30,
        "t" => 1000 * 1000 * 1000 * 1000,
        "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mul);
    }
    let f: f64 = num.parse().ok()?;
    let v = f * mul as f64;
    (v.is_finite() && v >= 0.0 && v < u64::MAX as f64).then(|| v.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_redis_unit_rules() {
        assert_eq!(parse_size("1k"), Some(1000));
        assert_eq!(parse_size("1kb"), Some(1024));
        assert_eq!(parse_size("1KB"), Some(1024));
        assert_eq!(parse_size("100mb"), Some(100 << 20));
        assert_eq!(parse_size("2m"), Some(2_000_000));
        assert_eq!(parse_size("16gb"), Some(16 << 30));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("1.5gb"), Some(3 << 29));
        assert_eq!(parse_size("12345"), Some(12345));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("12x"), None);
        assert_eq!(parse_size("mb"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999999gb"), None);
    }

    #[test]
    fn defaults_are_redis_defaults() {
        let c = Config::default();
        assert_eq!(c.maxmemory, 0);
        assert_eq!(c.maxmemory_policy, "noeviction");
        assert_eq!(c.maxmemory_samples, 5);
        assert_eq!(c.maxmemory_eviction_tenacity, 10);
        assert_eq!(c.lfu_log_factor, 10);
        assert_eq!(c.lfu_decay_time, 1);
        assert_eq!(c.hz, 10);
        assert_eq!(c.active_expire_effort, 1);
        assert_eq!(c.save, DEFAULT_SAVE_RULES);
        assert_eq!(c.eviction_time_limit_us(), 500);
    }

    #[test]
    fn parses_redis_conf_lines() {
        let c = Config::parse_str(
            "# comment\nmaxmemory 100mb\nmaxmemory-policy allkeys-lru\n\nmaxmemory-samples 10\nsave \"\"\nhz 1000\n",
        )
        .unwrap();
        assert_eq!(c.maxmemory, 100 << 20);
        assert_eq!(c.maxmemory_policy, "allkeys-lru");
        assert_eq!(c.maxmemory_samples, 10);
        assert!(c.save.is_empty());
        assert_eq!(c.hz, 500, "hz is clamped like Redis");
        let again = Config::parse_str(&c.to_lines().join("\n")).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn bad_values_name_the_key_value_and_what_is_accepted() {
        let err = Config::parse_str("maxmemory 10\nmaxmemory-samples 65\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("maxmemory-samples"), "{msg}");
        assert!(msg.contains("'65'"), "{msg}");
        assert!(msg.contains("1..=64"), "{msg}");

        let err = Config::parse_str("maxmemory-policy lru-ish")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("allkeys-lru") && err.contains("volatile-ttl"),
            "{err}"
        );

        let err = Config::parse_str("maxmem 1").unwrap_err().to_string();
        assert!(err.contains("unknown config parameter 'maxmem'"), "{err}");

        // A bad line leaves the configuration untouched.
        let mut c = Config::default();
        assert!(c.apply_str("maxmemory 5\nhz abc", None).is_err());
        assert_eq!(c, Config::default());
    }
}
