//! The snapshot file: format, writer and verifying loader.
//!
//! Layout: this file — the format (constants, CRC-64, options); `writer` — encoding an
//! engine into a snapshot; `reader` — verifying, decoding and loading one; `tests` — their
//! round-trip and corruption tests.
//!
//! The layout follows Redis's RDB in spirit (redis `src/rdb.c`, `src/rdb.h`) but is the lab's
//! own, simpler and fully specified here:
//!
//! ```text
//! header (32 bytes)
//!   0..8    magic  b"EVICTLAB"
//!   8..10   version u16 LE  (= 1)
//!   10..12  flags   u16 LE  (bit 0: checksummed, bit 1: written with compression on)
//!   12..20  created_ms u64 LE  (engine time when the snapshot's point in time was taken)
//!   20..28  key_count  u64 LE  (number of key records that follow; verified at the end)
//!   28..32  reserved   u32 = 0
//! records, one per key, in any order
//!   [252 expire_ms:u64 LE]           RDB_OPCODE_EXPIRETIME_MS; absent = no TTL
//!   type:u8  key:bytes  value         types as RDB_TYPE_*: 0 string, 1 list, 2 set,
//!                                     4 hash, 5 zset (ZSET_2: binary double scores)
//! 255                                 RDB_OPCODE_EOF
//! crc64 u64 LE                        CRC-64/Jones over every byte before it
//! ```
//!
//! `bytes` is a LEB128 length followed by the bytes. A string payload (a string value, a
//! hash field's value, a list element) starts with an encoding byte: 0 raw (`bytes`), 1 int
//! (zig-zag LEB128), 2 sized (a LEB128 length only: the engine's `lab-storage sized` keeps no
//! bytes), 3 LZ4 (compressed length, original length, compressed bytes). Hashes, sets, sorted
//! sets and lists are a LEB128 count followed by their elements.
//!
//! Deviations from RDB, on purpose: lengths are LEB128 rather than RDB's 6/14/32/64-bit
//! length encoding; compression is LZ4 (the pure-Rust `lz4_flex` block format) where Redis
//! uses LZF — with Redis's rule that only payloads longer than 20 bytes are tried and the
//! compressed form is kept only if it saves at least 4 bytes (redis `rdbSaveRawString`,
//! `rdbSaveLzfStringObject`); no LRU idle / LFU frequency opcodes (a loaded key starts with
//! a fresh LRU clock or `LFU_INIT_VAL`); one database. The header carries the key count and
//! a "checksummed" flag, so a flipped bit in the flag or a zeroed trailer is detected too
//! (Redis instead skips verification whenever the stored checksum is 0).
//!
//! The checksum is Redis's CRC-64 (Jones polynomial `0xad93d23594c935a9`, reflected, no final
//! xor; redis `src/crc64.c`), `crc64("123456789") = 0xe9c6d914c4b8d9ca`.
//!
//! Loading never touches the caller's engine until the whole file has been verified and
//! loaded into a staging engine ([`load_file`], [`reload`]): a corrupt file loses nothing.

mod reader;
#[cfg(test)]
mod tests;
mod writer;

pub use reader::*;
pub use writer::*;

use crc::{CRC_64_REDIS, Crc, Table};

use crate::config::Config;

/// The file's magic bytes.
pub const MAGIC: &[u8; 8] = b"EVICTLAB";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Bytes in the fixed header.
pub const HEADER_LEN: usize = 32;
/// The EOF opcode plus the 8-byte checksum trailer.
pub const TRAILER_LEN: usize = 9;
/// Header flag: the trailer holds a CRC-64 of the file.
pub const FLAG_CHECKSUM: u16 = 1;
/// Header flag: the writer had compression enabled (each payload still says its encoding).
pub const FLAG_COMPRESSION: u16 = 2;
pub(crate) const KNOWN_FLAGS: u16 = FLAG_CHECKSUM | FLAG_COMPRESSION;

/// `RDB_OPCODE_EXPIRETIME_MS` (redis `src/rdb.h`).
pub const OP_EXPIRETIME_MS: u8 = 252;
/// `RDB_OPCODE_EOF` (redis `src/rdb.h`).
pub const OP_EOF: u8 = 255;
/// `RDB_TYPE_STRING`.
pub const TYPE_STRING: u8 = 0;
/// `RDB_TYPE_LIST`.
pub const TYPE_LIST: u8 = 1;
/// `RDB_TYPE_SET`.
pub const TYPE_SET: u8 = 2;
/// `RDB_TYPE_HASH`.
pub const TYPE_HASH: u8 = 4;
/// `RDB_TYPE_ZSET_2` (scores as binary doubles).
pub const TYPE_ZSET: u8 = 5;

pub(crate) const ENC_RAW: u8 = 0;
pub(crate) const ENC_INT: u8 = 1;
pub(crate) const ENC_SIZED: u8 = 2;
pub(crate) const ENC_LZ4: u8 = 3;

/// Payloads up to this length are never compressed (redis `rdbSaveRawString`: LZF is tried
/// only when `len > 20`).
pub const COMPRESS_MIN_LEN: usize = 20;
/// Compression must save at least this many bytes (redis `rdbSaveLzfStringObject` gives LZF
/// an output buffer of `len - 4`).
pub const COMPRESS_MIN_SAVING: usize = 4;

/// Redis's CRC-64 (`CRC_64_REDIS`: Jones polynomial, reflected, init 0, no final xor).
pub(crate) static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// CRC-64/Jones of `bytes`, as Redis's `crc64(0, bytes, len)`.
pub fn crc64(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}

/// How a snapshot is written (`rdbcompression`, `rdbchecksum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Try LZ4 on string payloads longer than 20 bytes.
    pub compression: bool,
    /// Write a CRC-64 trailer (otherwise 0).
    pub checksum: bool,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            compression: true,
            checksum: true,
        }
    }
}

impl SnapshotOptions {
    /// The options `rdbcompression` and `rdbchecksum` give.
    pub fn from_config(c: &Config) -> SnapshotOptions {
        SnapshotOptions {
            compression: c.rdbcompression,
            checksum: c.rdbchecksum,
        }
    }
}
