//! Miss-ratio-curve throughput (requests per second of the whole pass): the exact LRU curve
//! (stack distances), SHARDS at rate 0.01 and SHARDS with s_max = 8192, against one replay of
//! exact LRU through the engine at 10 % of the working set (the yardstick: the whole
//! exact curve in at most twice the time of one LRU run; SHARDS at least 20× faster).
//!
//! Workloads: a Zipf(0.99) stream of 1 M requests over 100 000 keys (always), and
//! `caffeine/cloudphysics-w106.trace.xz` (5.3 M requests) when `../shared/traces` is present.
//! Run: `cargo bench --bench mrc` (add `-- --quick` for a short run).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use evictlab_engine::policy::registry;
use evictlab_experiments::hitrate::{Cell, HitOptions, SizeUnit, run_cell};
use evictlab_experiments::mrc::{GridKind, Method, compute, grids_for};
use evictlab_experiments::source::load;
use evictlab_experiments::sweep::WorkloadInput;
use evictlab_experiments::workload::Workload;

fn workloads() -> Vec<(String, Workload)> {
    let mut out = vec![(
        "zipf0.99-1M".to_string(),
        load(&WorkloadInput::Synthetic {
            spec: "zipf:0.99".parse().expect("spec"),
            keys: 100_000,
            requests: 1_000_000,
            seed: 1,
        })
        .expect("zipf workload"),
    )];
    if let Some(root) = evictlab_workloads::trace::shared_traces_dir() {
        let path = root.join("caffeine/cloudphysics-w106.trace.xz");
        if let Ok(format) = evictlab_workloads::detect(&path) {
            let w = load(&WorkloadInput::Trace {
                path,
                format,
                columns: None,
                limit: None,
            })
            .expect("w106 trace");
            out.push(("w106".to_string(), w));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mrc");
    g.sample_size(10);
    for (name, w) in workloads() {
        g.throughput(Throughput::Elements(w.requests.len() as u64));
        let grids = grids_for(&w, 100, GridKind::Linear);
        for method in [
            Method::Exact,
            Method::ShardsRate {
                rate: 0.01,
                adjust: true,
            },
            Method::ShardsSize {
                s_max: 8192,
                adjust: true,
            },
        ] {
            g.bench_with_input(BenchmarkId::new(method.name(), &name), &w, |b, w| {
                b.iter(|| compute(w, method, &grids, 1).expect("mrc"))
            });
        }
        let cell = Cell {
            workload: 0,
            policy: registry::find("lru").expect("lru"),
            samples: None,
            size: 0.1,
            size_unit: SizeUnit::Fraction,
            seed: 1,
        };
        g.bench_with_input(BenchmarkId::new("lru-run-10pct", &name), &w, |b, w| {
            b.iter(|| run_cell(w, &cell, &HitOptions::default()).expect("lru run"))
        });
    }
    g.finish();
}

// Criterion's own plots need system fonts, which the lab does not assume (the numbers are
// in target/criterion/*/estimates.json and on stdout).
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
