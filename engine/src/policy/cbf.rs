//! libCacheSim's frequency estimator for W-TinyLFU: a counting Bloom filter
//! (`dataStructure/minimalIncrementCBF.c`, libCacheSim 0.3.5), reproduced bit for bit so
//! that the lab's `w-tinylfu` admits exactly the candidates libCacheSim admits.
//!
//! * Sized for `entries` keys at false-positive rate `error` (W-TinyLFU passes the main
//!   cache's size and 0.001): `bpe = −ln(error) / ln(2)²` counters per entry,
//!   `hashes = ⌈ln 2 × bpe⌉` (10 at 0.001), `counters = ⌈bpe × entries⌉` (at least
//!   `2 × hashes`); 32-bit counters.
//! * A key's counters are `(a + i·b) mod counters` for `i < hashes` in 32-bit unsigned
//!   arithmetic, where `a` and `b` are the low 32 bits of XXH64 of the key's 8-byte id
//!   (little-endian) with seeds `0x12345678` and `0x12344321` (libCacheSim's `HASH_SEED0`,
//!   `HASH_SEED1`).
//! * `add` increments *all* of the key's counters (despite the file's name, the conditional
//!   "minimal increment" is not what its loop does); `estimate` is their minimum; `decay`
//!   halves every counter.
//!
//! Keys that are not integer ids are hashed by their bytes (libCacheSim only has ids).

/// XXH64 primes (Collet, xxHash specification).
const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

const SEED0: u64 = 0x1234_5678;
const SEED1: u64 = 0x1234_4321;

/// XXH64 of the 8 little-endian bytes of `v` (the specification's path for inputs shorter
/// than 32 bytes: one 8-byte lane, then the avalanche).
#[inline]
pub fn xxh64_u64(v: u64, seed: u64) -> u64 {
    let mut h = seed.wrapping_add(P5).wrapping_add(8);
    let k = v.wrapping_mul(P2).rotate_left(31).wrapping_mul(P1);
    h ^= k;
    h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
    avalanche(h)
}

#[inline]
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^= h >> 32;
    h
}

/// libCacheSim's counting Bloom filter (see the module docs).
#[derive(Clone, Debug)]
pub struct CountingBloom {
    counters: Vec<u32>,
    hashes: u32,
}

impl CountingBloom {
    /// A filter for `entries` keys at false-positive rate `error`, as libCacheSim sizes it.
    // libCacheSim's own truncated constants (not `LN_2`), so that the sizes round the same.
    #[allow(clippy::approx_constant)]
    pub fn new(entries: u64, error: f64) -> CountingBloom {
        let bpe = -error.ln() / 0.480_453_013_918_201; // ln(2)²
        let hashes = (0.693_147_180_559_945 * bpe).ceil() as u32; // ln 2
        let mut n = (bpe * entries as f64).ceil().min(i32::MAX as f64) as u32;
        if n < hashes {
            n = hashes * 2;
        }
        CountingBloom {
            counters: vec![0; n as usize],
            hashes,
        }
    }

    /// Number of counters.
    pub fn len(&self) -> usize {
        self.counters.len()
    }

    /// Always false (a filter has at least `2 × hashes` counters).
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// Number of hash functions.
    pub fn hashes(&self) -> u32 {
        self.hashes
    }

    #[inline]
    fn indices(&self, id: u64) -> impl Iterator<Item = usize> + use<> {
        let a = xxh64_u64(id, SEED0) as u32;
        let b = xxh64_u64(id, SEED1) as u32;
        let n = self.counters.len() as u32;
        (0..self.hashes).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) % n) as usize)
    }

    /// The estimated count of `id`: the minimum of its counters.
    #[inline]
    pub fn estimate(&self, id: u64) -> u32 {
        self.indices(id)
            .map(|x| self.counters[x])
            .min()
            .unwrap_or(0)
    }

    /// Counts one more occurrence of `id` (every one of its counters).
    #[inline]
    pub fn add(&mut self, id: u64) {
        for x in self.indices(id) {
            self.counters[x] = self.counters[x].wrapping_add(1);
        }
    }

    /// Halves every counter.
    pub fn decay(&mut self) {
        for c in &mut self.counters {
            *c >>= 1;
        }
    }
}

/// The 64-bit id libCacheSim would hash for this key: the integer id itself, else a hash of
/// the key's bytes (XXH64-based, seed 0).
pub fn key_id(key: &crate::Key) -> u64 {
    key.as_id().unwrap_or_else(|| {
        key.with_bytes(|b| {
            b.chunks(8).fold(b.len() as u64, |h, c| {
                let mut lane = [0u8; 8];
                lane[..c.len()].copy_from_slice(c);
                xxh64_u64(u64::from_le_bytes(lane) ^ h, 0)
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_matches_the_reference_vectors() {
        // Computed by an independent Python transcription of the xxHash specification (the
        // one whose W-TinyLFU reproduced libCacheSim's hit sequence request for request).
        assert_eq!(xxh64_u64(0, 0), 0x34C9_6ACD_CADB_1BBB);
        assert_eq!(xxh64_u64(1, 0), 0x9F29_CB17_A2A4_9995);
        assert_eq!(xxh64_u64(42, SEED0), 0xF78B_4AD5_3460_7625);
    }

    #[test]
    fn sized_like_libcachesim() {
        let f = CountingBloom::new(1000, 0.001);
        assert_eq!(f.hashes(), 10);
        assert_eq!(f.len(), 14_378); // ⌈14.3775… × 1000⌉
        let tiny = CountingBloom::new(0, 0.001);
        assert_eq!(tiny.len(), 20);
    }

    #[test]
    fn counts_and_halves() {
        let mut f = CountingBloom::new(100, 0.001);
        for _ in 0..5 {
            f.add(42);
        }
        f.add(7);
        assert_eq!(f.estimate(42), 5);
        assert_eq!(f.estimate(7), 1);
        assert_eq!(f.estimate(8), 0);
        f.decay();
        assert_eq!((f.estimate(42), f.estimate(7)), (2, 0));
    }
}
