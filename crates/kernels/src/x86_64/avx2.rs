//! Generic kernels compiled for AVX2 (and FMA): the same code, vectorised 32 bytes (four
//! doubles) wide, with `mul_add` as one instruction instead of a library call.

use crate::generic::fold::FoldSums;
use crate::table::{BucketMask, BUCKETS};

/// [`crate::generic::breaks::count_line_breaks`] compiled for AVX2.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn count_line_breaks(buf: &[u8]) -> usize {
    crate::generic::breaks::count_line_breaks(buf)
}

/// [`crate::generic::fold::fold`] compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn fold<const TEND: bool>(
    old: &[f64; BUCKETS],
    next: &mut [f64; BUCKETS],
    mask: &BucketMask,
    dval: &[f64],
    keep: f64,
) -> FoldSums {
    crate::generic::fold::fold::<TEND>(old, next, mask, dval, keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generic;
    use trace_sentinel_testrand::xorshift64;

    #[test]
    fn avx2_kernels_match_the_generic_ones() {
        if !crate::cpu::avx2_fma() {
            return;
        }
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for len in [0usize, 1, 31, 32, 33, 255 * 32 + 1, 20_000] {
            let buf: Vec<u8> = (0..len)
                .map(|_| (xorshift64(&mut x) % 16) as u8 + 5)
                .collect();
            // SAFETY: the features were checked above.
            let n = unsafe { count_line_breaks(&buf) };
            assert_eq!(n, generic::breaks::count_line_breaks(&buf));
        }
        // SAFETY: the features were checked above.
        unsafe { crate::oracle::check_fold_fns(fold::<true>, fold::<false>, 100) };
    }
}
