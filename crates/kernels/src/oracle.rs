//! Test support: random and edge inputs, and the checks that run a kernel against its
//! generic twin on them, shared by the tests of the dispatched API and of each x86-64
//! kernel.

use crate::generic;
use crate::generic::fold::{FoldSums, KEEP_AT_LEAST};
use crate::table::{bucket_mask, BucketMask, BUCKETS};
use trace_sentinel_testrand::xorshift64;

/// `len` bytes drawn from `alphabet`.
pub(crate) fn bytes(x: &mut u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
    (0..len)
        .map(|_| alphabet[(xorshift64(x) % alphabet.len() as u64) as usize])
        .collect()
}

/// A centroid mixing zeros of both signs, subnormal-bound entries, entries just above
/// the flush threshold and ordinary values.
pub(crate) fn centroid(x: &mut u64) -> [f64; BUCKETS] {
    std::array::from_fn(|j| match xorshift64(x) % 8 {
        0 => 0.0,
        1 => -0.0,
        2 => 3e-308 * ((j % 5) as f64 - 2.0),
        3 => KEEP_AT_LEAST * (1.0 + (j % 3) as f64 * 0.005),
        _ => ((xorshift64(x) % 2001) as f64 - 1000.0) / 1e4,
    })
}

/// A message touching each bucket with probability `density / 8`: its buckets, their
/// values and its mask.
pub(crate) fn message(x: &mut u64, density: u64) -> (Vec<u8>, Vec<f64>, BucketMask) {
    let (mut idx, mut val) = (Vec::new(), Vec::new());
    for b in 0..BUCKETS {
        if xorshift64(x) % 8 < density {
            idx.push(b as u8);
            val.push(((xorshift64(x) % 2001) as f64 - 1000.0) / 3e3);
        }
    }
    let mask = bucket_mask(&idx).expect("increasing");
    (idx, val, mask)
}

/// A fold kernel: tending pass or not, old centroid, new centroid, mask, decayed values.
pub(crate) type FoldKernel<'a> =
    &'a dyn Fn(bool, &[f64; BUCKETS], &mut [f64; BUCKETS], &BucketMask, &[f64]) -> FoldSums;

/// The generic fold as a [`FoldKernel`], at a decay of 0.01.
pub(crate) fn generic_fold(
    tend: bool,
    old: &[f64; BUCKETS],
    next: &mut [f64; BUCKETS],
    mask: &BucketMask,
    val: &[f64],
) -> FoldSums {
    if tend {
        generic::fold::fold::<true>(old, next, mask, val, 0.99)
    } else {
        generic::fold::fold::<false>(old, next, mask, val, 0.99)
    }
}

/// `kernel` writes the centroid and returns the sums of the generic fold, bit for bit,
/// on `rounds` random centroids and messages of every density, tending and plain.
pub(crate) fn check_fold(kernel: FoldKernel<'_>, rounds: u64) {
    let bits = |v: &[f64; BUCKETS]| v.map(f64::to_bits);
    let sums = |s: FoldSums| (s.dot.to_bits(), s.sumsq.to_bits(), s.dx_sumsq.to_bits());
    let mut x = 0x853c_49e6_748f_ea9b_u64;
    for round in 0..rounds {
        let old = centroid(&mut x);
        let (_, val, mask) = message(&mut x, round % 9);
        for tend in [false, true] {
            let (mut a, mut b) = ([f64::NAN; BUCKETS], [f64::NAN; BUCKETS]);
            let sa = kernel(tend, &old, &mut a, &mask, &val);
            let sb = generic_fold(tend, &old, &mut b, &mask, &val);
            assert_eq!(bits(&a), bits(&b), "round {round} tend {tend}");
            assert_eq!(sums(sa), sums(sb), "round {round} tend {tend}");
        }
    }
}

/// A fold kernel compiled for some CPU features, as a function pointer.
pub(crate) type FoldFn =
    unsafe fn(&[f64; BUCKETS], &mut [f64; BUCKETS], &BucketMask, &[f64], f64) -> FoldSums;

/// [`check_fold`] of a kernel's tending and plain passes.
///
/// # Safety
/// The CPU must have the features `tend` and `plain` are compiled for.
pub(crate) unsafe fn check_fold_fns(tend: FoldFn, plain: FoldFn, rounds: u64) {
    check_fold(
        // SAFETY: the caller's promise.
        &|t, old, next, mask, val| unsafe {
            if t {
                tend(old, next, mask, val, 0.99)
            } else {
                plain(old, next, mask, val, 0.99)
            }
        },
        rounds,
    );
}

/// Random counts of density `density / 16`, split between the two histograms (each
/// bucket's count is their sum).
pub(crate) fn split_counts(x: &mut u64, density: u64) -> [[i16; BUCKETS]; 2] {
    let mut split = [[0i16; BUCKETS]; 2];
    let [first, second] = &mut split;
    for (a, b) in first.iter_mut().zip(second.iter_mut()) {
        let c = if xorshift64(x) % 16 < density {
            ((*x >> 8) % 41) as i16 - 20
        } else {
            0
        };
        let part = (xorshift64(x) % 9) as i16 - 4;
        *a = c - part;
        *b = part;
    }
    split
}

/// A compaction kernel: histograms, optional bucket numbers, counts.
pub(crate) type CompressKernel<'a> =
    &'a dyn Fn(&mut [[i16; BUCKETS]; 2], Option<&mut Vec<u8>>, &mut Vec<i16>) -> (BucketMask, f64);

/// `kernel` appends the buckets and counts, returns the mask and norm, and zeroes the
/// histograms exactly like the generic compaction, on random counts of every density.
pub(crate) fn check_compress(kernel: CompressKernel<'_>) {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for density in [0u64, 1, 3, 8, 16] {
        for _ in 0..50 {
            let mut a = split_counts(&mut x, density);
            let mut b = a;
            let (mut ia, mut ca, mut ib, mut cb) = (vec![9u8], vec![3i16], vec![9u8], vec![3i16]);
            let (ma, na) = kernel(&mut a, Some(&mut ia), &mut ca);
            let (mb, nb) = generic::counts::compress_counts(&mut b, Some(&mut ib), &mut cb);
            assert_eq!((ma, na.to_bits(), &ia, &ca), (mb, nb.to_bits(), &ib, &cb));
            assert_eq!(a, [[0; BUCKETS]; 2]);
            assert_eq!(b, [[0; BUCKETS]; 2]);
            // Without bucket numbers: the same mask, counts and norm.
            let mut a = split_counts(&mut x, density);
            let mut b = a;
            let (mut ca, mut cb) = (Vec::new(), Vec::new());
            let (ma, na) = kernel(&mut a, None, &mut ca);
            let (mb, nb) = generic::counts::compress_counts(&mut b, None, &mut cb);
            assert_eq!((ma, na.to_bits(), ca), (mb, nb.to_bits(), cb));
        }
    }
}
