//! `echovault-noeviction`: EchoVault's `noeviction`.
//!
//! Source: `../shared/reference/echovault.md`; EchoVault (SugarDB) `sugardb/keyspace.go`
//! `setValues` at commit b0744d9: a write is refused ("max memory reached, key value not
//! set") when used memory is already at or above `--max-memory` before it; nothing is ever
//! evicted. The engine does the refusing (`lab-enforcement echovault` compares with `>=`,
//! Redis's `noeviction` with `>`); this policy only has nothing to offer.
//!
//! Deviations: the refusal is the engine's `-OOM` reply, not EchoVault's error text.
//! Metadata: none.

use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// Registry entry: EchoVault's `noeviction`.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo {
    evicts: false,
    ..PolicyInfo::echovault(
        "echovault-noeviction",
        "EchoVault's noeviction: refuse writes at or above max-memory",
        false,
        |_| EchovaultNoEviction.into(),
    )
}];

/// EchoVault's `noeviction` policy.
#[derive(Debug, Default)]
pub struct EchovaultNoEviction;

impl Policy for EchovaultNoEviction {
    fn on_insert(&mut self, _: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {}
    fn on_access(&mut self, _: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {}
    fn observes_hits(&self) -> bool {
        false
    }
    fn on_remove(&mut self, _: Slot, _: &Keyspace, _: RemovalCause) {}
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        None
    }
}
