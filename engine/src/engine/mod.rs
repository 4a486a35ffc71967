//! The engine: the one place a command executes.
//!
//! For every command: refresh the clock (system mode) → under `lab-enforcement redis`, run
//! `performEvictions` while over the limit (before *every* command, as Redis's
//! `processCommand` does; only `DENYOOM` commands are refused when it fails) → look the key
//! up (passive expiry, LRU/LFU touch) → under `strict`, make room for the write → apply →
//! account memory → count stats. Policies only answer hooks ([`crate::policy`]).
//!
//! Time: in virtual mode the caller advances time with [`Engine::set_time_ms`], which runs
//! every cron tick (`1000 / hz` ms) in between: the LRU clock refresh and the active-expire
//! cycle. In system mode the clock is read per command and the cron runs when due.

use std::time::Instant;

use rand::SeedableRng;

use crate::command::{ErrorReply, SetCondition, SetExpiry, SetOptions};
use crate::config::{
    ActiveExpire, ClockKind, Config, ConfigError, Enforcement, MemoryMode, Sampling,
};
use crate::expire::ExpireState;
use crate::key::{Key, mix64};
use crate::keyspace::{Entry, Keyspace, NO_EXPIRE, Scope, Slot};
use crate::lru::{init_lfu, lfu_minutes, lru_clock, update_lfu};
use crate::policy::registry::{self, PolicyInfo};
use crate::policy::sizing::Capacity;
use crate::policy::{AnyPolicy, EngineRng, InsertKind, NEVER, Policy, PolicyCtx, RemovalCause};
use crate::stats::Stats;
use crate::value::{Blob, Value};
use crate::{Command, Reply};

/// Something that must see an entry before it changes (forkless snapshots:
/// serialize-before-mutate).
pub trait MutationObserver: Send {
    /// `entry` (in `slot`) is about to be modified, get a new TTL, or be removed.
    fn before_mutation(&mut self, slot: Slot, entry: &Entry);
    /// A new key was stored in `slot` (it did not exist when the observer started).
    fn after_insert(&mut self, slot: Slot);
}

/// The result of a GET on the fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetOutcome {
    /// Found; the payload's size in bytes.
    Hit(u64),
    /// Not found (or expired).
    Miss,
    /// The key holds a non-string value.
    WrongType,
}

/// The result of [`Engine::get_or_fill`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FillOutcome {
    /// The GET hit; the payload's size.
    Hit(u64),
    /// The GET missed and the object was stored.
    Filled,
    /// The GET missed and the fill was not stored (admission declined, OOM, MISCONF).
    NotFilled(WriteOutcome),
    /// The key holds a non-string value.
    WrongType,
}

/// What one [`Engine::defrag_scan`] step did (Redis's INFO `active_defrag_hits` /
/// `active_defrag_misses`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStep {
    /// Where the next step starts; `None` when the scan has covered the keyspace.
    pub next: Option<usize>,
    /// Live keys visited.
    pub scanned: u64,
    /// Payloads moved to a new allocation.
    pub hits: u64,
    /// Payloads examined and left where they are.
    pub misses: u64,
}

/// The result of a write on the fast path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stored.
    Stored,
    /// Not stored because of an NX/XX condition.
    NotStored,
    /// Not stored: the policy declined to admit the new key.
    Bypassed,
    /// Refused with an error (OOM, MISCONF, invalid expire time).
    Rejected(ErrorReply),
}

/// Outcome of `performEvictions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EvictResult {
    /// Under the limit (or nothing to do).
    Ok,
    /// Still over the limit; the time budget ran out and eviction continues at the next
    /// command (Redis's `evictionTimeProc`).
    Running,
    /// Over the limit and nothing can be evicted.
    Fail,
}

/// Read/write flavour of a key lookup (Redis's `lookupKey` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// `lookupKeyRead`: counts hits/misses, touches the key.
    Read,
    /// `LOOKUP_NOTOUCH` (EXISTS, TTL): counts hits/misses, does not touch.
    ReadNoTouch,
    /// `lookupKeyWrite`: no hit/miss stats, touches the key.
    Write,
}

/// A memory-limited key-value store with Redis's eviction and expiry behaviour.
pub struct Engine {
    pub(crate) cfg: Config,
    pub(crate) ks: Keyspace,
    pub(crate) policy: AnyPolicy,
    pub(crate) info: &'static PolicyInfo,
    pub(crate) rng: EngineRng,
    pub(crate) now_ms: u64,
    system_start: Option<(Instant, u64)>,
    pub(crate) lru_clock: u32,
    pub(crate) next_cron_ms: u64,
    pub(crate) cron_period_ms: u64,
    /// ⌈2⁶⁴ / `cron_period_ms`⌉ for a period of at least 2 (else 0): [`Engine::div_period`].
    pub(crate) cron_period_magic: u64,
    /// The next tick would be past `u64::MAX`: virtual time has no further cron tick.
    cron_exhausted: bool,
    /// Cron ticks run in closed form so far (`crate::idle`; for tests and benches).
    pub(crate) idle_ticks_skipped: u64,
    pub(crate) stats: Stats,
    pub(crate) logical_bytes: u64,
    alloc_probe: Option<fn() -> u64>,
    child_alive: bool,
    request_index: u64,
    next_access: u64,
    incoming_charge: u64,
    pending_fill: Option<u64>,
    pub(crate) expire: ExpireState,
    evict_pending: bool,
    /// The policy may evict keys on a hit ([`Policy::take_evicted`]).
    policy_evicts_on_access: bool,
    /// [`Policy::observes_hits`]: false skips [`Policy::on_access`] on a hit.
    pub(crate) policy_observes_hits: bool,
    write_block: Option<ErrorReply>,
    propagate: Option<Vec<Command>>,
    observer: Option<Box<dyn MutationObserver>>,
    dirty: u64,
    limits_active: bool,
    admission: bool,
    /// The Redis 7.0 memory model (`lab-memory-mode redis` only).
    pub(crate) mem: Option<Box<crate::memory::RedisMemory>>,
    /// EchoVault's estimate (`lab-memory-mode echovault` only).
    pub(crate) ev_mem: Option<crate::memory::echovault::EchovaultMemory>,
}

/// Builds a [`PolicyCtx`] from the engine's disjoint fields (so the policy, the keyspace
/// and the context can be borrowed at once).
macro_rules! ctx {
    ($e:ident) => {
        PolicyCtx {
            rng: &mut $e.rng,
            config: &$e.cfg,
            now_ms: $e.now_ms,
            lru_clock: $e.lru_clock,
            request_index: $e.request_index,
            next_access: $e.next_access,
            incoming_charge: $e.incoming_charge,
        }
    };
}

mod fast;
mod keyspace_ops;
mod limit;
mod lookahead;
mod time;

pub use lookahead::{FAR, Lookahead, MIN_TABLE_BYTES, NEAR};

impl Engine {
    /// An engine for `config`, its RNG seeded with `seed`. Fails if the policy or one of its
    /// parameters is unknown.
    pub fn new(config: Config, seed: u64) -> Result<Engine, ConfigError> {
        // The policy the name means under the server profile, which must hold as set.
        let info = crate::server::check(&config)?;
        let policy = info.instantiate(Capacity::from_config(&config), &config.policy_params)?;
        let admission = policy.uses_admission();
        let policy_evicts_on_access = policy.evicts_on_access();
        let policy_observes_hits = policy.observes_hits();
        // Mirror Redis's dicts only where something samples them: the main dict for the
        // allkeys-* sampled/random policies, the expires dict for volatile-* and for the
        // redis/redis5 active-expire cycles.
        let dict = config.sampling == Sampling::Dict;
        let redis_evicting = info.family == registry::Family::Redis && info.evicts;
        let main_dict = dict && redis_evicting && !info.volatile_only;
        let expires_dict = dict
            && ((redis_evicting && info.volatile_only)
                || matches!(
                    config.active_expire,
                    ActiveExpire::Redis | ActiveExpire::Redis5
                ));
        // The dense index of all keys: for allkeys-* sampling without the dict model.
        // (EchoVault's allkeys-random draws uniformly whatever the sampling.)
        let uniform_all = (!dict && redis_evicting && !info.volatile_only)
            || (info.family == registry::Family::Echovault && !info.volatile_only);
        let system_start = match config.clock {
            ClockKind::Virtual => None,
            ClockKind::System => Some((Instant::now(), unix_ms())),
        };
        let now_ms = system_start.map_or(0, |(_, base)| base);
        let cron_period_ms = (1000 / config.hz.max(1)) as u64;
        let limits_active = config.maxmemory != 0 || config.maxkeys != 0;
        let mem = (config.memory_mode == MemoryMode::Redis).then(|| {
            Box::new(crate::memory::RedisMemory::new(
                config.jemalloc_quantum,
                config.encoding_thresholds,
                config.base_memory,
                config.maxmemory,
                &config.maxmemory_policy,
            ))
        });
        let ev_mem = (config.memory_mode == MemoryMode::Echovault)
            .then(crate::memory::echovault::EchovaultMemory::default);
        Ok(Engine {
            mem,
            ev_mem,
            ks: Keyspace::new(main_dict, expires_dict, uniform_all),
            policy,
            info,
            rng: EngineRng::seed_from_u64(seed),
            now_ms,
            system_start,
            lru_clock: lru_clock(now_ms),
            next_cron_ms: now_ms.saturating_add(cron_period_ms),
            cron_period_ms,
            cron_period_magic: time::period_magic(cron_period_ms),
            cron_exhausted: false,
            idle_ticks_skipped: 0,
            stats: Stats::default(),
            logical_bytes: 0,
            alloc_probe: None,
            child_alive: false,
            request_index: 0,
            next_access: NEVER,
            incoming_charge: 0,
            pending_fill: None,
            expire: ExpireState::new(now_ms),
            evict_pending: false,
            write_block: None,
            propagate: None,
            observer: None,
            dirty: 0,
            limits_active,
            admission,
            policy_evicts_on_access,
            policy_observes_hits,
            cfg: config,
        })
    }

    // ----------------------------------------------------------------------------------
    // Accessors
    // ----------------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// The registered policy in use.
    pub fn policy_info(&self) -> &'static PolicyInfo {
        self.info
    }
    /// The statistics so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// The keyspace (read-only).
    pub fn keyspace(&self) -> &Keyspace {
        &self.ks
    }
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.ks.len()
    }
    /// True when there is no key.
    pub fn is_empty(&self) -> bool {
        self.ks.is_empty()
    }
    /// Number of keys with a TTL.
    pub fn expires(&self) -> usize {
        self.ks.volatile_len()
    }
    /// Current time, ms (virtual, or unix time in system mode).
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
    /// Σ key + value + overhead bytes, whatever the memory mode.
    pub fn logical_bytes(&self) -> u64 {
        self.logical_bytes
    }
    /// Redis's `server.dirty`: the number of changes since the engine started (monotonic).
    pub fn dirty(&self) -> u64 {
        self.dirty
    }

    /// `used_memory` as the configured memory mode counts it (what `maxmemory` limits).
    /// The counting modes are inline; the modelled ones and the allocator probe (an
    /// indirect call) are out of line, so that callers on a hot path (the peak update of
    /// every write and idle tick) stay small.
    #[inline]
    pub fn used_memory(&self) -> u64 {
        match self.cfg.memory_mode {
            MemoryMode::Logical => self.logical_bytes,
            MemoryMode::Keys => self.ks.len() as u64,
            _ => self.used_memory_modelled(),
        }
    }

    /// [`Engine::used_memory`] of the modes that are not a plain count.
    #[inline(never)]
    fn used_memory_modelled(&self) -> u64 {
        match self.cfg.memory_mode {
            MemoryMode::Logical => self.logical_bytes,
            MemoryMode::Keys => self.ks.len() as u64,
            MemoryMode::Allocator => self.alloc_probe.map_or(self.logical_bytes, |p| p()),
            MemoryMode::Redis => self.mem.as_ref().map_or(0, |m| m.used()),
            MemoryMode::Echovault => self.ev_mem.as_ref().map_or(0, |m| m.used()),
        }
    }

    /// The Redis 7.0 memory model, in `lab-memory-mode redis`.
    pub fn redis_memory(&self) -> Option<&crate::memory::RedisMemory> {
        self.mem.as_deref()
    }

    // ----------------------------------------------------------------------------------
    // Hooks for runners and the persistence layer
    // ----------------------------------------------------------------------------------

    /// `CONFIG SET maxmemory`: changes the limit at run time; the next command evicts down
    /// to it under `lab-enforcement redis` (redis `src/config.c` applies a lower limit by
    /// calling `performEvictions()` right away; here it happens before the next command).
    pub fn set_maxmemory(&mut self, bytes: u64) {
        self.cfg.maxmemory = bytes;
        if let Some(m) = &mut self.mem {
            m.set_maxmemory(bytes);
        }
        self.limits_active = self.cfg.maxmemory != 0 || self.cfg.maxkeys != 0;
    }

    /// Installs the live-heap-bytes probe used by `lab-memory-mode allocator`.
    pub fn set_allocator_probe(&mut self, probe: fn() -> u64) {
        self.alloc_probe = Some(probe);
    }

    /// Sets the oracle for the next command: the index of the current request and of the
    /// next request to the same key ([`NEVER`] if none). Belady's policies need it.
    #[inline]
    pub fn set_oracle(&mut self, request_index: u64, next_access: u64) {
        self.request_index = request_index;
        self.next_access = next_access;
    }

    /// Tells the engine whether a fork child is alive: Redis then stops touching the
    /// LRU/LFU field and avoids dict resizes (to avoid copy-on-write).
    pub fn set_child_alive(&mut self, alive: bool) {
        self.child_alive = alive;
        self.ks.set_avoid_resize(alive);
        if let Some(m) = &mut self.mem {
            m.set_can_resize(!alive);
        }
    }

    /// Refuse writes with this error (MISCONF after a failed save), or accept them again.
    pub fn set_write_block(&mut self, block: Option<ErrorReply>) {
        self.write_block = block;
    }

    /// Starts or stops recording every executed write, and the DELs of evicted and expired
    /// keys, for an append-only file (Redis's command propagation).
    pub fn set_propagation(&mut self, on: bool) {
        self.propagate = on.then(Vec::new);
    }

    /// Moves the recorded commands into `out`.
    pub fn drain_propagated(&mut self, out: &mut Vec<Command>) {
        if let Some(p) = &mut self.propagate {
            out.append(p);
        }
    }

    /// Installs (or removes) the mutation observer.
    pub fn set_observer(&mut self, observer: Option<Box<dyn MutationObserver>>) {
        self.observer = observer;
    }

    /// Takes the mutation observer back.
    pub fn take_observer(&mut self) -> Option<Box<dyn MutationObserver>> {
        self.observer.take()
    }

    /// Mutable access to the observer (to drive it between commands).
    pub fn observer_mut(&mut self) -> Option<&mut (dyn MutationObserver + 'static)> {
        self.observer.as_deref_mut()
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Executes a parsed command.
impl Engine {
    /// Executes `cmd` and returns Redis's reply.
    pub fn execute(&mut self, cmd: Command) -> Reply {
        crate::commands::execute(self, cmd)
    }
}
