//! Writing a snapshot: records, the header and the CRC-64 trailer.

use std::io::{self, Write};

use crc::{Digest, Table};

use super::*;
use crate::engine::Engine;
use crate::key::Key;
use crate::keyspace::{Entry, NO_EXPIRE};
use crate::value::{Blob, Value};

// -------------------------------------------------------------------------------------------
// Writing
// -------------------------------------------------------------------------------------------

/// Writing a snapshot failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The sink failed.
    #[error("write error: {0}")]
    Io(#[from] io::Error),
    /// Fewer or more records were written than the header announced.
    #[error("snapshot announced {expected} keys in its header but {written} were written")]
    CountMismatch {
        /// The count in the header.
        expected: u64,
        /// Records written.
        written: u64,
    },
}

/// Streams records into a sink, computing the checksum on the way.
///
/// Each record is encoded into an internal buffer and handed to the sink in one
/// `write_all`, so [`SnapshotWriter::record_buffer_capacity`] bounds the writer's own
/// memory (plus the sink's buffer). The writer never allocates per record once its buffers
/// have grown to the largest record, which matters in a fork child: every byte the child
/// writes to its own heap is a page it copies.
pub struct SnapshotWriter<W: Write> {
    out: W,
    digest: Digest<'static, u64, Table<16>>,
    opts: SnapshotOptions,
    rec: Vec<u8>,
    scratch: Vec<u8>,
    bytes: u64,
    records: u64,
    expected: u64,
}

impl<W: Write> SnapshotWriter<W> {
    /// Writes the header announcing `key_count` records taken at `created_ms`.
    pub fn new(
        out: W,
        opts: SnapshotOptions,
        created_ms: u64,
        key_count: u64,
    ) -> io::Result<SnapshotWriter<W>> {
        let mut w = SnapshotWriter {
            out,
            digest: CRC64.digest(),
            opts,
            rec: Vec::with_capacity(4096),
            scratch: Vec::new(),
            bytes: 0,
            records: 0,
            expected: key_count,
        };
        let mut flags = 0u16;
        if opts.checksum {
            flags |= FLAG_CHECKSUM;
        }
        if opts.compression {
            flags |= FLAG_COMPRESSION;
        }
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(MAGIC);
        h[8..10].copy_from_slice(&VERSION.to_le_bytes());
        h[10..12].copy_from_slice(&flags.to_le_bytes());
        h[12..20].copy_from_slice(&created_ms.to_le_bytes());
        h[20..28].copy_from_slice(&key_count.to_le_bytes());
        w.emit(&h)?;
        Ok(w)
    }

    /// Grows and touches the internal buffers to `bytes` each, so that a fork child can take
    /// its COW baseline after the buffers exist.
    pub fn prefault_buffers(&mut self, bytes: usize) {
        for b in [&mut self.rec, &mut self.scratch] {
            b.clear();
            b.resize(bytes, 0);
            b.clear();
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.opts.checksum {
            self.digest.update(bytes);
        }
        self.out.write_all(bytes)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Writes one entry of a keyspace. Returns the record's size in bytes.
    pub fn write_entry(&mut self, e: &Entry) -> io::Result<usize> {
        self.write_record(&e.key, &e.value, e.expire_at_ms)
    }

    /// Writes one key record. Returns its size in bytes.
    pub fn write_record(
        &mut self,
        key: &Key,
        value: &Value,
        expire_at_ms: u64,
    ) -> io::Result<usize> {
        let mut rec = std::mem::take(&mut self.rec);
        rec.clear();
        encode_record(
            &mut rec,
            &mut self.scratch,
            self.opts.compression,
            key,
            value,
            expire_at_ms,
        );
        let r = self.emit(&rec);
        let n = rec.len();
        self.rec = rec;
        r?;
        self.records += 1;
        Ok(n)
    }

    /// Bytes written so far (header included).
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Key records written so far.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Capacity of the record buffer (it grows to the largest record written).
    pub fn record_buffer_capacity(&self) -> usize {
        self.rec.capacity() + self.scratch.capacity()
    }

    /// The sink.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the EOF opcode and the checksum trailer; fails if the number of records is not
    /// the one announced in the header. Returns the sink (not flushed) and the total size.
    pub fn finish(mut self) -> Result<(W, u64), WriteError> {
        if self.records != self.expected {
            return Err(WriteError::CountMismatch {
                expected: self.expected,
                written: self.records,
            });
        }
        self.emit(&[OP_EOF])?;
        let crc = if self.opts.checksum {
            self.digest.finalize()
        } else {
            0
        };
        self.out.write_all(&crc.to_le_bytes())?;
        self.bytes += 8;
        Ok((self.out, self.bytes))
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_key(out: &mut Vec<u8>, k: &Key) {
    k.with_bytes(|b| put_bytes(out, b));
}

fn put_blob(out: &mut Vec<u8>, scratch: &mut Vec<u8>, compress: bool, b: &Blob) {
    match b {
        Blob::Sized(n) => {
            out.push(ENC_SIZED);
            put_varint(out, *n);
        }
        Blob::Int(i) => {
            out.push(ENC_INT);
            put_varint(out, ((*i << 1) ^ (*i >> 63)) as u64);
        }
        Blob::Bytes(bytes) => {
            if compress && bytes.len() > COMPRESS_MIN_LEN {
                let max = lz4_flex::block::get_maximum_output_size(bytes.len());
                if scratch.len() < max {
                    scratch.resize(max, 0);
                }
                if let Ok(n) = lz4_flex::block::compress_into(bytes, scratch)
                    && n + COMPRESS_MIN_SAVING <= bytes.len()
                {
                    out.push(ENC_LZ4);
                    put_varint(out, n as u64);
                    put_varint(out, bytes.len() as u64);
                    out.extend_from_slice(&scratch[..n]);
                    return;
                }
            }
            out.push(ENC_RAW);
            put_bytes(out, bytes);
        }
    }
}

/// Encodes one key record (expire opcode, type, key, value) into `out`.
fn encode_record(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    compress: bool,
    key: &Key,
    value: &Value,
    expire_at_ms: u64,
) {
    if expire_at_ms != NO_EXPIRE {
        out.push(OP_EXPIRETIME_MS);
        out.extend_from_slice(&expire_at_ms.to_le_bytes());
    }
    let ty = match value {
        Value::Str(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST,
        Value::Set(_) => TYPE_SET,
        Value::Hash(_) => TYPE_HASH,
        Value::ZSet(_) => TYPE_ZSET,
    };
    out.push(ty);
    put_key(out, key);
    match value {
        Value::Str(b) => put_blob(out, scratch, compress, b),
        Value::List(l) => {
            put_varint(out, l.len() as u64);
            for b in l.iter() {
                put_blob(out, scratch, compress, b);
            }
        }
        Value::Set(s) => {
            put_varint(out, s.len() as u64);
            for m in s.iter() {
                put_key(out, m);
            }
        }
        Value::Hash(h) => {
            put_varint(out, h.len() as u64);
            for (f, b) in h.iter() {
                put_key(out, f);
                put_blob(out, scratch, compress, b);
            }
        }
        Value::ZSet(z) => {
            put_varint(out, z.len() as u64);
            for (m, s) in z.iter() {
                put_key(out, m);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
    }
}

/// Serializes a whole engine's keyspace into `out` (header, every key, trailer). Calls
/// `progress(keys_done, bytes_written)` after each key. Returns the sink and the size.
pub fn write_engine<W: Write>(
    engine: &Engine,
    out: W,
    opts: SnapshotOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(W, u64), WriteError> {
    let ks = engine.keyspace();
    let mut w = SnapshotWriter::new(out, opts, engine.now_ms(), ks.len() as u64)?;
    for (_, e) in ks.iter() {
        w.write_entry(e)?;
        progress(w.records_written(), w.bytes_written());
    }
    w.finish()
}

/// Serializes an engine into a byte vector (tests, benchmarks, small snapshots).
pub fn to_bytes(engine: &Engine, opts: SnapshotOptions) -> Vec<u8> {
    match write_engine(engine, Vec::new(), opts, &mut |_, _| {}) {
        Ok((v, _)) => v,
        // Writing to a Vec cannot fail and the count always matches the keyspace.
        Err(e) => unreachable!("writing a snapshot to memory failed: {e}"),
    }
}

/// A canonical text form of a value, independent of the iteration order of hashes and
/// sets: equal contents give equal strings. For comparing datasets (tests, tools).
pub fn canonical(v: &Value) -> String {
    let b = |b: &Blob| match b {
        Blob::Sized(n) => format!("sized:{n}"),
        other => format!("{:?}", other.to_bytes().unwrap_or_default()),
    };
    match v {
        Value::Str(x) => format!("str {}", b(x)),
        Value::List(l) => format!("list {:?}", l.iter().map(b).collect::<Vec<_>>()),
        Value::Set(s) => {
            let mut m: Vec<_> = s.iter().map(|k| k.to_vec()).collect();
            m.sort();
            format!("set {m:?}")
        }
        Value::Hash(h) => {
            let mut m: Vec<_> = h.iter().map(|(f, x)| (f.to_vec(), b(x))).collect();
            m.sort();
            format!("hash {m:?}")
        }
        Value::ZSet(z) => format!(
            "zset {:?}",
            z.iter()
                .map(|(k, s)| (k.to_vec(), s.to_bits()))
                .collect::<Vec<_>>()
        ),
    }
}

/// Every key of `engine` as `(key bytes, canonical value, expire_at_ms)`, sorted: two
/// engines hold the same dataset iff their dumps are equal.
pub fn canonical_dump(engine: &Engine) -> Vec<(Vec<u8>, String, u64)> {
    let mut v: Vec<_> = engine
        .keyspace()
        .iter()
        .map(|(_, e)| (e.key.to_vec(), canonical(&e.value), e.expire_at_ms))
        .collect();
    v.sort();
    v
}
