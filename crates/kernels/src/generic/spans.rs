//! The per-block masks of the line-span kernel, one byte at a time.

use crate::spans::BlockMasks;
use crate::words::is_word_byte;

/// Word bytes, line breaks and non-ASCII bytes of a 64-byte block, as bit masks.
#[inline(always)]
pub fn block_masks(b: &[u8; 64]) -> BlockMasks {
    let mut m = BlockMasks::default();
    for (i, &byte) in b.iter().enumerate() {
        m.word |= u64::from(is_word_byte(byte)) << i;
        m.brk |= u64::from(byte == b'\n' || byte == b'\r') << i;
        m.high |= u64::from(byte >= 0x80) << i;
    }
    m
}

/// The line-span kernel over [`block_masks`] (see
/// [`ascii_line_spans`](crate::spans::ascii_line_spans)).
#[inline]
pub fn line_spans(
    chunk: &[u8],
    out: &mut Vec<crate::spans::LineSpan>,
    max_lines: usize,
) -> Option<usize> {
    crate::spans::line_spans(chunk, out, max_lines, block_masks)
}
