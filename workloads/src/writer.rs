//! Trace writers: any stream to the lab CSV or to libCacheSim's oracleGeneral, so other
//! simulators replay our synthetic workloads exactly.
//!
//! * **CSV** — header `op,key,value_size,ttl_ms`, with a leading `time_ms` column when the
//!   source has times. Streams (bounded memory). Reading it back with
//!   [`open_trace`](crate::open_trace) gives the same requests (times relative to the first).
//! * **oracleGeneral** — 24-byte little-endian records `u32 clock_time (s); u64 obj_id; u32
//!   obj_size; i64 next_access_vtime` (1-based, −1 = none), computed here. The format has
//!   no op and no TTL: those are lost, and times are truncated to whole seconds. The next
//!   access needs the whole stream, so [`write_oracle_general`] holds it in memory (40 bytes
//!   per request).
//!
//! Writing to a path ending in `.zst` compresses with zstd (pure-Rust `ruzstd`, fastest
//! level), which libCacheSim reads directly.

use std::io::Write;
use std::path::Path;

use crate::oracle::{annotate_next_access, collect};
use crate::{NEVER, Request, RequestSource, WorkloadError};

/// An output format of [`export`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// The lab CSV.
    Csv,
    /// libCacheSim oracleGeneral.
    OracleGeneral,
}

impl ExportFormat {
    /// Every export format.
    pub const ALL: [ExportFormat; 2] = [ExportFormat::Csv, ExportFormat::OracleGeneral];

    /// `csv` or `oracle-general` (the `--format` values).
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::OracleGeneral => "oracle-general",
        }
    }

    /// Parses a `--format` value.
    pub fn from_name(name: &str) -> Result<ExportFormat, WorkloadError> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.name() == name.trim())
            .ok_or_else(|| WorkloadError::UnknownFormat {
                name: name.to_string(),
                known: "csv, oracle-general".into(),
            })
    }
}

/// Writes every request of `source` as lab CSV; returns the number of requests.
pub fn write_csv(source: &mut dyn RequestSource, out: &mut dyn Write) -> std::io::Result<u64> {
    let timed = source.info().has_time;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    if timed {
        writeln!(w, "{}", crate::trace::LAB_HEADER_TIMED)?;
    } else {
        writeln!(w, "{}", crate::trace::LAB_HEADER)?;
    }
    let mut buf = Vec::with_capacity(1 << 14);
    let mut n = 0u64;
    loop {
        buf.clear();
        let got = source
            .fill(&mut buf, 1 << 14)
            .map_err(std::io::Error::other)?;
        if got == 0 {
            break;
        }
        for r in &buf {
            if timed {
                write!(w, "{},", r.time_ms)?;
            }
            writeln!(w, "{},{},{},{}", r.op.name(), r.key, r.value_size, r.ttl_ms)?;
        }
        n += got as u64;
    }
    w.flush()?;
    Ok(n)
}

/// Writes `requests` as oracleGeneral records. `next_access` must be filled (see
/// [`annotate_next_access`]); [`NEVER`] is written as −1.
pub fn write_oracle_general_records(
    requests: &[Request],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut rec = [0u8; 24];
    for r in requests {
        let secs = u32::try_from(r.time_ms / 1000).unwrap_or(u32::MAX);
        let next: i64 = if r.next_access == NEVER {
            -1
        } else {
            r.next_access as i64 + 1
        };
        rec[0..4].copy_from_slice(&secs.to_le_bytes());
        rec[4..12].copy_from_slice(&r.key.to_le_bytes());
        rec[12..16].copy_from_slice(&r.value_size.to_le_bytes());
        rec[16..24].copy_from_slice(&next.to_le_bytes());
        w.write_all(&rec)?;
    }
    w.flush()
}

/// Reads all of `source`, computes next accesses and writes oracleGeneral; returns the
/// number of requests.
pub fn write_oracle_general(
    source: &mut dyn RequestSource,
    out: &mut dyn Write,
) -> Result<u64, WorkloadError> {
    let mut v = collect(source, None)?;
    annotate_next_access(&mut v);
    write_oracle_general_records(&v, out).map_err(|e| WorkloadError::io("<output>", e))?;
    Ok(v.len() as u64)
}

/// Writes `source` to the file `path` in `format` (zstd-compressed if `path` ends in
/// `.zst`); returns the number of requests. The file is written to `path.tmp` and renamed,
/// so a failed export leaves no partial file.
pub fn export(
    source: &mut dyn RequestSource,
    format: ExportFormat,
    path: &Path,
) -> Result<u64, WorkloadError> {
    let io = |e| WorkloadError::io(path, e);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let zst = path.extension().is_some_and(|e| e == "zst");
    let mut data: Vec<u8> = Vec::new();
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    let n = {
        let sink: &mut dyn Write = if zst { &mut data } else { &mut file };
        match format {
            ExportFormat::Csv => write_csv(source, sink).map_err(io)?,
            ExportFormat::OracleGeneral => write_oracle_general(source, sink)?,
        }
    };
    if zst {
        let packed = ruzstd::encoding::compress_to_vec(
            &data[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        file.write_all(&packed).map_err(io)?;
    }
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(n)
}
