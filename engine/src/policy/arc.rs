//! `arc`: Adaptive Replacement Cache — two LRU lists of resident keys, T1 (seen once
//! recently) and T2 (seen at least twice), two ghost lists B1/B2 of keys evicted from them,
//! and a target size `p` for T1 that ghost hits move up and down.
//!
//! Source: Megiddo & Modha, "ARC: A Self-Tuning, Low Overhead Replacement Cache",
//! FAST 2003, §III and Fig. 4 (cases I–IV and `REPLACE`); libCacheSim `ARC.c`, whose order
//! of operations this file follows:
//!
//! * hit in T1 or T2 → MRU of T2 (case I);
//! * GET miss whose hash is in B1 → `p = min(c, p + max(|B2|/|B1|, 1))`, leave B1, and the key
//!   will be stored at the MRU of T2; in B2 → `p = max(0, p − max(|B1|/|B2|, 1))` (cases II,
//!   III; integer division, as libCacheSim); the first eviction for that key is then one
//!   `REPLACE`;
//! * otherwise (case IV) each eviction first trims the ghosts: if `|T1| + |B1| + incoming > c`
//!   then either drop B1's LRU and `REPLACE`, or, when `|T1| ≥ c`, evict T1's LRU without
//!   remembering it; else, if `|T1| + |T2| + |B1| + |B2| ≥ 2c`, drop B2's LRU and `REPLACE`;
//! * `REPLACE`: evict T1's LRU into B1 if `|T1| > 0` and (`|T1| > p`, or `|T1| = p` and the
//!   incoming key was found in B2), else T2's LRU into B2; a new key enters T1's MRU.
//!
//! Capacity `c` ([`super::sizing`]): keys, or bytes in byte mode, where list sizes are sums
//! of charges (as libCacheSim's byte sizes) and `incoming` is the new key's charge.
//! Parameters: none (ARC is self-tuning; `p` starts at 0).
//!
//! Deviations: in byte mode the step of `p` is `max(ratio, 1) ×` the key's charge (the paper
//! is in pages; libCacheSim adds the bare ratio in bytes, which barely moves `p` when objects
//! are large). A SET of an absent key that no GET missed just before probes the ghosts when it
//! is inserted (after the eviction it caused), so its `REPLACE` does not know it was in B2.
//! When keys are deleted or expire the lists shrink and ghosts may exceed the paper's bounds
//! until the next insert trims them (`|T1| + |B1| ≤ c`, total ≤ `2c`).
//!
//! Metadata: 9 bytes per slot (links, list tag), +8 in byte mode; each ghost ~30 bytes, at
//! most about `c` ghosts. Suits mixed recency/frequency workloads and adapts to phase
//! changes; scan-resistant (scans pass through T1). Weak when reuse distances exceed `2c`
//! (ghosts are forgotten) and on pure loops (like LRU, slightly better).

use super::ghost::Ghost;
use super::list::{SlotLinks, SlotList};
use super::sizing::{Capacity, Unit, Weights, grow};
use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

const T1: u8 = 1;
const T2: u8 = 2;

/// Which ghost list a missed key was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GhostHit {
    B1,
    B2,
}

/// Registry entry.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "arc",
    "ARC: T1/T2 LRUs, B1/B2 ghosts, adaptive target (Megiddo & Modha FAST'03)",
    &[],
    |b| Arc::new(b.capacity).into(),
)];

/// ARC.
#[derive(Debug)]
pub struct Arc {
    links: SlotLinks,
    t1: SlotList,
    t2: SlotList,
    list: Vec<u8>,
    weights: Weights,
    t1_w: u64,
    t2_w: u64,
    b1: Ghost,
    b2: Ghost,
    p: u64,
    c: u64,
    /// The hash a GET just missed and where it was found; `replaced` once its `REPLACE` ran.
    pending: Option<(u64, GhostHit)>,
    replaced: bool,
    /// A T1 victim evicted without entering B1 (case IV.A with `|T1| ≥ c`).
    forget: Option<Slot>,
}

impl Arc {
    /// ARC over `cap`.
    pub fn new(cap: Capacity) -> Arc {
        Arc {
            links: SlotLinks::default(),
            t1: SlotList::default(),
            t2: SlotList::default(),
            list: Vec::new(),
            weights: Weights::new(cap),
            t1_w: 0,
            t2_w: 0,
            b1: Ghost::new(u64::MAX),
            b2: Ghost::new(u64::MAX),
            p: 0,
            c: cap.total,
            pending: None,
            replaced: false,
            forget: None,
        }
    }

    /// The adaptive target for T1 (for tests and reports).
    pub fn target(&self) -> u64 {
        self.p
    }

    /// Cases II and III: looks `hash` up in the ghosts, adapts `p`, removes the ghost.
    #[inline]
    fn probe(&mut self, hash: u64) -> Option<GhostHit> {
        let step = |ghost_w: u64, num: u64, den: u64, unit: Unit| {
            let ratio = (num / den.max(1)).max(1);
            match unit {
                Unit::Keys => ratio,
                Unit::Bytes => ratio.saturating_mul(ghost_w),
            }
        };
        let unit = self.weights.capacity().unit;
        if let Some(w) = self.b1.weight_of(hash) {
            let d = step(w, self.b2.weight(), self.b1.weight(), unit);
            self.p = self.p.saturating_add(d).min(self.c);
            self.b1.remove(hash);
            Some(GhostHit::B1)
        } else if let Some(w) = self.b2.weight_of(hash) {
            let d = step(w, self.b1.weight(), self.b2.weight(), unit);
            self.p = self.p.saturating_sub(d);
            self.b2.remove(hash);
            Some(GhostHit::B2)
        } else {
            None
        }
    }

    /// The paper's `REPLACE(x, p)`: T1's LRU if T1 is over its target, else T2's LRU.
    #[inline]
    fn replace(&self, x_in_b2: bool) -> Option<Slot> {
        let from_t1 = self.t1_w > 0 && (self.t1_w > self.p || (self.t1_w == self.p && x_in_b2));
        if from_t1 {
            self.t1.back().or(self.t2.back())
        } else {
            self.t2.back().or(self.t1.back())
        }
    }

    /// Keeps `|T1| + |B1| ≤ c` and the directory ≤ `2c` after inserts that needed no
    /// eviction (keys deleted or expired since the ghosts were filled).
    #[inline]
    fn trim_ghosts(&mut self) {
        while self.t1_w + self.b1.weight() > self.c && self.b1.pop_oldest().is_some() {}
        let two_c = self.c.saturating_mul(2);
        while self.t1_w + self.t2_w + self.b1.weight() + self.b2.weight() > two_c {
            if self.b2.pop_oldest().is_none() && self.b1.pop_oldest().is_none() {
                break;
            }
        }
    }
}

impl Policy for Arc {
    #[inline]
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        let hash = ks.entry(slot).hash;
        let hit = match self.pending.take() {
            Some((h, g)) if h == hash => Some(g),
            _ => self.probe(hash),
        };
        self.replaced = false;
        grow(&mut self.list, slot, 0);
        let w = self.weights.record(ks, slot);
        if hit.is_some() {
            self.list[slot as usize] = T2;
            self.links.push_front(&mut self.t2, slot);
            self.t2_w += w;
        } else {
            self.list[slot as usize] = T1;
            self.links.push_front(&mut self.t1, slot);
            self.t1_w += w;
        }
        self.trim_ghosts();
    }

    #[inline]
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>) {
        // A hit ends any GET-miss → fill sequence: forget a ghost hit no fill consumed.
        self.pending = None;
        let (old, new) = self.weights.refresh(ks, slot);
        if self.list[slot as usize] == T1 {
            self.links.unlink(&mut self.t1, slot);
            self.t1_w -= old;
            self.list[slot as usize] = T2;
            self.links.push_front(&mut self.t2, slot);
            self.t2_w += new;
        } else {
            self.links.move_to_front(&mut self.t2, slot);
            self.t2_w = self.t2_w - old + new;
        }
    }

    #[inline]
    fn on_miss(&mut self, hash: u64, _: &mut PolicyCtx<'_>) {
        self.pending = self.probe(hash).map(|g| (hash, g));
        self.replaced = false;
    }

    #[inline]
    fn on_remove(&mut self, slot: Slot, ks: &Keyspace, cause: RemovalCause) {
        let w = self.weights.get(slot);
        let forget = self.forget.take() == Some(slot);
        let remember = cause == RemovalCause::Evicted && !forget;
        let hash = ks.entry(slot).hash;
        if self.list[slot as usize] == T1 {
            self.links.unlink(&mut self.t1, slot);
            self.t1_w -= w;
            if remember {
                self.b1.insert(hash, w);
            }
        } else {
            self.links.unlink(&mut self.t2, slot);
            self.t2_w -= w;
            if remember {
                self.b2.insert(hash, w);
            }
        }
        self.list[slot as usize] = 0;
    }

    #[inline]
    fn select_victim(&mut self, _: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot> {
        if let Some((_, g)) = self.pending
            && !self.replaced
        {
            // Cases II/III: one REPLACE for the key found in a ghost list.
            self.replaced = true;
            return self.replace(g == GhostHit::B2);
        }
        let incoming = self.weights.capacity().incoming(ctx);
        if self.t1_w + self.b1.weight() + incoming > self.c {
            // Case IV.A: L1 = T1 ∪ B1 is full.
            if self.t1_w < self.c {
                self.b1.pop_oldest();
                self.replace(false)
            } else {
                let v = self.t1.back().or(self.t2.back());
                self.forget = v;
                v
            }
        } else {
            // Case IV.B.
            let total = self.t1_w + self.t2_w + self.b1.weight() + self.b2.weight();
            if total >= self.c.saturating_mul(2) {
                self.b2.pop_oldest();
            }
            self.replace(false)
        }
    }

    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        if self.t1.len() + self.t2.len() != ks.len() {
            return Err(format!(
                "ARC T1 + T2 = {} + {}, keyspace {}",
                self.t1.len(),
                self.t2.len(),
                ks.len()
            ));
        }
        for (list, tag, total, name) in [
            (&self.t1, T1, self.t1_w, "T1"),
            (&self.t2, T2, self.t2_w, "T2"),
        ] {
            let mut w = 0;
            for s in self.links.iter(list) {
                if !ks.is_live(s) || self.list[s as usize] != tag {
                    return Err(format!("ARC slot {s} misfiled in {name}"));
                }
                w += self.weights.get(s);
            }
            if w != total {
                return Err(format!("ARC {name} weighs {w}, recorded {total}"));
            }
        }
        if self.p > self.c {
            return Err(format!("ARC target p = {} > c = {}", self.p, self.c));
        }
        for (_, e) in ks.iter() {
            if self.b1.contains(e.hash) || self.b2.contains(e.hash) {
                return Err(format!("ARC: resident key {} is also a ghost", e.key));
            }
        }
        self.b1.check()?;
        self.b2.check()
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn ghost_hits_adapt_the_target() {
        let mut e = engine("arc", 4);
        for k in 1..=4 {
            set(&mut e, k); // T1 (LRU→MRU): 1 2 3 4, p = 0
        }
        assert!(hit(&mut e, 1));
        assert!(hit(&mut e, 2)); // T1: 3 4; T2: 1 2
        set(&mut e, 5); // IV.B, REPLACE: |T1| = 2 > p = 0 → T1's LRU 3 → B1
        assert_eq!(keys(&e), [1, 2, 4, 5]); // T1: 4 5; T2: 1 2; B1: 3
        assert!(!hit(&mut e, 3)); // B1 hit: p = 0 + max(0/1, 1) = 1
        set(&mut e, 3); // REPLACE: |T1| = 2 > p = 1 → 4 → B1; 3 enters T2
        assert_eq!(keys(&e), [1, 2, 3, 5]); // T1: 5; T2: 1 2 3; B1: 4
        set(&mut e, 6); // IV.A: |T1| + |B1| + 1 = 3 ≤ 4 → IV.B: REPLACE: |T1| = 1 = p,
        // not from B2 → T2's LRU 1 → B2
        assert_eq!(keys(&e), [2, 3, 5, 6]); // T1: 5 6; T2: 2 3; B1: 4; B2: 1
        assert!(!hit(&mut e, 1)); // B2 hit: p = 1 − max(1/1, 1) = 0
        set(&mut e, 1); // REPLACE (x in B2): |T1| = 2 > 0 → 5 → B1; 1 enters T2
        assert_eq!(keys(&e), [1, 2, 3, 6]);
        e.check_invariants().unwrap();
    }
}
