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
    use crate::table::bucket_mask;
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
        for round in 0..100 {
            let old: [f64; BUCKETS] =
                std::array::from_fn(|_| (xorshift64(&mut x) % 2001) as f64 / 1e4 - 0.1);
            let idx: Vec<u8> = (0..=255u8)
                .filter(|_| xorshift64(&mut x).is_multiple_of(4))
                .collect();
            let val: Vec<f64> = idx
                .iter()
                .map(|_| (xorshift64(&mut x) % 999) as f64 / 3e3)
                .collect();
            let mask = bucket_mask(&idx).unwrap();
            let (mut a, mut b) = ([0.0; BUCKETS], [0.0; BUCKETS]);
            // SAFETY: the features were checked above.
            let sa = unsafe { fold::<true>(&old, &mut a, &mask, &val, 0.99) };
            let sb = generic::fold::fold::<true>(&old, &mut b, &mask, &val, 0.99);
            assert_eq!(
                (a.map(f64::to_bits), sa),
                (b.map(f64::to_bits), sb),
                "round {round}"
            );
            // SAFETY: as above.
            let sa = unsafe { fold::<false>(&old, &mut a, &mask, &val, 0.99) };
            let sb = generic::fold::fold::<false>(&old, &mut b, &mask, &val, 0.99);
            assert_eq!(
                (a.map(f64::to_bits), sa),
                (b.map(f64::to_bits), sb),
                "round {round}"
            );
        }
    }
}
