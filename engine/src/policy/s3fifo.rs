//! `s3fifo`: S3-FIFO — a small FIFO S that filters one-hit wonders, a main FIFO M with
//! 2-bit-counter reinsertion (CLOCK), and a ghost FIFO G of keys recently evicted from S.
//!
//! Source: Yang, Zhang, Qiu, Yue & Vinayak, "FIFO queues are all you need for cache
//! eviction", SOSP 2023, §4 (Algorithm 1); libCacheSim 0.3.5 `S3FIFO.c`, whose control flow
//! this file follows (reproduced miss for miss, see [`super::reference`]). Two versions,
//! chosen by `lab-policy-param variant`:
//!
//! * `libcachesim` (default): libCacheSim 0.3.5's `S3FIFO.c`, as below;
//! * `v0`: libCacheSim's earlier `S3FIFOv0.c` (its default until 2024, the code behind the
//!   SOSP paper's numbers; still in 0.3.5 as `S3FIFOv0`). The one difference in behaviour:
//!   it has no `has_evicted` rule, so before the first eviction every new key goes to S,
//!   which may then hold far more than its share; S keeps being evicted first (M is only
//!   chosen once it is over its share or S is empty), so S shrinks only as keys are promoted
//!   to M. (Its counters are not capped at 3, but every comparison it makes — `≥ threshold`
//!   with threshold ≤ 3, `min(counter, 3) − 1` — gives the same result as a 2-bit counter.)
//!
//! The `libcachesim` control flow:
//!
//! * a hit raises the key's counter, saturating at 3 (2 bits);
//! * a new key goes to M if its hash is in G (and leaves G), else to S — except before the
//!   first eviction, when a full S sends new keys to M (libCacheSim's `has_evicted`; not in
//!   `v0`);
//! * to evict: if M is over its share or S is empty, evict from M, else from S;
//! * from S: the tail moves to the head of M (counter reset to 0) if its counter reached
//!   `move-to-main-threshold`, else it is evicted and its hash enters G; repeat until a key
//!   is evicted (if S empties, evict from M);
//! * from M: a tail with counter ≥ 1 is re-inserted at the head with `min(counter, 3) − 1`;
//!   the first with counter 0 is evicted.
//!
//! Parameters (libCacheSim names and defaults, the same for both variants): `small-size-ratio` (0.10; S's share, M gets
//! the rest), `ghost-size-ratio` (0.90; G holds that share of the capacity, i.e. as much as
//! M), `move-to-main-threshold` (2, in 1..=3: the paper's Algorithm 1 moves `t.freq > 1`;
//! libCacheSim before 2024 defaulted to 1).
//!
//! Capacity ([`super::sizing`]): in keys mode the shares are key counts; in byte mode they
//! are bytes and G is weighted by the evicted keys' charges, as in libCacheSim (whose queues
//! are byte-sized caches).
//!
//! Deviations: the paper's `evict()` picks S when `|S| ≥ 10 %` and, when moving S's tail into
//! a full M, evicts from M in the same call; libCacheSim (and this file) let M overshoot and
//! evict from it next time. libCacheSim (both versions) refuses to cache an object at least as large as S
//! (`can_insert`); here, in byte mode, such a key goes straight to M, and S holds at least
//! one key in keys mode (libCacheSim's S of `⌊0.1 × n⌋ = 0` keys would cache nothing below 10 keys). A ghost
//! hit is detected when a GET misses (`on_miss`, as libCacheSim's `find`); a SET of an absent
//! key that no GET missed just before checks G when the key is inserted.
//!
//! Metadata: 10 bytes per slot (two `u32` links, counter, queue tag), +8 in byte mode (the
//! recorded charge); G costs about 30 bytes per ghost (a 24-byte node + its index entry).
//! Suits skewed key-value and web workloads with many one-hit wonders (its raison d'être);
//! on block-I/O traces with weak skew and long reuse distances it can trail LRU/ARC, and a
//! 1-bit counter is often better there (the authors' own note).

use super::ghost::Ghost;
use super::list::{SlotLinks, SlotList};
use super::params::{ParamSpec, Range};
use super::registry::PolicyInfo;
use super::sizing::{Capacity, Unit, Weights, grow};
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

const NONE: u8 = 0;
const SMALL: u8 = 1;
const MAIN: u8 = 2;

/// Registry entry (libCacheSim `S3FIFO.c` defaults).
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "s3fifo",
    "S3-FIFO: small FIFO + main CLOCK-2bit + ghost (Yang et al. SOSP'23)",
    &[
        ParamSpec::choice(
            "variant",
            "libcachesim",
            &["libcachesim", "v0"],
            "libCacheSim 0.3.5 S3FIFO.c (default) or its earlier S3FIFOv0.c (no has_evicted rule)",
        ),
        ParamSpec::float(
            "small-size-ratio",
            0.10,
            Range::open(0.0, 1.0),
            "the small FIFO's share of the capacity",
        ),
        ParamSpec::float(
            "ghost-size-ratio",
            0.90,
            Range::at_least(0.0),
            "the ghost queue's size as a fraction of the capacity (0 = no ghost queue)",
        ),
        ParamSpec::int(
            "move-to-main-threshold",
            2,
            1,
            3,
            "accesses in small that promote a key to main (the counter has 2 bits)",
        ),
    ],
    |b| {
        let p = &b.params;
        S3Fifo::new(
            b.capacity,
            p.float("small-size-ratio"),
            p.float("ghost-size-ratio"),
            p.int("move-to-main-threshold") as u8,
            p.choice("variant") == "v0",
        )
        .into()
    },
)];

/// S3-FIFO.
#[derive(Debug)]
pub struct S3Fifo {
    links: SlotLinks,
    small: SlotList,
    main: SlotList,
    queue: Vec<u8>,
    freq: Vec<u8>,
    weights: Weights,
    small_w: u64,
    main_w: u64,
    small_cap: u64,
    main_cap: u64,
    ghost: Ghost,
    threshold: u8,
    /// `variant v0`: no `has_evicted` rule.
    v0: bool,
    has_evicted: bool,
    /// Hash of the key whose GET just missed and was found in G.
    ghost_hit: Option<u64>,
}

impl S3Fifo {
    /// S3-FIFO over `cap` with the given shares and threshold; `v0` for libCacheSim's
    /// `S3FIFOv0.c`.
    pub fn new(
        cap: Capacity,
        small_ratio: f64,
        ghost_ratio: f64,
        threshold: u8,
        v0: bool,
    ) -> S3Fifo {
        let mut small_cap = cap.fraction(small_ratio);
        if cap.unit == Unit::Keys {
            small_cap = small_cap.max(1);
        }
        let main_cap = cap.total.saturating_sub(small_cap);
        S3Fifo {
            links: SlotLinks::default(),
            small: SlotList::default(),
            main: SlotList::default(),
            queue: Vec::new(),
            freq: Vec::new(),
            weights: Weights::new(cap),
            small_w: 0,
            main_w: 0,
            small_cap,
            main_cap,
            ghost: Ghost::new(cap.fraction(ghost_ratio)),
            threshold,
            v0,
            has_evicted: false,
            ghost_hit: None,
        }
    }

    #[inline]
    fn push_main(&mut self, slot: Slot, w: u64) {
        self.queue[slot as usize] = MAIN;
        self.freq[slot as usize] = 0;
        self.links.push_front(&mut self.main, slot);
        self.main_w += w;
    }

    /// libCacheSim `S3FIFO_evict_main`: the victim, after re-inserting counted keys.
    #[inline]
    fn evict_main(&mut self) -> Option<Slot> {
        loop {
            let t = self.main.back()?;
            let f = &mut self.freq[t as usize];
            if *f == 0 {
                return Some(t);
            }
            *f = (*f).min(3) - 1;
            self.links.move_to_front(&mut self.main, t);
        }
    }

    /// libCacheSim `S3FIFO_evict_small`: the victim, after promoting counted keys to M.
    #[inline]
    fn evict_small(&mut self) -> Option<Slot> {
        while let Some(t) = self.small.back() {
            if self.freq[t as usize] < self.threshold {
                return Some(t);
            }
            let w = self.weights.get(t);
            self.links.unlink(&mut self.small, t);
            self.small_w -= w;
            self.push_main(t, w);
        }
        self.evict_main()
    }
}

impl Policy for S3Fifo {
    #[inline]
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        let hash = ks.entry(slot).hash;
        let in_ghost = self.ghost_hit.take() == Some(hash) || self.ghost.remove(hash).is_some();
        grow(&mut self.queue, slot, NONE);
        grow(&mut self.freq, slot, 0);
        let w = self.weights.record(ks, slot);
        let oversize = self.weights.capacity().unit == Unit::Bytes && w >= self.small_cap;
        let warm_up_full = !self.v0 && !self.has_evicted && self.small_w >= self.small_cap;
        if in_ghost || oversize || warm_up_full {
            self.push_main(slot, w);
        } else {
            self.queue[slot as usize] = SMALL;
            self.freq[slot as usize] = 0;
            self.links.push_front(&mut self.small, slot);
            self.small_w += w;
        }
    }

    #[inline]
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>) {
        let f = &mut self.freq[slot as usize];
        *f = (*f + 1).min(3);
        let (old, new) = self.weights.refresh(ks, slot);
        if old != new {
            let q = if self.queue[slot as usize] == SMALL {
                &mut self.small_w
            } else {
                &mut self.main_w
            };
            *q = *q - old + new;
        }
    }

    #[inline]
    fn on_miss(&mut self, hash: u64, _: &mut PolicyCtx<'_>) {
        self.ghost_hit = self.ghost.remove(hash).map(|_| hash);
    }

    #[inline]
    fn on_remove(&mut self, slot: Slot, ks: &Keyspace, cause: RemovalCause) {
        let w = self.weights.get(slot);
        match std::mem::replace(&mut self.queue[slot as usize], NONE) {
            SMALL => {
                self.links.unlink(&mut self.small, slot);
                self.small_w -= w;
                if cause == RemovalCause::Evicted {
                    self.ghost.insert(ks.entry(slot).hash, w);
                }
            }
            _ => {
                self.links.unlink(&mut self.main, slot);
                self.main_w -= w;
            }
        }
    }

    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        self.has_evicted = true;
        if self.main_w > self.main_cap || self.small.is_empty() {
            self.evict_main().or_else(|| self.evict_small())
        } else {
            self.evict_small()
        }
    }

    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        if self.small.len() + self.main.len() != ks.len() {
            return Err(format!(
                "S3-FIFO holds {} + {} keys, keyspace {}",
                self.small.len(),
                self.main.len(),
                ks.len()
            ));
        }
        for (list, tag, total, name) in [
            (&self.small, SMALL, self.small_w, "S"),
            (&self.main, MAIN, self.main_w, "M"),
        ] {
            let mut w = 0;
            for s in self.links.iter(list) {
                if !ks.is_live(s) || self.queue[s as usize] != tag || self.freq[s as usize] > 3 {
                    return Err(format!("S3-FIFO slot {s} misfiled in {name}"));
                }
                w += self.weights.get(s);
            }
            if w != total {
                return Err(format!("S3-FIFO {name} weighs {w}, recorded {total}"));
            }
        }
        self.ghost.check()
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn small_filters_one_hit_wonders_and_the_ghost_readmits() {
        // 10 keys: S holds 1, M 9, G 9; threshold 1 so a single hit promotes.
        let mut e = engine_with(
            "s3fifo",
            10,
            &[("lab-policy-param", "move-to-main-threshold 1")],
        );
        // Before the first eviction a full S (1 key) sends new keys to M:
        // S = [1], M = [2..=10].
        for k in 1..=10 {
            set(&mut e, k);
        }
        assert!(hit(&mut e, 1)); // 1 (in S) counted
        set(&mut e, 11); // evict from S: 1 was hit → moves to M (M over its 9);
        // S is now empty, so M is evicted: its tail 2 has counter 0 → evicted (no ghost).
        assert_eq!(keys(&e), [1, 3, 4, 5, 6, 7, 8, 9, 10, 11]); // S = [11]
        set(&mut e, 12); // M holds 9 again; S's tail 11 (never hit) is evicted → ghost
        assert!(!keys(&e).contains(&11));
        assert!(!hit(&mut e, 11)); // miss, found in G
        set(&mut e, 11); // fill: re-admitted straight into M; S's 12 is evicted → ghost
        assert_eq!(keys(&e), [1, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        set(&mut e, 13); // M (10 keys) is over its 9: evict M's tail 3
        assert_eq!(keys(&e), [1, 4, 5, 6, 7, 8, 9, 10, 11, 13]);
        e.check_invariants().unwrap();
    }

    #[test]
    fn v0_fills_small_first_and_evicts_it_until_main_is_over_its_share() {
        // 10 keys, libCacheSim S3FIFOv0: S's share 1, M 9, G 9, threshold 2.
        let mut e = engine_with("s3fifo", 10, &[("lab-policy-param", "variant v0")]);
        for k in 1..=10 {
            set(&mut e, k); // no has_evicted rule: all ten go to S (S = 1..=10, 10 newest)
        }
        assert!(hit(&mut e, 1));
        assert!(hit(&mut e, 1)); // 1: counter 2
        assert!(hit(&mut e, 2)); // 2: counter 1
        // M (empty) is within its share and S is not empty: evict from S. Its tail 1 reached
        // the threshold → M; the next tail 2 did not → evicted into G.
        set(&mut e, 11);
        assert_eq!(keys(&e), [1, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        set(&mut e, 12); // S again (M holds 1 key): 3 evicted
        assert_eq!(keys(&e), [1, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert!(!hit(&mut e, 2)); // found in G
        set(&mut e, 2); // re-admitted into M; S's tail 4 makes the room
        assert_eq!(keys(&e), [1, 2, 5, 6, 7, 8, 9, 10, 11, 12]);
        e.check_invariants().unwrap();
        // The 0.3.5 default on the same start sends keys 2..=10 to M (S full before the
        // first eviction), so the first eviction takes S's only key, 1 (counter 2 → M), then
        // M's tail 2 (counter 1 → re-inserted with 0), then 3.
        let mut d = engine("s3fifo", 10);
        for k in 1..=10 {
            set(&mut d, k);
        }
        assert!(hit(&mut d, 1));
        assert!(hit(&mut d, 1));
        assert!(hit(&mut d, 2));
        set(&mut d, 11);
        assert_eq!(keys(&d), [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]);
    }
}
