//! Bytes of one key's allocations as Redis 7.0 makes them: the key's sds, the `dictEntry`s,
//! the value's `robj` and its encoding.
//!
//! Sources (Redis 7.0):
//! * `src/sds.h`/`sds.c` `sdsReqType`, `sdsHdrSize`: a string of length < 32 gets a 1-byte
//!   `sdshdr5`, < 256 a 3-byte `sdshdr8`, < 65 536 `sdshdr16` (5), < 2^32 `sdshdr32` (9),
//!   else `sdshdr64` (17); plus the terminating NUL. `sdsnewlen` turns an empty type-5 string
//!   into type 8. Keys are `sdsdup`'d into the keyspace (`db.c` `dbAdd`), fields and members
//!   into hash/set/zset dicts (`t_hash.c` `hashTypeSet`, `t_set.c` `setTypeAdd`,
//!   `t_zset.c` `zsetAdd`).
//! * `src/dict.h`: `dictEntry` = key, value union, next = 24 bytes; `dict` = 56 bytes.
//! * `src/server.h`/`object.c`: `robj` = 16 bytes. `tryObjectEncoding`: a string of at most
//!   20 bytes that `string2l` accepts becomes INT — the shared object for 0..9999
//!   (`OBJ_SHARED_INTEGERS`) unless `maxmemory` is set with an LRU/LFU policy
//!   (`MAXMEMORY_FLAG_NO_SHARED_INTEGERS`), else a 16-byte robj holding the number; at most
//!   44 bytes (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`) is EMBSTR, robj + sdshdr8 + bytes + NUL in
//!   one allocation; longer is RAW, a robj and a separate sds.
//! * `src/t_hash.c`, `t_set.c`, `t_zset.c`, `quicklist.c`, `listpack.c`, `intset.c`: the
//!   aggregate encodings (see [`value_cost`]).

use super::jemalloc::{Quantum, size_class};
use super::listpack::{Elem, LP_EMPTY, intset_bytes, intset_width, lp_entry, score_elem};
use super::table::Tables;
use crate::key::Key;
use crate::value::{Blob, Value};

/// `sizeof(robj)`.
pub const ROBJ: u64 = 16;
/// `sizeof(dictEntry)` without cluster metadata.
pub const DICT_ENTRY: u64 = 24;
/// `sizeof(dict)` in Redis 7.0.
pub const DICT: u64 = 56;
/// `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
pub const EMBSTR_LIMIT: u64 = 44;
/// `OBJ_SHARED_INTEGERS`.
pub const SHARED_INTEGERS: i64 = 10_000;
/// `sizeof(quicklist)` and `sizeof(quicklistNode)` on 64-bit.
pub const QUICKLIST: u64 = 40;
/// `sizeof(quicklistNode)`.
pub const QUICKLIST_NODE: u64 = 40;
/// `sizeof(zset)` (dict pointer + skiplist pointer) and `sizeof(zskiplist)`.
pub const ZSET: u64 = 16;
/// `sizeof(zskiplist)`: header, tail, length, level.
pub const ZSKIPLIST: u64 = 32;
/// `ZSKIPLIST_MAXLEVEL`.
pub const ZSKIPLIST_MAXLEVEL: u64 = 32;
/// `sizeof(zskiplistNode)` without levels: ele, score, backward.
pub const ZSKIPLIST_NODE: u64 = 24;
/// `sizeof(struct zskiplistLevel)`: forward pointer and span.
pub const ZSKIPLIST_LEVEL: u64 = 16;
/// `SIZE_SAFETY_LIMIT` and the byte limits of negative `list-max-listpack-size` values
/// (`quicklist.c` `optimization_level`).
pub const QUICKLIST_LEVELS: [u64; 5] = [4096, 8192, 16384, 32768, 65536];

/// The encoding Redis gives a value (`OBJECT ENCODING`, with shared integers apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    /// A shared integer object (0..9999): no allocation of its own.
    SharedInt,
    /// An integer in the robj's pointer.
    Int,
    /// robj and sds in one allocation (≤ 44 bytes).
    Embstr,
    /// robj and a separate sds.
    Raw,
    /// A listpack (small hashes and sorted sets).
    Listpack,
    /// An intset (small sets of integers).
    Intset,
    /// A dict (large hashes and sets).
    Hashtable,
    /// A skiplist and a dict (large sorted sets).
    Skiplist,
    /// A quicklist of listpacks (lists).
    Quicklist,
}

impl Encoding {
    /// The name `OBJECT ENCODING` prints (`int` for shared integers too, marked here).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::SharedInt => "int-shared",
            Encoding::Int => "int",
            Encoding::Embstr => "embstr",
            Encoding::Raw => "raw",
            Encoding::Listpack => "listpack",
            Encoding::Intset => "intset",
            Encoding::Hashtable => "hashtable",
            Encoding::Skiplist => "skiplist",
            Encoding::Quicklist => "quicklist",
        }
    }
    /// True for the big forms an aggregate never converts back from (Redis 7.0 converts
    /// listpack/intset → hashtable/skiplist only one way).
    pub fn is_big_aggregate(self) -> bool {
        matches!(self, Encoding::Hashtable | Encoding::Skiplist)
    }
}

/// The thresholds and allocator the model uses (Redis's names; defaults of Redis 7.0
/// `src/config.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// `hash-max-listpack-entries` (512).
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value` (64).
    pub hash_max_listpack_value: u64,
    /// `set-max-intset-entries` (512).
    pub set_max_intset_entries: u64,
    /// `zset-max-listpack-entries` (128).
    pub zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value` (64).
    pub zset_max_listpack_value: u64,
    /// `list-max-listpack-size` (-2: 8 KiB per quicklist node).
    pub list_max_listpack_size: i64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
        }
    }
}

/// Everything that decides a key's bytes besides the key and value.
#[derive(Clone, Copy, Debug)]
pub struct CostParams {
    /// The allocator's quantum.
    pub quantum: Quantum,
    /// Encoding thresholds.
    pub thresholds: Thresholds,
    /// Whether integers 0..9999 use the shared objects.
    pub shared_integers: bool,
}

/// Bytes of an sds holding `len` bytes as `sdsnewlen`/`sdsdup` allocates it (header by
/// length, NUL), rounded to the allocator's class.
#[inline]
pub fn sds_alloc(len: u64, q: Quantum) -> u64 {
    size_class(sds_hdr(len) + len + 1, q)
}

/// `sdsHdrSize(sdsReqType(len))`, with `sdsnewlen`'s type-5 → type-8 rule for length 0.
#[inline]
pub fn sds_hdr(len: u64) -> u64 {
    if len == 0 {
        3
    } else if len < 32 {
        1
    } else if len < 256 {
        3
    } else if len < 65536 {
        5
    } else if len < (1 << 32) {
        9
    } else {
        17
    }
}

/// The element a string payload is, as far as its content is known.
pub fn blob_elem(b: &Blob) -> Elem {
    match b {
        Blob::Sized(n) => Elem::Str(*n),
        Blob::Int(i) => Elem::Int(*i),
        Blob::Bytes(bytes) => Elem::of_bytes(bytes),
    }
}

/// The element a field or member is.
pub fn key_elem(k: &Key) -> Elem {
    match k.as_id() {
        Some(id) => i64::try_from(id).map_or(Elem::Str(k.len() as u64), Elem::Int),
        None => k.with_bytes(Elem::of_bytes),
    }
}

/// Encoding and bytes of a string value (`robj` included): see the module doc.
pub fn string_cost(e: Elem, p: &CostParams) -> (Encoding, u64) {
    let q = p.quantum;
    match e {
        Elem::Int(i) if p.shared_integers && (0..SHARED_INTEGERS).contains(&i) => {
            (Encoding::SharedInt, 0)
        }
        Elem::Int(_) => (Encoding::Int, size_class(ROBJ, q)),
        Elem::Str(n) if n <= EMBSTR_LIMIT => (Encoding::Embstr, size_class(ROBJ + 3 + n + 1, q)),
        Elem::Str(n) => (Encoding::Raw, size_class(ROBJ, q) + sds_alloc(n, q)),
    }
}

/// Bytes of a dict (`dict` struct and tables, see [`Tables::built`]) holding `n` entries,
/// entries excluded.
fn dict_cost(n: u64, presize: u64, steps_per_add: u64, q: Quantum) -> u64 {
    size_class(DICT, q) + Tables::built(n, presize, steps_per_add).bytes(q)
}

/// Expected bytes of one skiplist node: `zslRandomLevel` gives level L with probability
/// 0.75 · 0.25^(L−1) (capped at 32); a node is 24 + 16·L bytes.
pub fn expected_skiplist_node(q: Quantum) -> f64 {
    let mut sum = 0.0;
    let mut p_level = 0.75;
    for level in 1..=ZSKIPLIST_MAXLEVEL {
        let p = if level == ZSKIPLIST_MAXLEVEL {
            0.25f64.powi(31)
        } else {
            p_level
        };
        sum += p * size_class(ZSKIPLIST_NODE + ZSKIPLIST_LEVEL * level, q) as f64;
        p_level *= 0.25;
    }
    sum
}

/// Encoding and bytes of a value (`robj` included). `big` forces the hashtable/skiplist
/// form (the value was converted before: Redis 7.0 never converts back).
pub fn value_cost(v: &Value, p: &CostParams, big: bool) -> (Encoding, u64) {
    let q = p.quantum;
    let t = &p.thresholds;
    let robj = size_class(ROBJ, q);
    match v {
        Value::Str(b) => string_cost(blob_elem(b), p),
        Value::Hash(h) => {
            let n = h.len() as u64;
            let small = !big
                && n <= t.hash_max_listpack_entries
                && h.iter().all(|(f, v)| {
                    (f.len() as u64) <= t.hash_max_listpack_value
                        && v.len() <= t.hash_max_listpack_value
                });
            if small {
                let body: u64 = h
                    .iter()
                    .map(|(f, v)| lp_entry(key_elem(f)) + lp_entry(blob_elem(v)))
                    .sum();
                (Encoding::Listpack, robj + size_class(LP_EMPTY + body, q))
            } else {
                let entries: u64 = h
                    .iter()
                    .map(|(f, v)| {
                        size_class(DICT_ENTRY, q)
                            + sds_alloc(f.len() as u64, q)
                            + sds_alloc(v.len(), q)
                    })
                    .sum();
                // t_hash.c: hashTypeConvertListpack presizes the dict for the fields it
                // moves — 513 when the entry count crossed the limit (assumed when the hash is
                // above it); a long field or value converts before it is inserted
                // (hashTypeTryConversion checks every argument first), assumed to happen on
                // the first write, so the dict grows from empty. One step per add
                // (hashTypeSet → dictAddRaw).
                let presize = if n > t.hash_max_listpack_entries {
                    t.hash_max_listpack_entries + 1
                } else {
                    0
                };
                (
                    Encoding::Hashtable,
                    robj + dict_cost(n, presize, 1, q) + entries,
                )
            }
        }
        Value::Set(s) => {
            let n = s.len() as u64;
            let mut width = 2;
            let all_int = !big
                && n <= t.set_max_intset_entries
                && s.iter().all(|m| match key_elem(m) {
                    Elem::Int(i) => {
                        width = width.max(intset_width(i));
                        true
                    }
                    Elem::Str(_) => false,
                });
            if all_int {
                (
                    Encoding::Intset,
                    robj + size_class(intset_bytes(n, width), q),
                )
            } else {
                let entries: u64 = s
                    .iter()
                    .map(|m| size_class(DICT_ENTRY, q) + sds_alloc(m.len() as u64, q))
                    .sum();
                // t_set.c: setTypeConvert presizes for the intset's members (513 when the count
                // crossed set-max-intset-entries); a set of strings starts with an empty dict
                // (setTypeCreate); one step per add.
                let all_ints = s.iter().all(|m| matches!(key_elem(m), Elem::Int(_)));
                let presize = if all_ints && n > t.set_max_intset_entries {
                    t.set_max_intset_entries + 1
                } else {
                    0
                };
                (
                    Encoding::Hashtable,
                    robj + dict_cost(n, presize, 1, q) + entries,
                )
            }
        }
        Value::ZSet(z) => {
            let n = z.len() as u64;
            let small = !big
                && n <= t.zset_max_listpack_entries
                && z.iter()
                    .all(|(m, _)| (m.len() as u64) <= t.zset_max_listpack_value);
            if small {
                let body: u64 = z
                    .iter()
                    .map(|(m, s)| lp_entry(key_elem(m)) + lp_entry(score_elem(s)))
                    .sum();
                (Encoding::Listpack, robj + size_class(LP_EMPTY + body, q))
            } else {
                let per_member: u64 = z
                    .iter()
                    .map(|(m, _)| size_class(DICT_ENTRY, q) + sds_alloc(m.len() as u64, q))
                    .sum();
                let nodes = (expected_skiplist_node(q) * n as f64).round() as u64;
                let header = size_class(ZSKIPLIST_NODE + ZSKIPLIST_LEVEL * ZSKIPLIST_MAXLEVEL, q);
                (
                    Encoding::Skiplist,
                    // t_zset.c zsetConvert fills an empty dict; zsetAdd does dictFind then
                    // dictAdd (two steps per new member).
                    robj + size_class(ZSET, q)
                        + dict_cost(n, 0, 2, q)
                        + size_class(ZSKIPLIST, q)
                        + header
                        + per_member
                        + nodes,
                )
            }
        }
        Value::List(l) => {
            let (nodes, lp_bytes) = quicklist_nodes(l.iter().map(blob_elem), t, q);
            (
                Encoding::Quicklist,
                robj + size_class(QUICKLIST, q) + nodes * size_class(QUICKLIST_NODE, q) + lp_bytes,
            )
        }
    }
}

/// Packs list elements head to tail into quicklist nodes as RPUSH does
/// (`quicklist.c` `_quicklistNodeAllowInsert`): an element joins the tail node while the
/// node's listpack bytes + the element's length + an estimate of its entry overhead
/// (1 or 5 bytes of "previous length" + 1/2/5 bytes of header) stays within the size limit
/// (`list-max-listpack-size` < 0) — or, for a positive fill, within 8 KiB
/// (`SIZE_SAFETY_LIMIT`) and `fill` elements. Returns the nodes and their listpacks' bytes.
pub fn quicklist_nodes(
    elems: impl Iterator<Item = Elem>,
    t: &Thresholds,
    q: Quantum,
) -> (u64, u64) {
    let fill = t.list_max_listpack_size.clamp(-5, 32767);
    let size_limit = if fill < 0 {
        QUICKLIST_LEVELS[(-fill - 1) as usize]
    } else {
        QUICKLIST_LEVELS[1]
    };
    let mut nodes = 0;
    let mut bytes = 0;
    let mut node_sz = 0u64;
    let mut node_count = 0i64;
    for e in elems {
        let sz = e.len();
        let overhead = if sz < 254 { 1 } else { 5 }
            + if sz < 64 {
                1
            } else if sz < 16384 {
                2
            } else {
                5
            };
        let new_sz = node_sz + sz + overhead;
        let fits = nodes > 0
            && if fill < 0 {
                new_sz <= size_limit
            } else {
                new_sz <= size_limit && node_count < fill
            };
        if !fits {
            if nodes > 0 {
                bytes += size_class(node_sz, q);
            }
            nodes += 1;
            node_sz = LP_EMPTY;
            node_count = 0;
        }
        node_sz += lp_entry(e);
        node_count += 1;
    }
    if nodes > 0 {
        bytes += size_class(node_sz, q);
    }
    (nodes, bytes)
}

/// Bytes charged for one key beyond the dicts' bucket arrays: the main dict's entry, the
/// key's sds, the value, and the expires dict's entry if the key has a TTL (the expires
/// dict shares the key's sds, `db.c` `setExpire`).
pub fn key_cost(key_len: u64, value_bytes: u64, has_expire: bool, q: Quantum) -> u64 {
    let entry = size_class(DICT_ENTRY, q);
    entry + sds_alloc(key_len, q) + value_bytes + if has_expire { entry } else { 0 }
}
