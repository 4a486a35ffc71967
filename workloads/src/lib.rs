//! # evictlab-workloads
//!
//! Request streams: synthetic generators and readers for every trace format in
//! `../shared/traces`, behind one [`RequestSource`] trait.
//!
//! # Layout
//!
//! - [`request`] — [`Request`], [`Op`], [`SourceInfo`]: the one stream type.

#![warn(missing_docs)]

pub mod request;

pub use request::{NEVER, Op, Request, SourceInfo};

/// A stream of requests: a generator or a trace reader.
pub trait RequestSource: Send {
    /// What the stream carries.
    fn info(&self) -> &SourceInfo;

    /// Appends up to `max` requests to `buf` and returns how many; 0 means the stream ended.
    fn fill(&mut self, buf: &mut Vec<Request>, max: usize) -> Result<usize, WorkloadError>;
}

/// Errors reading or generating a workload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// An I/O error on a trace file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}
