//! Time: virtual and system clocks, the cron tick, and the per-command prologue (clock refresh,
//! `performEvictions` before every command, write checks).

use super::*;

/// ⌈2⁶⁴ / `d`⌉ for 2 ≤ `d` < 2³², else 0 (no multiply form: [`Engine::div_period`] divides).
pub(crate) fn period_magic(d: u64) -> u64 {
    if (2..=u32::MAX as u64).contains(&d) {
        // ⌈2⁶⁴ / d⌉ = ⌊(2⁶⁴ − 1) / d⌋ + 1 for every d ≥ 2.
        u64::MAX / d + 1
    } else {
        0
    }
}

/// Bound on the work of a huge jump (e.g. a gap of days in a trace): at most this many ticks
/// run; passive expiry still removes whatever the skipped ticks would have.
const MAX_CATCH_UP_TICKS: u64 = 100_000;

impl Engine {
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
    ///
    /// The common cases of a timestamped replay are decided here without a loop: no tick
    /// due, or every due tick idle (one closed-form skip, `crate::idle`); anything else —
    /// ticks to step, a gap past the catch-up bound, `lab-cron-stepping every-tick` — goes
    /// to [`Engine::run_due_ticks`], which starts from the same state (a refused skip
    /// changes nothing).
    #[inline]
    fn advance_to(&mut self, t_ms: u64) {
        if t_ms < self.next_cron_ms {
            self.now_ms = t_ms;
            return;
        }
        if !self.cron_exhausted && !self.cfg.cron_every_tick {
            let ticks = self.div_period(t_ms - self.next_cron_ms);
            if (1..=MAX_CATCH_UP_TICKS).contains(&ticks) && self.skip_idle_ticks(ticks + 1) {
                // The skip moved `next_cron_ms` past `t_ms` (or exhausted the clock).
                self.now_ms = t_ms;
                return;
            }
        }
        self.run_due_ticks(t_ms);
    }

    /// `n / cron_period_ms`, for the idle check of every timestamped request: a multiply
    /// when `n` fits in 32 bits, else a division. With c = ⌈2⁶⁴ / d⌉, n / d = (c·n) >> 64 for
    /// every 32-bit n and d (Lemire, Kaser & Kurz, "Faster remainder by direct computation",
    /// 2019, theorem 1 with F = 64, N = 32).
    #[inline(always)]
    pub(crate) fn div_period(&self, n: u64) -> u64 {
        if n <= u32::MAX as u64 && self.cron_period_magic != 0 {
            ((self.cron_period_magic as u128 * n as u128) >> 64) as u64
        } else {
            n / self.cron_period_ms
        }
    }

    /// Runs every cron tick due by `t_ms` (idle stretches in closed form, unless
    /// `lab-cron-stepping every-tick`), then sets the clock to `t_ms`.
    #[inline(never)]
    fn run_due_ticks(&mut self, t_ms: u64) {
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
        if denyoom && (evict == EvictResult::Fail || self.echovault_refuses_write()) {
            self.stats.rejected_writes += 1;
            return Err(ErrorReply::Oom);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::period_magic;

    /// The multiply form equals the division for every period the engine can have
    /// (`1000 / hz`) and more, at 32-bit numerators that stress the rounding.
    #[test]
    fn the_period_multiply_equals_the_division() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for d in (1..=2_000u64).chain([65_535, 65_536, 1 << 31, u32::MAX as u64]) {
            let c = period_magic(d);
            assert_eq!(c == 0, d < 2);
            if c == 0 {
                continue;
            }
            let mut ns: Vec<u64> =
                vec![0, 1, d - 1, d, d + 1, u32::MAX as u64, u32::MAX as u64 - 1];
            ns.extend((1..=64u64).map(|k| {
                (u32::MAX as u64 / d)
                    .saturating_mul(d)
                    .saturating_sub(k % 3)
                    / k
                    * k
            }));
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ns.push(x & u32::MAX as u64);
                ns.push((x & 0xFFFF) * d + d - 1);
            }
            for n in ns.into_iter().filter(|&n| n <= u32::MAX as u64) {
                assert_eq!(((c as u128 * n as u128) >> 64) as u64, n / d, "{n} / {d}");
            }
        }
    }
}
