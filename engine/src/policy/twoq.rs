//! `2q`: full 2Q — a FIFO `A1in` for keys seen once, an LRU `Am` for keys seen again, and a
//! ghost FIFO `A1out` of keys recently evicted from `A1in`.
//!
//! Source: Johnson & Shasha, "2Q: A Low Overhead High Performance Buffer Management
//! Replacement Algorithm", VLDB 1994, §2.2 "Full 2Q" (the version with `A1in`/`A1out`);
//! libCacheSim `TwoQ.c`.
//!
//! * hit in `Am` → MRU of `Am`; hit in `A1in` → nothing (a correlated reference);
//! * a new key whose hash is in `A1out` goes to `Am` (and leaves `A1out`); any other new key
//!   goes to the head of `A1in`;
//! * to free room (`reclaimfor`): if `|A1in| > Kin`, evict `A1in`'s tail and remember its hash
//!   at the head of `A1out` (dropping `A1out`'s tail beyond `Kout`); otherwise evict `Am`'s LRU
//!   and do not remember it.
//!
//! Parameters (the paper's recommended tuning): `kin-ratio` (0.25: `Kin` = 25 % of the
//! capacity) and `kout-ratio` (0.50: `A1out` remembers as many keys as half the cache holds).
//! Capacity ([`super::sizing`]): keys, or bytes in byte mode (`Kin`, `Kout` and the queue sizes
//! are sums of charges).
//!
//! Deviations: when `|A1in| ≤ Kin` but `Am` is empty (a tiny cache, or after deletions), the
//! victim is `A1in`'s tail and it is remembered in `A1out` (the paper's pseudocode would page
//! out an empty `Am`). A GET miss found in `A1out` is detected at the miss (`on_miss`); a SET of
//! an absent key that no GET missed just before checks `A1out` when it is inserted.
//!
//! Metadata: 9 bytes per slot (links, queue tag), +8 in byte mode; `A1out` ~30 bytes per
//! ghost. Suits database buffer pools and skewed workloads with one-time scans (scan
//! resistance comes from `A1in`); fails when the working set's reuse distance exceeds
//! `Kin + Kout` (second references arrive after the ghost is forgotten) and needs `Kin`
//! tuned per workload (what ARC removed).

use super::ghost::Ghost;
use super::list::{SlotLinks, SlotList};
use super::params::{ParamSpec, Range};
use super::registry::PolicyInfo;
use super::sizing::{Capacity, Weights, grow};
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

const A1IN: u8 = 1;
const AM: u8 = 2;

/// Registry entry. Johnson & Shasha §2.2: "Kin should be 25% of the page slots and Kout
/// 50%".
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "2q",
    "full 2Q: A1in FIFO + Am LRU + A1out ghosts (Johnson & Shasha VLDB'94)",
    &[
        ParamSpec::float(
            "kin-ratio",
            0.25,
            Range::open_closed(0.0, 1.0),
            "A1in's share of the capacity (Kin)",
        ),
        ParamSpec::float(
            "kout-ratio",
            0.50,
            Range::open_closed(0.0, 16.0),
            "A1out's ghost count as a fraction of the capacity (Kout)",
        ),
    ],
    |b| {
        let p = &b.params;
        TwoQ::new(b.capacity, p.float("kin-ratio"), p.float("kout-ratio")).into()
    },
)];

/// Full 2Q.
#[derive(Debug)]
pub struct TwoQ {
    links: SlotLinks,
    a1in: SlotList,
    am: SlotList,
    queue: Vec<u8>,
    weights: Weights,
    a1in_w: u64,
    am_w: u64,
    kin: u64,
    a1out: Ghost,
    /// Hash of the key whose GET just missed and was found in `A1out`.
    ghost_hit: Option<u64>,
}

impl TwoQ {
    /// 2Q over `cap` with `Kin = kin × cap` and `Kout = kout × cap`.
    pub fn new(cap: Capacity, kin: f64, kout: f64) -> TwoQ {
        TwoQ {
            links: SlotLinks::default(),
            a1in: SlotList::default(),
            am: SlotList::default(),
            queue: Vec::new(),
            weights: Weights::new(cap),
            a1in_w: 0,
            am_w: 0,
            kin: cap.fraction(kin),
            a1out: Ghost::new(cap.fraction(kout)),
            ghost_hit: None,
        }
    }
}

impl Policy for TwoQ {
    #[inline]
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        let hash = ks.entry(slot).hash;
        let remembered = self.ghost_hit.take() == Some(hash) || self.a1out.remove(hash).is_some();
        grow(&mut self.queue, slot, 0);
        let w = self.weights.record(ks, slot);
        if remembered {
            self.queue[slot as usize] = AM;
            self.links.push_front(&mut self.am, slot);
            self.am_w += w;
        } else {
            self.queue[slot as usize] = A1IN;
            self.links.push_front(&mut self.a1in, slot);
            self.a1in_w += w;
        }
    }

    #[inline]
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>) {
        let (old, new) = self.weights.refresh(ks, slot);
        if self.queue[slot as usize] == AM {
            self.links.move_to_front(&mut self.am, slot);
            self.am_w = self.am_w - old + new;
        } else {
            self.a1in_w = self.a1in_w - old + new;
        }
    }

    #[inline]
    fn on_miss(&mut self, hash: u64, _: &mut PolicyCtx<'_>) {
        self.ghost_hit = self.a1out.remove(hash).map(|_| hash);
    }

    #[inline]
    fn on_remove(&mut self, slot: Slot, ks: &Keyspace, cause: RemovalCause) {
        let w = self.weights.get(slot);
        if self.queue[slot as usize] == A1IN {
            self.links.unlink(&mut self.a1in, slot);
            self.a1in_w -= w;
            if cause == RemovalCause::Evicted {
                self.a1out.insert(ks.entry(slot).hash, w);
            }
        } else {
            self.links.unlink(&mut self.am, slot);
            self.am_w -= w;
        }
        self.queue[slot as usize] = 0;
    }

    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        if self.a1in_w > self.kin {
            self.a1in.back().or(self.am.back())
        } else {
            self.am.back().or(self.a1in.back())
        }
    }

    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        if self.a1in.len() + self.am.len() != ks.len() {
            return Err(format!(
                "2Q A1in + Am = {} + {}, keyspace {}",
                self.a1in.len(),
                self.am.len(),
                ks.len()
            ));
        }
        for (list, tag, total, name) in [
            (&self.a1in, A1IN, self.a1in_w, "A1in"),
            (&self.am, AM, self.am_w, "Am"),
        ] {
            let mut w = 0;
            for s in self.links.iter(list) {
                if !ks.is_live(s) || self.queue[s as usize] != tag {
                    return Err(format!("2Q slot {s} misfiled in {name}"));
                }
                w += self.weights.get(s);
            }
            if w != total {
                return Err(format!("2Q {name} weighs {w}, recorded {total}"));
            }
        }
        self.a1out.check()
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn a1out_promotes_the_second_reference() {
        // 4 keys: Kin = 1, Kout = 2.
        let mut e = engine("2q", 4);
        for k in 1..=4 {
            set(&mut e, k); // A1in (tail first): 1 2 3 4
        }
        assert!(hit(&mut e, 1)); // a hit in A1in changes nothing
        set(&mut e, 5); // |A1in| = 4 > Kin: evict A1in's tail 1 → A1out [1]
        assert_eq!(keys(&e), [2, 3, 4, 5]);
        assert!(!hit(&mut e, 1)); // miss, remembered in A1out
        set(&mut e, 1); // evict 2 → A1out [2]... ; 1 goes to Am
        assert_eq!(keys(&e), [1, 3, 4, 5]); // A1in: 3 4 5; Am: 1; A1out: 2
        set(&mut e, 6); // |A1in| = 3 > 1: evict 3 → A1out [3 2] (Kout = 2)
        set(&mut e, 7); // evict 4 → A1out [4 3]: 2 forgotten
        assert_eq!(keys(&e), [1, 5, 6, 7]);
        assert!(!hit(&mut e, 2));
        set(&mut e, 2); // 2 was forgotten: back into A1in; evict 5
        assert_eq!(keys(&e), [1, 2, 6, 7]);
        assert!(!hit(&mut e, 4));
        set(&mut e, 4); // 4 remembered → Am; |A1in| = 3 > 1: evict 6
        assert_eq!(keys(&e), [1, 2, 4, 7]); // A1in: 7 2; Am: 1 4
        set(&mut e, 8); // |A1in| = 2 > 1: evict 7
        set(&mut e, 9); // |A1in| = 2 (2 8) > 1: evict 2
        assert_eq!(keys(&e), [1, 4, 8, 9]);
        e.check_invariants().unwrap();
    }

    #[test]
    fn byte_mode_sizes_the_queues_in_bytes() {
        use crate::{Blob, Key, SetOptions};
        // 100 bytes of values (key bytes not counted): Kin = 25 B, A1out holds 50 B.
        let mut e = engine_with(
            "2q",
            100,
            &[
                ("lab-memory-mode", "logical"),
                ("lab-count-key-bytes", "no"),
            ],
        );
        let put = |e: &mut crate::Engine, k: u64, bytes: u64| {
            let r = e.set(Key::from_id(k), Blob::Sized(bytes), SetOptions::default());
            assert_eq!(r, crate::WriteOutcome::Stored, "SET {k}");
        };
        put(&mut e, 1, 40);
        put(&mut e, 2, 40); // A1in: 1 2 (80 B)
        put(&mut e, 3, 30); // 110 B > 100: A1in (80 B) > Kin → 1 evicted → A1out [1]
        assert_eq!(keys(&e), [2, 3]);
        assert!(!hit(&mut e, 1)); // found in A1out
        put(&mut e, 1, 40); // A1in (70 B) > Kin → 2 evicted → A1out [2]; 1 → Am
        put(&mut e, 4, 50); // A1in (30 B) > Kin → 3 evicted; A1out [3 2] is 70 B > 50: 2 dropped
        put(&mut e, 5, 20); // A1in (50 B) > Kin → 4 evicted; A1out keeps [4] (3 dropped)
        assert_eq!(keys(&e), [1, 5]);
        put(&mut e, 6, 45); // A1in (20 B) ≤ Kin → Am's LRU 1 evicted, not remembered
        assert_eq!(keys(&e), [5, 6]);
        assert!(!hit(&mut e, 2)); // 2 was dropped from A1out: a plain new key
        put(&mut e, 2, 10); // fits (75 B): into A1in, behind 5 and 6
        assert_eq!(keys(&e), [2, 5, 6]);
        put(&mut e, 8, 60); // 135 B: A1in's tail 5, then 6, evicted
        assert_eq!(keys(&e), [2, 8]);
        put(&mut e, 9, 40); // 110 B: A1in (70 B) > Kin → its tail 2 goes (it was not in Am)
        assert_eq!(keys(&e), [8, 9]);
        e.check_invariants().unwrap();
    }
}
