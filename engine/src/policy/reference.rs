//! What each research and oracle policy reproduces, and how closely — as measured by the
//! reference test (`tests/libcachesim.rs`), which replays shared traces through both the
//! engine and libCacheSim 0.3.5 and fails if a policy is further off than stated here.
//! `experiment list policies` prints these.

use std::fmt;

/// How close the lab's miss counts are to the reference's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Closeness {
    /// Equal miss counts at every point measured.
    Exact,
    /// Miss ratios differ by at most this much at every point measured.
    Within(f64),
}

impl fmt::Display for Closeness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closeness::Exact => f.write_str("exact"),
            Closeness::Within(d) => write!(f, "within {d} miss ratio"),
        }
    }
}

/// The implementation a policy's defaults reproduce.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reference {
    /// The reference implementation (name, version, file).
    pub source: &'static str,
    /// How close, as measured.
    pub closeness: Closeness,
}

/// The reference of the policy called `name` (`None` for Redis's policies, which model
/// Redis itself, and for policies no external simulator implements).
pub fn reference(name: &str) -> Option<Reference> {
    use Closeness::*;
    let (source, closeness) = match name {
        "lru" => ("libCacheSim 0.3.5 LRU.c", Exact),
        "fifo" => ("libCacheSim 0.3.5 FIFO.c", Exact),
        "clock" => ("libCacheSim 0.3.5 Clock.c", Exact),
        "sieve" => ("libCacheSim 0.3.5 Sieve.c", Exact),
        "s3fifo" => ("libCacheSim 0.3.5 S3FIFO.c", Exact),
        "arc" => ("libCacheSim 0.3.5 ARC.c", Exact),
        "2q" => ("libCacheSim 0.3.5 TwoQ.c", Exact),
        "lfu" => ("libCacheSim 0.3.5 LFU.c", Exact),
        "lirs" => ("libCacheSim 0.3.5 LIRS.c", Within(0.12)),
        "w-tinylfu" => ("libCacheSim 0.3.5 WTinyLFU.c", Exact),
        "belady" => ("libCacheSim 0.3.5 Belady.c", Exact),
        _ => return None,
    };
    Some(Reference { source, closeness })
}
