//! `sieve`: SIEVE — a FIFO queue with a *visited* bit and a hand that sweeps from the tail
//! towards the head, retaining visited keys in place.
//!
//! Source: Zhang, Yang, Yue, Vigfusson & Rashmi, "SIEVE is Simpler than LRU: an Efficient
//! Turn-Key Eviction Algorithm for Web Caches", NSDI 2024, §3 (Algorithm 1); libCacheSim
//! `Sieve.c`.
//!
//! * insert at the head with `visited = 0`; a hit sets `visited = 1` (nothing moves);
//! * to evict, start at the hand (the tail if the hand is unset): while the key there is
//!   visited, clear its bit and step towards the head (wrapping to the tail); evict the first
//!   unvisited key and leave the hand at the key *before* it (towards the head).
//!
//! Unlike CLOCK, a retained key is not moved to the head: new keys stay near the head while
//! survivors keep their old position, so one-hit keys are demoted quickly ("lazy promotion,
//! quick demotion"). The hand also steps past a key removed for another reason (DEL, expiry).
//!
//! Parameters: none. Deviations: none from the paper or libCacheSim.
//! Metadata: 9 bytes per slot (two `u32` links, a visited byte) + one hand.
//! Suits web / key-value workloads with many one-hit wonders (the paper's target); fails on
//! block-I/O style scans and loops (no scan resistance: as the paper and foyer note, it is not
//! recommended for block caches), and a long visited run makes one eviction O(n).

use super::list::{SlotLinks, SlotList};
use super::sizing::grow;
use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// Registry entry.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "sieve",
    "SIEVE: FIFO with visited bits and a sweeping hand (Zhang et al. NSDI'24)",
    &[],
    |_| Sieve::default().into(),
)];

/// SIEVE.
#[derive(Debug, Default)]
pub struct Sieve {
    links: SlotLinks,
    queue: SlotList,
    visited: Vec<bool>,
    hand: Option<Slot>,
}

impl Policy for Sieve {
    #[inline]
    fn on_insert(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        grow(&mut self.visited, slot, false);
        self.visited[slot as usize] = false;
        self.links.push_front(&mut self.queue, slot);
    }
    #[inline]
    fn on_access(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {
        self.visited[slot as usize] = true;
    }
    #[inline]
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        if self.hand == Some(slot) {
            // libCacheSim: `params->pointer = obj_to_evict->queue.prev` (towards the head).
            self.hand = self.links.prev(slot);
        }
        self.links.unlink(&mut self.queue, slot);
    }
    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        let mut h = self.hand.or(self.queue.back())?;
        while self.visited[h as usize] {
            self.visited[h as usize] = false;
            h = match self.links.prev(h) {
                Some(p) => p,
                None => self.queue.back()?,
            };
        }
        self.hand = Some(h);
        Some(h)
    }
    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        if self.queue.len() != ks.len() {
            return Err(format!(
                "SIEVE queue has {} slots, keyspace {}",
                self.queue.len(),
                ks.len()
            ));
        }
        if let Some(h) = self.hand
            && !self.links.iter(&self.queue).any(|s| s == h)
        {
            return Err(format!("SIEVE hand {h} is not in the queue"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn hand_retains_visited_keys_in_place() {
        let mut e = engine("sieve", 4);
        for k in 1..=4 {
            set(&mut e, k); // queue (tail→head): 1 2 3 4
        }
        assert!(hit(&mut e, 1));
        assert!(hit(&mut e, 2)); // visited: 1 2
        set(&mut e, 5); // hand from tail: 1 cleared, 2 cleared, 3 evicted; hand stops at 4
        assert_eq!(keys(&e), [1, 2, 4, 5]); // queue: 1 2 4 5
        assert!(hit(&mut e, 4)); // visited: 4
        set(&mut e, 6); // hand at 4: cleared, moves to 5 (unvisited): 5 evicted, hand → head
        assert_eq!(keys(&e), [1, 2, 4, 6]); // queue: 1 2 4 6
        set(&mut e, 7); // hand fell off the head: wraps to the tail; 1 (cleared earlier) evicted
        assert_eq!(keys(&e), [2, 4, 6, 7]);
        assert!(hit(&mut e, 2));
        set(&mut e, 8); // hand at 2 (visited): cleared; 4 (cleared above) evicted
        assert_eq!(keys(&e), [2, 6, 7, 8]);
        e.check_invariants().unwrap();
    }
}
