//! The centroid fold in plain Rust (see [`crate::fold::fold`]).

use crate::fold::{is_kept, reduce_partials, FoldSums};
use crate::trigram::{mask_buckets, BucketMask, BUCKETS};

/// One fused pass, branch-free over a dense copy of the message: 32-entry rows whose
/// lanes are the 32 partial sums (so the loop vectorises). `mul_add` is one instruction
/// wherever the target has FMA and a correctly rounded library call elsewhere. A set
/// bit of `mask` without a value in `dval` adds nothing.
#[inline(always)]
pub fn fold<const TEND: bool>(
    old: &[f64; BUCKETS],
    next: &mut [f64; BUCKETS],
    mask: &BucketMask,
    dval: &[f64],
    keep: f64,
) -> FoldSums {
    let mut dense = [0.0f64; BUCKETS];
    for (b, v) in mask_buckets(mask).zip(dval) {
        dense[b] = *v;
    }
    let mut dot = [0.0f64; 32];
    let mut sumsq = [0.0f64; 32];
    let mut dx_sumsq = [0.0f64; 32];
    let rows = old
        .chunks_exact(32)
        .zip(next.chunks_exact_mut(32))
        .zip(dense.chunks_exact(32));
    for ((c_row, n_row), d_row) in rows {
        for l in 0..32 {
            let (c, dx) = (c_row[l], d_row[l]);
            dot[l] = dx.mul_add(c, dot[l]);
            let s = keep * c;
            let n = if !TEND || is_kept(s) { s + dx } else { dx };
            n_row[l] = n;
            if TEND {
                sumsq[l] = n.mul_add(n, sumsq[l]);
            } else {
                dx_sumsq[l] = dx.mul_add(dx, dx_sumsq[l]);
            }
        }
    }
    FoldSums {
        dot: reduce_partials(&dot),
        sumsq: reduce_partials(&sumsq),
        dx_sumsq: reduce_partials(&dx_sumsq),
    }
}
