//! Active defragmentation as Redis's `src/defrag.c` runs it: start and CPU-effort
//! thresholds, cron calls with a time budget, the allocator's move hint.

use std::time::{Duration, Instant};

use evictlab_engine::Engine;

use super::*;
use crate::RunError;
use crate::alloc::{self, Allocator};
use crate::mem::MemSample;

/// The allocator's fragmentation % and bytes as the defrag start test reads them:
/// jemalloc `frag_smallbins / allocated × 100` (Redis ≥ 7.4); others `active / allocated
/// × 100 − 100`.
pub(super) fn frag_pct(s: &MemSample) -> (f64, u64) {
    let a = s.allocator;
    if a.allocated == 0 {
        return (0.0, 0);
    }
    (
        a.frag_bytes as f64 * 100.0 / a.allocated as f64,
        a.frag_bytes,
    )
}

/// Runs Redis's active defragmentation on `e` (redis `src/defrag.c`): start only when
/// fragmentation is at least `threshold_lower` % and `ignore_bytes`; effort from
/// [`DefragConfig::cpu_pct`]; each cron call moves values for its time budget, checking
/// the clock every 16 keys; passes repeat while the thresholds still say so. The cron
/// calls run back to back (the CPU time is measured; the wall time they would take at
/// `hz` is reported). With jemalloc the thread cache is off during the scan, as Redis
/// moves with `MALLOCX_TCACHE_NONE`, and only allocations the hint picks move; the other
/// allocators have no hint, so every value moves.
pub fn active_defrag(
    allocator: Allocator,
    e: &mut Engine,
    dc: &DefragConfig,
) -> Result<DefragRow, RunError> {
    let read = || {
        MemSample::read().map_err(|source| RunError::Io {
            path: "/proc/self/statm".into(),
            source,
        })
    };
    // Freed regions parked in jemalloc's thread cache still count as used in their slabs.
    alloc::jemalloc_flush_thread_cache();
    allocator.purge();
    let before = read()?;
    let (pct0, bytes0) = frag_pct(&before);
    let mut row = DefragRow {
        allocator: allocator.name().into(),
        started: false,
        stop_reason: String::new(),
        frag_pct_before: pct0,
        frag_bytes_before: bytes0,
        frag_pct_after: pct0,
        cpu_pct: 0.0,
        passes: 0,
        scanned: 0,
        hits: 0,
        misses: 0,
        cron_calls: 0,
        cpu_ms: 0.0,
        wall_ms_at_duty_cycle: 0.0,
        used_before_bytes: before.used_bytes,
        used_after_bytes: before.used_bytes,
        rss_before_bytes: before.rss_bytes,
        rss_after_bytes: before.rss_bytes,
        rss_after_purge_bytes: before.rss_bytes,
        rss_recovered_bytes: 0,
    };
    let jemalloc = allocator == Allocator::Jemalloc;
    let mut cpu = Duration::ZERO;
    loop {
        let s = read()?;
        let (pct, bytes) = frag_pct(&s);
        if pct < dc.threshold_lower {
            row.stop_reason = "threshold-lower".into();
            break;
        }
        if bytes < dc.ignore_bytes {
            row.stop_reason = "ignore-bytes".into();
            break;
        }
        if row.passes >= dc.max_passes {
            row.stop_reason = "max-passes".into();
            break;
        }
        let cpu_pct = dc.cpu_pct(pct);
        if row.passes == 0 {
            row.started = true;
            row.cpu_pct = cpu_pct;
        }
        let budget = dc.cron_budget(cpu_pct);
        if jemalloc {
            alloc::jemalloc_set_thread_cache(false);
        }
        let mut cursor = Some(0usize);
        while let Some(c0) = cursor {
            row.cron_calls += 1;
            let t0 = Instant::now();
            let mut c = c0;
            loop {
                let step = e.defrag_scan(c, 16, |p| alloc::jemalloc_defrag_hint(p).unwrap_or(true));
                row.scanned += step.scanned;
                row.hits += step.hits;
                row.misses += step.misses;
                match step.next {
                    None => {
                        cursor = None;
                        break;
                    }
                    Some(n) => c = n,
                }
                if t0.elapsed() >= budget {
                    cursor = Some(c);
                    break;
                }
            }
            cpu += t0.elapsed();
        }
        if jemalloc {
            alloc::jemalloc_set_thread_cache(true);
        }
        row.passes += 1;
    }
    let after = read()?;
    allocator.purge();
    let after_purge = read()?;
    row.frag_pct_after = frag_pct(&after_purge).0;
    row.cpu_ms = cpu.as_secs_f64() * 1000.0;
    row.wall_ms_at_duty_cycle = row.cron_calls as f64 * 1000.0 / dc.hz.max(1) as f64;
    row.used_after_bytes = after.used_bytes;
    row.rss_after_bytes = after.rss_bytes;
    row.rss_after_purge_bytes = after_purge.rss_bytes;
    row.rss_recovered_bytes = before.rss_bytes as i64 - after_purge.rss_bytes as i64;
    Ok(row)
}
