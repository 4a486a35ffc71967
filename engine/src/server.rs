//! Server profiles (`lab-server`): which server's eviction the engine models.
//!
//! * **`redis`** (default) — Redis 7's policies (sampled, eviction pool), Redis's memory
//!   model or the lab's own, eviction before each command, Redis's active-expire cycle; the
//!   research and oracle policies run beside them.
//! * **`echovault`** — EchoVault (SugarDB) as `../shared/reference/echovault.md` describes it
//!   (docs, and code at commit b0744d9): its seven `--eviction-policy` values with its exact
//!   heaps (the `echovault-*` policies), its own memory estimate
//!   (`lab-memory-mode echovault`), its eviction check after each write
//!   (`lab-enforcement echovault`) and its documented active-expire cycle
//!   (`lab-active-expire echovault`), all at once.
//!
//! Under `echovault`, a `maxmemory-policy` name is one of EchoVault's (`allkeys-lfu`, …, or
//! its `echovault-` spelling) and means the `echovault-*` policy; Redis's `volatile-ttl`,
//! which EchoVault does not have, and the research policies are refused. How the config
//! resolves the profile against the three settings it fixes ([`after_line`], [`check`]):
//!
//! * a `lab-server` line sets what the profile fixes, unless a line already set one of them
//!   to another value: then it is an error naming both (the config records which
//!   parameters lines set, [`SetByLines`]); `lab-server redis` gives the settings the
//!   EchoVault profile had set (and no line did) back their defaults;
//! * a later line setting a fixed parameter to another value is an error naming both;
//! * a `maxmemory-policy` the server does not have is an error naming both, in either order;
//! * `Engine::new` checks the final combination again ([`check`]), for configurations
//!   built field by field, and maps the policy name.

use crate::config::{Config, ConfigError};
use crate::policy::registry::{self, Family, PolicyInfo};

/// The server whose eviction is modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Server {
    /// Redis 7 (the default).
    #[default]
    Redis,
    /// EchoVault / SugarDB.
    Echovault,
}

/// EchoVault's `--eviction-policy` values (its docs, page "Eviction"): no `volatile-ttl`.
pub const ECHOVAULT_POLICY_NAMES: &[&str] = &[
    "noeviction",
    "allkeys-lfu",
    "allkeys-lru",
    "allkeys-random",
    "volatile-lfu",
    "volatile-lru",
    "volatile-random",
];

/// The prefix of the registered EchoVault policies.
const PREFIX: &str = "echovault-";

impl Server {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Server::Redis => "redis",
            Server::Echovault => "echovault",
        }
    }

    /// Parses a config name (case-insensitive).
    pub fn parse(s: &str) -> Option<Server> {
        match s.to_ascii_lowercase().as_str() {
            "redis" => Some(Server::Redis),
            "echovault" => Some(Server::Echovault),
            _ => None,
        }
    }

    /// The settings this profile fixes, as config lines (Redis's leaves every one free).
    pub fn fixed(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Server::Redis => &[],
            Server::Echovault => ECHOVAULT_FIXED,
        }
    }

    /// The policies this server offers, in registry order: what `all` means in a sweep.
    /// Redis: every policy but EchoVault's (which model another server); EchoVault: its
    /// seven.
    pub fn policies(self) -> impl Iterator<Item = &'static PolicyInfo> {
        registry::POLICIES
            .iter()
            .filter(move |p| (p.family == Family::Echovault) == (self == Server::Echovault))
    }

    /// The registered policy `name` (a `maxmemory-policy` value) means under this server,
    /// or what is accepted instead. Under Redis every registered name is itself; under
    /// EchoVault `allkeys-lfu` and `echovault-allkeys-lfu` both mean the latter.
    pub fn policy(self, name: &str) -> Result<&'static PolicyInfo, String> {
        let name = name.to_ascii_lowercase();
        match self {
            Server::Redis => registry::find(&name).ok_or_else(|| {
                format!(
                    "one of {}",
                    registry::names().collect::<Vec<_>>().join(", ")
                )
            }),
            Server::Echovault => {
                let bare = name.strip_prefix(PREFIX).unwrap_or(&name);
                ECHOVAULT_POLICY_NAMES
                    .contains(&bare)
                    .then(|| registry::find(&format!("{PREFIX}{bare}")))
                    .flatten()
                    .ok_or_else(|| {
                        format!(
                            "one of EchoVault's eviction policies under lab-server echovault: {}",
                            ECHOVAULT_POLICY_NAMES.join(", ")
                        )
                    })
            }
        }
    }
}

/// The settings `lab-server echovault` fixes, as config lines (parameter, value).
pub const ECHOVAULT_FIXED: &[(&str, &str)] = &[
    ("lab-memory-mode", "echovault"),
    ("lab-enforcement", "echovault"),
    ("lab-active-expire", "echovault"),
];

/// Which parameters config lines set, by name: what the profile check needs to tell a
/// setting someone made from a default. Not part of a configuration's value (two configs
/// with the same settings are equal however they were reached).
#[derive(Clone, Debug, Default)]
pub struct SetByLines(Vec<&'static str>);

impl PartialEq for SetByLines {
    fn eq(&self, _: &SetByLines) -> bool {
        true
    }
}

impl SetByLines {
    /// Records that a line set `name`.
    pub fn mark(&mut self, name: &'static str) {
        if !self.0.contains(&name) {
            self.0.push(name);
        }
    }
    /// Whether a line set `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(&name)
    }
}

/// The config layer's check after a line set `param` (`c` holds the result, `c.set_by`
/// not yet marked): applies a `lab-server` line's fixed settings, and refuses a line that
/// contradicts the profile. Returns what is expected instead, naming both settings.
pub fn after_line(c: &mut Config, param: &'static str) -> Result<(), String> {
    let server = c.server;
    if param == "lab-server" {
        for &(p, v) in Server::Echovault.fixed() {
            let current = c.get(p).unwrap_or_default();
            if server == Server::Echovault {
                if c.set_by.contains(p) && current != v {
                    return Err(format!(
                        "no contradicting setting: `{p} {current}` (an earlier line) contradicts \
                         lab-server echovault, which sets `{p} {v}`"
                    ));
                }
                c.set_unmarked(p, v);
            } else if !c.set_by.contains(p) {
                // Back to Redis: what the EchoVault profile set returns to its default.
                let d = Config::default().get(p).unwrap_or_default();
                c.set_unmarked(p, &d);
            }
        }
        if c.set_by.contains("maxmemory-policy") {
            server.policy(&c.maxmemory_policy).map_err(|e| {
                format!(
                    "a server with the policy `maxmemory-policy {}` (an earlier line): {e}",
                    c.maxmemory_policy
                )
            })?;
        }
        return Ok(());
    }
    if let Some(&(_, v)) = server.fixed().iter().find(|(p, _)| *p == param) {
        let current = c.get(param).unwrap_or_default();
        if current != v {
            return Err(format!(
                "{v}: lab-server {} (an earlier line) fixes `{param} {v}`",
                server.name()
            ));
        }
    }
    if param == "maxmemory-policy" {
        server
            .policy(&c.maxmemory_policy)
            .map_err(|e| format!("{e} (lab-server {} is set)", server.name()))?;
    }
    Ok(())
}

/// `Engine::new`'s check of the final combination (a configuration may be built field by
/// field): every setting the profile fixes holds its value, and the policy is the server's.
pub fn check(c: &Config) -> Result<&'static PolicyInfo, ConfigError> {
    for &(p, v) in c.server.fixed() {
        let current = c.get(p).unwrap_or_default();
        if current != v {
            return Err(ConfigError::BadValue {
                at: Default::default(),
                name: p.into(),
                value: current,
                expected: format!("{v}: lab-server {} fixes it", c.server.name()),
            });
        }
    }
    c.server
        .policy(&c.maxmemory_policy)
        .map_err(|expected| ConfigError::BadValue {
            at: Default::default(),
            name: "maxmemory-policy".into(),
            value: c.maxmemory_policy.clone(),
            expected: if c.server == Server::Redis {
                expected
            } else {
                format!("{expected} (lab-server {} is set)", c.server.name())
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::config::{ActiveExpire, Enforcement, MemoryMode};
    use crate::testutil::keys;
    use crate::{Blob, Engine, Key, SetOptions, WriteOutcome};

    #[test]
    fn each_echovault_name_maps_to_its_registered_policy() {
        assert_eq!(
            Server::Echovault.policies().count(),
            ECHOVAULT_POLICY_NAMES.len()
        );
        for name in ECHOVAULT_POLICY_NAMES {
            let p = Server::Echovault.policy(name).unwrap();
            assert_eq!(p.name, format!("echovault-{name}"));
            assert_eq!(p.family, Family::Echovault);
            assert_eq!(Server::Echovault.policy(p.name).unwrap().name, p.name);
            // Under Redis the plain name is Redis's policy.
            assert_eq!(Server::Redis.policy(name).unwrap().name, *name);
        }
        for refused in ["volatile-ttl", "lru", "belady", "nope"] {
            let e = Server::Echovault.policy(refused).unwrap_err();
            assert!(
                e.contains("allkeys-lfu") && !e.contains("volatile-ttl"),
                "{e}"
            );
        }
        assert!(
            Server::Redis
                .policies()
                .all(|p| p.family != Family::Echovault)
        );
    }

    #[test]
    fn lab_server_echovault_selects_everything_at_once() {
        let c = Config::parse_str("lab-server echovault\nmaxmemory-policy allkeys-lfu").unwrap();
        assert_eq!(c.memory_mode, MemoryMode::Echovault);
        assert_eq!(c.enforcement, Enforcement::Echovault);
        assert_eq!(c.active_expire, ActiveExpire::Echovault);
        let e = Engine::new(c.clone(), 1).unwrap();
        assert_eq!(e.policy_info().name, "echovault-allkeys-lfu");
        // The dump parses back to the same configuration.
        assert_eq!(Config::parse_str(&c.to_lines().join("\n")).unwrap(), c);
        // Back to Redis: what the profile set returns to its default.
        let c = Config::parse_str("lab-server echovault\nlab-server redis").unwrap();
        assert_eq!(c, Config::default());
        // The settings alone are usable under Redis.
        let c = Config::parse_str("lab-memory-mode echovault\nmaxmemory-policy allkeys-lfu");
        let e = Engine::new(c.unwrap(), 1).unwrap();
        assert_eq!(e.policy_info().name, "allkeys-lfu");
    }

    #[test]
    fn a_contradicting_setting_is_an_error_naming_both_in_either_order() {
        for (a, b) in [
            ("lab-memory-mode redis", "lab-server echovault"),
            ("lab-enforcement strict", "lab-server echovault"),
            ("lab-active-expire redis", "lab-server echovault"),
            ("maxmemory-policy volatile-ttl", "lab-server echovault"),
            ("maxmemory-policy lru", "lab-server echovault"),
        ] {
            for text in [format!("{a}\n{b}"), format!("{b}\n{a}")] {
                let e = Config::parse_str(&text).unwrap_err().to_string();
                let (pa, va) = a.split_once(' ').unwrap();
                assert!(
                    e.contains(pa) && e.contains(va) && e.contains("lab-server echovault"),
                    "{text:?}: {e}"
                );
                assert!(e.contains("line 2"), "{text:?}: {e}");
            }
        }
        // A setting equal to the profile's is no contradiction, in either order.
        Config::parse_str("lab-memory-mode echovault\nlab-server echovault").unwrap();
        Config::parse_str("lab-server echovault\nlab-enforcement echovault").unwrap();
        // A configuration changed field by field is checked by the engine.
        let mut c = Config::parse_str("lab-server echovault").unwrap();
        c.memory_mode = MemoryMode::Keys;
        let e = Engine::new(c, 1).err().unwrap().to_string();
        assert!(
            e.contains("lab-memory-mode") && e.contains("lab-server echovault"),
            "{e}"
        );
    }

    /// An engine under `lab-server echovault` with `policy` and `maxmemory`.
    fn ev(policy: &str, maxmemory: u64) -> Engine {
        let text =
            format!("lab-server echovault\nmaxmemory-policy {policy}\nmaxmemory {maxmemory}");
        Engine::new(Config::parse_str(&text).unwrap(), 1).unwrap()
    }

    /// SET id with an 11-byte sized value: EchoVault's estimate 24 + (16 + 11) + (16 + 1) = 68.
    fn set(e: &mut Engine, id: u64) -> WriteOutcome {
        e.set(Key::from_id(id), Blob::Sized(11), SetOptions::default())
    }

    #[test]
    fn eviction_runs_after_the_write_and_may_take_the_key_just_written() {
        // 3 keys = 204 bytes: at the limit after the third write, so one goes — under LFU the
        // newest of the count-1 keys, the one just written.
        let mut e = ev("allkeys-lfu", 204);
        for k in 1..=3 {
            assert_eq!(set(&mut e, k), WriteOutcome::Stored);
        }
        assert_eq!(keys(&e), [1, 2]);
        assert_eq!(e.used_memory(), 136);
        assert!(matches!(e.get(&Key::from_id(1)), crate::GetOutcome::Hit(_))); // 1:2
        assert_eq!(set(&mut e, 4), WriteOutcome::Stored); // 2:1 and 4:1 tie: 4 is newer
        assert_eq!(keys(&e), [1, 2]);
        assert_eq!(e.stats().evicted_keys, 2);
    }

    #[test]
    fn lru_evicts_after_the_write_until_under_the_limit() {
        let mut e = ev("allkeys-lru", 210);
        for k in 1..=3 {
            set(&mut e, k); // 204 < 210: nothing to do
        }
        assert!(matches!(e.get(&Key::from_id(1)), crate::GetOutcome::Hit(_)));
        set(&mut e, 4); // 272 >= 210: evict 2 (least recently used), 204 < 210: stop
        assert_eq!(keys(&e), [1, 3, 4]);
        // Through the command path too.
        e.execute(Command::Set {
            key: Key::from_id(5),
            value: Blob::Sized(11),
            options: SetOptions::default(),
        });
        assert_eq!(keys(&e), [1, 4, 5]);
    }

    #[test]
    fn noeviction_refuses_a_write_at_or_over_the_limit_before_it() {
        let mut e = ev("noeviction", 150);
        assert_eq!(set(&mut e, 1), WriteOutcome::Stored); // 68
        assert_eq!(set(&mut e, 2), WriteOutcome::Stored); // 136
        assert_eq!(set(&mut e, 3), WriteOutcome::Stored); // 136 < 150 before: 204 after
        assert!(matches!(set(&mut e, 4), WriteOutcome::Rejected(_)));
        assert_eq!(keys(&e), [1, 2, 3]);
        assert!(e.del(&Key::from_id(3)));
        assert_eq!(set(&mut e, 4), WriteOutcome::Stored);
        assert_eq!(e.stats().evicted_keys, 0);
    }

    #[test]
    fn volatile_policies_stop_when_no_key_has_a_ttl_and_never_refuse() {
        let mut e = ev("volatile-lru", 150);
        for k in 1..=3 {
            assert_eq!(set(&mut e, k), WriteOutcome::Stored);
        }
        assert_eq!(e.used_memory(), 204, "over the limit, nothing to evict");
        let ttl = SetOptions::ttl_ms(60_000);
        assert_eq!(
            e.set(Key::from_id(4), Blob::Sized(11), ttl),
            WriteOutcome::Stored
        );
        assert_eq!(keys(&e), [1, 2, 3], "the only key with a TTL went");
    }

    #[test]
    fn the_memory_estimate_is_echovaults_and_overwrites_replace() {
        let text = "lab-server echovault\nmaxmemory-policy allkeys-lru\nlab-storage materialized";
        let mut e = Engine::new(Config::parse_str(text).unwrap(), 1).unwrap();
        set(&mut e, 1);
        e.set(
            Key::from("user:42"),
            Blob::bytes(b"hello"),
            SetOptions::default(),
        );
        // 68 + 24 + (16 + 5) + (16 + 7)
        assert_eq!(e.used_memory(), 68 + 68);
        e.set(
            Key::from("user:42"),
            Blob::bytes(b"12345"),
            SetOptions::default(),
        );
        assert_eq!(
            e.used_memory(),
            68 + 24 + 8 + 23,
            "a number is 8 bytes; replaced"
        );
        assert!(e.del(&Key::from("user:42")));
        assert_eq!(e.used_memory(), 68);
        e.check_invariants().unwrap();
    }

    #[test]
    fn random_runs_keep_the_accounting_and_evict_below_the_limit() {
        use crate::command::ExpireCondition;
        use rand::{RngExt, SeedableRng};
        for policy in ECHOVAULT_POLICY_NAMES {
            for seed in 0..4 {
                let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
                let mut e = ev(policy, 900);
                for _ in 0..3000 {
                    let k = Key::from_id(rng.random_range(0..40u64));
                    let size = Blob::Sized(rng.random_range(1..60u64));
                    let wrote = match rng.random_range(0..8u32) {
                        0 | 1 => {
                            e.get(&k);
                            false
                        }
                        2 => e.set(k, size, SetOptions::default()) == WriteOutcome::Stored,
                        3 => e.set(k, size, SetOptions::ttl_ms(5_000)) == WriteOutcome::Stored,
                        4 => {
                            e.del(&k);
                            false
                        }
                        5 => {
                            e.execute(Command::Persist(k));
                            false
                        }
                        6 => {
                            e.execute(Command::Expire {
                                key: k,
                                ttl_ms: 3_000,
                                seconds: false,
                                condition: ExpireCondition::Always,
                            });
                            false
                        }
                        _ => {
                            e.advance_ms(rng.random_range(0..400u64));
                            false
                        }
                    };
                    e.check_invariants()
                        .unwrap_or_else(|m| panic!("{policy} seed {seed}: {m}"));
                    // After a write the allkeys policies are under the limit; volatile ones
                    // may stay over it (no key with a TTL left); noeviction never evicts.
                    if wrote && policy.starts_with("allkeys") {
                        assert!(e.used_memory() < 900, "{policy} seed {seed}");
                    }
                }
                if *policy == "noeviction" {
                    assert_eq!(e.stats().evicted_keys, 0);
                    assert!(e.stats().rejected_writes > 0, "{policy} seed {seed}");
                } else {
                    assert!(e.stats().evicted_keys > 0, "{policy} seed {seed}");
                }
            }
        }
    }
}
