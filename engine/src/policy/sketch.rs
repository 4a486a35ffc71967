//! TinyLFU's frequency sketch: a count-min sketch of 4-bit counters with periodic aging,
//! and an optional doorkeeper.
//!
//! Source: Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission Policy",
//! ACM TOS 13(4) 2017, §3.2–3.4 (approximate counting, the *reset* aging that halves every
//! counter after `W` samples, the doorkeeper); the layout is Caffeine's simulator
//! `admission/countmin4/CountMin4.java` + `PeriodicResetCountMin4.java`:
//!
//! * the table is `2^k` 64-bit words of sixteen 4-bit counters, `2^k` = the next power of two
//!   of the expected number of entries (Caffeine: `countersMultiplier` 1.0 × maximum size);
//! * depth 4: an item picks one word per row with four multiplicative hashes (Caffeine's seeds
//!   `0xc3a5c85c97cb3127`, `0xb492b66fbe98f273`, `0x9ae16a3b2f90404f`, `0xcbf29ce484222325`)
//!   and, inside each word, counter `start + i` where `start = (hash & 3) * 4`;
//! * an increment raises the four counters that are below 15 ("regular" increment, not
//!   conservative); only an increment that changed something counts as a sample;
//! * after `sample_size` samples every counter is halved, and the sample count becomes
//!   `(samples − odd/4) / 2` where `odd` counts the counters that were odd (the truncation
//!   correction of Caffeine's `tryReset`).
//!
//! Deviations: the item hash is the key's 64-bit [`crate::Key::hash64`] (Caffeine spreads a
//! 32-bit `hashCode`); the sample size is `sample_factor × expected entries` (the brief and
//! Caffeine's production `FrequencySketch`: 10 × maximum), where Caffeine's simulator uses
//! 10 × the table length (the next power of two). The doorkeeper is a Bloom filter of
//! 8 bits per expected entry probed 3 times (Caffeine's simulator uses Guava's Bloom filter
//! sized by its own settings); it is cleared at every reset, as in Caffeine.
//!
//! Memory: `8 × next_pow2(entries)` bytes (+ `next_pow2(entries)` bytes with a doorkeeper).

/// Caffeine `CountMin4.SEED`: "a mixture of seeds from FNV-1a, CityHash, and Murmur3".
const SEED: [u64; 4] = [
    0xc3a5_c85c_97cb_3127,
    0xb492_b66f_be98_f273,
    0x9ae1_6a3b_2f90_404f,
    0xcbf2_9ce4_8422_2325,
];
/// Caffeine `CountMin4.RESET_MASK`: clears the top bit of every nibble after a shift.
const RESET_MASK: u64 = 0x7777_7777_7777_7777;
/// Caffeine `PeriodicResetCountMin4.ONE_MASK`: the low bit of every nibble.
const ONE_MASK: u64 = 0x1111_1111_1111_1111;

/// A count-min sketch of 4-bit counters with reset aging and an optional doorkeeper.
#[derive(Clone, Debug)]
pub struct FrequencySketch {
    table: Vec<u64>,
    mask: u64,
    entries: u64,
    sample_factor: u64,
    sample_size: u64,
    additions: u64,
    resets: u64,
    doorkeeper: Option<Vec<u64>>,
}

impl FrequencySketch {
    /// A sketch for about `entries` distinct hot items, aging after `sample_factor × entries`
    /// samples.
    pub fn new(entries: u64, sample_factor: u64, doorkeeper: bool) -> FrequencySketch {
        let mut s = FrequencySketch {
            table: Vec::new(),
            mask: 0,
            entries: 0,
            sample_factor: sample_factor.max(1),
            sample_size: 0,
            additions: 0,
            resets: 0,
            doorkeeper: doorkeeper.then(Vec::new),
        };
        s.ensure_capacity(entries);
        s
    }

    /// The number of entries the sketch is sized for.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// How many times the counters were halved.
    pub fn resets(&self) -> u64 {
        self.resets
    }

    /// Resizes for `entries` items if that needs a larger table, forgetting every count
    /// (as Caffeine's `ensureCapacity` does).
    pub fn ensure_capacity(&mut self, entries: u64) {
        // Caffeine caps the table at `Integer.MAX_VALUE >>> 1` words; 2^30 is the same order.
        let entries = entries.clamp(1, 1 << 30);
        if entries <= self.entries {
            return;
        }
        let words = entries.next_power_of_two();
        self.entries = entries;
        self.table = vec![0; words as usize];
        self.mask = words - 1;
        self.sample_size = self.sample_factor.saturating_mul(entries);
        self.additions = 0;
        if let Some(d) = &mut self.doorkeeper {
            // 8 bits per entry, at least one word.
            *d = vec![0; (words / 8).max(1) as usize];
        }
    }

    #[inline]
    fn index(&self, hash: u64, i: usize) -> usize {
        let mut h = SEED[i].wrapping_mul(hash);
        h = h.wrapping_add(h >> 32);
        (h & self.mask) as usize
    }

    #[inline]
    fn spread(hash: u64) -> u64 {
        // Fold the high half in so the low bits (`start`) depend on the whole hash.
        hash ^ (hash >> 32)
    }

    /// The estimated frequency of `hash` (0..=15).
    #[inline]
    pub fn frequency(&self, hash: u64) -> u8 {
        let h = Self::spread(hash);
        let start = ((h & 3) << 2) as u32;
        let mut f = 15u64;
        for i in 0..4 {
            let word = self.table[self.index(h, i)];
            f = f.min((word >> ((start + i as u32) << 2)) & 0xf);
        }
        if self.door_contains(h) {
            f += 1;
        }
        f.min(15) as u8
    }

    /// Records one occurrence of `hash`.
    #[inline]
    pub fn increment(&mut self, hash: u64) {
        let h = Self::spread(hash);
        if self.doorkeeper.is_some() && self.door_put(h) {
            // First sighting since the last reset: only the doorkeeper remembers it.
            return;
        }
        let start = ((h & 3) << 2) as u32;
        let mut added = false;
        for i in 0..4 {
            let idx = self.index(h, i);
            let shift = (start + i as u32) << 2;
            let word = self.table[idx];
            if (word >> shift) & 0xf != 0xf {
                self.table[idx] = word + (1u64 << shift);
                added = true;
            }
        }
        if added {
            self.additions += 1;
            if self.additions >= self.sample_size {
                self.reset();
            }
        }
    }

    /// Halves every counter (TinyLFU's reset) and clears the doorkeeper.
    fn reset(&mut self) {
        let mut odd = 0u64;
        for w in &mut self.table {
            odd += u64::from((*w & ONE_MASK).count_ones());
            *w = (*w >> 1) & RESET_MASK;
        }
        self.additions = (self.additions - (odd >> 2)) >> 1;
        self.resets += 1;
        if let Some(d) = &mut self.doorkeeper {
            d.fill(0);
        }
    }

    #[inline]
    fn door_bits(&self, h: u64) -> [u64; 3] {
        // Kirsch–Mitzenmacher double hashing over the doorkeeper's bits.
        let bits = self.doorkeeper.as_ref().map_or(64, |d| d.len() as u64 * 64);
        let h1 = h;
        let h2 = h.rotate_left(31).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        [0u64, 1, 2].map(|k| h1.wrapping_add(k.wrapping_mul(h2)) & (bits - 1))
    }

    #[inline]
    fn door_contains(&self, h: u64) -> bool {
        let Some(d) = &self.doorkeeper else {
            return false;
        };
        self.door_bits(h)
            .iter()
            .all(|&b| d[(b >> 6) as usize] & (1 << (b & 63)) != 0)
    }

    /// Sets the doorkeeper bits of `h`; true if any was unset (a new item).
    #[inline]
    fn door_put(&mut self, h: u64) -> bool {
        let bits = self.door_bits(h);
        let Some(d) = &mut self.doorkeeper else {
            return false;
        };
        let mut new = false;
        for b in bits {
            let (w, m) = ((b >> 6) as usize, 1u64 << (b & 63));
            new |= d[w] & m == 0;
            d[w] |= m;
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::mix64;

    #[test]
    fn counts_saturate_at_15() {
        let mut s = FrequencySketch::new(1024, 10, false);
        let h = mix64(42);
        for n in 1..=20u64 {
            s.increment(h);
            assert_eq!(u64::from(s.frequency(h)), n.min(15));
        }
        assert_eq!(
            s.frequency(mix64(43)),
            0,
            "an unseen key, in a near-empty sketch"
        );
    }

    #[test]
    fn reset_halves_after_the_sample_size() {
        // 1024 entries × factor 1 = 1024 samples (a wide table keeps collisions rare).
        let mut s = FrequencySketch::new(1024, 1, false);
        let hot = mix64(1);
        for _ in 0..9 {
            s.increment(hot);
        }
        assert_eq!(s.frequency(hot), 9);
        let mut i = 100;
        while s.resets() == 0 {
            s.increment(mix64(i));
            i += 1;
        }
        // 9 halves to 4 (collisions can only raise a count-min estimate, by a little).
        assert!((4..=5).contains(&s.frequency(hot)), "{}", s.frequency(hot));
        assert_eq!(s.resets(), 1);
        // 9 hot increments + every distinct key until the 1024th counted sample.
        assert_eq!(i - 100 + 9, 1024);
    }

    #[test]
    fn doorkeeper_absorbs_the_first_occurrence() {
        let mut s = FrequencySketch::new(1024, 10, true);
        let h = mix64(7);
        assert_eq!(s.frequency(h), 0);
        s.increment(h); // only the doorkeeper
        assert_eq!(s.frequency(h), 1);
        s.increment(h); // now the counters
        assert_eq!(s.frequency(h), 2);
        assert_eq!(s.table.iter().map(|w| w.count_ones()).sum::<u32>(), 4);
    }
}
