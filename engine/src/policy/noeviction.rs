//! `noeviction`: never evict; refuse writes that may grow memory when over the limit.
//!
//! Source: redis `src/evict.c` `performEvictions` returns `EVICT_FAIL` at once for
//! `MAXMEMORY_NO_EVICTION`, and `processCommand` then rejects commands flagged `DENYOOM`
//! with `-OOM command not allowed when used memory > 'maxmemory'.` The engine does the
//! refusing; this policy only has nothing to offer.
//!
//! Deviations: none. Metadata: none.

use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// Registry entry: Redis's `noeviction`.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo {
    evicts: false,
    ..PolicyInfo::redis(
        "noeviction",
        "never evict; refuse growing writes with -OOM over maxmemory",
        false,
        false,
        false,
        |_| NoEviction.into(),
    )
}];

/// The `noeviction` policy.
#[derive(Debug, Default)]
pub struct NoEviction;

impl Policy for NoEviction {
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
