//! The memory limit: the charge of a key in each memory mode, the over-limit test, victim
//! selection through the policy and `performEvictions` (Redis's `evict.c`).

use super::*;

impl Engine {
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
        if self.cfg.enforcement != Enforcement::Echovault || !self.limits_active() {
            return;
        }
        while self.at_or_over_limit() {
            let Some(victim) = self.select_victim() else {
                return;
            };
            self.evict_slot(victim);
        }
    }

    /// EchoVault's `setValues`: under `noeviction` a write at or above the limit is refused.
    #[inline]
    pub(crate) fn echovault_refuses_write(&self) -> bool {
        self.cfg.enforcement == Enforcement::Echovault
            && !self.info.evicts
            && self.limits_active()
            && self.at_or_over_limit()
    }

    /// Logical bytes charged for an entry.
    #[inline]
    pub(crate) fn charge_of(&self, key: &Key, value_bytes: u64, has_expire: bool) -> u64 {
        let c = &self.cfg;
        // The key's length (decimal digits of an integer key) only when it counts.
        (if c.count_key_bytes {
            key.len() as u64
        } else {
            0
        }) + value_bytes
            + c.entry_overhead
            + if has_expire { c.expire_overhead } else { 0 }
    }

    /// Recomputes the charge of `slot` after its value or TTL changed.
    #[inline]
    pub(crate) fn recharge(&mut self, slot: Slot) {
        let e = self.ks.entry(slot);
        let new = self.charge_of(&e.key, e.value.bytes(), e.has_expire());
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
    #[inline]
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
}
