//! The request stream type shared by generators and trace readers.
//!
//! A synthetic generator is just another trace: both yield [`Request`]s through the
//! [`RequestSource`] trait, in batches (a virtual call per batch, not per request, so the
//! feeder never limits a simulation).

/// "No next access" (the object is never requested again), or unknown.
pub const NEVER: u64 = u64::MAX;

/// The latest request time (ms after the first request) and the longest TTL (ms) a request
/// may carry: 2^53 ms, about 285 000 years. Exact in an `f64`, and time + TTL cannot
/// overflow the engine's `u64` clock. Readers refuse larger values (naming file, line or
/// byte offset), so virtual time stays far from wrapping.
pub const MAX_TIME_MS: u64 = 1 << 53;

/// The slowest virtual request rate accepted (requests per second, `--rate`, a sweep's
/// `rate`, `arrival=`): below one request per virtual second every request would make the
/// engine run more than `hz` cron ticks, so a replay's time would no longer be bounded by
/// its request count (issue 12: `--rate 0.0001` took 52 s for 10 000 requests).
pub const MIN_RATE: f64 = 1.0;
/// The fastest virtual request rate accepted (requests per second): 10^12, a picosecond-
/// scale gap; every request of a run then falls within the same millisecond.
pub const MAX_RATE: f64 = 1e12;
/// [`MIN_RATE`]..=[`MAX_RATE`] in words, for error messages.
pub const RATE_RANGE: &str = "a number of requests per virtual second in 1..=1e12";

/// True when `rate` is in [`MIN_RATE`]..=[`MAX_RATE`] (NaN is not).
pub fn rate_in_range(rate: f64) -> bool {
    (MIN_RATE..=MAX_RATE).contains(&rate)
}

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Read the object (GET).
    Get,
    /// Write the object (SET; an insert or an update).
    Set,
    /// Remove the object (DEL).
    Delete,
}

impl Op {
    /// The name used in CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Set => "set",
            Op::Delete => "delete",
        }
    }
}

/// One request. Small and `Copy`: replay loops move millions per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Arrival time in ms from the start of the stream (0 when the source has no clock; see
    /// [`SourceInfo::has_time`]).
    pub time_ms: u64,
    /// Object id. The engine key is `Key::from_id(key)` (bytes = its decimal form).
    pub key: u64,
    /// Value size in bytes. For a GET, the size the object gets if the runner fills it on a
    /// miss.
    pub value_size: u32,
    /// TTL in ms for a SET (or the fill of a GET), 0 = none.
    pub ttl_ms: u64,
    /// The operation.
    pub op: Op,
    /// Index (0-based, in this stream) of the next request to the same key, or [`NEVER`].
    /// Only meaningful when [`SourceInfo::has_next_access`].
    pub next_access: u64,
}

impl Request {
    /// A GET of `key` with the given fill size.
    pub fn get(key: u64, value_size: u32) -> Request {
        Request {
            time_ms: 0,
            key,
            value_size,
            ttl_ms: 0,
            op: Op::Get,
            next_access: NEVER,
        }
    }
}

/// What a source can tell about itself; runners check policies' needs against it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceInfo {
    /// A short name for CSV `workload` columns (e.g. `zipf:0.99` or `w106.trace.xz`).
    pub name: String,
    /// Requests carry arrival times.
    pub has_time: bool,
    /// Requests carry real object sizes.
    pub has_sizes: bool,
    /// Requests may carry TTLs.
    pub has_ttl: bool,
    /// Requests carry `next_access`.
    pub has_next_access: bool,
    /// Number of requests, when known in advance.
    pub len_hint: Option<u64>,
}
