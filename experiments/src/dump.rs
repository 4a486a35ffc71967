//! `--rdb FILE`: a real Redis dump as an experiment's dataset (`memory`, `cow`, `frag`).
//!
//! The dump is read and loaded by [`evictlab_engine::persist::rdb`] (RDB 9-11, Redis
//! 5.0-7.2; every type and encoding; its doc lists what is refused). `--rdb-db` says what
//! to do with several dbs (the engine holds one keyspace): absent, a dump whose keys are all
//! in one db loads and a key in a second db is an error; `N` loads db N alone (the others'
//! keys are counted as skipped); `all` merges every db into one keyspace. Each command that
//! takes `--rdb` declares it conflicting with its own dataset flags, so clap names both.

use std::path::Path;

use evictlab_engine::Engine;
use evictlab_engine::persist::rdb::load::{DbChoice, LoadReport, load_file};
use serde::{Deserialize, Serialize};

use crate::RunError;

/// Help text of `--rdb`.
pub const RDB_HELP: &str = "A Redis dump (RDB 9-11: Redis 5.0-7.2) as the dataset";

/// clap value parser of `--rdb-db`: `N` or `all`.
pub fn parse_db(s: &str) -> Result<String, String> {
    DbChoice::parse(s)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("invalid db '{s}': expected a db number or 'all'"))
}

/// The [`DbChoice`] of an `--rdb-db` value (already checked by [`parse_db`]).
pub fn db_choice(flag: Option<&str>) -> Result<DbChoice, RunError> {
    match flag {
        None => Ok(DbChoice::Single),
        Some(s) => DbChoice::parse(s).ok_or_else(|| RunError::BadArgument {
            flag: "--rdb-db",
            value: s.to_string(),
            expected: "a db number or 'all'",
        }),
    }
}

/// Loads the dump at `path` into `engine` (empty).
pub fn load(engine: &mut Engine, path: &Path, db: Option<&str>) -> Result<LoadReport, RunError> {
    Ok(load_file(engine, path, db_choice(db)?)?)
}

/// `rdb_load.csv`: what a dump held and what was loaded.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RdbLoadRow {
    /// The file as given.
    pub file: String,
    /// RDB version.
    pub rdb_version: u32,
    /// `redis-ver` aux field (empty if absent).
    pub redis_ver: String,
    /// `used-mem` aux field: the writer's `used_memory` at the save (0 if absent).
    pub dump_used_mem: u64,
    /// Keys stored in the engine.
    pub keys_loaded: u64,
    /// Of those, keys with a TTL.
    pub expires_loaded: u64,
    /// Keys whose expiry was before the dump's `ctime` (skipped, as Redis skips them).
    pub expired_skipped: u64,
    /// Keys of dbs not chosen by `--rdb-db N`.
    pub other_db_skipped: u64,
    /// Empty aggregates (skipped, as Redis 7 skips them).
    pub empty_skipped: u64,
    /// `FUNCTION2` libraries (skipped).
    pub functions_skipped: u64,
    /// `verified` or `disabled` (the dump was written with `rdbchecksum no`).
    pub checksum: String,
    /// Keys stored per dump encoding, e.g. `string=90 hash (listpack)=10`.
    pub dump_types: String,
}

impl RdbLoadRow {
    /// The row of a load.
    pub fn new(path: &Path, r: &LoadReport) -> RdbLoadRow {
        let s = &r.summary;
        RdbLoadRow {
            file: path.display().to_string(),
            rdb_version: s.version,
            redis_ver: s.aux("redis-ver").unwrap_or_default().to_string(),
            dump_used_mem: s.aux("used-mem").and_then(|v| v.parse().ok()).unwrap_or(0),
            keys_loaded: r.loaded,
            expires_loaded: r.loaded_expires,
            expired_skipped: r.expired_skipped,
            other_db_skipped: r.other_db_skipped,
            empty_skipped: s.empty_skipped,
            functions_skipped: s.functions_skipped,
            checksum: if s.checksum.is_some() {
                "verified"
            } else {
                "disabled"
            }
            .into(),
            dump_types: r
                .keys_per_rdb_type
                .iter()
                .map(|(t, n)| format!("{t}={n}"))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}
