//! The one place that picks a kernel: each function checks what the CPU has
//! ([`crate::cpu`]) and calls the widest kernel of `x86_64/` it may, or the generic one.
//! Only here are the architecture-specific kernels called, and every `unsafe` call
//! below is covered by the check in front of it. The choice is made per call, outside
//! the kernels' loops.

use crate::generic;
use crate::generic::fold::FoldSums;
use crate::generic::shape::ShapeMasks;
use crate::generic::spans::LineSpan;
use crate::table::{BucketMask, BUCKETS};

#[cfg(target_arch = "x86_64")]
use crate::{cpu, x86_64};

/// See [`crate::split::count_line_breaks`].
#[inline]
pub(crate) fn count_line_breaks(buf: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if cpu::avx512() {
            // SAFETY: AVX-512 F/BW and POPCNT were checked.
            return unsafe { x86_64::avx512::count_line_breaks(buf) };
        }
        if cpu::avx2() {
            // SAFETY: AVX2 was checked.
            return unsafe { x86_64::avx2::count_line_breaks(buf) };
        }
    }
    generic::breaks::count_line_breaks(buf)
}

/// See [`crate::spans::ascii_line_spans`].
#[inline]
pub(crate) fn ascii_line_spans(
    chunk: &[u8],
    out: &mut Vec<LineSpan>,
    max_lines: usize,
) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        if cpu::avx512() {
            // SAFETY: AVX-512 F/BW, POPCNT and BMI1 were checked.
            return unsafe { x86_64::avx512::line_spans(chunk, out, max_lines) };
        }
        if cpu::popcnt_bmi1() {
            // SAFETY: POPCNT and BMI1 were checked.
            return unsafe { x86_64::popcnt::line_spans(chunk, out, max_lines) };
        }
        if cpu::sse2() {
            return x86_64::sse2::line_spans(chunk, out, max_lines);
        }
    }
    generic::spans::line_spans(chunk, out, max_lines)
}

/// See [`crate::words::count_ascii_words`].
#[inline]
pub(crate) fn count_ascii_words(bytes: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if cpu::sse2() {
        return x86_64::sse2::count_ascii_words(bytes);
    }
    generic::words::count_ascii_words(bytes)
}

/// See [`crate::trigram::Classes::of_ascii_body`].
#[inline]
pub(crate) fn ascii_classes(body: &[u8], cls: &mut Vec<u8>) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if cpu::avx512() {
            // SAFETY: AVX-512 F/BW/VL were checked.
            return unsafe { x86_64::avx512::ascii_classes(body, cls) };
        }
        if cpu::sse2() {
            return x86_64::sse2::ascii_classes(body, cls);
        }
    }
    generic::classes::ascii_classes(body, cls)
}

/// Count the trigrams of `cls` into `counts`; the caller guarantees that every class is
/// below [`crate::trigram::CLASSES`] (a [`crate::trigram::Classes`] whose flag says so).
#[inline]
pub(crate) fn count_classed(cls: &[u8], counts: &mut [[i16; BUCKETS]; 2]) {
    #[cfg(target_arch = "x86_64")]
    if cpu::avx512() {
        // SAFETY: AVX-512 F/BW/VL were checked; every class is below CLASSES (the
        // caller's promise, which `Classes` keeps).
        unsafe { x86_64::avx512::count_classed(cls, counts) };
        return;
    }
    generic::counts::count_classed(cls, &mut counts[0]);
}

/// See [`crate::trigram::Histograms::take`].
#[inline]
pub(crate) fn compress_counts(
    counts: &mut [[i16; BUCKETS]; 2],
    idx: Option<&mut Vec<u8>>,
    cnt: &mut Vec<i16>,
) -> (BucketMask, f64) {
    #[cfg(target_arch = "x86_64")]
    {
        if cpu::avx512_vbmi2() {
            // SAFETY: AVX-512 F/BW/VL/VBMI2 and POPCNT were checked.
            return unsafe { x86_64::avx512::compress_counts(counts, idx, cnt) };
        }
        if cpu::sse2() {
            return x86_64::sse2::compress_counts(counts, idx, cnt);
        }
    }
    generic::counts::compress_counts(counts, idx, cnt)
}

/// See [`crate::trigram::values_from_counts`].
#[inline]
pub(crate) fn values(cnt: &[i16], norm: f64, scale: Option<f64>, out: &mut Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if norm != 0.0 && cpu::avx512_vbmi2() {
        // SAFETY: AVX-512 F/BW/VL/VBMI2 were checked.
        unsafe { x86_64::avx512::values(cnt, norm, scale, out) };
        return;
    }
    generic::counts::values(cnt, norm, scale, out);
}

/// See [`crate::trigram::touched_buckets`].
#[inline]
pub(crate) fn touched_buckets(mask: &BucketMask) -> usize {
    #[cfg(target_arch = "x86_64")]
    if cpu::popcnt_bmi1() {
        // SAFETY: POPCNT was checked.
        return unsafe { x86_64::popcnt::touched_buckets(mask) };
    }
    generic::counts::touched_buckets(mask)
}

/// See [`crate::fold::fold`].
#[inline]
pub(crate) fn fold<const TEND: bool>(
    old: &[f64; BUCKETS],
    next: &mut [f64; BUCKETS],
    mask: &BucketMask,
    dval: &[f64],
    keep: f64,
) -> FoldSums {
    #[cfg(target_arch = "x86_64")]
    {
        if cpu::avx512() {
            // SAFETY: AVX-512 F and POPCNT were checked.
            return unsafe { x86_64::avx512::fold::<TEND>(old, next, mask, dval, keep) };
        }
        if cpu::avx2_fma() {
            // SAFETY: AVX2 and FMA were checked.
            return unsafe { x86_64::avx2::fold::<TEND>(old, next, mask, dval, keep) };
        }
    }
    generic::fold::fold::<TEND>(old, next, mask, dval, keep)
}

/// See [`crate::generic::shape::shape_masks`].
#[inline]
pub(crate) fn shape_masks(bytes: &[u8]) -> ShapeMasks {
    #[cfg(target_arch = "x86_64")]
    if cpu::sse2() {
        return x86_64::sse2::shape_masks(bytes);
    }
    generic::shape::shape_masks(bytes)
}
