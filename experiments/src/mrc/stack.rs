//! The LRU stack behind the exact miss-ratio curve: each object's last access time is a bit
//! in a bitmap over timestamps with a Fenwick tree of per-word counts (Bennett & Kruskal's
//! distance computation, see the [`super`] docs), holes left by DELETEs, and compaction of
//! the timeline. `Stack::access` returns a request's stack distance in objects (and bytes).

use std::collections::BinaryHeap;
use std::ops::{AddAssign, SubAssign};

use crate::workload::FastMap;

/// A Fenwick (binary indexed) tree of prefix sums over positions `0..len`.
#[derive(Debug)]
pub(super) struct Fenwick<T> {
    /// 1-based: `t[i]` sums positions `(i - lowbit(i), i]` (1-based), `t[0]` unused.
    t: Vec<T>,
}

impl<T: Copy + Default + AddAssign + SubAssign> Fenwick<T> {
    pub(super) fn new(len: usize) -> Self {
        Fenwick {
            t: vec![T::default(); len + 1],
        }
    }

    pub(super) fn len(&self) -> usize {
        self.t.len() - 1
    }

    #[inline]
    pub(super) fn add(&mut self, pos: usize, v: T) {
        let mut i = pos + 1;
        while i < self.t.len() {
            self.t[i] += v;
            i += i & i.wrapping_neg();
        }
    }

    #[inline]
    pub(super) fn sub(&mut self, pos: usize, v: T) {
        let mut i = pos + 1;
        while i < self.t.len() {
            self.t[i] -= v;
            i += i & i.wrapping_neg();
        }
    }

    /// Σ positions `0..=pos`.
    #[inline]
    pub(super) fn prefix(&self, pos: usize) -> T {
        let mut i = pos + 1;
        let mut s = T::default();
        while i > 0 {
            s += self.t[i];
            i &= i - 1;
        }
        s
    }

    /// Rebuilds the tree from per-position values in O(len) (`values.len() == len`).
    pub(super) fn rebuild(&mut self, values: &[T]) {
        let n = self.len();
        self.t[0] = T::default();
        self.t[1..].copy_from_slice(&values[..n]);
        for i in 1..=n {
            let j = i + (i & i.wrapping_neg());
            if j <= n {
                let v = self.t[i];
                self.t[j] += v;
            }
        }
    }
}

/// Where an object sits in the stack: its last access time and its cached size.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    ts: u32,
    size: u32,
}

/// The LRU stack. Each object's last access time is a set bit in a bitmap over timestamps;
/// a Fenwick tree counts the set bits per 64-bit word, so "marks after `t0`" is a popcount
/// in `t0`'s word plus a prefix sum over 64× fewer entries than timestamps (the tree and the
/// bitmap stay in cache). When byte distances are wanted, a second Fenwick tree holds each
/// mark's size per timestamp.
pub(super) struct Stack {
    marks: Marks,
    /// Timestamps of holes left by DELETEs (marks without a key), most recent on top.
    holes: BinaryHeap<u32>,
    bytes: Option<Fenwick<u64>>,
    last: FastMap<u64, Slot>,
    /// The next timestamp; `len` is the end of the timeline.
    now: u32,
    len: u32,
    live_bytes: u64,
    /// Compaction scratch: per-timestamp sizes, per-word counts.
    scratch_bytes: Vec<u64>,
    scratch_words: Vec<u32>,
    scratch_holes: Vec<u32>,
}

/// The set of last-access timestamps: a bitmap and a Fenwick tree of per-word counts.
pub(super) struct Marks {
    bits: Vec<u64>,
    words: Fenwick<u32>,
    /// The key whose mark is at each timestamp (for compaction without sorting).
    keys_at: Vec<u64>,
    live: u32,
}

impl Marks {
    #[inline]
    pub(super) fn mark(&mut self, t: u32, key: u64) {
        let (w, b) = ((t / 64) as usize, t % 64);
        self.bits[w] |= 1 << b;
        self.words.add(w, 1);
        self.keys_at[t as usize] = key;
    }

    #[inline]
    pub(super) fn unmark(&mut self, t: u32) {
        let (w, b) = ((t / 64) as usize, t % 64);
        self.bits[w] &= !(1 << b);
        self.words.sub(w, 1);
    }

    /// Marks strictly after `t` (the distinct objects used since `t`).
    #[inline]
    pub(super) fn after(&self, t: u32) -> u32 {
        let (w, b) = ((t / 64) as usize, t % 64);
        let in_word = (self.bits[w] >> b >> 1).count_ones();
        self.live - self.words.prefix(w) + in_word
    }
}

impl Stack {
    /// A stack expected to hold up to `objects` objects at once.
    pub(super) fn new(objects: usize, track_bytes: bool) -> Stack {
        let mut s = Stack {
            marks: Marks {
                bits: Vec::new(),
                words: Fenwick::new(0),
                keys_at: Vec::new(),
                live: 0,
            },
            holes: BinaryHeap::with_capacity(1024),
            bytes: None,
            last: FastMap::with_capacity_and_hasher(
                objects + 1,
                foldhash::fast::FixedState::default(),
            ),
            now: 0,
            len: 0,
            live_bytes: 0,
            scratch_bytes: Vec::new(),
            scratch_words: Vec::new(),
            scratch_holes: Vec::with_capacity(1024),
        };
        // Compaction runs every (len - live) accesses: 4× the objects keeps it rare.
        s.resize((objects.max(1) * 4).max(4096), track_bytes);
        s
    }

    pub(super) fn resize(&mut self, len: usize, track_bytes: bool) {
        let len = len.div_ceil(64) * 64;
        self.len = u32::try_from(len).expect("fewer than 2^32 timestamps");
        self.marks.bits = vec![0; len / 64];
        self.marks.words = Fenwick::new(len / 64);
        self.marks.keys_at = vec![0; len];
        self.scratch_words = vec![0; len / 64];
        self.bytes = track_bytes.then(|| Fenwick::new(len));
        self.scratch_bytes = if track_bytes {
            vec![0; len]
        } else {
            Vec::new()
        };
    }

    /// Objects in the stack (holes not counted).
    pub(super) fn live(&self) -> usize {
        self.marks.live as usize - self.holes.len()
    }

    pub(super) fn contains(&self, key: u64) -> bool {
        self.last.contains_key(&key)
    }

    /// Makes `key` most recent. Returns `None` on its first use (or first since removal),
    /// else `(depth, bytes)`: the distinct objects used since its previous use, and their
    /// sizes plus its own cached size. `set` replaces the cached size with `size`.
    #[inline]
    pub(super) fn access(&mut self, key: u64, size: u32, set: bool) -> Option<(u64, u64)> {
        if self.now == self.len {
            self.compact();
        }
        let now = self.now;
        self.now += 1;
        match self.last.get_mut(&key) {
            Some(slot) => {
                let depth = self.marks.after(slot.ts);
                // The most recent hole above the key sinks into the key's old place (the
                // caches it was in fill it with this key without evicting); else the key's
                // old mark goes.
                match self.holes.peek() {
                    Some(&h) if h > slot.ts => {
                        self.holes.pop();
                        self.marks.unmark(h);
                        self.holes.push(slot.ts);
                    }
                    _ => self.marks.unmark(slot.ts),
                }
                self.marks.mark(now, key);
                let mut dist = 0;
                if let Some(b) = self.bytes.as_mut() {
                    let old = slot.size as u64;
                    dist = self.live_bytes - b.prefix(slot.ts as usize) + old;
                    if set {
                        slot.size = size;
                    }
                    b.sub(slot.ts as usize, old);
                    b.add(now as usize, slot.size as u64);
                    self.live_bytes = self.live_bytes - old + slot.size as u64;
                }
                slot.ts = now;
                Some((depth as u64, dist))
            }
            None => {
                self.last.insert(key, Slot { ts: now, size });
                // A new key fills the most recent hole in every cache that has one.
                match self.holes.pop() {
                    Some(h) => self.marks.unmark(h),
                    None => self.marks.live += 1,
                }
                self.marks.mark(now, key);
                if let Some(b) = self.bytes.as_mut() {
                    b.add(now as usize, size as u64);
                    self.live_bytes += size as u64;
                }
                None
            }
        }
    }

    /// A DELETE: `key` leaves every cache it is in, leaving a hole (a free slot) there.
    /// The hole keeps the key's mark, so it still counts in the depth of the keys below it
    /// (a cache of C objects with a hole holds C − 1 of them), until a miss fills it (see
    /// [`Stack::access`]). Byte distances drop the key's size at once (see the module doc).
    pub(super) fn delete(&mut self, key: u64) {
        if let Some(slot) = self.last.remove(&key) {
            self.holes.push(slot.ts);
            if let Some(b) = self.bytes.as_mut() {
                b.sub(slot.ts as usize, slot.size as u64);
                self.live_bytes -= slot.size as u64;
            }
        }
    }

    /// Removes `key` from the stack entirely (SHARDS no longer sampling it).
    pub(super) fn remove(&mut self, key: u64) {
        if let Some(slot) = self.last.remove(&key) {
            self.marks.live -= 1;
            self.marks.unmark(slot.ts);
            if let Some(b) = self.bytes.as_mut() {
                b.sub(slot.ts as usize, slot.size as u64);
                self.live_bytes -= slot.size as u64;
            }
        }
    }

    /// Renumbers the live marks `0..live` in time order (scanning the bitmap, so no sort),
    /// doubling the timeline first if it was more than half full so compactions stay rare.
    pub(super) fn compact(&mut self) {
        if self.marks.live as usize * 2 > self.len as usize {
            // Move the marks and their keys into the grown arrays.
            let old_bits = std::mem::take(&mut self.marks.bits);
            let old_keys = std::mem::take(&mut self.marks.keys_at);
            let track = self.bytes.is_some();
            self.resize(self.len as usize * 2, track);
            self.marks.bits[..old_bits.len()].copy_from_slice(&old_bits);
            self.marks.keys_at[..old_keys.len()].copy_from_slice(&old_keys);
        }
        let track = self.bytes.is_some();
        if track {
            self.scratch_bytes.fill(0);
        }
        self.scratch_holes.clear();
        self.scratch_holes.extend(self.holes.drain());
        self.scratch_holes.sort_unstable();
        let mut holes = self.scratch_holes.iter().copied().peekable();
        let m = &mut self.marks;
        let mut next = 0usize;
        for w in 0..m.bits.len() {
            let mut word = m.bits[w];
            m.bits[w] = 0;
            while word != 0 {
                let t = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if holes.next_if_eq(&(t as u32)).is_some() {
                    self.holes.push(next as u32);
                    next += 1;
                    continue;
                }
                let key = m.keys_at[t];
                let slot = self
                    .last
                    .get_mut(&key)
                    .expect("every mark belongs to a live key");
                slot.ts = next as u32;
                if track {
                    self.scratch_bytes[next] = slot.size as u64;
                }
                m.keys_at[next] = key;
                next += 1;
            }
        }
        debug_assert_eq!(next, m.live as usize);
        // Marks 0..live: full words, then a partial one.
        let full = next / 64;
        m.bits[..full].fill(u64::MAX);
        if !next.is_multiple_of(64) {
            m.bits[full] = (1u64 << (next % 64)) - 1;
        }
        for (c, w) in self.scratch_words.iter_mut().zip(&m.bits) {
            *c = w.count_ones();
        }
        m.words.rebuild(&self.scratch_words);
        if let Some(b) = self.bytes.as_mut() {
            b.rebuild(&self.scratch_bytes);
        }
        self.now = m.live;
    }
}
