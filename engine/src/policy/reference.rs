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

/// The implementation one configuration of a policy reproduces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reference {
    /// The policy's registry name.
    pub policy: &'static str,
    /// The `lab-policy-param variant` this applies to (`None`: the policy's defaults).
    pub variant: Option<&'static str>,
    /// The reference implementation (name, version, file).
    pub source: &'static str,
    /// How close, as measured.
    pub closeness: Closeness,
}

const fn r(
    policy: &'static str,
    variant: Option<&'static str>,
    source: &'static str,
    closeness: Closeness,
) -> Reference {
    Reference {
        policy,
        variant,
        source,
        closeness,
    }
}

/// Every configuration the reference test checks, defaults first within a policy.
pub const REFERENCES: &[Reference] = &[
    r("lru", None, "libCacheSim 0.3.5 LRU.c", Closeness::Exact),
    r("fifo", None, "libCacheSim 0.3.5 FIFO.c", Closeness::Exact),
    r("clock", None, "libCacheSim 0.3.5 Clock.c", Closeness::Exact),
    r("sieve", None, "libCacheSim 0.3.5 Sieve.c", Closeness::Exact),
    r(
        "s3fifo",
        None,
        "libCacheSim 0.3.5 S3FIFO.c",
        Closeness::Exact,
    ),
    r(
        "s3fifo",
        Some("v0"),
        "libCacheSim 0.3.5 S3FIFOv0.c",
        Closeness::Exact,
    ),
    r("arc", None, "libCacheSim 0.3.5 ARC.c", Closeness::Exact),
    r("2q", None, "libCacheSim 0.3.5 TwoQ.c", Closeness::Exact),
    r("lfu", None, "libCacheSim 0.3.5 LFU.c", Closeness::Exact),
    r("lirs", None, "libCacheSim 0.3.5 LIRS.c", Closeness::Exact),
    r(
        "w-tinylfu",
        None,
        "libCacheSim 0.3.5 WTinyLFU.c",
        Closeness::Exact,
    ),
    r(
        "belady",
        None,
        "libCacheSim 0.3.5 Belady.c",
        Closeness::Exact,
    ),
];

/// The reference of the policy called `name` with its default parameters (`None` for
/// Redis's policies, which model Redis itself, and for policies no external simulator
/// implements).
pub fn reference(name: &str) -> Option<Reference> {
    references(name).find(|r| r.variant.is_none())
}

/// Every checked configuration of the policy called `name` (its defaults first).
pub fn references(name: &str) -> impl Iterator<Item = Reference> + '_ {
    REFERENCES.iter().copied().filter(move |r| r.policy == name)
}
