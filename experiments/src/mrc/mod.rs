//! Miss-ratio curves of LRU in one pass: exact stack distances and SHARDS sampling.
//!
//! **Exact.** LRU is a stack algorithm (Mattson, Gecsei, Slutz & Traiger, "Evaluation
//! techniques for storage hierarchies", IBM Systems Journal 9(2), 1970): the cache of size
//! `C` holds the `C` most recently used objects, so a request hits in every cache larger than
//! its *stack distance* (the number of distinct objects used since the previous request to
//! the same object, plus one). One pass that computes every request's stack distance gives
//! the miss ratio at every size. The distance is computed as in Bennett & Kruskal ("LRU stack
//! processing", IBM J. R&D 19(4), 1975) and Olken's tree variant: each object's last access
//! time is marked in a Fenwick tree (Fenwick, "A new data structure for cumulative frequency
//! tables", 1994) over request timestamps, so "distinct objects since time `t0`" is the number
//! of marks after `t0` — one prefix sum, O(log n). The tree is compacted (live marks
//! renumbered `0..live`) whenever time reaches its end, so it stays O(distinct objects) in size.
//!
//! **Byte capacity** (workloads with sizes). With every object's size fixed, an LRU cache of
//! `C` bytes that evicts from the tail until the incoming object fits (the engine's `strict`
//! enforcement, libCacheSim's byte mode) always holds the longest prefix of the recency stack
//! whose sizes sum to at most `C` (induction over hits, which keep the prefix, and misses,
//! which push the object and trim the tail). So a request hits iff the bytes of the objects
//! used since its previous request plus its own size are at most `C` — the same prefix sum
//! over a second Fenwick tree holding sizes. This is exact when each object keeps one size
//! (the size it was cached with is kept on GET hits; a SET changes it); when sizes vary per
//! request it is the usual approximation.
//!
//! **SHARDS** (Waldspurger, Park, Garthwaite & Ahmad, "Efficient MRC Construction with
//! SHARDS", FAST 2015). Spatial sampling: a key is sampled iff `hash(key) < T`, with a fixed
//! seed hash of the key, so every request to a sampled key is seen and the sampled stream is
//! an exact LRU stream of `R = T / 2^64` of the keys; distances are scaled by `1/R`.
//! * *fixed-rate* (`shards-rate`): `T = R · 2^64`. With `adjust` on (the default), the
//!   SHARDS_adj correction of §4.2 is applied: the difference between the expected number of
//!   sampled references `N·R` and the number actually sampled is added to the first histogram
//!   bucket (smallest distance), correcting for hot keys over- or under-represented in the sample.
//! * *fixed-size* (`shards-size`, §4.3): at most `s_max` keys are tracked; when a new key
//!   would exceed that, the tracked key with the largest hash is dropped, `T` is lowered to its
//!   hash and `R` with it. Earlier histogram counts are rescaled by `R_new / R_old` (the
//!   paper's rescaling), implemented by weighting each reference by `1 / R` at the time it is
//!   counted (the common factor cancels in the ratio). With `adjust` on (the default) the
//!   SHARDS_adj idea is carried over to the weighted sample — our extension, by analogy: the
//!   difference between the number of GETs and the weighted count of sampled GETs goes to the
//!   first bucket. Without it the curve is biased by whether the hottest keys fall in the
//!   sample (on a Zipf(0.99) workload, MAE 0.03 without, under 0.005 with).
//!
//! What is counted: GET requests (the engine's `keyspace_misses`); a GET miss is filled (the
//! demand-fill cache `experiment hitrate` replays by default). A SET makes its key most
//! recent without being counted. A DELETE frees a slot in every cache holding the key, so
//! those caches hold one object fewer than the top of the stack until a miss fills the slot
//! without evicting: the key's mark stays in the stack as a *hole* (it counts in the depth of
//! the keys below it), and the next access to a key below the most recent hole moves that
//! hole into the key's old place (the caches that missed filled it), while a new key removes
//! it. This is exact for object capacity (the tests compare it with the engine on workloads
//! with DELETEs); byte distances drop a deleted key's size at once, which is exact only
//! without DELETEs. TTLs are ignored (no expiry).
//!
//! The hot loop does not allocate: maps, trees, histograms and the SHARDS heap are sized
//! before the pass (only a compaction that finds the tree more than half full doubles it,
//! which happens O(log n) times at most).

pub mod cmd;
pub mod report;
mod stack;

use stack::Stack;

use std::collections::BinaryHeap;

use evictlab_workloads::Op;
use evictlab_workloads::hash::key_hash;
use serde::Serialize;

use crate::RunError;
use crate::hitrate::CapacityUnit;
use crate::timing::{Repeat, best_of};
use crate::workload::Workload;

/// Default SHARDS sampling rate (`--rate`).
pub const DEFAULT_RATE: f64 = 0.01;
/// Default SHARDS fixed-size sample (`--shards-size`), the paper's s_max = 8K.
pub const DEFAULT_SHARDS_SIZE: usize = 8192;
/// Salt separating the SHARDS sampling hash from the workloads' other per-key hashes.
const SHARDS_SALT: u64 = 0x5348_4152_4453; // "SHARDS"
/// 2^64 as a float.
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

/// How a curve is computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// Every request, exact stack distances.
    Exact,
    /// SHARDS with a fixed sampling rate in (0, 1]; `adjust` applies SHARDS_adj.
    ShardsRate {
        /// Sampling rate R.
        rate: f64,
        /// Apply the SHARDS_adj correction.
        adjust: bool,
    },
    /// SHARDS with at most `s_max` tracked keys.
    ShardsSize {
        /// The most keys tracked at once.
        s_max: usize,
        /// Apply the SHARDS_adj correction (weighted, see the module doc).
        adjust: bool,
    },
}

impl Method {
    /// The CSV name: `exact`, `shards-rate` or `shards-size`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::ShardsRate { .. } => "shards-rate",
            Method::ShardsSize { .. } => "shards-size",
        }
    }
}

/// The method names accepted by `--methods`.
pub const METHOD_NAMES: &[&str] = &["exact", "shards-rate", "shards-size"];

/// A miss-ratio curve for one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Mrc {
    /// The method's CSV name.
    pub method: &'static str,
    /// Keys or bytes.
    pub unit: CapacityUnit,
    /// The (final) sampling rate; 1 for exact.
    pub rate: f64,
    /// `(capacity, miss ratio)` in increasing capacity.
    pub points: Vec<(u64, f64)>,
    /// Requests in the workload.
    pub requests: u64,
    /// GET requests in the workload.
    pub gets: u64,
    /// GET requests the method processed (all of them for exact).
    pub sampled_requests: u64,
    /// Wall-clock seconds of the pass (shared by the units of one pass); the fastest of the
    /// repeated passes with [`compute_timed`].
    pub seconds: f64,
}

impl Mrc {
    /// The miss ratio at `capacity`, if it is on the curve's grid.
    pub fn at(&self, capacity: u64) -> Option<f64> {
        self.points
            .binary_search_by_key(&capacity, |p| p.0)
            .ok()
            .map(|i| self.points[i].1)
    }
}

/// One line of `mrc.csv`. Every column but `seconds` and `requests_per_sec` is deterministic.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct MrcRow {
    /// Cache size in `capacity_unit`.
    pub capacity: u64,
    /// Miss ratio of LRU at that size (GET misses / GETs).
    pub miss_ratio: f64,
    /// `exact`, `shards-rate` or `shards-size`.
    pub method: String,
    /// Sampling rate (1 for exact; the final rate for shards-size).
    pub rate: f64,
    /// Workload name.
    pub workload: String,
    /// `keys` or `bytes`.
    pub capacity_unit: String,
    /// Capacity / working set in the same unit.
    pub capacity_fraction: f64,
    /// Requests in the workload.
    pub requests: u64,
    /// GETs in the workload.
    pub gets: u64,
    /// GETs the method processed.
    pub sampled_requests: u64,
    /// Wall-clock seconds of the whole pass (timing column). `experiment mrc` and the suite
    /// repeat a pass until the passes last 200 ms together (at most 1 000 passes, see
    /// [`Repeat::MRC`]) and write the fastest; a pass of 200 ms or more runs once.
    pub seconds: f64,
    /// requests / seconds (timing column): the fastest pass's speed.
    pub requests_per_sec: f64,
}

/// The CSV columns that are not deterministic.
pub const TIMING_COLUMNS: &[&str] = &["seconds", "requests_per_sec"];

/// Capacity grids per unit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grids {
    /// Object counts, increasing, ≥ 1.
    pub keys: Vec<u64>,
    /// Byte sizes, increasing, ≥ 1 (only for workloads with sizes).
    pub bytes: Option<Vec<u64>>,
}

/// Spacing of a capacity grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GridKind {
    /// `max·i/points` for i = 1..=points.
    Linear,
    /// Geometric from 1 to `max`.
    Log,
}

/// `points` capacities up to `max` (increasing, deduplicated, each ≥ 1).
pub fn capacity_grid(max: u64, points: usize, kind: GridKind) -> Vec<u64> {
    let max = max.max(1);
    let points = points.max(1);
    let mut v: Vec<u64> = (1..=points)
        .map(|i| match kind {
            GridKind::Linear => ((max as f64 * i as f64) / points as f64).round() as u64,
            GridKind::Log if points == 1 => max,
            GridKind::Log => (max as f64)
                .powf((i - 1) as f64 / (points - 1) as f64)
                .round() as u64,
        })
        .map(|c| c.clamp(1, max))
        .collect();
    v.dedup();
    v
}

/// The grids for a workload: objects up to its distinct objects, and bytes up to its
/// working-set bytes when it has sizes.
pub fn grids_for(w: &Workload, points: usize, kind: GridKind) -> Grids {
    Grids {
        keys: capacity_grid(w.working_set.objects, points, kind),
        bytes: w
            .info
            .has_sizes
            .then(|| capacity_grid(w.working_set.bytes, points, kind)),
    }
}

/// Mean absolute difference of the miss ratios of two curves over the capacities they
/// share; `None` if they share none.
pub fn mean_absolute_error(a: &Mrc, b: &Mrc) -> Option<f64> {
    let mut sum = 0.0;
    let mut n = 0u64;
    for &(c, m) in &a.points {
        if let Some(o) = b.at(c) {
            sum += (m - o).abs();
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

/// The rows of `mrc.csv` for curves of workload `w`.
pub fn rows(w: &Workload, curves: &[Mrc]) -> Vec<MrcRow> {
    let mut out = Vec::new();
    for m in curves {
        let ws = match m.unit {
            CapacityUnit::Keys => w.working_set.objects,
            CapacityUnit::Bytes => w.working_set.bytes,
        };
        for &(capacity, miss_ratio) in &m.points {
            out.push(MrcRow {
                capacity,
                miss_ratio,
                method: m.method.to_string(),
                rate: m.rate,
                workload: w.info.name.clone(),
                capacity_unit: m.unit.name().to_string(),
                capacity_fraction: if ws > 0 {
                    capacity as f64 / ws as f64
                } else {
                    0.0
                },
                requests: m.requests,
                gets: m.gets,
                sampled_requests: m.sampled_requests,
                seconds: m.seconds,
                requests_per_sec: if m.seconds > 0.0 {
                    m.requests as f64 / m.seconds
                } else {
                    0.0
                },
            });
        }
    }
    out
}

/// Writes rows as CSV.
pub fn write_csv(path: &std::path::Path, rows: &[MrcRow]) -> Result<(), RunError> {
    crate::output::write_csv(path, rows)
}

/// Computes the curve of `method` on `w` at the capacities of `grids` (one [`Mrc`] per unit:
/// keys, then bytes if `grids.bytes` is set) in one pass. `seed` selects the SHARDS sample.
/// The pass is timed once ([`compute_timed`] with [`Repeat::ONCE`]).
pub fn compute(
    w: &Workload,
    method: Method,
    grids: &Grids,
    seed: u64,
) -> Result<Vec<Mrc>, RunError> {
    compute_timed(w, method, grids, seed, Repeat::ONCE)
}

/// [`compute`], with the pass repeated as `repeat` asks: the curves are the first pass's (a
/// pass is a pure function of the workload, grids, method and seed), `seconds` the fastest
/// pass's ([`crate::timing::best_of`]). Each pass sets up its own stack and histograms, as
/// a single pass would.
pub fn compute_timed(
    w: &Workload,
    method: Method,
    grids: &Grids,
    seed: u64,
    repeat: Repeat,
) -> Result<Vec<Mrc>, RunError> {
    validate(method, grids)?;
    let timed = best_of(repeat, || match method {
        Method::Exact => exact(w, grids),
        Method::ShardsRate { rate, adjust } => shards_rate(w, grids, rate, adjust, seed),
        Method::ShardsSize { s_max, adjust } => shards_size(w, grids, s_max, adjust, seed),
    });
    let (keys, bytes, rate, gets, sampled) = timed.output;
    let seconds = timed.best_seconds;
    let mk = |unit, points| Mrc {
        method: method.name(),
        unit,
        rate,
        points,
        requests: w.requests.len() as u64,
        gets,
        sampled_requests: sampled,
        seconds,
    };
    let mut out = vec![mk(CapacityUnit::Keys, keys)];
    if let Some(b) = bytes {
        out.push(mk(CapacityUnit::Bytes, b));
    }
    Ok(out)
}

fn validate(method: Method, grids: &Grids) -> Result<(), RunError> {
    let increasing = |g: &[u64]| g.first().is_some_and(|&c| c >= 1) && g.is_sorted();
    if !increasing(&grids.keys) || !grids.bytes.as_deref().is_none_or(increasing) {
        return Err(RunError::BadArgument {
            flag: "--points",
            value: format!("{grids:?}"),
            expected: "a non-empty increasing grid of capacities ≥ 1",
        });
    }
    match method {
        Method::ShardsRate { rate, .. } if !(rate > 0.0 && rate <= 1.0) => {
            Err(RunError::BadArgument {
                flag: "--rate",
                value: rate.to_string(),
                expected: "a sampling rate in (0, 1]",
            })
        }
        Method::ShardsSize { s_max, .. } if s_max == 0 => Err(RunError::BadArgument {
            flag: "--shards-size",
            value: s_max.to_string(),
            expected: "a positive number of keys",
        }),
        _ => Ok(()),
    }
}

/// Curves per unit, final rate, GETs, GETs processed.
type PassResult = (Vec<(u64, f64)>, Option<Vec<(u64, f64)>>, f64, u64, u64);

fn exact(w: &Workload, grids: &Grids) -> PassResult {
    let objects = w.working_set.objects as usize;
    let track_bytes = grids.bytes.is_some();
    let mut stack = Stack::new(objects, track_bytes);
    // hist[d] = GETs whose previous use is d distinct objects back (they hit when C > d).
    let mut hist = vec![0u64; objects + 1];
    let mut by_bytes = grids.bytes.as_deref().map(Buckets::new);
    let mut gets = 0u64;
    for r in w.requests.iter() {
        match r.op {
            Op::Get => {
                gets += 1;
                if let Some((depth, b)) = stack.access(r.key, r.value_size, false) {
                    hist[depth as usize] += 1;
                    if let Some(bb) = by_bytes.as_mut() {
                        bb.add(b as f64, 1.0);
                    }
                }
            }
            Op::Set => {
                stack.access(r.key, r.value_size, true);
            }
            Op::Delete => stack.delete(r.key),
        }
    }
    // Hits at capacity C = Σ_{d < C} hist[d].
    let mut keys = Vec::with_capacity(grids.keys.len());
    let (mut d, mut hits) = (0usize, 0u64);
    for &c in &grids.keys {
        while d < hist.len() && (d as u64) < c {
            hits += hist[d];
            d += 1;
        }
        keys.push((c, miss_ratio(hits as f64, gets as f64)));
    }
    let bytes = by_bytes.map(|b| b.curve(0.0, gets as f64));
    (keys, bytes, 1.0, gets, gets)
}

/// Sampling threshold for rate `r`: a key is sampled iff its hash is ≤ the threshold.
fn threshold(rate: f64) -> u64 {
    if rate >= 1.0 {
        u64::MAX
    } else {
        ((rate * TWO_64) as u64).saturating_sub(1)
    }
}

/// The rate a threshold samples.
fn rate_of(threshold: u64) -> f64 {
    (threshold as f64 + 1.0) / TWO_64
}

fn shards_hash(seed: u64, key: u64) -> u64 {
    key_hash(seed, key, SHARDS_SALT)
}

fn shards_rate(w: &Workload, grids: &Grids, rate: f64, adjust: bool, seed: u64) -> PassResult {
    let thr = threshold(rate);
    let r = rate_of(thr).min(1.0);
    let expected_keys = (w.working_set.objects as f64 * r * 1.25) as usize + 64;
    let mut stack = Stack::new(expected_keys, grids.bytes.is_some());
    let mut by_keys = Buckets::new(&grids.keys);
    let mut by_bytes = grids.bytes.as_deref().map(Buckets::new);
    let inv = 1.0 / r;
    let (mut gets, mut sampled) = (0u64, 0u64);
    for req in w.requests.iter() {
        let is_get = req.op == Op::Get;
        gets += u64::from(is_get);
        if shards_hash(seed, req.key) > thr {
            continue;
        }
        match req.op {
            Op::Get => {
                sampled += 1;
                if let Some((depth, b)) = stack.access(req.key, req.value_size, false) {
                    by_keys.add((depth + 1) as f64 * inv, 1.0);
                    if let Some(bb) = by_bytes.as_mut() {
                        bb.add(b as f64 * inv, 1.0);
                    }
                }
            }
            Op::Set => {
                stack.access(req.key, req.value_size, true);
            }
            Op::Delete => stack.delete(req.key),
        }
    }
    // SHARDS_adj: the expected sample is gets·R; the difference goes to the first bucket.
    let (extra, total) = if adjust {
        let expected = gets as f64 * r;
        (expected - sampled as f64, expected)
    } else {
        (0.0, sampled as f64)
    };
    let keys = by_keys.curve(extra, total);
    let bytes = by_bytes.map(|b| b.curve(extra, total));
    (keys, bytes, r, gets, sampled)
}

fn shards_size(w: &Workload, grids: &Grids, s_max: usize, adjust: bool, seed: u64) -> PassResult {
    let mut thr = u64::MAX;
    let mut r = 1.0f64;
    let mut stack = Stack::new(s_max + 1, grids.bytes.is_some());
    // Max-heap of (hash, key) of tracked keys; entries of deleted keys are dropped lazily.
    let mut heap: BinaryHeap<(u64, u64)> = BinaryHeap::with_capacity(s_max + 2);
    let mut by_keys = Buckets::new(&grids.keys);
    let mut by_bytes = grids.bytes.as_deref().map(Buckets::new);
    let (mut gets, mut sampled) = (0u64, 0u64);
    let mut total = 0.0f64;
    for req in w.requests.iter() {
        let is_get = req.op == Op::Get;
        gets += u64::from(is_get);
        let h = shards_hash(seed, req.key);
        if h > thr {
            continue;
        }
        if req.op == Op::Delete {
            stack.delete(req.key);
            continue;
        }
        let access = stack.access(req.key, req.value_size, !is_get);
        if access.is_none() {
            heap.push((h, req.key));
            let mut dropped_self = false;
            while stack.live() > s_max {
                let Some((hm, km)) = heap.pop() else { break };
                if !stack.contains(km) {
                    continue; // deleted since it was pushed
                }
                stack.remove(km);
                // Keys with a hash ≥ hm are no longer sampled.
                thr = hm.saturating_sub(1);
                r = rate_of(thr);
                dropped_self |= km == req.key;
            }
            if dropped_self {
                continue;
            }
        }
        if !is_get {
            continue;
        }
        // Each reference stands for 1/R references of the full stream (the paper's rescaling
        // of earlier counts by R_new/R_old, up to a common factor).
        let weight = 1.0 / r;
        sampled += 1;
        total += weight;
        if let Some((depth, b)) = access {
            by_keys.add((depth + 1) as f64 / r, weight);
            if let Some(bb) = by_bytes.as_mut() {
                bb.add(b as f64 / r, weight);
            }
        }
    }
    // SHARDS_adj with weights: the weighted sample should total the GETs.
    let (extra, total) = if adjust {
        (gets as f64 - total, gets as f64)
    } else {
        (0.0, total)
    };
    let keys = by_keys.curve(extra, total);
    let bytes = by_bytes.map(|b| b.curve(extra, total));
    (keys, bytes, r, gets, sampled)
}

fn miss_ratio(hits: f64, total: f64) -> f64 {
    if total > 0.0 {
        (1.0 - hits / total).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Weighted counts of distances by the grid capacity they first fit: bucket `i` holds
/// distances in `(grid[i-1], grid[i]]`, the last bucket those beyond the grid.
struct Buckets<'g> {
    grid: &'g [u64],
    weights: Vec<f64>,
}

impl<'g> Buckets<'g> {
    fn new(grid: &'g [u64]) -> Self {
        Buckets {
            grid,
            weights: vec![0.0; grid.len() + 1],
        }
    }

    #[inline]
    fn add(&mut self, distance: f64, weight: f64) {
        let i = self.grid.partition_point(|&c| (c as f64) < distance);
        self.weights[i] += weight;
    }

    /// Miss ratios at the grid, with `extra` hits added at every size (SHARDS_adj).
    fn curve(&self, extra: f64, total: f64) -> Vec<(u64, f64)> {
        let mut hits = extra;
        self.grid
            .iter()
            .zip(&self.weights)
            .map(|(&c, &w)| {
                hits += w;
                (c, miss_ratio(hits, total))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use evictlab_workloads::{Request, SourceInfo};

    fn workload(ids: &[u64]) -> Workload {
        let reqs: Vec<Request> = ids.iter().map(|&k| Request::get(k, 1)).collect();
        Workload::from_requests(
            SourceInfo {
                name: "hand".into(),
                ..SourceInfo::default()
            },
            reqs,
        )
        .unwrap()
    }

    /// Stack distances of a tiny sequence, by hand: `a b c a b d a c` → a, b, c cold;
    /// a (b, c since) → depth 2; b (c, a) → 2; d cold; a (b, d) → 2; c (a, b, d, a) → 3.
    #[test]
    fn hand_computed_stack_distances() {
        let mut s = Stack::new(4, false);
        let seq = [1, 2, 3, 1, 2, 4, 1, 3];
        let want = [None, None, None, Some(2), Some(2), None, Some(2), Some(3)];
        for (k, w) in seq.iter().zip(want) {
            assert_eq!(s.access(*k, 1, false).map(|x| x.0), w, "key {k}");
        }
        // Curve: 8 GETs, depths {2,2,2,3}: C=1,2 → 8 misses; C=3 → 5 misses; C=4 → 4.
        let w = workload(&seq);
        let m = compute(
            &w,
            Method::Exact,
            &Grids {
                keys: vec![1, 2, 3, 4],
                bytes: None,
            },
            1,
        )
        .unwrap();
        assert_eq!(
            m[0].points,
            vec![(1, 1.0), (2, 1.0), (3, 5.0 / 8.0), (4, 0.5)]
        );
    }

    #[test]
    fn byte_distances_count_sizes_of_the_objects_in_between_and_its_own() {
        let mut s = Stack::new(4, true);
        assert_eq!(s.access(1, 10, false), None);
        assert_eq!(s.access(2, 20, false), None);
        assert_eq!(s.access(3, 5, false), None);
        // Since 1: objects 2 (20) and 3 (5), plus its own 10.
        assert_eq!(s.access(1, 10, false), Some((2, 35)));
        // A GET keeps the cached size; a SET replaces it.
        assert_eq!(s.access(3, 999, false), Some((1, 15)));
        assert_eq!(s.access(2, 7, true), Some((2, 35)));
        assert_eq!(s.access(2, 7, false), Some((0, 7)));
        s.remove(1);
        assert_eq!(s.access(3, 5, false), Some((1, 12)));
    }

    #[test]
    fn compaction_keeps_distances() {
        // A stack sized for one object compacts many times and grows its timeline (4096
        // timestamps) once more than 2048 objects are live.
        let mut small = Stack::new(1, true);
        let mut reference: Vec<u64> = Vec::new(); // most recent last
        for i in 0..30_000u64 {
            let k = (i * 7919) % 5000 + (i % 3);
            let got = small.access(k, (k % 13 + 1) as u32, false);
            let want = reference.iter().rposition(|&x| x == k).map(|p| {
                let after = &reference[p + 1..];
                let size: u64 = after.iter().map(|&x| x % 13 + 1).sum();
                (after.len() as u64, size + k % 13 + 1)
            });
            assert_eq!(got, want, "request {i} key {k}");
            if let Some(p) = reference.iter().position(|&x| x == k) {
                reference.remove(p);
            }
            reference.push(k);
        }
    }

    #[test]
    fn grids_are_increasing_and_end_at_the_working_set() {
        let g = capacity_grid(1000, 10, GridKind::Linear);
        assert_eq!(g.first(), Some(&100));
        assert_eq!(g.last(), Some(&1000));
        assert_eq!(g.len(), 10);
        let l = capacity_grid(1000, 4, GridKind::Log);
        assert_eq!(l, vec![1, 10, 100, 1000]);
        assert_eq!(capacity_grid(3, 10, GridKind::Linear), vec![1, 2, 3]);
    }

    #[test]
    fn mae_is_the_mean_of_shared_points() {
        let mk = |p: Vec<(u64, f64)>| Mrc {
            method: "exact",
            unit: CapacityUnit::Keys,
            rate: 1.0,
            points: p,
            requests: 0,
            gets: 0,
            sampled_requests: 0,
            seconds: 0.0,
        };
        let a = mk(vec![(1, 0.5), (2, 0.4), (3, 0.1)]);
        let b = mk(vec![(1, 0.6), (3, 0.2), (4, 0.0)]);
        let e = mean_absolute_error(&a, &b).unwrap();
        assert!((e - 0.1).abs() < 1e-12);
        assert_eq!(mean_absolute_error(&a, &mk(vec![(9, 0.0)])), None);
    }

    #[test]
    fn bad_rates_are_rejected() {
        let w = workload(&[1, 2]);
        let g = grids_for(&w, 2, GridKind::Linear);
        for rate in [0.0, -1.0, 1.5, f64::NAN] {
            assert!(compute(&w, Method::ShardsRate { rate, adjust: true }, &g, 1).is_err());
        }
        let m = Method::ShardsSize {
            s_max: 0,
            adjust: true,
        };
        assert!(compute(&w, m, &g, 1).is_err());
    }
}
