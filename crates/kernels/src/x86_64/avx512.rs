//! AVX-512 kernels: compares into mask registers, masked loads and stores for the
//! tails, gathers from the trigram table, 16-bit compression (VBMI2) and expanding
//! loads. Every function needs at least AVX-512 F, BW and VL with POPCNT and BMI1 (what
//! [`crate::cpu::avx512`] checks); the compaction and value kernels also need VBMI2
//! ([`crate::cpu::avx512_vbmi2`]).

use crate::generic::fold::{reduce_partials, FoldSums, KEEP_AT_LEAST};
use crate::generic::spans::{line_spans_with, BlockMasks, LineSpan};
use crate::table::{bump, trigram_codes, BucketMask, BUCKETS, CLASSES, SPACE_CLASS};
use std::arch::x86_64::*;

/// The span kernel's block masks with AVX-512 BW: one 64-byte load, each class of byte
/// a compare into a mask register.
///
/// # Safety
/// The CPU must have AVX-512 F and BW.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn block_masks(b: &[u8; 64]) -> BlockMasks {
    let splat = |x: u8| _mm512_set1_epi8(x as i8);
    // SAFETY: the unaligned load reads exactly the 64 bytes of `b`.
    let v = unsafe { _mm512_loadu_si512(b.as_ptr().cast()) };
    // `\w` in ASCII: a letter either case, a digit, `_`.
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

/// The line-span kernel over [`block_masks`] with hardware bit counts.
///
/// # Safety
/// The CPU must have AVX-512 F and BW, POPCNT and BMI1.
#[target_feature(enable = "avx512f,avx512bw,popcnt,bmi1")]
pub(crate) unsafe fn line_spans(
    chunk: &[u8],
    out: &mut Vec<LineSpan>,
    max_lines: usize,
) -> Option<usize> {
    // SAFETY: this function's features are the block kernel's.
    line_spans_with(chunk, out, max_lines, |b| unsafe { block_masks(b) })
}

/// Line breaks in `buf`: per 64 bytes, two compares into one mask and its popcount (the
/// tail is a masked load, whose zeroed lanes are not breaks).
///
/// # Safety
/// The CPU must have AVX-512 F and BW, and POPCNT.
#[target_feature(enable = "avx512f,avx512bw,popcnt")]
pub(crate) unsafe fn count_line_breaks(buf: &[u8]) -> usize {
    let (lf, cr) = (_mm512_set1_epi8(b'\n' as i8), _mm512_set1_epi8(b'\r' as i8));
    let breaks = |v: __m512i| {
        (_mm512_cmpeq_epi8_mask(v, lf) | _mm512_cmpeq_epi8_mask(v, cr)).count_ones() as usize
    };
    let mut blocks = buf.chunks_exact(64);
    let mut total = 0usize;
    for block in &mut blocks {
        // SAFETY: `block` holds exactly 64 bytes.
        total += breaks(unsafe { _mm512_loadu_si512(block.as_ptr().cast()) });
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        let live: __mmask64 = (1u64 << rest.len()) - 1;
        // SAFETY: the mask selects the `rest.len() < 64` bytes of `rest` only.
        total += breaks(unsafe { _mm512_maskz_loadu_epi8(live, rest.as_ptr().cast()) });
    }
    total
}

/// Classes of `" " + lower(body) + " "`, 64 bytes per step, the last step a masked load
/// and store; the byte rule of the SSE2 kernel with compares into mask registers.
/// Returns whether every byte has a class.
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VL.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) unsafe fn ascii_classes(body: &[u8], cls: &mut Vec<u8>) -> bool {
    // Written in place, then exposed: filling the vector first (`resize`) would be a
    // `memset` call per message for bytes the loop overwrites anyway.
    cls.clear();
    cls.reserve(body.len() + 2);
    let splat = |x: u8| _mm512_set1_epi8(x as i8);
    let mut invalid_any: __mmask64 = 0;
    let base = cls.as_mut_ptr();
    // SAFETY: `body.len() + 2` bytes are reserved: the padding at 0 and `body.len() + 1`,
    // the classes in between.
    unsafe {
        base.write(SPACE_CLASS);
        base.add(body.len() + 1).write(SPACE_CLASS);
    }
    let mut at = 0;
    while at < body.len() {
        let live = body.len() - at;
        let m: __mmask64 = if live >= 64 { !0 } else { (1u64 << live) - 1 };
        // SAFETY: the masked load reads bytes `at .. at + min(live, 64)` of `body`.
        let v = unsafe { _mm512_maskz_loadu_epi8(m, body.as_ptr().add(at).cast()) };
        let upper = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, splat(b'A')), splat(25));
        let l = _mm512_mask_add_epi8(v, upper, v, splat(0x20));
        let above_z = _mm512_cmpgt_epu8_mask(l, splat(b'Z'));
        let c = _mm512_sub_epi8(l, splat(0x20));
        let c = _mm512_mask_sub_epi8(c, above_z, c, splat(26));
        // Printable means 0x20 <= v <= 0x7e; anything else has no class.
        let printable =
            _mm512_cmpge_epu8_mask(v, splat(0x20)) & _mm512_cmple_epu8_mask(v, splat(0x7e));
        let invalid = !printable & m;
        invalid_any |= invalid;
        let out = _mm512_mask_mov_epi8(c, invalid, splat(0xFF));
        // SAFETY: the masked store writes the same range, shifted by the leading pad,
        // inside the `body.len() + 2` reserved bytes.
        unsafe { _mm512_mask_storeu_epi8(base.add(1 + at).cast(), m, out) };
        at += 64;
    }
    // SAFETY: every byte up to `body.len() + 2` was written above.
    unsafe { cls.set_len(body.len() + 2) };
    invalid_any == 0
}

/// The classed counting loop: sixteen keys at a time from three shifted loads of the
/// classes, their codes gathered from the table, then counted alternately into the two
/// histograms of `counts`.
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VL, and every class in `cls` must be below
/// [`CLASSES`] (the gathers read the table at each key).
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) unsafe fn count_classed(cls: &[u8], counts: &mut [[i16; BUCKETS]; 2]) {
    let table = trigram_codes();
    let grams = cls.len().saturating_sub(2);
    // Lane: c0 in the low half, c1 in the high half; one multiply-add of the halves
    // gives c0 · CLASSES² + c1 · CLASSES.
    let weights = _mm512_set1_epi32(((CLASSES as i32) << 16) | (CLASSES * CLASSES) as i32);
    // Gather a window of codes first, then count them: counting right behind each
    // gather would wait for it (and for the store of its codes) sixteen grams at a time.
    const WINDOW: usize = 512;
    // Left uninitialised: only written codes are read.
    let mut codes = [std::mem::MaybeUninit::<u16>::uninit(); WINDOW];
    let mut start = 0;
    while start < grams {
        let end = (start + WINDOW).min(grams);
        let mut j = start;
        while j < end {
            let live = (end - j).min(16);
            let m: __mmask16 = if live == 16 { 0xffff } else { (1 << live) - 1 };
            let at = cls.as_ptr().wrapping_add(j).cast::<i8>();
            // SAFETY: the masked loads read bytes `j .. j + live + 2 <= cls.len()` only.
            let (c0, c1, c2) = unsafe {
                (
                    _mm_maskz_loadu_epi8(m, at),
                    _mm_maskz_loadu_epi8(m, at.add(1)),
                    _mm_maskz_loadu_epi8(m, at.add(2)),
                )
            };
            let (c0, c1, c2) = (
                _mm512_cvtepu8_epi32(c0),
                _mm512_cvtepu8_epi32(c1),
                _mm512_cvtepu8_epi32(c2),
            );
            let pair = _mm512_madd_epi16(_mm512_or_si512(c0, _mm512_slli_epi32::<16>(c1)), weights);
            let key = _mm512_add_epi32(pair, c2);
            // SAFETY: each live lane reads 4 bytes at `2 · key` with `key < CLASSES³` (every
            // class is below CLASSES, the caller's promise), inside the table's
            // `2 · CLASSES³ + 2` bytes; masked-off lanes read nothing.
            let got = unsafe {
                _mm512_mask_i32gather_epi32::<2>(
                    _mm512_setzero_si512(),
                    m,
                    key,
                    table.as_ptr().cast(),
                )
            };
            // SAFETY: `j - start + 16 <= WINDOW` since `j < end <= start + WINDOW` and
            // WINDOW is a multiple of 16.
            unsafe {
                _mm256_storeu_si256(
                    codes.as_mut_ptr().add(j - start).cast(),
                    _mm512_cvtepi32_epi16(got),
                )
            };
            j += 16;
        }
        let [even, odd] = &mut *counts;
        let mut pairs = codes[..end - start].chunks_exact(2);
        // SAFETY (`assume_init`): the stores above wrote entries `0 .. end - start`
        // (rounded up to 16).
        unsafe {
            for pair in &mut pairs {
                bump(even, pair[0].assume_init());
                bump(odd, pair[1].assume_init());
            }
            if let [last] = pairs.remainder() {
                bump(even, last.assume_init());
            }
        }
        start = end;
    }
}

/// Compaction of both histograms of `counts` (added as they are loaded, and zeroed
/// behind): each 32-count block is tested for non-zero lanes, and the non-zero counts
/// and their bucket numbers are compressed to the front of a register, in ascending
/// bucket order; the squares are summed exactly in 32-bit lanes.
///
/// # Safety
/// The CPU must have AVX-512 F, BW, VL and VBMI2, and POPCNT.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt")]
pub(crate) unsafe fn compress_counts(
    counts: &mut [[i16; BUCKETS]; 2],
    mut idx: Option<&mut Vec<u8>>,
    cnt: &mut Vec<i16>,
) -> (BucketMask, f64) {
    let idx_base = idx.as_deref().map_or(0, Vec::len);
    let cnt_base = cnt.len();
    // Room for every entry plus one block of slack for the full-width stores.
    if let Some(idx) = idx.as_deref_mut() {
        idx.reserve(BUCKETS + 32);
    }
    cnt.reserve(BUCKETS + 32);
    let mut n = 0usize;
    // The mask words are gathered in one register and stored at once: written word by
    // word, the caller's first (wider) read of the returned mask could not be forwarded
    // from the narrower stores.
    let mut words = _mm256_setzero_si256();
    let mut acc = _mm512_setzero_si512();
    let lane_no = _mm512_set_epi16(
        31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
        8, 7, 6, 5, 4, 3, 2, 1, 0,
    );
    let [even, odd] = counts;
    let blocks = even.chunks_exact_mut(32).zip(odd.chunks_exact_mut(32));
    for (k, (block, odd_block)) in blocks.enumerate() {
        // SAFETY: both blocks hold 32 × 2 bytes. The sum cannot overflow: a message has
        // at most a few thousand grams.
        let v = unsafe {
            _mm512_add_epi16(
                _mm512_loadu_si512(block.as_ptr().cast()),
                _mm512_loadu_si512(odd_block.as_ptr().cast()),
            )
        };
        // Both histograms are left zeroed for the next message (cheaper here, as they
        // are read, than as a separate pass).
        // SAFETY: both stores write the 32 × 2 bytes just loaded.
        unsafe {
            _mm512_storeu_si512(block.as_mut_ptr().cast(), _mm512_setzero_si512());
            _mm512_storeu_si512(odd_block.as_mut_ptr().cast(), _mm512_setzero_si512());
        }
        let m = _mm512_test_epi16_mask(v, v);
        words = _mm256_mask_set1_epi32(words, 1 << k, m as i32);
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, v));
        let packed = _mm512_maskz_compress_epi16(m, v);
        // SAFETY: `n <= 32 * k`, so a store of 32 entries at `base + n` stays within the
        // BUCKETS + 32 entries reserved past the base, in the vector's spare capacity
        // (written before `set_len` exposes it).
        unsafe { _mm512_storeu_si512(cnt.as_mut_ptr().add(cnt_base + n).cast(), packed) };
        if let Some(idx) = idx.as_deref_mut() {
            let buckets = _mm512_add_epi16(lane_no, _mm512_set1_epi16((32 * k) as i16));
            let packed_idx = _mm512_cvtepi16_epi8(_mm512_maskz_compress_epi16(m, buckets));
            // SAFETY: as for the counts, 32 bytes within the reserved spare capacity.
            unsafe { _mm256_storeu_si256(idx.as_mut_ptr().add(idx_base + n).cast(), packed_idx) };
        }
        n += m.count_ones() as usize;
    }
    // SAFETY: the first `n` entries past each base were written above.
    unsafe {
        if let Some(idx) = idx {
            idx.set_len(idx_base + n);
        }
        cnt.set_len(cnt_base + n);
    }
    let mut mask: BucketMask = [0; BUCKETS / 32];
    // SAFETY: the store writes the 8 × 4 bytes of `mask`.
    unsafe { _mm256_storeu_si256(mask.as_mut_ptr().cast(), words) };
    (mask, f64::from(_mm512_reduce_add_epi32(acc)).sqrt())
}

/// The values `c / norm` (times `scale` when given) for a non-zero norm. Counts are
/// small integers: divide 0..=7 by the norm once (one vector division) and look the
/// quotients up; (-k)/norm is -(k/norm) exactly, IEEE rounding being symmetric (and so
/// is the product with `scale`). A group of eight holding a count beyond ±7 divides
/// directly.
///
/// # Safety
/// The CPU must have AVX-512 F, BW, VL and VBMI2.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2")]
pub(crate) unsafe fn values(cnt: &[i16], norm: f64, scale: Option<f64>, out: &mut Vec<f64>) {
    let norm_v = _mm512_set1_pd(norm);
    let scaled = |v: __m512d| match scale {
        Some(k) => _mm512_mul_pd(_mm512_set1_pd(k), v),
        None => v,
    };
    let table = scaled(_mm512_div_pd(
        _mm512_set_pd(7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0),
        norm_v,
    ));
    let sign_bit = _mm512_set1_epi64(i64::MIN);
    let base = out.len();
    out.reserve(cnt.len() + 8);
    let mut groups = cnt.chunks_exact(8);
    let mut k = 0usize;
    let mut one = |c16: __m128i, k: usize| {
        let c64 = _mm512_cvtepi16_epi64(c16);
        let mag = _mm512_abs_epi64(c64);
        let big = _mm512_cmpgt_epi64_mask(mag, _mm512_set1_epi64(7));
        let v = if big == 0 {
            let q = _mm512_permutexvar_pd(mag, table);
            let neg = _mm512_and_si512(c64, sign_bit);
            _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(q), neg))
        } else {
            scaled(_mm512_div_pd(
                _mm512_cvtepi32_pd(_mm256_cvtepi16_epi32(c16)),
                norm_v,
            ))
        };
        // SAFETY: `k + 8 <= cnt.len() + 8` entries past `base` were reserved above.
        unsafe { _mm512_storeu_pd(out.as_mut_ptr().add(base + k), v) };
    };
    for g in &mut groups {
        // SAFETY: `g` holds exactly 8 × 2 bytes.
        one(unsafe { _mm_loadu_si128(g.as_ptr().cast()) }, k);
        k += 8;
    }
    let rest = groups.remainder();
    if !rest.is_empty() {
        // A masked load of the last counts (copying them into a zeroed buffer instead
        // would make the 16-byte load wait for a failed store forwarding).
        let live: __mmask8 = (1 << rest.len()) - 1;
        // SAFETY: the mask selects the `rest.len() < 8` counts of `rest` only.
        one(
            unsafe { _mm_maskz_loadu_epi16(live, rest.as_ptr().cast()) },
            k,
        );
    }
    // SAFETY: the first `cnt.len()` entries past `base` were written above.
    unsafe { out.set_len(base + cnt.len()) };
}

/// The fused centroid pass: per block of eight entries, the message's decayed values
/// are expanded from `dval` into the lanes the mask byte selects (no gathers, no
/// scatters). A plain pass is then a multiply, an add and two fused multiply-adds per
/// block; a tending pass adds the flush (a compare feeding a masked add). The expanding
/// loads read one value per set bit of `mask`: with fewer values in `dval`, the generic
/// fold runs instead.
///
/// # Safety
/// The CPU must have AVX-512 F and POPCNT.
#[target_feature(enable = "avx512f,popcnt")]
pub(crate) unsafe fn fold<const TEND: bool>(
    old: &[f64; BUCKETS],
    next: &mut [f64; BUCKETS],
    mask: &BucketMask,
    dval: &[f64],
    keep: f64,
) -> FoldSums {
    let values: u32 = mask.iter().map(|w| w.count_ones()).sum();
    if dval.len() < values as usize {
        return crate::generic::fold::fold::<TEND>(old, next, mask, dval, keep);
    }
    let keep = _mm512_set1_pd(keep);
    let keep_at_least = _mm512_set1_pd(KEEP_AT_LEAST);
    let zero = _mm512_setzero_pd();
    let (mut dot0, mut dot1, mut dot2, mut dot3) = (zero, zero, zero, zero);
    let (mut sq0, mut sq1, mut sq2, mut sq3) = (zero, zero, zero, zero);
    let mut p = 0usize;
    for (w, &word) in mask.iter().enumerate() {
        // One block of eight entries: accumulator pair `r` of the four. A tending pass
        // sums the new entries' squares, a plain one the decayed values'.
        macro_rules! block {
            ($r:expr, $dot:ident, $sq:ident) => {
                let m8 = (word >> (8 * $r)) as u8;
                let at = 8 * (4 * w + $r);
                // SAFETY: the expanding load reads only the `m8.count_ones()` values from
                // `p` on, and `dval` holds one per set bit of the mask (checked above);
                // `at + 8 <= BUCKETS` for both centroid buffers.
                let (dx, c) = unsafe {
                    (
                        _mm512_maskz_expandloadu_pd(m8, dval.as_ptr().add(p)),
                        _mm512_loadu_pd(old.as_ptr().add(at)),
                    )
                };
                p += m8.count_ones() as usize;
                $dot = _mm512_fmadd_pd(dx, c, $dot);
                let s = _mm512_mul_pd(keep, c);
                let n = if TEND {
                    let kept = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(_mm512_abs_pd(s), keep_at_least);
                    let n = _mm512_mask_add_pd(dx, kept, s, dx);
                    $sq = _mm512_fmadd_pd(n, n, $sq);
                    n
                } else {
                    $sq = _mm512_fmadd_pd(dx, dx, $sq);
                    _mm512_add_pd(s, dx)
                };
                // SAFETY: `at + 8 <= BUCKETS`.
                unsafe { _mm512_storeu_pd(next.as_mut_ptr().add(at), n) };
            };
        }
        block!(0, dot0, sq0);
        block!(1, dot1, sq1);
        block!(2, dot2, sq2);
        block!(3, dot3, sq3);
    }
    let partials = |acc: [__m512d; 4]| {
        let mut p = [0.0f64; 32];
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: each store writes 8 lanes into `p[8r..8r + 8]`.
            unsafe { _mm512_storeu_pd(p.as_mut_ptr().add(8 * r), *a) };
        }
        p
    };
    let dot = reduce_partials(&partials([dot0, dot1, dot2, dot3]));
    let squares = reduce_partials(&partials([sq0, sq1, sq2, sq3]));
    FoldSums {
        dot,
        sumsq: if TEND { squares } else { 0.0 },
        dx_sumsq: if TEND { 0.0 } else { squares },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generic;
    use crate::oracle::bytes;
    use trace_sentinel_testrand::xorshift64;

    #[test]
    fn byte_kernels_match_the_generic_ones() {
        if !crate::cpu::avx512() {
            return;
        }
        let mut x = 0x9e37_79b9_u64;
        let all: Vec<u8> = (0..=255u8).collect();
        let printable: Vec<u8> = (0x20..0x7f).collect();
        for len in [0usize, 1, 2, 15, 63, 64, 65, 127, 128, 129, 1000, 4099] {
            for alphabet in [&b"aZ_9 .-=\t\r\n\r\nxy"[..], &printable[..], &all[..]] {
                let b = bytes(&mut x, len, alphabet);
                for max in [0usize, 5, usize::MAX] {
                    let (mut got, mut want) = (Vec::new(), Vec::new());
                    // SAFETY: the features were checked above.
                    let ok = unsafe { line_spans(&b, &mut got, max) };
                    let want_ok = line_spans_with(&b, &mut want, max, generic::spans::block_masks);
                    assert_eq!(ok, want_ok, "len {len} max {max}");
                    if ok.is_some() {
                        assert_eq!(got, want);
                    }
                }
                // SAFETY: the features were checked above.
                let n = unsafe { count_line_breaks(&b) };
                assert_eq!(n, generic::breaks::count_line_breaks(&b));
                let (mut a, mut g) = (Vec::new(), Vec::new());
                // SAFETY: the features were checked above.
                let all_a = unsafe { ascii_classes(&b, &mut a) };
                let all_g = generic::classes::ascii_classes(&b, &mut g);
                assert_eq!((all_a, a), (all_g, g), "{b:?}");
            }
        }
    }

    #[test]
    fn trigram_kernels_match_the_generic_ones() {
        if !crate::cpu::avx512_vbmi2() {
            return;
        }
        let mut x = 0x1d8e_4e27_c47d_124f_u64;
        for len in [0usize, 2, 3, 4, 17, 18, 19, 100, 513, 514, 515, 1030, 4098] {
            for _ in 0..10 {
                let cls: Vec<u8> = (0..len)
                    .map(|_| (xorshift64(&mut x) % CLASSES as u64) as u8)
                    .collect();
                let mut want = [0i16; BUCKETS];
                generic::counts::count_classed(&cls, &mut want);
                let mut wide = [[0i16; BUCKETS]; 2];
                // SAFETY: features checked; every class is below CLASSES.
                unsafe { count_classed(&cls, &mut wide) };
                let [even, odd] = wide;
                let sum: [i16; BUCKETS] = std::array::from_fn(|b| even[b] + odd[b]);
                assert_eq!(sum, want, "len {len}");
                let odd_grams: i32 = odd.iter().map(|&c| i32::from(c).abs()).sum();
                assert!(len < 5 || odd_grams > 0, "grams alternate, len {len}");
                let mut g = wide;
                let (mut i1, mut c1, mut i2, mut c2) = (vec![7], vec![1], vec![7], vec![1]);
                // SAFETY: features checked.
                let (m1, n1) = unsafe { compress_counts(&mut wide, Some(&mut i1), &mut c1) };
                let (m2, n2) = generic::counts::compress_counts(&mut g, Some(&mut i2), &mut c2);
                assert_eq!((m1, n1.to_bits(), &i1, &c1), (m2, n2.to_bits(), &i2, &c2));
                assert_eq!(wide, g);
                for scale in [None, Some(0.01)] {
                    if n1 == 0.0 {
                        continue;
                    }
                    let (mut v1, mut v2) = (vec![0.5], vec![0.5]);
                    // SAFETY: features checked.
                    unsafe { values(&c1[1..], n1, scale, &mut v1) };
                    generic::counts::values(&c2[1..], n2, scale, &mut v2);
                    assert_eq!(
                        v1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        v2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                    );
                }
            }
        }
        // SAFETY: features checked.
        crate::oracle::check_compress(&|h, idx, cnt| unsafe { compress_counts(h, idx, cnt) });
        // Counts beyond the quotient table divide directly.
        let cnt: Vec<i16> = (-20..=20).collect();
        let (mut v1, mut v2) = (Vec::new(), Vec::new());
        // SAFETY: features checked.
        unsafe { values(&cnt, 3.5, Some(0.01), &mut v1) };
        generic::counts::values(&cnt, 3.5, Some(0.01), &mut v2);
        assert_eq!(v1, v2);
    }

    #[test]
    fn fold_matches_the_generic_one() {
        if !crate::cpu::avx512() {
            return;
        }
        // SAFETY: the features were checked above.
        unsafe { crate::oracle::check_fold_fns(fold::<true>, fold::<false>, 200) };
    }
}
