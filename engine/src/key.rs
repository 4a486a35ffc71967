//! Keys: compact byte strings with a canonical integer form.
//!
//! Redis keys are binary-safe strings. Traces, though, name objects by integer ids, and a
//! hit-rate replay at tens of millions of requests per second cannot afford to format each id
//! into a string and allocate it. [`Key`] therefore has three representations that are
//! **canonical**, so equal byte strings are always equal keys:
//!
//! * `Int(n)` — the byte string is the canonical decimal form of a `u64` (`"0"`, `"42"`, no
//!   sign, no leading zeros). Built for free from a trace id with [`Key::from_id`], and also
//!   produced by [`Key::from_bytes`] when the bytes happen to be such a decimal, so
//!   `Key::from_id(42) == Key::from_bytes(b"42")`.
//! * `Inline` — up to [`INLINE_CAP`] bytes stored in place (no heap allocation).
//! * `Heap` — longer byte strings, boxed.
//!
//! The same type is used for hash fields and set/sorted-set members.

use std::fmt;

/// The longest byte string stored without a heap allocation.
pub const INLINE_CAP: usize = 22;

/// A key (or field/member): a binary-safe byte string in canonical compact form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Int(u64),
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
}

impl Key {
    /// The key whose bytes are the decimal form of `id` (no allocation, no formatting).
    #[inline]
    pub const fn from_id(id: u64) -> Key {
        Key(Repr::Int(id))
    }

    /// The key with exactly these bytes.
    pub fn from_bytes(bytes: &[u8]) -> Key {
        if let Some(n) = parse_canonical_u64(bytes) {
            return Key(Repr::Int(n));
        }
        if bytes.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..bytes.len()].copy_from_slice(bytes);
            Key(Repr::Inline {
                len: bytes.len() as u8,
                buf,
            })
        } else {
            Key(Repr::Heap(bytes.into()))
        }
    }

    /// The integer id if this key is the canonical decimal form of a `u64`.
    #[inline]
    pub fn as_id(&self) -> Option<u64> {
        match self.0 {
            Repr::Int(n) => Some(n),
            _ => None,
        }
    }

    /// True if this key is the integer id `id` (one compare; the index's fast path).
    #[inline]
    pub fn is_id(&self, id: u64) -> bool {
        matches!(self.0, Repr::Int(n) if n == id)
    }

    /// Length of the key in bytes (the decimal digits for an integer key).
    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Int(n) => decimal_len(*n),
            Repr::Inline { len, .. } => *len as usize,
            Repr::Heap(b) => b.len(),
        }
    }

    /// True for the empty byte string.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the key's bytes (integer keys are formatted on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match &self.0 {
            Repr::Int(n) => {
                let mut buf = [0u8; 20];
                let s = format_u64(*n, &mut buf);
                f(s)
            }
            Repr::Inline { len, buf } => f(&buf[..*len as usize]),
            Repr::Heap(b) => f(b),
        }
    }

    /// The key's bytes as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// True when the key's bytes live on the heap (longer than [`INLINE_CAP`]).
    pub fn is_heap(&self) -> bool {
        matches!(self.0, Repr::Heap(_))
    }

    /// A 64-bit hash, identical in every process and run (no random seed), so that the
    /// Redis-dict sampling model and everything derived from hashes is reproducible.
    #[inline]
    pub fn hash64(&self) -> u64 {
        match &self.0 {
            Repr::Int(n) => mix64(*n),
            Repr::Inline { len, buf } => hash_bytes(&buf[..*len as usize]),
            Repr::Heap(b) => hash_bytes(b),
        }
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Key {
        Key::from_bytes(b)
    }
}
impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key::from_bytes(s.as_bytes())
    }
}
impl From<u64> for Key {
    fn from(n: u64) -> Key {
        Key::from_id(n)
    }
}

/// Keys order by their bytes (lexicographically), as Redis orders sorted-set members with
/// equal scores.
impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) if decimal_len(*a) == decimal_len(*b) => a.cmp(b),
            _ => self.with_bytes(|a| other.with_bytes(|b| a.cmp(b))),
        }
    }
}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_bytes(|b| write!(f, "{}", String::from_utf8_lossy(b)))
    }
}

/// A hash of an integer id: the 64-bit finalizer of MurmurHash3 (`fmix64`), a bijection
/// with good avalanche so the low bits (dict buckets) and the high bits (hashbrown's
/// control bytes) are both well distributed.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// Deterministic hash of a byte string (foldhash with a fixed seed).
#[inline]
pub fn hash_bytes(b: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5eed_e51c_71ab_0001).hash_one(b)
}

/// Number of decimal digits of `n`.
#[inline]
pub fn decimal_len(n: u64) -> usize {
    // floor(log10) from the bit length (1233/4096 ≈ log10 2), corrected by one compare.
    const POW10: [u64; 20] = {
        let mut t = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    let bits = 64 - (n | 1).leading_zeros();
    let guess = (bits * 1233) >> 12;
    ((guess as usize) + usize::from(n >= POW10[guess as usize])).max(1)
}

/// Writes `n` in decimal into the end of `buf` without allocating; returns the digits.
pub fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Parses `bytes` as a `u64` only if they are its canonical decimal form.
pub fn parse_canonical_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 || (bytes.len() > 1 && bytes[0] == b'0') {
        return None;
    }
    let mut n: u64 = 0;
    for &c in bytes {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_ids_and_their_decimal_bytes_are_the_same_key() {
        assert_eq!(Key::from_id(42), Key::from_bytes(b"42"));
        assert_eq!(Key::from_id(0), Key::from_bytes(b"0"));
        assert_eq!(
            Key::from_id(u64::MAX),
            Key::from_bytes(b"18446744073709551615")
        );
        assert_eq!(Key::from_id(42).hash64(), Key::from_bytes(b"42").hash64());
        // Non-canonical decimals stay byte strings.
        assert_eq!(Key::from_bytes(b"042").as_id(), None);
        assert_eq!(Key::from_bytes(b"-1").as_id(), None);
        assert_eq!(Key::from_bytes(b"18446744073709551616").as_id(), None);
    }

    #[test]
    fn lengths_and_bytes_round_trip() {
        for n in [0u64, 9, 10, 99, 100, 12345, u64::MAX] {
            let k = Key::from_id(n);
            assert_eq!(k.len(), n.to_string().len());
            assert_eq!(k.to_vec(), n.to_string().into_bytes());
        }
        let short = Key::from_bytes(b"user:1000:profile");
        assert!(!short.is_heap());
        assert_eq!(short.to_vec(), b"user:1000:profile");
        let long = Key::from_bytes(&[b'x'; 40]);
        assert!(long.is_heap());
        assert_eq!(long.len(), 40);
        assert_eq!(Key::from_bytes(b""), Key::from_bytes(b""));
        assert!(Key::from_bytes(b"").is_empty());
    }

    #[test]
    fn keys_order_by_bytes() {
        let mut v: Vec<Key> = ["b", "10", "9", "a", "100", "abc"]
            .iter()
            .map(|s| Key::from(*s))
            .collect();
        v.sort();
        let s: Vec<String> = v.iter().map(|k| k.to_string()).collect();
        assert_eq!(s, ["10", "100", "9", "a", "abc", "b"]);
    }

    #[test]
    fn decimal_len_matches_formatting() {
        let mut n = 1u64;
        for _ in 0..19 {
            for v in [n - 1, n, n + 1, n * 9, n * 10 - 1] {
                assert_eq!(decimal_len(v), v.to_string().len(), "{v}");
            }
            n *= 10;
        }
        assert_eq!(decimal_len(u64::MAX), 20);
    }

    #[test]
    fn key_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
    }
}
