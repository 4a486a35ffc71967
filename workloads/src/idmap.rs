//! [`IdMap`]: a hash map from `u64` object ids to small `Copy` values, for the passes that
//! look up every request of a trace (the working-set count, dense-id assignment).
//!
//! One flat array of `(id, value)` buckets, open addressing with linear probing at ≤ 3/4
//! load: a lookup reads one bucket (usually one cache line) where a general-purpose map
//! reads a control byte and then the bucket (two lines, both random for a trace's ids).
//! The id `u64::MAX` marks a free bucket; that id itself, if a trace has it, is kept beside
//! the array. The hash is a folded 64×64→128 multiply (the same mixing as foldhash's), so
//! ids that differ only in their high or low bits still spread. Deterministic: no
//! per-process seed. Ids are never removed.

/// The id that marks a free bucket (kept out of the array when a trace uses it).
const FREE: u64 = u64::MAX;

/// An odd 64-bit constant (2⁶⁴ / φ) for the multiplicative hash.
const MUL: u64 = 0x9E37_79B9_7F4A_7C15;

/// `u64` → `V`, insert-only; see the module doc.
#[derive(Clone, Debug)]
pub struct IdMap<V: Copy + Default> {
    buckets: Vec<(u64, V)>,
    /// `64 − log2(buckets.len())`: a hash's top bits pick the bucket.
    shift: u32,
    /// Ids in the array.
    len: usize,
    /// The value of the id [`FREE`], if present.
    free_id: Option<V>,
}

impl<V: Copy + Default> Default for IdMap<V> {
    fn default() -> Self {
        IdMap::with_capacity(0)
    }
}

impl<V: Copy + Default> IdMap<V> {
    /// A map that holds `n` ids before it grows.
    pub fn with_capacity(n: usize) -> IdMap<V> {
        // Smallest power of two ≥ 16 with n ≤ 3/4 of it.
        let want = n.saturating_mul(4).div_ceil(3).max(16);
        let cap = want
            .checked_next_power_of_two()
            .expect("IdMap capacity overflow");
        IdMap {
            buckets: vec![(FREE, V::default()); cap],
            shift: 64 - cap.trailing_zeros(),
            len: 0,
            free_id: None,
        }
    }

    /// Distinct ids held.
    pub fn len(&self) -> usize {
        self.len + usize::from(self.free_id.is_some())
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline(always)]
    fn home(&self, id: u64) -> usize {
        let p = (id as u128) * (MUL as u128);
        (((p as u64) ^ ((p >> 64) as u64)).wrapping_mul(MUL) >> self.shift) as usize
    }

    /// The value of `id`, if present.
    #[inline]
    pub fn get(&self, id: u64) -> Option<V> {
        if id == FREE {
            return self.free_id;
        }
        let mask = self.buckets.len() - 1;
        let mut i = self.home(id);
        loop {
            let (k, v) = self.buckets[i];
            if k == id {
                return Some(v);
            }
            if k == FREE {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// The value of `id`, inserting `make()` if it is absent; `true` when it was inserted.
    #[inline]
    pub fn get_or_insert_with(&mut self, id: u64, make: impl FnOnce() -> V) -> (V, bool) {
        if id == FREE {
            return match self.free_id {
                Some(v) => (v, false),
                None => {
                    let v = make();
                    self.free_id = Some(v);
                    (v, true)
                }
            };
        }
        let mask = self.buckets.len() - 1;
        let mut i = self.home(id);
        loop {
            let (k, v) = self.buckets[i];
            if k == id {
                return (v, false);
            }
            if k == FREE {
                break;
            }
            i = (i + 1) & mask;
        }
        let v = make();
        self.buckets[i] = (id, v);
        self.len += 1;
        if self.len * 4 > self.buckets.len() * 3 {
            self.grow();
        }
        (v, true)
    }

    /// Inserts `id` with the default value; `true` if it was absent.
    #[inline]
    pub fn insert(&mut self, id: u64) -> bool {
        self.get_or_insert_with(id, V::default).1
    }

    /// Doubles the array and re-files every id.
    #[cold]
    fn grow(&mut self) {
        let cap = self.buckets.len() * 2;
        let old = std::mem::replace(&mut self.buckets, vec![(FREE, V::default()); cap]);
        self.shift -= 1;
        let mask = self.buckets.len() - 1;
        for (k, v) in old.into_iter().filter(|&(k, _)| k != FREE) {
            let mut i = self.home(k);
            while self.buckets[i].0 != FREE {
                i = (i + 1) & mask;
            }
            self.buckets[i] = (k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Against std's map: same values, same "inserted" answers, same length, for ids
        /// from a small range (repeats), the extremes (including the free marker) and
        /// multiples of large powers of two (ids differing only in high bits).
        #[test]
        fn agrees_with_std(ops in prop::collection::vec(
            prop_oneof![
                0u64..500,
                Just(u64::MAX),
                Just(0u64),
                Just(u64::MAX - 1),
                (0u64..64).prop_map(|k| k << 48),
                any::<u64>(),
            ],
            0..3000,
        )) {
            let mut m: IdMap<u32> = IdMap::default();
            let mut s: HashMap<u64, u32> = HashMap::new();
            for (n, &id) in ops.iter().enumerate() {
                let (v, ins) = m.get_or_insert_with(id, || n as u32);
                let was = s.contains_key(&id);
                let sv = *s.entry(id).or_insert(n as u32);
                prop_assert_eq!(v, sv);
                prop_assert_eq!(ins, !was);
                prop_assert_eq!(m.len(), s.len());
            }
            for (&id, &v) in &s {
                prop_assert_eq!(m.get(id), Some(v));
            }
            prop_assert_eq!(m.get(12345678901), s.get(&12345678901).copied());
        }
    }

    #[test]
    fn grows_and_keeps_every_id() {
        let mut m: IdMap<()> = IdMap::with_capacity(3);
        for id in 0..100_000u64 {
            assert!(m.insert(id * 7919));
        }
        for id in 0..100_000u64 {
            assert!(!m.insert(id * 7919));
        }
        assert_eq!(m.len(), 100_000);
        assert!(m.buckets.len() * 3 >= m.len * 4);
        assert!(m.get(1).is_none());
        assert!(m.insert(u64::MAX));
        assert!(!m.insert(u64::MAX));
        assert_eq!(m.len(), 100_001);
    }
}
