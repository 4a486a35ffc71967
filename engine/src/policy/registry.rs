//! The registry: the one list of every policy. Tests, benches, the CLI and spec validation
//! iterate [`POLICIES`]; adding a policy is one file plus one line here (alphabetical within
//! its family).

use super::AnyPolicy;
use super::arc::Arc;
use super::belady::Belady;
use super::clock::Clock;
use super::fifo::Fifo;
use super::lfu::Lfu;
use super::lirs::Lirs;
use super::lru::Lru;
use super::noeviction::NoEviction;
use super::redis_sampled::{RedisSampled, Score};
use super::s3fifo::S3Fifo;
use super::sieve::Sieve;
use super::twoq::TwoQ;
use super::wtinylfu::WTinyLfu;
use crate::config::{Config, ConfigError};
use crate::keyspace::Scope;

/// Policy families, for grouping in listings and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Redis's eight `maxmemory-policy` values.
    Redis,
    /// Exact reference policies and research algorithms.
    Research,
    /// Offline optimum (needs the future).
    Oracle,
}

impl Family {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Redis => "redis",
            Family::Research => "research",
            Family::Oracle => "oracle",
        }
    }
}

/// Builds a policy from the configuration (which carries its `lab-policy-param`s).
pub type Builder = fn(&Config) -> Result<AnyPolicy, ConfigError>;

/// One registered policy.
pub struct PolicyInfo {
    /// The name used in configs, on the command line and in CSVs (never changes).
    pub name: &'static str,
    /// Its family.
    pub family: Family,
    /// One line: what it does and where it comes from.
    pub summary: &'static str,
    /// Whether it ever evicts (`noeviction` does not).
    pub evicts: bool,
    /// Whether the engine keeps the LFU counter (not the LRU clock) in each entry's field.
    pub lfu_field: bool,
    /// Whether only keys with a TTL may be evicted.
    pub volatile_only: bool,
    /// Whether it uses `maxmemory-samples` (sweeps vary samples only for these).
    pub sampled: bool,
    /// Whether it needs each request's next-access index ([`crate::Engine::set_oracle`]).
    pub needs_next_access: bool,
    /// The `lab-policy-param` names it accepts.
    pub params: &'static [&'static str],
    /// Constructor.
    pub build: Builder,
}

impl std::fmt::Debug for PolicyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

const fn redis(
    name: &'static str,
    summary: &'static str,
    lfu_field: bool,
    volatile_only: bool,
    sampled: bool,
    build: Builder,
) -> PolicyInfo {
    PolicyInfo {
        name,
        family: Family::Redis,
        summary,
        evicts: true,
        lfu_field,
        volatile_only,
        sampled,
        needs_next_access: false,
        params: &[],
        build,
    }
}

/// A research (or, with `oracle`, an offline-optimal) policy: evicts, no Redis LFU field,
/// not volatile-only, not sampled.
const fn research(
    name: &'static str,
    summary: &'static str,
    params: &'static [&'static str],
    build: Builder,
) -> PolicyInfo {
    PolicyInfo {
        name,
        family: Family::Research,
        summary,
        evicts: true,
        lfu_field: false,
        volatile_only: false,
        sampled: false,
        needs_next_access: false,
        params,
        build,
    }
}

/// An offline policy that reads each request's next access ([`crate::Engine::set_oracle`]).
const fn oracle(name: &'static str, summary: &'static str, build: Builder) -> PolicyInfo {
    PolicyInfo {
        family: Family::Oracle,
        needs_next_access: true,
        ..research(name, summary, &[], build)
    }
}

fn sampled(scope: Scope, score: Score) -> Result<AnyPolicy, ConfigError> {
    Ok(RedisSampled::new(scope, score).into())
}

/// Every policy.
pub static POLICIES: &[PolicyInfo] = &[
    // Redis (redis src/server.h maxmemory_policy values; src/config.c names).
    PolicyInfo {
        name: "noeviction",
        family: Family::Redis,
        summary: "never evict; refuse growing writes with -OOM over maxmemory",
        evicts: false,
        lfu_field: false,
        volatile_only: false,
        sampled: false,
        needs_next_access: false,
        params: &[],
        build: |_| Ok(NoEviction.into()),
    },
    redis(
        "allkeys-lfu",
        "sampled LFU (Morris counter, decay) over all keys, 16-entry pool",
        true,
        false,
        true,
        |_| sampled(Scope::AllKeys, Score::Lfu),
    ),
    redis(
        "allkeys-lru",
        "sampled LRU (24-bit clock) over all keys, 16-entry pool",
        false,
        false,
        true,
        |_| sampled(Scope::AllKeys, Score::Lru),
    ),
    redis(
        "allkeys-random",
        "a random key (dictGetRandomKey)",
        false,
        false,
        false,
        |_| sampled(Scope::AllKeys, Score::Random),
    ),
    redis(
        "volatile-lfu",
        "sampled LFU over keys with a TTL, 16-entry pool",
        true,
        true,
        true,
        |_| sampled(Scope::Volatile, Score::Lfu),
    ),
    redis(
        "volatile-lru",
        "sampled LRU over keys with a TTL, 16-entry pool",
        false,
        true,
        true,
        |_| sampled(Scope::Volatile, Score::Lru),
    ),
    redis(
        "volatile-random",
        "a random key with a TTL",
        false,
        true,
        false,
        |_| sampled(Scope::Volatile, Score::Random),
    ),
    redis(
        "volatile-ttl",
        "sampled soonest-expiry over keys with a TTL, 16-entry pool",
        false,
        true,
        true,
        |_| sampled(Scope::Volatile, Score::Ttl),
    ),
    // Research and reference policies.
    research(
        "2q",
        "full 2Q: A1in FIFO + Am LRU + A1out ghosts (Johnson & Shasha VLDB'94)",
        &["kin-ratio", "kout-ratio"],
        |c| Ok(TwoQ::from_config(c)?.into()),
    ),
    research(
        "arc",
        "ARC: T1/T2 LRUs, B1/B2 ghosts, adaptive target (Megiddo & Modha FAST'03)",
        &[],
        |c| Ok(Arc::from_config(c).into()),
    ),
    research(
        "clock",
        "CLOCK / FIFO-reinsertion with an n-bit counter (libCacheSim Clock)",
        &["clock-bits"],
        |c| Ok(Clock::from_config(c)?.into()),
    ),
    research(
        "fifo",
        "first in, first out (hits change nothing)",
        &[],
        |_| Ok(Fifo::default().into()),
    ),
    research(
        "lfu",
        "exact in-cache LFU, FIFO among equal counts, O(1) frequency buckets",
        &[],
        |_| Ok(Lfu::default().into()),
    ),
    research(
        "lirs",
        "LIRS: LIR stack S + resident-HIR queue Q + non-resident entries (Jiang & Zhang SIGMETRICS'02)",
        &["percent-hot", "non-resident-multiplier"],
        |c| Ok(Lirs::from_config(c)?.into()),
    ),
    PolicyInfo {
        name: "lru",
        family: Family::Research,
        summary: "exact LRU (doubly-linked recency list), the reference for sampled LRU",
        evicts: true,
        lfu_field: false,
        volatile_only: false,
        sampled: false,
        needs_next_access: false,
        params: &[],
        build: |_| Ok(Lru::default().into()),
    },
    research(
        "s3fifo",
        "S3-FIFO: small FIFO + main CLOCK-2bit + ghost (Yang et al. SOSP'23)",
        &[
            "small-size-ratio",
            "ghost-size-ratio",
            "move-to-main-threshold",
        ],
        |c| Ok(S3Fifo::from_config(c)?.into()),
    ),
    research(
        "sieve",
        "SIEVE: FIFO with visited bits and a sweeping hand (Zhang et al. NSDI'24)",
        &[],
        |_| Ok(Sieve::default().into()),
    ),
    research(
        "w-tinylfu",
        "W-TinyLFU: LRU window + SLRU main + frequency admission (Einziger et al. TOS'17); libCacheSim's or Caffeine's",
        &[
            "variant",
            "window-size",
            "percent-main",
            "percent-main-protected",
            "doorkeeper",
        ],
        |c| Ok(WTinyLfu::from_config(c)?.into()),
    ),
    // Offline optimum (needs each request's next access).
    oracle(
        "belady",
        "Belady's MIN: always store, evict the farthest next use (libCacheSim Belady)",
        |_| Ok(Belady::new(false).into()),
    ),
    oracle(
        "belady-bypass",
        "Belady's MIN that may decline to store a key used later than all cached",
        |_| Ok(Belady::new(true).into()),
    ),
];

/// Finds a policy by name (case-insensitive).
pub fn find(name: &str) -> Option<&'static PolicyInfo> {
    POLICIES.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Every policy name, in registry order.
pub fn names() -> impl Iterator<Item = &'static str> {
    POLICIES.iter().map(|p| p.name)
}

/// Rejects `lab-policy-param`s the policy does not accept, naming the accepted ones.
pub fn check_params(info: &PolicyInfo, config: &Config) -> Result<(), ConfigError> {
    for (name, value) in &config.policy_params {
        if !info.params.contains(&name.as_str()) {
            return Err(ConfigError::BadValue {
                at: Default::default(),
                name: "lab-policy-param".into(),
                value: format!("{name} {value}"),
                expected: if info.params.is_empty() {
                    format!("no parameters: policy '{}' takes none", info.name)
                } else {
                    format!(
                        "one of: {} (policy '{}')",
                        info.params.join(", "),
                        info.name
                    )
                },
            });
        }
    }
    Ok(())
}

/// Parses a numeric policy parameter, or returns `default` when it is not set.
pub fn param_or<T: std::str::FromStr>(
    config: &Config,
    name: &str,
    default: T,
    accepted: &str,
) -> Result<T, ConfigError> {
    match config.policy_param(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError::BadValue {
            at: Default::default(),
            name: format!("lab-policy-param {name}"),
            value: v.to_string(),
            expected: accepted.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_redis_policies_all_present() {
        let mut names: Vec<_> = names().collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate policy names");
        for p in [
            "noeviction",
            "allkeys-lru",
            "volatile-lru",
            "allkeys-lfu",
            "volatile-lfu",
            "allkeys-random",
            "volatile-random",
            "volatile-ttl",
            "lru",
        ] {
            assert!(find(p).is_some(), "{p} missing");
        }
    }

    #[test]
    fn every_policy_builds_with_defaults() {
        for p in POLICIES {
            let c = Config {
                maxmemory_policy: p.name.into(),
                ..Config::default()
            };
            assert!((p.build)(&c).is_ok(), "{} failed to build", p.name);
        }
    }
}
