//! A model of Redis's chained hash table (`dict.c`), kept beside the keyspace so that
//! sampling is as correlated as Redis's.
//!
//! Redis does not draw eviction samples independently: `dictGetSomeKeys` starts at a random
//! bucket and walks *consecutive* buckets, taking whole chains. The active-expire cycle walks
//! the expires table with `dictScan`'s reverse-binary cursor. To reproduce both, the engine
//! mirrors each dict (the main keyspace and `expires`) with the same geometry:
//!
//! * power-of-two bucket arrays, bucket = `hash & mask`, new entries at the head of a chain;
//! * grow when `used >= size` to the next power of two above `used` (redis `dict.c`
//!   `_dictExpandIfNeeded`); shrink when `used * 8 <= size` (Redis 7.4 `HASHTABLE_MIN_FILL`);
//!   while a fork child is alive, grow only at load ≥ 4 and shrink only below 1/32
//!   (`DICT_RESIZE_AVOID`, `dict_force_resize_ratio`);
//! * a resize re-inserts chains bucket by bucket, at the head of their new chains, as
//!   `dictRehash` does.
//!
//! Deviation: Redis rehashes incrementally (one bucket per operation, `count` steps per
//! `dictGetSomeKeys`), so for a while two tables coexist; the model resizes at once. The
//! hash function differs too (Redis uses SipHash with a random seed; we use a fixed seed so
//! runs are reproducible), which changes *which* keys share buckets but not how many.
//!
//! Entries are the keyspace's slot numbers; the model keeps 8 bytes per slot (chain link and
//! the low 32 bits of the hash).

use rand::Rng;

const NIL: u32 = u32::MAX;
/// Redis `DICT_HT_INITIAL_SIZE`.
const INITIAL_SIZE: usize = 4;
/// Buckets a sampling prefetch hint covers from its start (16 `u32` heads: one or two
/// cache lines).
const PREFETCH_SPAN: usize = 16;

#[derive(Clone, Copy)]
struct Node {
    next: u32,
    hash: u32,
}

/// One modelled dict.
#[derive(Clone, Default)]
pub struct DictModel {
    buckets: Vec<u32>,
    nodes: Vec<Node>,
    used: usize,
    avoid_resize: bool,
}

impl DictModel {
    /// An empty dict (no bucket array yet, as Redis's).
    pub fn new() -> DictModel {
        DictModel::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.used
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Number of buckets (`dictSlots`).
    pub fn slots(&self) -> usize {
        self.buckets.len()
    }

    /// Switches to Redis's `DICT_RESIZE_AVOID` while a fork child is alive.
    pub fn set_avoid_resize(&mut self, avoid: bool) {
        self.avoid_resize = avoid;
        if !avoid {
            self.maybe_shrink();
        }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// Adds `slot` with hash `hash` (the caller guarantees it is not present).
    pub fn insert(&mut self, slot: u32, hash: u64) {
        self.expand_if_needed();
        let s = slot as usize;
        if s >= self.nodes.len() {
            self.nodes
                .resize((s + 1).next_power_of_two(), Node { next: NIL, hash: 0 });
        }
        let b = (hash as usize) & self.mask();
        self.nodes[s] = Node {
            next: self.buckets[b],
            hash: hash as u32,
        };
        self.buckets[b] = slot;
        self.used += 1;
    }

    /// Removes `slot` (the caller guarantees it is present).
    pub fn remove(&mut self, slot: u32) {
        let b = (self.nodes[slot as usize].hash as usize) & self.mask();
        let mut cur = self.buckets[b];
        if cur == slot {
            self.buckets[b] = self.nodes[slot as usize].next;
        } else {
            while cur != NIL {
                let next = self.nodes[cur as usize].next;
                if next == slot {
                    self.nodes[cur as usize].next = self.nodes[slot as usize].next;
                    break;
                }
                cur = next;
            }
            debug_assert!(cur != NIL, "slot {slot} not in its dict bucket");
        }
        self.used -= 1;
        self.maybe_shrink();
    }

    fn expand_if_needed(&mut self) {
        let size = self.buckets.len();
        if size == 0 {
            self.resize(INITIAL_SIZE);
        } else if self.used >= size && (!self.avoid_resize || self.used / size >= 4) {
            self.resize((self.used + 1).next_power_of_two());
        }
    }

    fn maybe_shrink(&mut self) {
        let size = self.buckets.len();
        let min_fill = if self.avoid_resize { 32 } else { 8 };
        if size > INITIAL_SIZE && self.used * min_fill <= size {
            self.resize(self.used.max(INITIAL_SIZE).next_power_of_two());
        }
    }

    fn resize(&mut self, new_size: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![NIL; new_size]);
        let mask = new_size - 1;
        for head in old {
            let mut cur = head;
            while cur != NIL {
                let node = self.nodes[cur as usize];
                let b = (node.hash as usize) & mask;
                self.nodes[cur as usize].next = self.buckets[b];
                self.buckets[b] = cur;
                cur = node.next;
            }
        }
    }

    /// `dictGetSomeKeys`: up to `count` entries from consecutive buckets starting at a random
    /// one, jumping elsewhere after a run of empty buckets, giving up after `count * 10`
    /// steps. Appends to `out`; may return fewer than `count` and, on tiny tables, repeats.
    pub fn get_some<R: Rng + ?Sized>(&self, rng: &mut R, count: usize, out: &mut Vec<u32>) {
        let count = count.min(self.used);
        if count == 0 {
            return;
        }
        let mask = self.mask();
        let mut maxsteps = count * 10;
        let mut i = (rng.next_u64() as usize) & mask;
        let mut emptylen = 0usize;
        let mut stored = 0usize;
        while stored < count && maxsteps > 0 {
            maxsteps -= 1;
            let mut cur = self.buckets[i];
            if cur == NIL {
                emptylen += 1;
                if emptylen >= 5 && emptylen > count {
                    i = (rng.next_u64() as usize) & mask;
                    emptylen = 0;
                }
            } else {
                emptylen = 0;
                while cur != NIL {
                    out.push(cur);
                    stored += 1;
                    if stored == count {
                        return;
                    }
                    cur = self.nodes[cur as usize].next;
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Prefetch hint, first stage, for a coming [`DictModel::get_some`] whose random start
    /// is drawn as `draw`: start loading the bucket lines its walk reads first.
    #[inline]
    pub fn prefetch_start(&self, draw: u64) {
        if self.used == 0 {
            return;
        }
        let mask = self.mask();
        let i = draw as usize & mask;
        crate::index::prefetch(&self.buckets[i]);
        crate::index::prefetch(&self.buckets[(i + PREFETCH_SPAN) & mask]);
    }

    /// Prefetch hint, second stage, for a coming [`DictModel::get_some`] of `count`
    /// entries starting at `draw` (whose bucket lines [`DictModel::prefetch_start`] asked
    /// for earlier): for each of the first `count` non-empty buckets of the walk, start
    /// loading the chain head's node and call `entry` with it (to prefetch what scoring the
    /// sample reads). Reads bucket heads only, never a chain.
    #[inline]
    pub fn prefetch_some(&self, draw: u64, count: usize, mut entry: impl FnMut(u32)) {
        if self.used == 0 {
            return;
        }
        let mask = self.mask();
        let mut i = draw as usize & mask;
        let mut heads = 0;
        for _ in 0..PREFETCH_SPAN {
            let head = self.buckets[i];
            if head != NIL {
                if let Some(n) = self.nodes.get(head as usize) {
                    crate::index::prefetch(n);
                }
                entry(head);
                heads += 1;
                if heads == count {
                    return;
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Prefetch hint, third stage, for a coming [`DictModel::get_some`] of `count` entries
    /// starting at `draw` (whose bucket lines and chain heads' nodes the first two stages
    /// asked for): walk as `get_some` will, through the chains, and call `entry` with every
    /// element after a chain's head (the heads' entries were asked for by the second
    /// stage). Stops where `get_some` would draw again (a run of empty buckets).
    #[inline]
    pub fn prefetch_chains(&self, draw: u64, count: usize, mut entry: impl FnMut(u32)) {
        let count = count.min(self.used);
        let mask = self.mask();
        let mut i = draw as usize & mask;
        let mut seen = 0;
        for _ in 0..PREFETCH_SPAN {
            let head = self.buckets[i];
            if head != NIL {
                seen += 1;
                let mut cur = self.nodes.get(head as usize).map_or(NIL, |n| n.next);
                while cur != NIL && seen < count {
                    entry(cur);
                    seen += 1;
                    cur = self.nodes.get(cur as usize).map_or(NIL, |n| n.next);
                }
            }
            if seen >= count {
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// `dictGetRandomKey`: a random non-empty bucket, then a random element of its chain
    /// (slightly favouring elements of short chains, as Redis does).
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<u32> {
        if self.used == 0 {
            return None;
        }
        let mask = self.mask();
        let head = loop {
            let h = self.buckets[(rng.next_u64() as usize) & mask];
            if h != NIL {
                break h;
            }
        };
        let mut len = 0u64;
        let mut cur = head;
        while cur != NIL {
            len += 1;
            cur = self.nodes[cur as usize].next;
        }
        let mut k = rng.next_u64() % len;
        let mut cur = head;
        while k > 0 {
            cur = self.nodes[cur as usize].next;
            k -= 1;
        }
        Some(cur)
    }

    /// One `dictScan` step: appends the entries of the bucket at `cursor` to `out` and
    /// returns the next cursor (reverse-binary increment; 0 when the scan wrapped).
    pub fn scan(&self, cursor: u64, out: &mut Vec<u32>) -> u64 {
        if self.used == 0 {
            return 0;
        }
        let m0 = self.mask() as u64;
        let mut cur = self.buckets[(cursor & m0) as usize];
        while cur != NIL {
            out.push(cur);
            cur = self.nodes[cur as usize].next;
        }
        let mut v = cursor | !m0;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// Checks the model's internal consistency (every chain in its bucket, count right).
    pub fn check(&self) -> Result<(), String> {
        let mut n = 0;
        let mask = self.mask();
        for (b, &head) in self.buckets.iter().enumerate() {
            let mut cur = head;
            while cur != NIL {
                let node = self.nodes[cur as usize];
                if (node.hash as usize) & mask != b {
                    return Err(format!("slot {cur} in bucket {b} hashes elsewhere"));
                }
                n += 1;
                cur = node.next;
            }
        }
        if n != self.used {
            return Err(format!(
                "dict counts {} entries but chains hold {n}",
                self.used
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn h(i: u32) -> u64 {
        crate::key::mix64(i as u64)
    }

    #[test]
    fn grows_and_shrinks_like_redis() {
        let mut d = DictModel::new();
        d.insert(0, h(0));
        assert_eq!(d.slots(), 4);
        for i in 1..4 {
            d.insert(i, h(i));
        }
        assert_eq!(d.slots(), 4, "4 entries fit 4 buckets");
        d.insert(4, h(4));
        assert_eq!(d.slots(), 8, "the 5th entry grows the table (used >= size)");
        for i in 5..100 {
            d.insert(i, h(i));
        }
        d.check().unwrap();
        assert_eq!(d.slots(), 128);
        for i in 0..90 {
            d.remove(i);
        }
        d.check().unwrap();
        assert_eq!(d.len(), 10);
        assert_eq!(d.slots(), 16, "shrinks to the next power of two above used");
    }

    #[test]
    fn scan_visits_every_entry_once_per_cycle() {
        let mut d = DictModel::new();
        for i in 0..1000 {
            d.insert(i, h(i));
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = d.scan(cursor, &mut seen);
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn get_some_takes_whole_chains_from_consecutive_buckets() {
        let mut d = DictModel::new();
        for i in 0..1000 {
            d.insert(i, h(i));
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let mut out = Vec::new();
        d.get_some(&mut rng, 5, &mut out);
        assert_eq!(out.len(), 5);
        // The buckets of the sample are consecutive (mod size), as dictGetSomeKeys walks.
        let mask = d.slots() as u64 - 1;
        let mut b: Vec<u64> = out.iter().map(|&s| h(s) & mask).collect();
        b.dedup();
        for w in b.windows(2) {
            let gap = (w[1] + mask + 1 - w[0]) & mask;
            assert!(
                (1..=6).contains(&gap),
                "buckets {w:?} not a consecutive walk"
            );
        }
        assert!(d.random(&mut rng).is_some());
    }
}
