//! Eviction policies: one trait, one file per policy, one registry.
//!
//! A policy never runs the request loop. The [`crate::Engine`] looks keys up, expires them,
//! decides *when* to evict (before a write, while over the limit) and removes victims; a
//! policy only **tracks** (the `on_*` hooks), **scores** and **chooses**
//! ([`Policy::select_victim`]), and optionally **admits** ([`Policy::admit`]).
//!
//! Contract, in the order the engine calls the hooks for one key:
//!
//! 1. [`Policy::on_insert`] right after the key is stored in `slot`.
//! 2. [`Policy::on_access`] on every later lookup that finds it (reads and writes).
//! 3. [`Policy::on_remove`] right *before* the key leaves the keyspace, for any cause
//!    (eviction, expiry, DEL, an aggregate emptied). The entry is still readable. After it
//!    the policy MUST hold no reference to `slot`: the slot number may be reused for another
//!    key at once.
//!
//! [`Policy::select_victim`] MUST return a live slot (or `None` if it has nothing to evict)
//! and MUST NOT change its bookkeeping for that slot: the engine removes the victim and calls
//! `on_remove(…, Evicted)`. A read lookup that finds nothing calls [`Policy::on_miss`] with
//! the key's hash (ghost lists and frequency sketches use it).
//!
//! Policies keep per-key metadata in side tables indexed by [`Slot`]; [`list::SlotList`] is
//! the shared doubly-linked list over slots.
//!
//! # Layout
//!
//! - this file — the [`Policy`] trait, its context, and **the one list of policies**: the
//!   `policies!` invocation below, one line per policy file. It generates the module, the
//!   [`AnyPolicy`] variant and dispatch, and the policy's entries in [`POLICIES`].
//! - `any` — the `policies!` macro (and why [`AnyPolicy`] is an enum).
//! - [`registry`] — [`PolicyInfo`] (name, family, flags, parameters, builder), look-ups.
//! - [`params`] — typed `lab-policy-param`s: [`params::ParamSpec`], resolved
//!   [`params::ParamValues`], range errors.
//! - [`noeviction`], [`redis_sampled`] — Redis's eight `maxmemory-policy` values.
//! - [`echovault_noeviction`], [`echovault_lfu`], [`echovault_lru`], [`echovault_random`] —
//!   EchoVault's seven `--eviction-policy` values (`echovault-*`), exact heaps and lists as
//!   its code keeps them; `lab-server echovault` maps the plain names to them.
//! - [`lru`], [`fifo`], [`clock`], [`sieve`], [`s3fifo`], [`arc`], [`twoq`] (`2q`), [`lfu`],
//!   [`wtinylfu`] (`w-tinylfu`), [`lirs`] — research policies, one file each; `w-tinylfu`'s
//!   default variant (libCacheSim's) is in [`wtinylfu_lcs`], with its filter in [`cbf`];
//!   `lirs`'s default variant (libCacheSim's) is in [`lirs_lcs`].
//! - [`belady`] — `belady` and `belady-bypass`, the offline optimum (reads the oracle).
//! - [`reference`] — the implementation each research policy reproduces and how closely
//!   (checked against libCacheSim by `tests/libcachesim.rs`).
//! - [`list`] — doubly-linked lists over slots; [`ghost`] — the bounded FIFO of evicted
//!   key hashes (S3-FIFO, 2Q, ARC); [`sketch`] — TinyLFU's count-min sketch;
//!   [`sizing`] — the capacity (keys or bytes) queue-sizing policies derive from the config.
//! - `mru` (tests only) — the README's "Adding a policy" example, registered by one line.
//! - `conformance` (tests only) — the contract every registered policy is checked against.
//!
//! # Adding a policy
//!
//! Write `policy/<name>.rs` with the type, its [`Policy`] impl and a
//! `pub const REGISTRY: &[PolicyInfo]` (name, summary, parameters, builder), then add
//! `<name>::<Type>,` to the `policies!` list below (alphabetical within its family). The
//! conformance tests, the CLI listing, sweeps over `all` and the benches pick it up.

#[macro_use]
mod any;
pub mod cbf;
#[cfg(test)]
mod conformance;
pub mod ghost;
pub mod lirs_lcs;
pub mod list;
pub mod params;
pub mod reference;
pub mod registry;
pub mod sizing;
pub mod sketch;
pub mod wtinylfu_lcs;

use rand_xoshiro::Xoshiro256PlusPlus;

use crate::config::Config;
use crate::keyspace::{Keyspace, Slot};

/// The engine's random number generator, seeded by the caller.
pub type EngineRng = Xoshiro256PlusPlus;

/// Next-access value for "never accessed again" (and for "unknown").
pub const NEVER: u64 = u64::MAX;

/// What the engine tells a policy about the current moment.
pub struct PolicyCtx<'a> {
    /// The engine's seeded RNG.
    pub rng: &'a mut EngineRng,
    /// The configuration (samples, LFU parameters, policy parameters).
    pub config: &'a Config,
    /// Current time, ms.
    pub now_ms: u64,
    /// Redis's cached LRU clock (seconds mod 2^24), refreshed by the cron.
    pub lru_clock: u32,
    /// Index of the current request in the replayed stream (a virtual time for Belady).
    pub request_index: u64,
    /// The oracle's index of the next request to the current key ([`NEVER`] if none or
    /// unknown); set by the caller with [`crate::Engine::set_oracle`].
    pub next_access: u64,
    /// While the engine makes room for a *new* key under strict enforcement: the logical
    /// charge that key will add (so a policy sizing queues in bytes, like W-TinyLFU's window,
    /// can tell whether the insert will overflow a queue). 0 at every other moment.
    pub incoming_charge: u64,
}

/// Why an entry leaves the keyspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalCause {
    /// Chosen by the policy under memory pressure.
    Evicted,
    /// Its TTL passed (passive or active expiry).
    Expired,
    /// Deleted by a command (DEL, an emptied aggregate, overwritten by loading).
    Deleted,
}

/// How a key came to be inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertKind {
    /// A write right after a read of the same key missed (a cache-aside fill): the access
    /// was already reported by [`Policy::on_miss`].
    Fill,
    /// Any other write creating the key.
    Write,
}

/// An eviction policy. See the module docs for the contract.
pub trait Policy: Send {
    /// A key was stored in `slot`.
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, ctx: &mut PolicyCtx<'_>, kind: InsertKind);

    /// A lookup found the key in `slot`.
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, ctx: &mut PolicyCtx<'_>);

    /// A hint: a lookup will probably find the key in `slot` soon (the runner's look-ahead,
    /// [`crate::engine::Lookahead`]). Start loading what [`Policy::on_access`] will read for
    /// it (exact LRU: the slot's links) with `crate::index::prefetch`. Takes `&self`: it
    /// must change nothing, and results never depend on it. Default: nothing.
    #[inline]
    fn prefetch_access(&self, _slot: Slot, _ks: &Keyspace) {}

    /// A read lookup of the key with this hash found nothing.
    fn on_miss(&mut self, _hash: u64, _ctx: &mut PolicyCtx<'_>) {}

    /// The key in `slot` is about to leave the keyspace.
    fn on_remove(&mut self, slot: Slot, ks: &Keyspace, cause: RemovalCause);

    /// Chooses a live slot to evict, or `None` when nothing may be evicted.
    fn select_victim(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot>;

    /// Whether to store a new key (hash given) when storing it requires an eviction.
    /// Default: always. Only called when [`Policy::uses_admission`] returns true.
    fn admit(&mut self, _hash: u64, _ks: &Keyspace, _ctx: &mut PolicyCtx<'_>) -> bool {
        true
    }

    /// True for policies that implement [`Policy::admit`] (asked once, when the engine is
    /// built, so the common case pays nothing per write).
    fn uses_admission(&self) -> bool {
        false
    }

    /// A key the policy evicted by itself while tracking an access (libCacheSim's SLRU and
    /// LIRS evict on some hits), for the engine to remove before the next command; `None`
    /// when there is none. Only asked when [`Policy::evicts_on_access`] is true. Such a key
    /// is out of the policy's lists: it is never chosen again and `on_access` ignores it.
    fn take_evicted(&mut self) -> Option<Slot> {
        None
    }

    /// True for policies that may evict on an access ([`Policy::take_evicted`]); asked
    /// once, when the engine is built.
    fn evicts_on_access(&self) -> bool {
        false
    }

    /// False for a policy whose [`Policy::on_access`] does nothing (FIFO; Redis's sampled
    /// policies, which read the engine's LRU/LFU field instead; no-eviction; random): the
    /// engine then skips the call on every hit, a dispatch through the policy enum that cost
    /// ~10 instructions of each hit. Asked once, when the engine is built. A `false` that is
    /// wrong would lose hits, so the default is `true`, and the conformance test replays
    /// every policy with the call made anyway and compares the victims.
    fn observes_hits(&self) -> bool {
        true
    }

    /// Checks internal bookkeeping against the keyspace.
    fn check_invariants(&self, _ks: &Keyspace) -> Result<(), String> {
        Ok(())
    }
}

pub use reference::{Closeness, REFERENCES, Reference, reference, references};
pub use registry::{Family, PolicyInfo, find, names};

// The one list of policies: module :: type, in registry order (Redis's, then research
// policies alphabetically, then the oracles); EchoVault's come right after Redis's. See
// `any.rs` for what each line generates.
policies! {
    noeviction::NoEviction,
    redis_sampled::RedisSampled,
    echovault_lfu::EchovaultLfu,
    echovault_lru::EchovaultLru,
    echovault_noeviction::EchovaultNoEviction,
    echovault_random::EchovaultRandom,
    twoq::TwoQ,
    arc::Arc,
    clock::Clock,
    fifo::Fifo,
    lfu::Lfu,
    lirs::Lirs,
    lru::Lru,
    #[cfg(test)]
    mru::Mru,
    s3fifo::S3Fifo,
    sieve::Sieve,
    wtinylfu::WTinyLfu,
    belady::Belady,
}
