//! Values: strings, hashes, sets, sorted sets and lists, in *sized* or *materialized* storage.
//!
//! A [`Blob`] is a string payload. In [`Storage::Materialized`] it holds real bytes on the
//! heap (memory, fragmentation and copy-on-write experiments need them); in
//! [`Storage::Sized`] only the length is kept (fast hit-rate sweeps). Integers that a command
//! like INCR produces are kept as [`Blob::Int`] in both modes, as Redis keeps them
//! int-encoded. Aggregates keep their fields and members for real in both modes (membership
//! decides the reply of HGET or SISMEMBER); only the *values* inside them are sized.
//!
//! Every value knows its logical payload size in bytes ([`Value::bytes`]), maintained
//! incrementally so memory accounting stays O(1) per command.

use std::collections::{BTreeSet, VecDeque};

use hashbrown::{HashMap, HashSet};

use crate::key::{Key, decimal_len};

/// Deterministic hasher for aggregates, so iteration order (HGETALL, SMEMBERS, snapshot
/// contents) is the same in every run.
pub type FixedHasher = foldhash::fast::FixedState;

/// How string payloads are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Storage {
    /// Only the length of each payload is kept.
    #[default]
    Sized,
    /// Payload bytes are stored on the heap.
    Materialized,
}

impl Storage {
    /// The config-file name of this storage mode.
    pub fn name(self) -> &'static str {
        match self {
            Storage::Sized => "sized",
            Storage::Materialized => "materialized",
        }
    }
}

/// Real payload bytes: a thin pointer to one heap allocation holding the length and the
/// bytes (`thin_vec::ThinVec`), so a [`Blob`] — and a [`Value`] — is 16 bytes and an entry
/// fits one cache line. Derefs to `[u8]`; build with `.into()` from `&[u8]` or `Vec<u8>`.
pub type Bytes = thin_vec::ThinVec<u8>;

/// A string payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blob {
    /// A payload of this many bytes whose content is not kept.
    Sized(u64),
    /// Real bytes.
    Bytes(Bytes),
    /// An integer (the byte string is its decimal form).
    Int(i64),
}

impl Blob {
    /// A sized payload of `len` bytes.
    pub const fn sized(len: u64) -> Blob {
        Blob::Sized(len)
    }

    /// A payload holding these bytes.
    pub fn bytes(b: &[u8]) -> Blob {
        Blob::Bytes(b.into())
    }

    /// The payload's bytes when materialized (not for sized or integer payloads).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Blob::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Length of the payload in bytes.
    #[inline]
    pub fn len(&self) -> u64 {
        match self {
            Blob::Sized(n) => *n,
            Blob::Bytes(b) => b.len() as u64,
            Blob::Int(i) => int_len(*i),
        }
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts the payload to the engine's storage mode: in sized mode, bytes are dropped
    /// and only their length kept.
    #[inline]
    pub fn stored(self, storage: Storage) -> Blob {
        match (storage, self) {
            (Storage::Sized, Blob::Bytes(b)) => Blob::Sized(b.len() as u64),
            (_, b) => b,
        }
    }

    /// The payload's bytes when they are known (materialized bytes or an integer).
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Blob::Sized(_) => None,
            Blob::Bytes(b) => Some(b.to_vec()),
            Blob::Int(i) => Some(i.to_string().into_bytes()),
        }
    }

    /// The integer value, if the payload is an integer in Redis's sense.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Blob::Int(i) => Some(*i),
            Blob::Bytes(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|i| i.to_string().len() == b.len()),
            Blob::Sized(_) => None,
        }
    }
}

fn int_len(i: i64) -> u64 {
    (decimal_len(i.unsigned_abs()) + usize::from(i < 0)) as u64
}

/// A sorted-set score with a total order (`f64::total_cmp`); NaN is refused by ZADD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);
impl Eq for Score {}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A hash: field → payload.
#[derive(Clone, Debug, Default)]
pub struct HashValue {
    map: HashMap<Key, Blob, FixedHasher>,
    bytes: u64,
}

impl HashValue {
    /// Sets `field`; returns true if the field is new.
    pub fn insert(&mut self, field: Key, value: Blob) -> bool {
        let add = field.len() as u64 + value.len();
        match self.map.insert(field.clone(), value) {
            Some(old) => {
                self.bytes = self.bytes - old.len() - field.len() as u64 + add;
                false
            }
            None => {
                self.bytes += add;
                true
            }
        }
    }
    /// Removes `field`; returns true if it existed.
    pub fn remove(&mut self, field: &Key) -> bool {
        match self.map.remove(field) {
            Some(v) => {
                self.bytes -= field.len() as u64 + v.len();
                true
            }
            None => false,
        }
    }
    /// The payload of `field`.
    pub fn get(&self, field: &Key) -> Option<&Blob> {
        self.map.get(field)
    }
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True when the hash has no field.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Fields and payloads in the hash's (deterministic) iteration order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Blob)> {
        self.map.iter()
    }
    /// Payload bytes: Σ field length + value length.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// A set of members.
#[derive(Clone, Debug, Default)]
pub struct SetValue {
    set: HashSet<Key, FixedHasher>,
    bytes: u64,
}

impl SetValue {
    /// Adds `member`; returns true if it is new.
    pub fn insert(&mut self, member: Key) -> bool {
        let n = member.len() as u64;
        let new = self.set.insert(member);
        if new {
            self.bytes += n;
        }
        new
    }
    /// Removes `member`; returns true if it existed.
    pub fn remove(&mut self, member: &Key) -> bool {
        let had = self.set.remove(member);
        if had {
            self.bytes -= member.len() as u64;
        }
        had
    }
    /// True if `member` is in the set.
    pub fn contains(&self, member: &Key) -> bool {
        self.set.contains(member)
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.set.len()
    }
    /// True when the set has no member.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
    /// Members in the set's (deterministic) iteration order.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.set.iter()
    }
    /// Payload bytes: Σ member length.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// A sorted set: members ordered by (score, member bytes), as Redis orders them.
#[derive(Clone, Debug, Default)]
pub struct ZSetValue {
    scores: HashMap<Key, Score, FixedHasher>,
    order: BTreeSet<(Score, Key)>,
    bytes: u64,
}

/// Bytes charged per sorted-set member for its score.
const SCORE_BYTES: u64 = 8;

impl ZSetValue {
    /// Adds or updates `member`; returns true if it is new.
    pub fn insert(&mut self, member: Key, score: f64) -> bool {
        let score = Score(score);
        match self.scores.insert(member.clone(), score) {
            Some(old) => {
                if old != score {
                    self.order.remove(&(old, member.clone()));
                    self.order.insert((score, member));
                }
                false
            }
            None => {
                self.bytes += member.len() as u64 + SCORE_BYTES;
                self.order.insert((score, member));
                true
            }
        }
    }
    /// Removes `member`; returns true if it existed.
    pub fn remove(&mut self, member: &Key) -> bool {
        match self.scores.remove(member) {
            Some(s) => {
                self.order.remove(&(s, member.clone()));
                self.bytes -= member.len() as u64 + SCORE_BYTES;
                true
            }
            None => false,
        }
    }
    /// The score of `member`.
    pub fn score(&self, member: &Key) -> Option<f64> {
        self.scores.get(member).map(|s| s.0)
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    /// True when the sorted set has no member.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    /// Members with scores in ascending order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Key, f64)> {
        self.order.iter().map(|(s, k)| (k, s.0))
    }
    /// Members with `min <= score <= max` (inclusive bounds; exclusivity is the caller's).
    pub fn range_by_score(&self, min: f64, max: f64) -> impl Iterator<Item = (&Key, f64)> {
        self.order
            .iter()
            .skip_while(move |(s, _)| s.0 < min)
            .take_while(move |(s, _)| s.0 <= max)
            .map(|(s, k)| (k, s.0))
    }
    /// Payload bytes: Σ member length + 8 per score.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// A list of payloads.
#[derive(Clone, Debug, Default)]
pub struct ListValue {
    items: VecDeque<Blob>,
    bytes: u64,
}

impl ListValue {
    /// Pushes at the head.
    pub fn push_front(&mut self, b: Blob) {
        self.bytes += b.len();
        self.items.push_front(b);
    }
    /// Pushes at the tail.
    pub fn push_back(&mut self, b: Blob) {
        self.bytes += b.len();
        self.items.push_back(b);
    }
    /// Pops from the head.
    pub fn pop_front(&mut self) -> Option<Blob> {
        let b = self.items.pop_front()?;
        self.bytes -= b.len();
        Some(b)
    }
    /// Pops from the tail.
    pub fn pop_back(&mut self) -> Option<Blob> {
        let b = self.items.pop_back()?;
        self.bytes -= b.len();
        Some(b)
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when the list has no element.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Elements head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Blob> + ExactSizeIterator {
        self.items.iter()
    }
    /// Payload bytes: Σ element length.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// The value stored under a key.
#[derive(Clone, Debug)]
pub enum Value {
    /// A string.
    Str(Blob),
    /// A hash.
    Hash(Box<HashValue>),
    /// A set.
    Set(Box<SetValue>),
    /// A sorted set.
    ZSet(Box<ZSetValue>),
    /// A list.
    List(Box<ListValue>),
}

impl Value {
    /// Drops the value; a sized string (nothing on the heap: every value of a trace
    /// replay) without calling the enum's out-of-line drop glue.
    #[inline(always)]
    pub(crate) fn discard(self) {
        if matches!(self, Value::Str(Blob::Sized(_))) {
            std::mem::forget(self);
        } else {
            drop(self);
        }
    }
}

/// The type of a value, as Redis's TYPE command names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `string`
    String,
    /// `hash`
    Hash,
    /// `set`
    Set,
    /// `zset`
    ZSet,
    /// `list`
    List,
}

impl ValueType {
    /// Redis's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
            ValueType::List => "list",
        }
    }
}

impl Value {
    /// Logical payload bytes of the value.
    #[inline]
    pub fn bytes(&self) -> u64 {
        match self {
            Value::Str(b) => b.len(),
            Value::Hash(h) => h.bytes(),
            Value::Set(s) => s.bytes(),
            Value::ZSet(z) => z.bytes(),
            Value::List(l) => l.bytes(),
        }
    }

    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Str(_) => ValueType::String,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
            Value::List(_) => ValueType::List,
        }
    }

    /// True for an aggregate that has become empty (Redis deletes such keys).
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            Value::List(l) => l.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_16_bytes() {
        assert_eq!(std::mem::size_of::<Blob>(), 16);
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }

    #[test]
    fn sized_storage_keeps_only_the_length() {
        let b = Blob::bytes(b"hello").stored(Storage::Sized);
        assert_eq!(b, Blob::Sized(5));
        let b = Blob::bytes(b"hello").stored(Storage::Materialized);
        assert_eq!(b.to_bytes().unwrap(), b"hello");
        assert_eq!(Blob::Int(-123).len(), 4);
        assert_eq!(Blob::bytes(b"123").as_int(), Some(123));
        assert_eq!(Blob::bytes(b"0123").as_int(), None);
    }

    #[test]
    fn aggregate_byte_counts_follow_every_change() {
        let mut h = HashValue::default();
        assert!(h.insert(Key::from("f1"), Blob::Sized(10)));
        assert!(!h.insert(Key::from("f1"), Blob::Sized(4)));
        assert_eq!(h.bytes(), 2 + 4);
        assert!(h.remove(&Key::from("f1")));
        assert_eq!(h.bytes(), 0);

        let mut z = ZSetValue::default();
        z.insert(Key::from("a"), 2.0);
        z.insert(Key::from("b"), 1.0);
        z.insert(Key::from("a"), 0.5);
        let order: Vec<String> = z.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(order, ["a", "b"]);
        assert_eq!(z.bytes(), 2 * 9);
        let in_range: Vec<f64> = z.range_by_score(0.6, 5.0).map(|(_, s)| s).collect();
        assert_eq!(in_range, [1.0]);

        let mut l = ListValue::default();
        l.push_back(Blob::Sized(3));
        l.push_front(Blob::Sized(5));
        assert_eq!(l.bytes(), 8);
        assert_eq!(l.pop_back(), Some(Blob::Sized(3)));
        assert_eq!(l.bytes(), 5);
    }
}
