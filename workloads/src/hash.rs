//! Hashes and the tiny per-key RNG.
//!
//! * [`ycsb_fnv64`] — YCSB's `Utils.fnvhash64(long)`: FNV-1a 64 over the 8 bytes of the
//!   value, least significant byte first, then `Math.abs` (YCSB `core/.../Utils.java`).
//!   The scrambled Zipfian maps a rank to `ycsb_fnv64(rank) % n` with it.
//! * [`fnv1a64`] — plain FNV-1a 64 over a byte string. This is the documented hash that
//!   maps non-numeric keys of CSV traces to 64-bit ids (reproducible in any language:
//!   offset basis `0xcbf29ce484222325`, prime `0x100000001b3`).
//! * [`key_hash`] — a seeded 64-bit mix of `(seed, key, salt)`: per-key properties (size,
//!   volatility, TTL) are functions of it, so they are stable per key without a table.
//! * [`SplitMix64`] — Steele, Lea & Flood's SplitMix64 (OOPSLA 2014) as a `rand` RNG, seeded
//!   from a [`key_hash`], to draw a key's size from any `rand_distr` distribution.

use std::convert::Infallible;

/// FNV-1a 64-bit offset basis (Fowler–Noll–Vo; YCSB `Utils.FNV_OFFSET_BASIS_64`).
pub const FNV_OFFSET_BASIS_64: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime (YCSB `Utils.FNV_PRIME_64` = 1099511628211).
pub const FNV_PRIME_64: u64 = 0x0000_0100_0000_01b3;

/// YCSB's `fnvhash64(long)`: FNV-1a over the value's 8 bytes, low byte first, then the
/// absolute value as a Java `long` (so the result is below 2^63, except for the one input
/// whose hash is `Long.MIN_VALUE`, which Java's `Math.abs` leaves negative: we return its bit
/// pattern, 2^63, as YCSB's `% itemcount` would misbehave there anyway).
#[inline]
pub fn ycsb_fnv64(mut val: u64) -> u64 {
    let mut h = FNV_OFFSET_BASIS_64;
    for _ in 0..8 {
        h ^= val & 0xff;
        h = h.wrapping_mul(FNV_PRIME_64);
        val >>= 8;
    }
    (h as i64).wrapping_abs() as u64
}

/// FNV-1a 64 of a byte string (no `abs`): the id of a non-numeric key in CSV traces.
#[inline]
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET_BASIS_64;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME_64);
    }
    h
}

/// The SplitMix64 / MurmurHash3 `fmix64` finalizer (Steele et al. 2014).
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit hash of `(seed, key, salt)`; `salt` separates properties (size, TTL, …) of the
/// same key so they are independent.
#[inline]
pub fn key_hash(seed: u64, key: u64, salt: u64) -> u64 {
    mix64(mix64(seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) ^ key)
}

/// A uniform double in [0, 1) from the high 53 bits of `x`.
#[inline]
pub fn unit_f64(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// SplitMix64 as a `rand` RNG: small, fast to seed, good enough to draw one value per key.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next output.
    #[inline]
    pub fn next_u64_raw(&mut self) -> u64 {
        // SplitMix64's golden-ratio increment (Steele et al. 2014).
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
}

impl rand::TryRng for SplitMix64 {
    type Error = Infallible;
    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_u64_raw() >> 32) as u32)
    }
    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64_raw())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let v = self.next_u64_raw().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_published_vectors() {
        // Test vectors from the FNV reference (isthe.com/chongo/tech/comp/fnv): "" and "a".
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn ycsb_fnv_is_fnv1a_over_le_bytes_then_abs() {
        for v in [0u64, 1, 42, 123_456_789, u64::MAX / 3] {
            let h = fnv1a64(&v.to_le_bytes());
            assert_eq!(ycsb_fnv64(v), (h as i64).wrapping_abs() as u64, "{v}");
            assert!(ycsb_fnv64(v) < 1 << 63 || (h as i64) == i64::MIN);
        }
    }

    #[test]
    fn key_hash_depends_on_every_input() {
        let a = key_hash(1, 2, 3);
        assert_ne!(a, key_hash(0, 2, 3));
        assert_ne!(a, key_hash(1, 3, 3));
        assert_ne!(a, key_hash(1, 2, 4));
        assert_eq!(a, key_hash(1, 2, 3));
    }
}
