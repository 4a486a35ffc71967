//! A reader of Redis's RDB dump files (RDB versions 9, 10 and 11: Redis 5.0–7.2), so a real
//! dataset can be loaded into the engine ([`load`]).
//!
//! Read: every type and encoding Redis 6.0–7.2 writes — strings (raw, integer-encoded,
//! LZF-compressed), lists (`quicklist` of ziplists, `quicklist2` of listpack and plain
//! nodes; the older linked list and ziplist forms too), sets (hashtable, intset, listpack),
//! hashes (hashtable, ziplist, listpack), sorted sets (`ZSET_2` binary scores, the older
//! text scores, ziplist, listpack); `EXPIRETIME_MS` and `EXPIRETIME`; `IDLE` and `FREQ`
//! (read and dropped: the engine starts every key's LRU/LFU state afresh); `AUX` fields
//! (kept, see [`RdbSummary::aux`]); `SELECTDB` (each key carries its db; what to do with
//! several dbs is the loader's choice, [`load::DbChoice`]); `RESIZEDB` (kept as hints, not
//! used: the engine's dicts grow as keys are added); `FUNCTION2` (function libraries:
//! counted and skipped). Refused with an error naming the offset and, for values, the key
//! and type: module values and module aux data (the lab has no modules), streams (not a
//! type the engine models), the zipmap of Redis < 2.6, the Redis 7.0 release-candidate
//! function format, and RDB versions other than 9–11. Empty aggregates are skipped and
//! counted, as Redis 7 skips them (`rdbLoadObject`'s `RDB_LOAD_ERR_EMPTY_KEY`).
//!
//! Checks: the magic and version; every length against the bytes left in the file (a count
//! of items each ≥ n bytes, a string's length, an LZF length at most 88 × its compressed
//! size), so no input allocates more than a small multiple of the file or loops beyond its
//! length; the packed encodings' headers, entries and end markers ([`packed`]); the CRC-64
//! (Jones) trailer of RDB ≥ 5 over everything before it (0 means `rdbchecksum no`), and no
//! bytes after it. A mismatching checksum is reported after a structural pass, so a
//! truncated or corrupt file names the first offset that does not parse when there is one.
//!
//! Why not the `rdb` crate (0.4.0): it decodes Redis 7's listpack and quicklist2 forms, but
//! its errors carry no byte offset or key, it does not verify the checksum, it drops streams
//! and module values silently, and it passes the LZF "uncompressed length" from the file to
//! the `lzf` crate's `decompress`, which allocates that many bytes up front (`vec![0; n]`) —
//! a corrupt length would abort the process instead of failing. Here the `lzf` crate is
//! called only after that length is bounded.
//!
//! The file is read into memory whole (dumps are loaded into an in-memory engine anyway).
//!
//! # Layout
//!
//! - this file — [`RdbError`], the decoded items ([`RdbStr`], [`RdbValue`], [`RdbEntry`]),
//!   [`RdbSummary`], and [`parse`]: the opcode loop and the value types.
//! - `bytes.rs` — lengths, strings, LZF, scores.
//! - [`packed`] — ziplist, listpack, intset.
//! - [`load`] — into an [`crate::Engine`]: values as Redis's loading makes them, expiry,
//!   dbs, duplicates.
//! - `tests.rs` — hand-built dumps per encoding, corrupt dumps, a fuzz property.

// An error carries the file, offset, key, value and what is accepted (the lab's error
// convention); it is returned once per load, so its size (over clippy's 128 bytes) costs
// nothing worth boxing for.
#![allow(clippy::result_large_err)]

mod bytes;
pub mod load;
pub mod packed;

#[cfg(test)]
mod tests;

use bytes::Reader;

/// A malformed, truncated or unsupported dump: the file, the byte offset, the key being
/// read (if any), what failed, the value found and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: byte {offset}{}: {what}: found {found}; expected {expected}",
    .key.as_ref().map(|k| format!(" (key '{k}')")).unwrap_or_default())]
pub struct RdbError {
    /// The file as given.
    pub file: String,
    /// Byte offset in the file.
    pub offset: u64,
    /// The key being read, escaped.
    pub key: Option<String>,
    /// What failed.
    pub what: String,
    /// The value seen.
    pub found: String,
    /// What is accepted.
    pub expected: String,
}

/// A string as a dump stores it: an integer encoding or bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdbStr {
    /// An integer-encoded string (the bytes are its decimal form).
    Int(i64),
    /// Bytes.
    Bytes(Vec<u8>),
}

impl RdbStr {
    /// The string's bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            RdbStr::Int(i) => i.to_string().into_bytes(),
            RdbStr::Bytes(b) => b.clone(),
        }
    }
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    /// A string.
    Str(RdbStr),
    /// List elements, head first.
    List(Vec<RdbStr>),
    /// Set members.
    Set(Vec<RdbStr>),
    /// Hash field/value pairs.
    Hash(Vec<(RdbStr, RdbStr)>),
    /// Sorted-set members and scores.
    ZSet(Vec<(RdbStr, f64)>),
}

/// One key of the dump.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbEntry {
    /// The db (`SELECTDB`) the key is in.
    pub db: u64,
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: RdbValue,
    /// Absolute expiry, Unix ms (`EXPIRETIME_MS`, or `EXPIRETIME` × 1000).
    pub expire_ms: Option<u64>,
    /// The RDB type byte (see [`type_name`]).
    pub rdb_type: u8,
    /// Offset of the type byte in the file.
    pub offset: u64,
}

/// What [`parse`] hands its visitor, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbItem {
    /// An `AUX` field (name, value), e.g. `ctime` (the save time, Unix seconds).
    Aux(Vec<u8>, Vec<u8>),
    /// A key.
    Key(RdbEntry),
}

/// What a dump held besides its keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RdbSummary {
    /// RDB version (9, 10 or 11).
    pub version: u32,
    /// `AUX` fields in file order (e.g. `redis-ver`, `ctime`, `used-mem`), escaped.
    pub aux: Vec<(String, String)>,
    /// `RESIZEDB` hints: (db, keys, expires).
    pub resize_hints: Vec<(u64, u64, u64)>,
    /// Keys read (empty aggregates excluded).
    pub keys: u64,
    /// Empty aggregates skipped, as Redis 7 skips them.
    pub empty_skipped: u64,
    /// `FUNCTION2` libraries skipped.
    pub functions_skipped: u64,
    /// The checksum: `Some(crc)` verified, `None` when the dump was written with
    /// `rdbchecksum no` (0).
    pub checksum: Option<u64>,
}

impl RdbSummary {
    /// The value of an `AUX` field.
    pub fn aux(&self, name: &str) -> Option<&str> {
        self.aux
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Printable form of bytes for messages: UTF-8 as is (control characters escaped), other
/// bytes as `\xNN`; at most 64 characters.
pub fn show_bytes(b: &[u8]) -> String {
    let s: String = b.utf8_chunks().fold(String::new(), |mut s, c| {
        s.extend(c.valid().chars().flat_map(char::escape_debug));
        for x in c.invalid() {
            s.push_str(&format!("\\x{x:02x}"));
        }
        s
    });
    if s.chars().count() > 64 {
        let mut t: String = s.chars().take(61).collect();
        t.push_str("...");
        t
    } else {
        s
    }
}

/// The RDB versions read: Redis 5.0 and 6.x write 9, 7.0 writes 10, 7.2 writes 11.
pub const VERSIONS: std::ops::RangeInclusive<u32> = 9..=11;

// Opcodes (Redis 7.2 `src/rdb.h`).
const OP_FUNCTION2: u8 = 245;
const OP_FUNCTION_PRE_GA: u8 = 246;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

/// The types this reader decodes, for messages.
const ACCEPTED_TYPES: &str =
    "0 (string), 1/10/14/18 (list), 2/11/20 (set), 3/5/12/17 (zset), 4/13/16 (hash)";

/// Redis's name of an RDB value type (`RDB_TYPE_*`, Redis 7.2 `src/rdb.h`).
pub fn type_name(t: u8) -> &'static str {
    match t {
        0 => "string",
        1 => "list (linked list)",
        2 => "set (hashtable)",
        3 => "zset (text scores)",
        4 => "hash (hashtable)",
        5 => "zset (skiplist)",
        6 => "module (pre-GA)",
        7 => "module",
        9 => "hash (zipmap)",
        10 => "list (ziplist)",
        11 => "set (intset)",
        12 => "zset (ziplist)",
        13 => "hash (ziplist)",
        14 => "list (quicklist)",
        15 => "stream",
        16 => "hash (listpack)",
        17 => "zset (listpack)",
        18 => "list (quicklist2)",
        19 => "stream (v2)",
        20 => "set (listpack)",
        21 => "stream (v3)",
        _ => "unknown",
    }
}

/// A module type's name from its 64-bit id (`moduleTypeNameByID`: nine 6-bit characters
/// above the 10-bit encoding version).
fn module_name(id: u64) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..9)
        .map(|i| CHARS[((id >> (10 + 6 * (8 - i))) & 63) as usize] as char)
        .collect()
}

/// Parses `data` (the bytes of the file named `file`), calling `visit` for each aux field
/// and key in file order; returns the summary. `visit`'s errors stop the parse and are returned as they are.
pub fn parse(
    file: &str,
    data: &[u8],
    visit: &mut dyn FnMut(RdbItem) -> Result<(), RdbError>,
) -> Result<RdbSummary, RdbError> {
    let mut r = Reader::new(file, data);
    let version = header(&mut r)?;
    // The trailer first: a mismatch is reported after a structural pass (its first error is
    // the better message when there is one).
    let stored = (data.len() >= 17).then(|| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&data[data.len() - 8..]);
        u64::from_le_bytes(a)
    });
    if let Some(stored) = stored
        && stored != 0
    {
        let crc = crate::persist::snapshot::crc64(&data[..data.len() - 8]);
        if crc != stored {
            let mut r = Reader::new(file, data);
            header(&mut r)?;
            if let Err(mut e) = body(&mut r, version, &mut |_| Ok(())) {
                e.what.push_str(" (the checksum does not match either)");
                return Err(e);
            }
            return Err(r.error(
                data.len() - 8,
                "checksum mismatch",
                format!("stored CRC-64 {stored:016x}, computed {crc:016x}"),
                "the CRC-64 (Jones) of the bytes before it, or 0 (rdbchecksum no)",
            ));
        }
    }
    let mut summary = body(&mut r, version, visit)?;
    summary.checksum = stored.filter(|&c| c != 0);
    Ok(summary)
}

/// `REDIS` and a four-digit version in [`VERSIONS`].
fn header(r: &mut Reader<'_>) -> Result<u32, RdbError> {
    let magic = r.take(5, "the magic string").map_err(|_| {
        r.error(
            0,
            "not an RDB file",
            format!("{} bytes", r.data.len()),
            "at least 'REDIS' and a 4-digit version",
        )
    })?;
    if magic != b"REDIS" {
        return Err(r.error(
            0,
            "not an RDB file",
            format!("'{}'", show_bytes(magic)),
            "the magic string 'REDIS'",
        ));
    }
    let v = r.take(4, "the RDB version")?;
    let version = std::str::from_utf8(v)
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u32>().ok());
    match version {
        Some(n) if VERSIONS.contains(&n) => Ok(n),
        _ => Err(r.error(
            5,
            "unsupported RDB version",
            format!("'{}'", show_bytes(v)),
            "0009, 0010 or 0011 (Redis 5.0-7.2)",
        )),
    }
}

/// The opcode loop after the header, up to and including the checksum.
fn body(
    r: &mut Reader<'_>,
    version: u32,
    visit: &mut dyn FnMut(RdbItem) -> Result<(), RdbError>,
) -> Result<RdbSummary, RdbError> {
    let mut s = RdbSummary {
        version,
        ..RdbSummary::default()
    };
    let mut db = 0u64;
    let mut expire_ms: Option<u64> = None;
    loop {
        r.key = None;
        let at = r.pos;
        let op = r.u8("an opcode or value type (end of file before the EOF opcode)")?;
        match op {
            OP_EOF => break,
            OP_SELECTDB => db = r.length("the SELECTDB db number")?,
            OP_RESIZEDB => {
                let keys = r.length("the RESIZEDB db size")?;
                let expires = r.length("the RESIZEDB expires size")?;
                s.resize_hints.push((db, keys, expires));
            }
            OP_AUX => {
                let k = r.string("an AUX field name")?.to_vec();
                let v = r.string("an AUX field value")?.to_vec();
                s.aux.push((show_bytes(&k), show_bytes(&v)));
                visit(RdbItem::Aux(k, v))?;
            }
            OP_EXPIRETIME_MS => expire_ms = Some(r.u64le("an EXPIRETIME_MS time")?),
            OP_EXPIRETIME => {
                expire_ms = Some(u64::from(r.u32le("an EXPIRETIME time")?) * 1000);
            }
            OP_IDLE => {
                r.length("an IDLE time")?;
            }
            OP_FREQ => {
                r.u8("a FREQ counter")?;
            }
            OP_FUNCTION2 => {
                r.string("a FUNCTION2 library")?;
                s.functions_skipped += 1;
            }
            OP_MODULE_AUX | OP_FUNCTION_PRE_GA => {
                return Err(r.error(
                    at,
                    "unsupported opcode",
                    if op == OP_MODULE_AUX {
                        "MODULE_AUX (module data: the lab has no modules)".to_string()
                    } else {
                        "FUNCTION_PRE_GA (Redis 7.0 release-candidate functions)".to_string()
                    },
                    "a dump written without modules by Redis 5.0-7.2",
                ));
            }
            t => {
                let key = r.string("a key")?.to_vec();
                r.key = Some(key.clone());
                let value = value(r, at, t)?;
                let e = expire_ms.take();
                match value {
                    None => s.empty_skipped += 1,
                    Some(value) => {
                        s.keys += 1;
                        visit(RdbItem::Key(RdbEntry {
                            db,
                            key,
                            value,
                            expire_ms: e,
                            rdb_type: t,
                            offset: at as u64,
                        }))?;
                    }
                }
            }
        }
    }
    // RDB >= 5: the 8-byte checksum ends the file.
    let at = r.pos;
    r.take(8, "the CRC-64 checksum after the EOF opcode")?;
    if r.left() > 0 {
        return Err(r.error(
            at + 8,
            "bytes after the checksum",
            format!("{} more bytes", r.left()),
            "the end of the file after the EOF opcode and the 8-byte checksum",
        ));
    }
    Ok(s)
}

/// Reads the value of type `t` (its key already read); `None` for an empty aggregate.
fn value(r: &mut Reader<'_>, at: usize, t: u8) -> Result<Option<RdbValue>, RdbError> {
    let strs = |r: &mut Reader<'_>, what: &str| -> Result<Vec<RdbStr>, RdbError> {
        let n = r.count(what, 1)?;
        (0..n).map(|_| r.string(what)).collect()
    };
    let v = match t {
        0 => RdbValue::Str(r.string("a string value")?),
        1 => RdbValue::List(strs(r, "list elements")?),
        2 => RdbValue::Set(strs(r, "set members")?),
        3 | 5 => {
            let n = r.count("sorted-set members", if t == 5 { 9 } else { 2 })?;
            let mut out = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let m = r.string("a sorted-set member")?;
                let score = if t == 5 {
                    r.binary_double("a sorted-set score")?
                } else {
                    r.text_double("a sorted-set score")?
                };
                out.push((m, score));
            }
            RdbValue::ZSet(out)
        }
        4 => {
            let n = r.count("hash fields", 2)?;
            let mut out = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let f = r.string("a hash field")?;
                out.push((f, r.string("a hash value")?));
            }
            RdbValue::Hash(out)
        }
        10 | 14 | 18 => {
            let nodes = if t == 10 {
                1
            } else {
                r.count("quicklist nodes", 2)?
            };
            let mut out = Vec::new();
            for _ in 0..nodes {
                let container = if t == 18 {
                    r.length("a quicklist node container")?
                } else {
                    2
                };
                match container {
                    // QUICKLIST_NODE_CONTAINER_PLAIN: one element as a string.
                    1 => out.push(r.string("a plain quicklist node")?),
                    // PACKED: a ziplist (≤ 6.2) or a listpack (7.x).
                    2 => {
                        let (b_at, b) = r.blob("a quicklist node")?;
                        let elems = if t == 18 {
                            packed::listpack(r, b_at, &b)?
                        } else {
                            packed::ziplist(r, b_at, &b)?
                        };
                        out.extend(elems);
                    }
                    c => {
                        return Err(r.error(
                            r.pos,
                            "bad quicklist node container",
                            c.to_string(),
                            "1 (plain) or 2 (packed)",
                        ));
                    }
                }
            }
            RdbValue::List(out)
        }
        11 => {
            let (b_at, b) = r.blob("an intset")?;
            let ints = packed::intset(r, b_at, &b)?;
            RdbValue::Set(ints.into_iter().map(RdbStr::Int).collect())
        }
        20 => {
            let (b_at, b) = r.blob("a set listpack")?;
            RdbValue::Set(packed::listpack(r, b_at, &b)?)
        }
        12 | 13 | 16 | 17 => {
            let (b_at, b) = r.blob("a ziplist or listpack")?;
            let elems = if t <= 13 {
                packed::ziplist(r, b_at, &b)?
            } else {
                packed::listpack(r, b_at, &b)?
            };
            if elems.len() % 2 != 0 {
                return Err(r.error(
                    b_at,
                    format!("corrupt {}", type_name(t)),
                    format!("{} entries", elems.len()),
                    "an even number of entries (pairs)",
                ));
            }
            let mut pairs = Vec::with_capacity(elems.len() / 2);
            let mut it = elems.into_iter();
            while let (Some(a), Some(b)) = (it.next(), it.next()) {
                pairs.push((a, b));
            }
            if t == 13 || t == 16 {
                RdbValue::Hash(pairs)
            } else {
                let mut out = Vec::with_capacity(pairs.len());
                for (m, score) in pairs {
                    let sc = match &score {
                        RdbStr::Int(i) => Some(*i as f64),
                        RdbStr::Bytes(b) => bytes::parse_score(b),
                    };
                    let Some(sc) = sc else {
                        return Err(r.error(
                            b_at,
                            format!("corrupt {}", type_name(t)),
                            format!("score '{}'", show_bytes(&score.to_vec())),
                            "a number",
                        ));
                    };
                    out.push((m, sc));
                }
                RdbValue::ZSet(out)
            }
        }
        6 | 7 => {
            let id = r.length("a module type id")?;
            return Err(r.error(
                at,
                "unsupported value type",
                format!(
                    "type {t} ({}, module type '{}')",
                    type_name(t),
                    module_name(id)
                ),
                format!("{ACCEPTED_TYPES}: the lab has no modules"),
            ));
        }
        15 | 19 | 21 => {
            return Err(r.error(
                at,
                "unsupported value type",
                format!("type {t} ({})", type_name(t)),
                format!("{ACCEPTED_TYPES}: the engine does not model streams"),
            ));
        }
        _ => {
            return Err(r.error(
                at,
                "unknown value type",
                format!("type byte {t} ({})", type_name(t)),
                format!("{ACCEPTED_TYPES}, or an opcode 245-255"),
            ));
        }
    };
    if let RdbValue::ZSet(z) = &v
        && let Some((m, _)) = z.iter().find(|(_, s)| s.is_nan())
    {
        return Err(r.error(
            at,
            "sorted-set score is NaN",
            format!("member '{}'", show_bytes(&m.to_vec())),
            "a number (Redis refuses NaN scores)",
        ));
    }
    let empty = match &v {
        RdbValue::Str(_) => false,
        RdbValue::List(x) | RdbValue::Set(x) => x.is_empty(),
        RdbValue::Hash(x) => x.is_empty(),
        RdbValue::ZSet(x) => x.is_empty(),
    };
    Ok((!empty).then_some(v))
}
