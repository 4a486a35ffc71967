//! Line-oriented traces: plain ids (`txt`), LIRS reference strings (`lirs`), AdaptSize
//! `time id size` (`adapt-size`).
//!
//! Lines may end in LF or CRLF; blank lines are skipped (LIRS's `gli.trace` ends with one);
//! LIRS lines starting with `*` are checkpoint markers, not requests, and are skipped
//! (`2_pools.trace` has two). A malformed line is an error naming the file, the 1-based line
//! number and the text.

use std::io::BufRead;
use std::path::PathBuf;

use crate::error::excerpt;
use crate::spec::DEFAULT_VALUE_SIZE;
use crate::{NEVER, Op, Request, RequestSource, SourceInfo, WorkloadError};

/// Which line syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// One unsigned decimal id per line.
    Txt,
    /// As `Txt`, `*` lines skipped.
    Lirs,
    /// `time id size`, whitespace-separated.
    AdaptSize,
}

/// A streaming line-trace reader.
pub(crate) struct TextTrace {
    info: SourceInfo,
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    line: Vec<u8>,
    line_no: u64,
    syntax: Syntax,
}

impl TextTrace {
    pub(crate) fn new(
        info: SourceInfo,
        path: PathBuf,
        input: Box<dyn BufRead + Send>,
        syntax: Syntax,
    ) -> TextTrace {
        TextTrace {
            info,
            path,
            input,
            line: Vec::with_capacity(128),
            line_no: 0,
            syntax,
        }
    }

    fn bad(&self, field: &'static str, expected: &str) -> WorkloadError {
        WorkloadError::Parse {
            path: self.path.clone(),
            line: self.line_no,
            field,
            text: excerpt(&self.line),
            expected: expected.to_string(),
        }
    }

    /// Parses the current line: `Ok(None)` for a line to skip.
    fn parse_line(&self) -> Result<Option<Request>, WorkloadError> {
        let text = self.line.trim_ascii();
        if text.is_empty() || (self.syntax == Syntax::Lirs && text[0] == b'*') {
            return Ok(None);
        }
        match self.syntax {
            Syntax::Txt | Syntax::Lirs => {
                let key = parse_u64(text)
                    .ok_or_else(|| self.bad("key", "one unsigned decimal id per line"))?;
                Ok(Some(Request {
                    time_ms: 0,
                    key,
                    value_size: DEFAULT_VALUE_SIZE,
                    ttl_ms: 0,
                    op: Op::Get,
                    next_access: NEVER,
                }))
            }
            Syntax::AdaptSize => {
                let expected = "`time id size`: three unsigned decimals separated by spaces";
                let mut f = text
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|s| !s.is_empty());
                let (Some(t), Some(id), Some(size), None) =
                    (f.next(), f.next(), f.next(), f.next())
                else {
                    return Err(self.bad("columns", expected));
                };
                parse_u64(t).ok_or_else(|| self.bad("time", expected))?;
                let key = parse_u64(id).ok_or_else(|| self.bad("key", expected))?;
                let size = parse_u64(size)
                    .and_then(|s| u32::try_from(s).ok())
                    .ok_or_else(|| self.bad("value_size", "a size in 0..=4294967295"))?;
                Ok(Some(Request {
                    time_ms: 0,
                    key,
                    value_size: size,
                    ttl_ms: 0,
                    op: Op::Get,
                    next_access: NEVER,
                }))
            }
        }
    }
}

/// An unsigned decimal (no sign, at least one digit, no overflow).
#[inline]
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
    }
    Some(v)
}

impl RequestSource for TextTrace {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn fill(&mut self, out: &mut Vec<Request>, max: usize) -> Result<usize, WorkloadError> {
        let mut n = 0;
        while n < max {
            self.line.clear();
            let read = self
                .input
                .read_until(b'\n', &mut self.line)
                .map_err(|e| WorkloadError::io(&self.path, e))?;
            if read == 0 {
                break;
            }
            self.line_no += 1;
            if let Some(r) = self.parse_line()? {
                out.push(r);
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u64_is_strict() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"12a"), None);
    }
}
