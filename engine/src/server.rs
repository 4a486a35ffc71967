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
//! resolves the profile against the three settings it fixes is documented on
//! [`crate::Config`] (`lab-server`).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
