//! Trace readers: every format in `../shared/traces`, streaming with bounded memory.
//!
//! | name | layout | sizes | times | next access |
//! |---|---|---|---|---|
//! | `csv` | the lab's CSV (`[time_ms,]op,key,value_size,ttl_ms`) | yes | if `time_ms` | no |
//! | `oracle-general` | libCacheSim oracleGeneral, 24 B LE records | yes | s → ms | yes |
//! | `vscsi` | VMware vscsi v1 (32 B) or v2 (40 B), LE, version from the first record | yes | µs → ms | no |
//! | `libcachesim-csv` | CSV with a libCacheSim column spec | if a size column | if a time column | no |
//! | `txt` | one decimal id per line | no | no | no |
//! | `lirs` | LIRS reference string: ids, `*` lines skipped, CRLF ok | no | no | no |
//! | `cache2k` | i32 big-endian ids | no | no | no |
//! | `scarab` | i64 big-endian ids | no | no | no |
//! | `corda` | i64 big-endian ids | no | no | no |
//! | `cloud-physics` | u32 big-endian block numbers | no | no | no |
//! | `adapt-size` | text `time id size` (`time` is a request counter, not carried) | yes | no | no |
//!
//! * Any file ending in `.xz` is decompressed on the fly (pure-Rust `lzma-rust2`), any file
//!   ending in `.zst` too (pure-Rust `ruzstd`), whatever the format.
//! * Formats without sizes give [`DEFAULT_VALUE_SIZE`] (1, as libCacheSim) and
//!   `has_sizes = false`. Times are in ms relative to the first request.
//! * Block traces (vscsi, CloudPhysics csv) carry READ/WRITE opcodes; every request is
//!   emitted as a GET (an access to the block), as libCacheSim's simulator treats them, so
//!   the four encodings of `cloudPhysicsIO` give the same stream.
//! * oracleGeneral's 1-based `next_access_vtime` (−1 = none) becomes the 0-based
//!   `next_access` ([`NEVER`] = none). Records with size 0 are kept (libCacheSim skips
//!   them), so indexes stay those of the file.
//! * Signed ids (cache2k i32, scarab/corda i64) become the two's-complement bit pattern
//!   widened to `u64`: distinct ids stay distinct.
//!
//! [`detect`] names the format from the file name where that is unambiguous (see its doc).

mod binary;
mod csv;
#[cfg(test)]
mod robust_tests;
#[cfg(test)]
mod tests;
mod text;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use self::binary::{
    BinaryTrace, I32Be, I64Be, OracleGeneral, U32Be, Vscsi1, Vscsi2, vscsi_version,
};
pub use self::csv::{CSV_COLUMN_KEYS, CsvColumns, LAB_HEADER, LAB_HEADER_TIMED};
use self::text::{Syntax, TextTrace};
#[allow(unused_imports)]
use crate::NEVER;
#[allow(unused_imports)]
use crate::spec::DEFAULT_VALUE_SIZE;
use crate::{RequestSource, SourceInfo, WorkloadError};

/// A trace format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceFormat {
    /// The lab's CSV.
    Csv,
    /// libCacheSim oracleGeneral.
    OracleGeneral,
    /// VMware vscsi v1/v2.
    Vscsi,
    /// libCacheSim CSV with a column spec.
    LibCacheSimCsv,
    /// One id per line.
    Txt,
    /// LIRS reference strings.
    Lirs,
    /// cache2k (i32 BE).
    Cache2k,
    /// Scarab Research (i64 BE).
    Scarab,
    /// R3 Corda (i64 BE).
    Corda,
    /// CloudPhysics via LIRS2 (u32 BE).
    CloudPhysics,
    /// AdaptSize `time id size`.
    AdaptSize,
}

impl TraceFormat {
    /// Every format, in the order of the table above.
    pub const ALL: [TraceFormat; 11] = [
        TraceFormat::Csv,
        TraceFormat::OracleGeneral,
        TraceFormat::Vscsi,
        TraceFormat::LibCacheSimCsv,
        TraceFormat::Txt,
        TraceFormat::Lirs,
        TraceFormat::Cache2k,
        TraceFormat::Scarab,
        TraceFormat::Corda,
        TraceFormat::CloudPhysics,
        TraceFormat::AdaptSize,
    ];

    /// The name used by `--trace-format`.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Csv => "csv",
            TraceFormat::OracleGeneral => "oracle-general",
            TraceFormat::Vscsi => "vscsi",
            TraceFormat::LibCacheSimCsv => "libcachesim-csv",
            TraceFormat::Txt => "txt",
            TraceFormat::Lirs => "lirs",
            TraceFormat::Cache2k => "cache2k",
            TraceFormat::Scarab => "scarab",
            TraceFormat::Corda => "corda",
            TraceFormat::CloudPhysics => "cloud-physics",
            TraceFormat::AdaptSize => "adapt-size",
        }
    }

    /// One line of documentation.
    pub fn doc(self) -> &'static str {
        match self {
            TraceFormat::Csv => "the lab's CSV: [time_ms,]op,key,value_size,ttl_ms",
            TraceFormat::OracleGeneral => {
                "libCacheSim oracleGeneral: 24-byte LE records with next access (.zst ok)"
            }
            TraceFormat::Vscsi => "VMware vscsi v1/v2 block traces (LE binary)",
            TraceFormat::LibCacheSimCsv => {
                "CSV with libCacheSim columns (libcachesim-csv:time-col=2,obj-id-col=5,...)"
            }
            TraceFormat::Txt => "one decimal object id per line",
            TraceFormat::Lirs => "LIRS reference strings: ids per line, `*` markers skipped",
            TraceFormat::Cache2k => "cache2k traces: int32 big-endian ids",
            TraceFormat::Scarab => "Scarab Research: int64 big-endian keys",
            TraceFormat::Corda => "R3 Corda vault service: int64 big-endian keys",
            TraceFormat::CloudPhysics => {
                "CloudPhysics (LIRS2): uint32 big-endian block numbers (.xz ok)"
            }
            TraceFormat::AdaptSize => "AdaptSize request traces: `time id size` text",
        }
    }

    /// The format named `name` (exactly as [`TraceFormat::name`]).
    pub fn from_name(name: &str) -> Result<TraceFormat, WorkloadError> {
        TraceFormat::ALL
            .into_iter()
            .find(|f| f.name() == name.trim())
            .ok_or_else(|| WorkloadError::UnknownFormat {
                name: name.to_string(),
                known: known_names(),
            })
    }
}

impl std::fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TraceFormat {
    type Err = WorkloadError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceFormat::from_name(s)
    }
}

/// The known format names, comma-separated.
pub fn known_names() -> String {
    TraceFormat::ALL.map(TraceFormat::name).join(", ")
}

/// How to open a trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceOptions {
    /// The format; `None` = [`detect`].
    pub format: Option<TraceFormat>,
    /// Columns for `libcachesim-csv` (`None`: found from the header).
    pub columns: Option<CsvColumns>,
}

impl TraceOptions {
    /// Parses a `--trace-format` value: a format name, or `libcachesim-csv:` followed by a
    /// libCacheSim column spec (`libcachesim-csv:time-col=2,obj-id-col=5,obj-size-col=4,has-header=true`).
    pub fn parse(value: &str) -> Result<TraceOptions, WorkloadError> {
        let (name, rest) = match value.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (value, None),
        };
        let format = TraceFormat::from_name(name)?;
        let columns = match rest {
            None => None,
            Some(r) if format == TraceFormat::LibCacheSimCsv => Some(CsvColumns::parse(r)?),
            Some(_) => {
                return Err(WorkloadError::Spec {
                    spec: value.to_string(),
                    token: value.to_string(),
                    problem: "only libcachesim-csv takes options",
                    accepted: format!(
                        "a format name ({}) or libcachesim-csv:{CSV_COLUMN_KEYS}",
                        known_names()
                    ),
                });
            }
        };
        Ok(TraceOptions {
            format: Some(format),
            columns,
        })
    }
}

/// The compression of a file, from its suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    None,
    Xz,
    Zstd,
}

fn split_compression(path: &Path) -> (String, Compression) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(stem) = name.strip_suffix(".xz") {
        (stem.to_string(), Compression::Xz)
    } else if let Some(stem) = name.strip_suffix(".zst") {
        (stem.to_string(), Compression::Zstd)
    } else {
        (name, Compression::None)
    }
}

/// Counts the bytes read from a compressed file (for [`Decompressed`]'s messages).
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A decompressor whose errors name the format and the byte offsets (issue 12: a truncated
/// `.xz` said only "failed to fill whole buffer", `.zst` errors were Debug text). The file
/// name is added by [`WorkloadError::Io`].
struct Decompressed<R> {
    inner: R,
    format: &'static str,
    compressed: Arc<AtomicU64>,
    out: u64,
}

impl<R: Read> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.out += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) => Err(decompress_error(
                self.format,
                self.out,
                self.compressed.load(Ordering::Relaxed),
                &e,
            )),
        }
    }
}

fn decompress_error(
    format: &'static str,
    out: u64,
    compressed: u64,
    e: &dyn std::fmt::Display,
) -> std::io::Error {
    let what = if out == 0 { "header" } else { "data" };
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "corrupt or truncated {format} stream ({what}) at decompressed byte offset {out}, after {compressed} compressed bytes read: {e}"
        ),
    )
}

/// Opens `path` for reading, decompressing `.xz` and `.zst`.
fn open_input(path: &Path) -> Result<Box<dyn Read + Send>, WorkloadError> {
    let file = File::open(path).map_err(|e| WorkloadError::io(path, e))?;
    let compression = split_compression(path).1;
    if compression == Compression::None {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, file)));
    }
    let read = Arc::new(AtomicU64::new(0));
    let counted = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            read: read.clone(),
        },
    );
    Ok(match compression {
        Compression::None => unreachable!("handled above"),
        Compression::Xz => Box::new(Decompressed {
            inner: lzma_rust2::XzReader::new(counted, true),
            format: "xz",
            compressed: read,
            out: 0,
        }),
        Compression::Zstd => {
            let d = ruzstd::decoding::StreamingDecoder::new(counted).map_err(|e| {
                WorkloadError::io(
                    path,
                    decompress_error("zstd", 0, read.load(Ordering::Relaxed), &e),
                )
            })?;
            Box::new(Decompressed {
                inner: d,
                format: "zstd",
                compressed: read,
                out: 0,
            })
        }
    })
}

/// Reads up to `n` bytes (fewer at end of input).
fn read_prefix(input: &mut dyn Read, path: &Path, n: usize) -> Result<Vec<u8>, WorkloadError> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(WorkloadError::io(path, e)),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// The format of `path` from its name (compression suffixes `.xz`/`.zst` removed first):
///
/// * a name containing `oraclegeneral` (any case) → `oracle-general`;
/// * `*.vscsi` → `vscsi`; `*.txt` → `txt`; `*.lirs` → `lirs`;
/// * `*.csv` → `csv` if its first line is a lab header, else `libcachesim-csv` (the only
///   detection that reads the file);
/// * `*.trace` is used by many formats, so the parent folder or the file-name prefix decides,
///   as Caffeine's simulator lays its traces out: folder `lirs`, `cache2k`, `scarab`,
///   `corda`, `cloud_physics`/`cloudphysics`, `adapt_size`/`adaptsize`, or a name starting
///   with `scarab`, `corda`, `cloudphysics`, `adaptsize`.
///
/// Anything else is an error listing the formats to name instead.
pub fn detect(path: &Path) -> Result<TraceFormat, WorkloadError> {
    let (name, _) = split_compression(path);
    let lower = name.to_ascii_lowercase();
    let undetected = |reason: &'static str| WorkloadError::UndetectedFormat {
        path: path.to_path_buf(),
        reason,
        known: known_names(),
    };
    if lower.contains("oraclegeneral") {
        return Ok(TraceFormat::OracleGeneral);
    }
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "vscsi" => return Ok(TraceFormat::Vscsi),
        "txt" => return Ok(TraceFormat::Txt),
        "lirs" => return Ok(TraceFormat::Lirs),
        "csv" => {
            let mut input = BufReader::new(open_input(path)?);
            let mut first = Vec::new();
            input
                .read_until(b'\n', &mut first)
                .map_err(|e| WorkloadError::io(path, e))?;
            return Ok(if self::csv::is_lab_header(&first) {
                TraceFormat::Csv
            } else {
                TraceFormat::LibCacheSimCsv
            });
        }
        "trace" => {}
        _ => return Err(undetected("unknown extension")),
    }
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let by_word = |w: &str| -> Option<TraceFormat> {
        Some(match w {
            "lirs" => TraceFormat::Lirs,
            "cache2k" => TraceFormat::Cache2k,
            "scarab" => TraceFormat::Scarab,
            "corda" => TraceFormat::Corda,
            "cloud_physics" | "cloudphysics" => TraceFormat::CloudPhysics,
            "adapt_size" | "adaptsize" => TraceFormat::AdaptSize,
            _ => return None,
        })
    };
    if let Some(f) = by_word(&parent) {
        return Ok(f);
    }
    for prefix in ["scarab", "corda", "cloudphysics", "adaptsize"] {
        if lower.starts_with(prefix) {
            return by_word(prefix).ok_or_else(|| undetected("unreachable"));
        }
    }
    Err(undetected(
        "`.trace` is used by several formats and neither the folder nor the name prefix tells which",
    ))
}

/// Opens a trace; `format` `None` = [`detect`].
pub fn open_trace(
    path: &Path,
    format: Option<TraceFormat>,
) -> Result<Box<dyn RequestSource>, WorkloadError> {
    open_trace_with(
        path,
        &TraceOptions {
            format,
            columns: None,
        },
    )
}

/// Opens a trace with options (libCacheSim CSV columns).
pub fn open_trace_with(
    path: &Path,
    opts: &TraceOptions,
) -> Result<Box<dyn RequestSource>, WorkloadError> {
    let format = match opts.format {
        Some(f) => f,
        None => detect(path)?,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let info = SourceInfo {
        name,
        has_time: false,
        has_sizes: false,
        has_ttl: false,
        has_next_access: false,
        len_hint: None,
    };
    let p: PathBuf = path.to_path_buf();
    let mut input = open_input(path)?;
    // Exact request counts of uncompressed fixed-size formats.
    let file_len = || match split_compression(path).1 {
        Compression::None => std::fs::metadata(path).ok().map(|m| m.len()),
        _ => None,
    };
    let src: Box<dyn RequestSource> = match format {
        TraceFormat::OracleGeneral => {
            let info = SourceInfo {
                has_time: true,
                has_sizes: true,
                has_next_access: true,
                len_hint: file_len().map(|l| l / 24),
                ..info
            };
            Box::new(BinaryTrace::new(
                info,
                p,
                input,
                &[],
                OracleGeneral::default(),
            ))
        }
        TraceFormat::Vscsi => {
            let prefix = read_prefix(&mut *input, path, 40)?;
            let info = SourceInfo {
                has_time: true,
                has_sizes: true,
                ..info
            };
            match vscsi_version(&prefix) {
                1 => {
                    let info = SourceInfo {
                        len_hint: file_len().map(|l| l / 32),
                        ..info
                    };
                    let d = Vscsi1 {
                        path: p.clone(),
                        ..Default::default()
                    };
                    Box::new(BinaryTrace::new(info, p, input, &prefix, d))
                }
                2 => {
                    let info = SourceInfo {
                        len_hint: file_len().map(|l| l / 40),
                        ..info
                    };
                    let d = Vscsi2 {
                        path: p.clone(),
                        ..Default::default()
                    };
                    Box::new(BinaryTrace::new(info, p, input, &prefix, d))
                }
                _ if prefix.is_empty() => {
                    Box::new(BinaryTrace::new(info, p, input, &[], Vscsi1::default()))
                }
                _ => {
                    let ver = if prefix.len() >= 16 {
                        u16::from_le_bytes([prefix[14], prefix[15]])
                    } else {
                        0
                    };
                    return Err(WorkloadError::BadRecord {
                        path: p,
                        offset: 0,
                        field: "ver",
                        value: ver as u64,
                        expected: "a vscsi v1 record (u16 at byte 14 >> 8 == 1) or v2 (u16 at byte 2 >> 8 == 2)",
                    });
                }
            }
        }
        TraceFormat::Cache2k => {
            let info = SourceInfo {
                len_hint: file_len().map(|l| l / 4),
                ..info
            };
            Box::new(BinaryTrace::new(info, p, input, &[], I32Be))
        }
        TraceFormat::Scarab | TraceFormat::Corda => {
            let info = SourceInfo {
                len_hint: file_len().map(|l| l / 8),
                ..info
            };
            Box::new(BinaryTrace::new(info, p, input, &[], I64Be))
        }
        TraceFormat::CloudPhysics => {
            let info = SourceInfo {
                len_hint: file_len().map(|l| l / 4),
                ..info
            };
            Box::new(BinaryTrace::new(info, p, input, &[], U32Be))
        }
        TraceFormat::Txt | TraceFormat::Lirs | TraceFormat::AdaptSize => {
            let syntax = match format {
                TraceFormat::Txt => Syntax::Txt,
                TraceFormat::Lirs => Syntax::Lirs,
                _ => Syntax::AdaptSize,
            };
            let info = SourceInfo {
                has_sizes: syntax == Syntax::AdaptSize,
                ..info
            };
            Box::new(TextTrace::new(
                info,
                p,
                Box::new(BufReader::with_capacity(1 << 16, input)),
                syntax,
            ))
        }
        TraceFormat::Csv => Box::new(self::csv::CsvTrace::lab(info, path, input)?),
        TraceFormat::LibCacheSimCsv => Box::new(self::csv::CsvTrace::libcachesim(
            info,
            path,
            input,
            opts.columns.clone(),
        )?),
    };
    Ok(src)
}

/// The shared trace folder for tests and benches: `$EVICTLAB_TRACES` if set, else
/// `../shared/traces` from the workspace root (or from its parent, for a git worktree one
/// level deeper). `None` when absent.
pub fn shared_traces_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("EVICTLAB_TRACES") {
        return Some(PathBuf::from(d)).filter(|p| p.is_dir());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    [
        root.join("../shared/traces"),
        root.join("../../shared/traces"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

/// A strict unsigned decimal parser (no sign, no spaces), shared with the HCL scenario.
pub fn parse_decimal_u64(b: &[u8]) -> Option<u64> {
    text::parse_u64(b)
}
