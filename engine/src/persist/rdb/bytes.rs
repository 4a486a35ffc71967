//! The byte-level reader of an RDB file: lengths, strings (raw, integer, LZF), scores, each
//! failure an [`RdbError`] naming the byte offset, the key being read, the value found and
//! what is accepted.
//!
//! Sources (Redis 7.0 `src/rdb.c`): `rdbLoadLenByRef` (the 6/14/32/64-bit length forms and
//! the `11xxxxxx` special string encodings), `rdbGenericLoadStringObject`,
//! `rdbLoadIntegerObject` (8/16/32-bit little-endian integers), `rdbLoadLzfStringObject`
//! (compressed and uncompressed lengths, then the LZF bytes; the result must have exactly the
//! announced length), `rdbLoadDoubleValue` (a length byte, 253/254/255 for NaN/+inf/−inf,
//! then the number as text) and `rdbLoadBinaryDoubleValue` (8 bytes little-endian).

use super::{RdbError, RdbStr};

/// `RDB_ENC_INT8` .. `RDB_ENC_LZF`: the special string encodings of a `11xxxxxx` length byte.
const ENC_INT8: u64 = 0;
const ENC_INT16: u64 = 1;
const ENC_INT32: u64 = 2;
const ENC_LZF: u64 = 3;

/// The largest expansion LZF can achieve: a 3-byte back reference copies at most 264 bytes
/// (liblzf `lzf_d.c`: length 7 + 255 + 2), so a valid compressed string of `c` bytes
/// decompresses to at most 88·c bytes. A larger announced length is refused before anything
/// is allocated.
pub(super) const LZF_MAX_RATIO: u64 = 88;

/// A cursor over the file's bytes that knows which key it is reading (for error messages).
#[derive(Debug)]
pub(super) struct Reader<'a> {
    pub file: &'a str,
    pub data: &'a [u8],
    pub pos: usize,
    /// The key whose value is being read, if any.
    pub key: Option<Vec<u8>>,
}

impl<'a> Reader<'a> {
    pub fn new(file: &'a str, data: &'a [u8]) -> Reader<'a> {
        Reader {
            file,
            data,
            pos: 0,
            key: None,
        }
    }

    /// An error at byte `at`.
    pub fn error(
        &self,
        at: usize,
        what: impl Into<String>,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> RdbError {
        RdbError {
            file: self.file.to_string(),
            offset: at as u64,
            key: self.key.as_deref().map(super::show_bytes),
            what: what.into(),
            found: found.into(),
            expected: expected.into(),
        }
    }

    /// Bytes left after the cursor.
    pub fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], RdbError> {
        if n > self.left() as u64 {
            return Err(self.error(
                self.pos,
                what,
                format!(
                    "{n} bytes announced, {} left in the file (end of file inside the value)",
                    self.left()
                ),
                "a complete file (truncated or corrupt dump)",
            ));
        }
        let s = &self.data[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, RdbError> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u32le(&mut self, what: &str) -> Result<u32, RdbError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64le(&mut self, what: &str) -> Result<u64, RdbError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// `rdbLoadLenByRef`: a length, or (true, n) for the special string encoding `n`.
    pub fn length_or_encoding(&mut self, what: &str) -> Result<(u64, bool), RdbError> {
        let at = self.pos;
        let b = self.u8(what)?;
        match b >> 6 {
            0 => Ok((u64::from(b & 0x3F), false)),
            1 => Ok(((u64::from(b & 0x3F) << 8) | u64::from(self.u8(what)?), false)),
            2 => match b {
                0x80 => {
                    let s = self.take(4, what)?;
                    Ok((u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])), false))
                }
                0x81 => {
                    let s = self.take(8, what)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    Ok((u64::from_be_bytes(a), false))
                }
                _ => Err(self.error(
                    at,
                    format!("bad length encoding of {what}"),
                    format!("byte 0x{b:02x}"),
                    "0x00-0x7f (6/14-bit), 0x80 (32-bit), 0x81 (64-bit) or 0xc0-0xc3 (string encodings)",
                )),
            },
            _ => Ok((u64::from(b & 0x3F), true)),
        }
    }

    /// A plain length (no string encoding allowed).
    pub fn length(&mut self, what: &str) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.length_or_encoding(what)? {
            (n, false) => Ok(n),
            (n, true) => Err(self.error(
                at,
                format!("bad length of {what}"),
                format!("string encoding {n} (byte 0x{:02x})", self.data[at]),
                "a length (0x00-0x81 prefix)",
            )),
        }
    }

    /// A count of items each taking at least `min_bytes` bytes: refused when the rest of
    /// the file could not hold that many (so a corrupt count never allocates or loops).
    pub fn count(&mut self, what: &str, min_bytes: u64) -> Result<u64, RdbError> {
        let at = self.pos;
        let n = self.length(what)?;
        if n.saturating_mul(min_bytes) > self.left() as u64 {
            return Err(self.error(
                at,
                format!("bad {what}"),
                format!(
                    "{n} items of at least {min_bytes} bytes, {} bytes left in the file",
                    self.left()
                ),
                "a count the rest of the file can hold (truncated or corrupt dump)",
            ));
        }
        Ok(n)
    }

    /// `rdbGenericLoadStringObject`: a raw, integer or LZF-compressed string.
    pub fn string(&mut self, what: &str) -> Result<RdbStr, RdbError> {
        let at = self.pos;
        let (n, encoded) = self.length_or_encoding(what)?;
        if !encoded {
            return Ok(RdbStr::Bytes(self.take(n, what)?.to_vec()));
        }
        match n {
            ENC_INT8 => Ok(RdbStr::Int(i64::from(self.u8(what)? as i8))),
            ENC_INT16 => {
                let b = self.take(2, what)?;
                Ok(RdbStr::Int(i64::from(i16::from_le_bytes([b[0], b[1]]))))
            }
            ENC_INT32 => {
                let b = self.take(4, what)?;
                Ok(RdbStr::Int(i64::from(i32::from_le_bytes([
                    b[0], b[1], b[2], b[3],
                ]))))
            }
            ENC_LZF => self.lzf(at, what).map(RdbStr::Bytes),
            _ => Err(self.error(
                at,
                format!("bad string encoding of {what}"),
                format!("encoding {n} (byte 0x{:02x})", self.data[at]),
                "0 (int8), 1 (int16), 2 (int32) or 3 (LZF)",
            )),
        }
    }

    /// A string that must be raw bytes (a ziplist, listpack or intset blob) — integer
    /// encodings are refused.
    pub fn blob(&mut self, what: &str) -> Result<(usize, Vec<u8>), RdbError> {
        let at = self.pos;
        match self.string(what)? {
            RdbStr::Bytes(b) => Ok((at, b)),
            RdbStr::Int(i) => Err(self.error(
                at,
                format!("bad {what}"),
                format!("an integer-encoded string ({i})"),
                "a byte string (ziplist, listpack or intset blob)",
            )),
        }
    }

    /// `rdbLoadLzfStringObject`.
    fn lzf(&mut self, at: usize, what: &str) -> Result<Vec<u8>, RdbError> {
        let clen = self.length(what)?;
        let len = self.length(what)?;
        if clen == 0 || len > clen.saturating_mul(LZF_MAX_RATIO) {
            return Err(self.error(
                at,
                format!("bad LZF lengths of {what}"),
                format!("{clen} compressed bytes announced as {len} bytes"),
                format!("a non-empty compressed string of at most {LZF_MAX_RATIO}x expansion"),
            ));
        }
        let packed = self.take(clen, what)?;
        match lzf::decompress(packed, len as usize) {
            Ok(out) if out.len() as u64 == len => Ok(out),
            Ok(out) => Err(self.error(
                at,
                format!("LZF failure in {what}"),
                format!("{} bytes decompressed", out.len()),
                format!("exactly the announced {len} bytes"),
            )),
            Err(e) => Err(self.error(
                at,
                format!("LZF failure in {what}"),
                format!("{e:?} decompressing {clen} bytes to {len}"),
                "valid LZF data",
            )),
        }
    }

    /// `rdbLoadDoubleValue` (sorted sets of `RDB_TYPE_ZSET`): the score as text.
    pub fn text_double(&mut self, what: &str) -> Result<f64, RdbError> {
        let at = self.pos;
        let n = self.u8(what)?;
        let v = match n {
            253 => f64::NAN,
            254 => f64::INFINITY,
            255 => f64::NEG_INFINITY,
            n => {
                let text = self.take(u64::from(n), what)?;
                parse_score(text).ok_or_else(|| {
                    self.error(
                        at,
                        format!("bad {what}"),
                        format!("'{}'", super::show_bytes(text)),
                        "a number as text",
                    )
                })?
            }
        };
        Ok(v)
    }

    /// `rdbLoadBinaryDoubleValue` (`RDB_TYPE_ZSET_2`).
    pub fn binary_double(&mut self, what: &str) -> Result<f64, RdbError> {
        Ok(f64::from_bits(self.u64le(what)?))
    }
}

/// A score written as text (ziplist/listpack scores, `RDB_TYPE_ZSET`): `strtod`'s forms
/// Redis writes (`%.17g`, `inf`, `-inf`).
pub(super) fn parse_score(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.trim().parse::<f64>().ok()
}
