//! The HCL Cache scenario: HCL Commerce's remote cache on Redis, driven through the engine
//! command by command, to measure what HCL's documentation warns about.
//!
//! # What HCL Cache keeps in Redis
//!
//! From HCL Commerce 9.1 "Memory management in Redis" and "HCL Cache with Redis"
//! (help.hcltechsw.com, `RedisMemoryManagement.html`, `chclcacheredis.html`), for a cache
//! `{c}`:
//!
//! | key | type | TTL | holds |
//! |---|---|---|---|
//! | `{c}-data-<id>` | HASH | yes | the cached value and metadata (dependencies, creation time) |
//! | `{c}-dep-<dep>` | SET | no | the ids of the entries that depend on `<dep>` |
//! | `{c}-maintenance` | ZSET | no | entries by expiry time (member = id and its dependencies) |
//! | `{c}-inactive` | ZSET | no | entries by creation time (inactivity maintenance) |
//!
//! HCL requires `maxmemory-policy volatile-lru` so that metadata (no TTL) is never evicted,
//! and runs maintenance jobs: **expired** (remove metadata of expired entries), **low
//! memory** (when memory is close to full, remove the soonest-to-expire entries), and
//! optional **inactivity** maintenance. The documentation warns that evicting metadata
//! "creates inconsistencies in the cache, such as entries not getting invalidated", and
//! the volatile policy means memory full of metadata cannot be freed by eviction.
//!
//! # The scenario
//!
//! `ops` client operations at `ops_per_sec` virtual time. Each is an **invalidation** of a
//! dependency id (probability `invalidate_ratio`, dependency uniform) or a **get** of an
//! entry (Zipf `zipf_s` over `entries` ids): `HGET data v`; a miss is filled cache-aside by
//! a **put**: `HSET data v <value> deps <list> created <now>`, `PEXPIRE data <ttl>`,
//! `SADD dep-<d> <id>` per dependency, `ZADD maintenance <expiry> <id|deps>`, `ZADD
//! inactive <now> <id>`. An invalidation of `d`: `SMEMBERS dep-d`; for each id whose data
//! is still there: `DEL data`, `SREM` from its other dependency sets, `ZREM` from both
//! zsets (ids whose data is already gone are left for expired maintenance); then `DEL
//! dep-d`. Each entry's dependencies (1 to `deps_per_entry`) and value size are functions
//! of its id (stable), TTLs are uniform in `ttl_ms`.
//!
//! The maintenance jobs run every `maintenance_interval_ms` of virtual time, in batches of
//! `maintenance_batch` (HCL's jobs also work in bounded batches because Redis is single
//! threaded): expired (`ZRANGEBYSCORE maintenance -inf now LIMIT`), low memory (when
//! `used_memory ≥ low_memory_trigger × maxmemory`, remove soonest-to-expire entries until
//! `≤ low_memory_target × maxmemory`), inactivity (entries created more than
//! `inactive_ms` ago). The thresholds are lab parameters (the brief's 95 %), not HCL's
//! defaults.
//!
//! # What is measured ([`HclMetrics`])
//!
//! The scenario keeps its own ground truth outside the engine (which entry depends on
//! which id), so it can tell: **missed invalidations** (an entry still live after an
//! invalidation of one of its dependencies — its dependency set was evicted, or a put was
//! partly refused), **stale reads** (hits on such entries), **dangling dependency
//! references** (set members whose data is gone; normal for a while per HCL, until expired
//! maintenance), and after a final drain (time advanced past every TTL, expired maintenance
//! run to completion) the references that stay dangling for good. **OOM refusals** are
//! counted per command.
//!
//! # Deviations
//!
//! * HCL issues a put or an invalidation as one Lua script; we issue the commands one by
//!   one, so under memory pressure a put can be refused half-way (`partial_puts`).
//! * Inactivity uses the `-inactive` zset scored by creation time, as HCL documents it; the
//!   lab does not refresh it on hits.
//! * Memory is the engine's `used_memory` in its configured mode (logical bytes by
//!   default), not Redis's allocator bytes.

use std::collections::{HashMap, HashSet};

use evictlab_engine::command::ScoreBound;
use evictlab_engine::{Blob, Command, Config, Engine, ErrorReply, Key, NO_EXPIRE, Reply, Value};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use evictlab_workloads::hash::{SplitMix64, key_hash};
use evictlab_workloads::{Dist, WorkloadError, Zipf};

/// Parameters of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct HclConfig {
    /// Distinct cache entry ids.
    pub entries: u64,
    /// Distinct dependency ids.
    pub deps: u64,
    /// Each entry depends on 1..=this many ids.
    pub deps_per_entry: u32,
    /// Zipf exponent of entry popularity.
    pub zipf_s: f64,
    /// Value sizes in bytes (stable per entry).
    pub value_size: Dist,
    /// Data TTL in ms, uniform in `min..=max`.
    pub ttl_ms: (u64, u64),
    /// Client operations.
    pub ops: u64,
    /// Fraction of operations that invalidate a dependency id.
    pub invalidate_ratio: f64,
    /// Virtual operations per second.
    pub ops_per_sec: f64,
    /// Engine `maxmemory` (0 = no limit).
    pub maxmemory: u64,
    /// Engine `maxmemory-policy`.
    pub policy: String,
    /// More engine configuration lines (redis.conf syntax), applied last.
    pub extra_config: String,
    /// How often the maintenance jobs run (virtual ms).
    pub maintenance_interval_ms: u64,
    /// Entries handled per maintenance batch.
    pub maintenance_batch: u64,
    /// Run expired maintenance.
    pub expired_maintenance: bool,
    /// Low-memory maintenance `(trigger, target)` as fractions of `maxmemory`.
    pub low_memory: Option<(f64, f64)>,
    /// Inactivity maintenance: remove entries created longer ago than this (ms).
    pub inactive_ms: Option<u64>,
    /// Audit the keyspace every this many operations (0 = only at the end).
    pub audit_every: u64,
    /// Seed of the operation stream and the engine.
    pub seed: u64,
}

impl Default for HclConfig {
    fn default() -> Self {
        HclConfig {
            entries: 20_000,
            deps: 2_000,
            deps_per_entry: 3,
            zipf_s: 0.9,
            value_size: Dist::Fixed(200),
            ttl_ms: (60_000, 600_000),
            ops: 200_000,
            invalidate_ratio: 0.01,
            ops_per_sec: 1_000.0,
            maxmemory: 0,
            policy: "volatile-lru".into(),
            extra_config: String::new(),
            maintenance_interval_ms: 1_000,
            maintenance_batch: 500,
            expired_maintenance: true,
            low_memory: Some((0.95, 0.90)),
            inactive_ms: None,
            audit_every: 0,
            seed: 1,
        }
    }
}

/// What a run measured. Counts, in the lab's column naming.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct HclMetrics {
    /// Client operations.
    pub ops: u64,
    /// GETs.
    pub gets: u64,
    /// GETs that hit.
    pub hits: u64,
    /// Puts attempted (after misses).
    pub puts: u64,
    /// Puts whose data HSET was refused.
    pub puts_refused: u64,
    /// Puts whose data was stored but some metadata write was refused.
    pub partial_puts: u64,
    /// Invalidations by dependency id.
    pub invalidations: u64,
    /// Entries removed by invalidations.
    pub invalidated_entries: u64,
    /// Entries still live after an invalidation of one of their dependencies.
    pub missed_invalidations: u64,
    /// GET hits on entries that missed their invalidation.
    pub stale_reads: u64,
    /// Commands refused with `-OOM`, all kinds.
    pub oom_refusals: u64,
    /// Of those, HSET.
    pub oom_hset: u64,
    /// Of those, SADD.
    pub oom_sadd: u64,
    /// Of those, ZADD.
    pub oom_zadd: u64,
    /// Dependency-set members whose data is gone, at the last audit before the drain.
    pub dangling_dep_refs: u64,
    /// The most seen at any audit.
    pub dangling_dep_refs_peak: u64,
    /// Dependency-set members still dangling after the final drain (permanent).
    pub dangling_dep_refs_after_drain: u64,
    /// Audits that found live data but no `-maintenance` zset (the index was evicted).
    pub maintenance_index_lost: u64,
    /// Expired-maintenance removals.
    pub expired_maintenance_removed: u64,
    /// Low-memory maintenance runs that found memory above the trigger.
    pub low_memory_runs: u64,
    /// Entries removed by low-memory maintenance.
    pub low_memory_removed: u64,
    /// Entries removed by inactivity maintenance.
    pub inactive_removed: u64,
    /// Engine `evicted_keys`.
    pub evicted_keys: u64,
    /// Engine `expired_keys`.
    pub expired_keys: u64,
    /// Engine `used_memory_peak`.
    pub used_memory_peak_bytes: u64,
    /// Data keys at the end (before the drain).
    pub data_keys: u64,
    /// Metadata keys (dependency sets and zsets) at the end (before the drain).
    pub metadata_keys: u64,
}

impl HclMetrics {
    /// The inconsistencies HCL warns about that do not heal by themselves: missed
    /// invalidations plus references dangling after the drain.
    pub fn inconsistencies(&self) -> u64 {
        self.missed_invalidations + self.dangling_dep_refs_after_drain
    }
}

const MAINT: &str = "{c}-maintenance";
const INACTIVE: &str = "{c}-inactive";
const SALT_DEPS: u64 = 10;
const SALT_NDEPS: u64 = 11;
const SALT_SIZE: u64 = 12;

fn data_key(id: u64) -> Key {
    Key::from_bytes(format!("{{c}}-data-{id}").as_bytes())
}
fn dep_key(d: u64) -> Key {
    Key::from_bytes(format!("{{c}}-dep-{d}").as_bytes())
}
fn k(s: &str) -> Key {
    Key::from_bytes(s.as_bytes())
}

struct Sim<'a> {
    cfg: &'a HclConfig,
    e: Engine,
    rng: Xoshiro256PlusPlus,
    zipf: Zipf,
    size: evictlab_workloads::dist::DistSampler,
    /// Ground truth: dependency → ids whose current put depends on it.
    truth: HashMap<u64, HashSet<u64>>,
    /// Ids live in the engine although an invalidation should have removed them.
    stale: HashSet<u64>,
    m: HclMetrics,
}

impl Sim<'_> {
    fn deps_of(&self, id: u64) -> Vec<u64> {
        let n = 1 + key_hash(self.cfg.seed, id, SALT_NDEPS) % self.cfg.deps_per_entry.max(1) as u64;
        let mut v: Vec<u64> = (0..n)
            .map(|j| key_hash(self.cfg.seed, id, SALT_DEPS + 16 * j) % self.cfg.deps)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn member(id: u64, deps: &[u64]) -> Key {
        let list: Vec<String> = deps.iter().map(u64::to_string).collect();
        Key::from_bytes(format!("{id}|{}", list.join(",")).as_bytes())
    }

    fn parse_member(m: &[u8]) -> Option<(u64, Vec<u64>)> {
        let s = std::str::from_utf8(m).ok()?;
        let (id, deps) = s.split_once('|')?;
        let deps = deps
            .split(',')
            .filter(|d| !d.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<u64>, _>>()
            .ok()?;
        Some((id.parse().ok()?, deps))
    }

    /// Executes and counts OOM refusals; true if refused.
    fn exec(&mut self, cmd: Command) -> (Reply, bool) {
        let name = cmd.name();
        let r = self.e.execute(cmd);
        let oom = matches!(r, Reply::Error(ErrorReply::Oom));
        if oom {
            self.m.oom_refusals += 1;
            match name {
                "HSET" => self.m.oom_hset += 1,
                "SADD" => self.m.oom_sadd += 1,
                "ZADD" => self.m.oom_zadd += 1,
                _ => {}
            }
        }
        (r, oom)
    }

    fn live(&self, key: &Key) -> bool {
        self.e
            .peek(key)
            .is_some_and(|en| en.expire_at_ms == NO_EXPIRE || en.expire_at_ms > self.e.now_ms())
    }

    fn put(&mut self, id: u64) {
        self.m.puts += 1;
        let now = self.e.now_ms();
        let deps = self.deps_of(id);
        let (lo, hi) = self.cfg.ttl_ms;
        let ttl = lo + (self.rng.next_u64() % (hi - lo + 1));
        let size = self
            .size
            .sample(&mut SplitMix64(key_hash(self.cfg.seed, id, SALT_SIZE)));
        let list: Vec<String> = deps.iter().map(u64::to_string).collect();
        let (_, refused) = self.exec(Command::HSet {
            key: data_key(id),
            pairs: vec![
                (k("v"), Blob::Sized(size)),
                (k("deps"), Blob::bytes(list.join(",").as_bytes())),
                (k("created"), Blob::bytes(now.to_string().as_bytes())),
            ],
        });
        if refused {
            self.m.puts_refused += 1;
            return;
        }
        self.e.execute(Command::Expire {
            key: data_key(id),
            ttl_ms: ttl as i64,
            seconds: false,
            condition: evictlab_engine::command::ExpireCondition::Always,
        });
        let mut partial = false;
        for &d in &deps {
            partial |= self
                .exec(Command::SAdd {
                    key: dep_key(d),
                    members: vec![Key::from_id(id)],
                })
                .1;
        }
        partial |= self
            .exec(Command::ZAdd {
                key: k(MAINT),
                pairs: vec![((now + ttl) as f64, Sim::member(id, &deps))],
            })
            .1;
        partial |= self
            .exec(Command::ZAdd {
                key: k(INACTIVE),
                pairs: vec![(now as f64, Key::from_id(id))],
            })
            .1;
        self.m.partial_puts += partial as u64;
        for &d in &deps {
            self.truth.entry(d).or_default().insert(id);
        }
        self.stale.remove(&id);
    }

    fn get(&mut self, id: u64) {
        self.m.gets += 1;
        let (r, _) = self.exec(Command::HGet {
            key: data_key(id),
            field: k("v"),
        });
        if matches!(r, Reply::Bulk(_)) {
            self.m.hits += 1;
            if self.stale.contains(&id) {
                self.m.stale_reads += 1;
            }
        } else {
            self.stale.remove(&id);
            self.put(id);
        }
    }

    /// Removes an entry and its metadata (invalidation, low-memory and inactivity jobs).
    fn remove_entry(&mut self, id: u64, deps: &[u64], skip_dep: Option<u64>) {
        self.e.execute(Command::Del(vec![data_key(id)]));
        for &d in deps.iter().filter(|&&d| Some(d) != skip_dep) {
            self.e.execute(Command::SRem {
                key: dep_key(d),
                members: vec![Key::from_id(id)],
            });
        }
        self.e.execute(Command::ZRem {
            key: k(MAINT),
            members: vec![Sim::member(id, deps)],
        });
        self.e.execute(Command::ZRem {
            key: k(INACTIVE),
            members: vec![Key::from_id(id)],
        });
    }

    fn invalidate(&mut self, d: u64) {
        self.m.invalidations += 1;
        let Reply::Array(members) = self.e.execute(Command::SMembers(dep_key(d))) else {
            return;
        };
        for r in members {
            let Reply::Bulk(b) = r else { continue };
            let Some(id) = b
                .to_bytes()
                .and_then(|v| evictlab_workloads::trace::parse_decimal_u64(&v))
            else {
                continue;
            };
            if self.live(&data_key(id)) {
                let deps = self.deps_of(id);
                self.remove_entry(id, &deps, Some(d));
                self.m.invalidated_entries += 1;
            }
        }
        self.e.execute(Command::Del(vec![dep_key(d)]));
        // Ground truth: every entry put with dependency d must now be gone.
        if let Some(ids) = self.truth.remove(&d) {
            for id in ids {
                for other in self.deps_of(id) {
                    if let Some(s) = self.truth.get_mut(&other) {
                        s.remove(&id);
                    }
                }
                if self.live(&data_key(id)) {
                    self.m.missed_invalidations += 1;
                    self.stale.insert(id);
                }
            }
        }
    }

    fn zrange_by_score(&mut self, key: &str, max: f64, limit: u64) -> Vec<Vec<u8>> {
        let r = self.e.execute(Command::ZRangeByScore {
            key: k(key),
            min: ScoreBound {
                value: f64::NEG_INFINITY,
                exclusive: false,
            },
            max: ScoreBound {
                value: max,
                exclusive: false,
            },
            with_scores: false,
            limit: Some((0, limit as i64)),
        });
        bulk_list(r)
    }

    fn expired_maintenance(&mut self, drain: bool) {
        loop {
            let now = self.e.now_ms() as f64;
            let batch = self.zrange_by_score(MAINT, now, self.cfg.maintenance_batch);
            if batch.is_empty() {
                return;
            }
            for m in &batch {
                let Some((id, deps)) = Sim::parse_member(m) else {
                    continue;
                };
                for &d in &deps {
                    self.e.execute(Command::SRem {
                        key: dep_key(d),
                        members: vec![Key::from_id(id)],
                    });
                }
                self.e.execute(Command::ZRem {
                    key: k(MAINT),
                    members: vec![Key::from_bytes(m)],
                });
                self.e.execute(Command::ZRem {
                    key: k(INACTIVE),
                    members: vec![Key::from_id(id)],
                });
                self.m.expired_maintenance_removed += 1;
            }
            if !drain && batch.len() < self.cfg.maintenance_batch as usize {
                return;
            }
        }
    }

    fn low_memory_maintenance(&mut self) {
        let Some((trigger, target)) = self.cfg.low_memory else {
            return;
        };
        let max = self.cfg.maxmemory as f64;
        if max == 0.0 || (self.e.used_memory() as f64) < trigger * max {
            return;
        }
        self.m.low_memory_runs += 1;
        while (self.e.used_memory() as f64) > target * max {
            let r = self.e.execute(Command::ZRange {
                key: k(MAINT),
                start: 0,
                stop: self.cfg.maintenance_batch as i64 - 1,
                with_scores: false,
            });
            let batch = bulk_list(r);
            if batch.is_empty() {
                return;
            }
            for m in &batch {
                if let Some((id, deps)) = Sim::parse_member(m) {
                    self.remove_entry(id, &deps, None);
                    self.m.low_memory_removed += 1;
                }
            }
        }
    }

    fn inactivity_maintenance(&mut self) {
        let Some(inactive) = self.cfg.inactive_ms else {
            return;
        };
        let cutoff = self.e.now_ms().saturating_sub(inactive) as f64;
        let batch = self.zrange_by_score(INACTIVE, cutoff, self.cfg.maintenance_batch);
        for m in &batch {
            if let Some(id) = evictlab_workloads::trace::parse_decimal_u64(m) {
                let deps = self.deps_of(id);
                self.remove_entry(id, &deps, None);
                self.m.inactive_removed += 1;
            }
        }
    }

    /// Counts dangling dependency references and checks the maintenance index.
    fn audit(&mut self) -> u64 {
        let now = self.e.now_ms();
        let mut dangling = 0;
        let (mut data, mut meta) = (0u64, 0u64);
        let ks = self.e.keyspace();
        for (_, en) in ks.iter() {
            let name = en.key.to_vec();
            if name.starts_with(b"{c}-data-") {
                data += (en.expire_at_ms == NO_EXPIRE || en.expire_at_ms > now) as u64;
                continue;
            }
            meta += 1;
            if let Value::Set(s) = &en.value {
                for m in s.iter() {
                    let Some(id) = m.as_id() else { continue };
                    let live = self
                        .e
                        .peek(&data_key(id))
                        .is_some_and(|d| d.expire_at_ms == NO_EXPIRE || d.expire_at_ms > now);
                    dangling += (!live) as u64;
                }
            }
        }
        if data > 0 && self.e.peek(&k(MAINT)).is_none() {
            self.m.maintenance_index_lost += 1;
        }
        self.m.data_keys = data;
        self.m.metadata_keys = meta;
        self.m.dangling_dep_refs_peak = self.m.dangling_dep_refs_peak.max(dangling);
        dangling
    }
}

fn bulk_list(r: Reply) -> Vec<Vec<u8>> {
    match r {
        Reply::Array(items) => items
            .into_iter()
            .filter_map(|x| match x {
                Reply::Bulk(b) => b.to_bytes(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs the scenario.
pub fn run(cfg: &HclConfig) -> Result<HclMetrics, WorkloadError> {
    let bad =
        |name: &'static str, value: String, expected: &'static str| WorkloadError::Parameter {
            name,
            value,
            expected,
        };
    if cfg.entries == 0 || cfg.deps == 0 {
        return Err(bad(
            "entries/deps",
            format!("{}/{}", cfg.entries, cfg.deps),
            "at least 1 each",
        ));
    }
    if cfg.ttl_ms.0 == 0 || cfg.ttl_ms.0 > cfg.ttl_ms.1 {
        return Err(bad("ttl_ms", format!("{:?}", cfg.ttl_ms), "1 ≤ min ≤ max"));
    }
    if cfg.ops_per_sec.is_nan()
        || cfg.ops_per_sec <= 0.0
        || !(0.0..=1.0).contains(&cfg.invalidate_ratio)
    {
        return Err(bad(
            "ops_per_sec/invalidate_ratio",
            format!("{}/{}", cfg.ops_per_sec, cfg.invalidate_ratio),
            "a positive rate and a ratio in 0..=1",
        ));
    }
    let zipf = Zipf::new(cfg.entries, cfg.zipf_s)
        .ok_or_else(|| bad("zipf_s", cfg.zipf_s.to_string(), "a finite exponent > 0"))?;
    let mut config = Config::parse_str(&format!(
        "maxmemory {}\nmaxmemory-policy {}\n",
        cfg.maxmemory, cfg.policy
    ))?;
    config.apply_str(&cfg.extra_config, None)?;
    let e = Engine::new(config, cfg.seed)?;
    let mut sim = Sim {
        cfg,
        e,
        rng: Xoshiro256PlusPlus::seed_from_u64(cfg.seed ^ 0x4c1),
        zipf,
        size: cfg
            .value_size
            .sampler(0, evictlab_workloads::spec::MAX_VALUE_SIZE),
        truth: HashMap::new(),
        stale: HashSet::new(),
        m: HclMetrics::default(),
    };
    let invalidate_cut = (cfg.invalidate_ratio * 18_446_744_073_709_551_616.0) as u64;
    let mut next_maintenance = cfg.maintenance_interval_ms.max(1);
    for i in 0..cfg.ops {
        let t = (i as f64 * 1000.0 / cfg.ops_per_sec) as u64;
        sim.e.set_time_ms(t);
        while t >= next_maintenance {
            if cfg.expired_maintenance {
                sim.expired_maintenance(false);
            }
            sim.low_memory_maintenance();
            sim.inactivity_maintenance();
            next_maintenance += cfg.maintenance_interval_ms.max(1);
        }
        if sim.rng.next_u64() < invalidate_cut {
            let d = ((sim.rng.next_u64() as u128 * cfg.deps as u128) >> 64) as u64;
            sim.invalidate(d);
        } else {
            let id = sim.zipf.sample(&mut sim.rng);
            sim.get(id);
        }
        sim.m.ops += 1;
        if cfg.audit_every > 0 && (i + 1) % cfg.audit_every == 0 {
            sim.audit();
        }
    }
    sim.m.dangling_dep_refs = sim.audit();
    let stats = sim.e.stats().clone();
    // Drain: past every TTL, expired maintenance to completion.
    let end = sim.e.now_ms() + cfg.ttl_ms.1 + 1;
    sim.e.set_time_ms(end);
    sim.expired_maintenance(true);
    let (data, meta, peak) = (
        sim.m.data_keys,
        sim.m.metadata_keys,
        sim.m.dangling_dep_refs_peak,
    );
    sim.m.dangling_dep_refs_after_drain = sim.audit();
    sim.m.data_keys = data;
    sim.m.metadata_keys = meta;
    sim.m.dangling_dep_refs_peak = peak;
    sim.m.evicted_keys = stats.evicted_keys;
    sim.m.expired_keys = stats.expired_keys;
    sim.m.used_memory_peak_bytes = stats.used_memory_peak;
    Ok(sim.m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> HclConfig {
        HclConfig {
            entries: 20_000,
            deps: 1_000,
            ops: 60_000,
            invalidate_ratio: 0.02,
            value_size: Dist::Fixed(50),
            ttl_ms: (100_000, 300_000),
            audit_every: 20_000,
            ..HclConfig::default()
        }
    }

    #[test]
    fn no_memory_limit_means_no_inconsistency() {
        let m = run(&HclConfig {
            policy: "noeviction".into(),
            ..small()
        })
        .unwrap();
        assert!(
            m.hits > 1_000 && m.invalidations > 500 && m.invalidated_entries > 100,
            "{m:?}"
        );
        assert_eq!(
            (m.missed_invalidations, m.stale_reads, m.oom_refusals),
            (0, 0, 0),
            "{m:?}"
        );
        assert_eq!(
            (
                m.dangling_dep_refs_after_drain,
                m.evicted_keys,
                m.maintenance_index_lost
            ),
            (0, 0, 0),
            "{m:?}"
        );
        assert_eq!(m.inconsistencies(), 0);
    }

    #[test]
    fn allkeys_lru_under_pressure_evicts_metadata_and_misses_invalidations() {
        let m = run(&HclConfig {
            policy: "allkeys-lru".into(),
            maxmemory: 400_000,
            low_memory: None,
            ..small()
        })
        .unwrap();
        assert!(m.evicted_keys > 1_000, "{m:?}");
        assert_eq!(m.oom_refusals, 0, "{m:?}");
        assert!(m.missed_invalidations > 0, "{m:?}");
        assert!(m.inconsistencies() > 0);
    }

    #[test]
    fn volatile_lru_keeps_metadata_and_refuses_writes_when_it_fills_memory() {
        let cfg = HclConfig {
            policy: "volatile-lru".into(),
            maxmemory: 400_000,
            low_memory: None,
            ..small()
        };
        let m = run(&cfg).unwrap();
        assert!(m.oom_refusals > 0 && m.puts_refused > 0, "{m:?}");
        // Metadata is never evicted: no invalidation is missed. References dangle for good
        // only where a put was refused half-way (its SADD went in, its ZADD did not).
        assert_eq!((m.missed_invalidations, m.stale_reads), (0, 0), "{m:?}");
        assert!(
            m.dangling_dep_refs_after_drain <= m.partial_puts * cfg.deps_per_entry as u64,
            "{m:?}"
        );
        // Memory full of metadata: the data was evicted to make room for it.
        assert!(m.metadata_keys > 0 && m.data_keys < 1_000, "{m:?}");
        // Low-memory maintenance frees memory before it is full: fewer refusals.
        let with = run(&HclConfig {
            low_memory: Some((0.95, 0.90)),
            ..cfg
        })
        .unwrap();
        assert!(
            with.low_memory_runs > 0 && with.low_memory_removed > 0,
            "{with:?}"
        );
        assert!(
            with.oom_refusals < m.oom_refusals,
            "{} vs {}",
            with.oom_refusals,
            m.oom_refusals
        );
        assert_eq!(with.missed_invalidations, 0);
    }

    #[test]
    fn deterministic_and_inactivity_maintenance() {
        let cfg = HclConfig {
            inactive_ms: Some(20_000),
            ops: 30_000,
            ..small()
        };
        let a = run(&cfg).unwrap();
        assert_eq!(a, run(&cfg).unwrap());
        assert!(a.inactive_removed > 0, "{a:?}");
        assert_ne!(
            a,
            run(&HclConfig {
                seed: 2,
                ..cfg.clone()
            })
            .unwrap()
        );
        assert!(
            run(&HclConfig {
                entries: 0,
                ..cfg.clone()
            })
            .is_err()
        );
        assert!(
            run(&HclConfig {
                policy: "lru-ish".into(),
                ..cfg
            })
            .is_err()
        );
    }

    #[test]
    fn members_round_trip() {
        let m = Sim::member(42, &[1, 7]);
        assert_eq!(Sim::parse_member(&m.to_vec()), Some((42, vec![1, 7])));
        assert_eq!(Sim::parse_member(b"x|1"), None);
    }
}
