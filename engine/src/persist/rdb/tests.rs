//! Hand-built dumps for each encoding, the loading rules, corrupt dumps, and a fuzz
//! property (random flips and truncations never panic).

use proptest::prelude::*;

use super::load::{DbChoice, LoadReport, load_bytes};
use super::*;
use crate::memory::Encoding;
use crate::{Config, Engine, Key, Value};

// ---- a tiny writer of the RDB format (rdb.c's rdbSave* in miniature) -------------------

fn len(n: u64) -> Vec<u8> {
    if n < 64 {
        vec![n as u8]
    } else if n < 16384 {
        vec![0x40 | (n >> 8) as u8, n as u8]
    } else if n <= u32::MAX as u64 {
        let mut v = vec![0x80];
        v.extend((n as u32).to_be_bytes());
        v
    } else {
        let mut v = vec![0x81];
        v.extend(n.to_be_bytes());
        v
    }
}

fn s(b: &[u8]) -> Vec<u8> {
    let mut v = len(b.len() as u64);
    v.extend(b);
    v
}

fn int8(i: i8) -> Vec<u8> {
    vec![0xC0, i as u8]
}

fn int16(i: i16) -> Vec<u8> {
    let mut v = vec![0xC1];
    v.extend(i.to_le_bytes());
    v
}

fn int32(i: i32) -> Vec<u8> {
    let mut v = vec![0xC2];
    v.extend(i.to_le_bytes());
    v
}

fn lzf_str(b: &[u8]) -> Vec<u8> {
    let c = lzf::compress(b).unwrap();
    let mut v = vec![0xC3];
    v.extend(len(c.len() as u64));
    v.extend(len(b.len() as u64));
    v.extend(c);
    v
}

/// A listpack entry (encoding + data + backlen) as `lpEncode*` writes it.
fn lp_entry(e: &RdbStr) -> Vec<u8> {
    let mut v = match e {
        RdbStr::Int(i) if (0..128).contains(i) => vec![*i as u8],
        RdbStr::Int(i) if (-4096..4096).contains(i) => {
            let u = (*i as u16) & 0x1FFF;
            vec![0xC0 | (u >> 8) as u8, u as u8]
        }
        RdbStr::Int(i) if i16::try_from(*i).is_ok() => {
            let mut v = vec![0xF1];
            v.extend((*i as i16).to_le_bytes());
            v
        }
        RdbStr::Int(i) if (-(1 << 23)..(1 << 23)).contains(i) => {
            let mut v = vec![0xF2];
            v.extend(&(*i as i32).to_le_bytes()[..3]);
            v
        }
        RdbStr::Int(i) if i32::try_from(*i).is_ok() => {
            let mut v = vec![0xF3];
            v.extend((*i as i32).to_le_bytes());
            v
        }
        RdbStr::Int(i) => {
            let mut v = vec![0xF4];
            v.extend(i.to_le_bytes());
            v
        }
        RdbStr::Bytes(b) if b.len() < 64 => {
            let mut v = vec![0x80 | b.len() as u8];
            v.extend(b);
            v
        }
        RdbStr::Bytes(b) if b.len() < 4096 => {
            let mut v = vec![0xE0 | (b.len() >> 8) as u8, b.len() as u8];
            v.extend(b);
            v
        }
        RdbStr::Bytes(b) => {
            let mut v = vec![0xF0];
            v.extend((b.len() as u32).to_le_bytes());
            v.extend(b);
            v
        }
    };
    // Back-length: the value's bytes, 7 bits per byte (contents are not checked by the
    // reader; their count is).
    let l = v.len();
    let n = match l {
        0..=127 => 1,
        128..=16382 => 2,
        _ => 3,
    };
    v.extend(std::iter::repeat_n(0u8, n));
    v
}

fn listpack(entries: &[RdbStr]) -> Vec<u8> {
    let body: Vec<u8> = entries.iter().flat_map(lp_entry).collect();
    let total = 6 + body.len() + 1;
    let mut v = (total as u32).to_le_bytes().to_vec();
    v.extend((entries.len() as u16).to_le_bytes());
    v.extend(body);
    v.push(0xFF);
    v
}

fn zl_entry(e: &RdbStr) -> Vec<u8> {
    let mut v = vec![0u8]; // prevlen (not checked by the reader)
    match e {
        RdbStr::Int(i) if (0..=12).contains(i) => v.push(0xF1 + *i as u8),
        RdbStr::Int(i) if i8::try_from(*i).is_ok() => v.extend([0xFE, *i as u8]),
        RdbStr::Int(i) if i16::try_from(*i).is_ok() => {
            v.push(0xC0);
            v.extend((*i as i16).to_le_bytes());
        }
        RdbStr::Int(i) if (-(1 << 23)..(1 << 23)).contains(i) => {
            v.push(0xF0);
            v.extend(&(*i as i32).to_le_bytes()[..3]);
        }
        RdbStr::Int(i) if i32::try_from(*i).is_ok() => {
            v.push(0xD0);
            v.extend((*i as i32).to_le_bytes());
        }
        RdbStr::Int(i) => {
            v.push(0xE0);
            v.extend(i.to_le_bytes());
        }
        RdbStr::Bytes(b) if b.len() < 64 => {
            v.push(b.len() as u8);
            v.extend(b);
        }
        RdbStr::Bytes(b) if b.len() < 16384 => {
            v.extend([0x40 | (b.len() >> 8) as u8, b.len() as u8]);
            v.extend(b);
        }
        RdbStr::Bytes(b) => {
            v.push(0x80);
            v.extend((b.len() as u32).to_be_bytes());
            v.extend(b);
        }
    }
    v
}

fn ziplist(entries: &[RdbStr]) -> Vec<u8> {
    let body: Vec<u8> = entries.iter().flat_map(zl_entry).collect();
    let total = 10 + body.len() + 1;
    let mut v = (total as u32).to_le_bytes().to_vec();
    v.extend(0u32.to_le_bytes());
    v.extend((entries.len() as u16).to_le_bytes());
    v.extend(body);
    v.push(0xFF);
    v
}

fn intset(width: u32, vals: &[i64]) -> Vec<u8> {
    let mut v = width.to_le_bytes().to_vec();
    v.extend((vals.len() as u32).to_le_bytes());
    for x in vals {
        v.extend(&x.to_le_bytes()[..width as usize]);
    }
    v
}

fn b(x: &str) -> RdbStr {
    RdbStr::Bytes(x.as_bytes().to_vec())
}

/// A dump: header, `ctime` aux, `body`, EOF, checksum (or 0).
fn dump(version: u32, body: &[u8], checksum: bool) -> Vec<u8> {
    let mut v = format!("REDIS{version:04}").into_bytes();
    v.push(OP_AUX);
    v.extend(s(b"redis-ver"));
    v.extend(s(b"7.0.15"));
    v.push(OP_AUX);
    v.extend(s(b"ctime"));
    v.extend(s(b"1700000000"));
    v.extend(body);
    v.push(OP_EOF);
    let crc = if checksum {
        crate::persist::snapshot::crc64(&v)
    } else {
        0
    };
    v.extend(crc.to_le_bytes());
    v
}

fn key(t: u8, k: &str, value: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend(s(k.as_bytes()));
    v.extend(value);
    v
}

fn read(data: &[u8]) -> Result<(RdbSummary, Vec<RdbEntry>), RdbError> {
    let mut keys = Vec::new();
    let sum = parse("t.rdb", data, &mut |it| {
        if let RdbItem::Key(e) = it {
            keys.push(e);
        }
        Ok(())
    })?;
    Ok((sum, keys))
}

/// One key of each type and encoding Redis 6.0-7.2 writes (and the older list/zset forms).
fn every_encoding() -> Vec<u8> {
    let mut body = vec![OP_SELECTDB, 0, OP_RESIZEDB];
    body.extend(len(20));
    body.extend(len(2));
    body.extend(key(0, "raw", &s(b"hello")));
    body.extend(key(0, "i8", &int8(-7)));
    body.extend(key(0, "i16", &int16(12345)));
    body.extend(key(0, "i32", &int32(-2_000_000_000)));
    body.extend(key(0, "lzf", &lzf_str(&b"abcabcabc".repeat(20))));
    body.push(OP_EXPIRETIME_MS);
    body.extend(1_800_000_000_000u64.to_le_bytes());
    body.extend(key(0, "ttl-ms", &s(b"x")));
    body.push(OP_EXPIRETIME);
    body.extend(1_800_000_000u32.to_le_bytes());
    body.push(OP_IDLE);
    body.extend(len(5));
    body.extend(key(0, "ttl-s", &s(b"y")));
    body.push(OP_FREQ);
    body.push(3);
    // list: linked list, ziplist, quicklist (ziplist nodes), quicklist2 (plain + packed)
    let mut l1 = len(2);
    l1.extend(s(b"a"));
    l1.extend(int8(5));
    body.extend(key(1, "list1", &l1));
    body.extend(key(10, "list10", &s(&ziplist(&[b("a"), RdbStr::Int(7)]))));
    let mut ql = len(2);
    ql.extend(s(&ziplist(&[b("a"), RdbStr::Int(300)])));
    ql.extend(s(&ziplist(&[RdbStr::Int(-70000), RdbStr::Int(1 << 40)])));
    body.extend(key(14, "list14", &ql));
    let mut ql2 = len(2);
    ql2.extend(len(1));
    ql2.extend(s(&[b'p'; 100]));
    ql2.extend(len(2));
    ql2.extend(s(&listpack(&[b("q"), RdbStr::Int(-1), RdbStr::Int(5000)])));
    body.extend(key(18, "list18", &ql2));
    // set: hashtable, intset, listpack
    let mut st = len(2);
    st.extend(s(b"m1"));
    st.extend(s(b"m2"));
    body.extend(key(2, "set2", &st));
    body.extend(key(11, "set11", &s(&intset(2, &[-3, 1, 9]))));
    body.extend(key(20, "set20", &s(&listpack(&[b("x"), RdbStr::Int(4)]))));
    // zset: text scores, binary scores, ziplist, listpack
    let mut z3 = len(2);
    z3.extend(s(b"a"));
    z3.extend([3]);
    z3.extend(b"1.5");
    z3.extend(s(b"b"));
    z3.push(254);
    body.extend(key(3, "zset3", &z3));
    let mut z5 = len(1);
    z5.extend(s(b"m"));
    z5.extend(2.25f64.to_le_bytes());
    body.extend(key(5, "zset5", &z5));
    body.extend(key(
        12,
        "zset12",
        &s(&ziplist(&[b("a"), RdbStr::Int(2), b("b"), b("0.5")])),
    ));
    body.extend(key(17, "zset17", &s(&listpack(&[b("a"), b("-1.25")]))));
    // hash: hashtable, ziplist, listpack
    let mut h4 = len(1);
    h4.extend(s(b"f"));
    h4.extend(s(b"v"));
    body.extend(key(4, "hash4", &h4));
    body.extend(key(13, "hash13", &s(&ziplist(&[b("f"), RdbStr::Int(1)]))));
    body.extend(key(
        16,
        "hash16",
        &s(&listpack(&[b("f"), b("v"), b("g"), RdbStr::Int(99)])),
    ));
    body.push(OP_FUNCTION2);
    body.extend(s(
        b"#!lua name=lib\nredis.register_function('f', function() return 1 end)",
    ));
    body
}

#[test]
fn every_type_and_encoding_decodes() {
    let data = dump(11, &every_encoding(), true);
    let (sum, keys) = read(&data).unwrap();
    assert_eq!(sum.version, 11);
    assert_eq!(sum.aux("redis-ver"), Some("7.0.15"));
    assert_eq!(sum.resize_hints, vec![(0, 20, 2)]);
    assert_eq!(sum.functions_skipped, 1);
    assert!(sum.checksum.is_some());
    let get = |k: &str| keys.iter().find(|e| e.key == k.as_bytes()).unwrap();
    assert_eq!(get("raw").value, RdbValue::Str(b("hello")));
    assert_eq!(get("i8").value, RdbValue::Str(RdbStr::Int(-7)));
    assert_eq!(get("i16").value, RdbValue::Str(RdbStr::Int(12345)));
    assert_eq!(get("i32").value, RdbValue::Str(RdbStr::Int(-2_000_000_000)));
    assert_eq!(
        get("lzf").value,
        RdbValue::Str(RdbStr::Bytes(b"abcabcabc".repeat(20)))
    );
    assert_eq!(get("ttl-ms").expire_ms, Some(1_800_000_000_000));
    assert_eq!(get("ttl-s").expire_ms, Some(1_800_000_000_000));
    assert_eq!(get("raw").expire_ms, None);
    assert_eq!(
        get("list1").value,
        RdbValue::List(vec![b("a"), RdbStr::Int(5)])
    );
    assert_eq!(
        get("list10").value,
        RdbValue::List(vec![b("a"), RdbStr::Int(7)])
    );
    assert_eq!(
        get("list14").value,
        RdbValue::List(vec![
            b("a"),
            RdbStr::Int(300),
            RdbStr::Int(-70000),
            RdbStr::Int(1 << 40)
        ])
    );
    assert_eq!(
        get("list18").value,
        RdbValue::List(vec![
            RdbStr::Bytes(vec![b'p'; 100]),
            b("q"),
            RdbStr::Int(-1),
            RdbStr::Int(5000)
        ])
    );
    assert_eq!(get("set2").value, RdbValue::Set(vec![b("m1"), b("m2")]));
    assert_eq!(
        get("set11").value,
        RdbValue::Set(vec![RdbStr::Int(-3), RdbStr::Int(1), RdbStr::Int(9)])
    );
    assert_eq!(
        get("set20").value,
        RdbValue::Set(vec![b("x"), RdbStr::Int(4)])
    );
    assert_eq!(
        get("zset3").value,
        RdbValue::ZSet(vec![(b("a"), 1.5), (b("b"), f64::INFINITY)])
    );
    assert_eq!(get("zset5").value, RdbValue::ZSet(vec![(b("m"), 2.25)]));
    assert_eq!(
        get("zset12").value,
        RdbValue::ZSet(vec![(b("a"), 2.0), (b("b"), 0.5)])
    );
    assert_eq!(get("zset17").value, RdbValue::ZSet(vec![(b("a"), -1.25)]));
    assert_eq!(get("hash4").value, RdbValue::Hash(vec![(b("f"), b("v"))]));
    assert_eq!(
        get("hash13").value,
        RdbValue::Hash(vec![(b("f"), RdbStr::Int(1))])
    );
    assert_eq!(
        get("hash16").value,
        RdbValue::Hash(vec![(b("f"), b("v")), (b("g"), RdbStr::Int(99))])
    );
    assert_eq!(keys.len(), 21);
    assert_eq!(get("zset5").rdb_type, 5);
}

#[test]
fn every_integer_width_of_listpack_and_ziplist_round_trips() {
    let ints: Vec<RdbStr> = [
        0i64,
        12,
        13,
        127,
        128,
        -1,
        -4096,
        4095,
        -5000,
        32767,
        100_000,
        -100_000,
        (1 << 23) - 1,
        -(1 << 23),
        i32::MAX as i64,
        i32::MIN as i64,
        i64::MAX,
        i64::MIN,
    ]
    .into_iter()
    .map(RdbStr::Int)
    .collect();
    let r = Reader::new("t", &[]);
    assert_eq!(packed::listpack(&r, 0, &listpack(&ints)).unwrap(), ints);
    assert_eq!(packed::ziplist(&r, 0, &ziplist(&ints)).unwrap(), ints);
    let strs = vec![
        b(""),
        RdbStr::Bytes(vec![b'z'; 63]),
        RdbStr::Bytes(vec![b'y'; 64]),
        RdbStr::Bytes(vec![b'w'; 5000]),
        RdbStr::Bytes(vec![b'v'; 20_000]),
    ];
    assert_eq!(packed::listpack(&r, 0, &listpack(&strs)).unwrap(), strs);
    assert_eq!(packed::ziplist(&r, 0, &ziplist(&strs)).unwrap(), strs);
    assert_eq!(
        packed::intset(&r, 0, &intset(8, &[i64::MIN, 0, i64::MAX])).unwrap(),
        vec![i64::MIN, 0, i64::MAX]
    );
}

fn redis_engine(extra: &str) -> Engine {
    let cfg = Config::parse_str(&format!(
        "lab-memory-mode redis\nlab-storage materialized\nlab-jemalloc-quantum 16\nsave \"\"\n{extra}"
    ))
    .unwrap();
    Engine::new(cfg, 1).unwrap()
}

fn load(e: &mut Engine, data: &[u8], dbs: DbChoice) -> Result<LoadReport, RdbError> {
    load_bytes(e, "t.rdb", data, dbs)
}

fn encoding(e: &Engine, k: &str) -> Encoding {
    let slot = e
        .keyspace()
        .find(&Key::from(k), Key::from(k).hash64())
        .unwrap();
    e.redis_memory().unwrap().slot_encoding(slot)
}

#[test]
fn loading_picks_encodings_from_contents_and_configured_thresholds() {
    let mut e = redis_engine("hash-max-listpack-entries 2\nset-max-intset-entries 4");
    let rep = load(&mut e, &dump(10, &every_encoding(), true), DbChoice::Single).unwrap();
    assert_eq!(rep.loaded, 21);
    assert_eq!(rep.loaded_expires, 2);
    assert_eq!(e.len(), 21);
    assert_eq!(e.expires(), 2);
    // The clock is the dump's ctime.
    assert_eq!(e.now_ms(), 1_700_000_000_000);
    // A dumped listpack hash of 2 fields is over hash-max-listpack-entries 1? No: 2 <= 2.
    assert_eq!(encoding(&e, "hash16"), Encoding::Listpack);
    // A hashtable-encoded set of strings stays a hashtable; the intset one stays an intset;
    // the 7.2 listpack set with a string member becomes a hashtable (7.0 has no listpack sets).
    assert_eq!(encoding(&e, "set2"), Encoding::Hashtable);
    assert_eq!(encoding(&e, "set11"), Encoding::Intset);
    assert_eq!(encoding(&e, "set20"), Encoding::Hashtable);
    // Integer strings are INT (shared below 10000), others EMBSTR/RAW.
    assert_eq!(encoding(&e, "i8"), Encoding::Int);
    assert_eq!(encoding(&e, "i16"), Encoding::Int);
    assert_eq!(encoding(&e, "raw"), Encoding::Embstr);
    assert_eq!(encoding(&e, "lzf"), Encoding::Raw);
    assert_eq!(encoding(&e, "zset5"), Encoding::Listpack);
    assert_eq!(encoding(&e, "list18"), Encoding::Quicklist);

    // Lower thresholds: the same dump's listpack hash becomes a hashtable, its intset set
    // of 3 a hashtable, as Redis's loading converts them.
    let mut e = redis_engine("hash-max-listpack-entries 1\nset-max-intset-entries 2");
    load(&mut e, &dump(10, &every_encoding(), true), DbChoice::Single).unwrap();
    assert_eq!(encoding(&e, "hash16"), Encoding::Hashtable);
    assert_eq!(encoding(&e, "set11"), Encoding::Hashtable);
    // And a dumped hashtable hash of one field becomes a listpack.
    assert_eq!(encoding(&e, "hash4"), Encoding::Listpack);
    e.check_invariants().unwrap();
}

#[test]
fn text_integers_load_as_integers_and_sized_storage_keeps_lengths() {
    let mut body = key(0, "n", &s(b"123456"));
    body.extend(key(0, "z", &s(b"0123")));
    let mut e = redis_engine("");
    load(&mut e, &dump(9, &body, true), DbChoice::Single).unwrap();
    assert_eq!(encoding(&e, "n"), Encoding::Int);
    assert_eq!(encoding(&e, "z"), Encoding::Embstr);
    let mut e = Engine::new(
        Config::parse_str("lab-memory-mode redis\nlab-storage sized").unwrap(),
        1,
    )
    .unwrap();
    load(&mut e, &dump(9, &body, true), DbChoice::Single).unwrap();
    let v = &e.peek(&Key::from("z")).unwrap().value;
    assert!(matches!(v, Value::Str(crate::Blob::Sized(4))), "{v:?}");
}

#[test]
fn expired_keys_are_skipped_and_counted() {
    let mut body = vec![OP_EXPIRETIME_MS];
    body.extend(1_600_000_000_000u64.to_le_bytes());
    body.extend(key(0, "old", &s(b"x")));
    body.extend(key(0, "live", &s(b"y")));
    let mut e = redis_engine("");
    let rep = load(&mut e, &dump(10, &body, true), DbChoice::Single).unwrap();
    assert_eq!((rep.loaded, rep.expired_skipped), (1, 1));
}

fn two_dbs() -> Vec<u8> {
    let mut body = vec![OP_SELECTDB, 0];
    body.extend(key(0, "a", &s(b"1x")));
    body.extend([OP_SELECTDB, 3]);
    body.extend(key(0, "b", &s(b"2x")));
    body.extend(key(0, "a", &s(b"3x")));
    dump(10, &body, true)
}

#[test]
fn dbs_single_only_and_all() {
    let mut e = redis_engine("");
    let err = load(&mut e, &two_dbs(), DbChoice::Single).unwrap_err();
    assert!(err.to_string().contains("db 3 after keys in db 0"), "{err}");
    assert!(err.to_string().contains("--rdb-db"), "{err}");
    assert_eq!(err.key.as_deref(), Some("b"));

    let mut e = redis_engine("");
    let rep = load(&mut e, &two_dbs(), DbChoice::Only(3)).unwrap();
    assert_eq!((rep.loaded, rep.other_db_skipped), (2, 1));

    let mut e = redis_engine("");
    let err = load(&mut e, &two_dbs(), DbChoice::All).unwrap_err();
    assert!(err.what.contains("duplicate key"), "{err}");
    assert_eq!(err.key.as_deref(), Some("a"));
    assert_eq!(DbChoice::parse("all"), Some(DbChoice::All));
    assert_eq!(DbChoice::parse("2"), Some(DbChoice::Only(2)));
    assert_eq!(DbChoice::parse("x"), None);
}

#[test]
fn empty_aggregates_are_skipped_and_counted() {
    let mut body = key(2, "empty", &len(0));
    body.extend(key(0, "k", &s(b"v")));
    let (sum, keys) = read(&dump(10, &body, true)).unwrap();
    assert_eq!((sum.keys, sum.empty_skipped, keys.len()), (1, 1, 1));
}

fn err_of(data: &[u8]) -> RdbError {
    read(data).unwrap_err()
}

#[test]
fn corrupt_dumps_name_the_offset_the_value_and_what_is_accepted() {
    let good = dump(10, &key(0, "k", &s(b"v")), false);
    let key_at = good.len() - 9 - 5; // type byte of "k"

    let mut bad = good.clone();
    bad[0] = b'X';
    let e = err_of(&bad);
    assert_eq!(e.offset, 0);
    assert!(e.to_string().contains("'XEDIS'"), "{e}");

    let e = err_of(&dump(12, &[], true));
    assert_eq!(e.offset, 5);
    assert!(
        e.to_string().contains("'0012'") && e.expected.contains("0011"),
        "{e}"
    );

    let mut bad = good.clone();
    bad[key_at] = 30;
    let e = err_of(&bad);
    assert_eq!(e.offset, key_at as u64);
    assert!(
        e.what.contains("unknown value type") && e.found.contains("30"),
        "{e}"
    );

    // A bad length prefix (0x82) in the value's length.
    let mut bad = good.clone();
    bad[key_at + 3] = 0x82;
    let e = err_of(&bad);
    assert_eq!(e.offset, key_at as u64 + 3);
    assert_eq!(e.key.as_deref(), Some("k"));
    assert!(e.found.contains("0x82"), "{e}");

    // EOF in the middle.
    let e = err_of(&good[..key_at + 3]);
    assert!(e.found.contains("left in the file"), "{e}");

    // LZF: a corrupt stream, and a length beyond any expansion.
    // A back reference before the start of the output.
    let mut v = vec![0xC3];
    v.extend(len(2));
    v.extend(len(10));
    v.extend([0x20, 0x05]);
    let e = err_of(&dump(10, &key(0, "z", &v), true));
    assert!(e.what.contains("LZF"), "{e}");
    assert_eq!(e.key.as_deref(), Some("z"));
    let mut huge = vec![0xC3];
    huge.extend(len(4));
    huge.extend(len(u32::MAX as u64));
    huge.extend([1, 2, 3, 4]);
    let e = err_of(&dump(10, &key(0, "z", &huge), true));
    assert!(
        e.what.contains("LZF lengths") && e.expected.contains("88x"),
        "{e}"
    );

    // A count the file cannot hold.
    let mut bigset = len(1 << 40);
    bigset.extend(s(b"m"));
    let e = err_of(&dump(10, &key(2, "s", &bigset), true));
    assert!(e.found.contains("1099511627776 items"), "{e}");

    // Checksum mismatch (structurally fine).
    let mut bad = dump(10, &key(0, "k", &s(b"v")), true);
    let i = bad.len() - 10;
    bad[i] = b'w';
    let e = err_of(&bad);
    assert!(e.what.contains("checksum mismatch"), "{e}");
    assert_eq!(e.offset as usize, bad.len() - 8);
    // Truncated with a checksum: the structural error first, the checksum noted.
    let full = dump(10, &key(0, "k", &s(b"value")), true);
    let e = err_of(&full[..full.len() - 12]);
    assert!(e.what.contains("checksum does not match either"), "{e}");

    // Bytes after the checksum.
    let mut bad = good.clone();
    bad.push(0);
    let e = err_of(&bad);
    assert!(e.what.contains("bytes after the checksum"), "{e}");

    // A corrupt listpack inside a value: offset of the blob, position inside it.
    let mut lp = listpack(&[b("f"), b("v")]);
    lp[6] = 0xF7;
    let e = err_of(&dump(10, &key(16, "h", &s(&lp)), true));
    assert!(e.what.contains("listpack (at byte 6"), "{e}");
    assert!(e.found.contains("0xf7"), "{e}");
}

#[test]
fn streams_and_modules_are_errors_naming_key_type_and_offset() {
    let mut body = key(0, "k", &s(b"v"));
    let at = dump(10, &[], true).len() - 9 + body.len();
    body.extend(key(19, "events", &[0, 0, 0]));
    let e = err_of(&dump(10, &body, true));
    assert_eq!(e.offset as usize, at);
    assert_eq!(e.key.as_deref(), Some("events"));
    assert!(e.found.contains("stream"), "{e}");

    // Module id of "ReJSON-RL" (version 3), as moduleTypeEncodeId packs it.
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id: u64 = 0;
    for c in b"ReJSON-RL" {
        id = (id << 6) | CHARS.iter().position(|x| x == c).unwrap() as u64;
    }
    id = (id << 10) | 3;
    let mut m = len(id);
    m.extend([0, 0]);
    let e = err_of(&dump(10, &key(7, "doc", &m), true));
    assert!(e.found.contains("'ReJSON-RL'"), "{e}");
    assert_eq!(e.key.as_deref(), Some("doc"));
}

#[test]
fn disabled_checksum_is_accepted() {
    let (sum, keys) = read(&dump(11, &key(0, "k", &s(b"v")), false)).unwrap();
    assert_eq!((sum.checksum, keys.len()), (None, 1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    /// Random flips and truncations of a dump holding every encoding never panic: parsing
    /// and loading either succeed or return an error (with and without the checksum, so
    /// corrupt values reach the loader too).
    #[test]
    fn random_corruption_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        checksum in any::<bool>(),
    ) {
        let mut data = dump(11, &every_encoding(), checksum);
        for (i, x) in flips {
            let i = i.index(data.len());
            data[i] = x;
        }
        if truncate {
            data.truncate(cut.index(data.len()));
        }
        let _ = read(&data);
        let mut e = redis_engine("");
        let _ = load(&mut e, &data, DbChoice::All);
        e.check_invariants().map_err(TestCaseError::fail)?;
    }
}

/// A dump written by redis-server 7.0.15 (`SAVE`; made with redis-cli: strings int / embstr /
/// raw / LZF, two TTLs, a quicklist2 with a plain-sized element, intset and hashtable sets,
/// listpack and skiplist zsets, listpack and hashtable hashes; `INFO keyspace` said
/// `keys=16,expires=2`).
const REDIS_7_0_DUMP: &[u8] = include_bytes!("../../../tests/data/redis-7.0.15-mixed.rdb");

#[test]
fn a_dump_written_by_redis_7_0_loads_with_the_servers_encodings() {
    let mut e = redis_engine("");
    let rep = load(&mut e, REDIS_7_0_DUMP, DbChoice::Single).unwrap();
    assert_eq!(rep.summary.version, 10);
    assert_eq!(rep.summary.aux("redis-ver"), Some("7.0.15"));
    assert!(rep.summary.checksum.is_some());
    assert_eq!((e.len(), e.expires()), (16, 2));
    // OBJECT ENCODING on the server before SAVE.
    for (k, enc) in [
        ("s:int", Encoding::Int),
        ("s:neg", Encoding::Int),
        ("s:big", Encoding::Int),
        ("s:emb", Encoding::Embstr),
        ("s:raw", Encoding::Raw),
        ("s:lzf", Encoding::Raw),
        ("set:int", Encoding::Intset),
        ("set:str", Encoding::Hashtable),
        ("z:small", Encoding::Listpack),
        ("z:big", Encoding::Skiplist),
        ("h:small", Encoding::Listpack),
        ("h:long", Encoding::Hashtable),
        ("l:small", Encoding::Quicklist),
    ] {
        assert_eq!(encoding(&e, k), enc, "{k}");
    }
    let lzf = e.peek(&Key::from("s:lzf")).unwrap();
    assert_eq!(lzf.value.bytes(), 320);
}
