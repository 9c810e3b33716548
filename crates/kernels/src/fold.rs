//! The centroid fold of the semantic novelty detector: one fused pass over the 256
//! entries of a decayed centroid that writes the updated centroid into a second buffer
//! and sums, on the way, the dot product of the message with the old centroid.
//!
//! Every kernel sums in the same fixed order (entry `j` into partial sum `j % 32`, fused
//! multiply-adds, one reduction order), so results are bit-identical on every CPU and
//! never depend on which kernel ran.

use crate::table::{BucketMask, BUCKETS};

pub use crate::generic::fold::{fold_sumsq, FoldSums, KEEP_AT_LEAST};

/// One fused pass: `next = keep · old + decay · x` entry by entry with two roundings,
/// where `decay · x` (already rounded) holds `dval` at the buckets of `mask` (in bucket
/// order, one value per set bit) and 0 elsewhere; returns `Σ (decay · x) · old` summed
/// in that fixed order with fused multiply-adds. A *tending* pass (`TEND`) also
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
    use crate::generic::fold::reduce_partials;
    use crate::table::bucket_mask;
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
