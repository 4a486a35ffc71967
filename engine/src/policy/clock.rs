//! `clock`: CLOCK (second chance / FIFO-reinsertion) with an n-bit reference counter.
//!
//! Source: Corbató, "A paging experiment with the Multics system" (MIT Project MAC report
//! MAC-M-384, 1968) for CLOCK; the n-bit generalisation as libCacheSim `Clock.c`
//! (`n-bit-counter`, default 1), which this file follows exactly:
//!
//! * insert at the head of a FIFO with counter 0;
//! * a hit raises the counter by one, saturating at `2^bits − 1`;
//! * to evict, look at the tail: a key with counter ≥ 1 is decremented and moved to the head
//!   (re-inserted); the first key found with counter 0 is the victim.
//!
//! Parameter: `clock-bits` (1..=8, default 1 as libCacheSim; 1 = classic CLOCK, whose
//! counter is the reference bit). Deviations: none from libCacheSim. Relative to a hardware
//! CLOCK with a circular hand, moving a re-inserted key to the head is the same order as
//! advancing the hand past it.
//!
//! Metadata: 9 bytes per slot (two `u32` links, a `u8` counter). A hit is one saturating
//! increment, no list surgery. Suits skewed workloads (close to LRU, cheaper); with more bits
//! it keeps frequently-read keys longer (towards LFU). Fails like LRU on scans and loops
//! larger than the cache, and one eviction may sweep the whole queue when every key was hit.

use super::list::{SlotLinks, SlotList};
use super::params::ParamSpec;
use super::registry::PolicyInfo;
use super::sizing::grow;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// libCacheSim `Clock.c` `DEFAULT_PARAMS = "n-bit-counter=1"`.
pub const DEFAULT_BITS: u8 = 1;

/// Registry entry.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "clock",
    "CLOCK / FIFO-reinsertion with an n-bit counter (libCacheSim Clock)",
    &[ParamSpec::int(
        "clock-bits",
        DEFAULT_BITS as i64,
        1,
        8,
        "bits of the per-key counter (libCacheSim n-bit-counter)",
    )],
    |b| Clock::new(b.params.int("clock-bits") as u8).into(),
)];

/// n-bit CLOCK.
#[derive(Debug)]
pub struct Clock {
    links: SlotLinks,
    queue: SlotList,
    counter: Vec<u8>,
    max: u8,
}

impl Clock {
    /// CLOCK with `bits`-bit counters (1..=8).
    pub fn new(bits: u8) -> Clock {
        Clock {
            links: SlotLinks::default(),
            queue: SlotList::default(),
            counter: Vec::new(),
            max: ((1u16 << bits) - 1) as u8,
        }
    }

}

impl Policy for Clock {
    #[inline]
    fn on_insert(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        grow(&mut self.counter, slot, 0);
        self.counter[slot as usize] = 0;
        self.links.push_front(&mut self.queue, slot);
    }
    #[inline]
    fn on_access(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {
        let c = &mut self.counter[slot as usize];
        if *c < self.max {
            *c += 1;
        }
    }
    #[inline]
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        self.links.unlink(&mut self.queue, slot);
    }
    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        loop {
            let tail = self.queue.back()?;
            let c = &mut self.counter[tail as usize];
            if *c == 0 {
                return Some(tail);
            }
            *c -= 1;
            self.links.move_to_front(&mut self.queue, tail);
        }
    }
    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        if self.queue.len() != ks.len() {
            return Err(format!(
                "CLOCK queue has {} slots, keyspace {}",
                self.queue.len(),
                ks.len()
            ));
        }
        for s in self.links.iter(&self.queue) {
            if !ks.is_live(s) || self.counter[s as usize] > self.max {
                return Err(format!("CLOCK slot {s}: dead or counter over {}", self.max));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn second_chance_with_one_bit() {
        let mut e = engine("clock", 3);
        set(&mut e, 1);
        set(&mut e, 2);
        set(&mut e, 3); // queue (tail first): 1 2 3, all counters 0
        assert!(hit(&mut e, 1)); // 1's bit set
        set(&mut e, 4); // tail 1 has its bit: cleared, moved to head; 2 has none: evicted
        assert_eq!(keys(&e), [1, 3, 4]); // queue: 3 1 4
        assert!(hit(&mut e, 3));
        assert!(hit(&mut e, 3)); // saturates at 1 with one bit
        set(&mut e, 5); // 3 reprieved (queue 1 4 3); 1, whose bit was cleared, is evicted
        assert_eq!(keys(&e), [3, 4, 5]); // queue: 4 3 5
        set(&mut e, 6); // 4 has no bit: evicted
        assert_eq!(keys(&e), [3, 5, 6]);
        e.check_invariants().unwrap();
    }

    #[test]
    fn two_bits_give_two_reprieves() {
        let mut e = engine_with("clock", 2, &[("lab-policy-param", "clock-bits 2")]);
        set(&mut e, 1);
        set(&mut e, 2); // queue (tail first): 1 2
        assert!(hit(&mut e, 1));
        assert!(hit(&mut e, 1));
        assert!(hit(&mut e, 1)); // counter saturates at 3
        set(&mut e, 3); // 1: 3→2 to head; 2 (0) evicted. queue: 1(2) 3(0)
        assert_eq!(keys(&e), [1, 3]);
        set(&mut e, 4); // 1: 2→1 to head; 3 evicted. queue: 1(1) 4(0)
        assert_eq!(keys(&e), [1, 4]);
        set(&mut e, 5); // 1: 1→0 to head; 4 evicted. queue: 1(0) 5(0)
        assert_eq!(keys(&e), [1, 5]);
        set(&mut e, 6); // 1 finally evicted
        assert_eq!(keys(&e), [5, 6]);
    }

    #[test]
    fn rejects_bad_bits() {
        let mut c = crate::Config::default();
        let err = c
            .set("lab-policy-param", &["clock-bits", "9"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("'9'") && err.contains("1..=8"), "{err}");
    }
}
