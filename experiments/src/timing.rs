//! Timing a short deterministic computation: the fastest of repeated runs.
//!
//! A single timing of a pass that lasts a millisecond or less measures the machine as much as
//! the code: on the 2-core VM the quick suite runs on, the `mrc` passes (0.5–15 ms each) ran
//! 30–70 % slower for stretches of 50–200 ms (other processes on the machine, a scheduler
//! tick) and the regression gate's `mrc` throughput ratio was 0.49–0.93× over 34 runs of
//! identical code (0.79–1.00× with this; docs/reliability.md, "Timing noise"). [`best_of`]
//! repeats such a computation until the runs together last [`Repeat::min_total`] (at most
//! [`Repeat::max_runs`] runs) and reports the fastest run — the usual estimator of a
//! computation's speed on a noisy machine (noise only ever adds time). A computation that
//! alone lasts `min_total` runs once, so long passes cost nothing extra. Only for
//! computations whose output is a pure function of their input: the output returned is the
//! first run's; the later runs only time.

use std::time::{Duration, Instant};

/// The calling thread's CPU time so far (user + system), in seconds.
pub fn thread_cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec` for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is a clock every Linux kernel provides.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// How often [`best_of`] repeats a computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// Stop once the runs together last at least this long.
    pub min_total: Duration,
    /// Stop after this many runs (≥ 1) even if `min_total` is not reached.
    pub max_runs: u32,
}

impl Repeat {
    /// The policy of `mrc` passes: at least 200 ms of runs (longer than the slow stretches
    /// measured on the quick suite's VM), at most 1 000 runs (a 0.5 ms pass: ~400 runs).
    pub const MRC: Repeat = Repeat {
        min_total: Duration::from_millis(200),
        max_runs: 1000,
    };

    /// One run, no repetition.
    pub const ONCE: Repeat = Repeat {
        min_total: Duration::ZERO,
        max_runs: 1,
    };

    /// Whether another run follows `runs` runs (≥ 1) that lasted `total` together.
    pub fn another_run(&self, runs: u32, total: Duration) -> bool {
        runs < self.max_runs && total < self.min_total
    }
}

/// A timed computation: the first run's output, the fastest run and the number of runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed<T> {
    /// The first run's output.
    pub output: T,
    /// Wall-clock seconds of the fastest run.
    pub best_seconds: f64,
    /// Runs made (≥ 1).
    pub runs: u32,
    /// The thread's CPU seconds / wall seconds over all the runs: about 1 on an idle machine,
    /// lower when other processes competed for the cores (the runs waited for one). `None`
    /// if the thread's CPU clock is unreadable.
    pub cpu_share: Option<f64>,
}

/// Runs `f` at least once and again while `policy` asks for another run; returns the first
/// run's output and the fastest run's seconds. The outputs of the later runs are dropped
/// (after the timer stops), so `f` must return the same output every time.
pub fn best_of<T>(policy: Repeat, mut f: impl FnMut() -> T) -> Timed<T> {
    let cpu_before = thread_cpu_seconds();
    let started = Instant::now();
    let output = f();
    let first = started.elapsed();
    let (mut best, mut total, mut runs) = (first, first, 1u32);
    while policy.another_run(runs, total) {
        let started = Instant::now();
        let again = std::hint::black_box(f());
        let took = started.elapsed();
        drop(again);
        best = best.min(took);
        total += took;
        runs += 1;
    }
    let cpu = thread_cpu_seconds().zip(cpu_before).map(|(b, a)| b - a);
    let wall = total.as_secs_f64();
    Timed {
        output,
        best_seconds: best.as_secs_f64(),
        runs,
        cpu_share: cpu.filter(|_| wall > 0.0).map(|c| c / wall),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_run_until_the_total_time_or_the_run_limit() {
        let p = Repeat {
            min_total: Duration::from_millis(50),
            max_runs: 5,
        };
        assert!(p.another_run(1, Duration::from_millis(1)));
        assert!(p.another_run(4, Duration::from_millis(49)));
        assert!(!p.another_run(1, Duration::from_millis(50)), "long enough");
        assert!(!p.another_run(5, Duration::from_millis(1)), "run limit");
        assert!(!Repeat::ONCE.another_run(1, Duration::ZERO));
        assert!(Repeat::MRC.another_run(1, Duration::from_millis(1)));
        assert!(!Repeat::MRC.another_run(1, Duration::from_millis(200)));
    }

    #[test]
    fn the_runs_cpu_share_is_measured() {
        // Some work: the share is then positive (its value depends on the machine's load, so
        // only its range is checked; the CPU clock ticks a little outside the wall timer).
        let t = best_of(Repeat::ONCE, || {
            let mut x = 0u64;
            for i in 0..5_000_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            x
        });
        let s = t.cpu_share.unwrap();
        assert!(s > 0.0 && s < 1.5, "{s}");
    }

    #[test]
    fn best_of_keeps_the_first_output_and_counts_the_runs() {
        // A policy no run can satisfy by time: exactly max_runs runs.
        let p = Repeat {
            min_total: Duration::MAX,
            max_runs: 4,
        };
        let mut calls = 0u32;
        let t = best_of(p, || {
            calls += 1;
            calls * 10
        });
        assert_eq!((t.output, t.runs, calls), (10, 4, 4));
        assert!(t.best_seconds >= 0.0 && t.best_seconds.is_finite());
        // Satisfied by the first run: one run.
        let mut calls = 0u32;
        let t = best_of(Repeat::ONCE, || {
            calls += 1;
            calls
        });
        assert_eq!((t.output, t.runs, calls), (1, 1, 1));
    }
}
