//! # evictlab-workloads
//!
//! Request streams: synthetic generators and readers for every trace format in
//! `../shared/traces`, behind one [`RequestSource`] trait.
//!
//! # Layout
//!
//! - [`request`] — [`Request`], [`Op`], [`SourceInfo`]: the one stream type.
//! - [`error`] — [`WorkloadError`]: structured errors (file, line, byte offset, token, accepted values).
//! - [`spec`] — [`WorkloadSpec`]: the `--workload` SPEC grammar, its canonical form, `build`
//!   (`spec/parse.rs`: the token parsers).
//! - [`registry`] — the one list of generator kinds, mix presets and spec options.
//! - `synthetic` — [`Synthetic`]: the generator behind every spec (ops, keys, sizes, TTLs, times).
//! - [`trace`] — [`TraceFormat`], [`detect`], [`open_trace`]: readers for every trace format
//!   (binary records, text lines, CSV; `.xz`/`.zst` decompressed on the fly).
//! - [`oracle`] — [`annotate_next_access`]: the O(n) next-access pre-pass (Belady), [`collect`].
//! - [`idmap`] — [`IdMap`]: the flat `u64`-id hash map of the per-request passes (working set, dense ids).
//! - [`packed`] — [`PackedTrace`]: a loaded stream in ≤ 11 bytes per request (dense ids, columns).
//! - [`writer`] — [`export`], [`write_csv`], [`write_oracle_general`]: streams to lab CSV or oracleGeneral.
//! - [`zipf`] — [`Zipf`]: exact Zipf for any exponent (alias head + rejection-inversion tail).
//! - [`dist`] — [`Dist`]: size and TTL distributions.
//! - [`hash`] — FNV-1a 64 (YCSB's and plain), per-key hashing, SplitMix64.
//!
//! # Example
//!
//! ```
//! use evictlab_workloads::{Op, WorkloadSpec};
//!
//! let spec: WorkloadSpec = "zipf:0.99,read=0.9,size=lognormal:7:1".parse()?;
//! let mut source = spec.build(1_000, 10_000, 42)?;
//! let mut batch = Vec::new();
//! let n = source.fill(&mut batch, 1024)?;
//! assert_eq!(n, 1024);
//! assert!(batch.iter().all(|r| r.key < 1_000 && matches!(r.op, Op::Get | Op::Set)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod dist;
pub mod error;
pub mod hash;
pub mod idmap;
pub mod oracle;
pub mod packed;
pub mod registry;
pub mod request;
pub mod spec;
mod synthetic;
pub mod trace;
pub mod writer;
pub mod zipf;

pub use dist::Dist;
pub use error::WorkloadError;
pub use idmap::IdMap;
pub use oracle::{annotate_next_access, check_next_access, check_next_access_iter, collect};
pub use packed::{PackedBuilder, PackedTrace};
pub use request::{
    MAX_RATE, MAX_TIME_MS, MIN_RATE, NEVER, Op, RATE_RANGE, Request, SourceInfo, rate_in_range,
};
pub use spec::{
    Arrival, DEFAULT_VALUE_SIZE, Mix, Phase, Point, Popularity, Shift, TtlSpec, WorkloadSpec,
};
pub use synthetic::Synthetic;
pub use trace::{CsvColumns, TraceFormat, TraceOptions, detect, open_trace, open_trace_with};
pub use writer::{ExportFormat, export, write_csv, write_oracle_general};
pub use zipf::Zipf;

/// A stream of requests: a generator or a trace reader.
pub trait RequestSource: Send {
    /// What the stream carries.
    fn info(&self) -> &SourceInfo;

    /// Appends up to `max` requests to `buf` and returns how many; 0 means the stream ended.
    fn fill(&mut self, buf: &mut Vec<Request>, max: usize) -> Result<usize, WorkloadError>;
}
