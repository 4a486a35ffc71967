//! Persistence: snapshot files, SAVE and BGSAVE by `fork()` with copy-on-write measured as
//! Redis measures it, the append-only file, save rules, and a forkless snapshot for
//! comparison.
//!
//! # Layout
//!
//! - [`snapshot`] — the snapshot file format (header, typed records with TTLs, LZ4,
//!   CRC-64/Jones trailer) in `snapshot/mod.rs`, its writer (`snapshot/writer.rs`) and its
//!   verifying loader (`snapshot/reader.rs`; [`snapshot::reload`] swaps only on success),
//!   tests in `snapshot/tests.rs`.
//! - [`rdb`] — a reader of Redis's RDB dumps (versions 9-11, Redis 5.0-7.2) and their
//!   loading into an engine (see its Layout).
//! - [`save`] — SAVE in process and BGSAVE by fork: temp file, fsync, rename, directory fsync.
//! - [`fork`] — `fork()` for background children: child-info pipe, non-blocking reaping,
//!   the handshake used by experiments, failure injection.
//! - [`cow`] — `Private_Dirty` from `smaps_rollup`, Redis's duty cycle, COW statistics and
//!   the `Fork CoW for ...` log line.
//! - [`pages`] — page-level ground truth (soft-dirty, pagemap exclusive bit, written
//!   addresses) and the distinct-pages formulas.
//! - [`thp`] — THP system mode, `PR_SET_THP_DISABLE`, `MADV_HUGEPAGE`/`MADV_COLLAPSE`.
//! - [`forkless`] — serialize-before-mutate snapshot (Dragonfly's design).
//! - [`aof`] — multi-part append-only file: RESP log, `appendfsync`, rewrite by fork,
//!   manifest (`aof/manifest.rs`), `aof-load-truncated`.
//! - [`rules`] — save points, `stop-writes-on-bgsave-error`, AOF rewrite trigger,
//!   overcommit warning.
//! - [`persistence`] — [`Persistence`]: the cron/beforeSleep/command side that ties them to
//!   an [`crate::Engine`].

pub mod aof;
pub mod cow;
pub mod fork;
pub mod forkless;
pub mod pages;
pub mod persistence;
pub mod rdb;
pub mod rules;
pub mod save;
pub mod snapshot;
pub mod thp;

pub use persistence::{Level, LogLine, PersistConfig, PersistError, PersistStats, Persistence};
