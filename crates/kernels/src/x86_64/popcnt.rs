//! Kernels compiled with hardware bit counts (POPCNT, BMI1): the baseline x86-64 build
//! counts bits with shifts and masks, once per line and per block in the span kernel.

use crate::generic::spans::{line_spans_with, LineSpan};
use crate::table::BucketMask;

/// The SSE2 line-span kernel with hardware popcount and trailing-zero count.
///
/// # Safety
/// The CPU must have POPCNT and BMI1.
#[target_feature(enable = "popcnt,bmi1")]
pub(crate) unsafe fn line_spans(
    chunk: &[u8],
    out: &mut Vec<LineSpan>,
    max_lines: usize,
) -> Option<usize> {
    line_spans_with(chunk, out, max_lines, super::sse2::block_masks)
}

/// How many buckets `mask` touches, with POPCNT.
///
/// # Safety
/// The CPU must have POPCNT.
#[target_feature(enable = "popcnt")]
pub(crate) unsafe fn touched_buckets(mask: &BucketMask) -> usize {
    crate::generic::counts::touched_buckets(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generic;
    use trace_sentinel_testrand::xorshift64;

    #[test]
    fn bit_counting_kernels_match_the_generic_ones() {
        if !crate::cpu::popcnt_bmi1() {
            return;
        }
        let mut x = 0x5851_f42d_4c95_7f2d_u64;
        let alphabet = b"aZ_9 .-=\t\r\n\r\nxy";
        for len in [0usize, 1, 63, 64, 65, 129, 1000] {
            let buf: Vec<u8> = (0..len)
                .map(|_| alphabet[(xorshift64(&mut x) % alphabet.len() as u64) as usize])
                .collect();
            for max in [0usize, 3, usize::MAX] {
                let (mut got, mut want) = (Vec::new(), Vec::new());
                // SAFETY: the features were checked above.
                let ok = unsafe { line_spans(&buf, &mut got, max) };
                let want_ok = line_spans_with(&buf, &mut want, max, generic::spans::block_masks);
                assert_eq!((ok, got), (want_ok, want), "len {len} max {max}");
            }
            let mask: BucketMask = std::array::from_fn(|_| xorshift64(&mut x) as u32);
            // SAFETY: the feature was checked above.
            let n = unsafe { touched_buckets(&mask) };
            assert_eq!(n, generic::counts::touched_buckets(&mask));
        }
    }
}
