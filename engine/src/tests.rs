//! Engine behaviour through its public API: command replies, memory enforcement, expiry.

use crate::command::{Command, ErrorReply, Reply};
use crate::testutil::*;
use crate::{Blob, Config, Engine, GetOutcome, Key, SetOptions, WriteOutcome};

fn engine_conf(lines: &str) -> Engine {
    Engine::new(Config::parse_str(lines).unwrap(), 7).unwrap()
}

fn run(e: &mut Engine, line: &str) -> Reply {
    let args: Vec<&str> = line.split(' ').collect();
    match Command::parse(&args) {
        Ok(c) => e.execute(c),
        Err(err) => Reply::Error(err),
    }
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Blob::Bytes(s.as_bytes().into()))
}

fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

#[test]
fn string_commands_reply_as_redis() {
    let mut e = engine_conf("lab-storage materialized");
    assert_eq!(run(&mut e, "SET k v"), Reply::Ok);
    assert_eq!(run(&mut e, "GET k"), bulk("v"));
    assert_eq!(run(&mut e, "SET k w NX"), Reply::Nil);
    assert_eq!(run(&mut e, "SET other w XX"), Reply::Nil);
    assert_eq!(run(&mut e, "GET other"), Reply::Nil);
    assert_eq!(run(&mut e, "SET k x XX PX 1000"), Reply::Ok);
    assert_eq!(run(&mut e, "PTTL k"), Reply::Int(1000));
    assert_eq!(run(&mut e, "SET k y KEEPTTL"), Reply::Ok);
    assert_eq!(run(&mut e, "TTL k"), Reply::Int(1));
    assert_eq!(run(&mut e, "SET k z"), Reply::Ok);
    assert_eq!(
        run(&mut e, "TTL k"),
        Reply::Int(-1),
        "SET without KEEPTTL clears the TTL"
    );
    assert_eq!(run(&mut e, "TTL nope"), Reply::Int(-2));
    assert_eq!(
        run(&mut e, "SET k v EX 0"),
        Reply::Error(ErrorReply::InvalidExpire("set"))
    );
    assert_eq!(run(&mut e, "INCR n"), Reply::Int(1));
    assert_eq!(run(&mut e, "INCR n"), Reply::Int(2));
    assert_eq!(run(&mut e, "GET n"), Reply::Bulk(Blob::Int(2)));
    assert_eq!(run(&mut e, "INCR k"), Reply::Error(ErrorReply::NotInteger));
    assert_eq!(run(&mut e, "SET big 9223372036854775807"), Reply::Ok);
    assert_eq!(run(&mut e, "INCR big"), Reply::Error(ErrorReply::Overflow));
    assert_eq!(run(&mut e, "EXISTS k n nope"), Reply::Int(2));
    assert_eq!(run(&mut e, "DEL k n nope"), Reply::Int(2));
    assert_eq!(run(&mut e, "GET k"), Reply::Nil);
}

#[test]
fn aggregates_and_wrongtype() {
    let mut e = engine_conf("lab-storage materialized");
    assert_eq!(run(&mut e, "HSET h f1 a f2 b"), Reply::Int(2));
    assert_eq!(run(&mut e, "HSET h f1 c"), Reply::Int(0));
    assert_eq!(run(&mut e, "HGET h f1"), bulk("c"));
    assert_eq!(run(&mut e, "HGET h zz"), Reply::Nil);
    assert_eq!(
        run(&mut e, "GET h").to_owned(),
        Reply::Error(ErrorReply::WrongType)
    );
    assert_eq!(run(&mut e, "SADD h x"), Reply::Error(ErrorReply::WrongType));
    assert_eq!(run(&mut e, "HDEL h f1 f2 f3"), Reply::Int(2));
    assert_eq!(
        run(&mut e, "EXISTS h"),
        Reply::Int(0),
        "an emptied hash is deleted"
    );

    assert_eq!(run(&mut e, "SADD s a b a"), Reply::Int(2));
    assert_eq!(run(&mut e, "SISMEMBER s a"), Reply::Int(1));
    assert_eq!(run(&mut e, "SREM s a zz"), Reply::Int(1));
    assert_eq!(run(&mut e, "SMEMBERS s"), arr(&["b"]));
    assert_eq!(run(&mut e, "SREM nokey a"), Reply::Int(0));

    assert_eq!(run(&mut e, "ZADD z 3 c 1 a 2 b 2 bb"), Reply::Int(4));
    assert_eq!(run(&mut e, "ZRANGE z 0 -1"), arr(&["a", "b", "bb", "c"]));
    assert_eq!(
        run(&mut e, "ZRANGE z -2 -1 WITHSCORES"),
        arr(&["bb", "2", "c", "3"])
    );
    assert_eq!(run(&mut e, "ZRANGEBYSCORE z (1 2"), arr(&["b", "bb"]));
    assert_eq!(
        run(&mut e, "ZRANGEBYSCORE z -inf +inf LIMIT 1 2"),
        arr(&["b", "bb"])
    );
    assert_eq!(
        run(&mut e, "ZRANGEBYSCORE z x 2"),
        Reply::Error(ErrorReply::MinMaxNotFloat)
    );
    assert_eq!(run(&mut e, "ZREM z a c"), Reply::Int(2));
    assert_eq!(run(&mut e, "ZRANGE z 0 0"), arr(&["b"]));

    assert_eq!(run(&mut e, "RPUSH l a b"), Reply::Int(2));
    assert_eq!(run(&mut e, "LPUSH l z"), Reply::Int(3));
    assert_eq!(run(&mut e, "LRANGE l 0 -1"), arr(&["z", "a", "b"]));
    assert_eq!(run(&mut e, "LRANGE l -2 100"), arr(&["a", "b"]));
    assert_eq!(run(&mut e, "RPOP l"), bulk("b"));
    assert_eq!(run(&mut e, "LPOP l 5"), arr(&["z", "a"]));
    assert_eq!(run(&mut e, "LPOP l"), Reply::Nil);
    assert_eq!(run(&mut e, "EXISTS l"), Reply::Int(0));
    e.check_invariants().unwrap();
}

#[test]
fn sized_storage_answers_the_same_commands() {
    let mut e = engine_conf("lab-storage sized");
    assert_eq!(run(&mut e, "SET k hello"), Reply::Ok);
    assert_eq!(run(&mut e, "GET k"), Reply::Bulk(Blob::Sized(5)));
    assert_eq!(run(&mut e, "HSET h f abc"), Reply::Int(1));
    assert_eq!(run(&mut e, "HGET h f"), Reply::Bulk(Blob::Sized(3)));
    assert_eq!(run(&mut e, "INCR k"), Reply::Error(ErrorReply::NotInteger));
    assert_eq!(e.logical_bytes(), (1 + 5) + (1 + 1 + 3));
}

#[test]
fn expire_commands() {
    let mut e = engine_conf("lab-active-expire off");
    run(&mut e, "SET k v");
    assert_eq!(run(&mut e, "EXPIRE k 10 XX"), Reply::Int(0));
    assert_eq!(run(&mut e, "EXPIRE k 10 NX"), Reply::Int(1));
    assert_eq!(run(&mut e, "EXPIRE k 5 GT"), Reply::Int(0));
    assert_eq!(run(&mut e, "EXPIRE k 20 GT"), Reply::Int(1));
    assert_eq!(run(&mut e, "PEXPIRE k 500 LT"), Reply::Int(1));
    assert_eq!(run(&mut e, "PTTL k"), Reply::Int(500));
    assert_eq!(run(&mut e, "PERSIST k"), Reply::Int(1));
    assert_eq!(run(&mut e, "PERSIST k"), Reply::Int(0));
    assert_eq!(e.expires(), 0);
    assert_eq!(
        run(&mut e, "EXPIRE k -1"),
        Reply::Int(1),
        "a past expiry deletes the key"
    );
    assert_eq!(run(&mut e, "EXISTS k"), Reply::Int(0));
    assert_eq!(run(&mut e, "EXPIRE nope 10"), Reply::Int(0));
}

#[test]
fn passive_expiry_is_strictly_after_the_deadline() {
    let mut e = engine_conf("lab-active-expire off");
    e.set(Key::from_id(1), Blob::Sized(3), SetOptions::ttl_ms(100));
    e.set_time_ms(100);
    assert_eq!(
        e.get(&Key::from_id(1)),
        GetOutcome::Hit(3),
        "now == when: not expired"
    );
    e.set_time_ms(101);
    assert_eq!(e.get(&Key::from_id(1)), GetOutcome::Miss);
    assert_eq!(e.stats().expired_keys, 1);
    assert_eq!(e.stats().keyspace_misses, 1);
    assert_eq!(e.len(), 0);
}

fn fill_volatile(e: &mut Engine, n: u64, ttl_ms: u64) {
    for k in 0..n {
        e.set(Key::from_id(k), Blob::Sized(10), SetOptions::ttl_ms(ttl_ms));
    }
}

#[test]
fn active_expiry_removes_unread_keys_for_every_preset() {
    for (preset, within_ms) in [("redis", 2_000), ("redis5", 2_000), ("echovault", 2_000)] {
        let mut e = engine_conf(&format!("lab-active-expire {preset}"));
        fill_volatile(&mut e, 10_000, 1000);
        // Plus keys that never expire: they must all survive.
        for k in 10_000..12_000 {
            e.set(Key::from_id(k), Blob::Sized(10), SetOptions::default());
        }
        e.set_time_ms(1000);
        assert_eq!(
            e.len(),
            12_000,
            "{preset}: nothing expires before its deadline"
        );
        e.set_time_ms(1000 + within_ms);
        assert_eq!(
            e.len(),
            2_000,
            "{preset}: every expired key removed within {within_ms} ms"
        );
        assert_eq!(e.stats().expired_keys_active, 10_000, "{preset}");
        assert_eq!(e.stats().keyspace_misses, 0);
    }
    let mut e = engine_conf("lab-active-expire off");
    fill_volatile(&mut e, 1000, 1000);
    e.set_time_ms(60_000);
    assert_eq!(e.len(), 1000, "off: only passive expiry");
}

#[test]
fn redis_slow_cycle_is_bounded_by_its_budget_and_reports_the_cap() {
    // 1M keys expiring at once, 1 µs per examined key: a 25 ms SLOW cycle can examine about
    // 25 000 keys, so one tick cannot clear them and the time cap is reported.
    let mut e = engine_conf("lab-active-expire redis");
    fill_volatile(&mut e, 200_000, 10);
    e.set_time_ms(100);
    let after_one_tick = e.len();
    assert!(
        after_one_tick > 150_000,
        "one tick removed too much: {after_one_tick} left"
    );
    assert!(e.stats().expired_time_cap_reached_count >= 1);
    e.set_time_ms(5_000);
    assert_eq!(e.len(), 0);
}

#[test]
fn noeviction_refuses_growing_writes_with_the_exact_error_and_loses_nothing() {
    let mut e = engine_conf("maxmemory 100\nmaxmemory-policy noeviction");
    for k in 0..10 {
        assert_eq!(
            e.set(Key::from_id(k), Blob::Sized(20), SetOptions::default()),
            WriteOutcome::Stored
        );
        if e.used_memory() > 100 {
            break;
        }
    }
    let n = e.len();
    let r = run(&mut e, "SET x y");
    assert_eq!(r, Reply::Error(ErrorReply::Oom));
    if let Reply::Error(err) = r {
        assert_eq!(
            err.message(),
            "OOM command not allowed when used memory > 'maxmemory'."
        );
    }
    assert_eq!(run(&mut e, "HSET h a b"), Reply::Error(ErrorReply::Oom));
    assert_eq!(e.len(), n, "no key lost");
    assert_eq!(e.stats().evicted_keys, 0);
    assert_eq!(run(&mut e, "DEL 0"), Reply::Int(1), "DEL is not DENYOOM");
    assert_eq!(run(&mut e, "GET 1"), Reply::Bulk(Blob::Sized(20)));
    assert_eq!(e.stats().rejected_writes, 2);
}

#[test]
fn redis_enforcement_evicts_before_the_command_and_may_overshoot() {
    // Each key costs 1 + 20 bytes; limit 100: Redis evicts only when already over, before
    // a command, so the last write may overshoot.
    let mut e = engine_conf("maxmemory 100\nmaxmemory-policy allkeys-lru");
    for k in 0..5 {
        e.set(Key::from_id(k), Blob::Sized(20), SetOptions::default());
    }
    assert_eq!(e.used_memory(), 105, "the 5th write overshoots");
    e.get(&Key::from_id(9)); // any command evicts first
    assert!(e.used_memory() <= 100);
    assert_eq!(e.stats().evicted_keys, 1);

    // Strict enforcement never overshoots.
    let mut s = engine_conf("maxmemory 100\nmaxmemory-policy allkeys-lru\nlab-enforcement strict");
    for k in 0..50 {
        s.set(Key::from_id(k), Blob::Sized(20), SetOptions::default());
        assert!(s.used_memory() <= 100);
    }
    s.check_invariants().unwrap();
}

#[test]
fn tenacity_limits_evictions_per_command_in_virtual_time() {
    // Tenacity 1 → 50 µs → 50 keys at 1 µs each (checked every 16 keys: 64).
    let mut e = engine_conf(
        "maxmemory-policy allkeys-random\nlab-memory-mode keys\nmaxmemory-eviction-tenacity 1",
    );
    for k in 0..1000 {
        e.set(Key::from_id(k), Blob::Sized(1), SetOptions::default());
    }
    let mut c = e.config().clone();
    c.maxmemory = 100;
    // Rebuild with the lower limit applied to the same data, as CONFIG SET maxmemory would.
    let mut e2 = Engine::new(c, 7).unwrap();
    for k in 0..1000 {
        e2.restore(Key::from_id(k), crate::Value::Str(Blob::Sized(1)), 0);
    }
    e2.get(&Key::from_id(1));
    assert_eq!(e2.len(), 1000 - 64, "one command evicts one budget");
    assert_eq!(e2.stats().eviction_time_cap_reached_count, 1);
    for _ in 0..20 {
        e2.get(&Key::from_id(1));
    }
    assert_eq!(e2.len(), 100, "later commands continue the eviction");
}

#[test]
fn lru_field_is_not_touched_while_a_fork_child_is_alive() {
    let mut e = engine_with("allkeys-lru", 10, &[]);
    set(&mut e, 1);
    tick(&mut e, 5000);
    let before = e.peek(&Key::from_id(1)).unwrap().lru;
    e.set_child_alive(true);
    assert!(hit(&mut e, 1));
    assert_eq!(e.peek(&Key::from_id(1)).unwrap().lru, before);
    e.set_child_alive(false);
    assert!(hit(&mut e, 1));
    assert_ne!(e.peek(&Key::from_id(1)).unwrap().lru, before);
}

#[test]
fn overwrite_keeps_the_lfu_counter() {
    let mut e = engine_with("allkeys-lfu", 10, &[]);
    set(&mut e, 1);
    for _ in 0..50 {
        hit(&mut e, 1);
    }
    let c = e.peek(&Key::from_id(1)).unwrap().lru & 255;
    assert!(c > 5);
    set(&mut e, 1);
    let c2 = e.peek(&Key::from_id(1)).unwrap().lru & 255;
    assert!(
        c2 >= c,
        "an overwrite is an access, never a reset ({c} → {c2})"
    );
}

#[test]
fn propagation_records_writes_and_expiry_deletes() {
    let mut e = engine_conf("lab-active-expire off\nlab-storage materialized");
    e.set_propagation(true);
    run(&mut e, "SET a 1 PX 100");
    run(&mut e, "HSET h f v");
    run(&mut e, "GET a");
    e.set_time_ms(500);
    run(&mut e, "GET a");
    let mut out = Vec::new();
    e.drain_propagated(&mut out);
    let names: Vec<String> = out
        .iter()
        .map(|c| {
            format!(
                "{:?}",
                c.to_args()
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).to_string())
                    .collect::<Vec<_>>()
            )
        })
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names[0].contains("PXAT") && names[0].contains("\"100\""),
        "{names:?}"
    );
    assert!(names[1].starts_with("[\"HSET\""));
    assert!(names[2].starts_with("[\"DEL\", \"a\"]"));
}

/// Issue 12: a timestamp near `u64::MAX` used to wrap the next cron tick's time and spin
/// forever in the catch-up loop. Every call must return after a bounded number of ticks.
#[test]
fn virtual_time_near_u64_max_does_not_wrap_or_spin() {
    let mut e = engine_conf("hz 10");
    set_ex(&mut e, 1, 1000);
    e.set_time_ms(1_000);
    for t in [u64::MAX - 150, u64::MAX - 1, u64::MAX, u64::MAX] {
        let started = std::time::Instant::now();
        e.set_time_ms(t);
        assert!(
            started.elapsed().as_secs() < 10,
            "set_time_ms({t}) took too long"
        );
        assert_eq!(e.now_ms(), t);
    }
    e.advance_ms(u64::MAX);
    assert_eq!(e.now_ms(), u64::MAX);
    // The volatile key expired on the way and the engine still answers.
    assert_eq!(e.get(&Key::from_id(1)), GetOutcome::Miss);
    e.set(Key::from_id(2), Blob::Sized(3), SetOptions::default());
    assert!(matches!(e.get(&Key::from_id(2)), GetOutcome::Hit(_)));
}

/// Issue 12: `ttl_ms = u64::MAX` used to become `PX -1` (`as i64`), a key born expired.
/// It saturates instead: at time 0 the deadline fits and the key lives; later the
/// deadline overflows and, as Redis does, the SET is refused as an invalid expire time.
#[test]
fn a_huge_ttl_never_makes_a_key_born_expired() {
    let mut e = engine_conf("");
    let r = e.set(
        Key::from_id(1),
        Blob::Sized(3),
        SetOptions::ttl_ms(u64::MAX),
    );
    assert_eq!(r, WriteOutcome::Stored);
    assert!(matches!(e.get(&Key::from_id(1)), GetOutcome::Hit(_)));
    e.set_time_ms(5_000);
    let r = e.set(
        Key::from_id(2),
        Blob::Sized(3),
        SetOptions::ttl_ms(u64::MAX),
    );
    assert_ne!(
        r,
        WriteOutcome::Stored,
        "deadline overflows: refused, not stored"
    );
    assert_eq!(e.get(&Key::from_id(2)), GetOutcome::Miss);
    assert!(matches!(e.get(&Key::from_id(1)), GetOutcome::Hit(_)));
}
