//! The centroid fold in plain Rust (see [`crate::fold::fold`]), with the fixed summation
//! order every fold kernel shares.

use crate::table::{mask_buckets, BucketMask, BUCKETS};

/// What one fused pass sums: the dot product of the decayed message (`decay · x`) with
/// the old centroid, and either the squared norm of the new centroid (a tending pass) or
/// that of the decayed message (a plain one). The sum a pass does not compute is 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoldSums {
    /// `Σ (decay · x) · old`.
    pub dot: f64,
    /// `Σ next²` (tending passes).
    pub sumsq: f64,
    /// `Σ (decay · x)²` (plain passes).
    pub dx_sumsq: f64,
}

/// Partial sums of a fused pass: entry `j` of the centroid lands in partial `j % 32`
/// (four 8-lane accumulators, blocks of eight taken in turn).
pub(crate) type Partials = [f64; 32];

/// The fixed reduction of [`Partials`]: the four accumulators added pairwise, then the
/// eight lanes as halves, then quarters, then the last pair. Every kernel uses exactly
/// this order.
#[inline]
pub(crate) fn reduce_partials(p: &Partials) -> f64 {
    let mut lane = [0.0f64; 8];
    for (l, out) in lane.iter_mut().enumerate() {
        *out = (p[l] + p[8 + l]) + (p[16 + l] + p[24 + l]);
    }
    let half: [f64; 4] = std::array::from_fn(|i| lane[i] + lane[i + 4]);
    (half[0] + half[2]) + (half[1] + half[3])
}

/// `Σ c²` in the fused pass's order: what a tending pass that produced `c` reports as
/// [`FoldSums::sumsq`].
pub fn fold_sumsq(c: &[f64]) -> f64 {
    let mut p = [0.0f64; 32];
    for (j, x) in c.iter().enumerate() {
        p[j % 32] = x.mul_add(*x, p[j % 32]);
    }
    reduce_partials(&p)
}

/// Smallest magnitude a tending pass keeps (2^-1020, four times the smallest normal
/// number): whatever is kept stays normal through the 63 plain passes that follow at
/// a decay of 0.01 (0.99^63 ≈ 0.53).
pub const KEEP_AT_LEAST: f64 = 4.0 * f64::MIN_POSITIVE;

/// Whether a tending pass keeps the rounded product `keep · c` (see [`fold`]).
#[inline(always)]
pub(crate) fn is_kept(s: f64) -> bool {
    s.abs() >= KEEP_AT_LEAST
}

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
