//! Reading a snapshot: frame verification, record decoding, loading into a staging engine.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use hashbrown::HashSet;

use super::*;
use crate::config::ConfigError;
use crate::engine::Engine;
use crate::key::Key;
use crate::keyspace::NO_EXPIRE;
use crate::value::{Blob, HashValue, ListValue, SetValue, Value, ZSetValue};

// -------------------------------------------------------------------------------------------
// Reading
// -------------------------------------------------------------------------------------------

/// What is wrong with a snapshot's bytes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// Smaller than a header plus trailer.
    #[error(
        "file is {len} bytes, shorter than the smallest snapshot ({min} bytes: header, EOF opcode, checksum)"
    )]
    TooShort {
        /// File length.
        len: u64,
        /// The minimum.
        min: u64,
    },
    /// Wrong magic bytes.
    #[error("bad magic: expected {expected:?}, found {found:?}")]
    BadMagic {
        /// The magic this build writes.
        expected: String,
        /// What the file holds (escaped).
        found: String,
    },
    /// A version this build does not read.
    #[error("unsupported format version {found}: this build reads version {supported}")]
    UnsupportedVersion {
        /// The file's version.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// Header flags with unknown bits.
    #[error("unknown header flags {found:#06x}: known flags are {known:#06x}")]
    UnknownFlags {
        /// The flags.
        found: u16,
        /// The known bits.
        known: u16,
    },
    /// The reserved header word is not zero.
    #[error("reserved header field is {found:#x}, expected 0")]
    Reserved {
        /// Its value.
        found: u32,
    },
    /// The CRC-64 does not match the contents.
    #[error(
        "checksum mismatch: expected {expected:#018x} (stored in the trailer), found {found:#018x} (computed over the contents)"
    )]
    ChecksumMismatch {
        /// Stored in the trailer.
        expected: u64,
        /// Computed over the contents.
        found: u64,
    },
    /// The header says "not checksummed" but the trailer is not 0.
    #[error(
        "header says the file has no checksum, but the trailer holds {found:#018x} (expected 0)"
    )]
    UnexpectedChecksum {
        /// The trailer.
        found: u64,
    },
    /// The header says "checksummed" but the trailer is 0.
    #[error("header says the file is checksummed, but the trailer is 0")]
    MissingChecksum,
    /// The data ends inside a field.
    #[error(
        "unexpected end of records: {what} needs {needed} bytes, {available} left before the EOF opcode"
    )]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes left.
        available: u64,
    },
    /// An unknown record type or opcode.
    #[error(
        "unknown record type {found}: expected 0 (string), 1 (list), 2 (set), 4 (hash), 5 (zset), 252 (expire time) or 255 (end of file)"
    )]
    UnknownType {
        /// The byte found.
        found: u8,
    },
    /// Two expire opcodes in a row, or one before the EOF.
    #[error("expire-time opcode followed by {found} instead of a value type")]
    DanglingExpire {
        /// What followed.
        found: u8,
    },
    /// An unknown string-payload encoding.
    #[error("unknown string encoding {found}: expected 0 (raw), 1 (int), 2 (sized) or 3 (lz4)")]
    UnknownEncoding {
        /// The byte found.
        found: u8,
    },
    /// A LEB128 length longer than 10 bytes or overflowing 64 bits.
    #[error("malformed length (LEB128 varint overflows 64 bits)")]
    BadVarint,
    /// A length larger than what is left of the file.
    #[error("{what} length {found} exceeds the {available} bytes left")]
    LengthTooLarge {
        /// What the length is for.
        what: &'static str,
        /// The length.
        found: u64,
        /// Bytes left.
        available: u64,
    },
    /// An LZ4 block that does not decompress to its announced size.
    #[error("lz4 payload does not decompress to the announced {expected} bytes: {reason}")]
    Decompress {
        /// The announced size.
        expected: u64,
        /// Why.
        reason: String,
    },
    /// An LZ4 payload that is not smaller than its original (the writer never does that).
    #[error(
        "lz4 payload of {compressed} bytes for {original} original bytes: the writer stores such payloads raw"
    )]
    UselessCompression {
        /// Compressed size.
        compressed: u64,
        /// Original size.
        original: u64,
    },
    /// The same key twice.
    #[error("duplicate key")]
    DuplicateKey,
    /// The same field or member twice in one aggregate.
    #[error("duplicate {what} {member:?} in the aggregate")]
    DuplicateMember {
        /// field or member.
        what: &'static str,
        /// The member (escaped, shortened).
        member: String,
    },
    /// An aggregate with no element.
    #[error("empty {ty}: Redis never stores empty aggregates")]
    EmptyAggregate {
        /// The type name.
        ty: &'static str,
    },
    /// A NaN score.
    #[error("sorted-set score is NaN")]
    NanScore,
    /// An expire opcode with time 0 (reserved for "no expiry").
    #[error("expire time 0 is reserved for 'no expiry'")]
    ZeroExpire,
    /// The number of records differs from the header.
    #[error("key count mismatch: expected {expected} (header), found {found} records")]
    CountMismatch {
        /// The header's count.
        expected: u64,
        /// Records found.
        found: u64,
    },
    /// The EOF opcode is not where the trailer starts.
    #[error(
        "end-of-file opcode found {found} bytes before the checksum trailer, expected immediately before it"
    )]
    EarlyEof {
        /// Bytes between the EOF opcode and the trailer.
        found: u64,
    },
    /// No EOF opcode before the trailer.
    #[error("expected the end-of-file opcode 255 right before the checksum trailer, found {found}")]
    MissingEof {
        /// The byte found there.
        found: u8,
    },
}

/// A snapshot that failed verification: where and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct CorruptSnapshot {
    /// The file, when loading from one.
    pub file: Option<PathBuf>,
    /// Byte offset of the bad field.
    pub offset: u64,
    /// Index (0-based) of the key record being read, if inside one.
    pub record: Option<u64>,
    /// The key of that record, if it was read (escaped, shortened to 64 bytes).
    pub key: Option<String>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for CorruptSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.file {
            write!(f, "{}: ", p.display())?;
        }
        write!(f, "corrupt snapshot at byte {}", self.offset)?;
        match (&self.record, &self.key) {
            (Some(r), Some(k)) => write!(f, " (record {r}, key {k:?})")?,
            (Some(r), None) => write!(f, " (record {r})")?,
            _ => {}
        }
        write!(f, ": {}", self.problem)
    }
}

/// Loading a snapshot failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be read.
    #[error("cannot read snapshot {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The contents failed verification.
    #[error(transparent)]
    Corrupt(#[from] CorruptSnapshot),
    /// The staging engine could not be built from the configuration.
    #[error("cannot build the staging engine: {0}")]
    Config(#[from] ConfigError),
}

/// The header of a verified snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// Format version.
    pub version: u16,
    /// The file carries a CRC-64.
    pub checksum: bool,
    /// The writer had compression on.
    pub compression: bool,
    /// Engine time of the snapshot's point in time.
    pub created_ms: u64,
    /// Number of key records.
    pub key_count: u64,
}

/// One decoded key record.
#[derive(Debug)]
pub struct Record {
    /// The key.
    pub key: Key,
    /// The value.
    pub value: Value,
    /// Absolute expiry, or [`NO_EXPIRE`].
    pub expire_at_ms: u64,
}

fn escape(b: &[u8]) -> String {
    let cut = &b[..b.len().min(64)];
    let mut s: String = cut
        .iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect();
    if b.len() > 64 {
        s.push('…');
    }
    s
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
    record: Option<u64>,
    key: Option<String>,
}

impl<'a> Cursor<'a> {
    fn err(&self, at: usize, problem: Problem) -> CorruptSnapshot {
        CorruptSnapshot {
            file: None,
            offset: at as u64,
            record: self.record,
            key: self.key.clone(),
            problem,
        }
    }
    fn left(&self) -> usize {
        self.end - self.pos
    }
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CorruptSnapshot> {
        if self.left() < n {
            return Err(self.err(
                self.pos,
                Problem::Truncated {
                    what,
                    needed: n as u64,
                    available: self.left() as u64,
                },
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, CorruptSnapshot> {
        Ok(self.take(1, what)?[0])
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, CorruptSnapshot> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn varint(&mut self, what: &'static str) -> Result<u64, CorruptSnapshot> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8(what)?;
            let part = (b & 0x7f) as u64;
            if i == 9 && (b & 0x7e) != 0 {
                return Err(self.err(start, Problem::BadVarint));
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err(start, Problem::BadVarint))
    }
    /// A length that must fit in what is left, each unit taking at least `unit` bytes.
    fn len(&mut self, what: &'static str, unit: u64) -> Result<usize, CorruptSnapshot> {
        let at = self.pos;
        let n = self.varint(what)?;
        if n.saturating_mul(unit) > self.left() as u64 {
            return Err(self.err(
                at,
                Problem::LengthTooLarge {
                    what,
                    found: n,
                    available: self.left() as u64,
                },
            ));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], CorruptSnapshot> {
        let n = self.len(what, 1)?;
        self.take(n, what)
    }
    fn key(&mut self, what: &'static str) -> Result<Key, CorruptSnapshot> {
        Ok(Key::from_bytes(self.bytes(what)?))
    }
    fn blob(&mut self, scratch: &mut Vec<u8>) -> Result<Blob, CorruptSnapshot> {
        let at = self.pos;
        match self.u8("string encoding")? {
            ENC_RAW => Ok(Blob::Bytes(self.bytes("string")?.into())),
            ENC_INT => {
                let z = self.varint("integer")?;
                Ok(Blob::Int(((z >> 1) as i64) ^ -((z & 1) as i64)))
            }
            ENC_SIZED => Ok(Blob::Sized(self.varint("sized length")?)),
            ENC_LZ4 => {
                let clen = self.len("lz4 payload", 1)?;
                let len_at = self.pos;
                let orig = self.varint("lz4 original length")?;
                if clen as u64 + COMPRESS_MIN_SAVING as u64 > orig {
                    return Err(self.err(
                        len_at,
                        Problem::UselessCompression {
                            compressed: clen as u64,
                            original: orig,
                        },
                    ));
                }
                // LZ4 cannot expand a block by more than ~255×; refuse absurd sizes before
                // allocating.
                if orig > (clen as u64).saturating_mul(256) + 64 {
                    return Err(self.err(
                        len_at,
                        Problem::Decompress {
                            expected: orig,
                            reason: format!("{clen} compressed bytes cannot expand that far"),
                        },
                    ));
                }
                let data_at = self.pos;
                let comp = self.take(clen, "lz4 payload")?;
                scratch.clear();
                scratch.resize(orig as usize, 0);
                match lz4_flex::block::decompress_into(comp, scratch) {
                    Ok(n) if n as u64 == orig => Ok(Blob::Bytes(scratch[..n].into())),
                    Ok(n) => Err(self.err(
                        data_at,
                        Problem::Decompress {
                            expected: orig,
                            reason: format!("decompressed to {n} bytes"),
                        },
                    )),
                    Err(e) => Err(self.err(
                        data_at,
                        Problem::Decompress {
                            expected: orig,
                            reason: e.to_string(),
                        },
                    )),
                }
            }
            found => Err(self.err(at, Problem::UnknownEncoding { found })),
        }
    }
}

/// Verifies the header and trailer of `data` and returns the header. Does not decode records.
pub fn verify_frame(data: &[u8]) -> Result<SnapshotHeader, CorruptSnapshot> {
    let bare = |offset: usize, problem| CorruptSnapshot {
        file: None,
        offset: offset as u64,
        record: None,
        key: None,
        problem,
    };
    let min = HEADER_LEN + TRAILER_LEN;
    if data.len() < min {
        // Still report a bad magic first when the bytes we have disagree with it.
        let n = data.len().min(MAGIC.len());
        if data[..n] != MAGIC[..n] {
            return Err(bare(
                0,
                Problem::BadMagic {
                    expected: escape(MAGIC),
                    found: escape(&data[..n]),
                },
            ));
        }
        return Err(bare(
            0,
            Problem::TooShort {
                len: data.len() as u64,
                min: min as u64,
            },
        ));
    }
    if &data[0..8] != MAGIC {
        return Err(bare(
            0,
            Problem::BadMagic {
                expected: escape(MAGIC),
                found: escape(&data[0..8]),
            },
        ));
    }
    let version = u16::from_le_bytes([data[8], data[9]]);
    if version != VERSION {
        return Err(bare(
            8,
            Problem::UnsupportedVersion {
                found: version,
                supported: VERSION,
            },
        ));
    }
    let flags = u16::from_le_bytes([data[10], data[11]]);
    if flags & !KNOWN_FLAGS != 0 {
        return Err(bare(
            10,
            Problem::UnknownFlags {
                found: flags,
                known: KNOWN_FLAGS,
            },
        ));
    }
    let reserved = u32::from_le_bytes([data[28], data[29], data[30], data[31]]);
    if reserved != 0 {
        return Err(bare(28, Problem::Reserved { found: reserved }));
    }
    let crc_at = data.len() - 8;
    let stored = u64::from_le_bytes(data[crc_at..].try_into().unwrap_or([0; 8]));
    let checksum = flags & FLAG_CHECKSUM != 0;
    if checksum {
        if stored == 0 {
            return Err(bare(crc_at, Problem::MissingChecksum));
        }
        let computed = crc64(&data[..crc_at]);
        if computed != stored {
            return Err(bare(
                crc_at,
                Problem::ChecksumMismatch {
                    expected: stored,
                    found: computed,
                },
            ));
        }
    } else if stored != 0 {
        return Err(bare(crc_at, Problem::UnexpectedChecksum { found: stored }));
    }
    if data[crc_at - 1] != OP_EOF {
        return Err(bare(
            crc_at - 1,
            Problem::MissingEof {
                found: data[crc_at - 1],
            },
        ));
    }
    Ok(SnapshotHeader {
        version,
        checksum,
        compression: flags & FLAG_COMPRESSION != 0,
        created_ms: u64::from_le_bytes(data[12..20].try_into().unwrap_or([0; 8])),
        key_count: u64::from_le_bytes(data[20..28].try_into().unwrap_or([0; 8])),
    })
}

/// Verifies `data` completely and calls `visit` for every key record, in file order.
///
/// The checksum is verified before any record is decoded, then every field is checked
/// (types, encodings, lengths, decompression, duplicates, NaN scores, the record count).
/// `visit` may see some records before a later one fails to decode; callers that must not
/// lose data load into a staging engine ([`load_file`], [`reload`]).
pub fn decode(
    data: &[u8],
    mut visit: impl FnMut(Record),
) -> Result<SnapshotHeader, CorruptSnapshot> {
    let header = verify_frame(data)?;
    let eof_at = data.len() - TRAILER_LEN;
    let mut c = Cursor {
        data,
        pos: HEADER_LEN,
        end: eof_at,
        record: None,
        key: None,
    };
    let mut seen: HashSet<Key, crate::value::FixedHasher> = HashSet::default();
    let mut scratch = Vec::new();
    let mut index: u64 = 0;
    while c.pos < eof_at {
        c.record = Some(index);
        c.key = None;
        let mut expire = NO_EXPIRE;
        let mut at = c.pos;
        let mut ty = c.u8("record type")?;
        if ty == OP_EXPIRETIME_MS {
            let t_at = c.pos;
            expire = c.u64("expire time")?;
            if expire == NO_EXPIRE {
                return Err(c.err(t_at, Problem::ZeroExpire));
            }
            at = c.pos;
            ty = c.u8("record type")?;
            if ty == OP_EXPIRETIME_MS || ty == OP_EOF {
                return Err(c.err(at, Problem::DanglingExpire { found: ty }));
            }
        }
        if ty == OP_EOF {
            return Err(c.err(
                at,
                Problem::EarlyEof {
                    found: (eof_at - at) as u64,
                },
            ));
        }
        if !matches!(
            ty,
            TYPE_STRING | TYPE_LIST | TYPE_SET | TYPE_HASH | TYPE_ZSET
        ) {
            return Err(c.err(at, Problem::UnknownType { found: ty }));
        }
        let key_at = c.pos;
        let key_bytes = c.bytes("key")?;
        c.key = Some(escape(key_bytes));
        let key = Key::from_bytes(key_bytes);
        let value = match ty {
            TYPE_STRING => Value::Str(c.blob(&mut scratch)?),
            TYPE_LIST => {
                let n = c.len("list", 2)?;
                let mut l = ListValue::default();
                for _ in 0..n {
                    l.push_back(c.blob(&mut scratch)?);
                }
                non_empty(&c, key_at, n, "list")?;
                Value::List(Box::new(l))
            }
            TYPE_SET => {
                let n = c.len("set", 1)?;
                let mut s = SetValue::default();
                for _ in 0..n {
                    let m_at = c.pos;
                    let m = c.key("set member")?;
                    if s.contains(&m) {
                        return Err(dup(&c, m_at, "member", &m));
                    }
                    s.insert(m);
                }
                non_empty(&c, key_at, n, "set")?;
                Value::Set(Box::new(s))
            }
            TYPE_HASH => {
                let n = c.len("hash", 2)?;
                let mut h = HashValue::default();
                for _ in 0..n {
                    let f_at = c.pos;
                    let f = c.key("hash field")?;
                    let v = c.blob(&mut scratch)?;
                    if h.get(&f).is_some() {
                        return Err(dup(&c, f_at, "field", &f));
                    }
                    h.insert(f, v);
                }
                non_empty(&c, key_at, n, "hash")?;
                Value::Hash(Box::new(h))
            }
            _ => {
                let n = c.len("zset", 9)?;
                let mut z = ZSetValue::default();
                for _ in 0..n {
                    let m_at = c.pos;
                    let m = c.key("zset member")?;
                    let s_at = c.pos;
                    let s =
                        f64::from_le_bytes(c.take(8, "zset score")?.try_into().unwrap_or([0; 8]));
                    if s.is_nan() {
                        return Err(c.err(s_at, Problem::NanScore));
                    }
                    if z.score(&m).is_some() {
                        return Err(dup(&c, m_at, "member", &m));
                    }
                    z.insert(m, s);
                }
                non_empty(&c, key_at, n, "zset")?;
                Value::ZSet(Box::new(z))
            }
        };
        if !seen.insert(key.clone()) {
            return Err(c.err(key_at, Problem::DuplicateKey));
        }
        visit(Record {
            key,
            value,
            expire_at_ms: expire,
        });
        index += 1;
    }
    c.record = None;
    c.key = None;
    if index != header.key_count {
        return Err(c.err(
            20,
            Problem::CountMismatch {
                expected: header.key_count,
                found: index,
            },
        ));
    }
    Ok(header)
}

fn non_empty(c: &Cursor<'_>, at: usize, n: usize, ty: &'static str) -> Result<(), CorruptSnapshot> {
    if n == 0 {
        Err(c.err(at, Problem::EmptyAggregate { ty }))
    } else {
        Ok(())
    }
}

fn dup(c: &Cursor<'_>, at: usize, what: &'static str, m: &Key) -> CorruptSnapshot {
    c.err(
        at,
        Problem::DuplicateMember {
            what,
            member: escape(&m.to_vec()),
        },
    )
}

/// The outcome of a successful load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadReport {
    /// The verified header.
    pub header: SnapshotHeader,
    /// Keys stored in the engine.
    pub keys_loaded: u64,
    /// Keys skipped because their TTL had already passed (Redis skips them when loading as
    /// a master, redis `rdbLoadRioWithLoadingCtx`).
    pub keys_expired_skipped: u64,
    /// File size in bytes.
    pub bytes: u64,
}

/// Verifies `data` and stores its keys into `engine` (which should be empty: keys already
/// present are replaced). On an error, records before the bad one may already be stored —
/// use [`load_file`] or [`reload`] to keep a live engine safe.
pub fn load_into(engine: &mut Engine, data: &[u8]) -> Result<LoadReport, CorruptSnapshot> {
    let storage = engine.config().storage;
    let mut loaded = 0;
    let mut skipped = 0;
    let header = decode(data, |r| {
        let value = match r.value {
            Value::Str(b) => Value::Str(b.stored(storage)),
            v => v,
        };
        if engine.restore(r.key, value, r.expire_at_ms) {
            loaded += 1;
        } else {
            skipped += 1;
        }
    })?;
    Ok(LoadReport {
        header,
        keys_loaded: loaded,
        keys_expired_skipped: skipped,
        bytes: data.len() as u64,
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, SnapshotError> {
    std::fs::read(path).map_err(|source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Loads a snapshot file into a new engine built from `config` and `seed`, whose clock is
/// first moved to `now_ms` (virtual time; keys already expired then are skipped). The file
/// is verified completely; on any error nothing is returned but the error.
pub fn load_file(
    path: &Path,
    config: &Config,
    seed: u64,
    now_ms: u64,
) -> Result<(Engine, LoadReport), SnapshotError> {
    let data = read_file(path)?;
    let mut engine = Engine::new(config.clone(), seed)?;
    engine.set_time_ms(now_ms);
    let report = load_into(&mut engine, &data).map_err(|mut e| {
        e.file = Some(path.to_path_buf());
        e
    })?;
    Ok((engine, report))
}

/// Replaces `engine`'s dataset with the snapshot at `path`, or leaves it untouched if the
/// file cannot be read or fails verification. The new engine has the same configuration,
/// is seeded with `seed`, and starts at `engine`'s current time.
pub fn reload(engine: &mut Engine, path: &Path, seed: u64) -> Result<LoadReport, SnapshotError> {
    let (staged, report) = load_file(path, engine.config(), seed, engine.now_ms())?;
    *engine = staged;
    Ok(report)
}
