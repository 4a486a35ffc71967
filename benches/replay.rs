//! Hit-rate replay throughput: `caffeine/cloudphysics-w106.trace.xz` (5.3 M requests, 275 k
//! objects) replayed through the engine at 10 % of its working set in objects — keys memory
//! mode, strict enforcement, cache-aside GET + fill on a miss, sized values — exactly as
//! `experiment hitrate --trace … --sizes 0.1` replays one cell ([`hitrate::run_cell`]), for
//! exact `lru` and a few of Redis's sampled policies. Throughput is in requests.
//!
//! The trace is read once from `$EVICTLAB_TRACES`, else `../shared/traces` from the workspace
//! root (or `../../shared/traces` from a git worktree); without it the bench prints a note
//! and measures nothing. Run: `cargo bench --bench replay` (`-- --quick` for a short run).
//! The issue-4 target is ≥ 33 M requests/s for `lru` on one core. The second group compares
//! `lab-memory-mode redis` with `logical` at the same byte limit (issue 11: ≥ 80 %).
//!
//! The third group (issue 13) replays the same requests as an oracleGeneral file with
//! timestamps — one request per second, size 4096, next-access indices: the conversion
//! `benches/libcachesim_compare.py` makes, written to a temporary file — so that every
//! request moves virtual time by 10 cron ticks (the idle-tick closed form,
//! `engine/src/idle.rs`) and values have sizes (capacity in bytes): `lru` at 10 %, once from
//! the loaded (packed) trace and once streamed (the file read again in batches per
//! replay, as `experiment hitrate` does for a single cell).

use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use evictlab_engine::policy::registry;
use evictlab_experiments::hitrate::{self, Cell, HitOptions, SizeUnit};
use evictlab_experiments::source;
use evictlab_experiments::sweep::WorkloadInput;
use evictlab_experiments::workload::Workload;
use evictlab_workloads::{Request, TraceFormat, annotate_next_access};

const TRACE: &str = "caffeine/cloudphysics-w106.trace.xz";
const POLICIES: &[&str] = &["lru", "allkeys-lru", "allkeys-lfu", "allkeys-random"];

fn trace_path() -> Option<PathBuf> {
    let dir = match std::env::var_os("EVICTLAB_TRACES") {
        Some(d) => PathBuf::from(d),
        None => {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            [
                root.join("../shared/traces"),
                root.join("../../shared/traces"),
            ]
            .into_iter()
            .find(|d| d.is_dir())?
        }
    };
    Some(dir.join(TRACE)).filter(|p| p.is_file())
}

fn bench(c: &mut Criterion) {
    let Some(path) = trace_path() else {
        eprintln!("replay bench: {TRACE} not found (set EVICTLAB_TRACES); nothing measured");
        return;
    };
    let source = evictlab_workloads::open_trace(&path, None).expect("open the w106 trace");
    let w = Workload::load(source).expect("read the w106 trace");
    let workloads = [w];
    let opts = HitOptions::default();
    let mut g = c.benchmark_group("replay_w106_10pct");
    g.throughput(Throughput::Elements(workloads[0].requests.len() as u64));
    g.sample_size(10);
    for &name in POLICIES {
        let policy = registry::find(name).expect("registered policy");
        let cell = Cell {
            workload: 0,
            policy,
            samples: policy.sampled.then_some(5),
            size: 0.1,
            size_unit: SizeUnit::Fraction,
            seed: 1,
        };
        g.bench_with_input(BenchmarkId::from_parameter(name), &cell, |b, cell| {
            b.iter(|| {
                let row = hitrate::run_cell(&workloads[0], cell, &opts).expect("replay");
                row.hits
            });
        });
    }
    g.finish();

    // Issue 11: `lab-memory-mode redis` must keep ≥ 80 % of `logical`'s requests/s. Both
    // at the same byte limit (10 % of the working set's logical bytes × 4, so that both
    // evict), allkeys-lru, strict enforcement as `hitrate`.
    let w = &workloads[0];
    let bytes = (w.working_set.bytes as f64 * 0.4).max(1.0);
    let policy = registry::find("allkeys-lru").expect("registered policy");
    let cell = Cell {
        workload: 0,
        policy,
        samples: Some(5),
        size: bytes,
        size_unit: SizeUnit::Bytes,
        seed: 1,
    };
    let mut g = c.benchmark_group("replay_w106_memory_mode");
    g.throughput(Throughput::Elements(w.requests.len() as u64));
    g.sample_size(10);
    for mode in ["logical", "redis"] {
        let opts = HitOptions {
            config_lines: vec![format!("lab-memory-mode {mode}")],
            ..HitOptions::default()
        };
        g.bench_with_input(BenchmarkId::from_parameter(mode), &cell, |b, cell| {
            b.iter(|| hitrate::run_cell(w, cell, &opts).expect("replay").hits);
        });
    }
    g.finish();

    oracle_general(c, &workloads[0]);
}

/// The third group of the module doc: w106 as a timestamped oracleGeneral file, `lru` at
/// 10 % of its bytes, loaded and streamed.
fn oracle_general(c: &mut Criterion, w106: &Workload) {
    let mut reqs: Vec<Request> = w106
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| Request {
            time_ms: i as u64 * 1000,
            value_size: 4096,
            ..r
        })
        .collect();
    annotate_next_access(&mut reqs);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("w106.oracleGeneral.bin");
    let mut file = std::fs::File::create(&path).expect("create the oracleGeneral file");
    evictlab_workloads::writer::write_oracle_general_records(&reqs, &mut file)
        .expect("write the oracleGeneral file");
    drop((file, reqs));
    let input = WorkloadInput::Trace {
        path,
        format: TraceFormat::OracleGeneral,
        columns: None,
        limit: None,
    };
    let loaded = source::load(&input).expect("load the oracleGeneral file");
    let streamed = source::scan(&input).expect("scan the oracleGeneral file");
    let opts = HitOptions::default();
    let policy = registry::find("lru").expect("registered policy");
    let cell = Cell {
        workload: 0,
        policy,
        samples: None,
        size: 0.1,
        size_unit: SizeUnit::Fraction,
        seed: 1,
    };
    let mut g = c.benchmark_group("replay_w106_oracle_general_10pct");
    g.throughput(Throughput::Elements(loaded.requests.len() as u64));
    g.sample_size(10);
    for (name, w) in [("lru_loaded", &loaded), ("lru_streamed", &streamed)] {
        g.bench_with_input(BenchmarkId::from_parameter(name), &cell, |b, cell| {
            b.iter(|| hitrate::run_cell(w, cell, &opts).expect("replay").hits);
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
