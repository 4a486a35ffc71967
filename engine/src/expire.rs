//! Active expiry: the cron's cycle that deletes keys whose TTL passed without anyone
//! reading them. Three presets of one mechanism (`lab-active-expire`):
//!
//! * **`redis`** — Redis ≥ 6.0 `activeExpireCycle` (redis `src/expire.c`): per loop, scan the
//!   expires table from a persistent cursor until `keys_per_loop` keys are sampled or
//!   `keys_per_loop × 20` buckets checked; delete the expired ones; repeat while more than
//!   `acceptable_stale` % of the sample had expired (or nothing was sampled); check the time
//!   budget every 16 loops. Effort `e = active-expire-effort − 1` scales
//!   `keys_per_loop = 20 + 5e`, `acceptable_stale = 10 − e`, `slow_time_perc = 25 + 2e`,
//!   `fast_duration = 1000 + 250e` µs. SLOW cycles run from every cron tick with a budget of
//!   `slow_time_perc % × (1 s / hz)`. FAST cycles run before commands, at most every
//!   `2 × fast_duration`, and — reproducing Redis's bug (redis/redis#15410: a 0..1 fraction
//!   compared with a 1..10 percentage) — only after a SLOW cycle ran out of time.
//! * **`redis5`** — Redis ≤ 5.0: 20 random volatile keys per loop (`dictGetRandomKey`),
//!   repeat while more than 5 (25 %) of them expired, same time budget.
//! * **`echovault`** — EchoVault/SugarDB's documented cycle: every 100 ms sample 20 random
//!   volatile keys, delete the expired ones, and start again at once if ≥ 20 % were expired.
//!   (The code of that project deletes every sampled key and uses integer division; we follow
//!   its documentation, as the reference notes advise.)
//!
//! **Virtual time.** A cycle cannot measure CPU time in a simulation, so its time budget is
//! converted into a key budget: elapsed = sampled keys × `lab-expire-key-cost-ns` + checked
//! empty buckets × cost/20 (an empty bucket is a pointer compare in a cache line). At the
//! defaults (hz 10, effort 1, 1 µs per key) a SLOW cycle may examine 25 000 keys. In
//! system-clock mode the real elapsed time is used, as Redis does.
//!
//! Without the dict model (`lab-sampling uniform`) the `redis` cursor walks the dense
//! volatile index instead of hash buckets; random draws are uniform.

use std::time::Instant;

use crate::config::{ActiveExpire, Config};
use crate::engine::Engine;
use crate::keyspace::{Scope, Slot};

/// Redis `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`.
pub const KEYS_PER_LOOP: u64 = 20;
/// Redis `ACTIVE_EXPIRE_CYCLE_FAST_DURATION` (µs).
pub const FAST_DURATION_US: u64 = 1000;
/// Redis `ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`.
pub const SLOW_TIME_PERC: u64 = 25;
/// Redis `ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`.
pub const ACCEPTABLE_STALE: u64 = 10;
/// Redis ≤ 5.0 `ACTIVE_EXPIRE_CYCLE_LOOKUPS_PER_LOOP`.
pub const REDIS5_LOOKUPS_PER_LOOP: u64 = 20;
/// EchoVault `--eviction-interval` default (ms) and `--eviction-sample` default.
pub const ECHOVAULT_INTERVAL_MS: u64 = 100;
/// EchoVault `--eviction-sample` default.
pub const ECHOVAULT_SAMPLE: u64 = 20;

/// Effort-scaled parameters (redis `src/expire.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpireParams {
    /// Keys sampled per loop.
    pub keys_per_loop: u64,
    /// FAST cycle duration, µs.
    pub fast_duration_us: u64,
    /// SLOW cycle CPU share, %.
    pub slow_time_perc: u64,
    /// Acceptable stale keys, %.
    pub acceptable_stale: u64,
}

impl ExpireParams {
    /// The parameters for `active-expire-effort`.
    pub fn for_effort(effort: u32) -> ExpireParams {
        let e = effort.clamp(1, 10) as u64 - 1;
        ExpireParams {
            keys_per_loop: KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * e,
            fast_duration_us: FAST_DURATION_US + FAST_DURATION_US / 4 * e,
            slow_time_perc: SLOW_TIME_PERC + 2 * e,
            acceptable_stale: ACCEPTABLE_STALE - e,
        }
    }
}

/// The cycle's state across calls (Redis keeps these in statics and `db->expires_cursor`).
#[derive(Clone, Debug)]
pub(crate) struct ExpireState {
    cursor: u64,
    timelimit_exit: bool,
    last_fast_cycle_ms: Option<u64>,
    echovault_next_ms: u64,
    scratch: Vec<Slot>,
}

impl ExpireState {
    pub(crate) fn new(now_ms: u64) -> ExpireState {
        ExpireState {
            cursor: 0,
            timelimit_exit: false,
            last_fast_cycle_ms: None,
            echovault_next_ms: now_ms.saturating_add(ECHOVAULT_INTERVAL_MS),
            scratch: Vec::new(),
        }
    }

    /// Drops the EchoVault cycles due before `t_ms` but one (the cron skipped those ticks).
    pub(crate) fn skip_echovault_to(&mut self, t_ms: u64) {
        self.echovault_next_ms = self.echovault_next_ms.max(t_ms);
    }

    /// Should a FAST cycle run before this command?
    #[inline]
    pub(crate) fn fast_cycle_due(&self, cfg: &Config, now_ms: u64) -> bool {
        self.timelimit_exit
            && cfg.active_expire == ActiveExpire::Redis
            && self.last_fast_cycle_ms.is_none_or(|t| {
                let p = ExpireParams::for_effort(cfg.active_expire_effort);
                // In µs, without overflow at timestamps near u64::MAX ms.
                now_ms as u128 * 1000 >= t as u128 * 1000 + 2 * p.fast_duration_us as u128
            })
    }
}

/// Elapsed-time accounting for one cycle.
struct Budget {
    started: Instant,
    system: bool,
    limit_us: u64,
    key_cost_ns: u64,
    sampled: u64,
    buckets: u64,
}

impl Budget {
    fn elapsed_us(&self) -> u64 {
        if self.system {
            self.started.elapsed().as_micros() as u64
        } else {
            (self.sampled * self.key_cost_ns + self.buckets * (self.key_cost_ns / 20)) / 1000
        }
    }
    fn exceeded(&self) -> bool {
        self.elapsed_us() > self.limit_us
    }
}

impl Engine {
    fn budget(&self, limit_us: u64) -> Budget {
        Budget {
            started: Instant::now(),
            system: self.cfg.clock == crate::config::ClockKind::System,
            limit_us,
            key_cost_ns: self.cfg.expire_key_cost_ns,
            sampled: 0,
            buckets: 0,
        }
    }

    /// Called from every cron tick.
    pub(crate) fn active_expire_cron(&mut self) {
        match self.cfg.active_expire {
            ActiveExpire::Redis => self.redis_cycle(false),
            ActiveExpire::Redis5 => self.redis5_cycle(),
            ActiveExpire::Echovault => {
                while self.now_ms >= self.expire.echovault_next_ms {
                    self.echovault_cycle();
                    match self
                        .expire
                        .echovault_next_ms
                        .checked_add(ECHOVAULT_INTERVAL_MS)
                    {
                        Some(t) => self.expire.echovault_next_ms = t,
                        // No cycle is due after u64::MAX ms; this one was the last.
                        None => break,
                    }
                }
            }
            ActiveExpire::Off => {}
        }
    }

    /// The closed form of `n` consecutive cron ticks' [`Engine::active_expire_cron`], the last
    /// at `last_ms`, when none of them can examine a key: applies their effect on the
    /// cycle's state and statistics and returns true; returns false (changing nothing) when
    /// a tick could examine a key and must run. Each case mirrors its cycle above:
    ///
    /// * `redis` with no volatile key, or a sparse expires dict: each cycle counts itself,
    ///   clears `timelimit_exit`, samples nothing and decays `expired_stale_perc` by 0.95;
    /// * `redis5` with no volatile key: each cycle counts itself;
    /// * `echovault` with no volatile key: one counted cycle per 100 ms due by `last_ms`;
    /// * `off`: nothing.
    ///
    /// The common case of a timestamped replay (`redis` with no volatile key and
    /// `expired_stale_perc` already 0) is decided inline, in a few instructions; the other
    /// cases are out of line ([`Engine::active_expire_idle_rest`]).
    #[inline(always)]
    pub(crate) fn active_expire_idle(&mut self, n: u64, last_ms: u64) -> bool {
        if self.cfg.active_expire == ActiveExpire::Redis
            && self.ks.volatile_len() == 0
            && self.stats.expired_stale_perc == 0.0
        {
            // The `redis` arm below with nothing to sample and nothing left to decay.
            self.expire.timelimit_exit = false;
            self.stats.active_expire_cycles += n;
            return true;
        }
        self.active_expire_idle_rest(n, last_ms)
    }

    /// [`Engine::active_expire_idle`] beyond its inline common case.
    #[inline(never)]
    fn active_expire_idle_rest(&mut self, n: u64, last_ms: u64) -> bool {
        let volatile = self.ks.volatile_len() as u64;
        match self.cfg.active_expire {
            ActiveExpire::Off => true,
            ActiveExpire::Redis => {
                // The sparseness test only matters when there are volatile keys.
                if volatile != 0
                    && !self
                        .ks
                        .dict(Scope::Volatile)
                        .is_some_and(|d| d.slots() > 4 && volatile * 100 / (d.slots() as u64) < 1)
                {
                    return false;
                }
                self.expire.timelimit_exit = false;
                self.stats.active_expire_cycles += n;
                // `current * 0.05 + perc * 0.95` with current = 0, n times, exactly as the
                // cycles compute it (no closed-form power: it would round differently); the
                // value reaches 0 within ~15 000 steps and stays there.
                let mut perc = self.stats.expired_stale_perc;
                for _ in 0..n {
                    if perc == 0.0 {
                        break;
                    }
                    perc *= 0.95; // = 0.0 * 0.05 + perc * 0.95 for perc ≥ 0
                }
                self.stats.expired_stale_perc = perc;
                true
            }
            ActiveExpire::Redis5 => {
                if volatile != 0 {
                    return false;
                }
                self.stats.active_expire_cycles += n;
                true
            }
            ActiveExpire::Echovault => {
                if volatile != 0 {
                    return false;
                }
                let next = self.expire.echovault_next_ms;
                if last_ms >= next {
                    let k = (last_ms - next) / ECHOVAULT_INTERVAL_MS + 1;
                    self.stats.active_expire_cycles += k;
                    // As the stepped loop: stop at the last representable time.
                    self.expire.echovault_next_ms = k
                        .checked_mul(ECHOVAULT_INTERVAL_MS)
                        .and_then(|d| next.checked_add(d))
                        .unwrap_or(next + (k - 1) * ECHOVAULT_INTERVAL_MS);
                }
                true
            }
        }
    }

    /// Called before a command when [`ExpireState::fast_cycle_due`].
    pub(crate) fn active_expire_fast(&mut self) {
        self.expire.last_fast_cycle_ms = Some(self.now_ms);
        self.redis_cycle(true);
    }

    /// Checks and, if expired, deletes `slot`; returns whether it was expired.
    fn try_expire(&mut self, slot: Slot) -> bool {
        if self.is_expired(slot) {
            self.expire_slot(slot);
            self.stats.expired_keys_active += 1;
            true
        } else {
            false
        }
    }

    fn redis_cycle(&mut self, fast: bool) {
        let p = ExpireParams::for_effort(self.cfg.active_expire_effort);
        if fast {
            // Redis's condition, bug included: `stat_expired_stale_perc` is a fraction.
            if !self.expire.timelimit_exit
                && self.stats.expired_stale_perc < p.acceptable_stale as f64
            {
                return;
            }
        }
        let limit_us = if fast {
            p.fast_duration_us
        } else {
            (p.slow_time_perc * 1_000_000 / self.cfg.hz as u64 / 100).max(1)
        };
        self.expire.timelimit_exit = false;
        self.stats.active_expire_cycles += 1;
        let mut b = self.budget(limit_us);
        let (mut total_sampled, mut total_expired) = (0u64, 0u64);
        let mut iteration = 0u64;
        let mut scratch = std::mem::take(&mut self.expire.scratch);
        loop {
            iteration += 1;
            let volatile = self.ks.volatile_len() as u64;
            if volatile == 0 {
                break;
            }
            if let Some(d) = self.ks.dict(Scope::Volatile)
                && d.slots() > 4
                && volatile * 100 / (d.slots() as u64) < 1
            {
                break;
            }
            let num = volatile.min(p.keys_per_loop);
            let max_buckets = num * 20;
            let (mut sampled, mut expired, mut checked) = (0u64, 0u64, 0u64);
            while sampled < num && checked < max_buckets {
                if self.ks.dict(Scope::Volatile).is_some() {
                    scratch.clear();
                    let d = self.ks.dict(Scope::Volatile).expect("checked above");
                    self.expire.cursor = d.scan(self.expire.cursor, &mut scratch);
                    for &slot in &scratch {
                        sampled += 1;
                        expired += self.try_expire(slot) as u64;
                    }
                } else {
                    let pos = self.expire.cursor as usize;
                    match self.ks.volatile_at(pos) {
                        Some(slot) => {
                            sampled += 1;
                            if self.try_expire(slot) {
                                expired += 1; // the last key moved into `pos`: stay
                            } else {
                                self.expire.cursor += 1;
                            }
                        }
                        None => self.expire.cursor = 0,
                    }
                }
                checked += 1;
            }
            b.sampled += sampled;
            b.buckets += checked.saturating_sub(sampled);
            total_sampled += sampled;
            total_expired += expired;
            if iteration.is_multiple_of(16) && b.exceeded() {
                self.expire.timelimit_exit = true;
                self.stats.expired_time_cap_reached_count += 1;
                break;
            }
            if !(sampled == 0 || expired * 100 / sampled > p.acceptable_stale) {
                break;
            }
        }
        self.expire.scratch = scratch;
        self.stats.active_expire_sampled_keys += total_sampled;
        let current = if total_sampled > 0 {
            total_expired as f64 / total_sampled as f64
        } else {
            0.0
        };
        self.stats.expired_stale_perc = current * 0.05 + self.stats.expired_stale_perc * 0.95;
    }

    fn redis5_cycle(&mut self) {
        let limit_us = (SLOW_TIME_PERC * 1_000_000 / self.cfg.hz as u64 / 100).max(1);
        self.stats.active_expire_cycles += 1;
        let mut b = self.budget(limit_us);
        let mut iteration = 0u64;
        loop {
            let volatile = self.ks.volatile_len() as u64;
            if volatile == 0 {
                break;
            }
            let num = volatile.min(REDIS5_LOOKUPS_PER_LOOP);
            let mut expired = 0;
            for _ in 0..num {
                let Some(slot) = self.ks.random_key(&mut self.rng, Scope::Volatile) else {
                    break;
                };
                expired += self.try_expire(slot) as u64;
            }
            b.sampled += num;
            self.stats.active_expire_sampled_keys += num;
            iteration += 1;
            if iteration.is_multiple_of(16) && b.exceeded() {
                self.stats.expired_time_cap_reached_count += 1;
                break;
            }
            if expired <= REDIS5_LOOKUPS_PER_LOOP / 4 {
                break;
            }
        }
    }

    fn echovault_cycle(&mut self) {
        self.stats.active_expire_cycles += 1;
        loop {
            let volatile = self.ks.volatile_len() as u64;
            if volatile == 0 {
                break;
            }
            let n = volatile.min(ECHOVAULT_SAMPLE);
            let mut deleted = 0;
            for _ in 0..n {
                let Some(slot) = self.ks.random_uniform(&mut self.rng, Scope::Volatile) else {
                    break;
                };
                deleted += self.try_expire(slot) as u64;
            }
            self.stats.active_expire_sampled_keys += n;
            if deleted * 100 < 20 * n {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effort_scaling_matches_redis() {
        let p = ExpireParams::for_effort(1);
        assert_eq!(
            (
                p.keys_per_loop,
                p.fast_duration_us,
                p.slow_time_perc,
                p.acceptable_stale
            ),
            (20, 1000, 25, 10)
        );
        let p = ExpireParams::for_effort(10);
        assert_eq!(
            (
                p.keys_per_loop,
                p.fast_duration_us,
                p.slow_time_perc,
                p.acceptable_stale
            ),
            (65, 3250, 43, 1)
        );
    }
}
