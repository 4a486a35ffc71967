//! `fifo`: first in, first out — evict the key inserted longest ago; hits change nothing.
//!
//! Source: the textbook FIFO replacement (Belady, "A study of replacement algorithms for a
//! virtual-storage computer", IBM Systems Journal 5(2) 1966); libCacheSim `FIFO.c`.
//! Not a Redis policy.
//!
//! Insert at the head of one queue; the victim is the tail. An overwrite of an existing key is
//! a hit (it keeps its place). Parameters: none. Deviations from libCacheSim: none (the golden
//! test in `tests/golden.rs` checks exact miss counts against an independent FIFO).
//!
//! Metadata: 8 bytes per slot (two `u32` links). No work at all on a hit, which is why
//! FIFO-based designs (CLOCK, SIEVE, S3-FIFO) scale. Suits workloads with little reuse
//! structure and is the baseline the others are measured against; fails whenever popular
//! keys are old keys — a hot key is evicted on schedule, however often it is read.

use super::list::{SlotLinks, SlotList};
use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// Registry entry.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "fifo",
    "first in, first out (hits change nothing)",
    &[],
    |_| Fifo::default().into(),
)];

/// FIFO.
#[derive(Debug, Default)]
pub struct Fifo {
    links: SlotLinks,
    queue: SlotList,
}

impl Policy for Fifo {
    #[inline]
    fn on_insert(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        self.links.push_front(&mut self.queue, slot);
    }
    #[inline]
    fn on_access(&mut self, _: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {}
    fn observes_hits(&self) -> bool {
        false
    }
    #[inline]
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        self.links.unlink(&mut self.queue, slot);
    }
    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        self.queue.back()
    }
    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        let n = self
            .links
            .iter(&self.queue)
            .filter(|&s| ks.is_live(s))
            .count();
        if n != ks.len() || self.queue.len() != ks.len() {
            return Err(format!(
                "FIFO queue has {} slots ({n} live), keyspace {}",
                self.queue.len(),
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
    fn evicts_in_insertion_order_whatever_the_hits() {
        let mut e = engine("fifo", 3);
        set(&mut e, 1);
        set(&mut e, 2);
        set(&mut e, 3); // queue (oldest first): 1 2 3
        assert!(hit(&mut e, 1)); // a hit does not move 1
        set(&mut e, 4); // evicts 1, the oldest, although it was just read
        assert_eq!(keys(&e), [2, 3, 4]);
        set(&mut e, 2); // overwrite: 2 keeps its place
        set(&mut e, 5); // evicts 2
        assert_eq!(keys(&e), [3, 4, 5]);
        assert!(e.del(&crate::Key::from_id(4)));
        set(&mut e, 6); // room after the DEL: no eviction
        set(&mut e, 7); // evicts 3
        assert_eq!(keys(&e), [5, 6, 7]);
        e.check_invariants().unwrap();
    }
}
