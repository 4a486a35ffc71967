//! `echovault-allkeys-lru` / `echovault-volatile-lru`: EchoVault's LRU, as documented.
//!
//! Source: `../shared/reference/echovault.md`; EchoVault (SugarDB) docs page "Eviction" and
//! `internal/eviction/lru.go`, `sugardb/keyspace.go` (`updateKeysInCache`, `deleteKey`) at
//! commit b0744d9. EchoVault keeps a heap of `{key, unixTime}`, the time set to "now" on
//! every access or write, and evicts the key with the oldest access: exact LRU over the
//! tracked keys (no sampling, unlike Redis). `allkeys-lru` tracks every accessed or written
//! key, `volatile-lru` only a key with an expiry when it is accessed or written; a deleted,
//! expired or evicted key leaves the heap.
//!
//! Departures of EchoVault's code from its docs, **not modelled** (listed in the hit-rate
//! report's EchoVault section): its heap's `Less` orders by the *largest* time, so it pops
//! the most recently used key; and its `Push` does not record the key, so every access
//! pushes another entry for the same key.
//!
//! Deviations:
//! * the heap is a recency list: ordering by last-access time with ties (the same
//!   millisecond) broken by access order, where EchoVault's heap breaks them by position;
//! * `volatile-lru`: a key that loses its TTL leaves the list at its next access or when it
//!   reaches the back (dropped, not evicted); a key that gains one enters at its next access
//!   (see `echovault_lfu` for why).
//!
//! Metadata: 8 bytes of links + 1 byte per slot.

use super::echovault_lfu::in_scope;
use super::list::{SlotLinks, SlotList};
use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Scope, Slot};

/// Registry entries: EchoVault's two LRU policies, one type.
pub const REGISTRY: &[PolicyInfo] = &[
    PolicyInfo::echovault(
        "echovault-allkeys-lru",
        "EchoVault's LRU as documented: exact, by last access",
        false,
        |_| EchovaultLru::new(Scope::AllKeys).into(),
    ),
    PolicyInfo::echovault(
        "echovault-volatile-lru",
        "EchoVault's LRU over keys with a TTL (exact, by last access)",
        true,
        |_| EchovaultLru::new(Scope::Volatile).into(),
    ),
];

/// EchoVault's LRU over one scope: front = most recently used.
#[derive(Debug)]
pub struct EchovaultLru {
    scope: Scope,
    links: SlotLinks,
    list: SlotList,
    tracked: Vec<bool>,
}

impl EchovaultLru {
    /// An empty LRU tracking `scope`.
    pub fn new(scope: Scope) -> EchovaultLru {
        EchovaultLru {
            scope,
            links: SlotLinks::default(),
            list: SlotList::default(),
            tracked: Vec::new(),
        }
    }

    #[inline]
    fn is_tracked(&self, slot: Slot) -> bool {
        self.tracked.get(slot as usize).copied().unwrap_or(false)
    }

    fn set_tracked(&mut self, slot: Slot, on: bool) {
        let s = slot as usize;
        if s >= self.tracked.len() {
            self.tracked.resize((s + 1).next_power_of_two().max(64), false);
        }
        self.tracked[s] = on;
    }

    /// `Update`: the key's time becomes now (or it enters, or leaves when out of scope).
    fn update(&mut self, slot: Slot, ks: &Keyspace) {
        match (self.is_tracked(slot), in_scope(self.scope, ks, slot)) {
            (true, true) => self.links.move_to_front(&mut self.list, slot),
            (false, true) => {
                self.links.push_front(&mut self.list, slot);
                self.set_tracked(slot, true);
            }
            (true, false) => self.untrack(slot),
            (false, false) => {}
        }
    }

    fn untrack(&mut self, slot: Slot) {
        self.links.unlink(&mut self.list, slot);
        self.set_tracked(slot, false);
    }
}

impl Policy for EchovaultLru {
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        self.update(slot, ks);
    }
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>) {
        self.update(slot, ks);
    }
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        if self.is_tracked(slot) {
            self.untrack(slot);
        }
    }
    fn select_victim(&mut self, ks: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        loop {
            let back = self.list.back()?;
            if in_scope(self.scope, ks, back) {
                return Some(back);
            }
            // A volatile key that lost its TTL since it was tracked: not a candidate.
            self.untrack(back);
        }
    }
    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        let mut n = 0;
        for s in self.links.iter(&self.list) {
            if !ks.is_live(s) || !self.is_tracked(s) {
                return Err(format!("LRU list holds dead or untracked slot {s}"));
            }
            n += 1;
        }
        let marked = self.tracked.iter().filter(|&&t| t).count();
        if n != marked || (self.scope == Scope::AllKeys && n != ks.len()) {
            return Err(format!(
                "LRU list has {n} keys, {marked} marked, keyspace {}",
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
    fn evicts_the_least_recently_accessed_key() {
        let mut e = engine("echovault-allkeys-lru", 3);
        set(&mut e, 1);
        set(&mut e, 2);
        set(&mut e, 3);
        assert!(hit(&mut e, 1)); // last access: 2 < 3 < 1
        set(&mut e, 4); // evicts 2 (EchoVault's code would pop 1, the most recent)
        assert_eq!(keys(&e), [1, 3, 4]);
        set(&mut e, 3); // a write is an access: 1 < 4 < 3
        set(&mut e, 5); // evicts 1
        assert_eq!(keys(&e), [3, 4, 5]);
    }

    #[test]
    fn volatile_lru_only_considers_keys_with_a_ttl() {
        let mut e = engine("echovault-volatile-lru", 3);
        set_ex(&mut e, 1, 60_000);
        set(&mut e, 2); // no TTL: never a candidate, however old
        set_ex(&mut e, 3, 60_000);
        assert!(hit(&mut e, 1)); // among TTL keys: 3 < 1
        set(&mut e, 4); // evicts 3
        assert_eq!(keys(&e), [1, 2, 4]);
        set(&mut e, 5); // evicts 1, the last key with a TTL
        assert_eq!(keys(&e), [2, 4, 5]);
        assert!(!try_set(&mut e, 6), "no key with a TTL left: refused");
    }
}
