//! Fixed-size binary records: libCacheSim oracleGeneral, VMware vscsi v1/v2, cache2k (i32
//! BE), scarab and corda (i64 BE), CloudPhysics w106 (u32 BE).
//!
//! One generic reader ([`BinaryTrace`]) owns a 128 KiB buffer and decodes whole records out of
//! it; the record layout is a [`Decoder`] (monomorphised, so the per-record loop is a few
//! loads). Memory is bounded by the buffer whatever the trace length.

use std::io::Read;
use std::path::PathBuf;

use crate::spec::DEFAULT_VALUE_SIZE;
use crate::{MAX_TIME_MS, NEVER, Op, Request, RequestSource, SourceInfo, WorkloadError};

/// Read buffer: 128 KiB, so that what a `read` copied in is still in the L2 cache when
/// the records are decoded (1 MiB filled the L2 of the machine measured).
const BUF_BYTES: usize = 1 << 17;

/// A record layout.
pub(crate) trait Decoder: Send + 'static {
    /// Bytes per record.
    const SIZE: usize;
    /// Decodes one record (`rec.len() == SIZE`) at byte `offset` of the stream.
    fn decode(&mut self, rec: &[u8], offset: u64) -> Result<Request, WorkloadError>;
    /// Decodes whole records (`recs.len()` a multiple of `SIZE`, the first at byte `offset`),
    /// appending them to `out`.
    #[inline(always)]
    fn decode_all(
        &mut self,
        recs: &[u8],
        offset: u64,
        out: &mut Vec<Request>,
    ) -> Result<(), WorkloadError> {
        out.reserve(recs.len() / Self::SIZE);
        for (i, rec) in recs.chunks_exact(Self::SIZE).enumerate() {
            out.push(self.decode(rec, offset + (i * Self::SIZE) as u64)?);
        }
        Ok(())
    }
}

/// A record layout whose records are all valid: a batch decodes as one exact-length
/// `extend` (no error branch or capacity check per record).
pub(crate) trait Record: Send + 'static {
    /// Bytes per record.
    const SIZE: usize;
    /// Decodes one record (`rec.len() == SIZE`).
    fn get(&mut self, rec: &[u8]) -> Request;
}

impl<R: Record> Decoder for R {
    const SIZE: usize = R::SIZE;
    #[inline(always)]
    fn decode(&mut self, rec: &[u8], _offset: u64) -> Result<Request, WorkloadError> {
        Ok(self.get(rec))
    }
    #[inline(always)]
    fn decode_all(
        &mut self,
        recs: &[u8],
        _offset: u64,
        out: &mut Vec<Request>,
    ) -> Result<(), WorkloadError> {
        out.extend(recs.chunks_exact(R::SIZE).map(|rec| self.get(rec)));
        Ok(())
    }
}

/// A streaming reader of fixed-size records.
pub(crate) struct BinaryTrace<D: Decoder> {
    info: SourceInfo,
    path: PathBuf,
    input: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    eof: bool,
    decoder: D,
}

impl<D: Decoder> BinaryTrace<D> {
    /// A reader over `input`, whose first bytes `prefix` were already read (format sniffing).
    pub(crate) fn new(
        info: SourceInfo,
        path: PathBuf,
        input: Box<dyn Read + Send>,
        prefix: &[u8],
        decoder: D,
    ) -> Self {
        let mut buf = vec![0u8; BUF_BYTES.max(prefix.len())].into_boxed_slice();
        buf[..prefix.len()].copy_from_slice(prefix);
        BinaryTrace {
            info,
            path,
            input,
            buf,
            start: 0,
            end: prefix.len(),
            offset: 0,
            eof: false,
            decoder,
        }
    }

    /// Moves the partial record to the front and reads more. False at end of input.
    fn refill(&mut self) -> Result<bool, WorkloadError> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        while !self.eof && self.end < D::SIZE {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(WorkloadError::io(&self.path, e)),
            }
        }
        if self.end >= D::SIZE {
            return Ok(true);
        }
        if self.end > 0 {
            return Err(WorkloadError::Truncated {
                path: self.path.clone(),
                offset: self.offset,
                trailing: self.end,
                record_bytes: D::SIZE,
            });
        }
        Ok(false)
    }
}

impl<D: Decoder> RequestSource for BinaryTrace<D> {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn fill(&mut self, out: &mut Vec<Request>, max: usize) -> Result<usize, WorkloadError> {
        let mut produced = 0;
        while produced < max {
            if self.end - self.start < D::SIZE && !self.refill()? {
                break;
            }
            let avail = (self.end - self.start) / D::SIZE;
            let take = avail.min(max - produced);
            let recs = &self.buf[self.start..self.start + take * D::SIZE];
            self.decoder.decode_all(recs, self.offset, out)?;
            self.offset += recs.len() as u64;
            self.start += take * D::SIZE;
            produced += take;
        }
        Ok(produced)
    }
}

#[inline(always)]
fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
#[inline(always)]
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
#[inline(always)]
fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// A request with no size, time or op information.
#[inline(always)]
fn key_only(key: u64) -> Request {
    Request {
        time_ms: 0,
        key,
        value_size: DEFAULT_VALUE_SIZE,
        ttl_ms: 0,
        op: Op::Get,
        next_access: NEVER,
    }
}

/// Times relative to the first record (earlier records saturate to 0).
#[derive(Default)]
pub(crate) struct RelTime(Option<u64>);

impl RelTime {
    #[inline(always)]
    fn rel(&mut self, t: u64) -> u64 {
        let t0 = *self.0.get_or_insert(t);
        t.saturating_sub(t0)
    }
}

/// libCacheSim oracleGeneral: `u32 clock_time (s); u64 obj_id; u32 obj_size; i64
/// next_access_vtime` little-endian, 24 bytes (libCacheSim `oracleGeneralBin.h`).
#[derive(Default)]
pub(crate) struct OracleGeneral {
    pub(crate) time: RelTime,
}

impl Record for OracleGeneral {
    const SIZE: usize = 24;
    #[inline(always)]
    fn get(&mut self, r: &[u8]) -> Request {
        let vtime = le_u64(r, 16) as i64;
        Request {
            time_ms: self.time.rel(le_u32(r, 0) as u64) * 1000,
            key: le_u64(r, 4),
            value_size: le_u32(r, 12),
            ttl_ms: 0,
            op: Op::Get,
            // 1-based index of the next request, -1 for none → 0-based index / NEVER.
            next_access: if vtime >= 1 { vtime as u64 - 1 } else { NEVER },
        }
    }
}

/// vscsi version 1: `u32 sn; u32 len; u32 nSG; u16 cmd; u16 ver; u64 lbn; u64 ts (µs)`,
/// 32 bytes LE (libCacheSim `vscsi.h` `trace_v1_record`).
#[derive(Default)]
pub(crate) struct Vscsi1 {
    pub(crate) time: RelTime,
    pub(crate) path: PathBuf,
}

impl Decoder for Vscsi1 {
    const SIZE: usize = 32;
    #[inline(always)]
    fn decode(&mut self, r: &[u8], offset: u64) -> Result<Request, WorkloadError> {
        let ver = le_u16(r, 14);
        if ver >> 8 != 1 {
            return Err(bad_version(
                &self.path,
                offset,
                ver,
                "vscsi v1 (ver >> 8 == 1) like the first record",
            ));
        }
        Ok(Request {
            time_ms: vscsi_time_ms(&mut self.time, le_u64(r, 24), &self.path, offset)?,
            key: le_u64(r, 16),
            value_size: le_u32(r, 4),
            ttl_ms: 0,
            op: Op::Get,
            next_access: NEVER,
        })
    }
}

/// vscsi version 2: `u16 cmd; u16 ver; u32 sn; u32 len; u32 nSG; u64 lbn; u64 ts (µs);
/// u64 rt`, 40 bytes LE (libCacheSim `vscsi.h` `trace_v2_record`).
#[derive(Default)]
pub(crate) struct Vscsi2 {
    pub(crate) time: RelTime,
    pub(crate) path: PathBuf,
}

impl Decoder for Vscsi2 {
    const SIZE: usize = 40;
    #[inline(always)]
    fn decode(&mut self, r: &[u8], offset: u64) -> Result<Request, WorkloadError> {
        let ver = le_u16(r, 2);
        if ver >> 8 != 2 {
            return Err(bad_version(
                &self.path,
                offset,
                ver,
                "vscsi v2 (ver >> 8 == 2) like the first record",
            ));
        }
        Ok(Request {
            time_ms: vscsi_time_ms(&mut self.time, le_u64(r, 24), &self.path, offset)?,
            key: le_u64(r, 16),
            value_size: le_u32(r, 8),
            ttl_ms: 0,
            op: Op::Get,
            next_access: NEVER,
        })
    }
}

/// A vscsi timestamp (µs) as ms after the first record's, at most [`MAX_TIME_MS`].
#[inline(always)]
fn vscsi_time_ms(
    time: &mut RelTime,
    ts_us: u64,
    path: &std::path::Path,
    offset: u64,
) -> Result<u64, WorkloadError> {
    let ms = time.rel(ts_us) / 1000;
    if ms > MAX_TIME_MS {
        return Err(WorkloadError::BadRecord {
            path: path.to_path_buf(),
            offset,
            field: "ts",
            value: ts_us,
            expected: "a timestamp (µs) at most 2^53 ms (~285 000 years) after the first record's",
        });
    }
    Ok(ms)
}

#[cold]
fn bad_version(
    path: &std::path::Path,
    offset: u64,
    ver: u16,
    expected: &'static str,
) -> WorkloadError {
    WorkloadError::BadRecord {
        path: path.to_path_buf(),
        offset,
        field: "ver",
        value: ver as u64,
        expected,
    }
}

/// The vscsi version of a first record (libCacheSim `test_vscsi_version`): 1, 2 or 0.
pub(crate) fn vscsi_version(first: &[u8]) -> u8 {
    if first.len() >= 32 && le_u16(first, 14) >> 8 == 1 {
        1
    } else if first.len() >= 40 && le_u16(first, 2) >> 8 == 2 {
        2
    } else {
        0
    }
}

/// cache2k: signed 32-bit big-endian ids (the key is the two's-complement bit pattern of
/// the id widened to 64 bits).
#[derive(Default)]
pub(crate) struct I32Be;

impl Record for I32Be {
    const SIZE: usize = 4;
    #[inline(always)]
    fn get(&mut self, r: &[u8]) -> Request {
        key_only(i32::from_be_bytes([r[0], r[1], r[2], r[3]]) as i64 as u64)
    }
}

/// scarab and corda: signed 64-bit big-endian ids (Java `DataInputStream.readLong`).
#[derive(Default)]
pub(crate) struct I64Be;

impl Record for I64Be {
    const SIZE: usize = 8;
    #[inline(always)]
    fn get(&mut self, r: &[u8]) -> Request {
        let mut a = [0u8; 8];
        a.copy_from_slice(r);
        key_only(i64::from_be_bytes(a) as u64)
    }
}

/// CloudPhysics w106: unsigned 32-bit big-endian block numbers (Caffeine
/// `Integer.toUnsignedLong`).
#[derive(Default)]
pub(crate) struct U32Be;

impl Record for U32Be {
    const SIZE: usize = 4;
    #[inline(always)]
    fn get(&mut self, r: &[u8]) -> Request {
        key_only(u32::from_be_bytes([r[0], r[1], r[2], r[3]]) as u64)
    }
}
