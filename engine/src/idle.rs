//! Idle virtual time costs nothing: the closed form of cron ticks that cannot change the
//! keyspace.
//!
//! A replay of a trace with real timestamps advances virtual time by seconds or hours
//! between requests; at `hz 10` that is ten cron ticks per second of trace. Most of those
//! ticks find nothing to do — no volatile key for the active-expire cycle to examine — and
//! their whole effect is a handful of counters: the LRU clock, the cycle count, the decay
//! of `expired_stale_perc`, `timelimit_exit`. [`Engine::skip_idle_ticks`] applies that
//! effect for many ticks at once; results are byte-identical to stepping every tick
//! (`lab-cron-stepping every-tick`, which the tests compare against).
//!
//! Not skipped (each such tick runs): ticks that could examine a key (volatile keys present
//! and a cycle that would sample them), and every tick under `lab-memory-mode allocator`,
//! whose memory probe reads the process heap at each tick.

use crate::config::MemoryMode;
use crate::engine::Engine;
use crate::lru::lru_clock;

impl Engine {
    /// Runs the next `due` cron ticks (the first at `next_cron_ms`) in closed form if all
    /// of them are idle, and returns true; returns false, having changed nothing, if they
    /// must be stepped.
    ///
    /// Inlined into the replay's per-request path: a timestamped trace calls it for nearly
    /// every request.
    #[inline]
    pub(crate) fn skip_idle_ticks(&mut self, due: u64) -> bool {
        if self.cfg.memory_mode == MemoryMode::Allocator {
            return false;
        }
        // ≤ the target time, so no overflow: `due` counts ticks up to it.
        let last_ms = self.next_cron_ms + (due - 1) * self.cron_period_ms;
        if !self.active_expire_idle(due, last_ms) {
            return false;
        }
        // What `cron` does besides the cycle: the clock ends at the last tick's value, and
        // the peak is a max of a memory figure no idle tick changes.
        self.now_ms = last_ms;
        self.lru_clock = lru_clock(last_ms);
        self.update_peak();
        self.schedule_next_cron(due);
        self.idle_ticks_skipped += due;
        true
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    use crate::{Blob, Config, Engine, Key, SetOptions};

    /// Everything observable after a run: every reply, the statistics, the clock, and
    /// every key with its value size, expiry time and LRU/LFU field.
    type Outputs = (
        Vec<String>,
        crate::Stats,
        u64,
        u32,
        Vec<(u64, u64, u64, u32)>,
    );

    fn engine(lines: &str, every_tick: bool) -> Engine {
        let mut c = Config::default();
        c.apply_str(lines, None).unwrap();
        c.set(
            "lab-cron-stepping",
            &[if every_tick {
                "every-tick"
            } else {
                "idle-skip"
            }],
        )
        .unwrap();
        Engine::new(c, 9).unwrap()
    }

    /// A timestamped trace with TTLs, writes, deletes and idle gaps from 1 ms to days.
    fn replay(e: &mut Engine, seed: u64, n: usize, start_ms: u64) -> Outputs {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut t = start_ms;
        let mut replies = Vec::with_capacity(n);
        for _ in 0..n {
            let gap = match rng.random_range(0..100u32) {
                0..40 => 0,
                40..70 => rng.random_range(1..50),
                70..90 => rng.random_range(50..5_000),
                90..99 => rng.random_range(5_000..600_000),
                _ => rng.random_range(600_000..50_000_000),
            };
            t = t.saturating_add(gap);
            e.set_time_ms(t);
            let id = rng.random_range(0..300u64);
            let size = rng.random_range(1..200u64);
            let ttl = if rng.random_bool(0.3) {
                rng.random_range(1..120_000)
            } else {
                0
            };
            let r = match rng.random_range(0..10u32) {
                0..5 => format!("{:?}", e.get_or_fill_id(id, size, ttl)),
                5..8 => format!(
                    "{:?}",
                    e.set(Key::from_id(id), Blob::Sized(size), SetOptions::ttl_ms(ttl))
                ),
                8 => format!("{:?}", e.del(&Key::from_id(id))),
                _ => format!("{:?}", e.get(&Key::from_id(id))),
            };
            replies.push(r);
        }
        let mut keys: Vec<_> = e
            .keyspace()
            .iter()
            .map(|(_, en)| {
                (
                    en.key.as_id().unwrap(),
                    en.value.bytes(),
                    en.expire_at_ms,
                    en.lru,
                )
            })
            .collect();
        keys.sort();
        e.check_invariants().unwrap();
        (replies, e.stats().clone(), e.now_ms(), e.lru_clock, keys)
    }

    const CONFIGS: &[&str] = &[
        "maxmemory 60\nlab-memory-mode keys\nmaxmemory-policy allkeys-lru",
        "maxmemory 60\nlab-memory-mode keys\nmaxmemory-policy volatile-lru\nlab-sampling uniform",
        "maxmemory 3000\nmaxmemory-policy allkeys-lfu\nlab-enforcement strict\nhz 500",
        "maxmemory 60\nlab-memory-mode keys\nmaxmemory-policy lru\nlab-enforcement strict\nlab-active-expire redis5\nhz 1",
        "maxmemory 60\nlab-memory-mode keys\nmaxmemory-policy allkeys-random\nlab-active-expire echovault\nhz 3",
        "maxmemory 60\nlab-memory-mode keys\nmaxmemory-policy allkeys-lru\nlab-active-expire off",
        "maxmemory-policy noeviction\nlab-sampling uniform\nactive-expire-effort 10",
    ];

    #[test]
    fn skipping_idle_ticks_is_byte_identical_to_stepping_every_tick() {
        for (i, lines) in CONFIGS.iter().enumerate() {
            for seed in 0..3 {
                let (mut a, mut b) = (engine(lines, true), engine(lines, false));
                let stepped = replay(&mut a, seed, 2_000, 0);
                let skipped = replay(&mut b, seed, 2_000, 0);
                assert_eq!(stepped, skipped, "config {i} ({lines:?}), seed {seed}");
                assert!(stepped.1.active_expire_cycles > 0 || lines.contains("off"));
                assert_eq!(a.idle_ticks_skipped, 0);
                assert!(b.idle_ticks_skipped > 0, "config {i}: nothing was idle");
            }
        }
    }

    #[test]
    fn timestamps_near_u64_max_neither_wrap_nor_hang() {
        for lines in CONFIGS {
            let start = u64::MAX - 3_000_000;
            let stepped = replay(&mut engine(lines, true), 5, 300, start);
            let skipped = replay(&mut engine(lines, false), 5, 300, start);
            assert_eq!(stepped, skipped, "{lines:?}");
            assert_eq!(
                stepped.2,
                u64::MAX,
                "the trace saturates at the end of time"
            );
        }
    }
}
