//! Python-compatible number and string formatting (float `repr`, `round`, `%g`, `%f`,
//! `json.dumps` string escaping). Owns nothing else.
//!
//! Everything here reproduces CPython 3.11 byte for byte:
//!
//! * `repr(float)` / `json.dumps(float)`: shortest round-trip digits (Rust's `{:e}`
//!   produces the same digits as CPython's `dtoa` mode 0), re-laid out in Python's style.
//! * `round(x, n)`, `"%.{p}g"`, `"%.{p}f"`: Rust's `{:.N}` and `{:.N$e}` are *exact*
//!   decimal conversions of the binary value with ties rounded to even, i.e. the same
//!   as CPython's `dtoa` modes 2 and 3, so we format and (for `round`) parse back.
//! * `json.dumps(str)` with `ensure_ascii=True`.

use std::fmt::{self, Write as _};

/// Fixed-size, stack-allocated `fmt::Write` sink. Writing more than `N` bytes fails
/// (returns `fmt::Error`) instead of allocating; contents are then incomplete.
struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    fn new() -> Self {
        StackBuf {
            buf: [0; N],
            len: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this is always valid UTF-8.
        std::str::from_utf8(self.bytes()).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A decimal number `d.ddd × 10^exp` split out of Rust's `{:e}` output
/// (for a non-negative value): the leading digit, the fractional digits, the exponent.
struct Sci<'a> {
    first: u8,
    frac: &'a [u8],
    exp: i32,
}

/// Parse Rust `{:e}` / `{:.N$e}` output of a non-negative finite value, e.g. `1.25e-3`.
fn parse_sci(s: &[u8]) -> Option<Sci<'_>> {
    let (&first, rest) = s.split_first()?;
    if !first.is_ascii_digit() {
        return None;
    }
    let e_pos = rest.iter().position(|&b| b == b'e')?;
    let (mant, exp_part) = rest.split_at(e_pos);
    let frac = match mant.split_first() {
        Some((b'.', f)) => f,
        Some(_) => return None,
        None => &[][..],
    };
    let exp_digits = exp_part.get(1..)?;
    let (neg, exp_digits) = match exp_digits.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, exp_digits),
    };
    if exp_digits.is_empty() {
        return None;
    }
    let mut exp: i32 = 0;
    for &b in exp_digits {
        if !b.is_ascii_digit() {
            return None;
        }
        exp = exp.checked_mul(10)?.checked_add(i32::from(b - b'0'))?;
    }
    Some(Sci {
        first,
        frac,
        exp: if neg { -exp } else { exp },
    })
}

fn push_ascii(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(b));
    }
}

fn push_zeros(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('0');
    }
}

/// Python-style exponent: sign always, at least two digits (`e+16`, `e-05`, `e+308`).
fn push_exponent(out: &mut String, exp: i32) {
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    let mut v = e;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    push_ascii(out, tmp.get(i..).unwrap_or(&[]));
}

/// `d[.ddd]e±XX`.
fn push_scientific(out: &mut String, d: &Sci<'_>) {
    out.push(char::from(d.first));
    if !d.frac.is_empty() {
        out.push('.');
        push_ascii(out, d.frac);
    }
    push_exponent(out, d.exp);
}

/// Positional layout of `d.frac × 10^exp`; `force_frac` appends `.0` to integers.
fn push_positional(out: &mut String, d: &Sci<'_>, force_frac: bool) {
    if d.exp < 0 {
        out.push_str("0.");
        push_zeros(out, (d.exp.unsigned_abs() - 1) as usize);
        out.push(char::from(d.first));
        push_ascii(out, d.frac);
        return;
    }
    let int_frac = d.exp as usize; // digits of `frac` that belong to the integer part
    out.push(char::from(d.first));
    if d.frac.len() <= int_frac {
        push_ascii(out, d.frac);
        push_zeros(out, int_frac - d.frac.len());
        if force_frac {
            out.push_str(".0");
        }
    } else {
        let (int_part, frac_part) = d.frac.split_at(int_frac);
        push_ascii(out, int_part);
        out.push('.');
        push_ascii(out, frac_part);
    }
}

/// Python's rendering of the sign and the non-finite cases shared by `repr` and `%g`:
/// writes `nan`, `-` for a negative value, and `inf`; returns `true` when `x` was fully
/// rendered (NaN or infinity).
fn write_sign_or_special(out: &mut String, x: f64) -> bool {
    if x.is_nan() {
        out.push_str("nan");
        return true;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x.is_infinite() {
        out.push_str("inf");
        return true;
    }
    false
}

/// Append Python's `repr(x)` of a float (shortest round-trip digits, `1e+16`, `123.0`, `nan`, `inf`).
pub fn write_float_repr(out: &mut String, x: f64) {
    if write_sign_or_special(out, x) {
        return;
    }
    let ax = x.abs();
    // Longest shortest-repr is 17 digits + '.' + 'e-324': well under 32 bytes.
    let mut buf = StackBuf::<32>::new();
    let mut parsed = match write!(buf, "{:e}", ax) {
        Ok(()) => parse_sci(buf.bytes()),
        Err(_) => None,
    };
    // Rust and CPython agree on the shortest digit count and on picking the closest
    // candidate, but when x lies exactly halfway between two shortest candidates Rust
    // rounds the last digit up while CPython's dtoa rounds half to even
    // (e.g. 0.59534454345703125 -> CPython `...312`, Rust `...313`). Such ties need
    // 16+ digits, and the differing choice always ends in an odd digit; in that case
    // use the exact ties-to-even rounding to the same length if it round-trips.
    let mut alt = StackBuf::<32>::new();
    if let Some(d) = &parsed {
        let n = d.frac.len() + 1;
        let last = d.frac.last().copied().unwrap_or(d.first);
        if n >= 16 && last % 2 == 1 && write!(alt, "{:.*e}", n - 1, ax).is_ok() {
            let round_trips = alt.as_str().parse::<f64>().is_ok_and(|v| v == ax);
            if round_trips && alt.bytes() != buf.bytes() {
                parsed = parse_sci(alt.bytes());
            }
        }
    }
    match parsed {
        Some(d) if d.exp < -4 || d.exp >= 16 => push_scientific(out, &d),
        Some(d) => push_positional(out, &d, true),
        // Unreachable in practice; keep a sane round-trippable fallback.
        None => {
            let _ = write!(out, "{:?}", x.abs());
        }
    }
}

/// CPython's `NDIGITS_MAX`: for larger `ndigits`, `round` returns `x` unchanged.
const NDIGITS_MAX: i32 = 323;
/// CPython's `NDIGITS_MIN`: for smaller `ndigits`, `round` returns `0.0 * x`.
const NDIGITS_MIN: i32 = -308;

/// Python's `round(x, ndigits)` for a float: exact decimal rounding, ties to even.
///
/// Where CPython raises `OverflowError` ("rounded value too large to represent",
/// e.g. `round(1.7976931348623157e308, -308)`) this returns `±inf`.
pub fn round_half_even(x: f64, ndigits: i32) -> f64 {
    if !x.is_finite() || ndigits > NDIGITS_MAX {
        return x;
    }
    if ndigits < NDIGITS_MIN {
        return 0.0 * x;
    }
    if ndigits >= 0 {
        // Every float >= 2^52 in magnitude is an integer: rounding is the identity.
        if x.abs() >= 4_503_599_627_370_496.0 {
            return x;
        }
        // `{:.N}` is an exact, ties-to-even decimal rounding of the binary value
        // (CPython's dtoa mode 3), and `parse` is correctly rounded, exactly like
        // CPython's `double_round`. Max length: '-' + 16 integer digits + '.' + 323.
        let mut buf = StackBuf::<384>::new();
        if write!(buf, "{:.*}", ndigits as usize, x).is_ok() {
            return buf.as_str().parse::<f64>().unwrap_or(x);
        }
        // Unreachable given the bounds above; a temporary String keeps it simple.
        return format!("{:.*}", ndigits as usize, x)
            .parse::<f64>()
            .unwrap_or(x);
    }
    round_negative_ndigits(x, ndigits.unsigned_abs() as usize)
}

/// `round(x, -m)` for `m >= 1`: round to a multiple of `10^m`, ties to even.
/// Rare path: uses a temporary String for the exact integer digits.
fn round_negative_ndigits(x: f64, m: usize) -> f64 {
    let ax = x.abs();
    let int_part = ax.trunc();
    // Nonzero fractional part: the value lies strictly above the integer digits.
    let sticky = ax != int_part;
    let digits = format!("{int_part:.0}"); // exact: int_part is an integer
    let digits = digits.as_bytes();
    if digits.len() < m {
        // |x| < 10^(m-1) < 10^m / 2: rounds to a signed zero.
        return 0.0 * x;
    }
    let keep = digits.len() - m;
    let (kept, dropped) = digits.split_at(keep);
    let (first_dropped, rest) = match dropped.split_first() {
        Some((&f, r)) => (f, r),
        None => return x,
    };
    let above_half = sticky || rest.iter().any(|&b| b != b'0');
    let last_kept_odd = kept.last().is_some_and(|&b| b % 2 == 1);
    let round_up = first_dropped > b'5' || (first_dropped == b'5' && (above_half || last_kept_odd));
    let mut s = String::with_capacity(keep + 8);
    if x.is_sign_negative() {
        s.push('-');
    }
    if round_up {
        // Increment the kept digits (an empty `kept` is 0).
        let mut inc: Vec<u8> = kept.to_vec();
        let mut carry = true;
        for b in inc.iter_mut().rev() {
            if *b == b'9' {
                *b = b'0';
            } else {
                *b += 1;
                carry = false;
                break;
            }
        }
        if carry {
            s.push('1');
        }
        push_ascii(&mut s, &inc);
    } else if kept.is_empty() {
        s.push('0');
    } else {
        push_ascii(&mut s, kept);
    }
    let _ = write!(s, "e{m}");
    s.parse::<f64>().unwrap_or(x)
}

/// Append Python's `"%.{precision}g" % x`.
pub fn write_general(out: &mut String, x: f64, precision: usize) {
    if write_sign_or_special(out, x) {
        return;
    }
    let p = precision.max(1); // Python treats %.0g as %.1g
                              // `{:.N$e}` is exact with ties to even (CPython's dtoa mode 2). Small precisions
                              // stay on the stack; huge ones fall back to a temporary String.
    let mut buf = StackBuf::<128>::new();
    let heap;
    let text: &[u8] = if write!(buf, "{:.*e}", p - 1, x.abs()).is_ok() {
        buf.bytes()
    } else {
        heap = format!("{:.*e}", p - 1, x.abs());
        heap.as_bytes()
    };
    let Some(mut d) = parse_sci(text) else {
        let _ = write!(out, "{:?}", x.abs());
        return;
    };
    // Drop trailing zeros (and with them, a trailing '.').
    while let Some((&b'0', head)) = d.frac.split_last() {
        d.frac = head;
    }
    let too_big = usize::try_from(d.exp).is_ok_and(|e| e >= p);
    if d.exp < -4 || too_big {
        push_scientific(out, &d);
    } else {
        push_positional(out, &d, false);
    }
}

/// Append Python's `"%.{precision}f" % x`.
pub fn write_fixed(out: &mut String, x: f64, precision: usize) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x < 0.0 { "-inf" } else { "inf" });
        return;
    }
    // Rust's `{:.N}` is exact with ties to even and keeps the sign of -0.0 (`-0.0`),
    // exactly like CPython's dtoa mode 3. Writes straight into `out`.
    let _ = write!(out, "{:.*}", precision, x);
}

/// Bytes that `json.dumps` (ensure_ascii) does not copy verbatim: controls, `"`, `\`,
/// DEL (0x7F, escaped as `\u007f` by CPython) and every non-ASCII byte.
const JSON_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i < 0x20 || i == b'"' as usize || i == b'\\' as usize || i >= 0x7f;
        i += 1;
    }
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_u_escape(out: &mut String, u: u32) {
    out.push_str("\\u");
    for shift in [12u32, 8, 4, 0] {
        out.push(char::from(HEX[((u >> shift) & 0xf) as usize]));
    }
}

/// Append `json.dumps(s)` (default `ensure_ascii=True`), including the quotes.
pub fn write_json_str(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push('"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !JSON_ESCAPE[b as usize] {
            i += 1;
            continue;
        }
        // `start..i` is a run of plain ASCII; both ends are char boundaries.
        if let Some(run) = s.get(start..i) {
            out.push_str(run);
        }
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0..=0x7f => push_u_escape(out, u32::from(b)),
            _ => {
                // Non-ASCII: `i` is the lead byte of a char (everything before was
                // either ASCII or a whole char we skipped over).
                let c = s
                    .get(i..)
                    .and_then(|t| t.chars().next())
                    .unwrap_or('\u{fffd}');
                let mut units = [0u16; 2];
                for &unit in c.encode_utf16(&mut units).iter() {
                    push_u_escape(out, u32::from(unit));
                }
                i += c.len_utf8();
                start = i;
                continue;
            }
        }
        i += 1;
        start = i;
    }
    if let Some(run) = s.get(start..) {
        out.push_str(run);
    }
    out.push('"');
}

/// Append `json.dumps(x)` for a float (`NaN`, `Infinity`, `-Infinity`, else `repr`).
pub fn write_json_float(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x < 0.0 { "-Infinity" } else { "Infinity" });
    } else {
        write_float_repr(out, x);
    }
}

#[cfg(test)]
mod tests {
    //! Expected values were produced by CPython 3.11.7.
    use super::*;

    fn repr(x: f64) -> String {
        let mut s = String::new();
        write_float_repr(&mut s, x);
        s
    }

    fn general(x: f64, p: usize) -> String {
        let mut s = String::new();
        write_general(&mut s, x, p);
        s
    }

    fn fixed(x: f64, p: usize) -> String {
        let mut s = String::new();
        write_fixed(&mut s, x, p);
        s
    }

    fn json_str(v: &str) -> String {
        let mut s = String::new();
        write_json_str(&mut s, v);
        s
    }

    fn json_float(x: f64) -> String {
        let mut s = String::new();
        write_json_float(&mut s, x);
        s
    }

    #[test]
    fn float_repr_table() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123456789.123, "123456789.123"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e23, "1e+23"),
            (1.5e-05, "1.5e-05"),
            (-1.234e+20, "-1.234e+20"),
            (123.0, "123.0"),
            // Exact ties between two shortest candidates (0.59534454345703125 and
            // 1984738993273395.25): CPython rounds half to even, Rust would round up.
            (f64::from_bits(0x3fe3_0d10_0000_0000), "0.5953445434570312"),
            (f64::from_bits(0x431c_3470_3aa9_e8cd), "1984738993273395.2"),
            (1.5e-323, "1.5e-323"),
            (1e22, "1e+22"),
            (0.00001234, "1.234e-05"),
            (-2.5, "-2.5"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(repr(x), want, "repr({x:?})");
        }
    }

    #[test]
    fn json_float_table() {
        assert_eq!(json_float(f64::NAN), "NaN");
        assert_eq!(json_float(-f64::NAN), "NaN");
        assert_eq!(json_float(f64::INFINITY), "Infinity");
        assert_eq!(json_float(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(json_float(1e16), "1e+16");
        assert_eq!(json_float(-0.0), "-0.0");
        assert_eq!(json_float(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn round_table() {
        let cases: &[(f64, i32, f64)] = &[
            (0.125, 2, 0.12),
            (2.675, 2, 2.67),
            (0.5, 0, 0.0),
            (1.5, 0, 2.0),
            (2.5, 0, 2.0),
            (-0.0001, 3, -0.0),
            (2.0000005, 6, 2.000001),
            (0.0005, 3, 0.001),
            (1.0005, 3, 1.0),
            (2.5e-07, 6, 0.0),
            (7.5e-07, 6, 1e-06),
            (5e-07, 6, 0.0),
            (1.0000015, 6, 1.000001),
            (0.0015, 3, 0.002),
            (0.0025, 3, 0.003),
            (-0.0025, 3, -0.003),
            (123.4565, 3, 123.457),
            (1234.5, -2, 1200.0),
            (150.0, -2, 200.0),
            (250.0, -2, 200.0),
            (-49.0, -2, -0.0),
            (-1.0, -2, -0.0),
            (1e300, 6, 1e300),
            (5e-324, 323, 0.0),
            (5e-324, 322, 0.0),
            (3.0, -400, 0.0),
            (-3.0, -400, -0.0),
            (0.1 + 0.2, 6, 0.3),
            (1e16, 3, 1e16),
            (-0.0, 6, -0.0),
            (9.9999995, 6, 9.999999),
            (1e23, -22, 1e23),
        ];
        for &(x, n, want) in cases {
            let got = round_half_even(x, n);
            assert_eq!(got.to_bits(), want.to_bits(), "round({x:?}, {n}) = {got:?}");
        }
        assert!(round_half_even(f64::NAN, 3).is_nan());
        assert_eq!(round_half_even(f64::INFINITY, 3), f64::INFINITY);
        assert_eq!(round_half_even(f64::NEG_INFINITY, -3), f64::NEG_INFINITY);
        assert_eq!(round_half_even(5e-324, 400).to_bits(), 5e-324f64.to_bits());
        // CPython raises OverflowError here; we saturate.
        assert_eq!(round_half_even(f64::MAX, -308), f64::INFINITY);
    }

    #[test]
    #[allow(clippy::approx_constant)]
    fn general_table() {
        let cases: &[(f64, &str)] = &[
            (0.000123456, "0.000123"),
            (999.5, "1e+03"),
            (9995.0, "1e+04"),
            (1234.5, "1.23e+03"),
            (0.5, "0.5"),
            (100.0, "100"),
            (1e100, "1e+100"),
            (-3.14159, "-3.14"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.000123"),
            (99.95, "100"),
            (12.35, "12.3"),
            (1e16, "1e+16"),
            (5e-324, "4.94e-324"),
            (123456789.0, "1.23e+08"),
            (1.0, "1"),
            (10.0, "10"),
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(general(x, 3), want, "%.3g of {x:?}");
        }
        let other: &[(f64, usize, &str)] = &[
            (1.5, 0, "2"),
            (2.5, 0, "2"),
            (123456.0, 6, "123456"),
            (1234567.0, 6, "1.23457e+06"),
            (0.1, 17, "0.10000000000000001"),
            (1e-05, 1, "1e-05"),
        ];
        for &(x, p, want) in other {
            assert_eq!(general(x, p), want, "%.{p}g of {x:?}");
        }
        // Huge precision takes the heap fallback and must not panic.
        assert_eq!(general(0.5, 2000), "0.5");
    }

    #[test]
    fn fixed_table() {
        let cases: &[(f64, &str)] = &[
            (0.25, "0.2"),
            (0.35, "0.3"),
            (0.05, "0.1"),
            (2.45, "2.5"),
            (-0.04, "-0.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.15, "0.1"),
            (1e20, "100000000000000000000.0"),
            (-2.5, "-2.5"),
            (0.95, "0.9"),
            (123.45, "123.5"),
            (5e-324, "0.0"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(fixed(x, 1), want, "%.1f of {x:?}");
        }
    }

    #[test]
    fn json_str_table() {
        let cases: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            ("say \"hi\"", r#""say \"hi\"""#),
            ("back\\slash", r#""back\\slash""#),
            ("a\nb\rc\td\x08e\x0cf", r#""a\nb\rc\td\be\ff""#),
            // DEL (0x7f) is escaped by CPython's json (it is outside ' '..='~').
            ("\x00\x01\x1f\x7f ~", r#""\u0000\u0001\u001f\u007f ~""#),
            ("é", r#""\u00e9""#),
            ("中文", r#""\u4e2d\u6587""#),
            ("😀", r#""\ud83d\ude00""#),
            ("\u{fffd}", r#""\ufffd""#),
            ("\u{2028}\u{2029}", r#""\u2028\u2029""#),
            ("\u{80}\u{ff}\u{100}", r#""\u0080\u00ff\u0100""#),
            ("", r#""""#),
            (
                "mix é \"q\" 😀 end",
                r#""mix \u00e9 \"q\" \ud83d\ude00 end""#,
            ),
        ];
        for &(s, want) in cases {
            assert_eq!(json_str(s), want, "json.dumps({s:?})");
        }
    }

    #[test]
    fn appends_without_clobbering() {
        let mut s = String::from("x=");
        write_float_repr(&mut s, 1.5);
        s.push(',');
        write_json_str(&mut s, "é");
        assert_eq!(s, "x=1.5,\"\\u00e9\"");
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            trace_sentinel_testrand::xorshift64(&mut self.0)
        }
    }

    #[test]
    fn repr_round_trips_pseudo_random() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut s = String::new();
        for i in 0..6000u32 {
            let r = rng.next();
            let x = match i % 3 {
                // Raw bit patterns (all exponents, subnormals included).
                0 => f64::from_bits(r),
                // Decimal-ish values: integer / 10^k.
                1 => ((r >> 11) as i64 - (1 << 52)) as f64 / 10f64.powi((r % 20) as i32),
                // Dyadic values with short expansions (exercise shortest-digit ties).
                _ => ((r >> 11) as f64) / 2f64.powi((r % 80) as i32),
            };
            s.clear();
            write_float_repr(&mut s, x);
            if x.is_nan() {
                assert_eq!(s, "nan");
                continue;
            }
            let back: f64 = s.parse().unwrap_or(f64::NAN);
            assert_eq!(back.to_bits(), x.to_bits(), "{x:?} -> {s}");
            // Layout invariants: positional form always has a '.', exponents are 2+ digits.
            if let Some(pos) = s.find('e') {
                assert!(s.len() - pos >= 4, "{s}");
            } else if x.is_finite() {
                assert!(s.contains('.'), "{s}");
            }
        }
    }
}

/// Append `json.dumps(s)` for a string given as WTF-8 bytes: like [`write_json_str`], but
/// a lone surrogate (a 3-byte `ED A0..BF xx` sequence) is written as its `\\udXXX` escape,
/// as Python does for strings holding lone surrogates; any other invalid byte sequence
/// becomes U+FFFD.
pub fn write_json_wtf8(out: &mut String, bytes: &[u8]) {
    use std::fmt::Write as _;
    let mut body = String::new();
    let mut tail = bytes;
    out.push('"');
    while !tail.is_empty() {
        let valid_to = match std::str::from_utf8(tail) {
            Ok(_) => tail.len(),
            Err(e) => e.valid_up_to(),
        };
        if valid_to > 0 {
            body.clear();
            // The prefix is valid UTF-8 by construction.
            body.push_str(std::str::from_utf8(&tail[..valid_to]).unwrap_or_default());
            let start = out.len();
            write_json_str(out, &body);
            // Drop the quotes `write_json_str` added around the run.
            out.remove(start);
            out.pop();
            tail = &tail[valid_to..];
            continue;
        }
        if tail.len() >= 3
            && tail[0] == 0xED
            && (0xA0..=0xBF).contains(&tail[1])
            && (0x80..=0xBF).contains(&tail[2])
        {
            let cp = 0xD000u32 | ((tail[1] as u32 & 0x3F) << 6) | (tail[2] as u32 & 0x3F);
            let _ = write!(out, "\\u{cp:04x}");
            tail = &tail[3..];
        } else {
            out.push_str("\\ufffd");
            // Skip one maximal invalid subpart.
            let skip = match std::str::from_utf8(tail) {
                Err(e) => e.error_len().unwrap_or(tail.len()).max(1),
                Ok(_) => tail.len(),
            };
            tail = &tail[skip..];
        }
    }
    out.push('"');
}

#[cfg(test)]
mod wtf8_tests {
    use super::*;

    #[test]
    fn lone_surrogates_are_escaped_like_python() {
        let mut out = String::new();
        // "lone high \ud800 here" in WTF-8; json.dumps gives "lone high \ud800 here".
        write_json_wtf8(&mut out, b"lone high \xed\xa0\x80 here \xc3\xa9 \"q\"");
        assert_eq!(out, "\"lone high \\ud800 here \\u00e9 \\\"q\\\"\"");
        out.clear();
        write_json_wtf8(&mut out, b"\xed\xbf\xbf\xf0\x9f\x98\x80\xff");
        assert_eq!(out, "\"\\udfff\\ud83d\\ude00\\ufffd\"");
    }
}
