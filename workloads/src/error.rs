//! [`WorkloadError`]: every way reading, parsing or generating a workload can fail.
//!
//! Variants carry structured data (file, line, byte offset, the offending text, what is
//! accepted) so a caller can match on them and a user reads one self-contained line.

use std::path::PathBuf;

/// Errors reading or generating a workload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// An I/O error on a trace file (including a corrupt compressed stream).
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS or decoder error.
        source: std::io::Error,
    },
    /// A malformed line in a text trace.
    #[error("{}:{line}: bad {field} in `{text}`: expected {expected}", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Which field was bad (`key`, `op`, `value_size`, `columns`, …).
        field: &'static str,
        /// The offending line ([`excerpt`]: escaped, at most 40 bytes).
        text: String,
        /// What is accepted there.
        expected: String,
    },
    /// A binary trace ends in the middle of a record.
    #[error(
        "{}: truncated record at byte offset {offset}: {trailing} trailing bytes, a record is {record_bytes} bytes",
        .path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Byte offset (in the decompressed stream) where the incomplete record starts.
        offset: u64,
        /// Bytes left at the end.
        trailing: usize,
        /// The record size of the format.
        record_bytes: usize,
    },
    /// A binary record whose content is invalid (e.g. an unknown vscsi version).
    #[error("{}: bad record at byte offset {offset}: {field} = {value:#x}: expected {expected}", .path.display())]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// What is accepted.
        expected: &'static str,
    },
    /// A trace-format name that is not known.
    #[error("unknown trace format `{name}`: known formats are {known}")]
    UnknownFormat {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The format of a file cannot be told from its name.
    #[error("{}: cannot tell the trace format from the file name: {reason}; name it (one of {known})", .path.display())]
    UndetectedFormat {
        /// The file.
        path: PathBuf,
        /// Why detection failed.
        reason: &'static str,
        /// The known names, comma-separated.
        known: String,
    },
    /// A bad token in a workload spec or a trace-format option string.
    #[error("in `{spec}`: bad `{token}`: {problem}; accepted: {accepted}")]
    Spec {
        /// The whole spec string.
        spec: String,
        /// The offending token.
        token: String,
        /// What is wrong with it.
        problem: &'static str,
        /// What is accepted there.
        accepted: String,
    },
    /// A build parameter out of range (e.g. zero keys).
    #[error("bad {name} = {value}: expected {expected}")]
    Parameter {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A trace's next-access fields contradict the stream (oracleGeneral records, 24 bytes).
    #[error(
        "{name}: record {index} (byte offset {}, key {key}) states its next access at record {}, but the next request to that key is {}: the next-access fields are inconsistent and Belady-type policies would be wrong",
        .index * 24, show_index(*.stated), show_index(*.actual)
    )]
    NextAccess {
        /// The trace.
        name: String,
        /// 0-based index of the record whose field is wrong.
        index: u64,
        /// Its key.
        key: u64,
        /// The 0-based next access it states ([`crate::NEVER`]: none).
        stated: u64,
        /// The real one ([`crate::NEVER`]: none).
        actual: u64,
    },
    /// The engine could not be configured (HCL scenario).
    #[error("engine configuration: {0}")]
    Engine(#[from] evictlab_engine::ConfigError),
}

impl WorkloadError {
    /// A [`WorkloadError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> WorkloadError {
        WorkloadError::Io {
            path: path.into(),
            source,
        }
    }
}

fn show_index(i: u64) -> String {
    if i == crate::NEVER {
        "none".into()
    } else {
        i.to_string()
    }
}

/// Bytes of an input shown in an error message: at most [`EXCERPT_BYTES`], printable ASCII
/// as is, anything else (control characters, terminal escapes, non-ASCII) as `\xNN`, `…`
/// when cut. A binary file never writes raw bytes to the terminal (issue 12).
pub fn excerpt(bytes: &[u8]) -> String {
    let mut b = bytes;
    while let [rest @ .., b'\r' | b'\n'] = b {
        b = rest;
    }
    let mut s = String::new();
    for &c in b.iter().take(EXCERPT_BYTES) {
        if (0x20..0x7f).contains(&c) && c != b'\\' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    if b.len() > EXCERPT_BYTES {
        s.push('…');
    }
    s
}

/// The most bytes of an input an error message shows.
pub const EXCERPT_BYTES: usize = 40;
