//! The keyspace's key → slot index: open addressing specialised for the lab's keys.
//!
//! A hit-rate replay spends most of its time here, so instead of a general-purpose hash map
//! over [`crate::Key`]s the index is a flat array of 8-byte buckets, each holding a slot
//! number and 32 bits of the key's hash ([`crate::Key::hash64`], which for integer ids is
//! one `fmix64`, no formatting). A lookup probes linearly from the home bucket, compares the
//! 32 hash bits and only then asks the caller to compare the key itself (for integer ids one
//! `u64` compare, see [`crate::Key::is_id`]). The table is kept at most half full, so a
//! probe sequence is short (expected ≈ 1.5 buckets for a hit, ≈ 2.5 for a miss), and a
//! removal shifts the following buckets back (Knuth's algorithm R, TAOCP vol. 3 §6.4): no
//! tombstones, so steady insert/remove churn never degrades the table nor rehashes it.
//!
//! The home bucket is the low bits of the stored 32 hash bits, so the table can grow
//! without reading any entry; it supports up to 2^31 keys (the slab's slots are `u32`).
//! Nothing observable depends on the bucket order: the keyspace iterates its slab.

use crate::keyspace::Slot;

/// An empty bucket's slot.
const EMPTY: u32 = u32::MAX;

/// The smallest table.
const MIN_BUCKETS: usize = 16;

/// Buckets [`KeyIndex::peek`] reads at most (a hit's expected probe length is ≈ 1.5 at
/// the table's ≤ 50 % load; a longer one just goes without a hint).
const PEEK_PROBES: usize = 2;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// The low 32 bits of the key's hash (the home bucket is `tag & mask`).
    tag: u32,
    /// The slot, or [`EMPTY`].
    slot: u32,
}

const VACANT: Bucket = Bucket {
    tag: 0,
    slot: EMPTY,
};

/// Key hash → slot, linear probing, backward-shift deletion, at most 50 % full.
#[derive(Debug)]
pub(crate) struct KeyIndex {
    buckets: Box<[Bucket]>,
    mask: usize,
    len: usize,
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex {
            buckets: vec![VACANT; MIN_BUCKETS].into_boxed_slice(),
            mask: MIN_BUCKETS - 1,
            len: 0,
        }
    }
}

impl KeyIndex {
    /// Number of keys.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Finds the slot of the key with this `hash` for which `eq(slot)` holds.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(Slot) -> bool) -> Option<Slot> {
        let tag = hash as u32;
        let mut i = tag as usize & self.mask;
        loop {
            let b = self.buckets[i];
            if b.slot == EMPTY {
                return None;
            }
            if b.tag == tag && eq(b.slot) {
                return Some(b.slot);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Asks the CPU to start loading the home bucket of `hash` (a hint).
    #[inline]
    pub(crate) fn prefetch(&self, hash: u64) {
        prefetch(&self.buckets[hash as u32 as usize & self.mask]);
    }

    /// For look-ahead hints: the slot of the first bucket of `hash`'s probe sequence whose
    /// 32 hash bits match, looking at most [`PEEK_PROBES`] buckets (a hit's expected probe
    /// is ≈ 1.5). The key itself is not compared (that would read the entry, the load the
    /// hint is for), so the slot may hold another key with the same 32 bits: good enough
    /// for a prefetch, never for a result.
    #[inline]
    pub(crate) fn peek(&self, hash: u64) -> Option<Slot> {
        let tag = hash as u32;
        let mut i = tag as usize & self.mask;
        for _ in 0..PEEK_PROBES {
            let b = self.buckets[i];
            if b.slot == EMPTY {
                return None;
            }
            if b.tag == tag {
                return Some(b.slot);
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Bytes of the bucket array (for the look-ahead's size gate).
    #[inline]
    pub(crate) fn table_bytes(&self) -> usize {
        self.buckets.len() * std::mem::size_of::<Bucket>()
    }

    /// Adds `slot` for a key with this `hash` that is not in the index.
    #[inline]
    pub(crate) fn insert_unique(&mut self, hash: u64, slot: Slot) {
        debug_assert!(slot != EMPTY);
        if (self.len + 1) * 2 > self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        self.place(Bucket {
            tag: hash as u32,
            slot,
        });
        self.len += 1;
    }

    #[inline]
    fn place(&mut self, b: Bucket) {
        let mut i = b.tag as usize & self.mask;
        while self.buckets[i].slot != EMPTY {
            i = (i + 1) & self.mask;
        }
        self.buckets[i] = b;
    }

    /// Removes `slot` (stored for a key with this `hash`). Returns false if it is absent.
    pub(crate) fn remove(&mut self, hash: u64, slot: Slot) -> bool {
        let mask = self.mask;
        let mut hole = hash as u32 as usize & mask;
        loop {
            let b = self.buckets[hole];
            if b.slot == EMPTY {
                return false;
            }
            if b.slot == slot {
                break;
            }
            hole = (hole + 1) & mask;
        }
        // Shift back every following bucket of the cluster whose home is not between the
        // hole and itself (cyclically), so that no probe sequence crosses an empty bucket.
        let mut j = (hole + 1) & mask;
        loop {
            let b = self.buckets[j];
            if b.slot == EMPTY {
                break;
            }
            let home = b.tag as usize & mask;
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.buckets[hole] = b;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.buckets[hole] = VACANT;
        self.len -= 1;
        true
    }

    /// Makes room for `additional` more keys without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let want = ((self.len + additional) * 2).next_power_of_two();
        if want > self.buckets.len() {
            self.resize(want);
        }
    }

    #[cold]
    fn resize(&mut self, buckets: usize) {
        assert!(buckets <= 1 << 32, "key index: at most 2^31 keys");
        let old = std::mem::replace(
            &mut self.buckets,
            vec![VACANT; buckets.max(MIN_BUCKETS)].into_boxed_slice(),
        );
        self.mask = self.buckets.len() - 1;
        for b in old.iter().filter(|b| b.slot != EMPTY) {
            self.place(*b);
        }
    }
}

/// Asks the CPU to start loading the cache line holding `*x` (x86-64 `prefetcht0`; no-op
/// elsewhere). A hint only: it reads nothing, changes nothing and cannot fault, so results
/// never depend on it. The engine uses it where it knows the next victim's address before
/// the eviction that needs it (exact LRU's tail), so the eviction does not stall on
/// main-memory latency.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is an SSE instruction (baseline on x86-64); it takes an address,
    // does not dereference it architecturally and never faults. `x` is a valid reference.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::mix64;
    use rand::{RngExt, SeedableRng};
    use std::collections::HashMap;

    #[test]
    fn matches_a_hash_map_under_random_churn() {
        // Few distinct hashes' low bits (a tiny table after removals) and many collisions:
        // every slot's hash keeps only 12 bits of variation in its low 32 bits.
        for spread in [u64::MAX, 0xfff] {
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(spread);
            let mut index = KeyIndex::default();
            let mut model: HashMap<u32, u64> = HashMap::new();
            let hash_of = |s: u32| mix64(s as u64) & spread | ((s as u64) << 40);
            for _ in 0..50_000 {
                let s: u32 = rng.random_range(0..3_000);
                let h = hash_of(s);
                let found = index.find(h, |x| x == s);
                assert_eq!(found.is_some(), model.contains_key(&s));
                if found.is_some() && rng.random_bool(0.6) {
                    assert!(index.remove(h, s));
                    model.remove(&s);
                } else if found.is_none() {
                    index.insert_unique(h, s);
                    model.insert(s, h);
                }
                assert_eq!(index.len(), model.len());
            }
            for (&s, &h) in &model {
                assert_eq!(index.find(h, |x| x == s), Some(s));
            }
            assert!(!index.remove(hash_of(9_999), 9_999));
        }
    }
}
