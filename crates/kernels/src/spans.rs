//! Fused split + measure kernel for pure-ASCII plain-text chunks.
//!
//! The hot loop of a plain-text `scan`: one pass over a chunk, 64 bytes at a time, finds
//! the line breaks (`\n` and `\r`, universal newlines as in [`crate::split`]), the starts of
//! `\w+` runs (the token metric) and any non-ASCII byte, as 64-bit masks. Each non-empty
//! line becomes a [`LineSpan`] whose token count is a popcount over the word-start mask
//! between two breaks; for ASCII, the character length is the byte length. A chunk holding
//! any non-ASCII byte is reported as such and takes the general per-line path instead.

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
#[derive(Debug, Clone, Copy)]
struct BlockMasks {
    word: u64,
    brk: u64,
    high: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks16(p: &[u8; 16]) -> (u32, u32, u32) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; the unaligned load reads exactly the
    // 16 bytes of `p`.
    unsafe {
        let v = _mm_loadu_si128(p.as_ptr().cast());
        let word = crate::words::word_bytes_sse2(v);
        let nl = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
        let cr = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8));
        (
            _mm_movemask_epi8(word) as u32,
            _mm_movemask_epi8(_mm_or_si128(nl, cr)) as u32,
            _mm_movemask_epi8(v) as u32,
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn masks16(p: &[u8; 16]) -> (u32, u32, u32) {
    let (mut w, mut n, mut h) = (0u32, 0u32, 0u32);
    for (i, &b) in p.iter().enumerate() {
        let word = (b | 0x20).wrapping_sub(b'a') < 26 || b.wrapping_sub(b'0') < 10 || b == b'_';
        w |= u32::from(word) << i;
        n |= u32::from(b == b'\n' || b == b'\r') << i;
        h |= u32::from(b >= 0x80) << i;
    }
    (w, n, h)
}

#[inline(always)]
fn block_masks(b: &[u8; 64]) -> BlockMasks {
    let mut m = BlockMasks {
        word: 0,
        brk: 0,
        high: 0,
    };
    for (k, part) in b.chunks_exact(16).enumerate() {
        let Ok(part) = <&[u8; 16]>::try_from(part) else {
            continue;
        };
        let (w, n, h) = masks16(part);
        m.word |= u64::from(w) << (16 * k);
        m.brk |= u64::from(n) << (16 * k);
        m.high |= u64::from(h) << (16 * k);
    }
    m
}

/// [`block_masks`] with AVX-512 BW: one 64-byte load, each class of byte a compare into
/// a mask register (the SSE2 form takes four loads, three movemasks each and the shifts
/// to join them).
///
/// # Safety
/// The CPU must have AVX-512 F and BW.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block_masks_avx512(b: &[u8; 64]) -> BlockMasks {
    use std::arch::x86_64::*;
    let splat = |x: u8| _mm512_set1_epi8(x as i8);
    let v = _mm512_loadu_si512(b.as_ptr().cast());
    // `\w` in ASCII, as `words::word_bytes_sse2`: a letter either case, a digit, `_`.
    let alpha = _mm512_cmplt_epu8_mask(
        _mm512_sub_epi8(_mm512_or_si512(v, splat(0x20)), splat(b'a')),
        splat(26),
    );
    let digit = _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, splat(b'0')), splat(10));
    let under = _mm512_cmpeq_epi8_mask(v, splat(b'_'));
    let brk = _mm512_cmpeq_epi8_mask(v, splat(b'\n')) | _mm512_cmpeq_epi8_mask(v, splat(b'\r'));
    BlockMasks {
        word: alpha | digit | under,
        brk,
        high: _mm512_movepi8_mask(v),
    }
}

/// [`line_spans`] with [`block_masks_avx512`] and hardware bit counts.
///
/// # Safety
/// The CPU must have AVX-512 F and BW, POPCNT and BMI1.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,popcnt,bmi1")]
unsafe fn line_spans_avx512(
    chunk: &[u8],
    out: &mut Vec<LineSpan>,
    max_lines: usize,
) -> Option<usize> {
    // SAFETY: this function's features are the kernel's.
    line_spans(chunk, out, max_lines, |b| unsafe { block_masks_avx512(b) })
}

/// Cut `chunk` into its non-empty lines with their token counts, appending to `out`,
/// and return how many bytes of `chunk` that took: all of it, or — once `out` holds more
/// than `max_lines` spans at the end of a 64-byte block — the lines up to the last line
/// break seen (at most `max_lines + 64` spans; the rest starts a line). Returns `None`
/// (with `out` in an unspecified state) when the chunk holds a non-ASCII byte or is too
/// large for 32-bit offsets; the caller then uses the general path.
pub fn ascii_line_spans(chunk: &[u8], out: &mut Vec<LineSpan>, max_lines: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::avx512() {
        // SAFETY: the features were checked at run time.
        return unsafe { line_spans_avx512(chunk, out, max_lines) };
    }
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::popcnt_bmi1() {
        // The same code with hardware popcount and trailing-zero count (the baseline
        // x86_64 build counts bits with shifts and masks, once per line and per block).
        #[target_feature(enable = "popcnt,bmi1")]
        unsafe fn with_bit_counts(
            chunk: &[u8],
            out: &mut Vec<LineSpan>,
            max_lines: usize,
        ) -> Option<usize> {
            line_spans(chunk, out, max_lines, block_masks)
        }
        // SAFETY: both features were checked at run time.
        return unsafe { with_bit_counts(chunk, out, max_lines) };
    }
    line_spans(chunk, out, max_lines, block_masks)
}

/// The kernel, with `masks` computing a block's [`BlockMasks`].
#[inline(always)]
fn line_spans(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::Lines;
    use crate::words::count_ascii_words;

    fn reference(chunk: &[u8]) -> Vec<(Vec<u8>, u32)> {
        Lines::new(chunk)
            .map(|l| (l.to_vec(), count_ascii_words(l) as u32))
            .collect()
    }

    fn spans(chunk: &[u8]) -> Option<Vec<(Vec<u8>, u32)>> {
        let mut out = Vec::new();
        ascii_line_spans(chunk, &mut out, usize::MAX)?;
        Some(
            out.iter()
                .map(|s| {
                    let a = s.start as usize;
                    (chunk[a..a + s.len as usize].to_vec(), s.tokens)
                })
                .collect(),
        )
    }

    #[test]
    fn matches_the_line_splitter_and_word_counter() {
        let cases: &[&[u8]] = &[
            b"",
            b"\n",
            b"a",
            b"hello world\nfoo_bar baz-9\r\n\r\nlast line no newline",
            b"\r\r\n\n  \n x \r y",
            b"word",
        ];
        for c in cases {
            assert_eq!(
                spans(c),
                Some(reference(c)),
                "{:?}",
                String::from_utf8_lossy(c)
            );
        }
    }

    #[test]
    fn words_and_lines_across_block_edges() {
        // Deterministic pseudo-random ASCII with breaks and words straddling 64-byte edges.
        let alphabet = b"ab_9 .=\t\n\rZ-";
        let mut x = 0x9e37_79b9_u64;
        for len in [63usize, 64, 65, 127, 128, 129, 1000, 4096 + 7] {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                trace_sentinel_testrand::xorshift64(&mut x);
                buf.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            assert_eq!(spans(&buf), Some(reference(&buf)), "len {len}");
            // One long word crossing every block edge.
            let long = vec![b'w'; len];
            assert_eq!(spans(&long), Some(reference(&long)), "word len {len}");
        }
    }

    #[test]
    fn non_ascii_anywhere_declines() {
        for at in [0usize, 1, 63, 64, 100, 130] {
            let mut buf = vec![b'a'; 131];
            buf[at] = 0xC3;
            assert_eq!(spans(&buf), None, "at {at}");
        }
    }

    #[test]
    fn every_mask_kernel_gives_the_same_spans() {
        // Random bytes (word characters, separators, CR, LF, sometimes a non-ASCII byte)
        // through each block-mask kernel the CPU has, against the portable SSE2/scalar one.
        let alphabet = b"aZ_9 .-=\t\r\n\r\nxy";
        let mut x = 0x5851_f42d_4c95_7f2d_u64;
        for len in [0usize, 1, 63, 64, 65, 127, 128, 129, 1000, 4099] {
            for round in 0..20 {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = trace_sentinel_testrand::xorshift64(&mut x);
                        if round % 5 == 4 && r.is_multiple_of(500) {
                            0x80 | (r >> 8) as u8
                        } else {
                            alphabet[(r % alphabet.len() as u64) as usize]
                        }
                    })
                    .collect();
                let mut want = Vec::new();
                let want_ok = line_spans(&buf, &mut want, usize::MAX, block_masks);
                #[cfg(target_arch = "x86_64")]
                if crate::cpu::avx512() {
                    let mut got = Vec::new();
                    // SAFETY: the features were checked at run time.
                    let ok = unsafe { line_spans_avx512(&buf, &mut got, usize::MAX) };
                    assert_eq!(ok, want_ok, "len {len}");
                    if ok.is_some() {
                        assert_eq!(got, want, "len {len}");
                    }
                }
                if want_ok.is_some() {
                    assert_eq!(want_ok, Some(len));
                    assert_eq!(spans(&buf), Some(reference(&buf)), "len {len}");
                    // Capped: a prefix ending after a line break, whose spans are the
                    // first ones of the whole chunk; cutting again where it stopped
                    // gives the rest.
                    for max in [0usize, 1, 5, 40] {
                        let (mut all, mut at) = (Vec::new(), 0);
                        while at < len {
                            let mut part = Vec::new();
                            let taken =
                                ascii_line_spans(&buf[at..], &mut part, max).expect("ASCII");
                            assert!(taken > 0 && at + taken <= len, "len {len} max {max}");
                            if at + taken < len {
                                assert!(part.len() > max && part.len() <= max + 64);
                                assert!(matches!(buf[at + taken - 1], b'\n' | b'\r'));
                            }
                            all.extend(part.iter().map(|s| LineSpan {
                                start: s.start + at as u32,
                                ..*s
                            }));
                            at += taken;
                        }
                        assert_eq!(all, want, "len {len} max {max}");
                    }
                }
            }
        }
    }
}
