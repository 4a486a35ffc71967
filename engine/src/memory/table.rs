//! The bucket arrays of one Redis 7.0 `dict`: their sizes, incremental rehashing and
//! resizing, as far as they decide the bytes `used_memory` counts.
//!
//! Redis 7.0 `src/dict.c`:
//! * a dict starts with no table; the first add allocates `DICT_HT_INITIAL_SIZE` (4) buckets
//!   without rehashing (`_dictExpand` on an empty dict);
//! * `_dictExpandIfNeeded` (called by every add): when not rehashing and
//!   `used >= size`, expand to the next power of two ≥ `used + 1` if `dict_can_resize`
//!   (no fork child) or `used / size > dict_force_resize_ratio` (5), and the dict type's
//!   `expandAllowed` agrees — for the keyspace and expires dicts that is server.c's
//!   `dictExpandAllowed`: below load `HASHTABLE_MAX_LOAD_FACTOR` (1.618) the expansion is
//!   refused when `used_memory + new table bytes > maxmemory`;
//! * an expansion allocates the second table (`ht_table[1]`) and moves buckets one step at
//!   a time (`_dictRehashStep` in `dictAddRaw`, `dictFind`, `dictGenericDelete`; each step
//!   moves one non-empty bucket, skipping up to 10 empty ones); both tables are counted
//!   until the old one is empty and freed;
//! * `serverCron` → `databasesCron` (no fork child): `tryResizeHashTables` shrinks a dict
//!   whose fill is below `HASHTABLE_MIN_FILL` (10 %, server.h) to the next power of two ≥
//!   `max(used, 4)` (`htNeedsResize`, `dictResize`), and `incrementallyRehash` spends 1 ms
//!   rehashing the main dict, or else the expires dict (`dictRehashMilliseconds`).
//!
//! Deviations (documented in `docs/memory.md`): a step is counted as one non-empty bucket
//! and the number of steps a rehash needs is the expected number of non-empty buckets of
//! the old table (`size × (1 − e^(−used/size))`, Poisson occupancy), since the lab's hash
//! function is not Redis's seeded SipHash; a cron millisecond is [`CRON_REHASH_STEPS`]
//! steps.

use super::jemalloc::{Quantum, alloc};

/// Redis `DICT_HT_INITIAL_SIZE`.
pub const INITIAL_SIZE: u64 = 4;
/// Redis 7.0 `dict_force_resize_ratio`.
pub const FORCE_RESIZE_RATIO: u64 = 5;
/// Redis `HASHTABLE_MIN_FILL` (server.h), in percent.
pub const MIN_FILL_PERCENT: u64 = 10;
/// Redis `HASHTABLE_MAX_LOAD_FACTOR` (server.c `dictExpandAllowed`).
pub const MAX_LOAD_FACTOR: f64 = 1.618;
/// Non-empty buckets one cron millisecond of `dictRehashMilliseconds` moves in the model
/// (Redis calls `dictRehash(d, 100)` until 1 ms has passed; ~100 ns per bucket).
pub const CRON_REHASH_STEPS: u64 = 10_000;

/// The tables of one dict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tables {
    /// Buckets of `ht_table[0]` (0 = not allocated yet).
    size0: u64,
    /// Buckets of `ht_table[1]` while rehashing, else 0.
    size1: u64,
    /// Entries (`ht_used[0] + ht_used[1]`).
    used: u64,
    /// Rehash steps left; > 0 exactly while rehashing.
    steps_left: u64,
}

impl Tables {
    /// Entries.
    pub fn used(&self) -> u64 {
        self.used
    }
    /// True while both tables exist.
    pub fn is_rehashing(&self) -> bool {
        self.size1 != 0
    }
    /// Buckets of the main table (`dictSlots` counts both while rehashing).
    pub fn slots(&self) -> u64 {
        self.size0 + self.size1
    }
    /// Bytes of the bucket arrays as zmalloc counts them.
    pub fn bytes(&self, q: Quantum) -> u64 {
        alloc(self.size0 * 8, q) + alloc(self.size1 * 8, q)
    }

    /// One `_dictRehashStep`, if rehashing.
    #[inline]
    pub fn step(&mut self) {
        if self.steps_left != 0 {
            self.steps_left -= 1;
            if self.steps_left == 0 {
                self.finish_rehash();
            }
        }
    }

    /// `dictFind` / `dictGenericDelete` on a non-empty dict: one step.
    #[inline]
    pub fn touch(&mut self) {
        if self.used != 0 {
            self.step();
        }
    }

    fn finish_rehash(&mut self) {
        self.size0 = self.size1;
        self.size1 = 0;
        self.steps_left = 0;
    }

    /// The new table size for `_dictExpandIfNeeded`, if an expansion is due now (before
    /// `expandAllowed`), with the load factor it is judged at.
    pub fn expansion_due(&self, can_resize: bool) -> Option<(u64, f64)> {
        if self.is_rehashing() || self.size0 == 0 || self.used < self.size0 {
            return None;
        }
        if !can_resize && self.used / self.size0 <= FORCE_RESIZE_RATIO {
            return None;
        }
        Some((
            (self.used + 1).next_power_of_two(),
            self.used as f64 / self.size0 as f64,
        ))
    }

    /// `dictAddRaw`: a rehash step, `_dictExpandIfNeeded` (`allowed` is the dict type's
    /// `expandAllowed` verdict for the expansion [`Tables::expansion_due`] reported), then
    /// one more entry.
    pub fn add(&mut self, can_resize: bool, allowed: impl FnOnce(u64, f64) -> bool) {
        self.step();
        if self.size0 == 0 {
            self.size0 = INITIAL_SIZE;
        } else if let Some((new_size, ratio)) = self.expansion_due(can_resize)
            && allowed(new_size * 8, ratio)
        {
            self.start_rehash(new_size);
        }
        self.used += 1;
    }

    /// `dictGenericDelete` of an existing entry: a step, one entry fewer.
    pub fn remove(&mut self) {
        self.step();
        self.used -= 1;
        if self.used == 0 && self.is_rehashing() {
            // dictRehash frees the old table as soon as it has no entry left.
            self.finish_rehash();
        }
    }

    fn start_rehash(&mut self, new_size: u64) {
        let load = self.used as f64 / self.size0 as f64;
        let nonempty = (self.size0 as f64 * (1.0 - (-load).exp())).round() as u64;
        self.size1 = new_size;
        self.steps_left = nonempty.max(1);
    }

    /// `tryResizeHashTables` for this dict (cron, no fork child).
    pub fn cron_resize(&mut self) {
        if self.is_rehashing()
            || self.size0 <= INITIAL_SIZE
            || self.used * 100 / self.size0 >= MIN_FILL_PERCENT
        {
            return;
        }
        let new_size = self.used.max(INITIAL_SIZE).next_power_of_two();
        if new_size != self.size0 {
            self.start_rehash(new_size);
        }
    }

    /// `dictRehashMilliseconds(d, 1)`: up to [`CRON_REHASH_STEPS`] steps. Returns true if
    /// it was rehashing (the cron's millisecond is spent).
    pub fn cron_rehash(&mut self) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        if self.steps_left <= CRON_REHASH_STEPS {
            self.finish_rehash();
        } else {
            self.steps_left -= CRON_REHASH_STEPS;
        }
        true
    }

    /// The tables of a dict created presized for `presize` entries (`dictExpand`; 0 = not
    /// presized), filled with `presize` entries, then grown by single adds to `n` entries,
    /// each add doing `steps_per_add` rehash steps (the dicts inside hashes, sets and sorted
    /// sets, which only commands on that key rehash): both tables are counted when the last
    /// expansion's rehash is still under way.
    pub fn built(n: u64, presize: u64, steps_per_add: u64) -> Tables {
        let mut t = Tables::settled(presize.min(n));
        if presize.min(n) == 0 {
            t = Tables::default();
        }
        for _ in t.used..n {
            for _ in 1..steps_per_add {
                t.touch();
            }
            t.add(true, |_, _| true);
        }
        t
    }

    /// The tables a dict holding `n` entries ends with once rehashing is done: the smallest
    /// power of two ≥ n (at least 4), none for an empty dict.
    pub fn settled(n: u64) -> Tables {
        Tables {
            size0: if n == 0 {
                0
            } else {
                n.max(INITIAL_SIZE).next_power_of_two()
            },
            size1: 0,
            used: n,
            steps_left: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_n(t: &mut Tables, n: u64) {
        for _ in 0..n {
            t.add(true, |_, _| true);
        }
    }

    #[test]
    fn grows_at_load_one_and_rehashes_incrementally() {
        let mut t = Tables::default();
        assert_eq!(t.bytes(Quantum::Q8), 0);
        add_n(&mut t, 4);
        assert_eq!((t.slots(), t.bytes(Quantum::Q8)), (4, 32));
        // The fifth add finds used == size: ht[1] of 8 buckets joins ht[0] of 4.
        add_n(&mut t, 1);
        assert!(t.is_rehashing());
        assert_eq!(t.bytes(Quantum::Q8), 32 + 64);
        // 4 × (1 − e^−1) ≈ 2.5 → 3 non-empty buckets to move; the add did none yet.
        t.step();
        t.step();
        assert!(t.is_rehashing());
        t.step();
        assert!(!t.is_rehashing());
        assert_eq!(t.bytes(Quantum::Q8), 64);
    }

    #[test]
    fn forced_growth_only_past_ratio_five_with_a_child() {
        let mut t = Tables::default();
        add_n(&mut t, 4);
        for _ in 0..20 {
            t.add(false, |_, _| true);
        }
        assert_eq!(
            t.slots(),
            4,
            "24 entries in 4 buckets: ratio 6 not yet checked"
        );
        t.add(false, |_, _| true);
        assert!(
            t.is_rehashing(),
            "used/size = 24/4 = 6 > 5 forces the expansion"
        );
    }

    #[test]
    fn expand_allowed_can_refuse() {
        let mut t = Tables::default();
        add_n(&mut t, 4);
        t.add(true, |more, ratio| {
            assert_eq!((more, ratio), (64, 1.0));
            false
        });
        assert_eq!(t.slots(), 4);
    }

    #[test]
    fn cron_shrinks_below_ten_percent_and_rehashes() {
        let mut t = Tables::default();
        add_n(&mut t, 1000);
        while t.is_rehashing() {
            t.cron_rehash();
        }
        assert_eq!(t.slots(), 1024);
        for _ in 0..950 {
            t.remove();
        }
        // 50 × 100 / 1024 = 4 < 10: shrink to the power of two ≥ 50.
        t.cron_resize();
        assert!(t.is_rehashing());
        assert_eq!(t.bytes(Quantum::Q8), 1024 * 8 + 64 * 8);
        t.cron_rehash();
        assert_eq!(t.slots(), 64);
        // 50 of 64 is well above 10 %: no further shrink.
        t.cron_resize();
        assert!(!t.is_rehashing());
    }

    #[test]
    fn built_dicts_may_still_be_rehashing() {
        // Presized for 513 (a set converted from an intset): 1024 buckets, no rehash.
        assert_eq!(Tables::built(513, 513, 1).slots(), 1024);
        // 1100 adds: the expansion at the 1025th add needs ~647 steps; 75 done so far.
        let t = Tables::built(1100, 513, 1);
        assert!(t.is_rehashing());
        assert_eq!(t.bytes(Quantum::Q8), 1024 * 8 + 2048 * 8);
        assert!(!Tables::built(1800, 513, 1).is_rehashing());
        assert_eq!(Tables::built(0, 0, 1).bytes(Quantum::Q8), 0);
    }

    #[test]
    fn settled_sizes() {
        assert_eq!(Tables::settled(0).bytes(Quantum::Q8), 0);
        assert_eq!(Tables::settled(3).slots(), 4);
        assert_eq!(Tables::settled(129).slots(), 256);
        assert_eq!(Tables::settled(256).slots(), 256);
    }
}
