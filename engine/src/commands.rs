//! Command implementations: [`execute`] dispatches a [`Command`] through the engine's
//! lookup / evict / apply / account steps and returns Redis's reply.

use crate::command::{Command, ErrorReply, ExpireCondition, Reply, ScoreBound, SetCondition};
use crate::engine::{Engine, Lookup, WriteOutcome};
use crate::key::Key;
use crate::keyspace::{NO_EXPIRE, Slot};
use crate::policy::RemovalCause;
use crate::value::{Blob, Value, ValueType};

/// Executes `cmd` on `e`; under `lab-enforcement echovault`, evicts after a write.
pub(crate) fn execute(e: &mut Engine, cmd: Command) -> Reply {
    let write = cmd.is_write();
    let reply = run(e, cmd);
    if write {
        e.evict_after_write();
    }
    reply
}

/// [`execute`] without the after-write step.
fn run(e: &mut Engine, cmd: Command) -> Reply {
    let prop = if e.propagate_enabled() && cmd.is_write() {
        Some(cmd.clone())
    } else {
        None
    };
    let evict = e.begin_command();
    if cmd.is_write()
        && let Err(err) = e.check_write(evict, cmd.is_denyoom())
    {
        return Reply::Error(err);
    }
    match cmd {
        Command::Get(key) => {
            let hash = key.hash64();
            match e.lookup(&key, hash, Lookup::Read) {
                None => Reply::Nil,
                Some(s) => match &e.ks.entry(s).value {
                    Value::Str(b) => Reply::Bulk(b.clone()),
                    _ => Reply::Error(ErrorReply::WrongType),
                },
            }
        }
        Command::Set {
            key,
            value,
            options,
        } => {
            let expire_at = match e.resolve_set_expiry(options.expiry) {
                Ok(x) => x,
                Err(err) => return Reply::Error(err),
            };
            let hash = key.hash64();
            let existing = e.lookup(&key, hash, Lookup::Write);
            match (options.condition, existing) {
                (SetCondition::Nx, Some(_)) | (SetCondition::Xx, None) => return Reply::Nil,
                _ => {}
            }
            let value = value.stored(e.cfg.storage);
            match e.store_string(key, hash, existing, value, expire_at) {
                Ok(slot) => {
                    e.propagate_set(slot);
                    Reply::Ok
                }
                Err(WriteOutcome::Rejected(err)) => Reply::Error(err),
                Err(_) => Reply::Ok,
            }
        }
        Command::Del(keys) => {
            let mut n = 0;
            for key in &keys {
                if let Some(s) = e.lookup(key, key.hash64(), Lookup::Write) {
                    e.delete_slot(s, RemovalCause::Deleted);
                    n += 1;
                }
            }
            if n > 0
                && let Some(c) = prop
            {
                e.propagate(|| c);
            }
            Reply::Int(n)
        }
        Command::Exists(keys) => {
            let mut n = 0;
            for key in &keys {
                if e.lookup(key, key.hash64(), Lookup::ReadNoTouch).is_some() {
                    n += 1;
                }
            }
            Reply::Int(n)
        }
        Command::Expire {
            key,
            ttl_ms,
            seconds,
            condition,
        } => {
            let name = if seconds { "expire" } else { "pexpire" };
            let Some(at) = (e.now_ms as i64).checked_add(ttl_ms) else {
                return Reply::Error(ErrorReply::InvalidExpire(name));
            };
            expire_at(e, key, at, condition)
        }
        Command::PExpireAt { key, at_ms } => expire_at(e, key, at_ms, ExpireCondition::Always),
        Command::Ttl(key) => ttl(e, &key, false),
        Command::PTtl(key) => ttl(e, &key, true),
        Command::Persist(key) => {
            let hash = key.hash64();
            match e.lookup(&key, hash, Lookup::Write) {
                Some(s) if e.ks.entry(s).has_expire() => {
                    e.pre_mutate(s);
                    e.ks.set_expire(s, NO_EXPIRE);
                    e.recharge(s);
                    e.add_dirty(1);
                    if let Some(c) = prop {
                        e.propagate(|| c);
                    }
                    Reply::Int(1)
                }
                _ => Reply::Int(0),
            }
        }
        Command::Incr(key) => incr(e, key, prop),
        Command::HSet { key, pairs } => {
            let estimate: u64 = pairs.iter().map(|(f, v)| f.len() as u64 + v.len()).sum();
            let storage = e.cfg.storage;
            modify(e, key, ValueType::Hash, true, estimate, prop, |v| {
                let Value::Hash(h) = v else {
                    unreachable!("type checked")
                };
                let mut added = 0;
                let n = pairs.len() as u64;
                for (f, val) in pairs {
                    added += h.insert(f, val.stored(storage)) as i64;
                }
                (Reply::Int(added), n)
            })
        }
        Command::HGet { key, field } => read(e, &key, |v| match v {
            Value::Hash(h) => Ok(h.get(&field).map_or(Reply::Nil, |b| Reply::Bulk(b.clone()))),
            _ => Err(ErrorReply::WrongType),
        })
        .unwrap_or(Reply::Nil),
        Command::HGetAll(key) => read(e, &key, |v| match v {
            Value::Hash(h) => Ok(Reply::Array(
                h.iter()
                    .flat_map(|(f, b)| [Reply::key(f), Reply::Bulk(b.clone())])
                    .collect(),
            )),
            _ => Err(ErrorReply::WrongType),
        })
        .unwrap_or(Reply::Array(vec![])),
        Command::HDel { key, fields } => modify(e, key, ValueType::Hash, false, 0, prop, |v| {
            let Value::Hash(h) = v else {
                unreachable!("type checked")
            };
            let n = fields.iter().filter(|f| h.remove(f)).count() as u64;
            (Reply::Int(n as i64), n)
        }),
        Command::SAdd { key, members } => {
            let estimate: u64 = members.iter().map(|m| m.len() as u64).sum();
            modify(e, key, ValueType::Set, true, estimate, prop, |v| {
                let Value::Set(s) = v else {
                    unreachable!("type checked")
                };
                let n = members.into_iter().filter(|m| s.insert(m.clone())).count() as u64;
                (Reply::Int(n as i64), n)
            })
        }
        Command::SRem { key, members } => modify(e, key, ValueType::Set, false, 0, prop, |v| {
            let Value::Set(s) = v else {
                unreachable!("type checked")
            };
            let n = members.iter().filter(|m| s.remove(m)).count() as u64;
            (Reply::Int(n as i64), n)
        }),
        Command::SMembers(key) => read(e, &key, |v| match v {
            Value::Set(s) => Ok(Reply::Array(s.iter().map(Reply::key).collect())),
            _ => Err(ErrorReply::WrongType),
        })
        .unwrap_or(Reply::Array(vec![])),
        Command::SIsMember { key, member } => read(e, &key, |v| match v {
            Value::Set(s) => Ok(Reply::Int(s.contains(&member) as i64)),
            _ => Err(ErrorReply::WrongType),
        })
        .unwrap_or(Reply::Int(0)),
        Command::ZAdd { key, pairs } => {
            let estimate: u64 = pairs.iter().map(|(_, m)| m.len() as u64 + 8).sum();
            modify(e, key, ValueType::ZSet, true, estimate, prop, |v| {
                let Value::ZSet(z) = v else {
                    unreachable!("type checked")
                };
                let n = pairs.len() as u64;
                let added = pairs
                    .into_iter()
                    .filter(|(s, m)| z.insert(m.clone(), *s))
                    .count();
                (Reply::Int(added as i64), n)
            })
        }
        Command::ZRem { key, members } => modify(e, key, ValueType::ZSet, false, 0, prop, |v| {
            let Value::ZSet(z) = v else {
                unreachable!("type checked")
            };
            let n = members.iter().filter(|m| z.remove(m)).count() as u64;
            (Reply::Int(n as i64), n)
        }),
        Command::ZRange {
            key,
            start,
            stop,
            with_scores,
        } => read(e, &key, |v| match v {
            Value::ZSet(z) => {
                let (lo, hi) = match rank_range(start, stop, z.len()) {
                    Some(r) => r,
                    None => return Ok(Reply::Array(vec![])),
                };
                Ok(zreply(z.iter().skip(lo).take(hi - lo + 1), with_scores))
            }
            _ => Err(ErrorReply::WrongType),
        })
        .unwrap_or(Reply::Array(vec![])),
        Command::ZRangeByScore {
            key,
            min,
            max,
            with_scores,
            limit,
        } => read(e, &key, |v| match v {
            Value::ZSet(z) => {
                let inside = move |s: f64| above(s, &min) && below(s, &max);
                let items = z
                    .range_by_score(min.value, max.value)
                    .filter(|(_, s)| inside(*s));
                Ok(match limit {
                    Some((off, _)) if off < 0 => Reply::Array(vec![]),
                    Some((off, cnt)) => {
                        let take = if cnt < 0 { usize::MAX } else { cnt as usize };
                        zreply(items.skip(off as usize).take(take), with_scores)
                    }
                    None => zreply(items, with_scores),
                })
            }
            _ => Err(ErrorReply::WrongType),
        })
        .unwrap_or(Reply::Array(vec![])),
        Command::LPush { key, values } => push(e, key, values, true, prop),
        Command::RPush { key, values } => push(e, key, values, false, prop),
        Command::LPop { key, count } => pop(e, key, count, true, prop),
        Command::RPop { key, count } => pop(e, key, count, false, prop),
        Command::LRange { key, start, stop } => read(e, &key, |v| match v {
            Value::List(l) => {
                let (lo, hi) = match rank_range(start, stop, l.len()) {
                    Some(r) => r,
                    None => return Ok(Reply::Array(vec![])),
                };
                Ok(Reply::Array(
                    l.iter()
                        .skip(lo)
                        .take(hi - lo + 1)
                        .map(|b| Reply::Bulk(b.clone()))
                        .collect(),
                ))
            }
            _ => Err(ErrorReply::WrongType),
        })
        .unwrap_or(Reply::Array(vec![])),
    }
}

/// A read command on `key`: `None` if the key is missing, the reply (or WRONGTYPE) otherwise.
fn read(
    e: &mut Engine,
    key: &Key,
    f: impl FnOnce(&Value) -> Result<Reply, ErrorReply>,
) -> Option<Reply> {
    let slot = e.lookup(key, key.hash64(), Lookup::Read)?;
    Some(f(&e.ks.entry(slot).value).unwrap_or_else(Reply::Error))
}

/// A write command on an aggregate of type `ty`: look up (write), type-check, create if
/// `create` (after strict make-room for `estimate` bytes), apply, re-account, delete if
/// emptied, count changes, propagate. Removal commands on a missing key reply 0.
#[allow(clippy::too_many_arguments)]
fn modify(
    e: &mut Engine,
    key: Key,
    ty: ValueType,
    create: bool,
    estimate: u64,
    prop: Option<Command>,
    apply: impl FnOnce(&mut Value) -> (Reply, u64),
) -> Reply {
    let hash = key.hash64();
    let mut slot = e.lookup(&key, hash, Lookup::Write);
    if let Some(s) = slot
        && e.ks.entry(s).value.value_type() != ty
    {
        return Reply::Error(ErrorReply::WrongType);
    }
    if create && e.limits_active() && e.strict() {
        let new_charge = e.charge_of(&key, estimate, false);
        let (extra, keys) = match slot {
            Some(_) => (estimate, 0),
            None => (new_charge, 1),
        };
        if e.over_limit(extra, keys) {
            let target = slot.map(|s| (s, e.ks.charge(s)));
            let (t, fits) = e.make_room(extra, keys, target, new_charge);
            slot = t;
            if !fits {
                e.stats.rejected_writes += 1;
                return Reply::Error(ErrorReply::Oom);
            }
        }
    }
    let slot: Slot = match slot {
        Some(s) => {
            e.pre_mutate(s);
            s
        }
        None if create => {
            let empty = match ty {
                ValueType::Hash => Value::Hash(Box::default()),
                ValueType::Set => Value::Set(Box::default()),
                ValueType::ZSet => Value::ZSet(Box::default()),
                ValueType::List => Value::List(Box::default()),
                ValueType::String => Value::Str(Blob::Sized(0)),
            };
            e.insert_new(key, hash, empty, NO_EXPIRE)
        }
        None => return Reply::Int(0),
    };
    let (reply, changes) = apply(&mut e.ks.entry_mut(slot).value);
    e.recharge(slot);
    if e.ks.entry(slot).value.is_empty_aggregate() {
        e.delete_slot(slot, RemovalCause::Deleted);
    }
    if changes > 0 {
        e.add_dirty(changes);
        if let Some(c) = prop {
            e.propagate(|| c);
        }
    }
    e.after_write();
    reply
}

fn expire_at(e: &mut Engine, key: Key, at_ms: i64, condition: ExpireCondition) -> Reply {
    let hash = key.hash64();
    let Some(slot) = e.lookup(&key, hash, Lookup::Write) else {
        return Reply::Int(0);
    };
    let current = e.ks.entry(slot).expire_at_ms;
    let has = current != NO_EXPIRE;
    let allowed = match condition {
        ExpireCondition::Always => true,
        ExpireCondition::Nx => !has,
        ExpireCondition::Xx => has,
        ExpireCondition::Gt => has && at_ms > current as i64,
        ExpireCondition::Lt => !has || at_ms < current as i64,
    };
    if !allowed {
        return Reply::Int(0);
    }
    if at_ms <= e.now_ms as i64 {
        // Already expired (checkAlreadyExpired): Redis deletes the key and propagates DEL.
        e.delete_slot(slot, RemovalCause::Deleted);
        e.propagate(|| Command::Del(vec![key]));
        return Reply::Int(1);
    }
    e.pre_mutate(slot);
    e.ks.set_expire(slot, at_ms as u64);
    e.recharge(slot);
    e.add_dirty(1);
    e.propagate(|| Command::PExpireAt { key, at_ms });
    e.after_write();
    Reply::Int(1)
}

fn ttl(e: &mut Engine, key: &Key, ms: bool) -> Reply {
    match e.lookup(key, key.hash64(), Lookup::ReadNoTouch) {
        None => Reply::Int(-2),
        Some(s) => {
            let at = e.ks.entry(s).expire_at_ms;
            if at == NO_EXPIRE {
                return Reply::Int(-1);
            }
            let left = at.saturating_sub(e.now_ms) as i64;
            Reply::Int(if ms { left } else { (left + 500) / 1000 })
        }
    }
}

fn incr(e: &mut Engine, key: Key, prop: Option<Command>) -> Reply {
    let hash = key.hash64();
    let slot = e.lookup(&key, hash, Lookup::Write);
    let current = match slot {
        None => 0,
        Some(s) => match &e.ks.entry(s).value {
            Value::Str(b) => match b.as_int() {
                Some(i) => i,
                None => return Reply::Error(ErrorReply::NotInteger),
            },
            _ => return Reply::Error(ErrorReply::WrongType),
        },
    };
    let Some(next) = current.checked_add(1) else {
        return Reply::Error(ErrorReply::Overflow);
    };
    match e.store_string(key, hash, slot, Blob::Int(next), None) {
        Ok(_) => {
            if let Some(c) = prop {
                e.propagate(|| c);
            }
            Reply::Int(next)
        }
        Err(WriteOutcome::Rejected(err)) => Reply::Error(err),
        Err(_) => Reply::Int(next),
    }
}

fn push(e: &mut Engine, key: Key, values: Vec<Blob>, front: bool, prop: Option<Command>) -> Reply {
    let estimate: u64 = values.iter().map(Blob::len).sum();
    let storage = e.cfg.storage;
    modify(e, key, ValueType::List, true, estimate, prop, |v| {
        let Value::List(l) = v else {
            unreachable!("type checked")
        };
        let n = values.len() as u64;
        for b in values {
            let b = b.stored(storage);
            if front {
                l.push_front(b)
            } else {
                l.push_back(b)
            }
        }
        (Reply::Int(l.len() as i64), n)
    })
}

fn pop(e: &mut Engine, key: Key, count: Option<u64>, front: bool, prop: Option<Command>) -> Reply {
    let hash = key.hash64();
    match e.lookup(&key, hash, Lookup::Write) {
        None => return Reply::Nil,
        Some(s) if !matches!(e.ks.entry(s).value, Value::List(_)) => {
            return Reply::Error(ErrorReply::WrongType);
        }
        Some(_) => {}
    }
    modify(e, key, ValueType::List, false, 0, prop, |v| {
        let Value::List(l) = v else {
            unreachable!("type checked")
        };
        let mut take = || if front { l.pop_front() } else { l.pop_back() };
        match count {
            None => match take() {
                Some(b) => (Reply::Bulk(b), 1),
                None => (Reply::Nil, 0),
            },
            Some(c) => {
                let mut out = Vec::new();
                for _ in 0..c {
                    match take() {
                        Some(b) => out.push(Reply::Bulk(b)),
                        None => break,
                    }
                }
                let n = out.len() as u64;
                (Reply::Array(out), n)
            }
        }
    })
}

/// Redis's rank normalisation for ZRANGE/LRANGE: negative indexes from the end, clamped;
/// `None` for an empty range.
fn rank_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut stop = if stop < 0 { len + stop } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

fn zreply<'a>(items: impl Iterator<Item = (&'a Key, f64)>, with_scores: bool) -> Reply {
    let mut out = Vec::new();
    for (k, s) in items {
        out.push(Reply::key(k));
        if with_scores {
            out.push(Reply::score(s));
        }
    }
    Reply::Array(out)
}

fn above(s: f64, min: &ScoreBound) -> bool {
    if min.exclusive {
        s > min.value
    } else {
        s >= min.value
    }
}
fn below(s: f64, max: &ScoreBound) -> bool {
    if max.exclusive {
        s < max.value
    } else {
        s <= max.value
    }
}
