//! Cache-aside throughput of the engine (GET; on a miss, SET) for every registered policy,
//! in sized mode, on a Zipf(0.99) key stream over 1 M keys with the cache holding 10 % of
//! the keys (keys memory mode, strict enforcement), virtual time advancing at the hit-rate
//! runner's default rate (100 000 requests per virtual second, so the LRU clock, the LFU
//! decay and the cron move as in a replay). Throughput is in requests (one GET, plus the SET
//! of a miss).
//!
//! Two bench ids per policy:
//!
//! * `get_or_fill_id_zipf0.99/<policy>` — [`Engine::get_or_fill_id`], the call a trace
//!   replay makes per GET (`experiment hitrate`'s loop: clock, oracle where the policy needs
//!   one, get-or-fill of an integer id). This is the figure the speed targets are about.
//! * `get_set_zipf0.99/<policy>` — the same stream through the command API,
//!   [`Engine::get`] then [`Engine::set`] on a miss: two lookups and a `Key` per request.
//!
//! A third group, `get_or_fill_id_zipf0.99_100k_keys`, repeats the first for `lru` and
//! `allkeys-lru` on 100 000 keys (cache 10 000): a working set that fits the last-level
//! cache's share, to tell memory latency from instruction cost. Report it next to the 1 M
//! figure, never instead of it.
//!
//! Every pass gives the engine look-ahead hints ([`Lookahead`]) as `experiment hitrate`
//! does (about request i + 16 and i + 8 before request i runs). For `lru` and
//! `allkeys-lru` each group also has `no_prefetch/<policy>`: the same loop with
//! [`Lookahead::off`], so that what the hints are worth is a ratio within one run.
//!
//! Generated from the policy registry: a new policy is benchmarked the moment it is
//! registered. Run: `cargo bench --bench engine_ops` (add `-- --quick` for a short run;
//! `-- --save-baseline NAME` / `-- --baseline NAME` to compare).

use std::collections::HashMap;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use evictlab_engine::engine::FAR;
use evictlab_engine::policy::registry::{POLICIES, PolicyInfo};
use evictlab_engine::{Blob, Config, Engine, FillOutcome, GetOutcome, Key, Lookahead, SetOptions};
use evictlab_experiments::hitrate::DEFAULT_RATE;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const REQUESTS: usize = 1_000_000;
/// Value size of every fill.
const VALUE: u64 = 100;

/// A Zipf(0.99) stream over `keys` ids plus a cyclic next-access oracle (the stream repeats
/// forever: pass `p` of request `i` is global request `p · len + i`).
struct Stream {
    keys: Vec<u64>,
    next: Vec<u64>,
}

fn stream(keys: u64) -> Stream {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let zipf = rand_distr::Zipf::new(keys as f64, 0.99).expect("valid zipf");
    let ids: Vec<u64> = (0..REQUESTS).map(|_| rng.sample(zipf) as u64 - 1).collect();
    let mut next = vec![0u64; REQUESTS];
    let mut first: HashMap<u64, usize> = HashMap::new();
    let mut last: HashMap<u64, usize> = HashMap::new();
    for (i, &k) in ids.iter().enumerate().rev() {
        next[i] = last.get(&k).map_or(u64::MAX, |&j| j as u64);
        last.insert(k, i);
        first.insert(k, i);
    }
    for (i, &k) in ids.iter().enumerate() {
        if next[i] == u64::MAX {
            next[i] = (REQUESTS + first[&k]) as u64;
        }
    }
    Stream { keys: ids, next }
}

fn engine(policy: &str, cache: u64) -> Engine {
    let conf = format!(
        "maxmemory-policy {policy}\nlab-memory-mode keys\nmaxmemory {cache}\nlab-enforcement strict\nlab-active-expire off"
    );
    Engine::new(Config::parse_str(&conf).expect("bench config"), 1).expect("bench engine")
}

/// The runner's virtual clock: request `g` (global index) arrives at `g · 1000 / rate` ms.
#[inline]
fn time_of(g: u64) -> u64 {
    (g as f64 * (1000.0 / DEFAULT_RATE)) as u64
}

/// How one pass issues its requests.
#[derive(Clone, Copy)]
enum Api {
    /// `get_or_fill_id`, as `experiment hitrate` replays a GET.
    GetOrFillId,
    /// `get`, then `set` on a miss.
    GetSet,
}

/// Context of one bench: the policy's needs and the pass counter.
struct Pass<'a> {
    s: &'a Stream,
    oracle: bool,
    ttl: u64,
    api: Api,
    /// Look-ahead hints as the replay gives them (false: [`Lookahead::off`]).
    prefetch: bool,
}

impl Pass<'_> {
    /// Replays the stream once as pass `pass`; returns the hits.
    fn run(&self, e: &mut Engine, pass: u64) -> u64 {
        let mut ahead = if self.prefetch {
            Lookahead::new()
        } else {
            Lookahead::off()
        };
        let keys = &self.s.keys;
        let mut hits = 0;
        for i in 0..keys.len() {
            ahead.hint(e, || keys.get(i + FAR).copied());
            hits += self.step(e, pass, i) as u64;
        }
        hits
    }

    /// Request `i` of pass `pass`; true on a hit.
    #[inline(always)]
    fn step(&self, e: &mut Engine, pass: u64, i: usize) -> bool {
        let base = pass * self.s.keys.len() as u64;
        let (k, n) = (self.s.keys[i], self.s.next[i]);
        let g = base + i as u64;
        e.set_time_ms(time_of(g));
        if self.oracle {
            e.set_oracle(g, base + n);
        }
        match self.api {
            Api::GetOrFillId => matches!(e.get_or_fill_id(k, VALUE, self.ttl), FillOutcome::Hit(_)),
            Api::GetSet => {
                let key = Key::from_id(k);
                match e.get(&key) {
                    GetOutcome::Hit(_) => true,
                    _ => {
                        e.set(key, Blob::Sized(VALUE), SetOptions::ttl_ms(self.ttl));
                        false
                    }
                }
            }
        }
    }
}

fn bench_policies(
    c: &mut Criterion,
    group: &str,
    s: &Stream,
    cache: u64,
    api: Api,
    policies: &[&'static PolicyInfo],
) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(REQUESTS as u64));
    g.sample_size(10);
    for p in policies {
        // The target policies also run without hints, in the same group (a same-run ratio).
        let variants: &[bool] = if matches!(p.name, "lru" | "allkeys-lru") {
            &[true, false]
        } else {
            &[true]
        };
        for &prefetch in variants {
            let pass = Pass {
                s,
                oracle: p.needs_next_access,
                // volatile-* only evict keys with a TTL: give every key one (never reached).
                ttl: if p.volatile_only { 1 << 40 } else { 0 },
                api,
                prefetch,
            };
            let id = if prefetch {
                BenchmarkId::from_parameter(p.name)
            } else {
                BenchmarkId::new("no_prefetch", p.name)
            };
            g.bench_with_input(id, &p.name, |b, name| {
                let mut e = engine(name, cache);
                let mut n = 0;
                pass.run(&mut e, n); // warm up: fill the cache
                b.iter(|| {
                    n += 1;
                    pass.run(&mut e, n)
                });
            });
        }
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let all: Vec<&'static PolicyInfo> = POLICIES.iter().collect();
    let big = stream(1_000_000);
    bench_policies(
        c,
        "get_or_fill_id_zipf0.99",
        &big,
        100_000,
        Api::GetOrFillId,
        &all,
    );
    bench_policies(c, "get_set_zipf0.99", &big, 100_000, Api::GetSet, &all);
    drop(big);
    let targets: Vec<&'static PolicyInfo> = POLICIES
        .iter()
        .filter(|p| matches!(p.name, "lru" | "allkeys-lru"))
        .collect();
    let small = stream(100_000);
    bench_policies(
        c,
        "get_or_fill_id_zipf0.99_100k_keys",
        &small,
        10_000,
        Api::GetOrFillId,
        &targets,
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
