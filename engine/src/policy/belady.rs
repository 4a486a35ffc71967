//! `belady` and `belady-bypass`: Belady's MIN, the offline optimum — evict the key whose
//! next access is farthest in the future.
//!
//! Source: Belady, "A study of replacement algorithms for a virtual-storage computer", IBM
//! Systems Journal 5(2) 1966 (MIN); Mattson, Gecsei, Slutz & Traiger, IBM Systems Journal
//! 1970 (OPT as a stack algorithm); libCacheSim `Belady.c` for `belady`.
//!
//! The oracle: before each request the runner calls [`crate::Engine::set_oracle`] with the
//! request's index and the index of the next request to the same key ([`NEVER`] if none),
//! computed from an oracleGeneral trace or a pre-pass. Every insert and access records that
//! next index for the key.
//!
//! * `belady` always stores the requested key (as libCacheSim's Belady, which is what
//!   "optimal" means for a cache that must admit every miss) and evicts the cached key with
//!   the farthest next access;
//! * `belady-bypass` may decline: when storing a new key needs an eviction and the new key's
//!   next access is strictly farther than every cached key's, it is not stored
//!   ([`Policy::admit`] → the engine's `WriteOutcome::Bypassed`). This is the true optimum
//!   for unit sizes when bypassing is allowed; it never misses more than `belady`.
//!
//! Structure: a binary max-heap of `(next access, slot)` with lazy deletion — an entry is
//! valid while the slot is tracked with that same next access; stale entries are skipped when
//! they reach the top and the heap is rebuilt in place when stale entries outnumber live ones,
//! so every hook is O(log n) amortised and nothing allocates once the heap reached its size.
//! Ties (several keys never used again, or a key and itself) break towards the larger slot
//! number — deterministic for a given sequence; the miss count does not depend on it.
//!
//! Deviations: in byte mode both still compare next accesses only, not sizes (libCacheSim's
//! `BeladySize` weighs sizes; MIN is optimal only for unit sizes). Without an oracle every
//! next access is [`NEVER`] and the victim is simply the largest slot number.
//!
//! Metadata: 9 bytes per slot (next access, tracked flag) + 16 bytes per heap entry (at most
//! about twice the live keys). Not a practical policy: it is the bound the others are
//! measured against.

use std::collections::BinaryHeap;

use super::sizing::grow;
use super::registry::PolicyInfo;
use super::{InsertKind, NEVER, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// Registry entries: the offline optimum, without and with bypass.
pub const REGISTRY: &[PolicyInfo] = &[
    PolicyInfo::oracle(
        "belady",
        "Belady's MIN: always store, evict the farthest next use (libCacheSim Belady)",
        |_| Belady::new(false).into(),
    ),
    PolicyInfo::oracle(
        "belady-bypass",
        "Belady's MIN that may decline to store a key used later than all cached",
        |_| Belady::new(true).into(),
    ),
];

/// Belady's MIN, with or without bypass.
#[derive(Debug)]
pub struct Belady {
    bypass: bool,
    heap: BinaryHeap<(u64, Slot)>,
    next: Vec<u64>,
    tracked: Vec<bool>,
    live: usize,
}

impl Belady {
    /// MIN; with `bypass`, declines keys used later than every cached key.
    pub fn new(bypass: bool) -> Belady {
        Belady {
            bypass,
            heap: BinaryHeap::with_capacity(1024),
            next: Vec::new(),
            tracked: Vec::new(),
            live: 0,
        }
    }

    #[inline]
    fn valid(&self, (next, slot): (u64, Slot)) -> bool {
        self.tracked[slot as usize] && self.next[slot as usize] == next
    }

    #[inline]
    fn set_next(&mut self, slot: Slot, next: u64) {
        self.next[slot as usize] = next;
        self.heap.push((next, slot));
        if self.heap.len() > 2 * self.live + 1024 {
            let (next, tracked) = (&self.next, &self.tracked);
            self.heap
                .retain(|&(n, s)| tracked[s as usize] && next[s as usize] == n);
        }
    }

    /// The cached key with the farthest next access, after dropping stale heap tops.
    #[inline]
    fn farthest(&mut self) -> Option<(u64, Slot)> {
        while let Some(&top) = self.heap.peek() {
            if self.valid(top) {
                return Some(top);
            }
            self.heap.pop();
        }
        None
    }
}

impl Policy for Belady {
    #[inline]
    fn on_insert(&mut self, slot: Slot, _: &Keyspace, ctx: &mut PolicyCtx<'_>, _: InsertKind) {
        grow(&mut self.next, slot, NEVER);
        grow(&mut self.tracked, slot, false);
        self.tracked[slot as usize] = true;
        self.live += 1;
        self.set_next(slot, ctx.next_access);
    }

    #[inline]
    fn on_access(&mut self, slot: Slot, _: &Keyspace, ctx: &mut PolicyCtx<'_>) {
        if self.next[slot as usize] != ctx.next_access {
            self.set_next(slot, ctx.next_access);
        }
    }

    #[inline]
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        self.tracked[slot as usize] = false;
        self.live -= 1;
    }

    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        self.farthest().map(|(_, s)| s)
    }

    #[inline]
    fn admit(&mut self, _: u64, _: &Keyspace, ctx: &mut PolicyCtx<'_>) -> bool {
        !self.bypass || self.farthest().is_none_or(|(n, _)| ctx.next_access <= n)
    }

    fn uses_admission(&self) -> bool {
        self.bypass
    }

    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        if self.live != ks.len() {
            return Err(format!(
                "Belady tracks {} keys, keyspace {}",
                self.live,
                ks.len()
            ));
        }
        for s in ks.slots() {
            if !self.tracked[s as usize] {
                return Err(format!("Belady does not track live slot {s}"));
            }
            if !self.heap.iter().any(|&e| e == (self.next[s as usize], s)) {
                return Err(format!("Belady heap has no entry for slot {s}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use crate::{Blob, Engine, Key, SetOptions, WriteOutcome};

    /// Replays `ids` as GET-then-fill with the exact next-access oracle; returns the misses
    /// and the keys present at the end.
    fn replay(e: &mut Engine, ids: &[u64]) -> (u64, Vec<u64>) {
        let mut next = vec![crate::NEVER; ids.len()];
        let mut last = std::collections::HashMap::new();
        for (i, &id) in ids.iter().enumerate().rev() {
            if let Some(&j) = last.get(&id) {
                next[i] = j;
            }
            last.insert(id, i as u64);
        }
        let mut misses = 0;
        for (i, &id) in ids.iter().enumerate() {
            e.set_oracle(i as u64, next[i]);
            if !hit(e, id) {
                misses += 1;
                let r = e.set(Key::from_id(id), Blob::Sized(8), SetOptions::default());
                assert!(matches!(r, WriteOutcome::Stored | WriteOutcome::Bypassed));
            }
        }
        (misses, keys(e))
    }

    #[test]
    fn evicts_the_farthest_next_use() {
        let mut e = engine("belady", 2);
        // index: 0 1 2 3 4 5 6 7
        // id:    1 2 3 1 2 3 1 2
        // 0,1 miss (fill). 2: miss; next(1) = 3, next(2) = 4 → evict 2 (farther). 3: 1 hit.
        // 4: 2 miss; next(1) = 6, next(3) = 5 → evict 1. 5: 3 hit. 6: 1 miss; next(2) = 7,
        // next(3) = never → evict 3. 7: 2 hit.
        let (misses, left) = replay(&mut e, &[1, 2, 3, 1, 2, 3, 1, 2]);
        assert_eq!(misses, 5);
        assert_eq!(left, [1, 2]);
        e.check_invariants().unwrap();
    }

    #[test]
    fn bypass_declines_a_key_used_later_than_all_cached() {
        let mut e = engine("belady-bypass", 2);
        // id: 1 2 3 1 2 — at index 2, key 3 is never used again, later than 1 (3) and 2 (4):
        // not stored, so 1 and 2 both hit.
        let (misses, left) = replay(&mut e, &[1, 2, 3, 1, 2]);
        assert_eq!(misses, 3);
        assert_eq!(left, [1, 2]);
        assert_eq!(e.stats().admission_bypasses, 1);
        // Plain MIN must store 3, evicting 2 (next use 4, farther than 1's 3): 2 misses again.
        let mut e = engine("belady", 2);
        let (misses, left) = replay(&mut e, &[1, 2, 3, 1, 2]);
        assert_eq!(misses, 4);
        assert_eq!(left, [1, 2]); // at index 4, 3 (never again) was evicted for 2
    }
}
