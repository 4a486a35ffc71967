//! `lab-memory-mode echovault`: EchoVault's own estimate of the memory it uses.
//!
//! Source: `../shared/reference/echovault.md`; EchoVault (SugarDB) `internal/types.go`
//! `KeyData.GetMem`, `sugardb/keyspace.go` `setValues` / `deleteKey`, and the sets' and
//! sorted sets' `GetMem`, at commit b0744d9. EchoVault does not measure its heap: it keeps a
//! counter `memUsed` that each stored key adds to, and compares it with `--max-memory`.
//! Per key:
//!
//! ```text
//! 24                               the expiry (a Go time.Time, present even when zero)
//! + value                          string: 16 (header) + its length; int or float: 8;
//!                                  hash: 8 + Σ (16 + field length + value as above);
//!                                  list: Σ (16 + element length);
//!                                  set: 16 + Σ (16 + member length + 16);
//!                                  sorted set: see below
//! + 16 + key length                the key
//! ```
//!
//! Deviations:
//! * **overwrites** subtract the old value's estimate. EchoVault's `setValues` adds the new
//!   estimate without subtracting the old one (and `deleteKey` later subtracts only the
//!   current value's), so its counter drifts upward with every overwrite; this departure
//!   of its code from its own accounting is stated in the report, not modelled.
//! * a payload is "int or float" (8 bytes) when it is one in the lab: an integer payload,
//!   or materialized bytes that read as a decimal number. A sized payload (no bytes) is a
//!   string. Hash field values are always counted as strings.
//! * sorted sets: no `GetMem` of EchoVault's sorted set was read; modelled as the set's
//!   formula plus 8 bytes per score (an assumption, not EchoVault's code).

use crate::keyspace::{Entry, Slot};
use crate::value::{Blob, Value};

/// `unsafe.Sizeof(time.Time)`: the expiry field of every key.
pub const EXPIRE_FIELD: u64 = 24;
/// `unsafe.Sizeof(string)`: a Go string header (pointer + length).
pub const STRING_HEADER: u64 = 16;
/// An `int`, `int64` or `float64` value.
pub const NUMBER: u64 = 8;
/// `unsafe.Sizeof(map)`: a map header (a pointer).
pub const MAP_HEADER: u64 = 8;
/// `unsafe.Sizeof(interface{})`: an interface value (a set member's value).
pub const INTERFACE: u64 = 16;

/// EchoVault's estimate of a string payload.
pub fn blob_estimate(b: &Blob) -> u64 {
    let number = match b {
        Blob::Int(_) => true,
        Blob::Bytes(bytes) => is_decimal_number(bytes),
        Blob::Sized(_) => false,
    };
    if number {
        NUMBER
    } else {
        STRING_HEADER + b.len()
    }
}

/// Digits with an optional sign, fraction and exponent (what EchoVault stores as a number).
fn is_decimal_number(b: &[u8]) -> bool {
    let s = match std::str::from_utf8(b) {
        Ok(s) => s,
        Err(_) => return false,
    };
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E'))
        && s.bytes().any(|c| c.is_ascii_digit())
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// EchoVault's estimate of a value.
pub fn value_estimate(v: &Value) -> u64 {
    match v {
        Value::Str(b) => blob_estimate(b),
        Value::Hash(h) => MAP_HEADER + h.len() as u64 * 2 * STRING_HEADER + h.bytes(),
        Value::List(l) => l.len() as u64 * STRING_HEADER + l.bytes(),
        // The set's own pointer + its map header; per member a string and an interface.
        Value::Set(s) => 2 * MAP_HEADER + s.len() as u64 * (STRING_HEADER + INTERFACE) + s.bytes(),
        // `ZSetValue::bytes` already counts 8 per score (module doc: an assumption).
        Value::ZSet(z) => 2 * MAP_HEADER + z.len() as u64 * (STRING_HEADER + INTERFACE) + z.bytes(),
    }
}

/// EchoVault's estimate of one key: expiry field + value + key.
pub fn key_estimate(key_len: usize, value: &Value) -> u64 {
    EXPIRE_FIELD + value_estimate(value) + STRING_HEADER + key_len as u64
}

/// EchoVault's estimate of a key holding the string `b`.
pub fn string_key_estimate(key_len: usize, b: &Blob) -> u64 {
    EXPIRE_FIELD + blob_estimate(b) + STRING_HEADER + key_len as u64
}

/// EchoVault's `memUsed` for the keyspace, kept in step with it by the engine.
#[derive(Clone, Debug, Default)]
pub struct EchovaultMemory {
    slots: Vec<u64>,
    sum: u64,
}

impl EchovaultMemory {
    /// `memUsed`.
    #[inline]
    pub fn used(&self) -> u64 {
        self.sum
    }

    /// The estimate charged for `slot`.
    #[inline]
    pub fn slot_bytes(&self, slot: Slot) -> u64 {
        self.slots.get(slot as usize).copied().unwrap_or(0)
    }

    /// A key was stored in `slot`.
    pub fn on_insert(&mut self, slot: Slot, e: &Entry) {
        let s = slot as usize;
        if s >= self.slots.len() {
            self.slots.resize((s + 1).next_power_of_two().max(64), 0);
        }
        let bytes = key_estimate(e.key.len(), &e.value);
        self.slots[s] = bytes;
        self.sum += bytes;
    }

    /// The value (or TTL) in `slot` changed.
    pub fn on_change(&mut self, slot: Slot, e: &Entry) {
        let bytes = key_estimate(e.key.len(), &e.value);
        let s = slot as usize;
        self.sum = self.sum - self.slots[s] + bytes;
        self.slots[s] = bytes;
    }

    /// The key in `slot` is gone.
    pub fn on_remove(&mut self, slot: Slot) {
        let s = slot as usize;
        self.sum -= self.slots[s];
        self.slots[s] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;
    use crate::value::{HashValue, ListValue, SetValue};

    #[test]
    fn strings_numbers_and_keys_as_echovault_counts_them() {
        // SET user:1 hello: 24 + (16 + 5) + (16 + 6).
        assert_eq!(string_key_estimate(6, &Blob::bytes(b"hello")), 67);
        // A number is 8 bytes whatever its digits.
        assert_eq!(string_key_estimate(6, &Blob::bytes(b"123456789")), 54);
        assert_eq!(string_key_estimate(6, &Blob::bytes(b"-1.5e3")), 54);
        assert_eq!(string_key_estimate(6, &Blob::Int(7)), 54);
        // A sized payload is a string of that length.
        assert_eq!(string_key_estimate(6, &Blob::Sized(100)), 24 + 116 + 22);
        assert!(
            !is_decimal_number(b"1.2.3") && !is_decimal_number(b"e") && !is_decimal_number(b"")
        );
    }

    #[test]
    fn aggregates_as_echovault_counts_them() {
        let mut h = HashValue::default();
        h.insert(Key::from("f1"), Blob::bytes(b"abc"));
        h.insert(Key::from("f22"), Blob::bytes(b"x"));
        // 8 + (16 + 2 + 16 + 3) + (16 + 3 + 16 + 1)
        assert_eq!(value_estimate(&Value::Hash(Box::new(h))), 81);
        let mut l = ListValue::default();
        l.push_back(Blob::bytes(b"ab"));
        l.push_back(Blob::bytes(b"cde"));
        assert_eq!(value_estimate(&Value::List(Box::new(l))), 16 + 2 + 16 + 3);
        let mut s = SetValue::default();
        s.insert(Key::from("m"));
        assert_eq!(value_estimate(&Value::Set(Box::new(s))), 16 + 16 + 1 + 16);
    }
}
