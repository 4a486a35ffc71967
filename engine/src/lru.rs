//! Redis's per-object recency and frequency fields: the 24-bit LRU clock and the LFU Morris
//! counter with decay (redis `src/evict.c`, `src/server.h`, `src/db.c`).
//!
//! Both live in the same 24 bits of every entry ([`crate::Entry::lru`]), as in `robj.lru`.
//! Under an LFU policy the field is `(minutes16 << 8) | counter8`; otherwise it is the LRU
//! clock in seconds.

use rand::{Rng, RngExt};

/// Redis `LRU_BITS`.
pub const LRU_BITS: u32 = 24;
/// Redis `LRU_CLOCK_MAX` = 2^24 − 1.
pub const LRU_CLOCK_MAX: u32 = (1 << LRU_BITS) - 1;
/// Redis `LRU_CLOCK_RESOLUTION`, in ms.
pub const LRU_CLOCK_RESOLUTION_MS: u64 = 1000;
/// Redis `LFU_INIT_VAL`.
pub const LFU_INIT_VAL: u8 = 5;

/// `getLRUClock()`: seconds modulo 2^24 (wraps every ~194 days).
#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / LRU_CLOCK_RESOLUTION_MS) & LRU_CLOCK_MAX as u64) as u32
}

/// `estimateObjectIdleTime()`: ms since the object's LRU stamp, handling one clock wrap.
#[inline]
pub fn estimate_idle_ms(lru_clock: u32, obj_lru: u32) -> u64 {
    let ticks = if lru_clock >= obj_lru {
        (lru_clock - obj_lru) as u64
    } else {
        (lru_clock + (LRU_CLOCK_MAX - obj_lru)) as u64
    };
    ticks * LRU_CLOCK_RESOLUTION_MS
}

/// `LFUGetTimeInMinutes()`: (unix time in minutes) & 65535.
#[inline]
pub fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 1000 / 60) & 65535) as u32
}

/// `LFUTimeElapsed()`: minutes since `ldt`, handling one wrap of the 16-bit minutes.
#[inline]
pub fn lfu_time_elapsed(now_minutes: u32, ldt: u32) -> u32 {
    if now_minutes >= ldt {
        now_minutes - ldt
    } else {
        65535 - ldt + now_minutes
    }
}

/// `LFULogIncr()`: increments the 8-bit counter with probability
/// `1 / ((counter − LFU_INIT_VAL) · log_factor + 1)` (base floored at 0), saturating at 255.
#[inline]
pub fn lfu_log_incr<R: Rng + ?Sized>(counter: u8, log_factor: u32, rng: &mut R) -> u8 {
    if counter == 255 {
        return 255;
    }
    let r: f64 = rng.random();
    let base = (counter as f64 - LFU_INIT_VAL as f64).max(0.0);
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p { counter + 1 } else { counter }
}

/// `LFUDecrAndReturn()`: the counter after `elapsed minutes / decay_time` decrements
/// (0 decay time = never decay). The decay is *not* stored; Redis stores it only when the
/// key is accessed ([`update_lfu`]).
#[inline]
pub fn lfu_decr_and_return(lru: u32, now_minutes: u32, decay_time: u32) -> u8 {
    let ldt = lru >> 8;
    let counter = lru & 255;
    let periods = lfu_time_elapsed(now_minutes, ldt)
        .checked_div(decay_time)
        .unwrap_or(0);
    if periods > counter {
        0
    } else {
        (counter - periods) as u8
    }
}

/// `updateLFU()`: decay, then increment, then store `(now_minutes << 8) | counter`.
#[inline]
pub fn update_lfu<R: Rng + ?Sized>(
    lru: u32,
    now_minutes: u32,
    log_factor: u32,
    decay_time: u32,
    rng: &mut R,
) -> u32 {
    let c = lfu_decr_and_return(lru, now_minutes, decay_time);
    let c = lfu_log_incr(c, log_factor, rng);
    (now_minutes << 8) | c as u32
}

/// The field of a new object under LFU: `(minutes << 8) | LFU_INIT_VAL`.
#[inline]
pub fn init_lfu(now_minutes: u32) -> u32 {
    (now_minutes << 8) | LFU_INIT_VAL as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn lru_clock_wraps_at_24_bits_and_idle_handles_one_wrap() {
        assert_eq!(lru_clock(1500), 1);
        assert_eq!(lru_clock((LRU_CLOCK_MAX as u64 + 1) * 1000), 0);
        assert_eq!(estimate_idle_ms(10, 4), 6000);
        // Object stamped just before the wrap, clock just after it.
        assert_eq!(estimate_idle_ms(2, LRU_CLOCK_MAX - 1), 3000);
    }

    #[test]
    fn lfu_counter_decays_one_per_decay_period_only_when_read() {
        let lru = (100 << 8) | 20;
        assert_eq!(lfu_decr_and_return(lru, 100, 1), 20);
        assert_eq!(lfu_decr_and_return(lru, 103, 1), 17);
        assert_eq!(lfu_decr_and_return(lru, 103, 2), 19);
        assert_eq!(lfu_decr_and_return(lru, 200, 1), 0);
        assert_eq!(lfu_decr_and_return(lru, 200, 0), 20, "0 = never decay");
        // Wrap of the 16-bit minutes: ldt 65530, now 4 → 9 minutes.
        assert_eq!(lfu_decr_and_return((65530 << 8) | 20, 4, 1), 11);
    }

    /// Expected number of hits to reach counter `c` from LFU_INIT_VAL: Σ over k of 1/p(k).
    fn expected_hits(c: u32, f: u32) -> f64 {
        (LFU_INIT_VAL as u32..c)
            .map(|k| ((k - 5) as f64) * f as f64 + 1.0)
            .sum()
    }

    /// The counter value whose expected number of hits brackets `hits`.
    fn expected_counter(hits: u64, f: u32) -> u32 {
        (LFU_INIT_VAL as u32..=255)
            .take_while(|&c| expected_hits(c, f) <= hits as f64)
            .last()
            .unwrap_or(LFU_INIT_VAL as u32)
    }

    #[test]
    fn lfu_counter_follows_the_log_formula() {
        // The mean counter after N hits (seeded, so deterministic) sits at the counter whose
        // expected hit count (Σ 1/p) is N. redis.conf's table (factor 10: 100 hits → 10,
        // 1000 → 18, 100K → 142, 1M → 255) was made with an older formula; the code's
        // p = 1/((c−5)·f+1) gives about 9, 19, 146 and 255.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
        let run = |hits: u64, f: u32, rng: &mut Xoshiro256PlusPlus| {
            let mut c = LFU_INIT_VAL;
            for _ in 0..hits {
                c = lfu_log_incr(c, f, rng);
            }
            c
        };
        for (hits, f, n) in [
            (100u64, 10u32, 300u32),
            (1000, 10, 200),
            (100_000, 10, 10),
            (1000, 1, 100),
            (100_000, 100, 10),
        ] {
            let mean = (0..n).map(|_| run(hits, f, &mut rng) as f64).sum::<f64>() / n as f64;
            let want = expected_counter(hits, f) as f64;
            assert!(
                (mean - want).abs() <= 2.0,
                "factor {f}, {hits} hits: mean {mean}, formula {want}"
            );
        }
        assert_eq!(expected_counter(100, 10), 9);
        assert_eq!(
            run(1_000_000, 10, &mut rng),
            255,
            "saturates by 1M hits at factor 10"
        );
        assert!(run(100_000, 10, &mut rng) < 200, "but not by 100K");
        assert!((expected_hits(255, 10) - 311_500.0).abs() < 1.0);
    }

    #[test]
    fn counters_at_or_below_init_always_increment() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for c in 0..=LFU_INIT_VAL {
            for _ in 0..100 {
                assert_eq!(lfu_log_incr(c, 10, &mut rng), c + 1);
            }
        }
        assert_eq!(lfu_log_incr(255, 0, &mut rng), 255);
    }
}
