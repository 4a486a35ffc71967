//! Helpers for hand-traced policy tests: an engine limited to N keys (strict enforcement,
//! virtual time), integer keys, one-call GET/SET.

use crate::{Blob, Config, Engine, GetOutcome, Key, SetOptions, WriteOutcome};

/// An engine running `policy` that holds at most `cap` keys, with extra config lines.
pub fn engine_with(policy: &str, cap: u64, extra: &[(&str, &str)]) -> Engine {
    let mut c = Config::default();
    for (k, v) in [
        ("maxmemory-policy", policy),
        ("lab-memory-mode", "keys"),
        ("lab-enforcement", "strict"),
        ("maxmemory", &cap.to_string()),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    {
        c.set(k, &v.split(' ').collect::<Vec<_>>()).unwrap();
    }
    Engine::new(c, 1).unwrap()
}

/// An engine running `policy` that holds at most `cap` keys.
pub fn engine(policy: &str, cap: u64) -> Engine {
    engine_with(policy, cap, &[])
}

/// SET id (8-byte sized value, no TTL); panics if refused.
pub fn set(e: &mut Engine, id: u64) {
    assert!(try_set(e, id), "SET {id} refused");
}

/// SET id with a TTL.
pub fn set_ex(e: &mut Engine, id: u64, ttl_ms: u64) {
    let r = e.set(Key::from_id(id), Blob::Sized(8), SetOptions::ttl_ms(ttl_ms));
    assert_eq!(r, WriteOutcome::Stored, "SET {id} PX {ttl_ms}");
}

/// SET id; false if refused.
pub fn try_set(e: &mut Engine, id: u64) -> bool {
    e.set(Key::from_id(id), Blob::Sized(8), SetOptions::default()) == WriteOutcome::Stored
}

/// GET id; true on a hit.
pub fn hit(e: &mut Engine, id: u64) -> bool {
    matches!(e.get(&Key::from_id(id)), GetOutcome::Hit(_))
}

/// The keys present, sorted.
pub fn keys(e: &Engine) -> Vec<u64> {
    let mut v: Vec<u64> = e
        .keyspace()
        .iter()
        .filter_map(|(_, en)| en.key.as_id())
        .collect();
    v.sort();
    v
}

/// Advances virtual time.
pub fn tick(e: &mut Engine, ms: u64) {
    e.advance_ms(ms);
}
