//! [`PackedTrace`]: a loaded request stream in at most 11 bytes per request (a [`Request`]
//! is 40), with every field of every request kept exactly.
//!
//! Layout (columns; a column that would hold only default values is not stored at all):
//!
//! | column | bytes / request | holds |
//! |---|---|---|
//! | `ids` | 4 | dense object id (`u32`, first-appearance order) |
//! | `flags` | 1, if any request is not a GET or not its object's usual size/TTL | op (2 bits), "size/TTL in the side list" (1 bit) |
//! | `time` | 2, if any request has a time | ms since the previous request (`u16`); `0xFFFF` = the absolute time is in a side list |
//! | `next` | 4, if any request has a next access | next access − own index (`u32`); 0 = [`NEVER`], `u32::MAX` = in a side list |
//!
//! plus, per distinct object, 16 bytes ([`Object`]: the original id, and the size and TTL
//! of its first request). A request whose size or TTL differs from its object's first
//! (per-request sizes, a TTL ≥ 2³² ms) takes its pair from a side list in stream order, as
//! does a time gap of 65 535 ms or more (or a time going backwards) and a next access
//! 2³²−1 or more requests ahead (or not ahead at all). The side lists are read with
//! cursors, so the stream is decoded front to back ([`PackedTrace::iter`]), which is how
//! every replay reads it.
//!
//! Common cases: an oracleGeneral trace (times, sizes fixed per object, next access) takes
//! 10 bytes per request; a generated workload 4 (reads only) or 5 (with writes/TTLs), +4
//! with next-access indices for Belady, +2 with arrival times. Decoding is
//! lossless: [`PackedTrace::iter`] yields exactly the requests pushed (tested against
//! arbitrary streams).
//!
//! Dense ids are assigned through an [`IdMap`] while loading (dropped afterwards); the same
//! pass gives the working set (distinct objects and their first-seen bytes) for free.
//! libCacheSim's `reader` instead re-reads its trace file per simulation and keeps ids as
//! `uint64_t` (`libCacheSim/include/libCacheSim/request.h`); this is the loaded form of
//! the lab's replay, shared by all cells of a sweep.

use crate::idmap::IdMap;
use crate::{NEVER, Op, Request, WorkloadError};

/// One distinct object: its original id and the size and TTL of its first request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object {
    /// The object's id in the source.
    pub key: u64,
    /// Value size of its first request.
    pub size: u32,
    /// TTL (ms) of its first request, or [`TTL_ESCAPE`] when it does not fit in a `u32`
    /// (every request of the object then carries its TTL in the side list).
    ttl: u32,
}

impl Object {
    /// TTL (ms) of the object's first request, or `None` when it does not fit in a `u32`
    /// (the first request then carries it in the side list; read it from the requests).
    pub fn ttl_ms(&self) -> Option<u64> {
        (self.ttl != TTL_ESCAPE).then_some(self.ttl as u64)
    }
}

/// Bytes per request of the common cases' widest layout (ids, flags, time and next
/// access); escapes add to it (for estimates such as `hitrate --stream auto`'s).
pub const TYPICAL_MAX_BYTES_PER_REQUEST: u64 = 11;

/// An [`Object`] TTL that does not fit: its requests never match it.
const TTL_ESCAPE: u32 = u32::MAX;
/// Time delta: the absolute time is in the side list.
const TIME_ESCAPE: u16 = u16::MAX;
/// Next-access delta: the absolute index is in the side list (0 means [`NEVER`]).
const NEXT_ESCAPE: u32 = u32::MAX;
/// Flag bits: the op in bits 0–1, "size and TTL in the side list" in bit 2.
const OP_MASK: u8 = 0b11;
const FLAG_EXTRA: u8 = 0b100;

fn op_bits(op: Op) -> u8 {
    match op {
        Op::Get => 0,
        Op::Set => 1,
        Op::Delete => 2,
    }
}

#[inline(always)]
fn op_of(bits: u8) -> Op {
    match bits & OP_MASK {
        0 => Op::Get,
        1 => Op::Set,
        _ => Op::Delete,
    }
}

/// Requests packed in columns; see the module doc.
#[derive(Clone, Debug, Default)]
pub struct PackedTrace {
    ids: Vec<u32>,
    objects: Vec<Object>,
    flags: Vec<u8>,
    extra_sizes: Vec<u32>,
    extra_ttls: Vec<u64>,
    time: Vec<u16>,
    time_escapes: Vec<u64>,
    next: Vec<u32>,
    next_escapes: Vec<u64>,
    /// Σ first-seen size over objects.
    first_bytes: u64,
}

/// Builds a [`PackedTrace`] from requests pushed in order.
#[derive(Debug, Default)]
pub struct PackedBuilder {
    trace: PackedTrace,
    dense: IdMap<u32>,
    last_time: u64,
}

impl PackedBuilder {
    /// A builder expecting about `requests` requests (`0` if unknown).
    pub fn with_capacity(requests: usize) -> PackedBuilder {
        let mut b = PackedBuilder::default();
        b.trace.ids.reserve_exact(requests);
        b
    }

    /// Appends requests. Fails only past 2³²−1 distinct objects.
    pub fn push_all(&mut self, requests: &[Request]) -> Result<(), WorkloadError> {
        for r in requests {
            self.push(r)?;
        }
        Ok(())
    }

    /// Appends one request.
    #[inline]
    pub fn push(&mut self, r: &Request) -> Result<(), WorkloadError> {
        let t = &mut self.trace;
        let i = t.ids.len();
        let next_id = t.objects.len();
        let (id, _) = self.dense.get_or_insert_with(r.key, || next_id as u32);
        if id as usize == next_id {
            if next_id >= u32::MAX as usize {
                return Err(WorkloadError::Parameter {
                    name: "objects",
                    value: format!("more than {}", u32::MAX - 1),
                    expected: "at most 4 294 967 294 distinct objects in a loaded workload \
                               (stream it: --stream always)",
                });
            }
            t.objects.push(Object {
                key: r.key,
                size: r.value_size,
                ttl: u32::try_from(r.ttl_ms)
                    .ok()
                    .filter(|&v| v != TTL_ESCAPE)
                    .unwrap_or(TTL_ESCAPE),
            });
            t.first_bytes += r.value_size as u64;
        }
        t.ids.push(id);
        let o = t.objects[id as usize];
        let usual = r.value_size == o.size && o.ttl != TTL_ESCAPE && r.ttl_ms == o.ttl as u64;
        let flags = op_bits(r.op) | if usual { 0 } else { FLAG_EXTRA };
        // A column starts at its first non-default value, backfilled with defaults
        // (`resize` is a no-op once the column is as long as the stream).
        if flags != 0 || !t.flags.is_empty() {
            t.flags.resize(i, 0);
            t.flags.push(flags);
        }
        if !usual {
            t.extra_sizes.push(r.value_size);
            t.extra_ttls.push(r.ttl_ms);
        }
        if r.time_ms != 0 || !t.time.is_empty() {
            t.time.resize(i, 0);
            let delta = r.time_ms.wrapping_sub(self.last_time);
            if r.time_ms >= self.last_time && delta < TIME_ESCAPE as u64 {
                t.time.push(delta as u16);
            } else {
                t.time.push(TIME_ESCAPE);
                t.time_escapes.push(r.time_ms);
            }
            self.last_time = r.time_ms;
        }
        if r.next_access != NEVER || !t.next.is_empty() {
            t.next.resize(i, 0);
            t.next
                .push(next_code(i, r.next_access, &mut t.next_escapes));
        }
        Ok(())
    }

    /// The packed trace (columns trimmed to their length).
    pub fn finish(self) -> PackedTrace {
        let mut t = self.trace;
        t.ids.shrink_to_fit();
        t.objects.shrink_to_fit();
        t.flags.shrink_to_fit();
        t.extra_sizes.shrink_to_fit();
        t.extra_ttls.shrink_to_fit();
        t.time.shrink_to_fit();
        t.time_escapes.shrink_to_fit();
        t.next.shrink_to_fit();
        t.next_escapes.shrink_to_fit();
        t
    }
}

/// The `next` column's code for request `i` whose next access is `next`.
#[inline]
fn next_code(i: usize, next: u64, escapes: &mut Vec<u64>) -> u32 {
    if next == NEVER {
        return 0;
    }
    match next.checked_sub(i as u64) {
        Some(d) if d > 0 && d < NEXT_ESCAPE as u64 => d as u32,
        _ => {
            escapes.push(next);
            NEXT_ESCAPE
        }
    }
}

impl PackedTrace {
    /// Packs requests already in memory.
    pub fn from_requests(requests: &[Request]) -> Result<PackedTrace, WorkloadError> {
        let mut b = PackedBuilder::with_capacity(requests.len());
        b.push_all(requests)?;
        Ok(b.finish())
    }

    /// Number of requests.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// No request.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Distinct objects, in first-appearance order (index = dense id).
    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// Σ over distinct objects of the size of their first request (libCacheSim's working
    /// set in bytes).
    pub fn first_seen_bytes(&self) -> u64 {
        self.first_bytes
    }

    /// Some request carries a next-access index.
    pub fn has_next_access(&self) -> bool {
        !self.next.is_empty()
    }

    /// Heap bytes held by the columns and side lists (capacities, not lengths).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.ids.capacity() * size_of::<u32>()
            + self.objects.capacity() * size_of::<Object>()
            + self.flags.capacity()
            + self.extra_sizes.capacity() * size_of::<u32>()
            + self.extra_ttls.capacity() * size_of::<u64>()
            + self.time.capacity() * size_of::<u16>()
            + self.time_escapes.capacity() * size_of::<u64>()
            + self.next.capacity() * size_of::<u32>()
            + self.next_escapes.capacity() * size_of::<u64>()
    }

    /// Heap bytes of the per-request columns and side lists, without the per-object table.
    pub fn request_bytes(&self) -> usize {
        self.heap_bytes() - self.objects.capacity() * std::mem::size_of::<Object>()
    }

    /// Every request, in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            t: self,
            i: 0,
            extra: 0,
            time_esc: 0,
            next_esc: 0,
            time: 0,
        }
    }

    /// The source key of request `i`, if there is one: reads only the id column and the
    /// object table (a replay's look-ahead asks for the key 16 requests ahead of the one it
    /// decodes).
    #[inline]
    pub fn key_at(&self, i: usize) -> Option<u64> {
        let &id = self.ids.get(i)?;
        Some(self.objects[id as usize].key)
    }

    /// Sets every request's next access to the index of the next request to the same
    /// object (any op), or [`NEVER`]: the pre-pass of [`crate::annotate_next_access`],
    /// here over dense ids with an array instead of a hash map.
    pub fn annotate_next_access(&mut self) {
        let mut following = vec![NEVER; self.objects.len()];
        let mut next = vec![0u32; self.ids.len()];
        let mut escapes = Vec::new();
        for i in (0..self.ids.len()).rev() {
            let slot = &mut following[self.ids[i] as usize];
            next[i] = next_code(i, *slot, &mut escapes);
            *slot = i as u64;
        }
        escapes.reverse();
        let any = next.iter().any(|&d| d != 0);
        self.next = if any { next } else { Vec::new() };
        self.next_escapes = escapes;
        self.next_escapes.shrink_to_fit();
    }
}

impl<'a> IntoIterator for &'a PackedTrace {
    type Item = Request;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Decodes a [`PackedTrace`] front to back.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    t: &'a PackedTrace,
    i: usize,
    extra: usize,
    time_esc: usize,
    next_esc: usize,
    time: u64,
}

impl Iterator for Iter<'_> {
    type Item = Request;

    #[inline(always)]
    fn next(&mut self) -> Option<Request> {
        let t = self.t;
        let i = self.i;
        let &id = t.ids.get(i)?;
        self.i = i + 1;
        Some(self.decode(t, i, id))
    }

    /// Internal iteration (`for_each`, `enumerate().for_each`, …): the same decoding with
    /// the columns in locals, which a replay loop keeps in registers.
    #[inline]
    fn fold<B, F: FnMut(B, Request) -> B>(mut self, init: B, mut f: F) -> B {
        let t = self.t;
        let mut acc = init;
        for (i, &id) in t.ids.iter().enumerate().skip(self.i) {
            let r = self.decode(t, i, id);
            acc = f(acc, r);
        }
        acc
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.t.ids.len() - self.i;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Iter<'_> {
    /// Request `i` (dense id `id`), advancing the side-list cursors.
    #[inline(always)]
    fn decode(&mut self, t: &PackedTrace, i: usize, id: u32) -> Request {
        let o = &t.objects[id as usize];
        let mut r = Request {
            time_ms: 0,
            key: o.key,
            value_size: o.size,
            ttl_ms: o.ttl as u64,
            op: Op::Get,
            next_access: NEVER,
        };
        if let Some(&f) = t.flags.get(i) {
            r.op = op_of(f);
            if f & FLAG_EXTRA != 0 {
                r.value_size = t.extra_sizes[self.extra];
                r.ttl_ms = t.extra_ttls[self.extra];
                self.extra += 1;
            }
        }
        if let Some(&d) = t.time.get(i) {
            if d == TIME_ESCAPE {
                self.time = t.time_escapes[self.time_esc];
                self.time_esc += 1;
            } else {
                self.time += d as u64;
            }
            r.time_ms = self.time;
        }
        if let Some(&d) = t.next.get(i) {
            r.next_access = match d {
                0 => NEVER,
                NEXT_ESCAPE => {
                    self.next_esc += 1;
                    t.next_escapes[self.next_esc - 1]
                }
                d => (i + d as usize) as u64,
            };
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_request() -> impl Strategy<Value = Request> {
        (
            prop_oneof![Just(0u64), 0u64..100_000, any::<u64>()],
            prop_oneof![0u64..20, any::<u64>()],
            prop_oneof![Just(1u32), 0u32..10, any::<u32>()],
            prop_oneof![Just(0u64), 1u64..10, any::<u64>()],
            prop_oneof![Just(Op::Get), Just(Op::Set), Just(Op::Delete)],
            prop_oneof![Just(NEVER), 0u64..300, any::<u64>()],
        )
            .prop_map(
                |(time_ms, key, value_size, ttl_ms, op, next_access)| Request {
                    time_ms,
                    key,
                    value_size,
                    ttl_ms,
                    op,
                    next_access,
                },
            )
    }

    proptest! {
        #[test]
        fn decoding_gives_back_every_request(v in proptest::collection::vec(arb_request(), 0..300)) {
            let p = PackedTrace::from_requests(&v).unwrap();
            let back: Vec<Request> = p.iter().collect();
            prop_assert_eq!(&back, &v);
            // Internal iteration (fold), also after a partly consumed external one.
            let k = v.len() / 3;
            let mut it = p.iter();
            let mut both: Vec<Request> = it.by_ref().take(k).collect();
            it.for_each(|r| both.push(r));
            prop_assert_eq!(&both, &v);
            prop_assert_eq!(p.len(), v.len());
        }

        #[test]
        fn packed_next_access_equals_the_slice_pre_pass(keys in proptest::collection::vec(0u64..12, 0..300)) {
            let mut v: Vec<Request> = keys.iter().map(|&k| Request::get(k, 1)).collect();
            let mut p = PackedTrace::from_requests(&v).unwrap();
            p.annotate_next_access();
            crate::annotate_next_access(&mut v);
            prop_assert_eq!(p.iter().collect::<Vec<_>>(), v);
        }
    }

    #[test]
    fn defaults_take_no_column() {
        // Reads with one size per object and no time: ids only.
        let v: Vec<Request> = (0..1000u64)
            .map(|i| Request::get(i % 7, 100 + (i % 7) as u32))
            .collect();
        let p = PackedTrace::from_requests(&v).unwrap();
        assert_eq!(p.request_bytes(), 4 * 1000);
        assert_eq!(p.objects().len(), 7);
        assert_eq!(p.first_seen_bytes(), (100..107).sum::<u64>());
        assert!(!p.has_next_access());
    }

    #[test]
    fn an_oracle_general_shaped_trace_takes_ten_bytes_a_request() {
        // One request a second, fixed size per object, next access (far ones included).
        let mut v: Vec<Request> = (0..100_000u64)
            .map(|i| Request {
                time_ms: i * 1000,
                ..Request::get((i * 7919) % 5000, 4096)
            })
            .collect();
        crate::annotate_next_access(&mut v);
        let p = PackedTrace::from_requests(&v).unwrap();
        assert_eq!(p.request_bytes(), 10 * 100_000);
        assert_eq!(p.iter().collect::<Vec<_>>(), v);
    }

    #[test]
    fn escapes_are_taken_in_order() {
        let mut v = vec![
            Request {
                time_ms: 5,
                ttl_ms: u64::MAX,
                op: Op::Set,
                next_access: 1 << 40,
                ..Request::get(u64::MAX, 3)
            },
            Request {
                time_ms: 1 << 50,
                next_access: 0,
                ..Request::get(u64::MAX, 4)
            },
            Request {
                time_ms: 2,
                op: Op::Delete,
                ..Request::get(9, 3)
            },
        ];
        v.push(v[0]);
        let p = PackedTrace::from_requests(&v).unwrap();
        assert_eq!(p.iter().collect::<Vec<_>>(), v);
        assert_eq!(p.objects().len(), 2);
    }
}
