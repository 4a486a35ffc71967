//! A BGSAVE under writes, measured from INFO (`rdb_last_cow_size`, `current_cow_size`,
//! `latest_fork_usec`) into a `cow.csv` row.

use std::time::{Duration, Instant};

use evictlab_workloads::Op;

use super::*;
use crate::RunError;
use crate::cow::CowRow;
use crate::workload::Workload;

/// Options of a BGSAVE-under-writes measurement.
#[derive(Clone, Debug)]
pub struct BgsaveOptions {
    /// Keys loaded before the snapshot.
    pub keys: u64,
    /// Bytes per value.
    pub value_size: u32,
    /// Writes per second during the save (0 = as fast as possible).
    pub write_rate: u64,
    /// `rdb-key-save-delay` in µs per key (a Redis test/debug setting that slows the child
    /// down, like `experiment cow --save-bandwidth`; 0 = off).
    pub key_save_delay_us: u64,
    /// Requests per pipeline.
    pub pipeline: usize,
    /// Seed recorded in the row.
    pub seed: u64,
    /// Longest time to wait for the save, s.
    pub timeout_s: u64,
}

/// Loads `opts.keys` keys of `opts.value_size` bytes, starts `BGSAVE`, and while the child
/// runs writes the keys of `writes` (each request becomes a SET of `opts.value_size` bytes)
/// at `opts.write_rate`, polling INFO persistence. Returns one [`CowRow`] with
/// `snapshot = redis-bgsave`. Fields Redis cannot show are 0 (page-level ground truth,
/// predictions, forkless columns) and `ground_truth_method` is `n/a (redis INFO)`.
pub fn bgsave(s: &mut Server, writes: &Workload, opts: &BgsaveOptions) -> Result<CowRow, RunError> {
    let pipeline = opts.pipeline.max(1);
    s.reset()?;
    s.config_set("maxmemory-policy", "noeviction")?;
    // Load the dataset through the script, `pipeline` SETs per round trip.
    let mut batch = Vec::with_capacity(pipeline);
    for k in 0..opts.keys {
        batch.push(evictlab_workloads::Request {
            op: Op::Set,
            ..evictlab_workloads::Request::get(k, opts.value_size)
        });
        if batch.len() == pipeline {
            s.replay_batch(&batch, true)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        s.replay_batch(&batch, true)?;
        batch.clear();
    }
    let before = s.info()?;
    let rss_start = before.u64("used_memory_rss");
    let old_delay = s.config_get("rdb-key-save-delay")?;
    if old_delay.is_some() {
        s.config_set("rdb-key-save-delay", &opts.key_save_delay_us.to_string())?;
    }
    let thp = match s.config_get("disable-thp")?.as_deref() {
        Some("yes") => "off",
        Some("no") => "system",
        _ => "unknown",
    };
    let started = Instant::now();
    s.exec(&["BGSAVE"])?;
    let mut written = 0u64;
    let mut distinct = crate::workload::FastMap::default();
    let (mut rss_peak, mut cow_samples, mut cow_sum, mut cow_last) = (rss_start, 0u64, 0u64, 0);
    let mut last_cow_seen = u64::MAX;
    let mut write_started: Option<Instant> = None;
    let mut reqs = writes.requests.iter().cycle();
    let mut last_poll = Instant::now() - Duration::from_secs(1);
    let finished = loop {
        if last_poll.elapsed() >= Duration::from_millis(50) {
            last_poll = Instant::now();
            let info = s.info()?;
            rss_peak = rss_peak.max(info.u64("used_memory_rss"));
            let cur = info.u64("current_cow_size");
            if info.u64("rdb_bgsave_in_progress") == 0 {
                break info;
            }
            // current_cow_size changes only when the child reports (at most once a second,
            // CHILD_COW_DUTY_CYCLE: redis src/childinfo.c); count each new report once.
            if cur != last_cow_seen && info.0.contains_key("current_cow_size_age") {
                last_cow_seen = cur;
                cow_samples += 1;
                cow_sum += cur;
                cow_last = cur;
            }
            if started.elapsed() > Duration::from_secs(opts.timeout_s) {
                return Err(RunError::Server {
                    url: s.url().to_string(),
                    message: format!("BGSAVE still running after {} s", opts.timeout_s),
                });
            }
        }
        // Writes while the child runs.
        let ws = *write_started.get_or_insert_with(Instant::now);
        let n = if opts.write_rate == 0 {
            pipeline
        } else {
            let due = (ws.elapsed().as_secs_f64() * opts.write_rate as f64) as u64;
            (due.saturating_sub(written) as usize).min(pipeline)
        };
        if n == 0 || writes.requests.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        batch.clear();
        for r in reqs.by_ref().take(n) {
            let key = r.key % opts.keys.max(1);
            distinct.insert(key, ());
            batch.push(evictlab_workloads::Request {
                op: Op::Set,
                ttl_ms: 0,
                ..evictlab_workloads::Request::get(key, opts.value_size)
            });
        }
        s.replay_batch(&batch, true)?;
        written += batch.len() as u64;
    };
    let save_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(d) = old_delay {
        s.config_set("rdb-key-save-delay", &d)?;
    }
    let status = finished
        .0
        .get("rdb_last_bgsave_status")
        .cloned()
        .unwrap_or_else(|| "unknown".into());
    let fork_usec = finished.u64("latest_fork_usec");
    let cow_peak = finished
        .u64("rdb_last_cow_size")
        .max(finished.u64("current_cow_peak"));
    let write_secs = write_started.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let snapshot_bytes = match (s.config_get("dir")?, s.config_get("dbfilename")?) {
        (Some(d), Some(f)) => {
            std::fs::metadata(std::path::Path::new(&d).join(f)).map_or(0, |m| m.len())
        }
        _ => 0,
    };
    Ok(CowRow {
        snapshot: "redis-bgsave".into(),
        dataset_bytes: opts.keys * opts.value_size as u64,
        keys: opts.keys,
        value_size: opts.value_size as u64,
        distribution: writes.info.name.clone(),
        write_rate: opts.write_rate,
        thp: thp.into(),
        repeat: 0,
        seed: opts.seed,
        fork_usec,
        fork_ms_per_gb: if rss_start > 0 {
            fork_usec as f64 / 1000.0 / (rss_start as f64 / (1u64 << 30) as f64)
        } else {
            0.0
        },
        save_ms,
        writes_during_save: written,
        achieved_write_rate: if write_secs > 0.0 {
            written as f64 / write_secs
        } else {
            0.0
        },
        distinct_keys_written: distinct.len() as u64,
        dirtied_pages: 0,
        released_pages: 0,
        written_pages: 0,
        ground_truth_method: "n/a (redis INFO)".into(),
        cow_baseline_bytes: 0,
        cow_peak_bytes: cow_peak,
        cow_final_bytes: cow_last,
        cow_average_bytes: cow_sum.checked_div(cow_samples).unwrap_or(0),
        cow_samples,
        predicted_pages: 0.0,
        predicted_cow_bytes: 0,
        predicted_uniform_pages: 0.0,
        parent_rss_start_bytes: rss_start,
        parent_rss_peak_bytes: rss_peak,
        extra_memory_peak_bytes: rss_peak.saturating_sub(rss_start) + cow_peak,
        forkless_buffer_peak_bytes: 0,
        forkless_keys_by_hook: 0,
        anon_huge_bytes: 0,
        thp_system: crate::output::SystemInfo::read().thp_enabled,
        snapshot_bytes,
        page_size: 4096,
        status: if status == "ok" {
            "ok".into()
        } else {
            format!("rdb_last_bgsave_status={status}")
        },
    })
}
