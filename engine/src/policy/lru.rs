//! `lru`: exact least-recently-used, the reference the sampled Redis policies approximate.
//!
//! Source: the textbook LRU stack (Mattson et al., "Evaluation techniques for storage
//! hierarchies", IBM Systems Journal 1970); libCacheSim `LRU.c`. Not a Redis policy: Redis
//! rejected true LRU for its memory cost (redis/redis#1459) and approximates it by sampling.
//!
//! Every access (read or write) moves the key to the front; the victim is the back.
//! Deviations: none. Metadata: 8 bytes per slot (two `u32` links).
//! Suits recency-heavy workloads; fails on loops larger than the cache (every access misses).

use super::list::{SlotLinks, SlotList};
use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// Registry entry.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "lru",
    "exact LRU (doubly-linked recency list), the reference for sampled LRU",
    &[],
    |_| Lru::default().into(),
)];

/// Exact LRU.
#[derive(Debug, Default)]
pub struct Lru {
    links: SlotLinks,
    list: SlotList,
}

impl Lru {
    /// After an eviction, the next victims are the new tail and the key before it (unless
    /// hits move them first). Start loading what their evictions will read: the tail's
    /// key-index bucket (its entry was prefetched one eviction ago, as the key before the
    /// tail) and the entry and links of the key before it. Hints only.
    #[inline]
    fn prefetch_next_victims(&self, ks: &Keyspace) {
        let Some(tail) = self.list.back() else { return };
        ks.prefetch_index_of(tail);
        if let Some(before) = self.links.prev(tail) {
            ks.prefetch_entry(before);
            self.links.prefetch(before);
        }
    }
}

impl Policy for Lru {
    #[inline]
    fn on_insert(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        self.links.push_front(&mut self.list, slot);
    }
    #[inline]
    fn on_access(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {
        self.links.move_to_front(&mut self.list, slot);
    }
    /// The hit's move-to-front reads the slot's links first (its neighbours' links only
    /// once those are known; the head's are hot).
    #[inline]
    fn prefetch_access(&self, slot: Slot, _: &Keyspace) {
        self.links.prefetch(slot);
    }
    #[inline]
    fn on_remove(&mut self, slot: Slot, ks: &Keyspace, cause: RemovalCause) {
        self.links.unlink(&mut self.list, slot);
        if cause == RemovalCause::Evicted {
            self.prefetch_next_victims(ks);
        }
    }
    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        self.list.back()
    }
    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        if self.list.len() != ks.len() {
            return Err(format!(
                "LRU list has {} keys, keyspace {}",
                self.list.len(),
                ks.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn evicts_the_least_recently_used_key() {
        // Capacity 3 keys, strict enforcement.
        let mut e = engine("lru", 3);
        set(&mut e, 1);
        set(&mut e, 2);
        set(&mut e, 3);
        assert!(hit(&mut e, 1)); // order (MRU→LRU): 1 3 2
        set(&mut e, 4); // evicts 2
        assert_eq!(keys(&e), [1, 3, 4]);
        assert!(hit(&mut e, 3)); // 3 4 1
        set(&mut e, 5); // evicts 1
        assert_eq!(keys(&e), [3, 4, 5]);
        set(&mut e, 4); // overwrite is an access: 4 5 3
        set(&mut e, 6); // evicts 3
        assert_eq!(keys(&e), [4, 5, 6]);
    }
}
