//! [`AnyPolicy`]: static dispatch over the registered policies.
//!
//! The engine calls a policy hook on every request (`on_access` on a hit, `on_miss`,
//! `on_insert`, `select_victim` and `on_remove` on a miss that evicts). Through a
//! `Box<dyn Policy>` each is an indirect call the compiler cannot inline; with one enum
//! variant per policy type the engine's `match` is a predictable jump and the hook body
//! (for exact LRU a few loads and stores) is inlined into the request loop. Policies from
//! outside the registry (wrappers in tests, experiments) still plug in through
//! [`AnyPolicy::Boxed`].

use super::arc::Arc;
use super::belady::Belady;
use super::clock::Clock;
use super::fifo::Fifo;
use super::lfu::Lfu;
use super::lirs::Lirs;
use super::lru::Lru;
use super::noeviction::NoEviction;
use super::redis_sampled::RedisSampled;
use super::s3fifo::S3Fifo;
use super::sieve::Sieve;
use super::twoq::TwoQ;
use super::wtinylfu::WTinyLfu;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// Every policy type of the registry, plus a boxed fallback for any other [`Policy`].
pub enum AnyPolicy {
    /// `noeviction`.
    NoEviction(NoEviction),
    /// Redis's sampled policies (`allkeys-*`, `volatile-*`).
    RedisSampled(RedisSampled),
    /// `2q`.
    TwoQ(TwoQ),
    /// `arc`.
    Arc(Arc),
    /// `clock`.
    Clock(Clock),
    /// `fifo`.
    Fifo(Fifo),
    /// `lfu`.
    Lfu(Lfu),
    /// `lirs`.
    Lirs(Lirs),
    /// `lru`.
    Lru(Lru),
    /// `s3fifo`.
    S3Fifo(S3Fifo),
    /// `sieve`.
    Sieve(Sieve),
    /// `w-tinylfu`.
    WTinyLfu(WTinyLfu),
    /// `belady`, `belady-bypass`.
    Belady(Belady),
    /// Any other policy (dynamic dispatch).
    Boxed(Box<dyn Policy>),
}

macro_rules! from_variants {
    ($($v:ident),*) => {
        $(
            impl From<$v> for AnyPolicy {
                fn from(p: $v) -> AnyPolicy {
                    AnyPolicy::$v(p)
                }
            }
        )*
    };
}

from_variants!(
    NoEviction,
    RedisSampled,
    TwoQ,
    Arc,
    Clock,
    Fifo,
    Lfu,
    Lirs,
    Lru,
    S3Fifo,
    Sieve,
    WTinyLfu,
    Belady
);

/// Evaluates `$body` with `$p` bound to the policy inside, whatever the variant.
macro_rules! dispatch {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            AnyPolicy::NoEviction($p) => $body,
            AnyPolicy::RedisSampled($p) => $body,
            AnyPolicy::TwoQ($p) => $body,
            AnyPolicy::Arc($p) => $body,
            AnyPolicy::Clock($p) => $body,
            AnyPolicy::Fifo($p) => $body,
            AnyPolicy::Lfu($p) => $body,
            AnyPolicy::Lirs($p) => $body,
            AnyPolicy::Lru($p) => $body,
            AnyPolicy::S3Fifo($p) => $body,
            AnyPolicy::Sieve($p) => $body,
            AnyPolicy::WTinyLfu($p) => $body,
            AnyPolicy::Belady($p) => $body,
            AnyPolicy::Boxed($p) => $body,
        }
    };
}

impl From<Box<dyn Policy>> for AnyPolicy {
    fn from(p: Box<dyn Policy>) -> AnyPolicy {
        AnyPolicy::Boxed(p)
    }
}

impl AnyPolicy {
    /// [`Policy::on_access`] with the context built only in the arm that runs, so that a
    /// policy which ignores it (exact LRU, FIFO, the Redis policies) does not pay for
    /// assembling it on every hit.
    #[inline(always)]
    pub fn on_access_lazy<'a>(
        &mut self,
        slot: Slot,
        ks: &Keyspace,
        ctx: impl FnOnce() -> PolicyCtx<'a>,
    ) {
        dispatch!(self, p => p.on_access(slot, ks, &mut ctx()))
    }

    /// [`Policy::on_miss`] with a lazily built context (see [`AnyPolicy::on_access_lazy`]).
    #[inline(always)]
    pub fn on_miss_lazy<'a>(&mut self, hash: u64, ctx: impl FnOnce() -> PolicyCtx<'a>) {
        dispatch!(self, p => p.on_miss(hash, &mut ctx()))
    }

    /// [`Policy::on_insert`] with a lazily built context.
    #[inline(always)]
    pub fn on_insert_lazy<'a>(
        &mut self,
        slot: Slot,
        ks: &Keyspace,
        ctx: impl FnOnce() -> PolicyCtx<'a>,
        kind: InsertKind,
    ) {
        dispatch!(self, p => p.on_insert(slot, ks, &mut ctx(), kind))
    }

    /// [`Policy::select_victim`] with a lazily built context.
    #[inline(always)]
    pub fn select_victim_lazy<'a>(
        &mut self,
        ks: &Keyspace,
        ctx: impl FnOnce() -> PolicyCtx<'a>,
    ) -> Option<Slot> {
        dispatch!(self, p => p.select_victim(ks, &mut ctx()))
    }
}

impl Policy for AnyPolicy {
    #[inline]
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, ctx: &mut PolicyCtx<'_>, kind: InsertKind) {
        dispatch!(self, p => p.on_insert(slot, ks, ctx, kind))
    }
    #[inline]
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) {
        dispatch!(self, p => p.on_access(slot, ks, ctx))
    }
    #[inline]
    fn on_miss(&mut self, hash: u64, ctx: &mut PolicyCtx<'_>) {
        dispatch!(self, p => p.on_miss(hash, ctx))
    }
    #[inline]
    fn on_remove(&mut self, slot: Slot, ks: &Keyspace, cause: RemovalCause) {
        dispatch!(self, p => p.on_remove(slot, ks, cause))
    }
    #[inline]
    fn select_victim(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot> {
        dispatch!(self, p => p.select_victim(ks, ctx))
    }
    #[inline]
    fn admit(&mut self, hash: u64, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> bool {
        dispatch!(self, p => p.admit(hash, ks, ctx))
    }
    fn uses_admission(&self) -> bool {
        dispatch!(self, p => p.uses_admission())
    }
    #[inline]
    fn take_evicted(&mut self) -> Option<Slot> {
        dispatch!(self, p => p.take_evicted())
    }
    fn evicts_on_access(&self) -> bool {
        dispatch!(self, p => p.evicts_on_access())
    }
    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        dispatch!(self, p => p.check_invariants(ks))
    }
}
