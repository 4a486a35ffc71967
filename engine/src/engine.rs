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
    write_block: Option<ErrorReply>,
    propagate: Option<Vec<Command>>,
    observer: Option<Box<dyn MutationObserver>>,
    dirty: u64,
    limits_active: bool,
    admission: bool,
    /// The Redis 7.0 memory model (`lab-memory-mode redis` only).
    pub(crate) mem: Option<Box<crate::memory::RedisMemory>>,
    /// EchoVault's estimate (`lab-memory-mode echovault` only).
    ev_mem: Option<crate::memory::echovault::EchovaultMemory>,
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

impl Engine {
    /// An engine for `config`, its RNG seeded with `seed`. Fails if the policy or one of its
    /// parameters is unknown.
    pub fn new(config: Config, seed: u64) -> Result<Engine, ConfigError> {
        // The policy the name means under the server profile, which must hold as set.
        let info = crate::server::check(&config)?;
        let policy = info.instantiate(Capacity::from_config(&config), &config.policy_params)?;
        let admission = policy.uses_admission();
        let policy_evicts_on_access = policy.evicts_on_access();
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
    #[inline]
    pub fn used_memory(&self) -> u64 {
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

    // ----------------------------------------------------------------------------------
    // Time and cron
    // ----------------------------------------------------------------------------------

    /// Advances virtual time to `t_ms`, running every cron tick in between. Time never goes
    /// back; in system-clock mode this does nothing.
    #[inline]
    pub fn set_time_ms(&mut self, t_ms: u64) {
        if self.system_start.is_some() || t_ms <= self.now_ms {
            return;
        }
        self.advance_to(t_ms);
    }

    /// [`Engine::set_time_ms`] once it is known that virtual time moves forward.
    fn advance_to(&mut self, t_ms: u64) {
        // Bound the work of a huge jump (e.g. a gap of days in a trace): run at most this
        // many ticks; passive expiry still removes whatever the skipped ticks would have.
        const MAX_CATCH_UP_TICKS: u64 = 100_000;
        let period = self.cron_period_ms;
        let ticks = (t_ms.saturating_sub(self.next_cron_ms)) / period;
        if ticks > MAX_CATCH_UP_TICKS {
            self.next_cron_ms += (ticks - MAX_CATCH_UP_TICKS) * period;
            // The skipped ticks' EchoVault cycles are skipped too (else one tick would
            // catch up on all of them: unbounded work after a gap of years).
            self.expire.skip_echovault_to(self.next_cron_ms);
        }
        while !self.cron_exhausted && self.next_cron_ms <= t_ms {
            // Idle ticks (nothing in them can change the keyspace) run in closed form
            // (`crate::idle`), unless `lab-cron-stepping every-tick` asks for each one.
            let due = (t_ms - self.next_cron_ms) / period + 1;
            if due > 1 && !self.cfg.cron_every_tick && self.skip_idle_ticks(due) {
                continue;
            }
            self.now_ms = self.next_cron_ms;
            self.cron();
            self.schedule_next_cron(1);
        }
        self.now_ms = t_ms;
    }

    /// Moves the next cron tick `ticks` periods past the current one (the one at
    /// `next_cron_ms`); past `u64::MAX` there is no further tick.
    pub(crate) fn schedule_next_cron(&mut self, ticks: u64) {
        match ticks
            .checked_mul(self.cron_period_ms)
            .and_then(|d| self.next_cron_ms.checked_add(d))
        {
            Some(t) => self.next_cron_ms = t,
            None => self.cron_exhausted = true,
        }
    }

    /// Advances virtual time by `delta_ms` (saturating at `u64::MAX`).
    pub fn advance_ms(&mut self, delta_ms: u64) {
        self.set_time_ms(self.now_ms.saturating_add(delta_ms));
    }

    /// `serverCron`: refresh the LRU clock, run the active-expire SLOW cycle, track peak.
    /// `crate::idle` is its closed form over idle ticks: keep the two in step.
    fn cron(&mut self) {
        self.lru_clock = lru_clock(self.now_ms);
        self.active_expire_cron();
        if let Some(m) = &mut self.mem {
            m.cron();
        }
        self.update_peak();
    }

    #[inline]
    pub(crate) fn update_peak(&mut self) {
        let used = self.used_memory();
        if used > self.stats.used_memory_peak {
            self.stats.used_memory_peak = used;
        }
    }

    /// Everything that happens before a command runs: clock, cron, fast expire cycle,
    /// eviction under Redis enforcement. Returns the eviction result.
    #[inline(always)]
    pub(crate) fn begin_command(&mut self) -> EvictResult {
        self.stats.total_commands_processed += 1;
        // The common case of a replay (virtual time, no pending FAST expire cycle, strict
        // enforcement) decides in a few compares; everything else is out of line.
        let redis_evicts = self.limits_active && self.cfg.enforcement == Enforcement::Redis;
        if self.system_start.is_none()
            && !self.expire.fast_cycle_due(&self.cfg, self.now_ms)
            && !(redis_evicts || self.policy_evicts_on_access)
        {
            return EvictResult::Ok;
        }
        self.begin_command_slow()
    }

    /// [`Engine::begin_command`] when the clock, the expire cycle or eviction may need work.
    #[inline(never)]
    fn begin_command_slow(&mut self) -> EvictResult {
        if self.policy_evicts_on_access {
            // Keys the policy evicted while tracking the previous command's hits.
            while let Some(slot) = self.policy.take_evicted() {
                self.evict_slot(slot);
            }
        }
        if let Some((start, base)) = self.system_start {
            self.now_ms = base + start.elapsed().as_millis() as u64;
            if self.now_ms >= self.next_cron_ms {
                self.cron();
                self.next_cron_ms = self.now_ms.saturating_add(self.cron_period_ms);
            }
        }
        if self.expire.fast_cycle_due(&self.cfg, self.now_ms) {
            self.active_expire_fast();
        }
        if self.limits_active
            && self.cfg.enforcement == Enforcement::Redis
            && (self.evict_pending || self.over_limit(0, 0))
        {
            self.perform_evictions()
        } else {
            EvictResult::Ok
        }
    }

    /// Before a write: MISCONF, then OOM for DENYOOM commands when eviction failed.
    #[inline]
    pub(crate) fn check_write(
        &mut self,
        evict: EvictResult,
        denyoom: bool,
    ) -> Result<(), ErrorReply> {
        if let Some(e) = &self.write_block {
            self.stats.misconf_rejections += 1;
            return Err(e.clone());
        }
        if denyoom && evict == EvictResult::Fail {
            self.stats.rejected_writes += 1;
            return Err(ErrorReply::Oom);
        }
        // EchoVault's `setValues`: `noeviction` refuses a write at or above the limit.
        if denyoom
            && self.cfg.enforcement == Enforcement::Echovault
            && !self.info.evicts
            && self.limits_active
            && self.at_or_over_limit()
        {
            self.stats.rejected_writes += 1;
            return Err(ErrorReply::Oom);
        }
        Ok(())
    }

    // ----------------------------------------------------------------------------------
    // Memory limit
    // ----------------------------------------------------------------------------------

    /// Would memory be over a limit with `extra_bytes` and `extra_keys` more?
    #[inline]
    pub(crate) fn over_limit(&self, extra_bytes: u64, extra_keys: u64) -> bool {
        let c = &self.cfg;
        if c.maxkeys != 0 && self.ks.len() as u64 + extra_keys > c.maxkeys {
            return true;
        }
        if c.maxmemory == 0 {
            return false;
        }
        let used = match c.memory_mode {
            MemoryMode::Logical => self.logical_bytes + extra_bytes,
            MemoryMode::Keys => self.ks.len() as u64 + extra_keys,
            MemoryMode::Allocator | MemoryMode::Redis | MemoryMode::Echovault => {
                self.used_memory() + extra_bytes
            }
        };
        used > c.maxmemory
    }

    /// At or over a limit (EchoVault's test: `memUsed >= maxMemory`).
    #[inline]
    fn at_or_over_limit(&self) -> bool {
        let c = &self.cfg;
        (c.maxkeys != 0 && self.ks.len() as u64 >= c.maxkeys)
            || (c.maxmemory != 0 && self.used_memory() >= c.maxmemory)
    }

    /// EchoVault's eviction check after a write (`lab-enforcement echovault`; EchoVault
    /// `sugardb/keyspace.go` `adjustMemoryUsage` at b0744d9): while used memory is at or
    /// above the limit, evict the policy's victim (the key just written may be it); stop
    /// when the policy has none. Nothing to do under the other enforcements.
    #[inline]
    pub(crate) fn evict_after_write(&mut self) {
        if self.cfg.enforcement != Enforcement::Echovault || !self.limits_active {
            return;
        }
        while self.at_or_over_limit() {
            let Some(victim) = self.select_victim() else {
                return;
            };
            self.evict_slot(victim);
        }
    }

    /// Logical bytes charged for an entry.
    #[inline]
    pub(crate) fn charge_of(&self, key_len: usize, value_bytes: u64, has_expire: bool) -> u64 {
        let c = &self.cfg;
        (if c.count_key_bytes { key_len as u64 } else { 0 })
            + value_bytes
            + c.entry_overhead
            + if has_expire { c.expire_overhead } else { 0 }
    }

    /// Recomputes the charge of `slot` after its value or TTL changed.
    #[inline]
    pub(crate) fn recharge(&mut self, slot: Slot) {
        let e = self.ks.entry(slot);
        let new = self.charge_of(e.key.len(), e.value.bytes(), e.has_expire());
        let old = self.ks.charge(slot);
        self.logical_bytes = self.logical_bytes + new - old;
        self.ks.set_charge(slot, new);
        if let Some(m) = &mut self.mem {
            m.on_change(slot, self.ks.entry(slot));
        }
        if let Some(m) = &mut self.ev_mem {
            m.on_change(slot, self.ks.entry(slot));
        }
    }

    /// What the memory mode charges `slot` now (the redis model's bytes in redis mode).
    #[inline]
    pub(crate) fn mode_charge(&self, slot: Slot) -> u64 {
        match (&self.mem, &self.ev_mem) {
            (Some(m), _) => m.slot_bytes(slot),
            (None, Some(m)) => m.slot_bytes(slot),
            (None, None) => self.ks.charge(slot),
        }
    }

    /// Strict enforcement: evict until a write adding `extra_bytes`/`extra_keys` fits.
    /// `target` is the written key's slot, if it exists; returns it (or `None` if the
    /// policy evicted it) and whether the write now fits.
    pub(crate) fn make_room(
        &mut self,
        mut extra_bytes: u64,
        mut extra_keys: u64,
        mut target: Option<(Slot, u64)>,
        new_charge: u64,
    ) -> (Option<Slot>, bool) {
        while self.over_limit(extra_bytes, extra_keys) {
            self.incoming_charge = if extra_keys == 1 { new_charge } else { 0 };
            let victim = self.select_victim();
            self.incoming_charge = 0;
            let Some(victim) = victim else {
                return (target.map(|t| t.0), false);
            };
            if target.is_some_and(|(s, _)| s == victim) {
                // The policy chose the key being written: it goes, and the write becomes
                // an insert of the full new charge.
                target = None;
                extra_bytes = new_charge;
                extra_keys = 1;
            }
            self.evict_slot(victim);
        }
        (target.map(|t| t.0), true)
    }

    #[inline]
    fn select_victim(&mut self) -> Option<Slot> {
        if !self.info.evicts {
            return None;
        }
        let v = self.policy.select_victim_lazy(&self.ks, || ctx!(self));
        debug_assert!(
            v.is_none_or(|s| self.ks.is_live(s)),
            "policy chose a dead slot"
        );
        v
    }

    #[inline]
    pub(crate) fn evict_slot(&mut self, slot: Slot) {
        self.stats.evicted_keys += 1;
        self.delete_slot(slot, RemovalCause::Evicted);
    }

    /// Redis's `performEvictions()` (redis `src/evict.c`): evict while over the limit,
    /// checking the tenacity time budget every 16 keys. In virtual time the budget is a key
    /// count: `evictionTimeLimitUs() / lab-evict-key-cost-ns`.
    pub(crate) fn perform_evictions(&mut self) -> EvictResult {
        self.evict_pending = false;
        if !self.over_limit(0, 0) {
            return EvictResult::Ok;
        }
        if !self.info.evicts {
            return EvictResult::Fail;
        }
        let limit_us = self.cfg.eviction_time_limit_us();
        let started = Instant::now();
        let mut freed = 0u64;
        while self.over_limit(0, 0) {
            let Some(victim) = self.select_victim() else {
                return EvictResult::Fail;
            };
            self.evict_slot(victim);
            freed += 1;
            if freed.is_multiple_of(16) {
                let elapsed_us = if self.system_start.is_some() {
                    started.elapsed().as_micros() as u64
                } else {
                    freed * self.cfg.evict_key_cost_ns / 1000
                };
                if elapsed_us > limit_us && self.over_limit(0, 0) {
                    self.evict_pending = true;
                    self.stats.eviction_time_cap_reached_count += 1;
                    return EvictResult::Running;
                }
            }
        }
        EvictResult::Ok
    }

    // ----------------------------------------------------------------------------------
    // Keyspace primitives
    // ----------------------------------------------------------------------------------

    /// Removes `slot` for `cause`: observer, policy, accounting, propagation.
    pub(crate) fn delete_slot(&mut self, slot: Slot, cause: RemovalCause) {
        if let Some(o) = &mut self.observer {
            o.before_mutation(slot, self.ks.entry(slot));
        }
        self.policy.on_remove(slot, &self.ks, cause);
        let charge = self.ks.charge(slot);
        self.logical_bytes -= charge;
        if let Some(m) = &mut self.mem {
            m.on_remove(slot);
        }
        if let Some(m) = &mut self.ev_mem {
            m.on_remove(slot);
        }
        let (key, _value) = self.ks.remove(slot);
        if cause != RemovalCause::Deleted
            && let Some(p) = &mut self.propagate
        {
            p.push(Command::Del(vec![key]));
        }
        self.dirty += 1;
    }

    /// Notifies the observer that `slot` is about to change.
    #[inline]
    pub(crate) fn pre_mutate(&mut self, slot: Slot) {
        if let Some(o) = &mut self.observer {
            o.before_mutation(slot, self.ks.entry(slot));
        }
    }

    /// True if the entry's TTL has passed (`keyIsExpired`: now > when).
    #[inline]
    pub(crate) fn is_expired(&self, slot: Slot) -> bool {
        let at = self.ks.entry(slot).expire_at_ms;
        at != NO_EXPIRE && self.now_ms > at
    }

    /// Expires `slot` (passive or active).
    pub(crate) fn expire_slot(&mut self, slot: Slot) {
        self.stats.expired_keys += 1;
        self.delete_slot(slot, RemovalCause::Expired);
    }

    /// `lookupKey`: find, expire if needed, touch, count.
    #[inline]
    pub(crate) fn lookup(&mut self, key: &Key, hash: u64, how: Lookup) -> Option<Slot> {
        let found = self.ks.find(key, hash);
        self.lookup_found(found, || hash, how)
    }

    /// The rest of `lookupKey` once the index has answered: expire if needed, touch, count.
    /// `hash` ([`Key::hash64`]) is only computed on a read miss.
    #[inline(always)]
    fn lookup_found(
        &mut self,
        found: Option<Slot>,
        hash: impl FnOnce() -> u64,
        how: Lookup,
    ) -> Option<Slot> {
        if let Some(m) = &mut self.mem {
            m.on_lookup(found.is_some());
        }
        let found = match found {
            Some(slot) if self.is_expired(slot) => {
                self.expire_slot(slot);
                None
            }
            other => other,
        };
        match (found, how) {
            (Some(slot), Lookup::ReadNoTouch) => {
                self.stats.keyspace_hits += 1;
                Some(slot)
            }
            (Some(slot), _) => {
                if how == Lookup::Read {
                    self.stats.keyspace_hits += 1;
                }
                self.touch(slot);
                Some(slot)
            }
            (None, Lookup::Read) => {
                self.stats.keyspace_misses += 1;
                let hash = hash();
                self.pending_fill = Some(hash);
                self.policy.on_miss_lazy(hash, || ctx!(self));
                None
            }
            (None, Lookup::ReadNoTouch) => {
                self.stats.keyspace_misses += 1;
                None
            }
            (None, Lookup::Write) => None,
        }
    }

    /// Updates the LRU/LFU field (unless a fork child is alive) and tells the policy.
    #[inline(always)]
    fn touch(&mut self, slot: Slot) {
        if !self.child_alive {
            let lru = if self.info.lfu_field {
                let old = self.ks.entry(slot).lru;
                update_lfu(
                    old,
                    lfu_minutes(self.now_ms),
                    self.cfg.lfu_log_factor,
                    self.cfg.lfu_decay_time,
                    &mut self.rng,
                )
            } else {
                self.lru_clock
            };
            self.ks.entry_mut(slot).lru = lru;
        }
        self.policy.on_access_lazy(slot, &self.ks, || ctx!(self));
    }

    /// Stores a new key (absent): charge, policy, observer.
    pub(crate) fn insert_new(
        &mut self,
        key: Key,
        hash: u64,
        value: Value,
        expire_at_ms: u64,
    ) -> Slot {
        let charge = self.charge_of(key.len(), value.bytes(), expire_at_ms != NO_EXPIRE);
        let lru = if self.info.lfu_field {
            init_lfu(lfu_minutes(self.now_ms))
        } else {
            self.lru_clock
        };
        let slot = self.ks.insert(key, hash, value, lru, charge);
        if expire_at_ms != NO_EXPIRE {
            self.ks.set_expire(slot, expire_at_ms);
        }
        if let Some(m) = &mut self.mem {
            m.on_insert(slot, self.ks.entry(slot));
        }
        if let Some(m) = &mut self.ev_mem {
            m.on_insert(slot, self.ks.entry(slot));
        }
        self.logical_bytes += charge;
        let kind = if self.pending_fill.take() == Some(hash) {
            InsertKind::Fill
        } else {
            InsertKind::Write
        };
        self.policy
            .on_insert_lazy(slot, &self.ks, || ctx!(self), kind);
        if let Some(o) = &mut self.observer {
            o.after_insert(slot);
        }
        slot
    }

    /// Asks the policy whether to admit a new key.
    #[inline]
    pub(crate) fn admit(&mut self, hash: u64) -> bool {
        let mut ctx = ctx!(self);
        self.policy.admit(hash, &self.ks, &mut ctx)
    }

    #[inline]
    pub(crate) fn propagate(&mut self, cmd: impl FnOnce() -> Command) {
        if let Some(p) = &mut self.propagate {
            p.push(cmd());
        }
    }

    #[inline]
    pub(crate) fn add_dirty(&mut self, n: u64) {
        self.dirty += n;
    }

    #[inline]
    pub(crate) fn propagate_enabled(&self) -> bool {
        self.propagate.is_some()
    }

    #[inline]
    pub(crate) fn limits_active(&self) -> bool {
        self.limits_active
    }

    #[inline]
    pub(crate) fn strict(&self) -> bool {
        self.cfg.enforcement == Enforcement::Strict
    }

    /// Bookkeeping after any write.
    #[inline]
    pub(crate) fn after_write(&mut self) {
        self.update_peak();
    }

    // ----------------------------------------------------------------------------------
    // Fast paths (the runner's GET / SET / DEL)
    // ----------------------------------------------------------------------------------

    /// GET on the fast path: hit (payload size), miss, or wrong type.
    #[inline]
    pub fn get(&mut self, key: &Key) -> GetOutcome {
        self.begin_command();
        let hash = key.hash64();
        match self.lookup(key, hash, Lookup::Read) {
            None => GetOutcome::Miss,
            Some(slot) => match &self.ks.entry(slot).value {
                Value::Str(b) => GetOutcome::Hit(b.len()),
                _ => GetOutcome::WrongType,
            },
        }
    }

    /// Cache-aside on the fast path: `GET key`, and on a miss `SET key value [PX ttl_ms]`.
    /// Exactly the two commands (both counted, eviction before each under Redis
    /// enforcement), with one hash and one probe: the SET knows the key is absent, since
    /// nothing between the two commands can insert it.
    pub fn get_or_fill(&mut self, key: Key, value: Blob, ttl_ms: u64) -> FillOutcome {
        self.begin_command();
        let hash = key.hash64();
        match self.lookup(&key, hash, Lookup::Read) {
            Some(slot) => self.hit_outcome(slot),
            None => self.fill_missed(key, hash, value, ttl_ms),
        }
    }

    /// [`Engine::get_or_fill`] of the integer key `id` ([`Key::from_id`]) with a sized
    /// payload of `size` bytes ([`Blob::Sized`]), as a trace replay issues it: the same two
    /// commands with the same effects, but the hit path builds neither a key nor a value and
    /// compares keys by id.
    #[inline]
    pub fn get_or_fill_id(&mut self, id: u64, size: u64, ttl_ms: u64) -> FillOutcome {
        self.begin_command();
        let found = self.ks.find_id(id);
        match self.lookup_found(found, || mix64(id), Lookup::Read) {
            Some(slot) => self.hit_outcome(slot),
            None => self.fill_missed(Key::from_id(id), mix64(id), Blob::Sized(size), ttl_ms),
        }
    }

    #[inline]
    fn hit_outcome(&self, slot: Slot) -> FillOutcome {
        match &self.ks.entry(slot).value {
            Value::Str(b) => FillOutcome::Hit(b.len()),
            _ => FillOutcome::WrongType,
        }
    }

    /// The SET of a cache-aside fill after its GET missed (`key`, with `hash`, is absent).
    #[inline(never)]
    fn fill_missed(&mut self, key: Key, hash: u64, value: Blob, ttl_ms: u64) -> FillOutcome {
        let evict = self.begin_command();
        if let Err(e) = self.check_write(evict, true) {
            return FillOutcome::NotFilled(WriteOutcome::Rejected(e));
        }
        let expire_at = if ttl_ms > 0 {
            self.now_ms.saturating_add(ttl_ms)
        } else {
            NO_EXPIRE
        };
        let value = value.stored(self.cfg.storage);
        match self.store_string(key, hash, None, value, Some(expire_at)) {
            Ok(slot) => {
                if self.propagate.is_some() {
                    self.propagate_set(slot);
                }
                self.evict_after_write();
                FillOutcome::Filled
            }
            Err(o) => FillOutcome::NotFilled(o),
        }
    }

    /// SET with options on the fast path.
    pub fn set(&mut self, key: Key, value: Blob, options: SetOptions) -> WriteOutcome {
        let evict = self.begin_command();
        if let Err(e) = self.check_write(evict, true) {
            return WriteOutcome::Rejected(e);
        }
        let expire_at = match self.resolve_set_expiry(options.expiry) {
            Ok(x) => x,
            Err(e) => return WriteOutcome::Rejected(e),
        };
        let hash = key.hash64();
        let existing = self.lookup(&key, hash, Lookup::Write);
        match (options.condition, existing) {
            (SetCondition::Nx, Some(_)) | (SetCondition::Xx, None) => {
                return WriteOutcome::NotStored;
            }
            _ => {}
        }
        let value = value.stored(self.cfg.storage);
        match self.store_string(key, hash, existing, value, expire_at) {
            Ok(slot) => {
                if self.propagate.is_some() {
                    self.propagate_set(slot);
                }
                self.evict_after_write();
                WriteOutcome::Stored
            }
            Err(outcome) => outcome,
        }
    }

    /// `None` = keep TTL; `Some(NO_EXPIRE)` = no TTL; `Some(t)` = expire at t.
    pub(crate) fn resolve_set_expiry(&self, e: SetExpiry) -> Result<Option<u64>, ErrorReply> {
        let bad = ErrorReply::InvalidExpire("set");
        let abs = |ms: Option<i64>| -> Result<Option<u64>, ErrorReply> {
            match ms {
                Some(v) if v > 0 => Ok(Some(v as u64)),
                _ => Err(bad.clone()),
            }
        };
        match e {
            SetExpiry::None => Ok(Some(NO_EXPIRE)),
            SetExpiry::KeepTtl => Ok(None),
            SetExpiry::Ex(s) if s > 0 => abs(s
                .checked_mul(1000)
                .and_then(|ms| ms.checked_add(self.now_ms as i64))),
            SetExpiry::Px(ms) if ms > 0 => abs(ms.checked_add(self.now_ms as i64)),
            SetExpiry::PxAt(at) => abs(Some(at)),
            _ => Err(bad),
        }
    }

    /// Stores a string payload under `key` (existing slot or new), with strict make-room
    /// and admission. Returns the slot, or why nothing was stored.
    pub(crate) fn store_string(
        &mut self,
        key: Key,
        hash: u64,
        existing: Option<Slot>,
        value: Blob,
        expire_at: Option<u64>,
    ) -> Result<Slot, WriteOutcome> {
        let new_bytes = value.len();
        let will_expire = match (expire_at, existing) {
            (Some(t), _) => t != NO_EXPIRE,
            (None, Some(s)) => self.ks.entry(s).has_expire(),
            (None, None) => false,
        };
        let new_charge = match (&self.mem, &self.ev_mem) {
            (Some(m), _) => m.string_charge(key.len(), &value, will_expire),
            (None, Some(_)) => crate::memory::echovault::string_key_estimate(key.len(), &value),
            (None, None) => self.charge_of(key.len(), new_bytes, will_expire),
        };
        let mut existing = existing;
        if self.limits_active {
            let (extra_bytes, extra_keys) = match existing {
                Some(s) => (new_charge.saturating_sub(self.mode_charge(s)), 0),
                None => (new_charge, 1),
            };
            if self.over_limit(extra_bytes, extra_keys) {
                if self.admission && existing.is_none() && !self.admit(hash) {
                    self.stats.admission_bypasses += 1;
                    self.pending_fill = None;
                    return Err(WriteOutcome::Bypassed);
                }
                if self.cfg.enforcement == Enforcement::Strict {
                    let target = existing.map(|s| (s, self.mode_charge(s)));
                    let (t, fits) = self.make_room(extra_bytes, extra_keys, target, new_charge);
                    existing = t;
                    if !fits {
                        self.stats.rejected_writes += 1;
                        return Err(WriteOutcome::Rejected(ErrorReply::Oom));
                    }
                }
            }
        }
        let slot = match existing {
            Some(slot) => {
                self.pre_mutate(slot);
                self.ks.entry_mut(slot).value = Value::Str(value);
                if let Some(t) = expire_at {
                    self.ks.set_expire(slot, t);
                }
                self.recharge(slot);
                slot
            }
            None => self.insert_new(key, hash, Value::Str(value), expire_at.unwrap_or(NO_EXPIRE)),
        };
        self.dirty += 1;
        self.update_peak();
        Ok(slot)
    }

    /// Records the string in `slot` as `SET key value [PXAT t]` (Redis 7 propagates absolute
    /// expiry times).
    pub(crate) fn propagate_set(&mut self, slot: Slot) {
        let e = self.ks.entry(slot);
        let Value::Str(value) = &e.value else { return };
        let expiry = if e.has_expire() {
            SetExpiry::PxAt(e.expire_at_ms as i64)
        } else {
            SetExpiry::None
        };
        let cmd = Command::Set {
            key: e.key.clone(),
            value: value.clone(),
            options: SetOptions {
                expiry,
                condition: SetCondition::Always,
            },
        };
        self.propagate(|| cmd);
    }

    /// DEL of one key on the fast path; true if it existed.
    pub fn del(&mut self, key: &Key) -> bool {
        let evict = self.begin_command();
        if self.check_write(evict, false).is_err() {
            return false;
        }
        let hash = key.hash64();
        match self.lookup(key, hash, Lookup::Write) {
            Some(slot) => {
                self.delete_slot(slot, RemovalCause::Deleted);
                self.propagate(|| Command::Del(vec![key.clone()]));
                true
            }
            None => false,
        }
    }

    /// The entry for `key` without touching it or counting a lookup (for inspection and
    /// tests; expired-but-present keys are returned as they are).
    pub fn peek(&self, key: &Key) -> Option<&Entry> {
        self.ks.find(key, key.hash64()).map(|s| self.ks.entry(s))
    }

    /// Stores a key as loading a snapshot or AOF does: no eviction, no stats, no
    /// propagation; replaces any existing value. Returns false (and stores nothing) if the
    /// key's expiry is already in the past, as Redis skips such keys when loading.
    pub fn restore(&mut self, key: Key, value: Value, expire_at_ms: u64) -> bool {
        if expire_at_ms != NO_EXPIRE && expire_at_ms < self.now_ms {
            return false;
        }
        let hash = key.hash64();
        if let Some(slot) = self.ks.find(&key, hash) {
            self.delete_slot(slot, RemovalCause::Deleted);
        }
        self.insert_new(key, hash, value, expire_at_ms);
        self.update_peak();
        true
    }

    /// Removes every key (FLUSHALL).
    pub fn flush_all(&mut self) {
        let slots: Vec<Slot> = self.ks.slots().collect();
        for s in slots {
            self.delete_slot(s, RemovalCause::Deleted);
        }
    }

    /// Checks the keyspace, the accounting and the policy's bookkeeping.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.ks.check_invariants()?;
        let sum: u64 = self.ks.slots().map(|s| self.ks.charge(s)).sum();
        if sum != self.logical_bytes {
            return Err(format!(
                "logical bytes {} but entries sum to {sum}",
                self.logical_bytes
            ));
        }
        if let Some(m) = &self.ev_mem {
            let want: u64 = self
                .ks
                .iter()
                .map(|(_, e)| crate::memory::echovault::key_estimate(e.key.len(), &e.value))
                .sum();
            if m.used() != want {
                return Err(format!("echovault estimate {} but keys sum to {want}", m.used()));
            }
        }
        if let Some(m) = &self.mem {
            let sum: u64 = self.ks.slots().map(|s| m.slot_bytes(s)).sum();
            if sum != m.keys_bytes() {
                return Err(format!(
                    "redis model: keys charged {} but slots sum to {sum}",
                    m.keys_bytes()
                ));
            }
            if m.main_dict().used() != self.ks.len() as u64
                || m.expires_dict().used() != self.ks.volatile_len() as u64
            {
                return Err(format!(
                    "redis model dicts hold {}/{} keys, keyspace {}/{}",
                    m.main_dict().used(),
                    m.expires_dict().used(),
                    self.ks.len(),
                    self.ks.volatile_len()
                ));
            }
        }
        for (s, e) in self.ks.iter() {
            let want = self.charge_of(e.key.len(), e.value.bytes(), e.has_expire());
            if want != self.ks.charge(s) {
                return Err(format!(
                    "key {} charged {} not {want}",
                    e.key,
                    self.ks.charge(s)
                ));
            }
        }
        self.policy.check_invariants(&self.ks)
    }

    /// Random slot of a scope using the engine's RNG (for samplers outside the engine).
    pub fn random_slot(&mut self, scope: Scope) -> Option<Slot> {
        self.ks.random_uniform(&mut self.rng, scope)
    }

    /// One step of active defragmentation's keyspace scan (Redis ≥ 4 `src/defrag.c`:
    /// `activeDefragCycle` walks the keyspace with a cursor, and `activeDefragAlloc` moves
    /// an allocation — malloc a new block, copy, free the old one — when the allocator's
    /// hint says its page is sparse, so the allocator can give whole pages back).
    ///
    /// Visits slots `cursor..` (at most `max_slots` of them, live or not); for each
    /// materialized string payload asks `should_move(ptr)` with the address of its heap
    /// block and, if true, copies the payload into a fresh allocation and frees the old
    /// one. Keys, aggregates and sized payloads are not moved. No value, TTL, LRU field or
    /// statistic changes. Like Redis, it does nothing while a fork child is alive
    /// ("Defragging memory while there's a fork will just do damage").
    pub fn defrag_scan(
        &mut self,
        cursor: usize,
        max_slots: usize,
        mut should_move: impl FnMut(*const u8) -> bool,
    ) -> DefragStep {
        let mut step = DefragStep {
            next: Some(cursor),
            ..DefragStep::default()
        };
        if self.child_alive {
            return step;
        }
        let end = cursor
            .saturating_add(max_slots)
            .min(self.ks.slot_capacity());
        for slot in cursor..end {
            let slot = slot as Slot;
            if !self.ks.is_live(slot) {
                continue;
            }
            step.scanned += 1;
            if let Value::Str(Blob::Bytes(b)) = &mut self.ks.entry_mut(slot).value
                && !b.is_empty()
            {
                if should_move(b.as_ptr()) {
                    let moved: crate::value::Bytes = b.as_slice().into();
                    *b = moved;
                    step.hits += 1;
                } else {
                    step.misses += 1;
                }
            }
        }
        step.next = (end < self.ks.slot_capacity()).then_some(end);
        step
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
