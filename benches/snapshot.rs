//! Snapshot write and load throughput: 50,000 keys of mixed types (strings of 100 bytes,
//! hashes, sets, sorted sets, lists), some with TTLs, with and without compression.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evictlab_engine::persist::snapshot::{self, SnapshotOptions};
use evictlab_engine::{Command, Config, Engine};

fn dataset() -> Engine {
    let mut e = Engine::new(Config::parse_str("lab-storage materialized").unwrap(), 1).unwrap();
    let value = "v".repeat(40) + &"0123456789".repeat(6);
    for i in 0..50_000u32 {
        let k = format!("key:{i}");
        let c = match i % 10 {
            0 => vec![
                "HSET".into(),
                k,
                "f1".into(),
                value.clone(),
                "f2".into(),
                "x".into(),
            ],
            1 => vec!["SADD".into(), k, "a".into(), "b".into(), "c".into()],
            2 => vec![
                "ZADD".into(),
                k,
                "1".into(),
                "m1".into(),
                "2.5".into(),
                "m2".into(),
            ],
            3 => vec!["RPUSH".into(), k, value.clone(), "tail".into()],
            4 => vec![
                "SET".into(),
                k,
                value.clone(),
                "PX".into(),
                "3600000".into(),
            ],
            _ => vec!["SET".into(), k, format!("{value}{i}")],
        };
        e.execute(Command::parse(&c).unwrap());
    }
    e
}

fn bench(c: &mut Criterion) {
    let e = dataset();
    let mut g = c.benchmark_group("snapshot");
    for (name, opts) in [
        ("lz4", SnapshotOptions::default()),
        (
            "raw",
            SnapshotOptions {
                compression: false,
                checksum: true,
            },
        ),
    ] {
        let bytes = snapshot::to_bytes(&e, opts);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("write_{name}"), |b| {
            b.iter(|| snapshot::to_bytes(&e, opts).len())
        });
        g.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| {
                let mut n = 0u64;
                snapshot::decode(&bytes, |_| n += 1).unwrap();
                n
            })
        });
        g.bench_function(format!("load_{name}"), |b| {
            b.iter(|| {
                let mut f = Engine::new(e.config().clone(), 1).unwrap();
                snapshot::load_into(&mut f, &bytes).unwrap().keys_loaded
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
