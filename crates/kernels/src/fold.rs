//! The centroid fold of the semantic novelty detector: one fused pass over the 256
//! entries of a decayed centroid that writes the updated centroid into a second buffer
//! and sums, on the way, the dot product of the message with the old centroid.
//!
//! Every kernel sums in the same fixed order (the [`Partials`] layout, fused
//! multiply-adds, [`reduce_partials`]), so results are bit-identical on every CPU and
//! never depend on which kernel ran.

use crate::trigram::{BucketMask, BUCKETS};

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

/// One fused pass: `next = keep · old + decay · x` entry by entry with two roundings,
/// where `decay · x` (already rounded) holds `dval` at the buckets of `mask` (in bucket
/// order, one value per set bit) and 0 elsewhere; returns `Σ (decay · x) · old` summed
/// in the [`Partials`] order with fused multiply-adds. A *tending* pass (`TEND`) also
/// returns `Σ next²` in that order and flushes tiny entries: a rounded product
/// `keep · c` below [`KEEP_AT_LEAST`] in magnitude is replaced by `+0.0` before the add
/// (so no entry ever turns subnormal, where every multiplication costs a microcode
/// assist); a plain pass returns `Σ (decay · x)²` instead.
///
/// `dval` should hold one value per set bit of `mask`; when it holds fewer, the missing
/// values count as 0 (the vector kernels, which read exactly one value per set bit, are
/// then not used).
#[inline]
pub fn fold<const TEND: bool>(
    old: &[f64; BUCKETS],
    next: &mut [f64; BUCKETS],
    mask: &BucketMask,
    dval: &[f64],
    keep: f64,
) -> FoldSums {
    crate::dispatch::fold::<TEND>(old, next, mask, dval, keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigram::bucket_mask;
    use trace_sentinel_testrand::xorshift64;

    /// Random centroids (zeros of both signs, tiny and subnormal-bound entries, ordinary
    /// values) and messages of every density, through the dispatched fold and the
    /// generic one, as tending and plain passes, against the literal update.
    #[test]
    fn dispatched_fold_matches_the_generic_one_and_the_literal_update() {
        let keep = 0.99;
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let mut x = 0x853c_49e6_748f_ea9b_u64;
        for round in 0..400 {
            let old: [f64; BUCKETS] = std::array::from_fn(|j| match xorshift64(&mut x) % 8 {
                0 => 0.0,
                1 => -0.0,
                2 => 3e-308 * ((j % 5) as f64 - 2.0),
                3 => KEEP_AT_LEAST * (1.0 + (j % 3) as f64 * 0.005),
                _ => ((xorshift64(&mut x) % 2001) as f64 - 1000.0) / 1e4,
            });
            let density = round % 9;
            let (mut idx, mut val) = (Vec::new(), Vec::new());
            for b in 0..BUCKETS {
                if xorshift64(&mut x) % 8 < density as u64 {
                    idx.push(b as u8);
                    val.push(((xorshift64(&mut x) % 2001) as f64 - 1000.0) / 3e3);
                }
            }
            let mask = bucket_mask(&idx).expect("increasing");
            for tend in [false, true] {
                let run = |generic: bool, next: &mut [f64; BUCKETS]| match (generic, tend) {
                    (false, true) => fold::<true>(&old, next, &mask, &val, keep),
                    (false, false) => fold::<false>(&old, next, &mask, &val, keep),
                    (true, true) => {
                        crate::generic::fold::fold::<true>(&old, next, &mask, &val, keep)
                    }
                    (true, false) => {
                        crate::generic::fold::fold::<false>(&old, next, &mask, &val, keep)
                    }
                };
                let mut a = [f64::NAN; BUCKETS];
                let sa = run(false, &mut a);
                let mut b = [f64::NAN; BUCKETS];
                let sb = run(true, &mut b);
                assert_eq!(bits(&a), bits(&b), "round {round}");
                assert_eq!(
                    (sa.dot.to_bits(), sa.sumsq.to_bits(), sa.dx_sumsq.to_bits()),
                    (sb.dot.to_bits(), sb.sumsq.to_bits(), sb.dx_sumsq.to_bits()),
                    "round {round}"
                );
                if tend {
                    assert_eq!(fold_sumsq(&a).to_bits(), sa.sumsq.to_bits());
                }
                let mut dot = [0.0f64; 32];
                let mut dx_sumsq = [0.0f64; 32];
                for j in 0..BUCKETS {
                    let dx = idx
                        .iter()
                        .position(|&i| usize::from(i) == j)
                        .map_or(0.0, |k| val[k]);
                    dot[j % 32] = dx.mul_add(old[j], dot[j % 32]);
                    dx_sumsq[j % 32] = dx.mul_add(dx, dx_sumsq[j % 32]);
                    let s = keep * old[j];
                    let s = if tend && s.abs() < KEEP_AT_LEAST {
                        0.0
                    } else {
                        s
                    };
                    assert_eq!(
                        a[j].to_bits(),
                        (s + dx).to_bits(),
                        "round {round} entry {j}"
                    );
                }
                assert_eq!(reduce_partials(&dot).to_bits(), sa.dot.to_bits());
                let want = if tend {
                    0.0
                } else {
                    reduce_partials(&dx_sumsq)
                };
                assert_eq!(want.to_bits(), sa.dx_sumsq.to_bits(), "round {round}");
            }
        }
    }

    /// Fewer values than set bits: the missing ones count as 0 on every path.
    #[test]
    fn short_values_count_as_zero() {
        let old = [0.5f64; BUCKETS];
        let mask = bucket_mask(&[1, 7, 200]).unwrap();
        let mut a = [0.0; BUCKETS];
        let s = fold::<false>(&old, &mut a, &mask, &[0.25], 0.99);
        let mut b = [0.0; BUCKETS];
        let t = fold::<false>(&old, &mut b, &mask, &[0.25, 0.0, 0.0], 0.99);
        assert_eq!(a, b);
        assert_eq!(s, t);
    }
}
