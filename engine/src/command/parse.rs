//! [`Command::parse`] (argument vector → typed command, with Redis's error replies),
//! [`Command::to_args`] and the per-command names and flags.

use super::*;

fn int(arg: &[u8]) -> Result<i64, ErrorReply> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(ErrorReply::NotInteger)
}

/// Parses a score as Redis's `strtod`-based parser: numbers, `inf`, `+inf`, `-inf`; NaN
/// refused.
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    let v = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => s.parse::<f64>().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

fn bound(arg: &[u8]) -> Result<ScoreBound, ErrorReply> {
    let (exclusive, rest) = match arg.first() {
        Some(b'(') => (true, &arg[1..]),
        _ => (false, arg),
    };
    let value = parse_score(rest).ok_or(ErrorReply::MinMaxNotFloat)?;
    Ok(ScoreBound { value, exclusive })
}

fn key(a: &[u8]) -> Key {
    Key::from_bytes(a)
}
fn blob(a: &[u8]) -> Blob {
    Blob::Bytes(a.into())
}

impl Command {
    /// The command's name in upper case.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Get(_) => "GET",
            Command::Set { .. } => "SET",
            Command::Del(_) => "DEL",
            Command::Exists(_) => "EXISTS",
            Command::Expire { seconds: true, .. } => "EXPIRE",
            Command::Expire { seconds: false, .. } => "PEXPIRE",
            Command::PExpireAt { .. } => "PEXPIREAT",
            Command::Ttl(_) => "TTL",
            Command::PTtl(_) => "PTTL",
            Command::Persist(_) => "PERSIST",
            Command::Incr(_) => "INCR",
            Command::HSet { .. } => "HSET",
            Command::HGet { .. } => "HGET",
            Command::HGetAll(_) => "HGETALL",
            Command::HDel { .. } => "HDEL",
            Command::SAdd { .. } => "SADD",
            Command::SRem { .. } => "SREM",
            Command::SMembers(_) => "SMEMBERS",
            Command::SIsMember { .. } => "SISMEMBER",
            Command::ZAdd { .. } => "ZADD",
            Command::ZRem { .. } => "ZREM",
            Command::ZRange { .. } => "ZRANGE",
            Command::ZRangeByScore { .. } => "ZRANGEBYSCORE",
            Command::LPush { .. } => "LPUSH",
            Command::RPush { .. } => "RPUSH",
            Command::LPop { .. } => "LPOP",
            Command::RPop { .. } => "RPOP",
            Command::LRange { .. } => "LRANGE",
        }
    }

    /// True for commands that modify the dataset (Redis's `write` flag).
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            Command::Get(_)
                | Command::Exists(_)
                | Command::Ttl(_)
                | Command::PTtl(_)
                | Command::HGet { .. }
                | Command::HGetAll(_)
                | Command::SMembers(_)
                | Command::SIsMember { .. }
                | Command::ZRange { .. }
                | Command::ZRangeByScore { .. }
                | Command::LRange { .. }
        )
    }

    /// True for commands Redis flags `DENYOOM` (refused when eviction cannot free memory):
    /// of ours, SET, INCR, HSET, SADD, ZADD, LPUSH, RPUSH (redis `src/commands/*.json`).
    pub fn is_denyoom(&self) -> bool {
        matches!(
            self,
            Command::Set { .. }
                | Command::Incr(_)
                | Command::HSet { .. }
                | Command::SAdd { .. }
                | Command::ZAdd { .. }
                | Command::LPush { .. }
                | Command::RPush { .. }
        )
    }

    /// Parses an argument vector (`args[0]` is the command name, any case).
    pub fn parse<A: AsRef<[u8]>>(args: &[A]) -> Result<Command, ErrorReply> {
        let a: Vec<&[u8]> = args.iter().map(|x| x.as_ref()).collect();
        let Some(name) = a.first() else {
            return Err(ErrorReply::UnknownCommand(String::new()));
        };
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let n = a.len();
        let arity = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(ErrorReply::WrongArity(name.clone()))
            }
        };
        let cmd = match name.as_str() {
            "get" => {
                arity(n == 2)?;
                Command::Get(key(a[1]))
            }
            "set" => {
                arity(n >= 3)?;
                let mut options = SetOptions::default();
                let mut i = 3;
                while i < n {
                    let opt = String::from_utf8_lossy(a[i]).to_ascii_uppercase();
                    let set_expiry = |o: &mut SetOptions, e: SetExpiry| {
                        if o.expiry != SetExpiry::None {
                            return Err(ErrorReply::Syntax);
                        }
                        o.expiry = e;
                        Ok(())
                    };
                    match opt.as_str() {
                        "NX" | "XX" => {
                            if options.condition != SetCondition::Always {
                                return Err(ErrorReply::Syntax);
                            }
                            options.condition = if opt == "NX" {
                                SetCondition::Nx
                            } else {
                                SetCondition::Xx
                            };
                        }
                        "KEEPTTL" => set_expiry(&mut options, SetExpiry::KeepTtl)?,
                        "EX" | "PX" | "PXAT" => {
                            i += 1;
                            let v = int(a.get(i).ok_or(ErrorReply::Syntax)?)?;
                            let e = match opt.as_str() {
                                "EX" => SetExpiry::Ex(v),
                                "PX" => SetExpiry::Px(v),
                                _ => SetExpiry::PxAt(v),
                            };
                            set_expiry(&mut options, e)?;
                        }
                        _ => return Err(ErrorReply::Syntax),
                    }
                    i += 1;
                }
                Command::Set {
                    key: key(a[1]),
                    value: blob(a[2]),
                    options,
                }
            }
            "del" => {
                arity(n >= 2)?;
                Command::Del(a[1..].iter().map(|k| key(k)).collect())
            }
            "exists" => {
                arity(n >= 2)?;
                Command::Exists(a[1..].iter().map(|k| key(k)).collect())
            }
            "expire" | "pexpire" => {
                arity(n == 3 || n == 4)?;
                let v = int(a[2])?;
                let seconds = name == "expire";
                let ttl_ms = if seconds {
                    v.checked_mul(1000)
                        .ok_or(ErrorReply::InvalidExpire("expire"))?
                } else {
                    v
                };
                let condition = match a
                    .get(3)
                    .map(|o| String::from_utf8_lossy(o).to_ascii_uppercase())
                {
                    None => ExpireCondition::Always,
                    Some(o) => match o.as_str() {
                        "NX" => ExpireCondition::Nx,
                        "XX" => ExpireCondition::Xx,
                        "GT" => ExpireCondition::Gt,
                        "LT" => ExpireCondition::Lt,
                        _ => return Err(ErrorReply::Syntax),
                    },
                };
                Command::Expire {
                    key: key(a[1]),
                    ttl_ms,
                    seconds,
                    condition,
                }
            }
            "pexpireat" => {
                arity(n == 3)?;
                Command::PExpireAt {
                    key: key(a[1]),
                    at_ms: int(a[2])?,
                }
            }
            "ttl" => {
                arity(n == 2)?;
                Command::Ttl(key(a[1]))
            }
            "pttl" => {
                arity(n == 2)?;
                Command::PTtl(key(a[1]))
            }
            "persist" => {
                arity(n == 2)?;
                Command::Persist(key(a[1]))
            }
            "incr" => {
                arity(n == 2)?;
                Command::Incr(key(a[1]))
            }
            "hset" | "hmset" => {
                arity(n >= 4 && n.is_multiple_of(2))?;
                let pairs = a[2..].chunks(2).map(|p| (key(p[0]), blob(p[1]))).collect();
                Command::HSet {
                    key: key(a[1]),
                    pairs,
                }
            }
            "hget" => {
                arity(n == 3)?;
                Command::HGet {
                    key: key(a[1]),
                    field: key(a[2]),
                }
            }
            "hgetall" => {
                arity(n == 2)?;
                Command::HGetAll(key(a[1]))
            }
            "hdel" => {
                arity(n >= 3)?;
                Command::HDel {
                    key: key(a[1]),
                    fields: a[2..].iter().map(|k| key(k)).collect(),
                }
            }
            "sadd" | "srem" => {
                arity(n >= 3)?;
                let members = a[2..].iter().map(|k| key(k)).collect();
                if name == "sadd" {
                    Command::SAdd {
                        key: key(a[1]),
                        members,
                    }
                } else {
                    Command::SRem {
                        key: key(a[1]),
                        members,
                    }
                }
            }
            "smembers" => {
                arity(n == 2)?;
                Command::SMembers(key(a[1]))
            }
            "sismember" => {
                arity(n == 3)?;
                Command::SIsMember {
                    key: key(a[1]),
                    member: key(a[2]),
                }
            }
            "zadd" => {
                arity(n >= 4 && n.is_multiple_of(2))?;
                let mut pairs = Vec::new();
                for p in a[2..].chunks(2) {
                    pairs.push((parse_score(p[0]).ok_or(ErrorReply::NotFloat)?, key(p[1])));
                }
                Command::ZAdd {
                    key: key(a[1]),
                    pairs,
                }
            }
            "zrem" => {
                arity(n >= 3)?;
                Command::ZRem {
                    key: key(a[1]),
                    members: a[2..].iter().map(|k| key(k)).collect(),
                }
            }
            "zrange" => {
                arity(n == 4 || n == 5)?;
                let with_scores = match a.get(4) {
                    None => false,
                    Some(o) if o.eq_ignore_ascii_case(b"withscores") => true,
                    _ => return Err(ErrorReply::Syntax),
                };
                Command::ZRange {
                    key: key(a[1]),
                    start: int(a[2])?,
                    stop: int(a[3])?,
                    with_scores,
                }
            }
            "zrangebyscore" => {
                arity(n >= 4)?;
                let (min, max) = (bound(a[2])?, bound(a[3])?);
                let mut with_scores = false;
                let mut limit = None;
                let mut i = 4;
                while i < n {
                    if a[i].eq_ignore_ascii_case(b"withscores") {
                        with_scores = true;
                        i += 1;
                    } else if a[i].eq_ignore_ascii_case(b"limit") && i + 2 < n {
                        limit = Some((int(a[i + 1])?, int(a[i + 2])?));
                        i += 3;
                    } else {
                        return Err(ErrorReply::Syntax);
                    }
                }
                Command::ZRangeByScore {
                    key: key(a[1]),
                    min,
                    max,
                    with_scores,
                    limit,
                }
            }
            "lpush" | "rpush" => {
                arity(n >= 3)?;
                let values = a[2..].iter().map(|v| blob(v)).collect();
                if name == "lpush" {
                    Command::LPush {
                        key: key(a[1]),
                        values,
                    }
                } else {
                    Command::RPush {
                        key: key(a[1]),
                        values,
                    }
                }
            }
            "lpop" | "rpop" => {
                arity(n == 2 || n == 3)?;
                let count = match a.get(2) {
                    None => None,
                    Some(c) => {
                        let c = int(c)?;
                        if c < 0 {
                            return Err(ErrorReply::NotInteger);
                        }
                        Some(c as u64)
                    }
                };
                if name == "lpop" {
                    Command::LPop {
                        key: key(a[1]),
                        count,
                    }
                } else {
                    Command::RPop {
                        key: key(a[1]),
                        count,
                    }
                }
            }
            "lrange" => {
                arity(n == 4)?;
                Command::LRange {
                    key: key(a[1]),
                    start: int(a[2])?,
                    stop: int(a[3])?,
                }
            }
            _ => return Err(ErrorReply::UnknownCommand(name)),
        };
        Ok(cmd)
    }

    /// The argument vector that [`Command::parse`] turns back into this command. Sized
    /// payloads become that many `x` bytes.
    pub fn to_args(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = vec![self.name().as_bytes().to_vec()];
        let k = |k: &Key| k.to_vec();
        let b = |b: &Blob| b.to_bytes().unwrap_or_else(|| vec![b'x'; b.len() as usize]);
        let i = |v: i64| v.to_string().into_bytes();
        let f = |v: f64| format_score(v).into_bytes();
        match self {
            Command::Get(x)
            | Command::Ttl(x)
            | Command::PTtl(x)
            | Command::Persist(x)
            | Command::Incr(x)
            | Command::HGetAll(x)
            | Command::SMembers(x) => out.push(k(x)),
            Command::Set {
                key,
                value,
                options,
            } => {
                out.push(k(key));
                out.push(b(value));
                match options.condition {
                    SetCondition::Always => {}
                    SetCondition::Nx => out.push(b"NX".to_vec()),
                    SetCondition::Xx => out.push(b"XX".to_vec()),
                }
                match options.expiry {
                    SetExpiry::None => {}
                    SetExpiry::Ex(v) => out.extend([b"EX".to_vec(), i(v)]),
                    SetExpiry::Px(v) => out.extend([b"PX".to_vec(), i(v)]),
                    SetExpiry::PxAt(v) => out.extend([b"PXAT".to_vec(), i(v)]),
                    SetExpiry::KeepTtl => out.push(b"KEEPTTL".to_vec()),
                }
            }
            Command::Del(keys) | Command::Exists(keys) => out.extend(keys.iter().map(k)),
            Command::Expire {
                key,
                ttl_ms,
                seconds,
                condition,
            } => {
                out.push(k(key));
                out.push(i(if *seconds { ttl_ms / 1000 } else { *ttl_ms }));
                match condition {
                    ExpireCondition::Always => {}
                    ExpireCondition::Nx => out.push(b"NX".to_vec()),
                    ExpireCondition::Xx => out.push(b"XX".to_vec()),
                    ExpireCondition::Gt => out.push(b"GT".to_vec()),
                    ExpireCondition::Lt => out.push(b"LT".to_vec()),
                }
            }
            Command::PExpireAt { key, at_ms } => out.extend([k(key), i(*at_ms)]),
            Command::HSet { key, pairs } => {
                out.push(k(key));
                for (fld, v) in pairs {
                    out.push(k(fld));
                    out.push(b(v));
                }
            }
            Command::HGet { key, field } => out.extend([k(key), k(field)]),
            Command::HDel { key, fields: m }
            | Command::SAdd { key, members: m }
            | Command::SRem { key, members: m }
            | Command::ZRem { key, members: m } => {
                out.push(k(key));
                out.extend(m.iter().map(k));
            }
            Command::SIsMember { key, member } => out.extend([k(key), k(member)]),
            Command::ZAdd { key, pairs } => {
                out.push(k(key));
                for (s, m) in pairs {
                    out.push(f(*s));
                    out.push(k(m));
                }
            }
            Command::ZRange {
                key,
                start,
                stop,
                with_scores,
            } => {
                out.extend([k(key), i(*start), i(*stop)]);
                if *with_scores {
                    out.push(b"WITHSCORES".to_vec());
                }
            }
            Command::ZRangeByScore {
                key,
                min,
                max,
                with_scores,
                limit,
            } => {
                let bnd = |x: &ScoreBound| {
                    let mut v = if x.exclusive {
                        b"(".to_vec()
                    } else {
                        Vec::new()
                    };
                    v.extend(f(x.value));
                    v
                };
                out.extend([k(key), bnd(min), bnd(max)]);
                if *with_scores {
                    out.push(b"WITHSCORES".to_vec());
                }
                if let Some((o, c)) = limit {
                    out.extend([b"LIMIT".to_vec(), i(*o), i(*c)]);
                }
            }
            Command::LPush { key, values } | Command::RPush { key, values } => {
                out.push(k(key));
                out.extend(values.iter().map(b));
            }
            Command::LPop { key, count } | Command::RPop { key, count } => {
                out.push(k(key));
                if let Some(c) = count {
                    out.push(i(*c as i64));
                }
            }
            Command::LRange { key, start, stop } => out.extend([k(key), i(*start), i(*stop)]),
        }
        out
    }
}
