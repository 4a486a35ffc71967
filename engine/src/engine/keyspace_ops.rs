//! Keyspace primitives shared by the fast paths and the commands: delete, expire, lookup with
//! passive expiry and the policy touch, insert, admission, propagation.

use super::*;

impl Engine {
    // ----------------------------------------------------------------------------------
    // Keyspace primitives
    // ----------------------------------------------------------------------------------

    /// Removes `slot` for `cause`: observer, policy, accounting, propagation.
    #[inline]
    pub(crate) fn delete_slot(&mut self, slot: Slot, cause: RemovalCause) {
        if let Some(o) = &mut self.observer {
            o.before_mutation(slot, self.ks.entry(slot));
        }
        self.policy.on_remove(slot, &self.ks, cause);
        // The charge is a function of the entry (`check_invariants` verifies it): computing
        // it from the entry, which the removal reads anyway, spares a cold read of the
        // keyspace's side table on every eviction.
        let e = self.ks.entry(slot);
        let charge = self.charge_of(&e.key, e.value.bytes(), e.has_expire());
        debug_assert_eq!(
            charge,
            self.ks.charge(slot),
            "slot {slot} charge out of step"
        );
        self.logical_bytes -= charge;
        if let Some(m) = &mut self.mem {
            m.on_remove(slot);
        }
        if let Some(m) = &mut self.ev_mem {
            m.on_remove(slot);
        }
        let (key, value) = self.ks.remove(slot);
        value.discard();
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
    pub(super) fn lookup_found(
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
        if self.policy_observes_hits {
            self.policy.on_access_lazy(slot, &self.ks, || ctx!(self));
        }
    }

    /// Stores a new key (absent): charge, policy, observer.
    #[inline]
    pub(crate) fn insert_new(
        &mut self,
        key: Key,
        hash: u64,
        value: Value,
        expire_at_ms: u64,
    ) -> Slot {
        let charge = self.charge_of(&key, value.bytes(), expire_at_ms != NO_EXPIRE);
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
}
