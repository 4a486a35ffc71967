//! The packed encodings stored as one string in a dump: ziplist (Redis ≤ 6.2), listpack
//! (Redis ≥ 7.0) and intset. Each decoder checks the header's byte count, walks every entry
//! within the blob, checks the end marker and the header's entry count, and reports a
//! failure at the blob's offset in the file with the position inside the blob.
//!
//! Sources (Redis 7.0): `src/ziplist.c` (header `zlbytes` u32, `zltail` u32, `zllen` u16;
//! an entry is `prevlen` (1 byte, or 0xFE + 4 bytes) then an encoding: `00pppppp`,
//! `01pppppp qqqqqqqq`, `10000000` + 4-byte big-endian string lengths, `0xC0` int16, `0xD0`
//! int32, `0xE0` int64, `0xF0` int24, `0xFE` int8, `0xF1`-`0xFD` the immediates 0-12; end
//! 0xFF), `src/listpack.c` (header total bytes u32 and count u16; entries `0xxxxxxx`
//! 7-bit uint, `10xxxxxx` 6-bit string, `110xxxxx` 13-bit int, `1110xxxx` 12-bit string,
//! `0xF0` 32-bit string, `0xF1`-`0xF4` int16/24/32/64, each followed by its back-length of
//! 1-5 bytes (`lpEncodeBacklen`); end 0xFF), `src/intset.c` (encoding u32 of 2/4/8, length
//! u32, then the little-endian integers). Counts of 65535 (`UINT16_MAX`) mean "walk to
//! know" in both ziplist and listpack.

use super::bytes::Reader;
use super::{RdbError, RdbStr};
use crate::memory::listpack::backlen;

/// A little-endian cursor inside one blob; failures name the blob and the position in it.
struct Blob<'b, 'r, 'a> {
    r: &'r Reader<'a>,
    at: usize,
    kind: &'static str,
    data: &'b [u8],
    pos: usize,
}

impl<'b> Blob<'b, '_, '_> {
    fn fail(&self, pos: usize, found: String, expected: &str) -> RdbError {
        self.r.error(
            self.at,
            format!(
                "corrupt {} (at byte {pos} of its {} bytes)",
                self.kind,
                self.data.len()
            ),
            found,
            expected,
        )
    }

    fn take(&mut self, n: usize) -> Result<&'b [u8], RdbError> {
        if n > self.data.len() - self.pos {
            return Err(self.fail(
                self.pos,
                format!("{n} bytes needed, {} left", self.data.len() - self.pos),
                "an entry that ends inside the blob",
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    /// A little-endian signed integer of `n` bytes (1..=8), sign-extended.
    fn int_le(&mut self, n: usize) -> Result<i64, RdbError> {
        let b = self.take(n)?;
        let mut v: u64 = 0;
        for (i, x) in b.iter().enumerate() {
            v |= u64::from(*x) << (8 * i);
        }
        let shift = 64 - 8 * n as u32;
        Ok(((v << shift) as i64) >> shift)
    }

    fn str(&mut self, n: usize) -> Result<RdbStr, RdbError> {
        Ok(RdbStr::Bytes(self.take(n)?.to_vec()))
    }

    /// Checks the header's byte count, the end marker's position and the entry count.
    fn finish(&self, total: u64, header_count: u64, count: usize) -> Result<(), RdbError> {
        if header_count != 65535 && header_count != count as u64 {
            return Err(self.fail(
                self.pos,
                format!("{count} entries, header says {header_count}"),
                "the header's entry count",
            ));
        }
        if self.pos + 1 != self.data.len() {
            return Err(self.fail(
                self.pos,
                format!("end marker at byte {}", self.pos),
                "the end marker as the blob's last byte",
            ));
        }
        if total != self.data.len() as u64 {
            return Err(self.fail(
                0,
                format!("header says {total} bytes"),
                "the header's byte count equal to the blob's length",
            ));
        }
        Ok(())
    }
}

fn blob<'b, 'r, 'a>(
    r: &'r Reader<'a>,
    at: usize,
    kind: &'static str,
    data: &'b [u8],
) -> Blob<'b, 'r, 'a> {
    Blob {
        r,
        at,
        kind,
        data,
        pos: 0,
    }
}

/// The entries of a ziplist blob that starts at file offset `at`.
pub(super) fn ziplist(r: &Reader<'_>, at: usize, data: &[u8]) -> Result<Vec<RdbStr>, RdbError> {
    let mut b = blob(r, at, "ziplist", data);
    let total = b.int_le(4)? as u32 as u64;
    let _tail = b.take(4)?;
    let count = b.int_le(2)? as u16 as u64;
    let mut out = Vec::with_capacity((count as usize).min(data.len() / 2));
    loop {
        let start = b.pos;
        let first = b.u8()?;
        if first == 0xFF {
            b.pos = start;
            break;
        }
        if first == 0xFE {
            b.take(4)?;
        }
        let enc_at = b.pos;
        let enc = b.u8()?;
        let e = match enc >> 6 {
            0 => b.str(usize::from(enc & 0x3F))?,
            1 => {
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(b.u8()?);
                b.str(n)?
            }
            2 if enc == 0x80 => {
                let s = b.take(4)?;
                b.str(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)?
            }
            _ => RdbStr::Int(match enc {
                0xC0 => b.int_le(2)?,
                0xD0 => b.int_le(4)?,
                0xE0 => b.int_le(8)?,
                0xF0 => b.int_le(3)?,
                0xFE => b.int_le(1)?,
                0xF1..=0xFD => i64::from(enc & 0x0F) - 1,
                _ => {
                    return Err(b.fail(
                        enc_at,
                        format!("encoding byte 0x{enc:02x}"),
                        "0x00-0xbf or 0x80 (strings), 0xc0/0xd0/0xe0/0xf0/0xfe (integers), 0xf1-0xfd (immediates)",
                    ));
                }
            }),
        };
        out.push(e);
    }
    b.finish(total, count, out.len())?;
    Ok(out)
}

/// The entries of a listpack blob that starts at file offset `at`.
pub(super) fn listpack(r: &Reader<'_>, at: usize, data: &[u8]) -> Result<Vec<RdbStr>, RdbError> {
    let mut b = blob(r, at, "listpack", data);
    let total = b.int_le(4)? as u32 as u64;
    let count = b.int_le(2)? as u16 as u64;
    let mut out = Vec::with_capacity((count as usize).min(data.len() / 2));
    loop {
        let start = b.pos;
        let enc = b.u8()?;
        let e = if enc & 0x80 == 0 {
            RdbStr::Int(i64::from(enc & 0x7F))
        } else if enc & 0xC0 == 0x80 {
            b.str(usize::from(enc & 0x3F))?
        } else if enc & 0xE0 == 0xC0 {
            let u = (i64::from(enc & 0x1F) << 8) | i64::from(b.u8()?);
            RdbStr::Int(if u >= 1 << 12 { u - (1 << 13) } else { u })
        } else if enc & 0xF0 == 0xE0 {
            let n = (usize::from(enc & 0x0F) << 8) | usize::from(b.u8()?);
            b.str(n)?
        } else {
            match enc {
                0xF0 => {
                    let n = b.int_le(4)? as u32 as usize;
                    b.str(n)?
                }
                0xF1 => RdbStr::Int(b.int_le(2)?),
                0xF2 => RdbStr::Int(b.int_le(3)?),
                0xF3 => RdbStr::Int(b.int_le(4)?),
                0xF4 => RdbStr::Int(b.int_le(8)?),
                0xFF => {
                    b.pos = start;
                    break;
                }
                _ => {
                    return Err(b.fail(
                        start,
                        format!("encoding byte 0x{enc:02x}"),
                        "0x00-0xf4 (listpack entry encodings) or 0xff (end)",
                    ));
                }
            }
        };
        b.take(backlen((b.pos - start) as u64) as usize)?;
        out.push(e);
    }
    b.finish(total, count, out.len())?;
    Ok(out)
}

/// The members of an intset blob that starts at file offset `at`.
pub(super) fn intset(r: &Reader<'_>, at: usize, data: &[u8]) -> Result<Vec<i64>, RdbError> {
    let mut b = blob(r, at, "intset", data);
    let width = b.int_le(4)? as u32 as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(b.fail(
            0,
            format!("encoding {width}"),
            "2, 4 or 8 (bytes per integer)",
        ));
    }
    let n = b.int_le(4)? as u32 as u64;
    if 8 + n * width as u64 != data.len() as u64 {
        return Err(b.fail(
            4,
            format!(
                "{n} integers of {width} bytes in a {}-byte blob",
                data.len()
            ),
            "8 + length × encoding bytes",
        ));
    }
    (0..n).map(|_| b.int_le(width)).collect()
}
