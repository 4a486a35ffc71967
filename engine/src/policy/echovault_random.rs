//! `echovault-allkeys-random` / `echovault-volatile-random`: EchoVault's random eviction.
//!
//! Source: `../shared/reference/echovault.md`; EchoVault (SugarDB) docs page "Eviction" and
//! `sugardb/keyspace.go` `adjustMemoryUsage` at commit b0744d9: at the limit, delete a key
//! drawn at random from all keys (`allkeys-random`) or from the keys with an expiry
//! (`volatile-random`), until under the limit or out of candidates.
//!
//! Deviations: the draw is uniform over the candidates with the engine's seeded RNG
//! ([`Keyspace::random_uniform`]); EchoVault uses Go's `math/rand` over its own key lists.
//! Unlike Redis's `allkeys-random` there is no model of a hash table's bucket walk.
//!
//! Metadata: none (the keyspace's dense indexes are the candidate lists).

use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Scope, Slot};

/// Registry entries: EchoVault's two random policies, one type.
pub const REGISTRY: &[PolicyInfo] = &[
    PolicyInfo::echovault(
        "echovault-allkeys-random",
        "EchoVault's random eviction: a uniformly random key",
        false,
        |_| EchovaultRandom(Scope::AllKeys).into(),
    ),
    PolicyInfo::echovault(
        "echovault-volatile-random",
        "EchoVault's random eviction among keys with a TTL",
        true,
        |_| EchovaultRandom(Scope::Volatile).into(),
    ),
];

/// A uniformly random key of the scope.
#[derive(Debug)]
pub struct EchovaultRandom(pub Scope);

impl Policy for EchovaultRandom {
    fn on_insert(&mut self, _: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {}
    fn on_access(&mut self, _: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {}
    fn observes_hits(&self) -> bool {
        false
    }
    fn on_remove(&mut self, _: Slot, _: &Keyspace, _: RemovalCause) {}
    fn select_victim(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot> {
        ks.random_uniform(ctx.rng, self.0)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn volatile_random_evicts_only_keys_with_a_ttl() {
        for seed_key in 10..20 {
            let mut e = engine("echovault-volatile-random", 3);
            set(&mut e, 1);
            set_ex(&mut e, seed_key, 60_000);
            set(&mut e, 2);
            set(&mut e, 3); // the only candidate is the key with a TTL
            assert_eq!(keys(&e), [1, 2, 3]);
            assert!(!try_set(&mut e, 4), "no key with a TTL left: refused");
        }
    }

    #[test]
    fn allkeys_random_evicts_each_key_sometimes() {
        let mut seen = [false; 4];
        for seed in 0..64 {
            let mut c = crate::Config::default();
            c.apply_str(
                "maxmemory-policy echovault-allkeys-random\nlab-memory-mode keys\n\
                 lab-enforcement strict\nmaxmemory 3",
                None,
            )
            .unwrap();
            let mut e = crate::Engine::new(c, seed).unwrap();
            for k in 1..=4 {
                set(&mut e, k);
            }
            let ks = keys(&e);
            assert_eq!(ks.len(), 3);
            assert!(ks.contains(&4), "the key being written is not a candidate yet");
            for (k, seen) in seen.iter_mut().enumerate().skip(1) {
                *seen |= !ks.contains(&(k as u64));
            }
        }
        assert!(seen[1] && seen[2] && seen[3], "{seen:?}");
    }
}
