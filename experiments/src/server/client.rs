//! The client: one synchronous connection to a Redis-protocol server (the `redis` crate),
//! INFO parsing, CONFIG, and the pipelined replay of a batch of requests through
//! [`super::REPLAY_SCRIPT`].

use std::collections::HashMap;
use std::time::Duration;

use evictlab_workloads::Op;

use super::*;
use crate::RunError;

pub(super) fn redis_err(url: &str, what: &str, e: redis::RedisError) -> RunError {
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

    /// Turns Redis 7's `latency-tracking` off for the replay and returns the value to
    /// restore (None when the server has no such setting, as Redis 6). With it on, the
    /// first call of each command allocates that command's latency histogram (an
    /// `hdr_histogram` of about 25 KB, kept until `CONFIG RESETSTAT`: redis `src/server.c`
    /// `updateCommandLatencyHistogram`), counted in `used_memory`. A cell resets the stats
    /// after measuring the empty server, so the replay's EVALSHA, GET, SET and INFO would
    /// add about 100 KB the baseline does not hold: measured on Redis 7.0.15, the engine's
    /// redis model then held 5–8 % more keys than the server at a 1 MB budget. A long-running
    /// server has every histogram allocated, so it is part of its base, not of the data.
    pub fn pause_latency_tracking(&mut self) -> Result<Option<String>, RunError> {
        let was = self.config_get("latency-tracking")?;
        if was.is_some() {
            self.config_set("latency-tracking", "no")?;
        }
        Ok(was)
    }

    /// Restores what [`Server::pause_latency_tracking`] returned.
    pub fn restore_latency_tracking(&mut self, was: Option<String>) -> Result<(), RunError> {
        match was {
            Some(v) => self.config_set("latency-tracking", &v),
            None => Ok(()),
        }
    }

    /// The jemalloc quantum of the server's build (8: Redis's bundled jemalloc, built with
    /// lg-quantum 3; 16: a system jemalloc, as Debian's and Ubuntu's packages link), for the
    /// engine's `lab-jemalloc-quantum`. Measured, not guessed from the version: `INFO
    /// memory`'s `mem_allocator` must be jemalloc, then one key of 20 bytes holding the
    /// integer 12345 (INT encoding: a bare 16-byte robj, never shared above 9999) is asked
    /// `MEMORY USAGE key SAMPLES 0`, which Redis 7.0 computes as `sizeof(dictEntry)` (24,
    /// unrounded) + the key sds's allocator size + the robj (redis `src/object.c`
    /// `memoryCommand`, `objectComputeSize`). The key sds is sdshdr5: 1 + 20 + 1 = 22 bytes,
    /// a 24-byte size class under quantum 8 and 32 under 16, so the answer is 64 or 72.
    /// Any other answer (another allocator, another server's structures) is an error that
    /// names it, since the redis model would not describe that server. Uses a scratch key
    /// that it deletes; call it on an emptied server.
    pub fn jemalloc_quantum(&mut self) -> Result<u64, RunError> {
        const PROBE: &str = "evictlab:quantum:abc";
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut self.con)
            .map_err(|e| redis_err(&self.url, "INFO memory", e))?;
        let allocator = Info::parse(&info)
            .0
            .get("mem_allocator")
            .cloned()
            .unwrap_or_default();
        if !allocator.starts_with("jemalloc") {
            return Err(RunError::Server {
                url: self.url.clone(),
                message: format!(
                    "mem_allocator is {allocator:?}: the redis memory model needs a jemalloc \
                     build (set the quantum yourself with --config \"lab-jemalloc-quantum 8|16\" \
                     if you know it)"
                ),
            });
        }
        self.exec(&["SET", PROBE, "12345"])?;
        let usage: Result<u64, _> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(PROBE)
            .arg("SAMPLES")
            .arg(0)
            .query(&mut self.con);
        self.exec(&["DEL", PROBE])?;
        let usage = usage.map_err(|e| redis_err(&self.url, "MEMORY USAGE", e))?;
        match usage {
            64 => Ok(8),
            72 => Ok(16),
            other => Err(RunError::Server {
                url: self.url.clone(),
                message: format!(
                    "MEMORY USAGE of a 20-byte key holding 12345 is {other} bytes; Redis 7.0 \
                     answers 64 (jemalloc quantum 8) or 72 (quantum 16). Set the quantum with \
                     --config \"lab-jemalloc-quantum 8|16\" if you know it"
                ),
            }),
        }
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

pub(super) fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

use evictlab_engine::key::format_u64 as fmt_u64;
