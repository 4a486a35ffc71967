//! Sizes of Redis 7.0's compact encodings: listpack entries, intsets, and the score strings
//! sorted sets store in listpacks.
//!
//! Listpack (Redis 7.0 `src/listpack.c`): a 6-byte header (`LP_HDR_SIZE`: total bytes u32 +
//! element count u16), the entries, and a 1-byte end marker. An entry is its encoding and
//! data followed by a back-length of 1–5 bytes (`lpEncodeBacklen`: 7 bits per byte). An
//! element that is the canonical decimal form of an `i64` (`lpStringToInt64`, tried for
//! strings of at most 20 bytes) is stored as an integer: 7-bit unsigned in 1 byte, 13-bit
//! in 2, 16/24/32/64-bit in 3/5/… bytes (`LP_ENCODING_*`); otherwise a string with a 1-byte
//! (length < 64), 2-byte (< 4096) or 5-byte header.
//!
//! Intset (`src/intset.c`): an 8-byte header (encoding u32, length u32) and the members,
//! each 2, 4 or 8 bytes wide — the width the largest member needs (`_intsetValueEncoding`).

/// `LP_HDR_SIZE` + the end byte: the bytes of an empty listpack.
pub const LP_EMPTY: u64 = 6 + 1;

/// An element's content as the model knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// A string of this length whose content is not known (sized storage), or known not to
    /// be an integer.
    Str(u64),
    /// An integer in Redis's sense (canonical decimal, fits `long long`).
    Int(i64),
}

impl Elem {
    /// The element of these bytes: an integer if `string2ll` accepts them.
    pub fn of_bytes(b: &[u8]) -> Elem {
        match parse_canonical_i64(b) {
            Some(i) => Elem::Int(i),
            None => Elem::Str(b.len() as u64),
        }
    }
    /// Length of the element as a string (what Redis's length thresholds compare).
    pub fn len(self) -> u64 {
        match self {
            Elem::Str(n) => n,
            Elem::Int(i) => int_decimal_len(i),
        }
    }
    /// True for the empty string.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// Digits (and sign) of `i` in decimal.
pub fn int_decimal_len(i: i64) -> u64 {
    let mut n = i.unsigned_abs();
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d + u64::from(i < 0)
}

/// `string2ll` (Redis `src/util.c`): the canonical decimal form of an `i64` — no leading
/// zeros or `+`, no `-0`, at most 20 bytes.
pub fn parse_canonical_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let digits = if b[0] == b'-' { &b[1..] } else { b };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || b[0] == b'-')) {
        return None;
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Bytes of `lpEncodeBacklen` for an entry of `l` bytes (encoding + data).
pub(crate) fn backlen(l: u64) -> u64 {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes of one listpack entry holding `e`.
pub fn lp_entry(e: Elem) -> u64 {
    let l = match e {
        Elem::Int(i) => match i {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8388608..=8388607 => 4,
            -2147483648..=2147483647 => 5,
            _ => 9,
        },
        Elem::Str(n) if n < 64 => 1 + n,
        Elem::Str(n) if n < 4096 => 2 + n,
        Elem::Str(n) => 5 + n,
    };
    l + backlen(l)
}

/// The string `d2string` (Redis 7.0 `src/util.c`) writes for a sorted-set score in a
/// listpack, as an element: integral values with |x| < 2^52 as a `long long`, others with
/// `%.17g`.
pub fn score_elem(x: f64) -> Elem {
    if x == 0.0 {
        return if x.is_sign_negative() {
            Elem::Str(2) // "-0"
        } else {
            Elem::Int(0)
        };
    }
    if x.is_nan() {
        return Elem::Str(3); // "nan"
    }
    if x.is_infinite() {
        return Elem::Str(if x < 0.0 { 4 } else { 3 }); // "-inf" / "inf"
    }
    if x > -4503599627370495.0 && x < 4503599627370496.0 && x == (x as i64) as f64 {
        return Elem::Int(x as i64);
    }
    Elem::Str(g17_len(x))
}

/// Length of `printf("%.17g", x)` for a finite non-zero `x`.
fn g17_len(x: f64) -> u64 {
    // 17 significant digits in scientific form: d.dddddddddddddddde±X
    let sci = format!("{:.16e}", x);
    let (mant, exp) = sci
        .split_once('e')
        .expect("scientific format has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    // %g strips trailing zeros of the significand.
    let sig = digits.trim_end_matches('0');
    let sig_len = sig.len().max(1) as i32;
    let len = if !(-4..17).contains(&exp) {
        // d[.ddd]e±XX (at least two exponent digits)
        let frac = sig_len - 1;
        let exp_digits = exp.unsigned_abs().to_string().len().max(2) as i32;
        1 + if frac > 0 { 1 + frac } else { 0 } + 2 + exp_digits
    } else if exp >= 0 {
        let int_digits = exp + 1;
        let frac = (sig_len - int_digits).max(0);
        int_digits + if frac > 0 { 1 + frac } else { 0 }
    } else {
        // 0.000ddd
        2 + (-exp - 1) + sig_len
    };
    (len + i32::from(neg)) as u64
}

/// Bytes of an intset of `n` members whose widest needs `width` bytes (2, 4 or 8).
pub fn intset_bytes(n: u64, width: u64) -> u64 {
    8 + n * width
}

/// The intset width of one member.
pub fn intset_width(i: i64) -> u64 {
    if i16::try_from(i).is_ok() {
        2
    } else if i32::try_from(i).is_ok() {
        4
    } else {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_sizes() {
        assert_eq!(lp_entry(Elem::Int(5)), 2);
        assert_eq!(lp_entry(Elem::Int(200)), 3);
        assert_eq!(lp_entry(Elem::Int(-40000)), 5);
        assert_eq!(lp_entry(Elem::Int(1 << 40)), 10);
        assert_eq!(lp_entry(Elem::Str(0)), 2);
        assert_eq!(lp_entry(Elem::Str(10)), 12);
        assert_eq!(lp_entry(Elem::Str(63)), 65);
        assert_eq!(lp_entry(Elem::Str(64)), 66 + 1); // 2-byte header, 66 ≤ 127 → 1-byte backlen
        assert_eq!(lp_entry(Elem::Str(200)), 202 + 2);
        assert_eq!(lp_entry(Elem::Str(5000)), 5005 + 2);
    }

    #[test]
    fn canonical_integers() {
        assert_eq!(Elem::of_bytes(b"123"), Elem::Int(123));
        assert_eq!(Elem::of_bytes(b"-7"), Elem::Int(-7));
        assert_eq!(Elem::of_bytes(b"0"), Elem::Int(0));
        assert_eq!(Elem::of_bytes(b"007"), Elem::Str(3));
        assert_eq!(Elem::of_bytes(b"-0"), Elem::Str(2));
        assert_eq!(Elem::of_bytes(b"+1"), Elem::Str(2));
        assert_eq!(Elem::of_bytes(b"99999999999999999999"), Elem::Str(20));
        assert_eq!(Elem::Int(-123).len(), 4);
    }

    #[test]
    fn score_strings() {
        assert_eq!(score_elem(3.0), Elem::Int(3));
        assert_eq!(score_elem(0.5), Elem::Str(3)); // "0.5"
        assert_eq!(score_elem(0.1), Elem::Str(19)); // "0.10000000000000001"
        assert_eq!(score_elem(-1.5), Elem::Str(4)); // "-1.5"
        assert_eq!(score_elem(1e300), Elem::Str(23)); // "1.0000000000000001e+300"
        assert_eq!(score_elem(1e22), Elem::Str(5)); // "1e+22"
        assert_eq!(score_elem(1.5e-7), Elem::Str(22)); // "1.4999999999999999e-07"
        assert_eq!(score_elem(123.25), Elem::Str(6));
    }

    #[test]
    fn intsets() {
        assert_eq!(intset_width(100), 2);
        assert_eq!(intset_width(40000), 4);
        assert_eq!(intset_width(-(1 << 40)), 8);
        assert_eq!(intset_bytes(3, 2), 14);
    }
}
