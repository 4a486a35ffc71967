//! `lfu`: exact least-frequently-used over in-cache counts, FIFO among equal counts, O(1).
//!
//! Source: the classic LFU (e.g. Aho, Denning & Ullman, "Principles of optimal page
//! replacement", JACM 1971); the O(1) structure of Shah, Mitra & Matani, "An O(1) algorithm
//! for implementing the LFU cache eviction scheme" (2010): a list of frequency buckets in
//! increasing order, each holding its keys in arrival order. libCacheSim `LFUFast.c` is the
//! same idea. Not Redis's `allkeys-lfu`, which samples keys and uses a decaying logarithmic
//! 8-bit counter.
//!
//! * a new key has count 1; every hit (read or overwrite) adds 1; counts are *in-cache*: a
//!   key evicted and re-inserted starts again at 1 (no history);
//! * the victim is, among the keys with the smallest count, the one that reached that count
//!   first (FIFO tie-break).
//!
//! Every operation is O(1): a hit moves the key from bucket `f` to the bucket `f + 1` right
//! after it (creating it if needed); an emptied bucket is unlinked and its node reused.
//! Parameters: none. Deviations: libCacheSim's `LFU.c` breaks ties by a priority queue's
//! order; this one is FIFO, as the issue specifies.
//!
//! Metadata: 12 bytes per slot (links, bucket index); 24 bytes per distinct live count.
//! Suits stable popularity (static Zipf); fails when popularity shifts — keys that were hot
//! long ago keep high counts and pollute the cache — and new keys are evicted first, so a
//! burst of new hot keys thrashes (LRU-like recency is what W-TinyLFU's window adds back).

use super::list::{SlotLinks, SlotList};
use super::sizing::grow;
use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    freq: u64,
    keys: SlotList,
    /// Towards lower counts.
    lower: u32,
    /// Towards higher counts.
    higher: u32,
}

/// Registry entry.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "lfu",
    "exact in-cache LFU, FIFO among equal counts, O(1) frequency buckets",
    &[],
    |_| Lfu::default().into(),
)];

/// Exact in-cache LFU with frequency buckets.
#[derive(Debug)]
pub struct Lfu {
    links: SlotLinks,
    buckets: Vec<Bucket>,
    free: Vec<u32>,
    /// The bucket with the smallest count.
    lowest: u32,
    bucket_of: Vec<u32>,
}

impl Default for Lfu {
    fn default() -> Lfu {
        Lfu {
            links: SlotLinks::default(),
            buckets: Vec::new(),
            free: Vec::new(),
            lowest: NIL,
            bucket_of: Vec::new(),
        }
    }
}

impl Lfu {
    /// A new, empty bucket for `freq` linked between `lower` and `higher`.
    fn new_bucket(&mut self, freq: u64, lower: u32, higher: u32) -> u32 {
        let b = Bucket {
            freq,
            keys: SlotList::default(),
            lower,
            higher,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.buckets[i as usize] = b;
                i
            }
            None => {
                self.buckets.push(b);
                (self.buckets.len() - 1) as u32
            }
        };
        if lower != NIL {
            self.buckets[lower as usize].higher = i;
        } else {
            self.lowest = i;
        }
        if higher != NIL {
            self.buckets[higher as usize].lower = i;
        }
        i
    }

    /// Unlinks bucket `b` if it holds no key.
    fn drop_if_empty(&mut self, b: u32) {
        let Bucket {
            keys,
            lower,
            higher,
            ..
        } = self.buckets[b as usize];
        if !keys.is_empty() {
            return;
        }
        if lower != NIL {
            self.buckets[lower as usize].higher = higher;
        } else {
            self.lowest = higher;
        }
        if higher != NIL {
            self.buckets[higher as usize].lower = lower;
        }
        self.free.push(b);
    }

    /// The count of the key in `slot`.
    pub fn count(&self, slot: Slot) -> u64 {
        self.buckets[self.bucket_of[slot as usize] as usize].freq
    }
}

impl Policy for Lfu {
    #[inline]
    fn on_insert(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        let b = if self.lowest != NIL && self.buckets[self.lowest as usize].freq == 1 {
            self.lowest
        } else {
            self.new_bucket(1, NIL, self.lowest)
        };
        grow(&mut self.bucket_of, slot, NIL);
        self.bucket_of[slot as usize] = b;
        let mut keys = self.buckets[b as usize].keys;
        self.links.push_front(&mut keys, slot);
        self.buckets[b as usize].keys = keys;
    }

    #[inline]
    fn on_access(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {
        let b = self.bucket_of[slot as usize];
        let Bucket { freq, higher, .. } = self.buckets[b as usize];
        let next = if higher != NIL && self.buckets[higher as usize].freq == freq + 1 {
            higher
        } else {
            self.new_bucket(freq + 1, b, higher)
        };
        let mut from = self.buckets[b as usize].keys;
        self.links.unlink(&mut from, slot);
        self.buckets[b as usize].keys = from;
        let mut to = self.buckets[next as usize].keys;
        self.links.push_front(&mut to, slot);
        self.buckets[next as usize].keys = to;
        self.bucket_of[slot as usize] = next;
        self.drop_if_empty(b);
    }

    #[inline]
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        let b = std::mem::replace(&mut self.bucket_of[slot as usize], NIL);
        let mut keys = self.buckets[b as usize].keys;
        self.links.unlink(&mut keys, slot);
        self.buckets[b as usize].keys = keys;
        self.drop_if_empty(b);
    }

    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        if self.lowest == NIL {
            return None;
        }
        self.buckets[self.lowest as usize].keys.back()
    }

    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        let (mut n, mut b, mut prev_freq) = (0usize, self.lowest, 0u64);
        let mut lower = NIL;
        while b != NIL {
            let bucket = &self.buckets[b as usize];
            if bucket.freq <= prev_freq || bucket.keys.is_empty() || bucket.lower != lower {
                return Err(format!(
                    "LFU bucket {b} (count {}) out of order, empty or mislinked",
                    bucket.freq
                ));
            }
            for s in self.links.iter(&bucket.keys) {
                if !ks.is_live(s) || self.bucket_of[s as usize] != b {
                    return Err(format!("LFU slot {s} misfiled in bucket {b}"));
                }
                n += 1;
            }
            prev_freq = bucket.freq;
            lower = b;
            b = bucket.higher;
        }
        if n != ks.len() {
            return Err(format!("LFU buckets hold {n} keys, keyspace {}", ks.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn evicts_the_least_frequent_first_arrived() {
        let mut e = engine("lfu", 3);
        set(&mut e, 1);
        set(&mut e, 2);
        set(&mut e, 3); // counts 1 1 1
        assert!(hit(&mut e, 1));
        assert!(hit(&mut e, 1)); // 1: 3
        assert!(hit(&mut e, 3)); // 3: 2
        set(&mut e, 4); // the only count-1 key is 2: evicted
        assert_eq!(keys(&e), [1, 3, 4]);
        assert!(hit(&mut e, 4)); // 4: 2 — reached count 2 after 3 did
        set(&mut e, 5); // lowest count is 2: {3, 4}; 3 reached it first → evicted
        assert_eq!(keys(&e), [1, 4, 5]);
        set(&mut e, 6); // 5 (count 1) is the least frequent
        assert_eq!(keys(&e), [1, 4, 6]);
        set(&mut e, 4); // an overwrite counts: 4 → 3; ties at 3 with 1, which got there first
        set(&mut e, 7); // 6 (count 1)
        assert_eq!(keys(&e), [1, 4, 7]);
        e.check_invariants().unwrap();
    }
}
