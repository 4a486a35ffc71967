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
