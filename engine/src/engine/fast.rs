//! The fast paths the runners drive (GET, get-or-fill, SET, DEL), restore/flush, invariant
//! checks, random sampling and the defrag scan.

use super::*;

impl Engine {
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
    #[inline(always)]
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
        // The insert at the end writes this key's dict-model bucket: start loading it now,
        // so the miss overlaps the eviction (a hint).
        self.ks.prefetch_insert(hash);
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
    #[inline]
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
            (None, None) => self.charge_of(&key, new_bytes, will_expire),
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
                return Err(format!(
                    "echovault estimate {} but keys sum to {want}",
                    m.used()
                ));
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
            let want = self.charge_of(&e.key, e.value.bytes(), e.has_expire());
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
