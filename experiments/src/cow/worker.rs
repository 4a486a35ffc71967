//! One cell of the COW experiment, run inside a fresh worker process.
//!
//! The worker builds the dataset, sets its THP mode, takes one snapshot (fork or forkless)
//! while applying writes at the cell's rate, and returns a row, a time series and log lines.

use std::path::Path;
use std::time::{Duration, Instant};

use evictlab_engine::persist::cow::{page_size, read_rss};
use evictlab_engine::persist::fork::{ChildState, ForkOptions};
use evictlab_engine::persist::forkless::ForklessSnapshot;
use evictlab_engine::persist::pages::{
    self, FreshBitmap, Method, PageTracker, expected_distinct_pages,
};
use evictlab_engine::persist::save::{self, SaveOptions};
use evictlab_engine::persist::snapshot::SnapshotOptions;
use evictlab_engine::persist::thp;
use evictlab_engine::{Blob, Config, Engine, Entry, Key, SetOptions, Value};
use rand::RngExt;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::model::{Distribution, KeyChooser, KeyPages, closed_form_pages, page_probabilities};
use super::{CowPoint, CowRow, SnapshotMode, ThpMode};

/// Everything a worker needs for one cell.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub snapshot: SnapshotMode,
    pub thp: ThpMode,
    pub write_rate: u64,
    pub repeat: u32,
    pub dataset_bytes: u64,
    pub value_size: u64,
    pub distribution: Distribution,
    pub seed: u64,
    pub save_bandwidth: u64,
    pub report_period_ms: u64,
    pub duty_cycle: u64,
    pub compression: bool,
    pub fsync: bool,
    /// `--rdb FILE` and `--rdb-db`: the dataset is the dump's keys.
    pub rdb: Option<(std::path::PathBuf, Option<String>)>,
}

/// What a worker sends back.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct CellResult {
    pub row: CowRow,
    pub points: Vec<CowPoint>,
    pub log: Vec<String>,
}

/// How often the parent samples its own RSS during a save.
const RSS_PERIOD: Duration = Duration::from_millis(5);
/// Writes applied between two looks at the clock and the child.
const BURST: u64 = 256;

fn entry_addr(e: &Entry) -> usize {
    e as *const Entry as usize
}

fn value_range(v: &Value) -> (usize, usize) {
    match v {
        Value::Str(Blob::Bytes(b)) => (b.as_ptr() as usize, b.len()),
        _ => (0, 0),
    }
}

struct Dataset {
    engine: Engine,
    keys: u32,
    template: Vec<u8>,
    /// With `--rdb`: the dump's keys, indexed as the writes choose them (else keys are ids).
    names: Option<Vec<Key>>,
    /// Value bytes of the dataset.
    dataset_bytes: u64,
}

impl Dataset {
    fn key(&self, id: u32) -> Key {
        match &self.names {
            Some(n) => n[id as usize].clone(),
            None => Key::from_id(id as u64),
        }
    }
}

fn build(cell: &Cell, rng: &mut Xoshiro256PlusPlus) -> Result<Dataset, String> {
    let cfg = Config::parse_str(
        "lab-storage materialized\nlab-sampling uniform\nmaxmemory 0\nmaxmemory-policy noeviction\nsave \"\"",
    )
    .map_err(|e| e.to_string())?;
    let mut engine = Engine::new(cfg, cell.seed).map_err(|e| e.to_string())?;
    if let Some((path, db)) = &cell.rdb {
        crate::dump::load(&mut engine, path, db.as_deref()).map_err(|e| e.to_string())?;
        let names: Vec<Key> = engine
            .keyspace()
            .iter()
            .map(|(_, e)| e.key.clone())
            .collect();
        if names.is_empty() || names.len() > u32::MAX as usize {
            return Err(format!(
                "{}: {} keys loaded; expected 1 to 2^32-1 keys",
                path.display(),
                names.len()
            ));
        }
        // Rewrites of string keys take new random bytes of the same length from here.
        let longest = engine
            .keyspace()
            .iter()
            .map(|(_, e)| match &e.value {
                Value::Str(b) => b.len() as usize,
                _ => 0,
            })
            .max()
            .unwrap_or(0)
            .max(1);
        let mut template = vec![0u8; longest * 2];
        for b in template.iter_mut() {
            *b = rng.random::<u8>();
        }
        return Ok(Dataset {
            keys: names.len() as u32,
            dataset_bytes: engine.logical_bytes(),
            engine,
            template,
            names: Some(names),
        });
    }
    let vs = cell.value_size.max(1) as usize;
    let keys = (cell.dataset_bytes / cell.value_size.max(1)).clamp(1, u32::MAX as u64) as u32;
    // Random bytes: incompressible payloads, as real values mostly are.
    let mut template = vec![0u8; vs * 2];
    for b in template.iter_mut() {
        *b = rng.random::<u8>();
    }
    for id in 0..keys {
        let off = (id as usize * 7) % vs;
        engine.set(
            Key::from_id(id as u64),
            Blob::bytes(&template[off..off + vs]),
            SetOptions::default(),
        );
    }
    Ok(Dataset {
        engine,
        keys,
        template,
        names: None,
        dataset_bytes: cell.dataset_bytes,
    })
}

/// Applies one write of key `id`, recording touched addresses for the software tracker:
/// a SET of new bytes of the value's length (`--value-size`, or with `--rdb` the string's
/// own length); with `--rdb` a hash, set, sorted set or list is rewritten by a copy of
/// itself (same contents, new allocations, its TTL kept).
#[inline]
fn write_one(d: &mut Dataset, id: u32, n: u64, tracker: &mut Option<PageTracker>) {
    let half = d.template.len() / 2;
    let key = d.key(id);
    let mut copy = None;
    let mut vs = half;
    if let Some(e) = d.engine.peek(&key) {
        if let Some(t) = tracker.as_mut() {
            let (a, l) = value_range(&e.value);
            t.record_write(a, l);
            t.record_write(entry_addr(e), std::mem::size_of::<Entry>());
        }
        if d.names.is_some() {
            match &e.value {
                Value::Str(b) => vs = b.len() as usize,
                v => copy = Some((v.clone(), e.expire_at_ms)),
            }
        }
    }
    match copy {
        Some((v, expire)) => {
            d.engine.restore(key.clone(), v, expire);
        }
        None => {
            let off = (n as usize * 13) % half;
            d.engine.set(
                key.clone(),
                Blob::bytes(&d.template[off..off + vs]),
                SetOptions::default(),
            );
        }
    }
    if let Some(t) = tracker.as_mut()
        && let Some(e) = d.engine.peek(&key)
    {
        let (a, l) = value_range(&e.value);
        t.record_write(a, l);
    }
}

pub(crate) fn run_cell(cell: &Cell, work_dir: &Path) -> Result<CellResult, String> {
    // THP first, before the dataset exists (prctl is inherited by the BGSAVE child).
    let thp_ok = match cell.thp {
        ThpMode::Off => thp::set_thp_disabled(true).map_err(|e| e.to_string()),
        ThpMode::On => thp::set_thp_disabled(false).map_err(|e| e.to_string()),
        ThpMode::System => Ok(()),
    };
    thp_ok.map_err(|e| format!("prctl(PR_SET_THP_DISABLE): {e}"))?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cell.seed ^ (cell.repeat as u64) << 32);
    let mut d = build(cell, &mut rng)?;
    let mut log = Vec::new();
    if cell.thp == ThpMode::On {
        let a = thp::advise_huge_pages(true).map_err(|e| format!("madvise: {e}"))?;
        log.push(format!(
            "THP on: advised {} MB, collapsed {} MB ({} collapse failures), AnonHugePages {} MB",
            a.advised_bytes >> 20,
            a.collapsed_bytes >> 20,
            a.collapse_failures,
            a.anon_huge_bytes >> 20
        ));
    }
    let anon_huge = thp::anon_huge_bytes().unwrap_or(0);
    let chooser = KeyChooser::new(cell.distribution, d.keys, &mut rng)?;
    let p = chooser.probabilities(cell.distribution);
    // The layout at the fork, for the prediction.
    let layout: Vec<KeyPages> = (0..d.keys)
        .map(|id| match d.engine.peek(&d.key(id)) {
            Some(e) => {
                let (a, l) = value_range(&e.value);
                KeyPages::new(a, l, entry_addr(e))
            }
            None => KeyPages::new(0, 0, 0),
        })
        .collect();
    let q = page_probabilities(&layout, &p);
    let target = work_dir.join(format!("cell-{}.evs", std::process::id()));
    let save_opts = SaveOptions {
        snapshot: SnapshotOptions {
            compression: cell.compression,
            checksum: true,
        },
        bandwidth_bytes_per_sec: cell.save_bandwidth,
        fsync: cell.fsync,
        ..SaveOptions::default()
    };
    let mut distinct = FreshBitmap::new(d.keys as u64).map_err(|e| e.to_string())?;
    let rss_start = read_rss().unwrap_or(0);
    let mut row = CowRow {
        snapshot: cell.snapshot.name().into(),
        dataset_bytes: d.dataset_bytes,
        keys: d.keys as u64,
        value_size: if cell.rdb.is_some() {
            0
        } else {
            cell.value_size
        },
        distribution: cell.distribution.name(),
        write_rate: cell.write_rate,
        thp: cell.thp.name().into(),
        repeat: cell.repeat,
        seed: cell.seed,
        thp_system: thp::system_mode(),
        anon_huge_bytes: anon_huge,
        parent_rss_start_bytes: rss_start,
        page_size: page_size(),
        status: "ok".into(),
        ..CowRow::default()
    };
    // Reserved before the snapshot so that recording does not grow it (and copy pages)
    // while the child runs.
    let mut points = Vec::with_capacity(1 << 16);
    let (snap_name, thp_name, dist_name) = (
        row.snapshot.clone(),
        row.thp.clone(),
        row.distribution.clone(),
    );
    let dataset_bytes = d.dataset_bytes;
    let point = |source: &str, t: Duration| CowPoint {
        snapshot: snap_name.clone(),
        thp: thp_name.clone(),
        write_rate: cell.write_rate,
        distribution: dist_name.clone(),
        dataset_bytes,
        value_size: if cell.rdb.is_some() {
            0
        } else {
            cell.value_size
        },
        repeat: cell.repeat,
        source: source.into(),
        t_ms: t.as_secs_f64() * 1000.0,
        ..CowPoint::default()
    };
    let mut writes = 0u64;
    let mut rss_peak = rss_start;
    match cell.snapshot {
        SnapshotMode::Fork => {
            let method = pages::best_method();
            let mut kernel = if method == Method::WrittenAddresses {
                None
            } else {
                Some(PageTracker::before_fork(method, None).map_err(|e| e.to_string())?)
            };
            let mut soft = Some(
                PageTracker::before_fork(Method::WrittenAddresses, None)
                    .map_err(|e| e.to_string())?,
            );
            let fork_opts = ForkOptions {
                report_period: Duration::from_millis(cell.report_period_ms),
                duty_cycle: cell.duty_cycle,
                handshake: true,
                ..ForkOptions::default()
            };
            let mut bg = save::bgsave(&d.engine, &target, &save_opts, &fork_opts)
                .map_err(|e| format!("Can't save in background: {e}"))?;
            d.engine.set_child_alive(true);
            if let Some(k) = kernel.as_mut() {
                k.after_fork().map_err(|e| e.to_string())?;
            }
            if let Some(s) = soft.as_mut() {
                s.after_fork().map_err(|e| e.to_string())?;
            }
            let t0 = bg.child.started();
            // Start writing only once the child has taken its baseline reading: writes
            // before it would be hidden in the baseline.
            while bg.child.baseline().is_none() {
                if let ChildState::Exited(e) = bg.child.poll() {
                    d.engine.set_child_alive(false);
                    return Err(format!("the BGSAVE child ended at once: {:?}", e.outcome));
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            let writes_from = t0.elapsed();
            let mut next_rss = Duration::ZERO;
            let mut seen = 0;
            let mut last_rss = rss_start;
            let ended_early = loop {
                let el = t0.elapsed();
                let due = (cell.write_rate as f64 * (el - writes_from).as_secs_f64()) as u64;
                let stop = due.min(writes + BURST);
                while writes < stop {
                    let id = chooser.next(&mut rng);
                    write_one(&mut d, id, writes, &mut soft);
                    distinct.set(id as u64);
                    writes += 1;
                }
                if el >= next_rss {
                    last_rss = read_rss().unwrap_or(last_rss);
                    rss_peak = rss_peak.max(last_rss);
                    let mut pt = point("parent", el);
                    pt.writes = Some(writes);
                    pt.parent_rss_bytes = Some(last_rss);
                    points.push(pt);
                    next_rss = el + RSS_PERIOD;
                }
                let state = bg.child.poll();
                for s in &bg.child.samples()[seen..] {
                    let mut pt = point("child", Duration::from_micros(s.t_us));
                    pt.cow_bytes = Some(s.cow_bytes);
                    pt.private_dirty_bytes = Some(s.private_dirty_bytes);
                    pt.fresh = Some(s.fresh);
                    pt.keys_processed = Some(s.keys_processed);
                    pt.writes = Some(writes);
                    pt.parent_rss_bytes = Some(last_rss);
                    points.push(pt);
                }
                seen = bg.child.samples().len();
                if bg.child.waiting_for_go() {
                    break None;
                }
                if let ChildState::Exited(e) = state {
                    break Some(e);
                }
                if writes >= due {
                    std::thread::sleep(Duration::from_micros(50));
                }
            };
            row.save_ms = t0.elapsed().as_secs_f64() * 1000.0;
            if let Some(e) = ended_early {
                d.engine.set_child_alive(false);
                return Err(format!(
                    "the BGSAVE child ended before its handshake: {:?}",
                    e.outcome
                ));
            }
            // Both processes alive, the parent idle: count the pages it dirtied.
            let truth = match &kernel {
                Some(k) => Some(k.count().map_err(|e| e.to_string())?),
                None => None,
            };
            let written = soft
                .as_ref()
                .map_or(Default::default(), |s| s.count().unwrap_or_default());
            bg.child.release();
            let exit = bg.child.wait(Duration::from_micros(200));
            d.engine.set_child_alive(false);
            for s in &bg.child.samples()[seen..] {
                let mut pt = point("child", Duration::from_micros(s.t_us));
                pt.cow_bytes = Some(s.cow_bytes);
                pt.private_dirty_bytes = Some(s.private_dirty_bytes);
                pt.fresh = Some(s.fresh);
                pt.keys_processed = Some(s.keys_processed);
                pt.writes = Some(writes);
                points.push(pt);
            }
            if !matches!(
                exit.outcome,
                evictlab_engine::persist::fork::ChildOutcome::Success
            ) {
                row.status = format!("child failed: {:?}", exit.outcome);
            }
            let samples = bg.child.samples();
            let fresh: Vec<u64> = samples
                .iter()
                .filter(|s| s.fresh)
                .map(|s| s.cow_bytes)
                .collect();
            row.fork_usec = bg.child.fork_usec();
            row.fork_ms_per_gb = if rss_start > 0 {
                row.fork_usec as f64 / 1000.0 / (rss_start as f64 / (1u64 << 30) as f64)
            } else {
                0.0
            };
            row.cow_baseline_bytes = bg.child.baseline().unwrap_or(0);
            row.cow_peak_bytes = bg.child.cow_peak_bytes();
            row.cow_final_bytes = samples
                .iter()
                .rev()
                .find(|s| s.is_final)
                .map_or(0, |s| s.cow_bytes);
            row.cow_average_bytes = if fresh.is_empty() {
                0
            } else {
                fresh.iter().sum::<u64>() / fresh.len() as u64
            };
            row.cow_samples = samples.len() as u64;
            if let Some(st) = bg.child.final_stats() {
                log.push(st.log_line("RDB"));
            }
            log.push(format!(
                "Background saving started by pid {}",
                bg.child.pid()
            ));
            log.push(match exit.outcome {
                evictlab_engine::persist::fork::ChildOutcome::Success => {
                    "Background saving terminated with success".to_string()
                }
                o => format!("Background saving error ({o:?})"),
            });
            row.written_pages = written.dirtied;
            match truth {
                Some(t) => {
                    row.dirtied_pages = t.dirtied;
                    row.released_pages = t.released;
                    row.ground_truth_method = method.name().into();
                }
                None => {
                    row.dirtied_pages = written.dirtied;
                    row.ground_truth_method = Method::WrittenAddresses.name().into();
                }
            }
            row.snapshot_bytes = std::fs::metadata(&target).map_or(0, |m| m.len());
            row.extra_memory_peak_bytes = rss_peak.saturating_sub(rss_start) + row.cow_peak_bytes;
        }
        SnapshotMode::Forkless => {
            let t0 = Instant::now();
            let mut snap = ForklessSnapshot::start(&mut d.engine, &target, &save_opts)
                .map_err(|e| e.to_string())?;
            let mut next_rss = Duration::ZERO;
            let mut none = None;
            loop {
                let el = t0.elapsed();
                let due = (cell.write_rate as f64 * el.as_secs_f64()) as u64;
                let stop = due.min(writes + BURST);
                while writes < stop {
                    let id = chooser.next(&mut rng);
                    write_one(&mut d, id, writes, &mut none);
                    distinct.set(id as u64);
                    writes += 1;
                }
                let allowed = if cell.save_bandwidth > 0 {
                    (cell.save_bandwidth as f64 * el.as_secs_f64()) as u64
                } else {
                    u64::MAX
                };
                let mut finished = false;
                if snap.stats().bytes_written < allowed {
                    finished = snap
                        .step(&d.engine, BURST as usize)
                        .map_err(|e| e.to_string())?;
                }
                if el >= next_rss || finished {
                    let rss = read_rss().unwrap_or(0);
                    rss_peak = rss_peak.max(rss);
                    let st = snap.stats();
                    let mut pt = point("parent", el);
                    pt.writes = Some(writes);
                    pt.parent_rss_bytes = Some(rss);
                    pt.keys_processed = Some(st.keys_by_scan + st.keys_by_hook);
                    pt.buffered_bytes = Some(st.buffered_peak_bytes);
                    points.push(pt);
                    next_rss = el + RSS_PERIOD;
                }
                if finished {
                    break;
                }
                if writes >= due && snap.stats().bytes_written >= allowed {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
            let st = snap.finish(&mut d.engine).map_err(|e| e.to_string())?;
            row.save_ms = t0.elapsed().as_secs_f64() * 1000.0;
            row.forkless_buffer_peak_bytes = st.buffered_peak_bytes;
            row.forkless_keys_by_hook = st.keys_by_hook;
            row.snapshot_bytes = st.bytes_written;
            row.ground_truth_method = "n/a".into();
            row.extra_memory_peak_bytes = rss_peak.saturating_sub(rss_start);
        }
    }
    row.writes_during_save = writes;
    row.achieved_write_rate = if row.save_ms > 0.0 {
        writes as f64 / (row.save_ms / 1000.0)
    } else {
        0.0
    };
    row.distinct_keys_written = distinct.count();
    row.parent_rss_peak_bytes = rss_peak;
    if cell.snapshot == SnapshotMode::Fork {
        let pg = page_size();
        let predicted = expected_distinct_pages(&q, writes);
        row.predicted_pages = predicted;
        row.predicted_cow_bytes = (predicted * pg as f64) as u64;
        row.predicted_uniform_pages = closed_form_pages(&layout, writes);
    }
    let _ = std::fs::remove_file(&target);
    Ok(CellResult { row, points, log })
}
