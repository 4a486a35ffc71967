//! The model per encoding against numbers worked out by hand from Redis 7.0's structures
//! (sizes and sources in `objects.rs` / `listpack.rs`), and the engine in redis mode.

use super::objects::{CostParams, Encoding, Thresholds, key_cost, sds_alloc, value_cost};
use super::*;
use crate::key::Key;
use crate::value::{HashValue, ListValue, SetValue, ZSetValue};
use crate::{Config, Engine, SetOptions};

fn params(q: Quantum) -> CostParams {
    CostParams {
        quantum: q,
        thresholds: Thresholds::default(),
        shared_integers: true,
    }
}

fn cost(v: &Value, q: Quantum) -> (Encoding, u64) {
    value_cost(v, &params(q), false)
}

fn s(b: &[u8]) -> Value {
    Value::Str(Blob::bytes(b))
}

#[test]
fn key_sds_headers_by_length() {
    let q = Quantum::Q8;
    assert_eq!(sds_alloc(3, q), 8); // sdshdr5: 1 + 3 + 1 = 5
    assert_eq!(sds_alloc(16, q), 24); // 1 + 16 + 1 = 18
    assert_eq!(sds_alloc(31, q), 40); // 1 + 31 + 1 = 33
    assert_eq!(sds_alloc(32, q), 40); // sdshdr8: 3 + 32 + 1 = 36
    assert_eq!(sds_alloc(300, q), 320); // sdshdr16: 5 + 300 + 1 = 306
    assert_eq!(sds_alloc(70_000, q), 81920); // sdshdr32: 9 + 70000 + 1 → 80 KiB class
    assert_eq!(sds_alloc(16, Quantum::Q16), 32);
}

#[test]
fn strings_embstr_raw_int() {
    let q8 = Quantum::Q8;
    // EMBSTR: robj 16 + sdshdr8 3 + len + NUL in one allocation.
    assert_eq!(cost(&s(b"hello"), q8), (Encoding::Embstr, 32)); // 25 → 32
    assert_eq!(
        cost(&Value::Str(Blob::sized(44)), q8),
        (Encoding::Embstr, 64)
    ); // 64
    // RAW: robj + sdshdr8 (3 + 45 + 1 = 49 → 56).
    assert_eq!(
        cost(&Value::Str(Blob::sized(45)), q8),
        (Encoding::Raw, 16 + 56)
    );
    assert_eq!(
        cost(&Value::Str(Blob::sized(45)), Quantum::Q16),
        (Encoding::Raw, 16 + 64)
    );
    // 1000 bytes: sdshdr16 5 + 1000 + 1 = 1006 → 1024.
    assert_eq!(
        cost(&Value::Str(Blob::sized(1000)), q8),
        (Encoding::Raw, 16 + 1024)
    );
    // Integers: shared below 10000, else a 16-byte robj.
    assert_eq!(cost(&s(b"42"), q8), (Encoding::SharedInt, 0));
    assert_eq!(cost(&s(b"12345"), q8), (Encoding::Int, 16));
    assert_eq!(cost(&s(b"-3"), q8), (Encoding::Int, 16));
    assert_eq!(cost(&s(b"042"), q8), (Encoding::Embstr, 24)); // not canonical: 16+3+3+1 = 23
    let no_share = CostParams {
        shared_integers: false,
        ..params(q8)
    };
    assert_eq!(value_cost(&s(b"42"), &no_share, false), (Encoding::Int, 16));
    // A sized payload of 2 bytes may be digits, but the model cannot know: EMBSTR.
    assert_eq!(
        cost(&Value::Str(Blob::sized(2)), q8),
        (Encoding::Embstr, 24)
    );
}

#[test]
fn per_key_with_and_without_ttl() {
    // 16-byte key, 10-byte value (redis-internals.md §7.5 worked example).
    assert_eq!(key_cost(16, 32, false, Quantum::Q8), 24 + 24 + 32);
    assert_eq!(key_cost(16, 32, false, Quantum::Q16), 32 + 32 + 32);
    assert_eq!(key_cost(16, 32, true, Quantum::Q16), 32 + 32 + 32 + 32);
}

#[test]
fn hash_listpack_and_hashtable() {
    let mut h = HashValue::default();
    h.insert(Key::from("a"), Blob::bytes(b"1"));
    h.insert(Key::from("bb"), Blob::bytes(b"hello"));
    let v = Value::Hash(Box::new(h));
    // Listpack: 6 + [a: 2+1] + [1: 1+1] + [bb: 3+1] + [hello: 6+1] + 1 = 23 → 24; robj 16.
    assert_eq!(cost(&v, Quantum::Q8), (Encoding::Listpack, 16 + 24));
    // Over hash-max-listpack-entries 1: robj 16 + dict 56 + 4 buckets 32
    // + (entry 24 + sds "a" 8 + sds "1" 8) + (24 + sds "bb" 8 + sds "hello" 8).
    let p = CostParams {
        thresholds: Thresholds {
            hash_max_listpack_entries: 1,
            ..Thresholds::default()
        },
        ..params(Quantum::Q8)
    };
    assert_eq!(
        value_cost(&v, &p, false),
        (Encoding::Hashtable, 16 + 56 + 32 + 40 + 40)
    );
    // Converted before: stays a hashtable even under the thresholds.
    assert_eq!(
        value_cost(&v, &params(Quantum::Q8), true).0,
        Encoding::Hashtable
    );
    // A value longer than hash-max-listpack-value (64) converts too.
    let mut h = HashValue::default();
    h.insert(Key::from("f"), Blob::sized(65));
    assert_eq!(
        cost(&Value::Hash(Box::new(h)), Quantum::Q8).0,
        Encoding::Hashtable
    );
}

#[test]
fn set_intset_and_hashtable() {
    let mut st = SetValue::default();
    for m in ["1", "2", "300"] {
        st.insert(Key::from(m));
    }
    let v = Value::Set(Box::new(st.clone()));
    // 8 + 3 × 2 = 14 → 16; robj 16.
    assert_eq!(cost(&v, Quantum::Q8), (Encoding::Intset, 32));
    st.insert(Key::from("70000"));
    // 32-bit members: 8 + 4 × 4 = 24.
    assert_eq!(
        cost(&Value::Set(Box::new(st.clone())), Quantum::Q8),
        (Encoding::Intset, 40)
    );
    let mut st = SetValue::default();
    st.insert(Key::from("a"));
    st.insert(Key::from("b"));
    // robj 16 + dict 56 + 32 buckets + 2 × (entry 24 + sds 8).
    assert_eq!(
        cost(&Value::Set(Box::new(st)), Quantum::Q8),
        (Encoding::Hashtable, 16 + 56 + 32 + 64)
    );
}

#[test]
fn zset_listpack_and_skiplist() {
    let mut z = ZSetValue::default();
    z.insert(Key::from("a"), 1.0);
    z.insert(Key::from("b"), 0.5);
    // 6 + [a 3] + [1 → int 2] + [b 3] + ["0.5" 5] + 1 = 20 → 24; robj 16.
    assert_eq!(
        cost(&Value::ZSet(Box::new(z.clone())), Quantum::Q8),
        (Encoding::Listpack, 40)
    );
    let p = CostParams {
        thresholds: Thresholds {
            zset_max_listpack_entries: 1,
            ..Thresholds::default()
        },
        ..params(Quantum::Q8)
    };
    let (enc, bytes) = value_cost(&Value::ZSet(Box::new(z)), &p, false);
    assert_eq!(enc, Encoding::Skiplist);
    // robj 16 + zset 16 + dict 56 + buckets 32 + zskiplist 32 + header node
    // (24 + 32 × 16 = 536 → 640) + 2 × (entry 24 + sds 8) + 2 × expected node.
    let node = super::objects::expected_skiplist_node(Quantum::Q8);
    // 0.75×40 + 0.1875×56 + 0.046875×80 + 0.01171875×96 + 0.0029×112 + … ≈ 45.84
    assert!((45.8..45.9).contains(&node), "{node}");
    let want = 16 + 16 + 56 + 32 + 32 + 640 + 64 + (2.0 * node).round() as u64;
    assert_eq!(bytes, want);
}

#[test]
fn list_quicklist_nodes() {
    let mut l = ListValue::default();
    for b in [&b"a"[..], b"bb", b"12"] {
        l.push_back(Blob::bytes(b));
    }
    // One node: listpack 7 + 3 + 4 + 2 = 16; robj 16 + quicklist 40 + node 40 + 16.
    assert_eq!(
        cost(&Value::List(Box::new(l)), Quantum::Q8),
        (Encoding::Quicklist, 112)
    );
    // 1000 elements of 100 bytes: each adds 100 + 1 + 2 to the estimate; a node takes
    // elements while 7 + 103·k + 103 ≤ 8192, i.e. 78 per node → 13 nodes.
    let mut l = ListValue::default();
    for _ in 0..1000 {
        l.push_back(Blob::sized(100));
    }
    let (nodes, _) = super::objects::quicklist_nodes(
        l.iter().map(super::objects::blob_elem),
        &Thresholds::default(),
        Quantum::Q8,
    );
    assert_eq!(nodes, 13);
}

fn redis_engine(extra: &str) -> Engine {
    let cfg = Config::parse_str(&format!(
        "lab-memory-mode redis\nlab-base-memory 1000\n{extra}"
    ))
    .unwrap();
    Engine::new(cfg, 1).unwrap()
}

#[test]
fn engine_counts_keys_dicts_and_frees_on_delete() {
    let mut e = redis_engine("");
    assert_eq!(e.used_memory(), 1000);
    e.set(
        Key::from("k:1"),
        Blob::bytes(b"hello"),
        SetOptions::default(),
    );
    // entry 24 + key sds 8 + EMBSTR 32 + main dict's first 4 buckets (32).
    assert_eq!(e.used_memory(), 1000 + 64 + 32);
    e.set(
        Key::from("k:2"),
        Blob::bytes(b"hello"),
        SetOptions {
            expiry: crate::SetExpiry::Px(10_000),
            ..SetOptions::default()
        },
    );
    // + 64 + expires entry 24 + expires dict's 4 buckets.
    assert_eq!(e.used_memory(), 1000 + 64 + 32 + 64 + 24 + 32);
    e.check_invariants().unwrap();
    assert!(e.del(&Key::from("k:2")));
    assert!(e.del(&Key::from("k:1")));
    // The tables stay (Redis frees them only when the cron shrinks … not below 4).
    assert_eq!(e.used_memory(), 1000 + 32 + 32);
    e.check_invariants().unwrap();
}

#[test]
fn engine_growth_rehash_and_cron() {
    let mut e = redis_engine("lab-jemalloc-quantum 16");
    for i in 0..5u64 {
        e.set(Key::from_id(i), Blob::sized(10), SetOptions::default());
    }
    let m = e.redis_memory().unwrap();
    assert!(m.main_dict().is_rehashing(), "5th add expands 4 → 8");
    // Per key (quantum 16): entry 32 + key sds ("0".."4": 3 → 8) + EMBSTR 30 → 32 = 72.
    assert_eq!(e.used_memory(), 1000 + 5 * 72 + 32 + 64);
    e.advance_ms(100); // one cron tick finishes the rehash
    assert_eq!(e.used_memory(), 1000 + 5 * 72 + 64);
}

#[test]
fn eviction_brings_modelled_memory_under_maxmemory() {
    let base = 1000;
    let mut e = redis_engine("maxmemory 21000\nmaxmemory-policy allkeys-lru");
    for i in 0..1000u64 {
        e.set(Key::from_id(i), Blob::sized(100), SetOptions::default());
        // performEvictions runs before each command: after it, at most one write over.
        assert!(e.used_memory() <= 21000 + 200, "{}", e.used_memory());
    }
    e.get(&Key::from_id(0));
    assert!(e.used_memory() <= 21000);
    assert!(e.stats().evicted_keys > 0);
    // Per key: entry 24 + sds ≤ 8 + RAW (16 + 3+100+1 → 112) = 152 at most.
    assert!(e.len() as u64 >= (21000 - base - 2048) / 152);
    e.check_invariants().unwrap();
}

#[test]
fn keys_that_fit_is_the_count_an_evicting_engine_settles_at() {
    // Keys 1000000.. (7-byte sds) with 100-byte values: one charge for every key.
    for (q, quantum) in [("8", Quantum::Q8), ("16", Quantum::Q16)] {
        for maxmemory in [20_000u64, 150_000, 1_000_000, 3_000_000] {
            let mut e = redis_engine(&format!(
                "lab-jemalloc-quantum {q}\nmaxmemory {maxmemory}\nmaxmemory-policy allkeys-random"
            ));
            let per_key = e
                .redis_memory()
                .unwrap()
                .string_charge(7, &Blob::sized(100), false);
            for i in 0..(maxmemory / 50) {
                e.set(
                    Key::from_id(1_000_000 + i),
                    Blob::sized(100),
                    SetOptions::default(),
                );
            }
            e.get(&Key::from_id(0)); // evicts down to maxmemory
            e.advance_ms(1000); // finishes any rehash
            let held = e.len() as u64;
            let fit = keys_that_fit(maxmemory, 1000, per_key as f64, 0.0, quantum);
            assert!(
                held.abs_diff(fit) <= 1 + held / 200,
                "quantum {q}, maxmemory {maxmemory}: engine holds {held}, keys_that_fit {fit}"
            );
        }
    }
    assert_eq!(keys_that_fit(900, 1000, 100.0, 0.0, Quantum::Q8), 0);
    // With no growth refusal a key count at a power of two is exact: base + 1024 keys of
    // 100 B + 1024 buckets of 8 B.
    let exact = 1000 + 1024 * 100 + 1024 * 8;
    assert_eq!(keys_that_fit(exact, 1000, 100.0, 0.0, Quantum::Q8), 1024);
}
