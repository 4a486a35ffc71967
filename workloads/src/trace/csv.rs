//! CSV traces: the lab's own format (`csv`) and libCacheSim's csv reader with a column
//! spec (`libcachesim-csv`).
//!
//! **Lab CSV.** Header `op,key,value_size,ttl_ms`, optionally with a leading `time_ms`
//! column (`time_ms,op,key,value_size,ttl_ms`). `op` is `get`, `set` or `delete` (`del`
//! accepted; any case). A `get` row may carry the size and TTL the object gets if the
//! runner fills it on a miss. Empty `value_size` = 1 ([`DEFAULT_VALUE_SIZE`]; 0 for
//! `delete`), empty `ttl_ms` = no TTL. Keys that are canonical unsigned decimals (`0`, `42`,
//! no sign, no leading zeros) are used as ids; any other key becomes
//! [`fnv1a64`](crate::hash::fnv1a64) of its bytes.
//!
//! **libcachesim-csv.** Columns are named as libCacheSim's `-t` option does (1-based):
//! `time-col`, `obj-id-col`, `obj-size-col`, `op-col`, `ttl-col`, `obj-id-is-num`,
//! `has-header`, `delimiter`, plus the lab's `time-unit` (`s` default, `ms`, `us`, `ns`).
//! Without a column spec the file must have a header, and columns are found by name.
//!
//! Times are made relative to the first request, in ms.

use std::io::Read;
use std::path::{Path, PathBuf};

use evictlab_engine::key::parse_canonical_u64;

use crate::hash::fnv1a64;
use crate::spec::DEFAULT_VALUE_SIZE;
use crate::trace::text::parse_u64;
use crate::{MAX_TIME_MS, NEVER, Op, Request, RequestSource, SourceInfo, WorkloadError};

/// Where libCacheSim-style CSV fields are (1-based columns, as libCacheSim counts).
#[derive(Clone, Debug, PartialEq)]
pub struct CsvColumns {
    /// Time column.
    pub time_col: Option<usize>,
    /// Object id column (required).
    pub obj_id_col: usize,
    /// Object size column.
    pub obj_size_col: Option<usize>,
    /// Operation column (`get`/`read`, `set`/`write`/…, `delete`/`del`).
    pub op_col: Option<usize>,
    /// TTL column (same unit as time).
    pub ttl_col: Option<usize>,
    /// `Some(true)`: ids must be unsigned decimals; `Some(false)`: always hash the text;
    /// `None`: decimals as is, anything else hashed.
    pub obj_id_is_num: Option<bool>,
    /// Skip the first line.
    pub has_header: bool,
    /// Field delimiter.
    pub delimiter: u8,
    /// Milliseconds per unit of the time and TTL columns (1000 for seconds).
    pub ms_per_unit: f64,
}

/// The keys a column spec accepts (for errors).
pub const CSV_COLUMN_KEYS: &str = "time-col=N, obj-id-col=N, obj-size-col=N, op-col=N, ttl-col=N, obj-id-is-num=0|1, has-header=true|false, delimiter=comma|tab|space|CHAR, time-unit=s|ms|us|ns";

impl CsvColumns {
    /// Parses libCacheSim's syntax, e.g. `time-col=2, obj-id-col=5, obj-size-col=4,
    /// obj-id-is-num=1, has-header=true`.
    pub fn parse(spec: &str) -> Result<CsvColumns, WorkloadError> {
        let err = |token: &str, problem: &'static str| WorkloadError::Spec {
            spec: spec.to_string(),
            token: token.to_string(),
            problem,
            accepted: CSV_COLUMN_KEYS.to_string(),
        };
        let mut c = CsvColumns {
            time_col: None,
            obj_id_col: 0,
            obj_size_col: None,
            op_col: None,
            ttl_col: None,
            obj_id_is_num: None,
            has_header: false,
            delimiter: b',',
            ms_per_unit: 1000.0,
        };
        for token in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (k, v) = token
                .split_once('=')
                .ok_or_else(|| err(token, "expected KEY=VALUE"))?;
            let (k, v) = (k.trim(), v.trim());
            let col = || -> Result<usize, WorkloadError> {
                match v.parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(err(token, "a column is a 1-based number")),
                }
            };
            let flag = || -> Result<bool, WorkloadError> {
                match v.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" => Ok(true),
                    "0" | "false" | "no" => Ok(false),
                    _ => Err(err(token, "expected true/false or 1/0")),
                }
            };
            match k {
                "time-col" => c.time_col = Some(col()?),
                "obj-id-col" => c.obj_id_col = col()?,
                "obj-size-col" => c.obj_size_col = Some(col()?),
                "op-col" => c.op_col = Some(col()?),
                "ttl-col" => c.ttl_col = Some(col()?),
                "obj-id-is-num" => c.obj_id_is_num = Some(flag()?),
                "has-header" => c.has_header = flag()?,
                "delimiter" => {
                    c.delimiter = match v {
                        "comma" => b',',
                        "tab" | "\\t" => b'\t',
                        "space" => b' ',
                        _ if v.len() == 1 => v.as_bytes()[0],
                        _ => {
                            return Err(err(
                                token,
                                "a delimiter is one character or comma/tab/space",
                            ));
                        }
                    }
                }
                "time-unit" => {
                    c.ms_per_unit = match v {
                        "s" => 1000.0,
                        "ms" => 1.0,
                        "us" => 1e-3,
                        "ns" => 1e-6,
                        _ => return Err(err(token, "unknown time unit")),
                    }
                }
                _ => return Err(err(token, "unknown key")),
            }
        }
        if c.obj_id_col == 0 {
            return Err(err(spec, "obj-id-col is required"));
        }
        Ok(c)
    }

    /// Columns found by header names (case-insensitive): time `time|timestamp|clock_time|ts`,
    /// id `obj_id|obj-id|id|key|lbn|object`, size `obj_size|obj-size|size|len|length|value_size`,
    /// ttl `ttl|ttl_ms`. The op column is not guessed (block traces carry SCSI opcodes there).
    pub fn from_header(names: &[String]) -> Option<CsvColumns> {
        let find = |cands: &[&str]| {
            names
                .iter()
                .position(|n| cands.contains(&n.trim().to_ascii_lowercase().as_str()))
                .map(|i| i + 1)
        };
        Some(CsvColumns {
            time_col: find(&["time", "timestamp", "clock_time", "ts"]),
            obj_id_col: find(&["obj_id", "obj-id", "id", "key", "lbn", "object"])?,
            obj_size_col: find(&[
                "obj_size",
                "obj-size",
                "size",
                "len",
                "length",
                "value_size",
            ]),
            op_col: None,
            ttl_col: find(&["ttl", "ttl_ms"]),
            obj_id_is_num: None,
            has_header: true,
            delimiter: b',',
            ms_per_unit: 1000.0,
        })
    }
}

#[derive(Clone, Debug)]
enum Layout {
    /// Lab CSV; `timed` when the first column is `time_ms`.
    Lab { timed: bool },
    /// libCacheSim columns (0-based indexes internally).
    LibCacheSim(CsvColumns),
}

/// A streaming CSV trace reader.
pub(crate) struct CsvTrace {
    info: SourceInfo,
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    rec: csv::ByteRecord,
    layout: Layout,
    t0: Option<f64>,
}

/// The lab CSV headers.
pub const LAB_HEADER: &str = "op,key,value_size,ttl_ms";
/// The lab CSV header with times.
pub const LAB_HEADER_TIMED: &str = "time_ms,op,key,value_size,ttl_ms";

/// True when `first_line` is a lab CSV header.
pub(crate) fn is_lab_header(first_line: &[u8]) -> bool {
    let h = String::from_utf8_lossy(first_line)
        .trim()
        .replace(' ', "")
        .to_ascii_lowercase();
    h == LAB_HEADER || h == LAB_HEADER_TIMED
}

impl CsvTrace {
    /// The lab format: the header is checked.
    pub(crate) fn lab(
        mut info: SourceInfo,
        path: &Path,
        input: Box<dyn Read + Send>,
    ) -> Result<CsvTrace, WorkloadError> {
        let mut t = CsvTrace::open(info.clone(), path, input, b',');
        let header = t.next_record()?;
        let timed = match header {
            false => None,
            true => {
                let h: Vec<String> = t
                    .rec
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim().to_ascii_lowercase())
                    .collect();
                match h.join(",").as_str() {
                    LAB_HEADER => Some(false),
                    LAB_HEADER_TIMED => Some(true),
                    _ => None,
                }
            }
        };
        let Some(timed) = timed else {
            return Err(t.bad(
                "header",
                format!("the header `{LAB_HEADER}` or `{LAB_HEADER_TIMED}`"),
            ));
        };
        info.has_time = timed;
        info.has_sizes = true;
        info.has_ttl = true;
        t.info = info;
        t.layout = Layout::Lab { timed };
        Ok(t)
    }

    /// libCacheSim columns; `None` = find them from the header.
    pub(crate) fn libcachesim(
        mut info: SourceInfo,
        path: &Path,
        input: Box<dyn Read + Send>,
        columns: Option<CsvColumns>,
    ) -> Result<CsvTrace, WorkloadError> {
        let delimiter = columns.as_ref().map_or(b',', |c| c.delimiter);
        let mut t = CsvTrace::open(info.clone(), path, input, delimiter);
        let cols = match columns {
            Some(c) => {
                if c.has_header {
                    t.next_record()?;
                }
                c
            }
            None => {
                if !t.next_record()? {
                    return Err(t.bad(
                        "header",
                        "a header naming the id column, or a column spec".into(),
                    ));
                }
                let names: Vec<String> = t
                    .rec
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                CsvColumns::from_header(&names).ok_or_else(|| {
                    t.bad(
                        "header",
                        "a header with an id column (obj_id, id, key, lbn, object), or a column spec such as libcachesim-csv:time-col=2,obj-id-col=5,obj-size-col=4,has-header=true".into(),
                    )
                })?
            }
        };
        info.has_time = cols.time_col.is_some();
        info.has_sizes = cols.obj_size_col.is_some();
        info.has_ttl = cols.ttl_col.is_some();
        t.info = info;
        t.layout = Layout::LibCacheSim(cols);
        Ok(t)
    }

    fn open(info: SourceInfo, path: &Path, input: Box<dyn Read + Send>, delimiter: u8) -> CsvTrace {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(1 << 16)
            .from_reader(input);
        CsvTrace {
            info,
            path: path.to_path_buf(),
            reader,
            rec: csv::ByteRecord::new(),
            layout: Layout::Lab { timed: false },
            t0: None,
        }
    }

    fn next_record(&mut self) -> Result<bool, WorkloadError> {
        self.reader
            .read_byte_record(&mut self.rec)
            .map_err(|e| WorkloadError::io(&self.path, e.into()))
    }

    fn line(&self) -> u64 {
        self.rec.position().map_or(0, |p| p.line())
    }

    fn bad(&self, field: &'static str, expected: String) -> WorkloadError {
        let text: Vec<String> = self
            .rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        WorkloadError::Parse {
            path: self.path.clone(),
            line: self.line(),
            field,
            text: crate::error::excerpt(text.join(",").as_bytes()),
            expected,
        }
    }

    /// `t_ms` relative to the first request's time; later than [`MAX_TIME_MS`] after it is
    /// an error (naming `field` and the value as written).
    fn rel_time(&mut self, t_ms: f64, field: &'static str) -> Result<u64, WorkloadError> {
        let t0 = *self.t0.get_or_insert(t_ms);
        let rel = (t_ms - t0).max(0.0);
        if !(0.0..=MAX_TIME_MS as f64).contains(&rel) {
            return Err(self.bad(
                field,
                format!(
                    "a time at most {MAX_TIME_MS} ms (2^53, ~285 000 years) after the first request's ({} ms); this one is {rel:e} ms after it",
                    t0
                ),
            ));
        }
        Ok(rel as u64)
    }

    /// A TTL in ms, at most [`MAX_TIME_MS`].
    fn ttl(&self, ttl_ms: f64, field: &'static str) -> Result<u64, WorkloadError> {
        if !(0.0..=MAX_TIME_MS as f64).contains(&ttl_ms) {
            return Err(self.bad(
                field,
                format!("a TTL of at most {MAX_TIME_MS} ms (2^53, ~285 000 years); 0 = no TTL"),
            ));
        }
        Ok(ttl_ms as u64)
    }

    fn field(&self, i: usize) -> &[u8] {
        self.rec.get(i).unwrap_or(b"").trim_ascii()
    }

    fn parse_lab(&mut self, timed: bool) -> Result<Request, WorkloadError> {
        let want = if timed { 5 } else { 4 };
        if self.rec.len() != want {
            let header = if timed { LAB_HEADER_TIMED } else { LAB_HEADER };
            return Err(self.bad("columns", format!("{want} fields: {header}")));
        }
        let b = timed as usize;
        let time_ms = if timed {
            let t = parse_u64(self.field(0))
                .filter(|&t| t <= MAX_TIME_MS)
                .ok_or_else(|| {
                    self.bad(
                        "time_ms",
                        format!("an unsigned integer of ms in 0..={MAX_TIME_MS} (2^53)"),
                    )
                })?;
            self.rel_time(t as f64, "time_ms")?
        } else {
            0
        };
        let op =
            parse_op(self.field(b)).ok_or_else(|| self.bad("op", "get, set or delete".into()))?;
        let key = key_id(self.field(b + 1), None).ok_or_else(|| self.bad("key", "a key".into()))?;
        let size = self.field(b + 2);
        let value_size = if size.is_empty() {
            if op == Op::Delete {
                0
            } else {
                DEFAULT_VALUE_SIZE
            }
        } else {
            parse_u64(size)
                .and_then(|s| u32::try_from(s).ok())
                .ok_or_else(|| {
                    self.bad("value_size", "empty or an integer in 0..=4294967295".into())
                })?
        };
        let ttl = self.field(b + 3);
        let ttl_ms = if ttl.is_empty() {
            0
        } else {
            parse_u64(ttl)
                .filter(|&t| t <= MAX_TIME_MS)
                .ok_or_else(|| {
                    self.bad(
                        "ttl_ms",
                        format!("empty, 0 (no TTL) or a TTL in ms in 1..={MAX_TIME_MS} (2^53)"),
                    )
                })?
        };
        Ok(Request {
            time_ms,
            key,
            value_size,
            ttl_ms,
            op,
            next_access: NEVER,
        })
    }

    fn parse_lcs(&mut self, c: &CsvColumns) -> Result<Request, WorkloadError> {
        let max_col = [
            Some(c.obj_id_col),
            c.time_col,
            c.obj_size_col,
            c.op_col,
            c.ttl_col,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(1);
        if self.rec.len() < max_col {
            return Err(self.bad("columns", format!("at least {max_col} fields")));
        }
        let time_ms = match c.time_col {
            None => 0,
            Some(i) => {
                let t = number(self.field(i - 1))
                    .ok_or_else(|| self.bad("time", "a non-negative number".into()))?;
                self.rel_time(t * c.ms_per_unit, "time")?
            }
        };
        let key = key_id(self.field(c.obj_id_col - 1), c.obj_id_is_num).ok_or_else(|| {
            self.bad(
                "key",
                if c.obj_id_is_num == Some(true) {
                    "an unsigned decimal id (obj-id-is-num=1)"
                } else {
                    "a non-empty id"
                }
                .into(),
            )
        })?;
        let value_size = match c.obj_size_col {
            None => DEFAULT_VALUE_SIZE,
            Some(i) => parse_u64(self.field(i - 1))
                .and_then(|s| u32::try_from(s).ok())
                .ok_or_else(|| self.bad("value_size", "an integer in 0..=4294967295".into()))?,
        };
        let op = match c.op_col {
            None => Op::Get,
            Some(i) => parse_op(self.field(i - 1)).ok_or_else(|| {
                self.bad(
                    "op",
                    "get/gets/read, set/write/add/replace/cas/update/insert, delete/del/remove"
                        .into(),
                )
            })?,
        };
        let ttl_ms = match c.ttl_col {
            None => 0,
            Some(i) => {
                let t = number(self.field(i - 1))
                    .ok_or_else(|| self.bad("ttl", "a non-negative number".into()))?;
                self.ttl(t * c.ms_per_unit, "ttl")?
            }
        };
        Ok(Request {
            time_ms,
            key,
            value_size,
            ttl_ms,
            op,
            next_access: NEVER,
        })
    }
}

fn number(b: &[u8]) -> Option<f64> {
    if let Some(v) = parse_u64(b) {
        return Some(v as f64);
    }
    let v: f64 = std::str::from_utf8(b).ok()?.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// A key's id: a canonical decimal as is, anything else FNV-1a 64 (see module docs).
fn key_id(b: &[u8], is_num: Option<bool>) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    match is_num {
        Some(true) => parse_u64(b),
        Some(false) => Some(fnv1a64(b)),
        None => Some(parse_canonical_u64(b).unwrap_or_else(|| fnv1a64(b))),
    }
}

fn parse_op(b: &[u8]) -> Option<Op> {
    let s = std::str::from_utf8(b).ok()?.to_ascii_lowercase();
    Some(match s.as_str() {
        "get" | "gets" | "read" => Op::Get,
        "set" | "write" | "add" | "replace" | "cas" | "update" | "insert" | "append"
        | "prepend" => Op::Set,
        "delete" | "del" | "remove" => Op::Delete,
        _ => return None,
    })
}

impl RequestSource for CsvTrace {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn fill(&mut self, out: &mut Vec<Request>, max: usize) -> Result<usize, WorkloadError> {
        let mut n = 0;
        let layout = self.layout.clone();
        while n < max && self.next_record()? {
            // A blank line is one empty field: skip it.
            if self.rec.len() == 1 && self.rec[0].trim_ascii().is_empty() {
                continue;
            }
            let r = match &layout {
                Layout::Lab { timed } => self.parse_lab(*timed)?,
                Layout::LibCacheSim(c) => self.parse_lcs(c)?,
            };
            out.push(r);
            n += 1;
        }
        Ok(n)
    }
}
