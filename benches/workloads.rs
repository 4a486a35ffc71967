//! Workload generation and trace reading throughput, generated from the registries: every
//! generator of `evictlab_workloads::registry::GENERATORS` and every trace format of
//! `TraceFormat::ALL` (what `experiment list workloads|formats` prints), so a new generator
//! or reader is benchmarked the moment it is registered.
//!
//! Readers read a sample file of their format from `../shared/traces` (the lab's CSV is
//! written first from a generator); a format with no sample file, or no shared traces
//! directory, is reported on stderr and skipped. Every run reads at most 200 000 requests.
//!
//! Run: `cargo bench --bench workloads` (`-- --quick` for a short run; `-- --save-baseline
//! NAME` / `-- --baseline NAME` to compare with an earlier run).

use std::path::{Path, PathBuf};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use evictlab_workloads::registry::GENERATORS;
use evictlab_workloads::{TraceFormat, WorkloadSpec, collect, open_trace};

const KEYS: u64 = 100_000;
const REQUESTS: u64 = 200_000;

/// A sample file of each format under `../shared/traces` (None: written by the bench).
fn sample(format: TraceFormat) -> Option<&'static str> {
    Some(match format {
        TraceFormat::Csv => return None,
        TraceFormat::OracleGeneral => "libcachesim/cloudPhysicsIO.oracleGeneral.bin",
        TraceFormat::Vscsi => "libcachesim/cloudPhysicsIO.vscsi",
        TraceFormat::LibCacheSimCsv => "libcachesim/cloudPhysicsIO.csv",
        TraceFormat::Txt => "libcachesim/cloudPhysicsIO.txt",
        TraceFormat::Lirs => "caffeine/lirs/sprite.trace",
        TraceFormat::Cache2k => "caffeine/cache2k/web07.trace",
        TraceFormat::Scarab => "caffeine/scarab-recs.trace",
        TraceFormat::Corda => "caffeine/corda-vaultservice.trace",
        TraceFormat::CloudPhysics => "caffeine/cloudphysics-w106.trace.xz",
        TraceFormat::AdaptSize => "caffeine/adaptsize-request.trace",
    })
}

/// Two figures per generator: `generate/<name>` builds the generator (for Zipf, its
/// 2^16-rank alias table: 2^16 `ln` + `exp`) and collects its 200 000 requests into a new
/// vector (fresh pages) — the cost of a short generation from scratch; `generate_steady/
/// <name>` times only the 200 000 `fill`s of a built generator into a reused buffer — the
/// per-key rate of a long generation, where both fixed costs are amortised.
fn generators(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate");
    g.throughput(Throughput::Elements(REQUESTS));
    g.sample_size(10);
    for info in GENERATORS {
        let spec: WorkloadSpec = info.name.parse().expect("registered generator parses");
        g.bench_with_input(BenchmarkId::from_parameter(info.name), &spec, |b, spec| {
            b.iter(|| {
                let mut src = spec.build(KEYS, REQUESTS, 1).expect("build");
                collect(src.as_mut(), None).expect("generate").len()
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("generate_steady");
    g.throughput(Throughput::Elements(REQUESTS));
    g.sample_size(10);
    for info in GENERATORS {
        let spec: WorkloadSpec = info.name.parse().expect("registered generator parses");
        let mut buf = Vec::with_capacity(REQUESTS as usize);
        g.bench_with_input(BenchmarkId::from_parameter(info.name), &spec, |b, spec| {
            b.iter_batched_ref(
                || spec.build(KEYS, REQUESTS, 1).expect("build"),
                |src| {
                    buf.clear();
                    while src.fill(&mut buf, REQUESTS as usize).expect("generate") > 0 {}
                    buf.len()
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn lab_csv(dir: &Path) -> PathBuf {
    let path = dir.join("bench.csv");
    let spec: WorkloadSpec = "zipf:0.99,ttl=0.3:fixed:60000,size=uniform:10:1000"
        .parse()
        .expect("spec");
    let mut src = spec.build(KEYS, REQUESTS, 1).expect("build");
    let mut f = std::fs::File::create(&path).expect("create bench.csv");
    evictlab_workloads::write_csv(src.as_mut(), &mut f).expect("write bench.csv");
    path
}

fn readers(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let shared = evictlab_workloads::trace::shared_traces_dir();
    let mut g = c.benchmark_group("read_trace");
    g.sample_size(10);
    for format in TraceFormat::ALL {
        let path = match (sample(format), &shared) {
            (None, _) => lab_csv(tmp.path()),
            (Some(rel), Some(root)) if root.join(rel).exists() => root.join(rel),
            (Some(rel), _) => {
                eprintln!(
                    "read_trace/{}: no sample file ({rel}); skipped",
                    format.name()
                );
                continue;
            }
        };
        // Requests actually read (a trace may be shorter than the cap).
        let n = collect(
            open_trace(&path, Some(format)).expect("open").as_mut(),
            Some(REQUESTS),
        )
        .expect("read")
        .len() as u64;
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::from_parameter(format.name()), &path, |b, p| {
            b.iter(|| {
                let mut src = open_trace(p, Some(format)).expect("open");
                collect(src.as_mut(), Some(REQUESTS)).expect("read").len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, generators, readers);
criterion_main!(benches);
