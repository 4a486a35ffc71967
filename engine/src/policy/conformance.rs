//! Policy conformance: every policy in [`super::registry::POLICIES`] — Redis's, the research
//! ones, the oracles — is driven through random operation sequences the moment it is
//! registered, and must honour the [`super::Policy`] contract and the engine's guarantees:
//!
//! * under strict enforcement, after every write used memory ≤ `maxmemory`, unless the write
//!   was refused (OOM) or declined (admission bypass);
//! * every key that leaves the keyspace is reported to `on_remove` exactly once, before it
//!   goes, and the keyspace equals a model (keys written minus keys reported removed): an
//!   evicted key is really gone and nothing disappears unreported;
//! * `select_victim` only names live, tracked slots; `on_access` only tracked ones;
//! * `volatile-*` policies evict only keys with a TTL; `noeviction` never evicts (so it never
//!   loses a key that was not deleted or expired);
//! * the same seed and sequence evict the same keys in the same order;
//! * `Engine::check_invariants` (keyspace, accounting and the policy's own) holds throughout.
//!
//! Sequences mix GET, cache-aside fills (through the hit-rate runner's fast path
//! `get_or_fill_id`, through `get_or_fill` with a TTL, and as a GET then a SET), SET, SET PX,
//! DEL, PEXPIRE, PERSIST, HSET and time advances, in keys mode (fixed capacity in keys) and logical-bytes
//! mode with variable sizes, under both strict and Redis enforcement. Belady gets a consistent
//! oracle: the next index of an operation touching the same key.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use rand::{Rng, RngExt, SeedableRng};

use super::noeviction::NoEviction;
use super::registry::{POLICIES, PolicyInfo};
use super::{AnyPolicy, InsertKind, NEVER, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};
use crate::{
    Blob, Command, Config, Engine, FillOutcome, GetOutcome, Key, Reply, SetOptions, WriteOutcome,
};

/// What the recorder saw.
#[derive(Default)]
struct Log {
    tracked: Vec<bool>,
    removed: Vec<(u64, RemovalCause)>,
    evictions: Vec<u64>,
    errors: Vec<String>,
}

/// Wraps the policy under test and checks the hook contract as the engine calls it.
struct Recorder {
    inner: AnyPolicy,
    log: Arc<Mutex<Log>>,
    volatile_only: bool,
}

fn id_of(ks: &Keyspace, slot: Slot) -> u64 {
    ks.entry(slot).key.as_id().unwrap_or(u64::MAX)
}

impl Policy for Recorder {
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, ctx: &mut PolicyCtx<'_>, kind: InsertKind) {
        {
            let mut log = self.log.lock().unwrap();
            let s = slot as usize;
            if log.tracked.len() <= s {
                log.tracked.resize(s + 1, false);
            }
            if log.tracked[s] {
                log.errors.push(format!("on_insert of tracked slot {slot}"));
            }
            log.tracked[s] = true;
        }
        self.inner.on_insert(slot, ks, ctx, kind);
    }
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) {
        {
            let mut log = self.log.lock().unwrap();
            if !log.tracked.get(slot as usize).copied().unwrap_or(false) {
                log.errors
                    .push(format!("on_access of untracked slot {slot}"));
            }
        }
        self.inner.on_access(slot, ks, ctx);
    }
    fn on_miss(&mut self, hash: u64, ctx: &mut PolicyCtx<'_>) {
        self.inner.on_miss(hash, ctx);
    }
    fn on_remove(&mut self, slot: Slot, ks: &Keyspace, cause: RemovalCause) {
        {
            let mut log = self.log.lock().unwrap();
            let s = slot as usize;
            if !log.tracked.get(s).copied().unwrap_or(false) || !ks.is_live(slot) {
                log.errors
                    .push(format!("on_remove of untracked or dead slot {slot}"));
            } else {
                log.tracked[s] = false;
            }
            let id = id_of(ks, slot);
            if cause == RemovalCause::Evicted {
                if self.volatile_only && !ks.entry(slot).has_expire() {
                    log.errors
                        .push(format!("volatile policy evicted key {id} without a TTL"));
                }
                log.evictions.push(id);
            }
            log.removed.push((id, cause));
        }
        self.inner.on_remove(slot, ks, cause);
    }
    fn select_victim(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot> {
        let v = self.inner.select_victim(ks, ctx);
        if let Some(s) = v {
            let mut log = self.log.lock().unwrap();
            if !ks.is_live(s) || !log.tracked.get(s as usize).copied().unwrap_or(false) {
                log.errors
                    .push(format!("select_victim chose dead slot {s}"));
            }
        }
        v
    }
    fn admit(&mut self, hash: u64, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> bool {
        self.inner.admit(hash, ks, ctx)
    }
    fn uses_admission(&self) -> bool {
        self.inner.uses_admission()
    }
    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        self.inner.check_invariants(ks)
    }
}

/// One operation of a generated sequence. Keys are small integers; `Hset` uses its own range
/// so it never meets a string key.
#[derive(Clone, Debug)]
enum Op {
    Get(u64),
    /// GET, and SET on a miss, through the hit-rate runner's fast path
    /// ([`Engine::get_or_fill_id`]).
    GetFill(u64, u64),
    /// The same with a TTL, through [`Engine::get_or_fill`] (a built key).
    GetFillPx(u64, u64, u64),
    /// GET, and on a miss a separate SET command (the general path).
    GetThenSet(u64, u64),
    Set(u64, u64),
    SetPx(u64, u64, u64),
    Del(u64),
    Pexpire(u64, u64),
    Persist(u64),
    Hset(u64, u64),
    Advance(u64),
}

impl Op {
    fn key(&self) -> Option<u64> {
        match *self {
            Op::Get(k)
            | Op::GetFill(k, _)
            | Op::GetFillPx(k, _, _)
            | Op::GetThenSet(k, _)
            | Op::Set(k, _)
            | Op::SetPx(k, _, _)
            | Op::Del(k)
            | Op::Pexpire(k, _)
            | Op::Persist(k)
            | Op::Hset(k, _) => Some(k),
            Op::Advance(_) => None,
        }
    }
}

const KEYS: u64 = 24;
const HASH_KEYS: std::ops::Range<u64> = 100..104;

fn op_strategy() -> impl Strategy<Value = Op> {
    let k = 0..KEYS;
    let size = 1u64..120;
    prop_oneof![
        3 => k.clone().prop_map(Op::Get),
        4 => (k.clone(), size.clone()).prop_map(|(k, s)| Op::GetFill(k, s)),
        1 => (k.clone(), size.clone(), 1u64..3_000).prop_map(|(k, s, t)| Op::GetFillPx(k, s, t)),
        2 => (k.clone(), size.clone()).prop_map(|(k, s)| Op::GetThenSet(k, s)),
        4 => (k.clone(), size.clone()).prop_map(|(k, s)| Op::Set(k, s)),
        3 => (k.clone(), size.clone(), 1u64..3_000).prop_map(|(k, s, t)| Op::SetPx(k, s, t)),
        1 => k.clone().prop_map(Op::Del),
        1 => (k.clone(), 1u64..3_000).prop_map(|(k, t)| Op::Pexpire(k, t)),
        1 => k.prop_map(Op::Persist),
        1 => (HASH_KEYS, 1u64..60).prop_map(|(k, s)| Op::Hset(k, s)),
        1 => (1u64..1_500).prop_map(Op::Advance),
    ]
}

/// A random sequence from a seeded RNG (for the long deterministic runs).
fn random_ops(seed: u64, n: usize, keys: u64) -> Vec<Op> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            // Skewed keys: half the operations go to a hot eighth of the keyspace.
            let k = if rng.random_bool(0.5) {
                rng.random_range(0..keys / 8)
            } else {
                rng.random_range(0..keys)
            };
            let size = 1 + rng.next_u64() % 200;
            match rng.random_range(0..100u32) {
                0..20 => Op::Get(k),
                20..50 => Op::GetFill(k, size),
                50..55 => Op::GetFillPx(k, size, rng.random_range(1..20_000)),
                55..65 => Op::GetThenSet(k, size),
                65..80 => Op::Set(k, size),
                80..88 => Op::SetPx(k, size, rng.random_range(1..20_000)),
                88..91 => Op::Del(k),
                91..93 => Op::Pexpire(k, rng.random_range(1..20_000)),
                93..94 => Op::Persist(k),
                94..96 => Op::Hset(HASH_KEYS.start + k % 4, size / 4 + 1),
                _ => Op::Advance(rng.random_range(1..2_000)),
            }
        })
        .collect()
}

/// Memory mode and enforcement of one run.
#[derive(Clone, Copy, Debug)]
struct Mode {
    bytes: bool,
    strict: bool,
}

const MODES: [Mode; 4] = [
    Mode {
        bytes: false,
        strict: true,
    },
    Mode {
        bytes: true,
        strict: true,
    },
    Mode {
        bytes: false,
        strict: false,
    },
    Mode {
        bytes: true,
        strict: false,
    },
];

fn build(info: &PolicyInfo, mode: Mode, seed: u64) -> (Engine, Arc<Mutex<Log>>) {
    build_variant(info, None, mode, seed, false)
}

/// The values of a policy's `variant` choice parameter, if it has one.
fn variants(info: &PolicyInfo) -> &'static [&'static str] {
    info.params
        .iter()
        .find_map(|p| match (p.name, p.ty) {
            ("variant", super::params::ParamType::Choice(names)) => Some(names),
            _ => None,
        })
        .unwrap_or(&[])
}

/// [`build`] with `lab-policy-param variant VARIANT`; `force_hits` makes the engine report
/// every hit to the policy even if it answered [`Policy::observes_hits`] false.
fn build_variant(
    info: &PolicyInfo,
    variant: Option<&str>,
    mode: Mode,
    seed: u64,
    force_hits: bool,
) -> (Engine, Arc<Mutex<Log>>) {
    let mut c = Config::default();
    let (mem, max) = if mode.bytes {
        ("logical", "900")
    } else {
        ("keys", "8")
    };
    let enforcement = if mode.strict { "strict" } else { "redis" };
    for (k, v) in [
        ("maxmemory-policy", info.name),
        ("lab-memory-mode", mem),
        ("maxmemory", max),
        ("lab-enforcement", enforcement),
        ("maxmemory-samples", "4"),
    ] {
        c.set(k, &[v]).unwrap();
    }
    if let Some(v) = variant {
        c.set("lab-policy-param", &["variant", v]).unwrap();
    }
    let mut e = Engine::new(c, seed).unwrap();
    let log = Arc::new(Mutex::new(Log::default()));
    let inner = std::mem::replace(&mut e.policy, NoEviction.into());
    e.policy = AnyPolicy::Boxed(Box::new(Recorder {
        inner,
        log: log.clone(),
        volatile_only: info.volatile_only,
    }));
    if force_hits {
        e.policy_observes_hits = true;
    }
    (e, log)
}

/// Each op's oracle: the index of the next op touching the same key.
fn oracle(ops: &[Op]) -> Vec<u64> {
    let mut next = vec![NEVER; ops.len()];
    let mut last: HashMap<u64, u64> = HashMap::new();
    for (i, op) in ops.iter().enumerate().rev() {
        if let Some(k) = op.key() {
            if let Some(&j) = last.get(&k) {
                next[i] = j;
            }
            last.insert(k, i as u64);
        }
    }
    next
}

/// The write a cache-aside fill made, if it made one.
fn filled(o: FillOutcome) -> Option<WriteOutcome> {
    match o {
        FillOutcome::Filled => Some(WriteOutcome::Stored),
        FillOutcome::NotFilled(w) => Some(w),
        FillOutcome::Hit(_) | FillOutcome::WrongType => None,
    }
}

/// Runs `ops` against `info` in `mode`; returns the eviction order, or the first violation.
fn run(info: &PolicyInfo, mode: Mode, ops: &[Op], seed: u64) -> Result<Vec<u64>, String> {
    run_variant(info, None, mode, ops, seed, false)
}

/// [`run`] with `lab-policy-param variant VARIANT` (and `force_hits`, see [`build_variant`]).
fn run_variant(
    info: &PolicyInfo,
    variant: Option<&str>,
    mode: Mode,
    ops: &[Op],
    seed: u64,
    force_hits: bool,
) -> Result<Vec<u64>, String> {
    let (mut e, log) = build_variant(info, variant, mode, seed, force_hits);
    let next = oracle(ops);
    let maxmemory = e.config().maxmemory;
    let mut model: BTreeSet<u64> = BTreeSet::new();
    let mut consumed = 0;
    for (i, op) in ops.iter().enumerate() {
        e.set_oracle(i as u64, next[i]);
        let stored = match *op {
            Op::Get(k) => {
                e.get(&Key::from_id(k));
                None
            }
            Op::GetFill(k, size) => filled(e.get_or_fill_id(k, size, 0)),
            Op::GetFillPx(k, size, ttl) => {
                filled(e.get_or_fill(Key::from_id(k), Blob::Sized(size), ttl))
            }
            Op::GetThenSet(k, size) => match e.get(&Key::from_id(k)) {
                GetOutcome::Miss => {
                    Some(e.set(Key::from_id(k), Blob::Sized(size), SetOptions::default()))
                }
                _ => None,
            },
            Op::Set(k, size) => {
                Some(e.set(Key::from_id(k), Blob::Sized(size), SetOptions::default()))
            }
            Op::SetPx(k, size, ttl) => {
                Some(e.set(Key::from_id(k), Blob::Sized(size), SetOptions::ttl_ms(ttl)))
            }
            Op::Del(k) => {
                e.del(&Key::from_id(k));
                None
            }
            Op::Pexpire(k, ttl) => {
                e.execute(Command::parse(&["PEXPIRE", &k.to_string(), &ttl.to_string()]).unwrap());
                None
            }
            Op::Persist(k) => {
                e.execute(Command::parse(&["PERSIST", &k.to_string()]).unwrap());
                None
            }
            Op::Hset(k, size) => {
                let field = format!("f{}", size % 5);
                let value = "v".repeat(size as usize);
                let r =
                    e.execute(Command::parse(&["HSET", &k.to_string(), &field, &value]).unwrap());
                Some(match r {
                    Reply::Int(_) => WriteOutcome::Stored,
                    Reply::Error(err) => WriteOutcome::Rejected(err),
                    other => return Err(format!("op {i} {op:?}: unexpected reply {other:?}")),
                })
            }
            Op::Advance(ms) => {
                e.advance_ms(ms);
                None
            }
        };
        // Model: drop what was reported removed, then add what was stored.
        let log_g = log.lock().unwrap();
        if let Some(err) = log_g.errors.first() {
            return Err(format!("op {i} {op:?}: {err}"));
        }
        for &(id, _) in &log_g.removed[consumed..] {
            model.remove(&id);
        }
        consumed = log_g.removed.len();
        drop(log_g);
        if let Some(out) = &stored {
            match out {
                WriteOutcome::Stored => {
                    model.insert(op.key().unwrap());
                    if mode.strict && e.used_memory() > maxmemory {
                        return Err(format!(
                            "op {i} {op:?}: used {} > maxmemory {maxmemory} after a stored write",
                            e.used_memory()
                        ));
                    }
                }
                WriteOutcome::Bypassed => {
                    if info.name != "belady-bypass" {
                        return Err(format!("op {i} {op:?}: {} bypassed a write", info.name));
                    }
                }
                WriteOutcome::Rejected(_) | WriteOutcome::NotStored => {}
            }
        }
        let present: BTreeSet<u64> = e
            .keyspace()
            .iter()
            .filter_map(|(_, en)| en.key.as_id())
            .collect();
        if present != model {
            return Err(format!(
                "op {i} {op:?}: keyspace {present:?} but model (written − reported removed) {model:?}"
            ));
        }
        if i % 16 == 0 {
            e.check_invariants()
                .map_err(|err| format!("op {i} {op:?}: {err}"))?;
        }
    }
    e.check_invariants()
        .map_err(|err| format!("at the end: {err}"))?;
    let log = log.lock().unwrap();
    let st = e.stats();
    let evicted = log
        .removed
        .iter()
        .filter(|r| r.1 == RemovalCause::Evicted)
        .count() as u64;
    let expired = log
        .removed
        .iter()
        .filter(|r| r.1 == RemovalCause::Expired)
        .count() as u64;
    if st.evicted_keys != evicted || st.expired_keys != expired {
        return Err(format!(
            "stats say {} evicted / {} expired, on_remove saw {evicted} / {expired}",
            st.evicted_keys, st.expired_keys
        ));
    }
    if !info.evicts && evicted != 0 {
        return Err(format!("{} evicted {evicted} keys", info.name));
    }
    Ok(log.evictions.clone())
}

/// Every policy (each of its variants), every mode; also replays the first mode twice for
/// determinism, the second time with every hit reported to the policy: a policy that
/// answers [`Policy::observes_hits`] false (the engine skips its `on_access`) must choose
/// the same victims when the hits are reported.
fn check_all(ops: &[Op], seed: u64) -> Result<(), String> {
    for info in POLICIES {
        let variants = variants(info);
        let configs: Vec<Option<&str>> = if variants.is_empty() {
            vec![None]
        } else {
            variants.iter().copied().map(Some).collect()
        };
        for variant in configs {
            let name = match variant {
                Some(v) => format!("{} variant {v}", info.name),
                None => info.name.to_string(),
            };
            for mode in MODES {
                let first = run_variant(info, variant, mode, ops, seed, false)
                    .map_err(|e| format!("{name} {mode:?}: {e}"))?;
                if mode.strict && !mode.bytes {
                    let again = run_variant(info, variant, mode, ops, seed, true)
                        .map_err(|e| format!("{name} {mode:?} (every hit reported): {e}"))?;
                    if first != again {
                        return Err(format!(
                            "{name}: same seed, different victims with every hit reported: {first:?} vs {again:?}"
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_policy_keeps_the_contract(ops in prop::collection::vec(op_strategy(), 1..160), seed in 0u64..1000) {
        if let Err(e) = check_all(&ops, seed) {
            prop_assert!(false, "{}", e);
        }
    }
}

#[test]
fn long_random_runs_keep_the_contract() {
    // Long enough to fill, evict, age sketches and cycle ghosts many times over.
    for seed in 0..3 {
        let ops = random_ops(seed, 6_000, 64);
        check_all(&ops, seed).unwrap();
    }
}

#[test]
fn noeviction_never_loses_a_key() {
    let info = super::registry::find("noeviction").unwrap();
    let ops: Vec<Op> = (0..40).map(|k| Op::Set(k % 12, 10)).collect();
    assert!(run(info, MODES[0], &ops, 1).unwrap().is_empty());
    let (mut e, _) = build(info, MODES[0], 1);
    for k in 0..8 {
        assert_eq!(
            e.set(Key::from_id(k), Blob::Sized(1), SetOptions::default()),
            WriteOutcome::Stored
        );
    }
    assert!(matches!(
        e.set(Key::from_id(99), Blob::Sized(1), SetOptions::default()),
        WriteOutcome::Rejected(_)
    ));
    assert_eq!(e.len(), 8, "all eight keys survive the refused write");
}

#[test]
fn the_recorder_catches_a_broken_policy() {
    /// Forgets keys on removal but keeps offering the first slot it ever saw.
    #[derive(Default)]
    struct Broken(Option<Slot>);
    impl Policy for Broken {
        fn on_insert(&mut self, s: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
            self.0.get_or_insert(s);
        }
        fn on_access(&mut self, _: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {}
        fn on_remove(&mut self, _: Slot, _: &Keyspace, _: RemovalCause) {}
        fn select_victim(&mut self, ks: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
            // Stale after the first eviction until the slot is reused.
            self.0
                .filter(|&s| ks.is_live(s))
                .or_else(|| ks.slots().next())
        }
    }
    let info = super::registry::find("lru").unwrap();
    let (mut e, log) = build(info, MODES[0], 1);
    e.policy = AnyPolicy::Boxed(Box::new(Recorder {
        inner: AnyPolicy::Boxed(Box::new(Broken::default())),
        log: log.clone(),
        volatile_only: true, // pretend: evicting keys without TTL must be reported
    }));
    for k in 0..10 {
        e.set(Key::from_id(k), Blob::Sized(1), SetOptions::default());
    }
    let errors = &log.lock().unwrap().errors;
    assert!(
        errors.iter().any(|m| m.contains("without a TTL")),
        "{errors:?}"
    );
}

#[test]
fn every_family_keeps_its_flags_and_the_registry_order() {
    use super::registry::Family;
    for p in POLICIES {
        match p.family {
            Family::Research => assert!(
                p.evicts && !p.needs_next_access && !p.volatile_only && !p.lfu_field,
                "{}",
                p.name
            ),
            Family::Oracle => assert!(p.needs_next_access, "{} must ask for the oracle", p.name),
            Family::Redis => assert!(p.params.is_empty(), "{}: Redis takes no lab params", p.name),
            Family::Echovault => assert!(
                p.params.is_empty() && !p.sampled && !p.lfu_field && !p.needs_next_access,
                "{}: EchoVault's policies are exact and take no lab params",
                p.name
            ),
        }
    }
    // Families in order (Redis, EchoVault, research, oracle), alphabetical within research
    // and oracle, as the `policies!` list promises.
    let families: Vec<Family> = POLICIES.iter().map(|p| p.family).collect();
    let rank = |f: &Family| {
        [
            Family::Redis,
            Family::Echovault,
            Family::Research,
            Family::Oracle,
        ]
        .iter()
        .position(|g| g == f)
    };
    assert!(
        families.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{families:?}"
    );
    for family in [Family::Research, Family::Oracle] {
        let names: Vec<&str> = POLICIES
            .iter()
            .filter(|p| p.family == family)
            .map(|p| p.name)
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "{family:?} not in alphabetical order");
    }
}

/// Values outside each declared range: below, above, not a number.
fn bad_values(spec: &super::params::ParamSpec) -> Vec<String> {
    use super::params::ParamType;
    match spec.ty {
        ParamType::Float(r) => {
            let mut v = vec!["bogus".to_string(), "NaN".to_string()];
            v.push(if r.lo_closed {
                format!("{}", r.lo - 0.5)
            } else {
                format!("{}", r.lo)
            });
            if r.hi.is_finite() {
                v.push(if r.hi_closed {
                    format!("{}", r.hi + 0.5)
                } else {
                    format!("{}", r.hi)
                });
            }
            v
        }
        ParamType::Int { lo, hi } => {
            vec!["bogus".into(), (lo - 1).to_string(), (hi + 1).to_string()]
        }
        ParamType::Bool => vec!["bogus".into(), "2".into()],
        ParamType::Choice(_) => vec!["bogus".into(), "2".into()],
    }
}

#[test]
fn every_policy_parameter_rejects_a_bad_value_by_name() {
    for info in POLICIES {
        for spec in info.params {
            for value in bad_values(spec) {
                // The config layer refuses it when the line is set…
                let mut c = Config::default();
                let err = c
                    .set("lab-policy-param", &[spec.name, &value])
                    .err()
                    .unwrap_or_else(|| {
                        panic!("{}: config accepted {} {value}", info.name, spec.name)
                    })
                    .to_string();
                assert!(
                    err.contains(&format!("'{value}'"))
                        && err.contains(spec.name)
                        && err.contains("expected"),
                    "{}: {err}",
                    info.name
                );
                // …and the engine when the pair bypasses `Config::set`.
                c.set("maxmemory-policy", &[info.name]).unwrap();
                c.policy_params.push((spec.name.to_string(), value.clone()));
                let err = match Engine::new(c, 1) {
                    Ok(_) => panic!("{} accepted {} {value}", info.name, spec.name),
                    Err(e) => e.to_string(),
                };
                assert!(
                    err.contains(&format!("'{value}'"))
                        && err.contains(spec.name)
                        && err.contains(&spec.ty.to_string()),
                    "{}: {err}",
                    info.name
                );
            }
            // The default is accepted (with the variant it belongs to).
            let mut c = Config::default();
            c.set("maxmemory-policy", &[info.name]).unwrap();
            if let Some((param, value)) = spec.only_with {
                c.set("lab-policy-param", &[param, value]).unwrap();
            }
            c.set("lab-policy-param", &[spec.name, &spec.default.to_string()])
                .unwrap();
            assert!(Engine::new(c, 1).is_ok(), "{} {}", info.name, spec.name);
        }
        // A parameter of another policy names the ones this policy accepts.
        let other = POLICIES
            .iter()
            .flat_map(|p| p.params.iter())
            .find(|s| !info.params.iter().any(|t| t.name == s.name))
            .unwrap();
        let mut c = Config::default();
        c.set("maxmemory-policy", &[info.name]).unwrap();
        c.set(
            "lab-policy-param",
            &[other.name, &other.default.to_string()],
        )
        .unwrap();
        let err = Engine::new(c, 1).err().unwrap().to_string();
        assert!(err.contains(info.name), "{}: {err}", info.name);
        for spec in info.params {
            assert!(err.contains(spec.name), "{}: {err}", info.name);
        }
    }
    // A name no policy declares is refused by the config layer, naming the known ones.
    let err = Config::default()
        .set("lab-policy-param", &["no-such-param", "1"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-param") && err.contains("clock-bits"),
        "{err}"
    );
}

#[test]
fn in_range_parameters_build() {
    for (policy, param, value) in [
        ("clock", "clock-bits", "3"),
        ("s3fifo", "move-to-main-threshold", "1"),
        ("w-tinylfu", "window-size", "0.2"),
        ("w-tinylfu", "variant", "caffeine"),
        ("lirs", "variant", "paper"),
        ("s3fifo", "variant", "v0"),
    ] {
        let mut c = Config::default();
        c.set("maxmemory-policy", &[policy]).unwrap();
        c.set("lab-policy-param", &[param, value]).unwrap();
        assert!(Engine::new(c, 1).is_ok(), "{policy} {param} {value}");
    }
}
