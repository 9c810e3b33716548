//! The line-span kernel in plain Rust: the span types, the driver every architecture's
//! span kernel runs (over its own block masks), and the block masks one byte at a time.

use crate::generic::words::is_word_byte;

/// One non-empty line of a chunk: where it is and how many `\w+` tokens it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineSpan {
    /// Offset of the first byte in the chunk.
    pub start: u32,
    /// Length in bytes (= characters, the chunk being ASCII).
    pub len: u32,
    /// `\w+` runs in the line.
    pub tokens: u32,
}

/// Masks of one 64-byte block: bit i describes byte i.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockMasks {
    /// ASCII word bytes `[0-9A-Za-z_]`.
    pub word: u64,
    /// Line breaks (`\n`, `\r`).
    pub brk: u64,
    /// Bytes >= 0x80.
    pub high: u64,
}

/// The kernel, with `masks` computing a block's [`BlockMasks`]: every architecture's
/// span kernel is this driver over its own block masks.
#[inline(always)]
pub(crate) fn line_spans_with(
    chunk: &[u8],
    out: &mut Vec<LineSpan>,
    max_lines: usize,
    masks: impl Fn(&[u8; 64]) -> BlockMasks,
) -> Option<usize> {
    if chunk.len() >= u32::MAX as usize {
        return None;
    }
    let first = out.len();
    let mut line = SpanState::default();
    let mut blocks = chunk.chunks_exact(64);
    let mut base = 0usize;
    for b in &mut blocks {
        let Ok(b) = <&[u8; 64]>::try_from(b) else {
            continue;
        };
        let m = masks(b);
        if m.high != 0 {
            return None;
        }
        line.block(base, m, out);
        base += 64;
        if out.len() - first > max_lines {
            return Some(line.start);
        }
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        // Zero padding is neither a word byte, a break nor non-ASCII.
        let mut pad = [0u8; 64];
        pad[..rest.len()].copy_from_slice(rest);
        let m = masks(&pad);
        if m.high != 0 {
            return None;
        }
        line.block(base, m, out);
    }
    line.emit(chunk.len(), 0, out);
    Some(chunk.len())
}

/// Where [`line_spans`] is within the current line.
#[derive(Default)]
struct SpanState {
    /// Offset of the line's first byte.
    start: usize,
    /// Word starts seen so far in the line.
    tokens: u32,
    /// 1 when the previous block ended in a word byte.
    word_carry: u64,
}

impl SpanState {
    /// End the current line at `end` (a break, or the chunk's end) with `more` word
    /// starts not yet counted; an empty line makes no span.
    #[inline(always)]
    fn emit(&mut self, end: usize, more: u32, out: &mut Vec<LineSpan>) {
        if end > self.start {
            out.push(LineSpan {
                start: self.start as u32,
                len: (end - self.start) as u32,
                tokens: self.tokens + more,
            });
        }
        self.tokens = 0;
        self.start = end + 1;
    }

    /// The lines that end in the block at `base` with masks `m`.
    #[inline(always)]
    fn block(&mut self, base: usize, m: BlockMasks, out: &mut Vec<LineSpan>) {
        let mut starts = m.word & !((m.word << 1) | self.word_carry);
        self.word_carry = m.word >> 63;
        let mut brk = m.brk;
        while brk != 0 {
            let bit = brk.trailing_zeros();
            brk &= brk - 1;
            let below = starts & ((1u64 << bit) - 1);
            starts &= !below;
            self.emit(base + bit as usize, below.count_ones(), out);
        }
        self.tokens += starts.count_ones();
    }
}

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
pub fn line_spans(chunk: &[u8], out: &mut Vec<LineSpan>, max_lines: usize) -> Option<usize> {
    line_spans_with(chunk, out, max_lines, block_masks)
}
