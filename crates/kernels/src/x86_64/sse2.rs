//! SSE2 kernels (the x86-64 baseline): ASCII word masks, the line-span block masks,
//! trigram classes 16 bytes at a time, and the non-zero bitmap of bucket counts.

use crate::generic::shape::ShapeMasks;
use crate::generic::spans::{line_spans_with, BlockMasks, LineSpan};
use crate::generic::words::is_word_byte;
use crate::table::{class_of_byte, BucketMask, BUCKETS, SPACE_CLASS};
use std::arch::x86_64::*;

/// Lanes of `v` that are ASCII word bytes `[0-9A-Za-z_]` (0xFF) or not (0x00).
#[inline(always)]
fn word_bytes(v: __m128i) -> __m128i {
    // SAFETY (every `unsafe` block of this file): SSE2 is part of the x86-64 baseline;
    // blocks that also load or store say which bytes they touch.
    unsafe {
        let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let alpha_off = _mm_sub_epi8(lower, _mm_set1_epi8(b'a' as i8));
        let alpha = _mm_cmpeq_epi8(_mm_min_epu8(alpha_off, _mm_set1_epi8(25)), alpha_off);
        let digit_off = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        let digit = _mm_cmpeq_epi8(_mm_min_epu8(digit_off, _mm_set1_epi8(9)), digit_off);
        let under = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
        _mm_or_si128(_mm_or_si128(alpha, digit), under)
    }
}

/// The 16 bytes of `block` in a register.
#[inline(always)]
fn load16(block: &[u8; 16]) -> __m128i {
    // SAFETY: the unaligned load reads exactly the 16 bytes of `block`.
    unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
}

/// `\w+` runs in ASCII bytes, 16 bytes at a time (see [`crate::words`]).
#[inline]
pub(crate) fn count_ascii_words(bytes: &[u8]) -> usize {
    let mut count = 0usize;
    let mut carry = 0u32; // 1 when the previous block ended in a word byte
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        let Ok(block) = <&[u8; 16]>::try_from(block) else {
            continue;
        };
        // SAFETY: SSE2 (a register-only operation).
        let m = unsafe { _mm_movemask_epi8(word_bytes(load16(block))) } as u32;
        let starts = m & !((m << 1) | carry);
        count += starts.count_ones() as usize;
        carry = m >> 15;
    }
    let mut prev = carry == 1;
    for &b in blocks.remainder() {
        let w = is_word_byte(b);
        count += usize::from(w & !prev);
        prev = w;
    }
    count
}

/// Word, break and non-ASCII masks of 16 bytes.
#[inline(always)]
fn masks16(p: &[u8; 16]) -> (u32, u32, u32) {
    let v = load16(p);
    // SAFETY: SSE2, register-only operations.
    unsafe {
        let nl = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
        let cr = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8));
        (
            _mm_movemask_epi8(word_bytes(v)) as u32,
            _mm_movemask_epi8(_mm_or_si128(nl, cr)) as u32,
            _mm_movemask_epi8(v) as u32,
        )
    }
}

/// The span kernel's block masks, 16 bytes at a time.
#[inline(always)]
pub(crate) fn block_masks(b: &[u8; 64]) -> BlockMasks {
    let mut m = BlockMasks::default();
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

/// The line-span kernel over [`block_masks`] (see [`crate::spans::ascii_line_spans`]).
#[inline]
pub(crate) fn line_spans(chunk: &[u8], out: &mut Vec<LineSpan>, max_lines: usize) -> Option<usize> {
    line_spans_with(chunk, out, max_lines, block_masks)
}

/// Classes of 16 bytes (see [`crate::trigram::Classes::of_ascii_body`]); returns
/// non-zero when one of them has no class.
#[inline(always)]
fn classes16(s: &[u8; 16], d: &mut [u8; 16]) -> u8 {
    let v = load16(s);
    // SAFETY: SSE2; the unaligned store writes exactly the 16 bytes of `d`.
    unsafe {
        let splat = |x: u8| _mm_set1_epi8(x as i8);
        // Unsigned `a <= b` as `min(a, b) == a`.
        let le = |a: __m128i, b: __m128i| _mm_cmpeq_epi8(_mm_min_epu8(a, b), a);
        let off = _mm_sub_epi8(v, splat(b'A'));
        let upper = le(off, splat(25));
        let l = _mm_or_si128(v, _mm_and_si128(upper, splat(0x20)));
        // l > 'Z'  ⇔  !(l <= 'Z')
        let above_z = _mm_andnot_si128(le(l, splat(b'Z')), splat(26));
        let c = _mm_sub_epi8(_mm_sub_epi8(l, splat(0x20)), above_z);
        // Printable means 0x20 <= v <= 0x7e; anything else (controls, DEL, bytes >= 0x80)
        // has no class.
        let printable = _mm_and_si128(le(splat(0x20), v), le(v, splat(0x7e)));
        let invalid = _mm_andnot_si128(printable, _mm_set1_epi8(-1));
        _mm_storeu_si128(d.as_mut_ptr().cast(), _mm_or_si128(c, invalid));
        u8::from(_mm_movemask_epi8(invalid) != 0)
    }
}

/// Classes of `" " + lower(body) + " "`, 16 bytes at a time; returns whether every byte
/// has one.
#[inline]
pub(crate) fn ascii_classes(body: &[u8], cls: &mut Vec<u8>) -> bool {
    cls.clear();
    cls.resize(body.len() + 2, SPACE_CLASS);
    let Some(dst) = cls.get_mut(1..body.len() + 1) else {
        return true;
    };
    let mut bad = 0u8;
    let mut src = body.chunks_exact(16);
    let mut out = dst.chunks_exact_mut(16);
    for (s, d) in (&mut src).zip(&mut out) {
        let (Ok(s), Ok(d)) = (<&[u8; 16]>::try_from(s), <&mut [u8; 16]>::try_from(d)) else {
            continue;
        };
        bad |= classes16(s, d);
    }
    if !src.remainder().is_empty() && body.len() >= 16 {
        // The tail as one more block ending at the last byte, overlapping the previous
        // one (classes are per byte, so the overlap is written twice with equal values).
        let at = body.len() - 16;
        if let (Ok(s), Ok(d)) = (
            <&[u8; 16]>::try_from(&body[at..]),
            <&mut [u8; 16]>::try_from(&mut dst[at..]),
        ) {
            bad |= classes16(s, d);
        }
        return bad == 0;
    }
    for (d, &b) in out.into_remainder().iter_mut().zip(src.remainder()) {
        let (c, invalid) = class_of_byte(b);
        bad |= invalid;
        *d = c;
    }
    bad == 0
}

/// Bit `b` of the result is set when `counts[b] != 0`.
#[inline]
fn nonzero_bitmap(counts: &[i16; BUCKETS]) -> [u64; BUCKETS / 64] {
    let mut out = [0u64; BUCKETS / 64];
    for (w, word) in out.iter_mut().enumerate() {
        let mut m = 0u64;
        for k in 0..4 {
            let at = w * 64 + k * 16;
            let (Ok(lo), Ok(hi)) = (
                <&[i16; 8]>::try_from(&counts[at..at + 8]),
                <&[i16; 8]>::try_from(&counts[at + 8..at + 16]),
            ) else {
                continue;
            };
            // SAFETY: SSE2; each unaligned load reads exactly the 8 × 2 bytes of its array.
            let bits = unsafe {
                let zero = _mm_setzero_si128();
                let a = _mm_cmpeq_epi16(_mm_loadu_si128(lo.as_ptr().cast()), zero);
                let b = _mm_cmpeq_epi16(_mm_loadu_si128(hi.as_ptr().cast()), zero);
                !(_mm_movemask_epi8(_mm_packs_epi16(a, b)) as u32) & 0xffff
            };
            m |= u64::from(bits) << (k * 16);
        }
        *word = m;
    }
    out
}

/// [`crate::generic::counts::compress_counts`] with the non-zero bitmap in SSE2.
#[inline]
pub(crate) fn compress_counts(
    counts: &mut [[i16; BUCKETS]; 2],
    idx: Option<&mut Vec<u8>>,
    cnt: &mut Vec<i16>,
) -> (BucketMask, f64) {
    crate::generic::counts::compress_counts_with(counts, idx, cnt, nonzero_bitmap)
}

/// The whitespace, digit and `\w` masks of up to 64 bytes, 16 at a time (see
/// [`crate::generic::shape::shape_masks`]).
#[inline]
pub(crate) fn shape_masks(bytes: &[u8]) -> ShapeMasks {
    let mut padded = [b' '; 64];
    let block: &[u8; 64] = match <&[u8; 64]>::try_from(bytes) {
        Ok(full) => full,
        Err(_) => {
            let n = bytes.len().min(64);
            padded[..n].copy_from_slice(&bytes[..n]);
            &padded
        }
    };
    let mut m = ShapeMasks::default();
    for (q, piece) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86-64 baseline; the load reads the 16 bytes of
        // `piece`.
        let (sp, dg, wd) = unsafe {
            let v = _mm_loadu_si128(piece.as_ptr().cast());
            let in_range = |lo: u8, span: u8, x: __m128i| {
                let off = _mm_sub_epi8(x, _mm_set1_epi8(lo as i8));
                _mm_cmpeq_epi8(_mm_min_epu8(off, _mm_set1_epi8(span as i8)), off)
            };
            let space = _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
                in_range(9, 4, v),
            );
            let digit = in_range(b'0', 9, v);
            let alpha = in_range(b'a', 25, _mm_or_si128(v, _mm_set1_epi8(0x20)));
            let under = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
            let word = _mm_or_si128(_mm_or_si128(digit, alpha), under);
            (
                _mm_movemask_epi8(space) as u16,
                _mm_movemask_epi8(digit) as u16,
                _mm_movemask_epi8(word) as u16,
            )
        };
        m.space |= u64::from(sp) << (q * 16);
        m.digit |= u64::from(dg) << (q * 16);
        m.word |= u64::from(wd) << (q * 16);
    }
    if bytes.len() < 64 {
        m.space |= !0u64 << bytes.len();
        m.digit &= (1u64 << bytes.len()) - 1;
        m.word &= (1u64 << bytes.len()) - 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generic;
    use crate::oracle::bytes;

    #[test]
    fn words_and_block_masks_match_the_generic_kernels() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let all: Vec<u8> = (0..=255u8).collect();
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 64, 100, 1000] {
            for alphabet in [&b"aZ_9 .-\n\r"[..], &all[..]] {
                let b = bytes(&mut x, len, alphabet);
                assert_eq!(
                    count_ascii_words(&b),
                    generic::words::count_ascii_words(&b),
                    "{b:?}"
                );
                let mut block = [0u8; 64];
                for (d, s) in block.iter_mut().zip(b.iter().cycle()) {
                    *d = *s;
                }
                assert_eq!(block_masks(&block), generic::spans::block_masks(&block));
                let (mut got, mut want) = (Vec::new(), Vec::new());
                let ok = line_spans(&b, &mut got, usize::MAX);
                let want_ok =
                    line_spans_with(&b, &mut want, usize::MAX, generic::spans::block_masks);
                assert_eq!(ok, want_ok);
                if ok.is_some() {
                    assert_eq!(got, want);
                }
            }
        }
    }

    #[test]
    fn classes_and_compaction_match_the_generic_kernels() {
        let mut x = 0x6a09_e667_f3bc_c908_u64;
        let all: Vec<u8> = (0..=255u8).collect();
        let printable: Vec<u8> = (0x20..0x7f).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for len in 0..70usize {
            for alphabet in [&printable[..], &all[..]] {
                let body = bytes(&mut x, len, alphabet);
                assert_eq!(
                    ascii_classes(&body, &mut a),
                    generic::classes::ascii_classes(&body, &mut b)
                );
                assert_eq!(a, b, "{body:?}");
            }
        }
        crate::oracle::check_compress(&compress_counts);
    }
    #[test]
    fn shape_masks_equal_the_generic_kernel() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..=64usize {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        (seed >> 24) as u8
                    })
                    .collect();
                assert_eq!(
                    super::shape_masks(&bytes),
                    crate::generic::shape::shape_masks(&bytes),
                    "{bytes:?}"
                );
            }
        }
        let all: Vec<u8> = (0..=255u8).collect();
        for c in all.chunks(64) {
            assert_eq!(super::shape_masks(c), crate::generic::shape::shape_masks(c));
        }
    }
}
