//! The `policies!` macro: one line per policy (in `policy/mod.rs`) declares the policy's
//! module and type, and generates
//!
//! * `pub mod <module>;` — the policy's file;
//! * a variant of [`super::AnyPolicy`], the enum the engine dispatches to statically, its
//!   `From` impl and its arm in every dispatching `match`;
//! * the policy's entries in [`super::POLICIES`], taken from the file's
//!   `pub const REGISTRY: &[PolicyInfo]` (one entry per registered name; Redis's sampled
//!   policies register seven names on one type).
//!
//! Why an enum: the engine calls a policy hook on every request (`on_access` on a hit,
//! `on_miss`, `on_insert`, `select_victim` and `on_remove` on a miss that evicts). Through a
//! `Box<dyn Policy>` each is an indirect call the compiler cannot inline; with one enum
//! variant per policy type the engine's `match` is a predictable jump and the hook body
//! (for exact LRU a few loads and stores) is inlined into the request loop. Policies from
//! outside the registry (wrappers in tests, experiments) still plug in through
//! `AnyPolicy::Boxed`.
//!
//! A line may carry attributes (`#[cfg(test)] mru::Mru,` registers the README's example
//! policy in test builds only).
//!
//! Also here: `policy_variants!`, the [`super::Policy`] impl of a policy type that is an
//! enum of variants (`w-tinylfu`, `lirs`: libCacheSim's reading or another), forwarding
//! every hook to the variant inside.

/// Evaluates `$body` with `$p` bound to the policy inside, whatever the variant.
macro_rules! dispatch {
    ($self:expr, [$($(#[$attr:meta])* $ty:ident),*], $p:ident => $body:expr) => {
        match $self {
            $( $(#[$attr])* AnyPolicy::$ty($p) => $body, )*
            AnyPolicy::Boxed($p) => $body,
        }
    };
}

/// The one list of policies; see the module docs.
macro_rules! policies {
    ($( $(#[$attr:meta])* $module:ident :: $ty:ident ),* $(,)?) => {
        $( $(#[$attr])* pub mod $module; )*

        /// Every registered policy type, plus a boxed fallback for any other [`Policy`].
        pub enum AnyPolicy {
            $(
                #[doc = concat!("[`", stringify!($module), "::", stringify!($ty), "`].")]
                $(#[$attr])*
                $ty($module::$ty),
            )*
            /// Any other policy (dynamic dispatch).
            Boxed(Box<dyn Policy>),
        }

        $(
            $(#[$attr])*
            impl From<$module::$ty> for AnyPolicy {
                fn from(p: $module::$ty) -> AnyPolicy {
                    AnyPolicy::$ty(p)
                }
            }
        )*

        impl From<Box<dyn Policy>> for AnyPolicy {
            fn from(p: Box<dyn Policy>) -> AnyPolicy {
                AnyPolicy::Boxed(p)
            }
        }

        impl AnyPolicy {
            /// [`Policy::on_access`] with the context built only in the arm that runs, so
            /// that a policy which ignores it (exact LRU, FIFO, the Redis policies) does not
            /// pay for assembling it on every hit.
            #[inline(always)]
            pub fn on_access_lazy<'a>(
                &mut self,
                slot: Slot,
                ks: &Keyspace,
                ctx: impl FnOnce() -> PolicyCtx<'a>,
            ) {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.on_access(slot, ks, &mut ctx()))
            }

            /// [`Policy::on_miss`] with a lazily built context (see
            /// [`AnyPolicy::on_access_lazy`]).
            #[inline(always)]
            pub fn on_miss_lazy<'a>(&mut self, hash: u64, ctx: impl FnOnce() -> PolicyCtx<'a>) {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.on_miss(hash, &mut ctx()))
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
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.on_insert(slot, ks, &mut ctx(), kind))
            }

            /// [`Policy::select_victim`] with a lazily built context.
            #[inline(always)]
            pub fn select_victim_lazy<'a>(
                &mut self,
                ks: &Keyspace,
                ctx: impl FnOnce() -> PolicyCtx<'a>,
            ) -> Option<Slot> {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.select_victim(ks, &mut ctx()))
            }
        }

        impl Policy for AnyPolicy {
            #[inline]
            fn on_insert(&mut self, slot: Slot, ks: &Keyspace, ctx: &mut PolicyCtx<'_>, kind: InsertKind) {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.on_insert(slot, ks, ctx, kind))
            }
            #[inline]
            fn on_access(&mut self, slot: Slot, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.on_access(slot, ks, ctx))
            }
            #[inline(always)]
            fn prefetch_access(&self, slot: Slot, ks: &Keyspace) {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.prefetch_access(slot, ks))
            }
            #[inline]
            fn on_miss(&mut self, hash: u64, ctx: &mut PolicyCtx<'_>) {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.on_miss(hash, ctx))
            }
            #[inline]
            fn on_remove(&mut self, slot: Slot, ks: &Keyspace, cause: RemovalCause) {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.on_remove(slot, ks, cause))
            }
            #[inline]
            fn select_victim(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot> {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.select_victim(ks, ctx))
            }
            #[inline]
            fn admit(&mut self, hash: u64, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> bool {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.admit(hash, ks, ctx))
            }
            fn uses_admission(&self) -> bool {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.uses_admission())
            }
            #[inline]
            fn take_evicted(&mut self) -> Option<Slot> {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.take_evicted())
            }
            fn evicts_on_access(&self) -> bool {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.evicts_on_access())
            }
            fn observes_hits(&self) -> bool {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.observes_hits())
            }
            fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
                dispatch!(self, [$($(#[$attr])* $ty),*], p => p.check_invariants(ks))
            }
        }

        /// Each policy file's `REGISTRY`, in `policies!` order.
        const REGISTERED: &[&[registry::PolicyInfo]] = &[$( $(#[$attr])* $module::REGISTRY, )*];

        static ALL: [registry::PolicyInfo; registry::count(REGISTERED)] =
            registry::flatten(REGISTERED);

        /// Every policy, in `policies!` order (Redis's first, then research policies
        /// alphabetically, then the oracles): the one list tests, benches, the CLI and
        /// spec validation iterate.
        pub static POLICIES: &[registry::PolicyInfo] = &ALL;
    };
}

/// `impl Policy for $enum`, forwarding every hook to the variant's policy; each variant is
/// a one-field tuple variant holding a [`super::Policy`].
macro_rules! policy_variants {
    ($enum:ident { $($var:ident),+ $(,)? }) => {
        impl $crate::policy::Policy for $enum {
            #[inline]
            fn on_insert(
                &mut self,
                slot: $crate::keyspace::Slot,
                ks: &$crate::keyspace::Keyspace,
                ctx: &mut $crate::policy::PolicyCtx<'_>,
                kind: $crate::policy::InsertKind,
            ) {
                match self { $($enum::$var(p) => p.on_insert(slot, ks, ctx, kind),)+ }
            }
            #[inline]
            fn on_access(
                &mut self,
                slot: $crate::keyspace::Slot,
                ks: &$crate::keyspace::Keyspace,
                ctx: &mut $crate::policy::PolicyCtx<'_>,
            ) {
                match self { $($enum::$var(p) => p.on_access(slot, ks, ctx),)+ }
            }
            #[inline]
            fn prefetch_access(
                &self,
                slot: $crate::keyspace::Slot,
                ks: &$crate::keyspace::Keyspace,
            ) {
                match self { $($enum::$var(p) => p.prefetch_access(slot, ks),)+ }
            }
            #[inline]
            fn on_miss(&mut self, hash: u64, ctx: &mut $crate::policy::PolicyCtx<'_>) {
                match self { $($enum::$var(p) => p.on_miss(hash, ctx),)+ }
            }
            #[inline]
            fn on_remove(
                &mut self,
                slot: $crate::keyspace::Slot,
                ks: &$crate::keyspace::Keyspace,
                cause: $crate::policy::RemovalCause,
            ) {
                match self { $($enum::$var(p) => p.on_remove(slot, ks, cause),)+ }
            }
            #[inline]
            fn select_victim(
                &mut self,
                ks: &$crate::keyspace::Keyspace,
                ctx: &mut $crate::policy::PolicyCtx<'_>,
            ) -> Option<$crate::keyspace::Slot> {
                match self { $($enum::$var(p) => p.select_victim(ks, ctx),)+ }
            }
            #[inline]
            fn admit(
                &mut self,
                hash: u64,
                ks: &$crate::keyspace::Keyspace,
                ctx: &mut $crate::policy::PolicyCtx<'_>,
            ) -> bool {
                match self { $($enum::$var(p) => p.admit(hash, ks, ctx),)+ }
            }
            fn uses_admission(&self) -> bool {
                match self { $($enum::$var(p) => p.uses_admission(),)+ }
            }
            #[inline]
            fn take_evicted(&mut self) -> Option<$crate::keyspace::Slot> {
                match self { $($enum::$var(p) => p.take_evicted(),)+ }
            }
            fn evicts_on_access(&self) -> bool {
                match self { $($enum::$var(p) => p.evicts_on_access(),)+ }
            }
            fn observes_hits(&self) -> bool {
                match self { $($enum::$var(p) => p.observes_hits(),)+ }
            }
            fn check_invariants(&self, ks: &$crate::keyspace::Keyspace) -> Result<(), String> {
                match self { $($enum::$var(p) => p.check_invariants(ks),)+ }
            }
        }
    };
}
