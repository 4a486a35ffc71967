//! Replaying a workload against a real Redis-protocol server (Redis, Valkey, Dragonfly,
//! KeyDB, Memurai) and reading what it did from `INFO`.
//!
//! One **server cell** is (policy, samples, capacity) on one loaded [`Workload`]:
//!
//! 1. `FLUSHALL SYNC`, `CONFIG SET maxmemory 0`, load the replay script, `CONFIG RESETSTAT`
//!    (Redis 7's `latency-tracking` is off for the whole run and restored at the end: see
//!    [`Server::pause_latency_tracking`]);
//! 2. resolve the capacity with the hit-rate rules ([`crate::hitrate::capacity`]) and turn it
//!    into a `maxmemory` in bytes:
//!    * a key count: the `maxmemory` at which the server holds about `cap` keys while
//!      replaying this workload, found by loading `cap` keys and short warm-up replays
//!      ([`calibrate_keys`]); the key count it really held is in the row (`keys`);
//!    * bytes (workloads with sizes): `maxmemory` = `used_memory` of the empty server plus
//!      the capacity, i.e. the dataset's budget including Redis's per-key overhead;
//! 3. `CONFIG SET maxmemory / maxmemory-policy / maxmemory-samples`;
//! 4. replay every request through one server-side Lua script ([`REPLAY_SCRIPT`]) in
//!    pipelines of `--pipeline` requests. The script runs GET and, on a miss, the fill SET
//!    inside one command, so cache-aside stays exact however deep the pipeline: the GET's
//!    result is known before its fill, and the script returns whether it hit. Writes go
//!    through `redis.pcall`, so an `-OOM` refusal (noeviction, or a `volatile-*` policy with
//!    nothing to evict: redis `src/server.c` `processCommand`, `src/script.c`
//!    `scriptVerifyOOM`) is counted instead of aborting the pipeline;
//! 5. pace at `--rate` requests per second (0 = as fast as the server answers). Redis's LRU
//!    clock has a 1 s resolution (`LRU_CLOCK_RESOLUTION` 1000 ms, refreshed in serverCron:
//!    redis `src/server.h`, `src/evict.c`), so keys touched in the same second tie under
//!    `allkeys-lru`: the replay speed changes Redis's choices, as `--rate` does in the engine;
//! 6. sample `INFO` every `--info-every-ms` ms of wall time and at the end.
//!
//! Hits and misses are counted twice: by the script's answers and by the server's
//! `keyspace_hits` / `keyspace_misses` (reset at the start of the cell). They agree exactly
//! on Redis because the script's `GET` is the only read lookup (`SET`/`DEL` are write
//! lookups, which do not count: redis `src/db.c` `lookupKeyReadWithFlags`).
//!
//! [`bgsave`] is the second mode: load a dataset, start `BGSAVE` and write while the child
//! runs, reading `current_cow_peak` / `current_cow_size` / `rdb_last_cow_size` /
//! `latest_fork_usec` from INFO into [`CowRow`]s with `snapshot = redis-bgsave`.

mod bgsave;
mod client;
pub mod cmd;
mod replay;
pub mod report;

pub use bgsave::{BgsaveOptions, bgsave};
pub use client::{Info, Server};
pub use replay::{calibrate_keys, check_redis_policy, run_cell};

use serde::Serialize;

/// The replay script. `KEYS[1]` is the key; `ARGV` = op (`g` GET with fill on miss, `r` GET
/// only, `s` SET, `d` DEL), value size in bytes, TTL in ms (0 = none). Values are `x`
/// repeated (built on the server, so the client sends no value bytes).
///
/// Returns: 1 GET hit; 0 GET miss (filled, or not asked to fill); 2 GET miss whose fill was
/// refused with OOM; 3 SET done; 4 SET refused with OOM; 5 DEL done.
pub const REPLAY_SCRIPT: &str = r#"
local op = ARGV[1]
local function put()
  local v = string.rep('x', tonumber(ARGV[2]))
  local ttl = tonumber(ARGV[3])
  local r
  if ttl > 0 then r = redis.pcall('SET', KEYS[1], v, 'PX', ttl)
  else r = redis.pcall('SET', KEYS[1], v) end
  return not (type(r) == 'table' and r.err)
end
if op == 'g' or op == 'r' then
  if redis.call('GET', KEYS[1]) then return 1 end
  if op == 'r' then return 0 end
  if put() then return 0 else return 2 end
elseif op == 's' then
  if put() then return 3 else return 4 end
else
  redis.call('DEL', KEYS[1])
  return 5
end
"#;

/// Options of a server replay.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Requests per second; 0 = unpaced.
    pub rate: f64,
    /// Requests per pipeline (one round trip).
    pub pipeline: usize,
    /// Fill the cache on a GET miss.
    pub fill_on_miss: bool,
    /// Wall-clock period of the INFO samples, ms.
    pub info_every_ms: u64,
    /// Seed recorded in the rows (the workload is already generated).
    pub seed: u64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            rate: 0.0,
            pipeline: 100,
            fill_on_miss: true,
            info_every_ms: 1000,
            seed: 1,
        }
    }
}

crate::hitrate::with_hit_columns! {
    /// One line of `server.csv`: the `hitrate.csv` columns (from the replay script's
    /// answers; `evicted_keys` and `expired_keys` are INFO's at the end, `admission_bypasses`
    /// is always 0 — Redis has no admission policy — and `virtual_ms` is the replay's wall
    /// time, the server's clock), then what the server reported.
    #[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
    pub struct ServerRow {
        /// `--rate` asked for (0 = unpaced).
        pub target_rate: f64,
        /// Requests per pipeline.
        pub pipeline: u64,
        /// `maxmemory` set, bytes.
        pub maxmemory: u64,
        /// `used_memory` of the empty server before the cell, bytes.
        pub baseline_used_memory: u64,
        /// INFO `keyspace_hits` (reset at the start).
        pub keyspace_hits: u64,
        /// INFO `keyspace_misses`.
        pub keyspace_misses: u64,
        /// INFO `used_memory` at the end.
        pub used_memory: u64,
        /// INFO `used_memory_rss` at the end.
        pub used_memory_rss: u64,
        /// INFO `mem_fragmentation_ratio` at the end.
        pub mem_fragmentation_ratio: f64,
        /// INFO `rdb_last_cow_size` (0 unless a BGSAVE ran).
        pub rdb_last_cow_size: u64,
        /// INFO `latest_fork_usec`.
        pub latest_fork_usec: u64,
        /// `DBSIZE` at the end: the key count the server held.
        pub keys: u64,
        /// Largest `DBSIZE` seen in the samples.
        pub keys_max: u64,
        /// (`used_memory` − baseline) / `keys`: the server's memory per key.
        pub memory_per_key: f64,
        /// INFO `redis_version` (or `valkey_version`, `dragonfly_version`).
        pub server_version: String,
    }
}

/// One INFO sample of `server_timeseries.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ServerPoint {
    /// Cell index.
    pub cell: u64,
    /// Policy.
    pub policy: String,
    /// Capacity (as in the row).
    pub capacity: u64,
    /// Wall time since the replay started, ms.
    pub t_ms: u64,
    /// Requests sent so far.
    pub requests_done: u64,
    /// INFO `keyspace_hits`.
    pub keyspace_hits: u64,
    /// INFO `keyspace_misses`.
    pub keyspace_misses: u64,
    /// INFO `evicted_keys`.
    pub evicted_keys: u64,
    /// INFO `expired_keys`.
    pub expired_keys: u64,
    /// INFO `used_memory`.
    pub used_memory: u64,
    /// INFO `used_memory_rss`.
    pub used_memory_rss: u64,
    /// INFO `mem_fragmentation_ratio`.
    pub mem_fragmentation_ratio: f64,
    /// Keys in db0 (INFO keyspace).
    pub keys: u64,
}

#[cfg(test)]
mod tests {
    use super::client::itoa_buf;
    use super::*;
    use evictlab_engine::key::format_u64 as fmt_u64;

    #[test]
    fn info_parses_fields_and_keyspace() {
        let i = Info::parse(
            "# Server\r\nredis_version:7.0.15\r\n# Stats\r\nkeyspace_hits:12\r\n\
             mem_fragmentation_ratio:1.25\r\n# Keyspace\r\ndb0:keys=42,expires=3,avg_ttl=0\r\n",
        );
        assert_eq!(i.u64("keyspace_hits"), 12);
        assert_eq!(i.f64("mem_fragmentation_ratio"), 1.25);
        assert_eq!(i.db0_keys(), 42);
        assert_eq!(i.u64("absent"), 0);
        assert_eq!(i.version(), "redis 7.0.15");
    }

    #[test]
    fn keys_format_as_the_engine_formats_them() {
        let mut b = itoa_buf();
        for n in [0u64, 7, 42, 1_000_000, u64::MAX] {
            assert_eq!(fmt_u64(n, &mut b), n.to_string().as_bytes());
        }
    }

    #[test]
    fn only_redis_policies_run_on_a_server() {
        use evictlab_engine::policy::registry;
        assert!(check_redis_policy(registry::find("allkeys-lru").unwrap()).is_ok());
        assert!(check_redis_policy(registry::find("sieve").unwrap()).is_err());
    }
}
