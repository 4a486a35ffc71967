//! Shared by the fuzz targets of every crate (included with `#[path]` from
//! `engine/tests/fuzz.rs`, `workloads/tests/fuzz.rs` and `experiments/tests/fuzz.rs`):
//! seed mutations, a proptest runner with a per-case time bound and a hang watchdog, and
//! outcome tallies for the measured corruption tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};

/// A case slower than this fails.
pub const CASE_BOUND: Duration = Duration::from_secs(2);
/// A case slower than this is a hang: the watchdog aborts the test process.
pub const HANG_BOUND: Duration = Duration::from_secs(60);

pub fn cases() -> u32 {
    std::env::var("EVICTLAB_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// One edit of a seed file.
#[derive(Clone, Debug)]
pub enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
    /// Overwrite 8 bytes with an edge value (lengths, counts, times).
    Edge(usize, u64),
    /// Copy a chunk of the file elsewhere (duplicated records, lengths).
    Splice(usize, usize, usize),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, v)| Mutation::Set(p, v)),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..9))
            .prop_map(|(p, v)| Mutation::Insert(p, v)),
        1 => (any::<usize>(), 1usize..17).prop_map(|(p, n)| Mutation::Remove(p, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (
            any::<usize>(),
            prop::sample::select(vec![
                0u64,
                1,
                0x7f,
                0xff,
                0xffff,
                u32::MAX as u64,
                i64::MAX as u64,
                u64::MAX
            ])
        )
            .prop_map(|(p, v)| Mutation::Edge(p, v)),
        1 => (any::<usize>(), any::<usize>(), 1usize..33)
            .prop_map(|(a, b, n)| Mutation::Splice(a, b, n)),
    ]
}

pub fn apply(seed: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for m in ms {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
        match m {
            Mutation::Flip(p, b) if !v.is_empty() => {
                let i = at(*p, v.len());
                v[i] ^= 1 << b;
            }
            Mutation::Set(p, x) if !v.is_empty() => {
                let i = at(*p, v.len());
                v[i] = *x;
            }
            Mutation::Insert(p, bytes) => {
                let i = at(*p, v.len() + 1);
                v.splice(i..i, bytes.iter().copied());
            }
            Mutation::Remove(p, n) if !v.is_empty() => {
                let i = at(*p, v.len());
                let j = (i + n).min(v.len());
                v.drain(i..j);
            }
            Mutation::Truncate(p) => {
                let i = at(*p, v.len() + 1);
                v.truncate(i);
            }
            Mutation::Edge(p, x) if v.len() >= 8 => {
                let i = at(*p, v.len() - 7);
                v[i..i + 8].copy_from_slice(&x.to_le_bytes());
            }
            Mutation::Splice(a, b, n) if !v.is_empty() => {
                let src = at(*a, v.len());
                let end = (src + n).min(v.len());
                let chunk = v[src..end].to_vec();
                let dst = at(*b, v.len() + 1);
                v.splice(dst..dst, chunk);
            }
            _ => {}
        }
    }
    v
}

/// Arbitrary bytes (1 in 5) or a seed with 1..6 mutations.
pub fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let seeds = Arc::new(seeds);
    let n = seeds.len();
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        4 => (0..n, prop::collection::vec(mutation(), 1..6))
            .prop_map(move |(i, ms)| apply(&seeds[i], &ms)),
    ]
}

/// Aborts the process when one case runs longer than [`HANG_BOUND`].
pub struct Watchdog {
    started_ms: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    epoch: Instant,
}

impl Watchdog {
    fn new(target: &'static str) -> Watchdog {
        let started_ms = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let epoch = Instant::now();
        let (s, st) = (started_ms.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let at = s.load(Ordering::Relaxed);
                if at > 0 && epoch.elapsed().as_millis() as u64 - at > HANG_BOUND.as_millis() as u64
                {
                    eprintln!("fuzz {target}: a case ran longer than {HANG_BOUND:?}: hang");
                    std::process::abort();
                }
            }
        });
        Watchdog {
            started_ms,
            stop,
            epoch,
        }
    }
    fn begin(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.started_ms.store(now.max(1), Ordering::Relaxed);
    }
    fn end(&self) {
        self.started_ms.store(0, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs `case` on [`cases`] inputs of `strategy`; any panic, slow case or `Err` fails.
pub fn fuzz<S: Strategy>(
    target: &'static str,
    strategy: S,
    case: impl Fn(S::Value) -> Result<(), String>,
) where
    S::Value: std::fmt::Debug,
{
    let config = RunnerConfig {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..RunnerConfig::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let dog = Watchdog::new(target);
    let started = Instant::now();
    let result = runner.run(&strategy, |v| {
        dog.begin();
        let t = Instant::now();
        let r = case(v);
        dog.end();
        r.map_err(TestCaseError::fail)?;
        if t.elapsed() > CASE_BOUND {
            return Err(TestCaseError::fail(format!(
                "case took {:?} (bound {CASE_BOUND:?})",
                t.elapsed()
            )));
        }
        Ok(())
    });
    eprintln!(
        "fuzz {target}: {} cases in {:.2} s",
        cases(),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("fuzz {target}: {e}");
    }
}

/// Outcome counts of corrupting a file.
#[derive(Default, Debug)]
pub struct Tally {
    pub detected: u64,
    pub same: u64,
    pub undetected: u64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.detected + self.same + self.undetected
    }
    pub fn line(&self, what: &str) -> String {
        let pct = |n: u64| 100.0 * n as f64 / self.total().max(1) as f64;
        format!(
            "| {what} | {} | {} ({:.1} %) | {} ({:.1} %) | {} ({:.1} %) |",
            self.total(),
            self.detected,
            pct(self.detected),
            self.same,
            pct(self.same),
            self.undetected,
            pct(self.undetected)
        )
    }
}
