//! Commands and replies: the typed form of the Redis commands a cache workload uses.
//!
//! [`Command::parse`] turns an argument vector (as RESP or an AOF carries it) into a
//! [`Command`], with Redis's error replies for bad input; [`Command::to_args`] turns it back
//! (sized payloads become that many `x` bytes). [`Reply`] is what executing a command
//! returns; expected outcomes — a miss, a refused write, a wrong type — are replies, never
//! Rust errors.
//!
//! Layout: this file — the types; `command/parse.rs` — parsing, names, flags and `to_args`.

mod parse;

pub use parse::parse_score;

use crate::key::Key;
use crate::value::Blob;

/// SET's expiry argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetExpiry {
    /// No option: the key loses any TTL.
    None,
    /// `EX seconds`.
    Ex(i64),
    /// `PX milliseconds`.
    Px(i64),
    /// `PXAT unix-ms` (what Redis 7 propagates to the AOF).
    PxAt(i64),
    /// `KEEPTTL`.
    KeepTtl,
}

/// SET's condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetCondition {
    /// Always set.
    Always,
    /// `NX`: only if the key does not exist.
    Nx,
    /// `XX`: only if it exists.
    Xx,
}

/// SET's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetOptions {
    /// Expiry.
    pub expiry: SetExpiry,
    /// Condition.
    pub condition: SetCondition,
}

impl Default for SetOptions {
    fn default() -> Self {
        SetOptions {
            expiry: SetExpiry::None,
            condition: SetCondition::Always,
        }
    }
}

impl SetOptions {
    /// Plain SET with `PX ttl_ms` when `ttl_ms > 0`. A TTL above `i64::MAX` saturates (it
    /// does not wrap to a negative, already-expired TTL); as in Redis, a TTL whose deadline
    /// overflows is refused as an invalid expire time.
    pub fn ttl_ms(ttl_ms: u64) -> SetOptions {
        SetOptions {
            expiry: if ttl_ms > 0 {
                SetExpiry::Px(i64::try_from(ttl_ms).unwrap_or(i64::MAX))
            } else {
                SetExpiry::None
            },
            condition: SetCondition::Always,
        }
    }
}

/// EXPIRE's condition (Redis ≥ 7.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpireCondition {
    /// Always.
    Always,
    /// `NX`: only if the key has no TTL.
    Nx,
    /// `XX`: only if it has one.
    Xx,
    /// `GT`: only if the new expiry is later (no TTL counts as infinite).
    Gt,
    /// `LT`: only if the new expiry is sooner.
    Lt,
}

/// A ZRANGEBYSCORE bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBound {
    /// The score.
    pub value: f64,
    /// `(` prefix: exclusive.
    pub exclusive: bool,
}

/// A command.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum Command {
    Get(Key),
    Set {
        key: Key,
        value: Blob,
        options: SetOptions,
    },
    Del(Vec<Key>),
    Exists(Vec<Key>),
    /// EXPIRE (seconds) and PEXPIRE (ms): relative TTL, stored here in ms; `seconds` says
    /// which command it was.
    Expire {
        key: Key,
        ttl_ms: i64,
        seconds: bool,
        condition: ExpireCondition,
    },
    /// PEXPIREAT (absolute unix ms).
    PExpireAt {
        key: Key,
        at_ms: i64,
    },
    Ttl(Key),
    PTtl(Key),
    Persist(Key),
    Incr(Key),
    HSet {
        key: Key,
        pairs: Vec<(Key, Blob)>,
    },
    HGet {
        key: Key,
        field: Key,
    },
    HGetAll(Key),
    HDel {
        key: Key,
        fields: Vec<Key>,
    },
    SAdd {
        key: Key,
        members: Vec<Key>,
    },
    SRem {
        key: Key,
        members: Vec<Key>,
    },
    SMembers(Key),
    SIsMember {
        key: Key,
        member: Key,
    },
    ZAdd {
        key: Key,
        pairs: Vec<(f64, Key)>,
    },
    ZRem {
        key: Key,
        members: Vec<Key>,
    },
    ZRange {
        key: Key,
        start: i64,
        stop: i64,
        with_scores: bool,
    },
    ZRangeByScore {
        key: Key,
        min: ScoreBound,
        max: ScoreBound,
        with_scores: bool,
        limit: Option<(i64, i64)>,
    },
    LPush {
        key: Key,
        values: Vec<Blob>,
    },
    RPush {
        key: Key,
        values: Vec<Blob>,
    },
    LPop {
        key: Key,
        count: Option<u64>,
    },
    RPop {
        key: Key,
        count: Option<u64>,
    },
    LRange {
        key: Key,
        start: i64,
        stop: i64,
    },
}

/// A Redis error reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorReply {
    /// `-WRONGTYPE ...`
    WrongType,
    /// `-OOM command not allowed when used memory > 'maxmemory'.`
    Oom,
    /// `-MISCONF ...` (stop-writes-on-bgsave-error)
    MisconfRdb,
    /// `-MISCONF Errors writing to the AOF file: <reason>`
    MisconfAof(String),
    /// `-ERR value is not an integer or out of range`
    NotInteger,
    /// `-ERR value is not a valid float`
    NotFloat,
    /// `-ERR increment or decrement would overflow`
    Overflow,
    /// `-ERR syntax error`
    Syntax,
    /// `-ERR invalid expire time in '<cmd>' command`
    InvalidExpire(&'static str),
    /// `-ERR wrong number of arguments for '<cmd>' command`
    WrongArity(String),
    /// `-ERR unknown command '<cmd>', with args beginning with: ...`
    UnknownCommand(String),
    /// `-ERR min or max is not a float`
    MinMaxNotFloat,
}

/// Redis's shared OOM error text (redis `src/server.c` `shared.oomerr`).
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// Redis's MISCONF text for a failed RDB save (redis `src/server.c`).
pub const MISCONF_RDB_ERROR: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

impl ErrorReply {
    /// The error line exactly as Redis sends it (without the leading `-`).
    pub fn message(&self) -> String {
        match self {
            ErrorReply::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            ErrorReply::Oom => OOM_ERROR.into(),
            ErrorReply::MisconfRdb => MISCONF_RDB_ERROR.into(),
            ErrorReply::MisconfAof(e) => format!("MISCONF Errors writing to the AOF file: {e}"),
            ErrorReply::NotInteger => "ERR value is not an integer or out of range".into(),
            ErrorReply::NotFloat => "ERR value is not a valid float".into(),
            ErrorReply::Overflow => "ERR increment or decrement would overflow".into(),
            ErrorReply::Syntax => "ERR syntax error".into(),
            ErrorReply::InvalidExpire(c) => format!("ERR invalid expire time in '{c}' command"),
            ErrorReply::WrongArity(c) => format!("ERR wrong number of arguments for '{c}' command"),
            ErrorReply::UnknownCommand(c) => format!("ERR unknown command '{c}'"),
            ErrorReply::MinMaxNotFloat => "ERR min or max is not a float".into(),
        }
    }
}

impl std::fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// A reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// A nil bulk / null.
    Nil,
    /// An integer.
    Int(i64),
    /// A bulk string.
    Bulk(Blob),
    /// An array.
    Array(Vec<Reply>),
    /// An error.
    Error(ErrorReply),
}

impl Reply {
    /// True for an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
    pub(crate) fn key(k: &Key) -> Reply {
        Reply::Bulk(Blob::Bytes(k.to_vec().into()))
    }
    pub(crate) fn score(s: f64) -> Reply {
        Reply::Bulk(Blob::Bytes(format_score(s).into_bytes().into()))
    }
}

/// Formats a score as Redis does for replies (`%.17g`-like: shortest round-trip form,
/// `inf`/`-inf`).
pub fn format_score(s: f64) -> String {
    if s == f64::INFINITY {
        "inf".into()
    } else if s == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        format!("{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, ErrorReply> {
        Command::parse(&s.split(' ').collect::<Vec<_>>())
    }

    #[test]
    fn parses_and_round_trips() {
        for s in [
            "SET k v NX PX 100",
            "SET k v KEEPTTL",
            "GET k",
            "DEL a b",
            "EXPIRE k 10 GT",
            "PEXPIRE k 10",
            "HSET h f1 v1 f2 v2",
            "ZADD z 1.5 a -inf b",
            "ZRANGEBYSCORE z (1 +inf WITHSCORES LIMIT 0 10",
            "LPOP l 3",
            "ZRANGE z 0 -1 WITHSCORES",
        ] {
            let c = p(s).unwrap();
            let again = Command::parse(&c.to_args()).unwrap();
            assert_eq!(c, again, "{s}");
        }
    }

    #[test]
    fn bad_commands_get_redis_errors() {
        assert_eq!(p("GET").unwrap_err(), ErrorReply::WrongArity("get".into()));
        assert_eq!(p("SET k v EX").unwrap_err(), ErrorReply::Syntax);
        assert_eq!(p("SET k v EX 1 PX 2").unwrap_err(), ErrorReply::Syntax);
        assert_eq!(p("SET k v EX abc").unwrap_err(), ErrorReply::NotInteger);
        assert_eq!(p("ZADD z nan a").unwrap_err(), ErrorReply::NotFloat);
        assert_eq!(
            p("FOO x").unwrap_err(),
            ErrorReply::UnknownCommand("foo".into())
        );
        assert_eq!(
            ErrorReply::Oom.message(),
            "OOM command not allowed when used memory > 'maxmemory'."
        );
    }
}
