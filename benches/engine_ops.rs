//! GET/SET throughput of the engine for every registered policy, in sized mode, on a
//! Zipf(0.99) key stream over 1M keys, as a cache-aside loop (GET; on a miss, SET), with the
//! cache holding 10 % of the keys (keys memory mode, strict enforcement).
//!
//! Generated from the policy registry: a new policy is benchmarked the moment it is
//! registered. Run: `cargo bench --bench engine_ops` (add `-- --quick` for a short run;
//! `-- --save-baseline NAME` / `-- --baseline NAME` to compare).

use std::collections::HashMap;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use evictlab_engine::policy::registry::POLICIES;
use evictlab_engine::{Blob, Config, Engine, GetOutcome, Key, SetOptions};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const KEYS: u64 = 1_000_000;
const REQUESTS: usize = 1_000_000;
const CACHE: u64 = KEYS / 10;

/// Zipf(0.99) ids plus a cyclic next-access oracle (the stream repeats forever).
fn stream() -> (Vec<u64>, Vec<u64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let zipf = rand_distr::Zipf::new(KEYS as f64, 0.99).expect("valid zipf");
    let keys: Vec<u64> = (0..REQUESTS).map(|_| rng.sample(zipf) as u64 - 1).collect();
    let mut next = vec![0u64; REQUESTS];
    let mut first: HashMap<u64, usize> = HashMap::new();
    let mut last: HashMap<u64, usize> = HashMap::new();
    for (i, &k) in keys.iter().enumerate().rev() {
        next[i] = last.get(&k).map_or(u64::MAX, |&j| j as u64);
        last.insert(k, i);
        first.insert(k, i);
    }
    for (i, &k) in keys.iter().enumerate() {
        if next[i] == u64::MAX {
            next[i] = (REQUESTS + first[&k]) as u64;
        }
    }
    (keys, next)
}

fn engine(policy: &str) -> Engine {
    let conf = format!(
        "maxmemory-policy {policy}\nlab-memory-mode keys\nmaxmemory {CACHE}\nlab-enforcement strict\nlab-active-expire off"
    );
    Engine::new(Config::parse_str(&conf).expect("bench config"), 1).expect("bench engine")
}

fn replay(e: &mut Engine, keys: &[u64], next: &[u64], pass: u64, ttl: u64) -> u64 {
    let base = pass * keys.len() as u64;
    let mut hits = 0;
    for (i, (&k, &n)) in keys.iter().zip(next).enumerate() {
        e.set_oracle(base + i as u64, base + n);
        let key = Key::from_id(k);
        match e.get(&key) {
            GetOutcome::Hit(_) => hits += 1,
            _ => {
                e.set(key, Blob::Sized(100), SetOptions::ttl_ms(ttl));
            }
        }
    }
    hits
}

fn bench(c: &mut Criterion) {
    let (keys, next) = stream();
    let mut g = c.benchmark_group("engine_ops");
    g.throughput(Throughput::Elements(REQUESTS as u64));
    g.sample_size(10);
    for p in POLICIES {
        // volatile-* only evict keys with a TTL: give every key one (never reached).
        let ttl = if p.volatile_only { 3_600_000 } else { 0 };
        g.bench_with_input(
            BenchmarkId::new("get_fill_zipf0.99", p.name),
            &p.name,
            |b, name| {
                let mut e = engine(name);
                let mut pass = 0;
                replay(&mut e, &keys, &next, pass, ttl); // warm up: fill the cache
                b.iter(|| {
                    pass += 1;
                    replay(&mut e, &keys, &next, pass, ttl)
                });
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
