//! Trigram counting and the sparse vector's entries, in plain Rust: the classed
//! counting loop, compaction of the bucket counts, their values, and bucket masks.

use crate::table::{bump, trigram_codes, BucketMask, BUCKETS, CLASSES};

/// Add the code of every trigram whose classes are `cls` (each below [`CLASSES`]) to
/// `counts`.
#[inline]
pub fn count_classed(cls: &[u8], counts: &mut [i16; BUCKETS]) {
    let table = trigram_codes();
    let Some(&[c0, c1]) = cls.get(..2) else {
        return;
    };
    // The pair part of the key, `c0 · CLASSES² + c1 · CLASSES`, rolls forward with one
    // multiply; only the previous class is carried, so no chain builds up.
    let (c0, mut c1) = (usize::from(c0), usize::from(c1));
    let mut pair = c0 * CLASSES * CLASSES + c1 * CLASSES;
    for &c in &cls[2..] {
        let c2 = usize::from(c);
        let key = pair + c2;
        pair = c1 * CLASSES * CLASSES + c2 * CLASSES;
        c1 = c2;
        // With every class below CLASSES, `key < CLASSES³ < table.len()`; a class out
        // of range misses the table and counts nothing.
        if let Some(&code) = table.get(key) {
            bump(counts, code);
        }
    }
}

/// Bit `b` of the result is set when `counts[b] != 0`.
#[inline]
pub fn nonzero_bitmap(counts: &[i16; BUCKETS]) -> [u64; BUCKETS / 64] {
    let mut out = [0u64; BUCKETS / 64];
    for (b, c) in counts.iter().enumerate() {
        out[b / 64] |= u64::from(*c != 0) << (b % 64);
    }
    out
}

/// Append the non-zero buckets of `counts` (ascending, when `idx` is given) and their
/// counts to `cnt`; return their mask and the L2 norm, given the non-zero bitmap.
#[inline(always)]
fn compress_with_bitmap(
    counts: &[i16; BUCKETS],
    bitmap: [u64; BUCKETS / 64],
    mut idx: Option<&mut Vec<u8>>,
    cnt: &mut Vec<i16>,
) -> (BucketMask, f64) {
    // Integer counts make the sum of squares exact in any order, as in the reference.
    let mut sumsq = 0i64;
    let mut mask = [0u32; BUCKETS / 32];
    for (word_no, word) in bitmap.iter().enumerate() {
        mask[2 * word_no] = *word as u32;
        mask[2 * word_no + 1] = (*word >> 32) as u32;
        let mut m = *word;
        while m != 0 {
            let bucket = word_no * 64 + m.trailing_zeros() as usize;
            m &= m - 1;
            let v = counts[bucket];
            sumsq += i64::from(v) * i64::from(v);
            if let Some(idx) = idx.as_deref_mut() {
                idx.push(bucket as u8);
            }
            cnt.push(v);
        }
    }
    (mask, (sumsq as f64).sqrt())
}

/// Add the two histograms, append the non-zero buckets (ascending, when `idx` is given)
/// and their counts to `cnt`, zero both histograms, and return the mask and L2 norm.
#[inline]
pub fn compress_counts(
    counts: &mut [[i16; BUCKETS]; 2],
    idx: Option<&mut Vec<u8>>,
    cnt: &mut Vec<i16>,
) -> (BucketMask, f64) {
    compress_counts_with(counts, idx, cnt, nonzero_bitmap)
}

/// [`compress_counts`] with `bitmap` finding the non-zero buckets.
#[inline(always)]
pub(crate) fn compress_counts_with(
    counts: &mut [[i16; BUCKETS]; 2],
    idx: Option<&mut Vec<u8>>,
    cnt: &mut Vec<i16>,
    bitmap: impl Fn(&[i16; BUCKETS]) -> [u64; BUCKETS / 64],
) -> (BucketMask, f64) {
    let [even, odd] = &*counts;
    let merged: [i16; BUCKETS] = std::array::from_fn(|b| even[b] + odd[b]);
    *counts = [[0; BUCKETS]; 2];
    compress_with_bitmap(&merged, bitmap(&merged), idx, cnt)
}

/// Append `c / norm` for every count (the counts themselves when `norm` is 0), each then
/// multiplied by `scale` when given: the IEEE divisions (and products) the reference
/// performs.
#[inline]
pub fn values(cnt: &[i16], norm: f64, scale: Option<f64>, out: &mut Vec<f64>) {
    let value = |c: i16| {
        let v = if norm == 0.0 {
            f64::from(c)
        } else {
            f64::from(c) / norm
        };
        scale.map_or(v, |k| k * v)
    };
    out.extend(cnt.iter().map(|&c| value(c)));
}

/// How many buckets `mask` touches.
#[inline(always)]
pub fn touched_buckets(mask: &BucketMask) -> usize {
    mask.iter().map(|w| w.count_ones() as usize).sum()
}
