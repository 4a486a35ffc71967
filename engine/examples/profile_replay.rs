//! Replays a Zipf(0.99) cache-aside stream through one policy, for profiling
//! (`cargo run --release -p evictlab-engine --example profile_replay -- lru 2000000`).
use evictlab_engine::{Blob, Config, Engine, FillOutcome, Key};
use rand::{RngExt, SeedableRng};

fn main() {
    let mut args = std::env::args().skip(1);
    let policy = args.next().unwrap_or_else(|| "lru".into());
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let zipf = rand_distr::Zipf::new(1_000_000.0, 0.99).unwrap();
    let keys: Vec<u64> = (0..n).map(|_| rng.sample(zipf) as u64).collect();
    let conf = format!(
        "maxmemory-policy {policy}\nlab-memory-mode keys\nmaxmemory 100000\nlab-enforcement strict\nlab-active-expire off"
    );
    let mut e = Engine::new(Config::parse_str(&conf).unwrap(), 1).unwrap();
    let half = keys.len() / 2;
    replay(&mut e, &keys[..half]); // warm up
    let t = std::time::Instant::now();
    let hits = replay(&mut e, &keys[half..]);
    let n = keys.len() - half;
    let s = t.elapsed().as_secs_f64();
    println!(
        "{policy}: {n} requests, hit ratio {:.4}, {:.2} M req/s",
        hits as f64 / n as f64,
        n as f64 / s / 1e6
    );
}

#[inline(never)]
fn replay(e: &mut Engine, keys: &[u64]) -> u64 {
    let mut hits = 0u64;
    for &k in keys {
        if let FillOutcome::Hit(_) = e.get_or_fill(Key::from_id(k), Blob::Sized(100), 0) {
            hits += 1;
        }
    }
    hits
}
