//! Event timestamps with Python `datetime` semantics: `fromtimestamp(x, tz=utc)`,
//! `fromisoformat` (3.11), `.timestamp()` and `.isoformat()`.
//!
//! The string parser is a port of CPython 3.11's C implementation
//! (`Modules/_datetimemodule.c`: `_find_isoformat_datetime_separator`,
//! `parse_isoformat_date`, `parse_isoformat_time`, `parse_hh_mm_ss_ff`,
//! `tzinfo_from_isoformat_results`), which is what actually runs in the reference. Its
//! quirks are kept on purpose, e.g. fractions longer than 6 digits are truncated,
//! `03:04:05:5` means `.5` seconds, offset minutes are not range-checked (`+05:99` is
//! `+06:39`), an offset of zero whole seconds is UTC even with a fractional part, and
//! the C code's NUL-terminated reads (an embedded `\0` can end a component early).

/// A Python `datetime` (microsecond precision), naive or with a fixed UTC offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Wall-clock fields as microseconds since 0001-01-01T00:00:00 (proleptic Gregorian).
    pub local_us: i64,
    /// UTC offset in microseconds; `None` for a naive datetime.
    pub offset_us: Option<i64>,
}

const US_PER_SEC: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SEC;
/// `date(9999, 12, 31).toordinal()`.
const MAX_ORDINAL: i64 = 3_652_059;
/// Seconds from the Unix epoch to 0001-01-01T00:00:00 / 9999-12-31T23:59:59 (UTC).
const MIN_EPOCH_SECS: f64 = -62_135_596_800.0;
const MAX_EPOCH_SECS: f64 = 253_402_300_799.0;
/// Strings up to this many bytes are rewritten (`Z` → `+00:00`) on the stack.
const STACK_BUF: usize = 128;

impl Timestamp {
    /// `datetime.now(timezone.utc)`.
    pub fn now_utc() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            local_us: EPOCH_LOCAL_US + d.as_micros() as i64,
            offset_us: Some(0),
        }
    }

    /// `datetime.fromtimestamp(x, tz=timezone.utc)`; `None` where Python raises.
    ///
    /// Mirrors CPython's `_PyTime_DoubleToDenominator` with `ROUND_HALF_EVEN`: split with
    /// `modf`, scale the fraction by 1e6 in double arithmetic, round half to even, carry
    /// into the seconds. NaN (ValueError), ±inf and values outside `time_t`
    /// (OverflowError) and years outside 1..=9999 (ValueError/OSError) give `None`.
    pub fn from_epoch_seconds(x: f64) -> Option<Self> {
        if !x.is_finite() {
            return None;
        }
        let mut intpart = x.trunc();
        let frac = x - intpart; // exact, like C modf
        let mut floatpart = (frac * 1e6).round_ties_even();
        if floatpart >= 1e6 {
            floatpart -= 1e6;
            intpart += 1.0;
        } else if floatpart < 0.0 {
            floatpart += 1e6;
            intpart -= 1.0;
        }
        if !(MIN_EPOCH_SECS..=MAX_EPOCH_SECS).contains(&intpart) {
            return None;
        }
        let secs = intpart as i64;
        let us = floatpart as i64;
        Some(Timestamp {
            local_us: EPOCH_LOCAL_US + secs * US_PER_SEC + us,
            offset_us: Some(0),
        })
    }

    /// The reference's string handling: `datetime.fromisoformat(s.replace("Z", "+00:00"))`;
    /// `None` where Python raises.
    pub fn parse_json_string(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let zs = b.iter().filter(|&&c| c == b'Z').count();
        if zs == 0 {
            return fromisoformat(b);
        }
        let len = b.len() + 5 * zs;
        let mut stack = [0u8; STACK_BUF];
        let mut heap = Vec::new();
        let buf: &mut [u8] = if len <= STACK_BUF {
            &mut stack[..len]
        } else {
            heap.resize(len, 0);
            &mut heap[..]
        };
        let mut n = 0;
        for (k, seg) in b.split(|&c| c == b'Z').enumerate() {
            if k > 0 {
                if let Some(dst) = buf.get_mut(n..n + 6) {
                    dst.copy_from_slice(b"+00:00");
                }
                n += 6;
            }
            if let Some(dst) = buf.get_mut(n..n + seg.len()) {
                dst.copy_from_slice(seg);
            }
            n += seg.len();
        }
        fromisoformat(buf)
    }

    /// Like [`Timestamp::parse_json_string`] for a Python string that may contain lone
    /// surrogates, given as WTF-8 (generalized UTF-8: a lone surrogate is the 3-byte
    /// sequence `ED A0..BF xx`). Reproduces CPython's handling exactly: a surrogate at
    /// character index 7, 8 or 10 (the first of those that is one) is taken as the
    /// date/time separator; any other surrogate makes the string invalid.
    pub fn parse_json_wtf8(bytes: &[u8]) -> Option<Self> {
        if !has_surrogate(bytes) {
            return std::str::from_utf8(bytes)
                .ok()
                .and_then(Self::parse_json_string);
        }
        let mut q: Vec<u8> = Vec::with_capacity(bytes.len() + 16);
        for &c in bytes {
            if c == b'Z' {
                q.extend_from_slice(b"+00:00");
            } else {
                q.push(c);
            }
        }
        // `_sanitize_isoformat_str`: positions are in characters.
        let mut starts = Vec::with_capacity(11);
        for (i, &c) in q.iter().enumerate() {
            if c & 0xC0 != 0x80 {
                if starts.len() == 11 {
                    break;
                }
                starts.push(i);
            }
        }
        let nchars = starts.len(); // capped at 11, enough for the checks below
        if nchars < 7 {
            return None;
        }
        for pos in [7usize, 8, 10] {
            if pos > nchars {
                break;
            }
            let Some(&at) = starts.get(pos) else {
                continue;
            };
            if is_surrogate_at(&q, at) {
                let end = (at + 3).min(q.len());
                q.splice(at..end, [b'T']);
                break;
            }
        }
        // PyUnicode_AsUTF8AndSize fails on a remaining surrogate → "Invalid isoformat
        // string" (and malformed input is rejected too).
        std::str::from_utf8(&q)
            .ok()
            .and_then(|s| fromisoformat(s.as_bytes()))
    }

    /// Python `.timestamp()`: an aware value is `(self - EPOCH).total_seconds()` (exact
    /// microseconds divided by 10**6, correctly rounded); a naive value is taken as UTC
    /// (Python uses local time; identical when `TZ` is UTC) and computed like CPython's
    /// naive path, `(seconds - epoch) + microsecond / 1e6` in double arithmetic.
    ///
    /// Deviation: CPython raises `ValueError` for a naive datetime on 0001-01-01 (its
    /// fold probe steps into year 0); this returns the arithmetic value instead.
    pub fn epoch_seconds(&self) -> f64 {
        match self.offset_us {
            Some(off) => {
                let n = self.local_us as i128 - off as i128 - EPOCH_LOCAL_US as i128;
                div_micros_correctly_rounded(n)
            }
            None => {
                let n = self.local_us as i128 - EPOCH_LOCAL_US as i128;
                let secs = n.div_euclid(US_PER_SEC as i128);
                let us = n.rem_euclid(US_PER_SEC as i128);
                secs as f64 + us as f64 / 1e6
            }
        }
    }

    /// Append Python `.isoformat()`: `YYYY-MM-DDTHH:MM:SS[.ffffff][±HH:MM[:SS[.ffffff]]]`.
    pub fn write_isoformat(&self, out: &mut String) {
        let days = self.local_us.div_euclid(US_PER_DAY);
        let tod = self.local_us.rem_euclid(US_PER_DAY);
        let (y, m, d) = ord_to_ymd(days + 1);
        let secs = tod / US_PER_SEC;
        let us = tod % US_PER_SEC;
        push_num(out, y, 4);
        out.push('-');
        push_num(out, m, 2);
        out.push('-');
        push_num(out, d, 2);
        out.push('T');
        push_num(out, secs / 3600, 2);
        out.push(':');
        push_num(out, secs / 60 % 60, 2);
        out.push(':');
        push_num(out, secs % 60, 2);
        if us != 0 {
            out.push('.');
            push_num(out, us, 6);
        }
        if let Some(off) = self.offset_us {
            out.push(if off < 0 { '-' } else { '+' });
            let a = off.unsigned_abs() as i64;
            let (osecs, ous) = (a / US_PER_SEC, a % US_PER_SEC);
            push_num(out, osecs / 3600, 2);
            out.push(':');
            push_num(out, osecs / 60 % 60, 2);
            if osecs % 60 != 0 || ous != 0 {
                out.push(':');
                push_num(out, osecs % 60, 2);
                if ous != 0 {
                    out.push('.');
                    push_num(out, ous, 6);
                }
            }
        }
    }
}

/// 1970-01-01T00:00:00 as microseconds since 0001-01-01T00:00:00.
pub const EPOCH_LOCAL_US: i64 = 62_135_596_800_000_000;

/// `n / 10**6` rounded to nearest, ties to even (Python `int / int`).
fn div_micros_correctly_rounded(n: i128) -> f64 {
    const EXACT: i128 = 1 << 53;
    if (-EXACT..=EXACT).contains(&n) {
        // Both operands are exact doubles: IEEE division rounds correctly.
        return n as f64 / 1e6;
    }
    // Beyond 2**53 the integer itself would round; go through an exact decimal string,
    // which Rust's float parser rounds correctly.
    let a = n.unsigned_abs();
    let s = format!(
        "{}{}.{:06}",
        if n < 0 { "-" } else { "" },
        a / 1_000_000,
        a % 1_000_000
    );
    s.parse::<f64>().unwrap_or(f64::NAN)
}

/// Zero-padded decimal (`%0{width}d`) of a non-negative number.
fn push_num(out: &mut String, v: i64, width: usize) {
    let mut buf = [0u8; 24];
    let mut i = buf.len();
    let mut x = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 || i == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    if v < 0 {
        out.push('-');
    }
    for _ in digits..width {
        out.push('0');
    }
    for &c in &buf[i..] {
        out.push(c as char);
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days before Jan 1 of `year` (year >= 1).
fn days_before_year(year: i64) -> i64 {
    let y = year - 1;
    y * 365 + y / 4 - y / 100 + y / 400
}

fn days_before_month(year: i64, month: i64) -> i64 {
    const DBM: [i64; 13] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let base = DBM.get(month as usize).copied().unwrap_or(0);
    base + i64::from(month > 2 && is_leap(year))
}

/// Proleptic Gregorian ordinal (0001-01-01 is day 1).
fn ymd_to_ord(year: i64, month: i64, day: i64) -> i64 {
    days_before_year(year) + days_before_month(year, month) + day
}

/// Inverse of [`ymd_to_ord`]; total for any ordinal (400-year cycles extend both ways).
fn ord_to_ymd(ordinal: i64) -> (i64, i64, i64) {
    const DI400Y: i64 = 146_097;
    const DI100Y: i64 = 36_524;
    const DI4Y: i64 = 1_461;
    let n0 = ordinal - 1;
    let n400 = n0.div_euclid(DI400Y);
    let mut n = n0.rem_euclid(DI400Y);
    let mut year = n400 * 400 + 1;
    let n100 = n / DI100Y;
    n %= DI100Y;
    let n4 = n / DI4Y;
    n %= DI4Y;
    let n1 = n / 365;
    n %= 365;
    year += n100 * 100 + n4 * 4 + n1;
    if n1 == 4 || n100 == 4 {
        return (year - 1, 12, 31);
    }
    let mut month = 1;
    while month < 12 && days_before_month(year, month + 1) <= n {
        month += 1;
    }
    (year, month, n - days_before_month(year, month) + 1)
}

fn has_surrogate(b: &[u8]) -> bool {
    b.windows(2).any(|w| w[0] == 0xED && w[1] >= 0xA0)
}

fn is_surrogate_at(b: &[u8], i: usize) -> bool {
    b.get(i) == Some(&0xED) && b.get(i + 1).is_some_and(|&c| c >= 0xA0)
}

// ---------------------------------------------------------------------------------
// Port of CPython 3.11 `datetime.fromisoformat` (C implementation). `at` emulates the
// NUL-terminated buffer the C code reads: any index at or past the end reads 0.

fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}

/// `parse_digits`: read `n` ASCII digits at `*p` into `var` (accumulating).
fn parse_digits(b: &[u8], p: &mut usize, var: &mut i64, n: usize) -> bool {
    for _ in 0..n {
        let t = at(b, *p).wrapping_sub(b'0');
        *p += 1;
        if t > 9 {
            return false;
        }
        *var = *var * 10 + i64::from(t);
    }
    true
}

/// `datetime.fromisoformat(s)` on the UTF-8 bytes of a surrogate-free string.
fn fromisoformat(b: &[u8]) -> Option<Timestamp> {
    // `_sanitize_isoformat_str`: fewer than 7 characters is invalid.
    if b.iter().filter(|&&c| c & 0xC0 != 0x80).take(7).count() < 7 {
        return None;
    }
    let len = b.len();
    let sep = find_isoformat_datetime_separator(b)?;
    let (y, mo, d) = parse_isoformat_date(b, sep)?;
    let mut time = IsoTime::default();
    if len > sep {
        // Skip the separator character (any character, by its UTF-8 lead byte).
        let lead = at(b, sep);
        let p = sep
            + if lead & 0x80 == 0 {
                1
            } else {
                match lead & 0xF0 {
                    0xE0 => 3,
                    0xF0 => 4,
                    _ => 2,
                }
            };
        time = parse_isoformat_time(b, p, len.saturating_sub(p))?;
    }
    // Constructor checks (`datetime(...)`, `timezone(...)`).
    if !(1..=9999).contains(&y) || !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    if time.hour > 23 || time.minute > 59 || time.second > 59 || time.us > 999_999 {
        return None;
    }
    let offset_us = match time.tz {
        None => None,
        Some((0, _)) => Some(0), // C: a zero whole-second offset is UTC, fraction ignored
        Some((secs, us)) => {
            let total = secs * US_PER_SEC + us;
            if total <= -US_PER_DAY || total >= US_PER_DAY {
                return None;
            }
            Some(total)
        }
    };
    let days = ymd_to_ord(y, mo, d) - 1;
    let local_us = days * US_PER_DAY
        + (time.hour * 3600 + time.minute * 60 + time.second) * US_PER_SEC
        + time.us;
    Some(Timestamp {
        local_us,
        offset_us,
    })
}

/// `_find_isoformat_datetime_separator` (byte positions; `None` for its `-1`).
fn find_isoformat_datetime_separator(b: &[u8]) -> Option<usize> {
    let len = b.len();
    if len == 7 {
        return Some(7);
    }
    if at(b, 4) == b'-' {
        if at(b, 5) == b'W' {
            if len < 8 {
                return None;
            }
            if len > 8 && at(b, 8) == b'-' {
                if len == 9 {
                    return None;
                }
                if len > 10 && is_digit(at(b, 10)) {
                    return Some(8);
                }
                return Some(10);
            }
            Some(8)
        } else {
            Some(10)
        }
    } else if at(b, 4) == b'W' {
        let mut idx = 7;
        while idx < len && is_digit(at(b, idx)) {
            idx += 1;
        }
        if idx < 9 {
            return Some(idx);
        }
        Some(if idx % 2 == 0 { 7 } else { 8 })
    } else {
        Some(8)
    }
}

/// `parse_isoformat_date`; `len` is the separator location.
fn parse_isoformat_date(b: &[u8], len: usize) -> Option<(i64, i64, i64)> {
    let mut p = 0;
    let mut year = 0;
    if !parse_digits(b, &mut p, &mut year, 4) {
        return None;
    }
    let uses_sep = at(b, p) == b'-';
    if uses_sep {
        p += 1;
    }
    if at(b, p) == b'W' {
        p += 1;
        let mut week = 0;
        if !parse_digits(b, &mut p, &mut week, 2) {
            return None;
        }
        let mut day = 0;
        if p < len {
            if uses_sep {
                let c = at(b, p);
                p += 1;
                if c != b'-' {
                    return None;
                }
            }
            if !parse_digits(b, &mut p, &mut day, 1) {
                return None;
            }
        } else {
            day = 1;
        }
        return iso_to_ymd(year, week, day);
    }
    let (mut month, mut day) = (0, 0);
    if !parse_digits(b, &mut p, &mut month, 2) {
        return None;
    }
    if uses_sep {
        let c = at(b, p);
        p += 1;
        if c != b'-' {
            return None;
        }
    }
    if !parse_digits(b, &mut p, &mut day, 2) {
        return None;
    }
    Some((year, month, day))
}

/// `iso_to_ymd`. Year 0 never yields a valid date in CPython (its arithmetic produces
/// month <= 0), so it is rejected up front; ordinals past 9999-12-31 are rejected too.
fn iso_to_ymd(year: i64, week: i64, day: i64) -> Option<(i64, i64, i64)> {
    if year < 1 {
        return None;
    }
    if week <= 0 || week >= 53 {
        let mut out_of_range = true;
        if week == 53 {
            let first_weekday = (ymd_to_ord(year, 1, 1) + 6) % 7;
            if first_weekday == 3 || (first_weekday == 2 && is_leap(year)) {
                out_of_range = false;
            }
        }
        if out_of_range {
            return None;
        }
    }
    if day <= 0 || day >= 8 {
        return None;
    }
    let first_day = ymd_to_ord(year, 1, 1);
    let first_weekday = (first_day + 6) % 7;
    let mut week1_monday = first_day - first_weekday;
    if first_weekday > 3 {
        week1_monday += 7;
    }
    let ordinal = week1_monday + (week - 1) * 7 + day - 1;
    if !(1..=MAX_ORDINAL).contains(&ordinal) {
        return None;
    }
    Some(ord_to_ymd(ordinal))
}

#[derive(Default)]
struct IsoTime {
    hour: i64,
    minute: i64,
    second: i64,
    us: i64,
    /// `(tzoffset seconds, tz microseconds)`, both carrying the sign.
    tz: Option<(i64, i64)>,
}

/// `parse_hh_mm_ss_ff(tstr, tstr_end)`: returns the C return code and `[h, m, s, us]`.
fn parse_hh_mm_ss_ff(b: &[u8], start: usize, end: usize) -> (i32, [i64; 4]) {
    const CORRECTION: [i64; 5] = [100_000, 10_000, 1_000, 100, 10];
    let mut vals = [0i64; 4];
    let mut p = start;
    let mut has_sep = true;
    for (i, val) in vals.iter_mut().take(3).enumerate() {
        if !parse_digits(b, &mut p, val, 2) {
            return (-3, vals);
        }
        let c = at(b, p);
        p += 1;
        if i == 0 {
            has_sep = c == b':';
        }
        if p >= end {
            return (i32::from(c != 0), vals);
        } else if has_sep && c == b':' {
            continue;
        } else if c == b'.' || c == b',' {
            break;
        } else if !has_sep {
            p -= 1;
        } else {
            return (-4, vals);
        }
    }
    let len_remains = end.saturating_sub(p);
    let to_parse = len_remains.min(6);
    let mut us = 0;
    if !parse_digits(b, &mut p, &mut us, to_parse) {
        return (-3, vals);
    }
    if (1..6).contains(&to_parse) {
        us *= CORRECTION[to_parse - 1];
    }
    vals[3] = us;
    while is_digit(at(b, p)) {
        p += 1;
    }
    (i32::from(at(b, p) != 0), vals)
}

/// `parse_isoformat_time` on `b[start..start + len]`; `None` for a negative return code.
fn parse_isoformat_time(b: &[u8], start: usize, len: usize) -> Option<IsoTime> {
    let p_end = start + len;
    let mut tz = start;
    loop {
        let c = at(b, tz);
        if c == b'Z' || c == b'+' || c == b'-' {
            break;
        }
        tz += 1;
        if tz >= p_end {
            break;
        }
    }
    let (rv, [hour, minute, second, us]) = parse_hh_mm_ss_ff(b, start, tz);
    let mut t = IsoTime {
        hour,
        minute,
        second,
        us,
        tz: None,
    };
    if rv < 0 {
        return None;
    }
    if tz == p_end {
        return if rv == 1 { None } else { Some(t) };
    }
    if at(b, tz) == b'Z' {
        t.tz = Some((0, 0));
        return if at(b, tz + 1) != 0 { None } else { Some(t) };
    }
    let sign = if at(b, tz) == b'-' { -1 } else { 1 };
    let (rv, [th, tm, ts, tus]) = parse_hh_mm_ss_ff(b, tz + 1, p_end);
    if rv != 0 {
        return None;
    }
    t.tz = Some((sign * (th * 3600 + tm * 60 + ts), sign * tus));
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(t: &Timestamp) -> String {
        let mut s = String::new();
        t.write_isoformat(&mut s);
        s
    }

    /// `datetime.fromtimestamp(x, tz=timezone.utc)` → (isoformat, .timestamp()), from
    /// Python 3.11.7.
    #[test]
    fn from_epoch_seconds_matches_python() {
        let cases: &[(f64, Option<(&str, f64)>)] = &[
            (0.0, Some(("1970-01-01T00:00:00+00:00", 0.0))),
            (
                1704164645.0,
                Some(("2024-01-02T03:04:05+00:00", 1704164645.0)),
            ),
            (
                1704164645.123456,
                Some(("2024-01-02T03:04:05.123456+00:00", 1704164645.123456)),
            ),
            (-1.0, Some(("1969-12-31T23:59:59+00:00", -1.0))),
            (-1.5, Some(("1969-12-31T23:59:58.500000+00:00", -1.5))),
            (-5e-07, Some(("1970-01-01T00:00:00+00:00", 0.0))),
            (5e-07, Some(("1970-01-01T00:00:00+00:00", 0.0))),
            (1.5e-06, Some(("1970-01-01T00:00:00.000002+00:00", 2e-06))),
            (
                1.9999995,
                Some(("1970-01-01T00:00:01.999999+00:00", 1.999999)),
            ),
            (0.9999999, Some(("1970-01-01T00:00:01+00:00", 1.0))),
            (
                -62135596800.0,
                Some(("0001-01-01T00:00:00+00:00", -62135596800.0)),
            ),
            (-62135596801.0, None),
            (
                253402300799.0,
                Some(("9999-12-31T23:59:59+00:00", 253402300799.0)),
            ),
            (
                253402300799.99997,
                Some(("9999-12-31T23:59:59.999969+00:00", 253402300799.99997)),
            ),
            (253402300800.0, None),
            (1e+300, None),
            (-1e+300, None),
            (9.223372036854776e+18, None),
            (-9.223372036854776e+18, None),
            (f64::NAN, None),
            (f64::INFINITY, None),
            (f64::NEG_INFINITY, None),
            (1e-07, Some(("1970-01-01T00:00:00+00:00", 0.0))),
            (-1e-07, Some(("1970-01-01T00:00:00+00:00", 0.0))),
            (
                1234567890.9999995,
                Some(("2009-02-13T23:31:31+00:00", 1234567891.0)),
            ),
            (-0.5, Some(("1969-12-31T23:59:59.500000+00:00", -0.5))),
            (-1e-06, Some(("1969-12-31T23:59:59.999999+00:00", -1e-06))),
            (
                -1.0000005,
                Some(("1969-12-31T23:59:58.999999+00:00", -1.000001)),
            ),
            (1000000000000000.0, None),
            (2.5e-06, Some(("1970-01-01T00:00:00.000002+00:00", 2e-06))),
            (3.5e-06, Some(("1970-01-01T00:00:00.000004+00:00", 4e-06))),
            (
                -62135596800.0,
                Some(("0001-01-01T00:00:00+00:00", -62135596800.0)),
            ),
        ];
        for &(x, want) in cases {
            let got = Timestamp::from_epoch_seconds(x);
            match (got, want) {
                (None, None) => {}
                (Some(t), Some((s, e))) => {
                    assert_eq!(iso(&t), s, "fromtimestamp({x:?})");
                    assert_eq!(
                        t.epoch_seconds().to_bits(),
                        e.to_bits(),
                        "{x:?}.timestamp()"
                    );
                }
                _ => panic!("fromtimestamp({x:?}): got {got:?}, want {want:?}"),
            }
        }
    }

    /// `datetime.fromisoformat(s.replace("Z", "+00:00"))` → (isoformat, .timestamp()),
    /// from Python 3.11.7 (naive values with TZ=UTC).
    #[test]
    fn parse_json_string_matches_python() {
        let cases: &[(&str, Option<(&str, f64)>)] = &[
            (
                "2024-01-02T03:04:05Z",
                Some(("2024-01-02T03:04:05+00:00", 1704164645.0)),
            ),
            (
                "2024-01-02 03:04:05.123+05:30",
                Some(("2024-01-02T03:04:05.123000+05:30", 1704144845.123)),
            ),
            (
                "20240102T030405",
                Some(("2024-01-02T03:04:05", 1704164645.0)),
            ),
            ("2024-W01-1", Some(("2024-01-01T00:00:00", 1704067200.0))),
            ("2024W011", Some(("2024-01-01T00:00:00", 1704067200.0))),
            ("2024W01", Some(("2024-01-01T00:00:00", 1704067200.0))),
            ("2024-W01", Some(("2024-01-01T00:00:00", 1704067200.0))),
            ("2020-W53-7T10", Some(("2021-01-03T10:00:00", 1609668000.0))),
            ("2024-W53", None),
            (
                "2024-01-02T03:04:05.1234567",
                Some(("2024-01-02T03:04:05.123456", 1704164645.123456)),
            ),
            ("2024-13-01", None),
            ("", None),
            ("garbage", None),
            ("2024-01-02", Some(("2024-01-02T00:00:00", 1704153600.0))),
            ("2024-01-02T", None),
            ("2024-01-02T03", Some(("2024-01-02T03:00:00", 1704164400.0))),
            (
                "2024-01-02T0304",
                Some(("2024-01-02T03:04:00", 1704164640.0)),
            ),
            (
                "2024-01-02T03.5",
                Some(("2024-01-02T03:00:00.500000", 1704164400.5)),
            ),
            (
                "2024-01-02T03:04.5",
                Some(("2024-01-02T03:04:00.500000", 1704164640.5)),
            ),
            (
                "2024-01-02T03:04:05,5",
                Some(("2024-01-02T03:04:05.500000", 1704164645.5)),
            ),
            (
                "2024-01-02T03:04:05:5",
                Some(("2024-01-02T03:04:05.500000", 1704164645.5)),
            ),
            (
                "2024-01-02T030405.5+0530",
                Some(("2024-01-02T03:04:05.500000+05:30", 1704144845.5)),
            ),
            (
                "2024-01-02T03:04:05+05",
                Some(("2024-01-02T03:04:05+05:00", 1704146645.0)),
            ),
            ("2024-01-02T03:04:05+0", None),
            ("2024-01-02T03:04:05+053", None),
            (
                "2024-01-02T03:04:05+05:30:15",
                Some(("2024-01-02T03:04:05+05:30:15", 1704144830.0)),
            ),
            (
                "2024-01-02T03:04:05-05:30:00.123",
                Some(("2024-01-02T03:04:05-05:30:00.123000", 1704184445.123)),
            ),
            (
                "2024-01-02T03:04:05+05:30:00.000001",
                Some(("2024-01-02T03:04:05+05:30:00.000001", 1704144844.999999)),
            ),
            (
                "2024-01-02T03:04:05+23:59:59.999999",
                Some(("2024-01-02T03:04:05+23:59:59.999999", 1704078245.000001)),
            ),
            (
                "2024-01-02T03:04:05-23:59:59.999999",
                Some(("2024-01-02T03:04:05-23:59:59.999999", 1704251044.999999)),
            ),
            ("2024-01-02T03:04:05+24:00", None),
            (
                "2024-01-02T03:04:05+00:00:00.5",
                Some(("2024-01-02T03:04:05+00:00", 1704164645.0)),
            ),
            (
                "2024-01-02T03:04:05-00:00:00.000001",
                Some(("2024-01-02T03:04:05+00:00", 1704164645.0)),
            ),
            (
                "2024-01-02T03:04:05+05:99",
                Some(("2024-01-02T03:04:05+06:39", 1704140705.0)),
            ),
            ("2024-01-02T24:00:00", None),
            (
                "2024-01-02T03:04:05\u{0}",
                Some(("2024-01-02T03:04:05", 1704164645.0)),
            ),
            ("2024-01-02T03:04:05.123\u{0}", None),
            (
                "2024-01-02T03:04:05.123456\u{0}x",
                Some(("2024-01-02T03:04:05.123456", 1704164645.123456)),
            ),
            (
                "2024-01-02T03:04:05.1234567x+05:00",
                Some(("2024-01-02T03:04:05.123456+05:00", 1704146645.123456)),
            ),
            (
                "2024-01-02\u{e9}03:04",
                Some(("2024-01-02T03:04:00", 1704164640.0)),
            ),
            (
                "2024-01-02\u{20ac}03:04",
                Some(("2024-01-02T03:04:00", 1704164640.0)),
            ),
            (
                "2024-01-02\u{1f600}03:04",
                Some(("2024-01-02T03:04:00", 1704164640.0)),
            ),
            ("2024-01-02T3:04", None),
            ("2024-01-02T03:04:05ZZ", None),
            (
                "0001-01-01T00:00:00+05:00",
                Some(("0001-01-01T00:00:00+05:00", -62135614800.0)),
            ),
            (
                "9999-12-31T23:59:59.999999-05:00",
                Some(("9999-12-31T23:59:59.999999-05:00", 253402318800.0)),
            ),
            ("0000-01-01", None),
            ("2023-02-29", None),
            ("2024-02-29", Some(("2024-02-29T00:00:00", 1709164800.0))),
            ("0000-W52-7", None),
            ("9999-W52-5", Some(("9999-12-31T00:00:00", 253402214400.0))),
            ("9999-W52-6", None),
            (
                "2024-01-02T03:04:05.12",
                Some(("2024-01-02T03:04:05.120000", 1704164645.12)),
            ),
            (
                "1677-01-01T00:00:00.000001Z",
                Some(("1677-01-01T00:00:00.000001+00:00", -9246095999.999998)),
            ),
            ("2024-01-02T03:04:05Z+05:00", None),
            ("2024-01-02T03:04:05.1a", None),
            (
                "2024-01-02T03:04:05+05:30\u{0}",
                Some(("2024-01-02T03:04:05+05:30", 1704144845.0)),
            ),
            ("2024-W01-1T10", Some(("2024-01-01T10:00:00", 1704103200.0))),
            ("2024-W011", None),
            ("2024W01-1", None),
            ("2024-01-02T03:04:05 ", None),
            ("2024-01-02T03:04:05+", None),
            ("2024-01-02T03:04:05-", None),
            ("2024-01-02T03:04:05+05:", None),
            ("2024-01-02T03:04:05+05:30:", None),
            (
                "2024-01-02T03:04:05+05:30.5",
                Some(("2024-01-02T03:04:05+05:30:00.500000", 1704144844.5)),
            ),
            (
                "2024-01-02T03:04:05+0530.5",
                Some(("2024-01-02T03:04:05+05:30:00.500000", 1704144844.5)),
            ),
            (
                "2024-01-02T03:04:05+053015",
                Some(("2024-01-02T03:04:05+05:30:15", 1704144830.0)),
            ),
            (
                "2024-01-02T03:04:05+053015.25",
                Some(("2024-01-02T03:04:05+05:30:15.250000", 1704144829.75)),
            ),
            (
                "2024-01-02T03:04:05-05:30:15.5",
                Some(("2024-01-02T03:04:05-05:30:15.500000", 1704184460.5)),
            ),
            (
                "2024-01-02T030405+05:30",
                Some(("2024-01-02T03:04:05+05:30", 1704144845.0)),
            ),
            ("2024-01-02T03:0405", None),
            ("2024-01-02T0304:05", None),
            ("2024-01-0203:04", None),
            ("2024-0102", None),
            ("202401-02", None),
            ("2024-01-02T03:04:05.", None),
            ("2024-01-02T03:04:05,", None),
            (
                "2024-01-02T03:04:05.1234567890123456789",
                Some(("2024-01-02T03:04:05.123456", 1704164645.123456)),
            ),
            (
                "1970-01-01T00:00:00-00:00",
                Some(("1970-01-01T00:00:00+00:00", 0.0)),
            ),
            ("2024-01-02T-05:00", None),
            (
                "2024-01-02T03-05:00",
                Some(("2024-01-02T03:00:00-05:00", 1704182400.0)),
            ),
            (
                "2024-01-02T03:04:05.5-05",
                Some(("2024-01-02T03:04:05.500000-05:00", 1704182645.5)),
            ),
            ("12345678", None),
            ("2024-001", None),
            ("2024001", None),
            ("2024-W1-1", None),
            ("2024-W01-0", None),
            ("2024-W01-8", None),
            ("2021-W53", None),
            ("2021W537", None),
            ("2024W0110", None),
            ("2024-W01-10", Some(("2024-01-01T10:00:00", 1704103200.0))),
            ("2024-W01-1-", None),
            ("2024-W01-", None),
            (
                "2024-01-02T00:00:00.000000",
                Some(("2024-01-02T00:00:00", 1704153600.0)),
            ),
        ];
        for &(s, want) in cases {
            let got = Timestamp::parse_json_string(s);
            match (got, want) {
                (None, None) => {}
                (Some(t), Some((i, e))) => {
                    assert_eq!(iso(&t), i, "fromisoformat({s:?})");
                    assert_eq!(
                        t.epoch_seconds().to_bits(),
                        e.to_bits(),
                        "{s:?}.timestamp()"
                    );
                }
                _ => panic!("fromisoformat({s:?}): got {got:?}, want {want:?}"),
            }
        }
    }

    /// Lone surrogates (WTF-8): only as the separator at index 7/8/10.
    #[test]
    fn surrogates_in_timestamp_strings() {
        let sur = [0xED, 0xA0, 0x80]; // U+D800
        let mk = |a: &str, b: &str| {
            let mut v = a.as_bytes().to_vec();
            v.extend_from_slice(&sur);
            v.extend_from_slice(b.as_bytes());
            v
        };
        let t = Timestamp::parse_json_wtf8(&mk("2024-01-02", "03:04")).map(|t| iso(&t));
        assert_eq!(t.as_deref(), Some("2024-01-02T03:04:00"));
        assert_eq!(
            Timestamp::parse_json_wtf8(&mk("2024-01-02", " 03:04")),
            None
        );
        assert_eq!(
            Timestamp::parse_json_wtf8(&mk("2024-01-02T03:04", "")),
            None
        );
        let t = Timestamp::parse_json_wtf8(&mk("20240102", "0304Z")).map(|t| iso(&t));
        assert_eq!(t.as_deref(), Some("2024-01-02T03:04:00+00:00"));
        assert_eq!(
            Timestamp::parse_json_wtf8(b"2024-01-02"),
            Timestamp::parse_json_string("2024-01-02")
        );
    }

    #[test]
    fn naive_epoch_seconds_and_isoformat() {
        let t = Timestamp::parse_json_string("0001-01-02").unwrap();
        assert_eq!(t.epoch_seconds(), -62135510400.0);
        let t = Timestamp::parse_json_string("9999-12-31T23:59:59.999999").unwrap();
        assert_eq!(t.epoch_seconds(), 253402300800.0);
        assert_eq!(iso(&t), "9999-12-31T23:59:59.999999");
    }
}
