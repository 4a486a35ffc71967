//! One cell on a real server: the maxmemory that holds a key count (bisected with short
//! warm-up replays), then the replay itself with INFO samples, into a `server.csv` row.

use std::time::{Duration, Instant};

use evictlab_engine::policy::registry::{Family, PolicyInfo};
use evictlab_workloads::Op;

use super::*;
use crate::RunError;
use crate::hitrate::{CapacityUnit, Cell, capacity};
use crate::workload::Workload;

/// The Redis `maxmemory-policy` of a registry policy, or an error naming the accepted ones.
pub fn check_redis_policy(p: &'static PolicyInfo) -> Result<&'static PolicyInfo, RunError> {
    if p.family == Family::Redis {
        Ok(p)
    } else {
        Err(RunError::BadArgument {
            flag: "--policies",
            value: p.name.to_string(),
            expected: "Redis maxmemory-policy names: noeviction, allkeys-lru, allkeys-lfu, \
                       allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl",
        })
    }
}

/// Finds the `maxmemory` at which the server holds about `cap` keys of `w` while replaying
/// it, with the cell's policy already set. First the first `cap` distinct keys are written
/// (first-seen sizes, no TTL) with no limit; then `maxmemory` is bisected with short warm-up
/// replays (the first `max(4·cap, 20 000)` requests) until the server holds `cap` keys
/// within 1 % (or 2 keys), because a replay needs memory an idle server does not (query and
/// reply buffers of the pipelines, the eviction pool, dict resizing: about 100 kB on Redis
/// 7.0), so the `used_memory` of `cap` idle keys is not the limit that holds them. The
/// server is flushed afterwards.
pub fn calibrate_keys(
    s: &mut Server,
    w: &Workload,
    cap: u64,
    pipeline: usize,
) -> Result<u64, RunError> {
    s.reset()?;
    let base = s.info()?.u64("used_memory");
    let mut seen = crate::workload::FastMap::default();
    let mut batch = Vec::with_capacity(pipeline);
    for r in w.requests.iter() {
        if seen.len() as u64 >= cap {
            break;
        }
        if seen.insert(r.key, ()).is_none() {
            batch.push(evictlab_workloads::Request {
                op: Op::Set,
                ttl_ms: 0,
                ..r
            });
            if batch.len() == pipeline {
                s.replay_batch(&batch, true)?;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        s.replay_batch(&batch, true)?;
    }
    let loaded = seen.len() as u64;
    let used = s.info()?.u64("used_memory");
    if loaded < cap {
        // The workload has fewer distinct keys than the cache holds: no eviction can happen.
        s.reset()?;
        return Ok(used);
    }
    let warm = (cap.saturating_mul(4).max(20_000) as usize).min(w.requests.len());
    let tolerance = (cap / 100).max(2);
    let held_at = |s: &mut Server, m: u64| -> Result<u64, RunError> {
        s.reset()?;
        s.config_set("maxmemory", &m.to_string())?;
        for_each_chunk(w.requests.iter().take(warm), pipeline, |chunk| {
            s.replay_batch(chunk, true).map(|_| ())
        })?;
        s.dbsize()
    };
    // Bisection on maxmemory: the keys held grow with it, but not proportionally (a replay
    // needs memory an idle server does not, so a small limit holds nothing at all).
    let (mut lo, mut hi) = (base, used + (used - base).max(256 << 10));
    let mut best = (u64::MAX, used);
    for _ in 0..4 {
        let h = held_at(s, hi)?;
        best = best.min((h.abs_diff(cap), hi));
        if h >= cap {
            break;
        }
        lo = hi;
        hi += hi - base;
    }
    for _ in 0..14 {
        if best.0 <= tolerance || hi - lo <= 64 {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        let h = held_at(s, mid)?;
        best = best.min((h.abs_diff(cap), mid));
        if h < cap {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let maxmemory = best.1;
    s.reset()?;
    Ok(maxmemory)
}

/// Runs one cell; `on_point` receives every INFO sample.
pub fn run_cell(
    s: &mut Server,
    w: &Workload,
    cell: &Cell,
    index: u64,
    opts: &ServerOptions,
    on_point: &mut dyn FnMut(ServerPoint),
) -> Result<ServerRow, RunError> {
    check_redis_policy(cell.policy)?;
    let pipeline = opts.pipeline.max(1);
    let (cap, unit) = capacity(w, cell.size, cell.size_unit);
    s.reset()?;
    s.config_set("maxmemory-policy", cell.policy.name)?;
    if let Some(n) = cell.samples {
        s.config_set("maxmemory-samples", &n.to_string())?;
    }
    let baseline = s.info()?.u64("used_memory");
    let maxmemory = match unit {
        CapacityUnit::Keys => calibrate_keys(s, w, cap, pipeline)?,
        CapacityUnit::Bytes => baseline + cap,
    };
    s.config_set("maxmemory", &maxmemory.to_string())?;
    s.exec(&["CONFIG", "RESETSTAT"])?;

    let (mut gets, mut hits, mut get_bytes, mut hit_bytes, mut oom) = (0u64, 0, 0u64, 0u64, 0);
    let mut keys_max = 0u64;
    let started = Instant::now();
    let mut next_info = Duration::from_millis(opts.info_every_ms.max(1));
    let mut sample = |s: &mut Server, done: u64, keys_max: &mut u64| -> Result<Info, RunError> {
        let info = s.info()?;
        let keys = info.db0_keys();
        *keys_max = (*keys_max).max(keys);
        on_point(ServerPoint {
            cell: index,
            policy: cell.policy.name.to_string(),
            capacity: cap,
            t_ms: started.elapsed().as_millis() as u64,
            requests_done: done,
            keyspace_hits: info.u64("keyspace_hits"),
            keyspace_misses: info.u64("keyspace_misses"),
            evicted_keys: info.u64("evicted_keys"),
            expired_keys: info.u64("expired_keys"),
            used_memory: info.u64("used_memory"),
            used_memory_rss: info.u64("used_memory_rss"),
            mem_fragmentation_ratio: info.f64("mem_fragmentation_ratio"),
            keys,
        });
        Ok(info)
    };
    sample(s, 0, &mut keys_max)?;
    let mut done = 0u64;
    for_each_chunk(w.requests.iter(), pipeline, |batch| {
        if opts.rate > 0.0 {
            let due = Duration::from_secs_f64(done as f64 / opts.rate);
            let now = started.elapsed();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let answers = s.replay_batch(batch, opts.fill_on_miss)?;
        for (r, a) in batch.iter().zip(&answers) {
            if r.op == Op::Get {
                gets += 1;
                get_bytes += r.value_size as u64;
                if *a == 1 {
                    hits += 1;
                    hit_bytes += r.value_size as u64;
                }
            }
            if *a == 2 || *a == 4 {
                oom += 1;
            }
        }
        done += batch.len() as u64;
        if started.elapsed() >= next_info {
            sample(s, done, &mut keys_max)?;
            next_info += Duration::from_millis(opts.info_every_ms.max(1));
        }
        Ok(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    let info = sample(s, done, &mut keys_max)?;
    let keys = s.dbsize()?;
    let used = info.u64("used_memory");
    Ok(
        crate::hitrate::hit_row!(ServerRow, crate::hitrate::row::HitHead {
            index,
            workload: w,
            cell,
            capacity: cap,
            unit,
            // The server's budget is value bytes above the empty server's used_memory.
            modelled: None,
            seed: opts.seed,
            requests: done,
            gets,
            hits,
            get_bytes,
            hit_bytes,
        }, {
            evicted_keys: info.u64("evicted_keys"),
            expired_keys: info.u64("expired_keys"),
            oom_rejections: oom,
            admission_bypasses: 0,
            virtual_ms: (secs * 1000.0) as u64,
            config: String::new(),
            requests_per_sec: if secs > 0.0 { done as f64 / secs } else { 0.0 },
            target_rate: opts.rate,
            pipeline: pipeline as u64,
            maxmemory,
            baseline_used_memory: baseline,
            keyspace_hits: info.u64("keyspace_hits"),
            keyspace_misses: info.u64("keyspace_misses"),
            used_memory: used,
            used_memory_rss: info.u64("used_memory_rss"),
            mem_fragmentation_ratio: info.f64("mem_fragmentation_ratio"),
            rdb_last_cow_size: info.u64("rdb_last_cow_size"),
            latest_fork_usec: info.u64("latest_fork_usec"),
            keys,
            keys_max,
            memory_per_key: if keys > 0 {
                used.saturating_sub(baseline) as f64 / keys as f64
            } else {
                0.0
            },
            server_version: info.version(),
        }),
    )
}

/// Calls `f` on consecutive batches of at most `size` requests (the workload is packed,
/// so its requests are decoded into one reused buffer).
fn for_each_chunk(
    requests: impl Iterator<Item = evictlab_workloads::Request>,
    size: usize,
    mut f: impl FnMut(&[evictlab_workloads::Request]) -> Result<(), RunError>,
) -> Result<(), RunError> {
    let mut requests = requests.peekable();
    let mut chunk = Vec::with_capacity(size);
    while requests.peek().is_some() {
        chunk.clear();
        chunk.extend(requests.by_ref().take(size));
        f(&chunk)?;
    }
    Ok(())
}
