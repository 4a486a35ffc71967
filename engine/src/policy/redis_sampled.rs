//! Redis's seven evicting policies: one sampled mechanism, seven scores.
//!
//! | name | samples from | score (higher = better victim) |
//! |---|---|---|
//! | `allkeys-lru` / `volatile-lru` | main dict / `expires` | idle ms from the 24-bit LRU clock |
//! | `allkeys-lfu` / `volatile-lfu` | main dict / `expires` | `255 − LFUDecrAndReturn()` |
//! | `volatile-ttl` | `expires` | `u64::MAX − expire_at_ms` (sooner expiry is better) |
//! | `allkeys-random` / `volatile-random` | main dict / `expires` | none: `dictGetRandomKey` |
//!
//! Source: redis `src/evict.c` (`evictionPoolPopulate`, `performEvictions`), `src/dict.c`
//! (`dictGetSomeKeys`, `dictGetRandomKey`), as read at redis/redis 03813b2c.
//!
//! The LRU/LFU/TTL policies keep Redis's **eviction pool**: 16 entries (`EVPOOL_SIZE`)
//! sorted by ascending score, persisting across evictions. For every key to evict:
//! sample `maxmemory-samples` keys into the pool (insertion rules of `evictionPoolPopulate`:
//! skip a sample worse than everything in a full pool; otherwise shift right into a free
//! slot or drop the worst), then pop entries from the best end; an entry whose key no longer
//! exists (in the main dict, or in `expires` for volatile policies) is a *ghost* and is
//! skipped; if all were ghosts, sample again. Entries are never removed eagerly when their
//! key is deleted, and their scores are not refreshed when the key is touched afterwards —
//! both as in Redis.
//!
//! The per-key LRU/LFU field itself is maintained by the engine (as `lookupKey` does), so
//! overwrites keep it and nothing is touched while a fork child is alive.
//!
//! Deviations from Redis:
//! * one database (Redis loops the population over all DBs; with one DB it is identical);
//! * sampling goes through the engine's dict model ([`crate::dict`]) — same walk, but no
//!   incremental rehashing and a different (fixed-seed) hash function — or, with
//!   `lab-sampling uniform`, i.i.d. draws;
//! * pool keys are [`Key`] clones: keys up to 22 bytes are copied in place, longer ones are
//!   heap-allocated (Redis caches up to 255 bytes per pool entry without malloc).
//!
//! Metadata: none per key beyond the engine's 24-bit field; 16 pool entries.

use rand::Rng;

use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::key::Key;
use crate::keyspace::{Keyspace, Scope, Slot};
use crate::lru::{estimate_idle_ms, lfu_decr_and_return, lfu_minutes};

/// Redis `EVPOOL_SIZE`: why 16? Enough to remember good candidates across evictions so
/// that each eviction effectively chooses among far more than `maxmemory-samples` keys,
/// while keeping the insertion sort trivially cheap (redis `src/evict.c`).
pub const EVPOOL_SIZE: usize = 16;

/// What a sampled key is scored by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Score {
    /// Idle time (LRU clock).
    Lru,
    /// Inverted LFU counter.
    Lfu,
    /// Time to expiry.
    Ttl,
    /// No score: a random key.
    Random,
}

#[derive(Clone, Debug)]
struct PoolEntry {
    idle: u64,
    key: Option<(Key, u64)>,
}

/// Registry entries: Redis's seven evicting policies (redis `src/server.h`
/// `maxmemory_policy` values, `src/config.c` names), one type.
pub const REGISTRY: &[PolicyInfo] = &[
    PolicyInfo::redis(
        "allkeys-lfu",
        "sampled LFU (Morris counter, decay) over all keys, 16-entry pool",
        true,
        false,
        true,
        |_| RedisSampled::new(Scope::AllKeys, Score::Lfu).into(),
    ),
    PolicyInfo::redis(
        "allkeys-lru",
        "sampled LRU (24-bit clock) over all keys, 16-entry pool",
        false,
        false,
        true,
        |_| RedisSampled::new(Scope::AllKeys, Score::Lru).into(),
    ),
    PolicyInfo::redis(
        "allkeys-random",
        "a random key (dictGetRandomKey)",
        false,
        false,
        false,
        |_| RedisSampled::new(Scope::AllKeys, Score::Random).into(),
    ),
    PolicyInfo::redis(
        "volatile-lfu",
        "sampled LFU over keys with a TTL, 16-entry pool",
        true,
        true,
        true,
        |_| RedisSampled::new(Scope::Volatile, Score::Lfu).into(),
    ),
    PolicyInfo::redis(
        "volatile-lru",
        "sampled LRU over keys with a TTL, 16-entry pool",
        false,
        true,
        true,
        |_| RedisSampled::new(Scope::Volatile, Score::Lru).into(),
    ),
    PolicyInfo::redis(
        "volatile-random",
        "a random key with a TTL",
        false,
        true,
        false,
        |_| RedisSampled::new(Scope::Volatile, Score::Random).into(),
    ),
    PolicyInfo::redis(
        "volatile-ttl",
        "sampled soonest-expiry over keys with a TTL, 16-entry pool",
        false,
        true,
        true,
        |_| RedisSampled::new(Scope::Volatile, Score::Ttl).into(),
    ),
];

/// The Redis sampled policy family.
pub struct RedisSampled {
    scope: Scope,
    score: Score,
    pool: Vec<PoolEntry>,
    samples: Vec<Slot>,
}

impl RedisSampled {
    /// A policy sampling `scope` and scoring by `score`.
    pub fn new(scope: Scope, score: Score) -> RedisSampled {
        RedisSampled {
            scope,
            score,
            pool: vec![PoolEntry { idle: 0, key: None }; EVPOOL_SIZE],
            samples: Vec::with_capacity(64),
        }
    }

    fn score_of(&self, slot: Slot, ks: &Keyspace, ctx: &PolicyCtx<'_>) -> u64 {
        let e = ks.entry(slot);
        match self.score {
            Score::Lru => estimate_idle_ms(ctx.lru_clock, e.lru),
            Score::Lfu => {
                255 - lfu_decr_and_return(e.lru, lfu_minutes(ctx.now_ms), ctx.config.lfu_decay_time)
                    as u64
            }
            Score::Ttl => u64::MAX - e.expire_at_ms,
            Score::Random => 0,
        }
    }

    /// `evictionPoolPopulate`.
    fn populate(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) {
        self.samples.clear();
        let n = ctx.config.maxmemory_samples as usize;
        ks.sample(ctx.rng, self.scope, n, &mut self.samples);
        for i in 0..self.samples.len() {
            let slot = self.samples[i];
            let idle = self.score_of(slot, ks, ctx);
            let pool = &mut self.pool;
            let mut k = 0;
            while k < EVPOOL_SIZE && pool[k].key.is_some() && pool[k].idle < idle {
                k += 1;
            }
            if k == 0 && pool[EVPOOL_SIZE - 1].key.is_some() {
                // Worse than everything held, and no free slot.
                continue;
            } else if k < EVPOOL_SIZE && pool[k].key.is_none() {
                // Free slot: insert in place.
            } else if pool[EVPOOL_SIZE - 1].key.is_none() {
                // Free space on the right: shift k.. right.
                pool[k..].rotate_right(1);
            } else {
                // No free space: drop the worst (pool[0]) and insert at k-1.
                k -= 1;
                pool[..=k].rotate_left(1);
            }
            let e = ks.entry(slot);
            pool[k] = PoolEntry {
                idle,
                key: Some((e.key.clone(), e.hash)),
            };
        }
    }

    fn still_in_scope(&self, key: &Key, hash: u64, ks: &Keyspace) -> Option<Slot> {
        let slot = ks.find(key, hash)?;
        match self.scope {
            Scope::AllKeys => Some(slot),
            Scope::Volatile => ks.entry(slot).has_expire().then_some(slot),
        }
    }
}

impl Policy for RedisSampled {
    #[inline]
    fn on_insert(&mut self, _: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {}
    #[inline]
    fn on_access(&mut self, _: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {}
    fn observes_hits(&self) -> bool {
        false
    }
    #[inline]
    fn on_remove(&mut self, _: Slot, _: &Keyspace, _: RemovalCause) {}

    fn select_victim(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot> {
        if self.score == Score::Random {
            return ks.random_key(ctx.rng, self.scope);
        }
        let victim = self.pick(ks, ctx);
        if !ks.prefetch_pays() {
            // Small tables: the walks' loads hit L2/L3 and the hints would only cost
            // instructions (w106 at 1 %: +30 % in this function).
            return victim;
        }
        // The next evictions' sampling walks start at the RNG's next draws unless something
        // else draws first (LFU's counter does; LRU and TTL do not): peek three on a clone
        // (the engine's RNG does not move) and start loading what those walks read, one
        // stage per eviction, so that each load has an eviction's worth of requests to land
        // in before the next stage reads it: the next walk's chain elements, the second's
        // chain heads (nodes and entries), the third's bucket lines.
        let mut peek = ctx.rng.clone();
        let draws = [peek.next_u64(), peek.next_u64(), peek.next_u64()];
        ks.prefetch_samples(self.scope, draws, ctx.config.maxmemory_samples as usize);
        // The pool's best remaining candidate is the next victim unless a new sample beats
        // it; `pick` will look its key up: start loading the key's index bucket.
        if let Some((key, hash)) = self.pool.iter().rev().find_map(|p| p.key.as_ref()) {
            ks.prefetch_index_of_key(key, *hash);
        }
        victim
    }
}

impl RedisSampled {
    /// `performEvictions`' choice of one victim: populate the pool, pop the best entry
    /// whose key still exists.
    fn pick(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot> {
        loop {
            if ks.scope_len(self.scope) == 0 {
                return None;
            }
            self.populate(ks, ctx);
            for k in (0..EVPOOL_SIZE).rev() {
                let Some((key, hash)) = self.pool[k].key.take() else {
                    continue;
                };
                self.pool[k].idle = 0;
                if let Some(slot) = self.still_in_scope(&key, hash, ks) {
                    return Some(slot);
                }
                // A ghost: try the next one.
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn sampled_lru_with_samples_covering_the_keyspace_is_exact_lru() {
        for sampling in ["dict", "uniform"] {
            let mut e = engine_with(
                "allkeys-lru",
                4,
                &[("maxmemory-samples", "64"), ("lab-sampling", sampling)],
            );
            for k in 1..=4 {
                set(&mut e, k);
                tick(&mut e, 1000);
            }
            assert!(hit(&mut e, 1)); // idle order (oldest first): 2 3 4 1
            tick(&mut e, 1000);
            set(&mut e, 5); // evicts 2
            assert_eq!(keys(&e), [1, 3, 4, 5], "{sampling}");
            tick(&mut e, 1000);
            assert!(hit(&mut e, 3)); // 4 1 5 3
            tick(&mut e, 1000);
            set(&mut e, 6); // evicts 4
            assert_eq!(keys(&e), [1, 3, 5, 6], "{sampling}");
        }
    }

    #[test]
    fn volatile_ttl_evicts_the_soonest_expiring_key() {
        let mut e = engine_with("volatile-ttl", 4, &[("maxmemory-samples", "64")]);
        set_ex(&mut e, 1, 50_000);
        set_ex(&mut e, 2, 10_000);
        set(&mut e, 3); // no TTL: never a candidate
        set_ex(&mut e, 4, 30_000);
        set_ex(&mut e, 5, 40_000); // evicts 2 (expires soonest)
        assert_eq!(keys(&e), [1, 3, 4, 5]);
        set_ex(&mut e, 6, 90_000); // evicts 4
        assert_eq!(keys(&e), [1, 3, 5, 6]);
    }

    #[test]
    fn volatile_policies_refuse_with_oom_when_no_key_has_a_ttl() {
        for p in [
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
        ] {
            let mut e = engine(p, 2);
            set(&mut e, 1);
            set(&mut e, 2);
            assert!(!try_set(&mut e, 3), "{p} must refuse");
            assert_eq!(keys(&e), [1, 2], "{p} must keep every key");
            assert_eq!(e.stats().rejected_writes, 1);
        }
    }

    #[test]
    fn allkeys_lfu_keeps_the_frequent_key() {
        let mut e = engine_with("allkeys-lfu", 3, &[("maxmemory-samples", "64")]);
        set(&mut e, 1);
        for _ in 0..20 {
            assert!(hit(&mut e, 1));
        }
        set(&mut e, 2);
        set(&mut e, 3);
        assert!(hit(&mut e, 3));
        set(&mut e, 4); // 2 has the lowest counter (5)
        assert_eq!(keys(&e), [1, 3, 4]);
    }

    #[test]
    fn random_policies_only_evict_within_scope() {
        let mut e = engine("volatile-random", 3);
        set(&mut e, 1);
        set_ex(&mut e, 2, 60_000);
        set(&mut e, 3);
        set(&mut e, 4);
        assert_eq!(keys(&e), [1, 3, 4]);
    }
}
