//! Loading a dump into an [`Engine`] as Redis 7.0's `rdbLoad` builds its keyspace, so the
//! memory model (`lab-memory-mode redis`) picks each value's encoding from its contents and
//! the configured thresholds exactly as for a dataset written by commands — a dumped
//! listpack hash with more fields than `hash-max-listpack-entries` becomes a hashtable, a
//! hashtable set of few integers an intset (`rdbLoadObject` creates the small encoding when
//! the length allows and converts when an element does not fit).
//!
//! * Strings: integers (integer-encoded in the dump, or decimal text of at most 20 bytes that
//!   `string2ll` accepts) become [`Blob::Int`], as `tryObjectEncoding` makes them INT; other
//!   bytes are kept in the engine's `lab-storage` (sized: only their length). The same rule
//!   for list elements, hash values, fields and members (listpack integer entries).
//! * Time: the engine's virtual clock is set to the dump's `ctime` aux field (the save time)
//!   when it comes before the first key; keys whose expiry is before that are skipped and
//!   counted, as a master skips them when loading. Without `ctime` the clock stays at 0.
//! * dbs: the engine holds one keyspace. [`DbChoice::Single`] (the default) loads a dump
//!   whose keys are all in one db (any number) and refuses a key in a second db;
//!   [`DbChoice::Only`] loads one db and counts the keys of the others as skipped;
//!   [`DbChoice::All`] merges every db into the one keyspace (a key name in two dbs is an
//!   error).
//! * A duplicate key, hash field, set member or sorted-set member is an error (Redis refuses
//!   such dumps too).

use std::collections::BTreeMap;
use std::path::Path;

use super::{RdbEntry, RdbError, RdbItem, RdbStr, RdbSummary, RdbValue, show_bytes, type_name};
use crate::keyspace::NO_EXPIRE;
use crate::memory::listpack::parse_canonical_i64;
use crate::value::{HashValue, ListValue, SetValue, Storage, ZSetValue};
use crate::{Blob, Engine, Key, Value};

/// Which dbs of a dump go into the engine's one keyspace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DbChoice {
    /// All keys must be in one db (any number): a key in a second db is an error.
    #[default]
    Single,
    /// Only this db; keys of other dbs are skipped and counted.
    Only(u64),
    /// Every db merged into one keyspace; a key name in two dbs is an error.
    All,
}

impl DbChoice {
    /// Parses `N` or `all` (the `--rdb-db` flag).
    pub fn parse(s: &str) -> Option<DbChoice> {
        if s == "all" {
            Some(DbChoice::All)
        } else {
            s.parse().ok().map(DbChoice::Only)
        }
    }
}

/// What a load did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// The dump's summary (version, aux fields, hints, checksum).
    pub summary: RdbSummary,
    /// Keys stored in the engine.
    pub loaded: u64,
    /// Of those, keys with an expiry.
    pub loaded_expires: u64,
    /// Keys skipped because their expiry was before the dump's `ctime`.
    pub expired_skipped: u64,
    /// Keys skipped because they are in a db not chosen ([`DbChoice::Only`]).
    pub other_db_skipped: u64,
    /// Keys read per db.
    pub keys_per_db: BTreeMap<u64, u64>,
    /// Keys stored per dump type (the RDB encoding, [`type_name`]).
    pub keys_per_rdb_type: BTreeMap<&'static str, u64>,
}

/// Reads the file at `path` and loads it ([`load_bytes`]).
pub fn load_file(engine: &mut Engine, path: &Path, dbs: DbChoice) -> Result<LoadReport, RdbError> {
    let name = path.display().to_string();
    let data = std::fs::read(path).map_err(|e| RdbError {
        file: name.clone(),
        offset: 0,
        key: None,
        what: "cannot read the file".into(),
        found: e.to_string(),
        expected: "a readable RDB file".into(),
    })?;
    load_bytes(engine, &name, &data, dbs)
}

/// Loads the dump `data` (named `file` in errors) into `engine`, which should be empty.
pub fn load_bytes(
    engine: &mut Engine,
    file: &str,
    data: &[u8],
    dbs: DbChoice,
) -> Result<LoadReport, RdbError> {
    let mut rep = LoadReport::default();
    let storage = engine.config().storage;
    // The clock is set from `ctime` (an aux field: they precede the keys) at the first key.
    let mut start_ms: Option<u64> = None;
    let mut clock_set = false;
    let mut first_db: Option<u64> = None;
    let err_at = |e: &RdbEntry, what: String, found: String, expected: &str| RdbError {
        file: file.to_string(),
        offset: e.offset,
        key: Some(show_bytes(&e.key)),
        what,
        found,
        expected: expected.to_string(),
    };
    let summary = super::parse(file, data, &mut |item: RdbItem| {
        let e = match item {
            RdbItem::Aux(k, v) => {
                if k == b"ctime" {
                    start_ms = std::str::from_utf8(&v)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                        .map(|s| s.saturating_mul(1000));
                }
                return Ok(());
            }
            RdbItem::Key(e) => e,
        };
        if !clock_set {
            if let Some(t) = start_ms {
                engine.set_time_ms(t);
            }
            clock_set = true;
        }
        *rep.keys_per_db.entry(e.db).or_default() += 1;
        match dbs {
            DbChoice::Single => match first_db {
                None => first_db = Some(e.db),
                Some(d) if d != e.db => {
                    return Err(err_at(
                        &e,
                        "a key in a second db".into(),
                        format!("db {} after keys in db {d}", e.db),
                        "one db per dump (the engine holds one keyspace): pass --rdb-db N to \
                         load db N alone, or --rdb-db all to merge every db into one keyspace",
                    ));
                }
                Some(_) => {}
            },
            DbChoice::Only(d) if d != e.db => {
                rep.other_db_skipped += 1;
                return Ok(());
            }
            DbChoice::Only(_) | DbChoice::All => {}
        }
        let key = Key::from_bytes(&e.key);
        if engine.peek(&key).is_some() {
            return Err(err_at(
                &e,
                "duplicate key".into(),
                format!("a second '{}' (db {})", show_bytes(&e.key), e.db),
                "each key once (across dbs when merging them with --rdb-db all)",
            ));
        }
        let value = to_value(&e.value, storage).map_err(|dup| {
            err_at(
                &e,
                format!("duplicate element in a {}", type_name(e.rdb_type)),
                format!("'{}' twice", show_bytes(&dup)),
                "each field / member once",
            )
        })?;
        let expire = match e.expire_ms {
            None => NO_EXPIRE,
            Some(t) if t == NO_EXPIRE || t < engine.now_ms() => {
                rep.expired_skipped += 1;
                return Ok(());
            }
            Some(t) => t,
        };
        if !engine.restore(key, value, expire) {
            rep.expired_skipped += 1;
            return Ok(());
        }
        rep.loaded += 1;
        if expire != NO_EXPIRE {
            rep.loaded_expires += 1;
        }
        *rep.keys_per_rdb_type
            .entry(type_name(e.rdb_type))
            .or_default() += 1;
        Ok(())
    })?;
    rep.summary = summary;
    Ok(rep)
}

/// A string element as Redis's loading keeps it: integers as integers.
fn blob(s: &RdbStr, storage: Storage) -> Blob {
    match s {
        RdbStr::Int(i) => Blob::Int(*i),
        RdbStr::Bytes(b) => match parse_canonical_i64(b) {
            Some(i) => Blob::Int(i),
            None => Blob::bytes(b).stored(storage),
        },
    }
}

fn key(s: &RdbStr) -> Key {
    match s {
        RdbStr::Int(i) => Key::from(i.to_string().as_str()),
        RdbStr::Bytes(b) => Key::from_bytes(b),
    }
}

/// The engine value of a dump value; `Err(element)` for a duplicate field or member.
pub fn to_value(v: &RdbValue, storage: Storage) -> Result<Value, Vec<u8>> {
    Ok(match v {
        RdbValue::Str(s) => Value::Str(blob(s, storage)),
        RdbValue::List(items) => {
            let mut l = ListValue::default();
            for s in items {
                l.push_back(blob(s, storage));
            }
            Value::List(Box::new(l))
        }
        RdbValue::Set(items) => {
            let mut set = SetValue::default();
            for s in items {
                if !set.insert(key(s)) {
                    return Err(s.to_vec());
                }
            }
            Value::Set(Box::new(set))
        }
        RdbValue::Hash(pairs) => {
            let mut h = HashValue::default();
            for (f, v) in pairs {
                if !h.insert(key(f), blob(v, storage)) {
                    return Err(f.to_vec());
                }
            }
            Value::Hash(Box::new(h))
        }
        RdbValue::ZSet(pairs) => {
            let mut z = ZSetValue::default();
            for (m, score) in pairs {
                if !z.insert(key(m), *score) {
                    return Err(m.to_vec());
                }
            }
            Value::ZSet(Box::new(z))
        }
    })
}
