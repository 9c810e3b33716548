//! One event as the detect stage sees it ([`EventRecord`]): borrowed fields plus the
//! features the extract stage computed. Records are built by the parse + extract stage
//! (or the `Sentinel` facade) and consumed, in input order, by the detect stage.

use crate::semantic::SemInput;
use serde::{Deserialize, Serialize};
use trace_sentinel_kernels::shape::Shape;
use trace_sentinel_pycompat::timestamp::Timestamp;

/// Numeric attributes of one event: `(key range in keys, value)` pairs in dict order.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    /// Concatenated keys.
    pub(crate) keys: &'a str,
    /// Ranges into `keys` with their finite values.
    pub(crate) items: &'a [(std::ops::Range<usize>, f64)],
}

impl<'a> Attrs<'a> {
    /// No attributes.
    pub(crate) const EMPTY: Attrs<'static> = Attrs {
        keys: "",
        items: &[],
    };

    /// Iterate `(key, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        let keys = self.keys;
        self.items
            .iter()
            .map(move |(r, v)| (keys.get(r.clone()).unwrap_or(""), *v))
    }
}

/// One event as the detect stage sees it: borrowed fields plus its extracted features.
#[derive(Debug, Clone, Copy)]
pub struct EventRecord<'a> {
    /// Message text as UTF-8 bytes. The parse stage produced it from a `&str`; it is
    /// re-validated only when an anomaly is reported (a memory-mapped file may change
    /// underneath, so the detect stage never assumes), with lossy replacement.
    pub(crate) message: &'a [u8],
    /// Source label.
    pub(crate) source: &'a str,
    /// Event time; `None` means "now" (resolved when first needed).
    pub(crate) timestamp: Option<Timestamp>,
    /// Numeric attributes.
    pub(crate) attrs: Attrs<'a>,
    /// `message.length`.
    pub(crate) length: f64,
    /// `message.tokens`.
    pub(crate) tokens: f64,
    /// Semantic vector (when the semantic layer is on).
    pub(crate) semvec: Option<SemInput<'a>>,
    /// Extra metrics from user extractors, `(metric name, value)`, scored after the
    /// built-in ones in this order.
    pub(crate) extra: Attrs<'a>,
    /// The message's template shape (when the template layer is on).
    pub(crate) shape: Option<Shape>,
    /// The line's 1-based number in its input, where the driver keeps count.
    pub(crate) line: Option<u64>,
}

/// The lines of a block with their numbers (see [`LineCursor::lines`]).
#[derive(Debug, Clone)]
pub struct NumberedLines<'a> {
    lines: trace_sentinel_kernels::split::Lines<'a>,
    block: &'a [u8],
    /// Terminators before `counted_to` are in `breaks`.
    counted_to: usize,
    breaks: u64,
    base: u64,
}

impl<'a> Iterator for NumberedLines<'a> {
    type Item = (Option<u64>, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let line = self.lines.next()?;
        if self.base == 0 {
            return Some((None, line));
        }
        let start = line.as_ptr() as usize - self.block.as_ptr() as usize;
        self.breaks +=
            trace_sentinel_kernels::split::count_terminators(&self.block[self.counted_to..start]);
        self.counted_to = start;
        Some((Some(self.base + self.breaks), line))
    }
}

/// Where an input stands between pieces: the number of the next line (1-based, counting
/// every line Python's universal newlines would, empty ones included), and whether the
/// last byte read was a `\r` (then a `\n` that starts the next piece completes it and
/// ends no new line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCursor {
    next: u64,
    after_cr: bool,
}

impl Default for LineCursor {
    fn default() -> Self {
        LineCursor {
            next: 1,
            after_cr: false,
        }
    }
}

impl LineCursor {
    /// A cursor whose next line is number `line`.
    pub fn at(line: u64) -> Self {
        LineCursor {
            next: line.max(1),
            after_cr: false,
        }
    }

    /// A cursor that does not know where the input stands (its lines get no numbers).
    pub const UNKNOWN: LineCursor = LineCursor {
        next: 0,
        after_cr: false,
    };

    /// The number of the next line, if known.
    pub fn next_line(&self) -> Option<u64> {
        (self.next > 0).then_some(self.next)
    }

    /// The number of the piece's first line start, given its bytes (0 if unknown).
    pub(crate) fn base(&self, piece: &[u8]) -> u64 {
        if self.next == 0 {
            return 0;
        }
        self.next - u64::from(self.after_cr && piece.first() == Some(&b'\n'))
    }

    /// The number of a line `rel` terminators into a piece whose base is `base`.
    pub(crate) fn number(base: u64, rel: u32) -> Option<u64> {
        (base > 0).then(|| base + u64::from(rel))
    }

    /// Move past a piece holding `breaks` line terminators.
    pub(crate) fn advance(&mut self, piece: &[u8], breaks: u64) {
        if self.next > 0 {
            self.next = self.base(piece) + breaks;
        }
        self.after_cr = piece.last() == Some(&b'\r');
    }

    /// Move past `piece`, counting its terminators (for drivers that hand out bytes
    /// without extracting them).
    pub fn advance_over(&mut self, piece: &[u8]) {
        self.advance(
            piece,
            trace_sentinel_kernels::split::count_terminators(piece),
        );
    }

    /// The lines of `block` (complete lines only; empty ones skipped, as
    /// [`trace_sentinel_kernels::split::Lines`] yields them), each with its number; the
    /// cursor moves past the whole block at once.
    pub fn lines<'a>(&mut self, block: &'a [u8]) -> NumberedLines<'a> {
        let base = self.base(block);
        self.advance_over(block);
        NumberedLines {
            lines: trace_sentinel_kernels::split::Lines::new(block),
            block,
            counted_to: 0,
            breaks: 0,
            base,
        }
    }

    /// Move past one line handed out whole (an over-long line cut at its terminator).
    pub fn advance_line(&mut self) {
        if self.next > 0 {
            self.next += 1;
        }
        self.after_cr = false;
    }
}

impl<'a> EventRecord<'a> {
    /// The same event at line `line` of its input (`None`: not known).
    pub fn at_line(mut self, line: Option<u64>) -> Self {
        self.line = line;
        self
    }

    /// The line's 1-based number in its input, where the driver keeps count.
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The message (UTF-8, or WTF-8 from a JSON lone-surrogate escape).
    pub fn message(&self) -> &'a [u8] {
        self.message
    }

    /// The source label.
    pub fn source(&self) -> &'a str {
        self.source
    }

    /// The event time; `None` means "now".
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }

    /// The numeric attributes (each scored as `attr.<key>`).
    pub fn attrs(&self) -> Attrs<'a> {
        self.attrs
    }

    /// The user extractors' metrics, by full name.
    pub fn extra(&self) -> Attrs<'a> {
        self.extra
    }

    /// `message.length`: Unicode scalar values of the whole line.
    pub fn length(&self) -> f64 {
        self.length
    }

    /// `message.tokens`: `\w+` runs of the whole line.
    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(cursor: &mut LineCursor, block: &[u8]) -> Vec<(Option<u64>, String)> {
        cursor
            .lines(block)
            .map(|(n, l)| (n, String::from_utf8_lossy(l).into_owned()))
            .collect()
    }

    #[test]
    fn lines_are_numbered_across_blocks_and_terminators() {
        let mut c = LineCursor::default();
        let got = numbered(&mut c, b"a\r\n\nb\rc\r");
        assert_eq!(
            got,
            vec![
                (Some(1), "a".into()),
                (Some(3), "b".into()),
                (Some(4), "c".into())
            ]
        );
        // The \n completing the last block's \r ends no line.
        let got = numbered(&mut c, b"\nd\n");
        assert_eq!(got, vec![(Some(5), "d".into())]);
        assert_eq!(c.next_line(), Some(6));
        let mut unknown = LineCursor::UNKNOWN;
        assert_eq!(numbered(&mut unknown, b"x\ny\n")[1], (None, "y".into()));
    }
}
