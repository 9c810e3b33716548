//! Line splitting: cut a byte buffer into lines the way Python's text mode does.
//!
//! The reference opens files with universal newlines (`\n`, `\r\n` and a lone `\r` all end
//! a line) and then skips empty lines. Because empty lines are dropped, that is exactly
//! "split at every `\r` or `\n` byte and keep the non-empty pieces" — which means a chunk
//! boundary (or a read boundary) inside a `\r\n` pair cannot change the result. `\r` and
//! `\n` are ASCII, so they never occur inside a multi-byte UTF-8 sequence and splitting
//! before decoding is safe. This module knows nothing about what a line means.

use memchr::{memchr2, memrchr2};

pub use crate::generic::breaks::is_line_break;

/// Iterator over the non-empty lines of a buffer (without terminators).
///
/// The last piece is yielded even when it has no terminator: callers that stream must
/// only pass complete lines (see [`complete_prefix_len`]).
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    /// Lines of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Lines { rest: buf }
    }

    /// The bytes not yet yielded (they start just after the last line's terminator).
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            match memchr2(b'\n', b'\r', self.rest) {
                Some(0) => self.rest = &self.rest[1..],
                Some(i) => {
                    let line = &self.rest[..i];
                    self.rest = &self.rest[i + 1..];
                    return Some(line);
                }
                None => {
                    let line = self.rest;
                    self.rest = &[];
                    return Some(line);
                }
            }
        }
    }
}

/// Length of the prefix of `buf` that ends with a line break (0 when there is none):
/// everything after it is an unfinished line.
#[inline]
pub fn complete_prefix_len(buf: &[u8]) -> usize {
    memrchr2(b'\n', b'\r', buf).map_or(0, |i| i + 1)
}

/// The first line break at or after `from`, as the position just past it; `None` when
/// the rest of the buffer has no line break. Used to cut chunks at line boundaries.
#[inline]
pub fn next_line_start(buf: &[u8], from: usize) -> Option<usize> {
    let from = from.min(buf.len());
    memchr2(b'\n', b'\r', &buf[from..]).map(|i| from + i + 1)
}

/// Position just past the `max_lines`-th line break of `buf`, when it has that many
/// (`max_lines >= 1`). Bounds how many records one chunk can produce.
#[inline]
pub fn cut_after_lines(buf: &[u8], max_lines: usize) -> Option<usize> {
    // Counting is a vector loop, while stepping from break to break costs a search per
    // line: count first, and step only through a buffer that does need a cut.
    let max_lines = max_lines.max(1);
    // A buffer shorter than `max_lines` bytes cannot hold that many breaks: chunks cut
    // below that size are never counted at all.
    if buf.len() < max_lines || count_line_breaks(buf) < max_lines {
        return None;
    }
    memchr::memchr2_iter(b'\n', b'\r', buf)
        .nth(max_lines - 1)
        .map(|i| i + 1)
}

/// Number of line-break bytes (`\n` or `\r`) in `buf`. The scan's chunk line cap runs
/// this over every byte of a streamed input, and of a mapped chunk off the ASCII fast
/// path (an ASCII text chunk is capped by the span kernel itself), so it takes the widest
/// vectors the CPU has.
#[inline]
pub fn count_line_breaks(buf: &[u8]) -> usize {
    crate::dispatch::count_line_breaks(buf)
}

/// Line terminators in `bytes` as Python's universal newlines count them: each `\n`,
/// each `\r\n` pair once, each other `\r`. Meant for the short runs of break bytes
/// between lines, which is how line numbers are kept without a second pass.
#[inline]
pub fn count_terminators(bytes: &[u8]) -> u64 {
    let mut n = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => n += 1,
            b'\r' => n += u64::from(bytes.get(i + 1) != Some(&b'\n')),
            _ => {}
        }
        i += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(b: &[u8]) -> Vec<&[u8]> {
        Lines::new(b).collect()
    }

    #[test]
    fn line_break_count_matches_the_obvious_count() {
        // Lengths around the 32-byte rounds and the 255-round blocks of the counter.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for len in [
            0,
            1,
            31,
            63,
            64,
            65,
            32,
            33,
            255 * 32 - 1,
            255 * 32,
            255 * 32 + 1,
            20_000,
        ] {
            for density in [0u64, 1, 4, 16] {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        trace_sentinel_testrand::xorshift64(&mut x);
                        match x % 16 {
                            k if k < density && x & 16 == 0 => b'\n',
                            k if k < density => b'\r',
                            _ => (x >> 8) as u8 | 0x20,
                        }
                    })
                    .collect();
                let obvious = buf.iter().filter(|&&b| is_line_break(b)).count();
                assert_eq!(
                    count_line_breaks(&buf),
                    obvious,
                    "len {len} density {density}"
                );
                assert_eq!(crate::generic::breaks::count_line_breaks(&buf), obvious);
                if obvious > 0 {
                    let nth = memchr::memchr2_iter(b'\n', b'\r', &buf).nth(obvious - 1);
                    assert_eq!(cut_after_lines(&buf, obvious), nth.map(|i| i + 1));
                }
                assert_eq!(cut_after_lines(&buf, obvious + 1), None);
            }
        }
    }

    #[test]
    fn edge_cases() {
        let empty: Vec<&[u8]> = vec![];
        assert_eq!(lines(b""), empty);
        assert_eq!(lines(b"\n"), empty);
        assert_eq!(lines(b"\r\n\r\r\n\n"), empty);
        assert_eq!(lines(b"a"), vec![b"a" as &[u8]]);
        assert_eq!(lines(b"a\nb"), vec![b"a" as &[u8], b"b"]);
        assert_eq!(lines(b"a\r\nb\rc\n"), vec![b"a" as &[u8], b"b", b"c"]);
        assert_eq!(
            lines(b"\xe2\x82\n\xff"),
            vec![b"\xe2\x82" as &[u8], b"\xff"]
        );
    }

    #[test]
    fn crlf_split_across_a_boundary_is_harmless() {
        let whole = b"one\r\ntwo\r\nthree";
        for cut in 0..=whole.len() {
            let (a, b) = whole.split_at(cut);
            let done = complete_prefix_len(a);
            let mut got: Vec<Vec<u8>> = Lines::new(&a[..done]).map(<[u8]>::to_vec).collect();
            let mut rest = a[done..].to_vec();
            rest.extend_from_slice(b);
            got.extend(Lines::new(&rest).map(<[u8]>::to_vec));
            assert_eq!(
                got,
                vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn line_starts() {
        assert_eq!(next_line_start(b"ab\ncd", 0), Some(3));
        assert_eq!(next_line_start(b"ab\ncd", 3), None);
        assert_eq!(next_line_start(b"ab\r\ncd", 2), Some(3));
        assert_eq!(next_line_start(b"ab", 9), None);
        assert_eq!(complete_prefix_len(b"ab\ncd"), 3);
        assert_eq!(complete_prefix_len(b"abcd"), 0);
        assert_eq!(cut_after_lines(b"a\nb\nc\n", 2), Some(4));
        assert_eq!(cut_after_lines(b"a\nb\nc\n", 3), Some(6));
        assert_eq!(cut_after_lines(b"a\nb\nc\n", 4), None);
        assert_eq!(cut_after_lines(b"a\r\nb", 1), Some(2));
        assert_eq!(cut_after_lines(b"a\r\nb", 2), Some(3));
        assert_eq!(cut_after_lines(b"a\r\nb", 3), None);
    }

    #[test]
    fn terminators_count_like_universal_newlines() {
        for (bytes, n) in [
            (&b""[..], 0),
            (b"\n", 1),
            (b"\r", 1),
            (b"\r\n", 1),
            (b"\n\r", 2),
            (b"\r\r\n\n", 3),
            (b"a\nb\r\nc\rd", 3),
        ] {
            assert_eq!(count_terminators(bytes), n, "{bytes:?}");
        }
    }
}
