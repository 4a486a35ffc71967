//! # evictlab-engine
//!
//! A single-threaded, Redis-faithful in-memory store for experiments at the memory limit:
//! Redis's `maxmemory`, all eight `maxmemory-policy` values (sampling, the 16-entry
//! eviction pool, the 24-bit LRU clock, the LFU Morris counter with decay), passive and
//! active expiry, strings/hashes/sets/sorted sets/lists, and research policies beside them.
//! Time is virtual (set by the caller) or the system clock; randomness comes only from the
//! seed given to [`Engine::new`].
//!
//! # Layout
//!
//! - [`engine`] — [`Engine`]: the one request loop (lookup → expire → evict → apply →
//!   account → stats). `engine/mod.rs`: the struct, construction, accessors and hooks for
//!   runners and persistence; `time.rs`: clocks, cron, the per-command prologue; `limit.rs`:
//!   charges, the limit, `performEvictions`; `keyspace_ops.rs`: delete/expire/lookup/insert;
//!   `fast.rs`: the GET / get-or-fill / SET / DEL fast paths the runners drive;
//!   `lookahead.rs`: [`Lookahead`], the replay loop's look-ahead prefetch hints.
//! - `commands` — the implementation of every [`Command`] behind [`Engine::execute`].
//! - [`command`] — [`Command`], [`Reply`], [`ErrorReply`] (Redis's exact error texts);
//!   `command/parse.rs`: parsing from and to argument vectors.
//! - [`keyspace`] — key → [`Entry`] slab with stable [`Slot`]s, the volatile index
//!   (Redis's `expires`), O(1) uniform sampling.
//! - `index` — the key → slot index of the keyspace (open addressing, integer-id fast path).
//! - [`dict`] — a model of Redis's chained hash tables for `dictGetSomeKeys`,
//!   `dictGetRandomKey` and `dictScan`.
//! - [`key`] — [`Key`]: byte strings, inline when short, free for integer ids.
//! - [`value`] — [`Value`], [`Blob`]: payloads in sized or materialized [`Storage`].
//! - [`config`] — [`Config`]: Redis's parameter names, defaults and ranges
//!   (`config/params.rs`: the one parameter table) and redis.conf parsing (`config/parse.rs`).
//! - [`lru`] — the LRU clock and LFU counter arithmetic of `evict.c`.
//! - [`memory`] — `lab-memory-mode redis`: Redis 7.0's `used_memory` for the data held
//!   (dicts, sds, robj, encodings, jemalloc size classes; see its Layout).
//! - `expire` — the active-expire cycle presets (redis, redis5, echovault).
//! - `idle` — the closed form of idle cron ticks in virtual time (`lab-cron-stepping`).
//! - [`policy`] — the [`Policy`] trait, the [`policy::registry`], one file per policy (Redis's,
//!   EchoVault's, research ones, Belady) and their shared parts (ghost FIFO, frequency sketch, capacity).
//! - [`server`] — [`Server`]: the `lab-server` profiles (redis, echovault) and which
//!   policies each offers and how it maps `maxmemory-policy` names.
//! - [`stats`] — [`Stats`], named as Redis's INFO fields.
//! - [`persist`] — snapshot file, SAVE/BGSAVE by `fork()` with copy-on-write measurement,
//!   AOF, save rules, forkless snapshot (one file each; see its Layout).
//!
//! # Example
//!
//! ```
//! use evictlab_engine::{Config, Engine, Key, Blob, SetOptions, GetOutcome};
//!
//! let config = Config::parse_str("maxmemory 100\nmaxmemory-policy allkeys-lru\nlab-memory-mode keys")?;
//! let mut engine = Engine::new(config, 42)?;
//! engine.set(Key::from_id(7), Blob::sized(64), SetOptions::default());
//! assert_eq!(engine.get(&Key::from_id(7)), GetOutcome::Hit(64));
//! assert_eq!(engine.get(&Key::from("missing")), GetOutcome::Miss);
//! assert_eq!(engine.stats().keyspace_hits, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod command;
mod commands;
pub mod config;
pub mod dict;
pub mod engine;
mod expire;
mod idle;
mod index;
pub mod key;
pub mod keyspace;
pub mod lru;
pub mod memory;
pub mod persist;
pub mod policy;
pub mod server;
pub mod stats;
pub mod value;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

pub use command::{Command, ErrorReply, Reply, SetCondition, SetExpiry, SetOptions};
pub use config::{Config, ConfigError, MemoryMode, parse_size};
pub use engine::{
    DefragStep, Engine, FillOutcome, GetOutcome, Lookahead, MutationObserver, WriteOutcome,
};
pub use expire::ExpireParams;
pub use key::Key;
pub use keyspace::{Entry, Keyspace, NO_EXPIRE, Scope, Slot};
pub use policy::{InsertKind, NEVER, Policy, PolicyCtx, RemovalCause};
pub use server::Server;
pub use stats::Stats;
pub use value::{Blob, Storage, Value, ValueType};
