//! Replaying a workload against a real Redis-protocol server (Redis, Valkey, Dragonfly,
//! KeyDB, Memurai) and reading what it did from `INFO`.
//!
//! One **server cell** is (policy, samples, capacity) on one loaded [`Workload`]:
//!
//! 1. `FLUSHALL SYNC`, `CONFIG SET maxmemory 0`, load the replay script, `CONFIG RESETSTAT`;
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

pub mod cmd;
pub mod report;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use evictlab_engine::policy::registry::{Family, PolicyInfo};
use evictlab_workloads::Op;
use serde::Serialize;

use crate::RunError;
use crate::cow::CowRow;
use crate::hitrate::{CapacityUnit, HitRow, SizeUnit, capacity};
use crate::workload::Workload;

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

/// One cell: a Redis policy, its samples and a size.
#[derive(Clone, Debug)]
pub struct ServerCell {
    /// The policy (one of Redis's eight).
    pub policy: &'static PolicyInfo,
    /// `maxmemory-samples` (sampled policies).
    pub samples: Option<u32>,
    /// The size as given.
    pub size: f64,
    /// Its unit.
    pub size_unit: SizeUnit,
}

/// One line of `server.csv`: the `hitrate.csv` columns (from the replay's own counts), then
/// what the server reported.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ServerRow {
    /// Index of the cell.
    pub cell: u64,
    /// Workload name.
    pub workload: String,
    /// Policy name.
    pub policy: String,
    /// `maxmemory-samples`.
    pub samples: Option<u32>,
    /// Capacity as resolved by the hit-rate rules (keys or value bytes).
    pub capacity: u64,
    /// `keys` or `bytes`.
    pub capacity_unit: String,
    /// Capacity / working set.
    pub capacity_fraction: f64,
    /// Seed.
    pub seed: u64,
    /// Requests replayed.
    pub requests: u64,
    /// GETs.
    pub gets: u64,
    /// GETs that hit (script answers).
    pub hits: u64,
    /// GETs that missed (script answers).
    pub misses: u64,
    /// hits / gets.
    pub hit_ratio: f64,
    /// Hit bytes / GET bytes.
    pub byte_hit_ratio: f64,
    /// INFO `evicted_keys` at the end.
    pub evicted_keys: u64,
    /// INFO `expired_keys` at the end.
    pub expired_keys: u64,
    /// Writes refused with `-OOM` (fills and SETs).
    pub oom_rejections: u64,
    /// Always 0 (Redis has no admission policy); kept for the hitrate.csv columns.
    pub admission_bypasses: u64,
    /// Wall time of the replay, ms (the server's clock is the wall clock).
    pub virtual_ms: u64,
    /// Achieved requests per second.
    pub requests_per_sec: f64,
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

impl ServerRow {
    /// The `hitrate.csv` part of the row.
    pub fn hit_row(&self) -> HitRow {
        HitRow {
            cell: self.cell,
            workload: self.workload.clone(),
            policy: self.policy.clone(),
            samples: self.samples,
            capacity: self.capacity,
            capacity_unit: self.capacity_unit.clone(),
            capacity_fraction: self.capacity_fraction,
            seed: self.seed,
            requests: self.requests,
            gets: self.gets,
            hits: self.hits,
            misses: self.misses,
            hit_ratio: self.hit_ratio,
            byte_hit_ratio: self.byte_hit_ratio,
            evicted_keys: self.evicted_keys,
            expired_keys: self.expired_keys,
            oom_rejections: self.oom_rejections,
            admission_bypasses: self.admission_bypasses,
            virtual_ms: self.virtual_ms,
            requests_per_sec: self.requests_per_sec,
        }
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

fn redis_err(url: &str, what: &str, e: redis::RedisError) -> RunError {
    RunError::Server {
        url: url.to_string(),
        message: format!("{what}: {e}"),
    }
}

/// A connection with the replay script loaded.
pub struct Server {
    url: String,
    con: redis::Connection,
    sha: String,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("url", &self.url).finish()
    }
}

/// Parsed `INFO` output (`field:value` lines).
#[derive(Clone, Debug, Default)]
pub struct Info(pub HashMap<String, String>);

impl Info {
    /// Parses INFO text.
    pub fn parse(text: &str) -> Info {
        Info(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        )
    }

    /// An integer field (0 when absent, as on servers that do not report it).
    pub fn u64(&self, k: &str) -> u64 {
        self.0
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v.max(0.0) as u64)
    }

    /// A float field (0 when absent).
    pub fn f64(&self, k: &str) -> f64 {
        self.0
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    }

    /// Keys of db0 from the keyspace section (`db0:keys=N,expires=..`).
    pub fn db0_keys(&self) -> u64 {
        self.0
            .get("db0")
            .and_then(|v| {
                v.split(',')
                    .find_map(|kv| kv.strip_prefix("keys="))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }

    /// The server's name and version.
    pub fn version(&self) -> String {
        for (k, name) in [
            ("valkey_version", "valkey"),
            ("dragonfly_version", "dragonfly"),
            ("redis_version", "redis"),
        ] {
            if let Some(v) = self.0.get(k) {
                return format!("{name} {v}");
            }
        }
        "unknown".into()
    }
}

impl Server {
    /// Connects (5 s timeout) and loads the replay script.
    pub fn connect(url: &str) -> Result<Server, RunError> {
        let client = redis::Client::open(url).map_err(|e| redis_err(url, "bad URL", e))?;
        let con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|e| redis_err(url, "connect", e))?;
        let mut s = Server {
            url: url.to_string(),
            con,
            sha: String::new(),
        };
        s.sha = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(REPLAY_SCRIPT)
            .query(&mut s.con)
            .map_err(|e| redis_err(url, "SCRIPT LOAD", e))?;
        Ok(s)
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs a command without a useful reply.
    pub fn exec(&mut self, args: &[&str]) -> Result<(), RunError> {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query::<redis::Value>(&mut self.con)
            .map(|_| ())
            .map_err(|e| redis_err(&self.url, &args.join(" "), e))
    }

    /// `CONFIG SET name value`.
    pub fn config_set(&mut self, name: &str, value: &str) -> Result<(), RunError> {
        self.exec(&["CONFIG", "SET", name, value])
    }

    /// `CONFIG GET name` (None when the server does not know it).
    pub fn config_get(&mut self, name: &str) -> Result<Option<String>, RunError> {
        let v: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query(&mut self.con)
            .map_err(|e| redis_err(&self.url, "CONFIG GET", e))?;
        Ok(v.get(1).cloned())
    }

    /// `INFO` (all default sections).
    pub fn info(&mut self) -> Result<Info, RunError> {
        let text: String = redis::cmd("INFO")
            .query(&mut self.con)
            .map_err(|e| redis_err(&self.url, "INFO", e))?;
        Ok(Info::parse(&text))
    }

    /// `DBSIZE`.
    pub fn dbsize(&mut self) -> Result<u64, RunError> {
        redis::cmd("DBSIZE")
            .query(&mut self.con)
            .map_err(|e| redis_err(&self.url, "DBSIZE", e))
    }

    /// Empties the server and removes the limit (the script stays loaded: FLUSHALL does not
    /// flush scripts).
    pub fn reset(&mut self) -> Result<(), RunError> {
        self.config_set("maxmemory", "0")?;
        self.exec(&["FLUSHALL", "SYNC"])?;
        self.exec(&["CONFIG", "RESETSTAT"])
    }

    /// Sends `reqs` through the replay script in one pipeline; returns the script's answers.
    pub fn replay_batch(
        &mut self,
        reqs: &[evictlab_workloads::Request],
        fill_on_miss: bool,
    ) -> Result<Vec<i64>, RunError> {
        let mut p = redis::pipe();
        let mut key = itoa_buf();
        for r in reqs {
            let op = match r.op {
                Op::Get if fill_on_miss => "g",
                Op::Get => "r",
                Op::Set => "s",
                Op::Delete => "d",
            };
            p.cmd("EVALSHA")
                .arg(&self.sha)
                .arg(1)
                .arg(fmt_u64(r.key, &mut key))
                .arg(op)
                .arg(r.value_size)
                .arg(r.ttl_ms);
        }
        p.query(&mut self.con)
            .map_err(|e| redis_err(&self.url, "replay pipeline", e))
    }
}

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

use evictlab_engine::key::format_u64 as fmt_u64;

/// The Redis `maxmemory-policy` of a registry policy, or an error naming the accepted ones.
pub fn check_redis_policy(p: &'static PolicyInfo) -> Result<&'static PolicyInfo, RunError> {
    if p.family == Family::Redis {
        Ok(p)
    } else {
        Err(RunError::BadArgument {
            flag: "--policies",
            value: p.name.to_string(),
            expected: "Redis maxmemory-policy names: noeviction, allkeys-lru, allkeys-lfu, \
                       allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl",
        })
    }
}

/// Finds the `maxmemory` at which the server holds about `cap` keys of `w` while replaying
/// it, with the cell's policy already set. First the first `cap` distinct keys are written
/// (first-seen sizes, no TTL) with no limit; then `maxmemory` is bisected with short warm-up
/// replays (the first `max(4·cap, 20 000)` requests) until the server holds `cap` keys
/// within 1 % (or 2 keys), because a replay needs memory an idle server does not (query and
/// reply buffers of the pipelines, the eviction pool, dict resizing: about 100 kB on Redis
/// 7.0), so the `used_memory` of `cap` idle keys is not the limit that holds them. The
/// server is flushed afterwards.
pub fn calibrate_keys(
    s: &mut Server,
    w: &Workload,
    cap: u64,
    pipeline: usize,
) -> Result<u64, RunError> {
    s.reset()?;
    let base = s.info()?.u64("used_memory");
    let mut seen = crate::workload::FastMap::default();
    let mut batch = Vec::with_capacity(pipeline);
    for r in w.requests.iter() {
        if seen.len() as u64 >= cap {
            break;
        }
        if seen.insert(r.key, ()).is_none() {
            batch.push(evictlab_workloads::Request {
                op: Op::Set,
                ttl_ms: 0,
                ..*r
            });
            if batch.len() == pipeline {
                s.replay_batch(&batch, true)?;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        s.replay_batch(&batch, true)?;
    }
    let loaded = seen.len() as u64;
    let used = s.info()?.u64("used_memory");
    if loaded < cap {
        // The workload has fewer distinct keys than the cache holds: no eviction can happen.
        s.reset()?;
        return Ok(used);
    }
    let warm = (cap.saturating_mul(4).max(20_000) as usize).min(w.requests.len());
    let tolerance = (cap / 100).max(2);
    let held_at = |s: &mut Server, m: u64| -> Result<u64, RunError> {
        s.reset()?;
        s.config_set("maxmemory", &m.to_string())?;
        for chunk in w.requests[..warm].chunks(pipeline) {
            s.replay_batch(chunk, true)?;
        }
        s.dbsize()
    };
    // Bisection on maxmemory: the keys held grow with it, but not proportionally (a replay
    // needs memory an idle server does not, so a small limit holds nothing at all).
    let (mut lo, mut hi) = (base, used + (used - base).max(256 << 10));
    let mut best = (u64::MAX, used);
    for _ in 0..4 {
        let h = held_at(s, hi)?;
        best = best.min((h.abs_diff(cap), hi));
        if h >= cap {
            break;
        }
        lo = hi;
        hi += hi - base;
    }
    for _ in 0..14 {
        if best.0 <= tolerance || hi - lo <= 64 {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        let h = held_at(s, mid)?;
        best = best.min((h.abs_diff(cap), mid));
        if h < cap {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let maxmemory = best.1;
    s.reset()?;
    Ok(maxmemory)
}

/// Runs one cell; `on_point` receives every INFO sample.
pub fn run_cell(
    s: &mut Server,
    w: &Workload,
    cell: &ServerCell,
    index: u64,
    opts: &ServerOptions,
    on_point: &mut dyn FnMut(ServerPoint),
) -> Result<ServerRow, RunError> {
    check_redis_policy(cell.policy)?;
    let pipeline = opts.pipeline.max(1);
    let (cap, unit) = capacity(w, cell.size, cell.size_unit);
    s.reset()?;
    s.config_set("maxmemory-policy", cell.policy.name)?;
    if let Some(n) = cell.samples {
        s.config_set("maxmemory-samples", &n.to_string())?;
    }
    let baseline = s.info()?.u64("used_memory");
    let maxmemory = match unit {
        CapacityUnit::Keys => calibrate_keys(s, w, cap, pipeline)?,
        CapacityUnit::Bytes => baseline + cap,
    };
    s.config_set("maxmemory", &maxmemory.to_string())?;
    s.exec(&["CONFIG", "RESETSTAT"])?;

    let (mut gets, mut hits, mut get_bytes, mut hit_bytes, mut oom) = (0u64, 0, 0u64, 0u64, 0);
    let mut keys_max = 0u64;
    let started = Instant::now();
    let mut next_info = Duration::from_millis(opts.info_every_ms.max(1));
    let mut sample = |s: &mut Server, done: u64, keys_max: &mut u64| -> Result<Info, RunError> {
        let info = s.info()?;
        let keys = info.db0_keys();
        *keys_max = (*keys_max).max(keys);
        on_point(ServerPoint {
            cell: index,
            policy: cell.policy.name.to_string(),
            capacity: cap,
            t_ms: started.elapsed().as_millis() as u64,
            requests_done: done,
            keyspace_hits: info.u64("keyspace_hits"),
            keyspace_misses: info.u64("keyspace_misses"),
            evicted_keys: info.u64("evicted_keys"),
            expired_keys: info.u64("expired_keys"),
            used_memory: info.u64("used_memory"),
            used_memory_rss: info.u64("used_memory_rss"),
            mem_fragmentation_ratio: info.f64("mem_fragmentation_ratio"),
            keys,
        });
        Ok(info)
    };
    sample(s, 0, &mut keys_max)?;
    let mut done = 0u64;
    for batch in w.requests.chunks(pipeline) {
        if opts.rate > 0.0 {
            let due = Duration::from_secs_f64(done as f64 / opts.rate);
            let now = started.elapsed();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let answers = s.replay_batch(batch, opts.fill_on_miss)?;
        for (r, a) in batch.iter().zip(&answers) {
            if r.op == Op::Get {
                gets += 1;
                get_bytes += r.value_size as u64;
                if *a == 1 {
                    hits += 1;
                    hit_bytes += r.value_size as u64;
                }
            }
            if *a == 2 || *a == 4 {
                oom += 1;
            }
        }
        done += batch.len() as u64;
        if started.elapsed() >= next_info {
            sample(s, done, &mut keys_max)?;
            next_info += Duration::from_millis(opts.info_every_ms.max(1));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let info = sample(s, done, &mut keys_max)?;
    let keys = s.dbsize()?;
    let used = info.u64("used_memory");
    let ws_units = match unit {
        CapacityUnit::Keys => w.working_set.objects,
        CapacityUnit::Bytes => w.working_set.bytes,
    };
    Ok(ServerRow {
        cell: index,
        workload: w.info.name.clone(),
        policy: cell.policy.name.to_string(),
        samples: cell.samples,
        capacity: cap,
        capacity_unit: unit.name().to_string(),
        capacity_fraction: if ws_units > 0 {
            cap as f64 / ws_units as f64
        } else {
            0.0
        },
        seed: opts.seed,
        requests: done,
        gets,
        hits,
        misses: gets - hits,
        hit_ratio: ratio(hits, gets),
        byte_hit_ratio: ratio(hit_bytes, get_bytes),
        evicted_keys: info.u64("evicted_keys"),
        expired_keys: info.u64("expired_keys"),
        oom_rejections: oom,
        admission_bypasses: 0,
        virtual_ms: (secs * 1000.0) as u64,
        requests_per_sec: if secs > 0.0 { done as f64 / secs } else { 0.0 },
        target_rate: opts.rate,
        pipeline: pipeline as u64,
        maxmemory,
        baseline_used_memory: baseline,
        keyspace_hits: info.u64("keyspace_hits"),
        keyspace_misses: info.u64("keyspace_misses"),
        used_memory: used,
        used_memory_rss: info.u64("used_memory_rss"),
        mem_fragmentation_ratio: info.f64("mem_fragmentation_ratio"),
        rdb_last_cow_size: info.u64("rdb_last_cow_size"),
        latest_fork_usec: info.u64("latest_fork_usec"),
        keys,
        keys_max,
        memory_per_key: if keys > 0 {
            used.saturating_sub(baseline) as f64 / keys as f64
        } else {
            0.0
        },
        server_version: info.version(),
    })
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Options of a BGSAVE-under-writes measurement.
#[derive(Clone, Debug)]
pub struct BgsaveOptions {
    /// Keys loaded before the snapshot.
    pub keys: u64,
    /// Bytes per value.
    pub value_size: u32,
    /// Writes per second during the save (0 = as fast as possible).
    pub write_rate: u64,
    /// `rdb-key-save-delay` in µs per key (a Redis test/debug setting that slows the child
    /// down, like `experiment cow --save-bandwidth`; 0 = off).
    pub key_save_delay_us: u64,
    /// Requests per pipeline.
    pub pipeline: usize,
    /// Seed recorded in the row.
    pub seed: u64,
    /// Longest time to wait for the save, s.
    pub timeout_s: u64,
}

/// Loads `opts.keys` keys of `opts.value_size` bytes, starts `BGSAVE`, and while the child
/// runs writes the keys of `writes` (each request becomes a SET of `opts.value_size` bytes)
/// at `opts.write_rate`, polling INFO persistence. Returns one [`CowRow`] with
/// `snapshot = redis-bgsave`. Fields Redis cannot show are 0 (page-level ground truth,
/// predictions, forkless columns) and `ground_truth_method` is `n/a (redis INFO)`.
pub fn bgsave(s: &mut Server, writes: &Workload, opts: &BgsaveOptions) -> Result<CowRow, RunError> {
    let pipeline = opts.pipeline.max(1);
    s.reset()?;
    s.config_set("maxmemory-policy", "noeviction")?;
    // Load the dataset through the script, `pipeline` SETs per round trip.
    let mut batch = Vec::with_capacity(pipeline);
    for k in 0..opts.keys {
        batch.push(evictlab_workloads::Request {
            op: Op::Set,
            ..evictlab_workloads::Request::get(k, opts.value_size)
        });
        if batch.len() == pipeline {
            s.replay_batch(&batch, true)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        s.replay_batch(&batch, true)?;
        batch.clear();
    }
    let before = s.info()?;
    let rss_start = before.u64("used_memory_rss");
    let old_delay = s.config_get("rdb-key-save-delay")?;
    if old_delay.is_some() {
        s.config_set("rdb-key-save-delay", &opts.key_save_delay_us.to_string())?;
    }
    let thp = match s.config_get("disable-thp")?.as_deref() {
        Some("yes") => "off",
        Some("no") => "system",
        _ => "unknown",
    };
    let started = Instant::now();
    s.exec(&["BGSAVE"])?;
    let mut written = 0u64;
    let mut distinct = crate::workload::FastMap::default();
    let (mut rss_peak, mut cow_samples, mut cow_sum, mut cow_last) = (rss_start, 0u64, 0u64, 0);
    let mut last_cow_seen = u64::MAX;
    let mut write_started: Option<Instant> = None;
    let mut reqs = writes.requests.iter().cycle();
    let mut last_poll = Instant::now() - Duration::from_secs(1);
    let finished = loop {
        if last_poll.elapsed() >= Duration::from_millis(50) {
            last_poll = Instant::now();
            let info = s.info()?;
            rss_peak = rss_peak.max(info.u64("used_memory_rss"));
            let cur = info.u64("current_cow_size");
            if info.u64("rdb_bgsave_in_progress") == 0 {
                break info;
            }
            // current_cow_size changes only when the child reports (at most once a second,
            // CHILD_COW_DUTY_CYCLE: redis src/childinfo.c); count each new report once.
            if cur != last_cow_seen && info.0.contains_key("current_cow_size_age") {
                last_cow_seen = cur;
                cow_samples += 1;
                cow_sum += cur;
                cow_last = cur;
            }
            if started.elapsed() > Duration::from_secs(opts.timeout_s) {
                return Err(RunError::Server {
                    url: s.url().to_string(),
                    message: format!("BGSAVE still running after {} s", opts.timeout_s),
                });
            }
        }
        // Writes while the child runs.
        let ws = *write_started.get_or_insert_with(Instant::now);
        let n = if opts.write_rate == 0 {
            pipeline
        } else {
            let due = (ws.elapsed().as_secs_f64() * opts.write_rate as f64) as u64;
            (due.saturating_sub(written) as usize).min(pipeline)
        };
        if n == 0 || writes.requests.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        batch.clear();
        for r in reqs.by_ref().take(n) {
            let key = r.key % opts.keys.max(1);
            distinct.insert(key, ());
            batch.push(evictlab_workloads::Request {
                op: Op::Set,
                ttl_ms: 0,
                ..evictlab_workloads::Request::get(key, opts.value_size)
            });
        }
        s.replay_batch(&batch, true)?;
        written += batch.len() as u64;
    };
    let save_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(d) = old_delay {
        s.config_set("rdb-key-save-delay", &d)?;
    }
    let status = finished
        .0
        .get("rdb_last_bgsave_status")
        .cloned()
        .unwrap_or_else(|| "unknown".into());
    let fork_usec = finished.u64("latest_fork_usec");
    let cow_peak = finished
        .u64("rdb_last_cow_size")
        .max(finished.u64("current_cow_peak"));
    let write_secs = write_started.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let snapshot_bytes = match (s.config_get("dir")?, s.config_get("dbfilename")?) {
        (Some(d), Some(f)) => {
            std::fs::metadata(std::path::Path::new(&d).join(f)).map_or(0, |m| m.len())
        }
        _ => 0,
    };
    Ok(CowRow {
        snapshot: "redis-bgsave".into(),
        dataset_bytes: opts.keys * opts.value_size as u64,
        keys: opts.keys,
        value_size: opts.value_size as u64,
        distribution: writes.info.name.clone(),
        write_rate: opts.write_rate,
        thp: thp.into(),
        repeat: 0,
        seed: opts.seed,
        fork_usec,
        fork_ms_per_gb: if rss_start > 0 {
            fork_usec as f64 / 1000.0 / (rss_start as f64 / (1u64 << 30) as f64)
        } else {
            0.0
        },
        save_ms,
        writes_during_save: written,
        achieved_write_rate: if write_secs > 0.0 {
            written as f64 / write_secs
        } else {
            0.0
        },
        distinct_keys_written: distinct.len() as u64,
        dirtied_pages: 0,
        released_pages: 0,
        written_pages: 0,
        ground_truth_method: "n/a (redis INFO)".into(),
        cow_baseline_bytes: 0,
        cow_peak_bytes: cow_peak,
        cow_final_bytes: cow_last,
        cow_average_bytes: cow_sum.checked_div(cow_samples).unwrap_or(0),
        cow_samples,
        predicted_pages: 0.0,
        predicted_cow_bytes: 0,
        predicted_uniform_pages: 0.0,
        parent_rss_start_bytes: rss_start,
        parent_rss_peak_bytes: rss_peak,
        extra_memory_peak_bytes: rss_peak.saturating_sub(rss_start) + cow_peak,
        forkless_buffer_peak_bytes: 0,
        forkless_keys_by_hook: 0,
        anon_huge_bytes: 0,
        thp_system: crate::output::SystemInfo::read().thp_enabled,
        snapshot_bytes,
        page_size: 4096,
        status: if status == "ok" {
            "ok".into()
        } else {
            format!("rdb_last_bgsave_status={status}")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
