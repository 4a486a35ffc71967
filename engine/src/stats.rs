//! Counters named as Redis's INFO fields, plus a few the lab adds (marked).

use serde::Serialize;

/// Engine statistics. Field names follow Redis's `INFO stats` where Redis has the counter.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// `total_commands_processed`.
    pub total_commands_processed: u64,
    /// `keyspace_hits`: read lookups that found a live key.
    pub keyspace_hits: u64,
    /// `keyspace_misses`: read lookups that found nothing (or an expired key).
    pub keyspace_misses: u64,
    /// `evicted_keys`.
    pub evicted_keys: u64,
    /// `expired_keys` (passive and active).
    pub expired_keys: u64,
    /// Of `expired_keys`, those removed by the active cycle (lab).
    pub expired_keys_active: u64,
    /// Writes refused with `-OOM` (Redis counts these only as `rejected_calls` per
    /// command; the lab keeps the total).
    pub rejected_writes: u64,
    /// Writes refused with `-MISCONF` (lab).
    pub misconf_rejections: u64,
    /// New keys the policy declined to admit (lab; admission policies only).
    pub admission_bypasses: u64,
    /// `expired_stale_perc` as a fraction 0..1 (Redis's running estimate).
    pub expired_stale_perc: f64,
    /// `expired_time_cap_reached_count`.
    pub expired_time_cap_reached_count: u64,
    /// Keys examined by active-expire cycles (lab).
    pub active_expire_sampled_keys: u64,
    /// Active-expire cycles run (lab).
    pub active_expire_cycles: u64,
    /// Eviction calls that hit the tenacity time limit and continued later (lab).
    pub eviction_time_cap_reached_count: u64,
    /// `used_memory_peak`, sampled after every write and cron tick.
    pub used_memory_peak: u64,
}
