//! Trigram kernels of the semantic layer's hashing vectorizer: byte classes, trigram
//! counting into 256 signed buckets, compaction of the counts into a sparse vector, and
//! its values.
//!
//! A trigram of lowercased printable ASCII is one of `69³` keys (69 symbols: space to
//! `@` and `[` to `~`); its BLAKE2b code was computed at build time (`build.rs`) into a
//! table, so plain ASCII text is never hashed at run time. Other trigrams are hashed
//! ([`gram_code`]). A code is a bucket (low byte) and a sign (`+1`/`-1` in the high
//! byte); a message's vector is the signed count per bucket, divided by its L2 norm.
//!
//! What a message's text is (the reference's character cap, `strip`, `lower`) is the
//! caller's business; this module sees bytes and classes.

pub use crate::table::{
    bucket_mask, gram_code, hash_gram, mask_buckets, BucketMask, BUCKETS, CLASSES,
};
use crate::table::{bump, trigram_codes, CLASS_OF};

/// A message's bucket counts as two histograms whose sum is the count of each bucket.
/// The AVX-512 counting kernel sends even grams to the first and odd grams to the
/// second, so that a bucket hit by two grams in a row does not have the second
/// increment wait for the first one's store; every other path counts into the first.
/// [`Histograms::take`] adds them up.
#[derive(Debug, Clone)]
pub struct Histograms {
    counts: [[i16; BUCKETS]; 2],
}

impl Default for Histograms {
    fn default() -> Self {
        Self::new()
    }
}

impl Histograms {
    /// Empty histograms.
    pub fn new() -> Self {
        Histograms {
            counts: [[0; BUCKETS]; 2],
        }
    }

    /// Count one code.
    #[inline]
    pub fn add(&mut self, code: u16) {
        bump(&mut self.counts[0], code);
    }

    /// Append the non-zero buckets (ascending) to `idx` (when given) and their counts to
    /// `cnt`, reset the counts, and return the buckets' mask and the vector's L2 norm
    /// (exact: an integer sum of squares).
    #[inline]
    pub fn take(&mut self, idx: Option<&mut Vec<u8>>, cnt: &mut Vec<i16>) -> (BucketMask, f64) {
        crate::dispatch::compress_counts(&mut self.counts, idx, cnt)
    }

    /// The count of each bucket (the two histograms added).
    pub fn merged(&self) -> [i16; BUCKETS] {
        let [even, odd] = &self.counts;
        std::array::from_fn(|b| even[b] + odd[b])
    }

    /// Set the two histograms (tests of the compaction kernels).
    #[cfg(test)]
    pub(crate) fn from_parts(counts: [[i16; BUCKETS]; 2]) -> Self {
        Histograms { counts }
    }
}

/// The symbol classes of one padded message, `" " + text + " "`, and whether every byte
/// has a class. The flag is set only by the functions that fill the classes, so a
/// kernel that trusts it (the table gathers) can rely on it.
#[derive(Debug, Clone, Default)]
pub struct Classes {
    cls: Vec<u8>,
    all_classed: bool,
}

impl Classes {
    /// No classes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Classes of `" " + lower(body) + " "` for an ASCII `body` (lowered here, as
    /// classes); returns whether every byte has a class. Bytes >= 0x80, controls and
    /// DEL have none (their grams are hashed).
    #[inline]
    pub fn of_ascii_body(&mut self, body: &[u8]) -> bool {
        self.all_classed = crate::dispatch::ascii_classes(body, &mut self.cls);
        self.all_classed
    }

    /// Classes of `text`, already lowercased and padded.
    pub fn of_lowered(&mut self, text: &[u8]) -> bool {
        self.cls.clear();
        self.cls
            .extend(text.iter().map(|&b| CLASS_OF[usize::from(b)]));
        self.all_classed = self.cls.iter().all(|&c| usize::from(c) < CLASSES);
        self.all_classed
    }

    /// Whether every byte has a class.
    pub fn all_classed(&self) -> bool {
        self.all_classed
    }

    /// The classes, `0xFF` for a byte without one.
    pub fn as_slice(&self) -> &[u8] {
        &self.cls
    }
}

/// Count every trigram of a padded message whose classes are `classes` into `counts`;
/// `gram(j)` gives the bytes of gram `j` (called only for a gram with a classless byte,
/// which has no table entry and is hashed).
#[inline]
pub fn count_grams(gram: impl Fn(usize) -> [u8; 3], classes: &Classes, counts: &mut Histograms) {
    if classes.all_classed {
        crate::dispatch::count_classed(&classes.cls, &mut counts.counts);
        return;
    }
    let table = trigram_codes();
    for (j, c) in classes.cls.windows(3).enumerate() {
        let code = if c.iter().all(|&x| usize::from(x) < CLASSES) {
            let key =
                (usize::from(c[0]) * CLASSES + usize::from(c[1])) * CLASSES + usize::from(c[2]);
            table[key]
        } else {
            gram_code(&gram(j))
        };
        bump(&mut counts.counts[0], code);
    }
}

/// Append `c / norm` for every count (the counts themselves when `norm` is 0), each then
/// multiplied by `scale` when given (a second rounding, as `scale * (c / norm)` is
/// written): the vector's values, with the IEEE division the reference performs.
#[inline]
pub fn values_from_counts(cnt: &[i16], norm: f64, scale: Option<f64>, out: &mut Vec<f64>) {
    crate::dispatch::values(cnt, norm, scale, out);
}

/// How many buckets `mask` touches.
#[inline]
pub fn touched_buckets(mask: &BucketMask) -> usize {
    crate::dispatch::touched_buckets(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generic;
    use crate::table::SPACE_CLASS;
    use trace_sentinel_testrand::xorshift64;

    #[test]
    fn class_map_matches_the_byte_rule() {
        let mut x = 0x6a09_e667_f3bc_c908_u64;
        let mut classes = Classes::new();
        let mut generic_cls = Vec::new();
        for len in 0..150usize {
            for round in 0..40u32 {
                let body: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = xorshift64(&mut x);
                        // Mostly printable; now and then a control, DEL or high byte.
                        if round.is_multiple_of(3) && r.is_multiple_of(29) {
                            (r >> 8) as u8
                        } else {
                            0x20 + ((r >> 8) % 95) as u8
                        }
                    })
                    .collect();
                let mut want = vec![SPACE_CLASS];
                want.extend(body.iter().map(|&b| {
                    let lower = b.to_ascii_lowercase();
                    if (0x20..=0x7e).contains(&b) {
                        CLASS_OF[usize::from(lower)]
                    } else {
                        0xFF
                    }
                }));
                want.push(SPACE_CLASS);
                let all_classed = want.iter().all(|&c| usize::from(c) < CLASSES);
                assert_eq!(classes.of_ascii_body(&body), all_classed);
                assert_eq!(classes.as_slice(), want, "{body:?}");
                assert_eq!(
                    generic::classes::ascii_classes(&body, &mut generic_cls),
                    all_classed
                );
                assert_eq!(generic_cls, want, "{body:?}");
            }
        }
    }

    /// Random class strings through the dispatched counting kernel and the generic one,
    /// against the table looked up gram by gram.
    #[test]
    fn classed_counting_matches_the_table() {
        let mut x = 0x1d8e_4e27_c47d_124f_u64;
        for len in [
            0usize, 1, 2, 3, 4, 17, 18, 19, 100, 513, 514, 515, 1030, 4098,
        ] {
            for _ in 0..20 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        let symbols = b" !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`abcxyz{|}~";
                        symbols[(xorshift64(&mut x) % symbols.len() as u64) as usize]
                    })
                    .collect();
                let mut classes = Classes::new();
                assert!(classes.of_lowered(&text));
                let mut want = [0i16; BUCKETS];
                for w in classes.as_slice().windows(3) {
                    let key = (usize::from(w[0]) * CLASSES + usize::from(w[1])) * CLASSES
                        + usize::from(w[2]);
                    bump(&mut want, trigram_codes()[key]);
                }
                let mut generic_counts = [0i16; BUCKETS];
                generic::counts::count_classed(classes.as_slice(), &mut generic_counts);
                assert_eq!(generic_counts, want, "len {len}");
                let mut h = Histograms::new();
                count_grams(|_| unreachable!("all classed"), &classes, &mut h);
                assert_eq!(h.merged(), want, "len {len}");
            }
        }
    }

    /// A message with classless bytes: its grams with one are hashed, the others looked
    /// up, whatever the kernels.
    #[test]
    fn classless_grams_are_hashed() {
        let text = b" tab\there\x01x ";
        let mut classes = Classes::new();
        assert!(!classes.of_lowered(text));
        let mut h = Histograms::new();
        count_grams(|j| [text[j], text[j + 1], text[j + 2]], &classes, &mut h);
        let mut want = [0i16; BUCKETS];
        for w in text.windows(3) {
            bump(&mut want, gram_code(w));
        }
        assert_eq!(h.merged(), want);
    }

    /// Random counts split between the two histograms: the dispatched compaction and the
    /// generic one give the same buckets, counts, mask and norm, appending after what
    /// the vectors hold, and leave the histograms zeroed; the values (plain and scaled)
    /// of both kernels are the obvious divisions.
    #[test]
    fn compaction_and_values_match_the_generic_kernels() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for density in [0u64, 1, 3, 8, 16] {
            for _ in 0..50 {
                let split = crate::oracle::split_counts(&mut x, density);
                let counts: [i16; BUCKETS] = std::array::from_fn(|b| split[0][b] + split[1][b]);
                let mut h = Histograms::from_parts(split);
                let (mut idx, mut cnt) = (vec![9u8], vec![3i16]);
                let (mask, norm) = h.take(Some(&mut idx), &mut cnt);
                assert_eq!(h.merged(), [0; BUCKETS]);
                let mut g = split;
                let (mut gidx, mut gcnt) = (vec![9u8], vec![3i16]);
                let (gmask, gnorm) =
                    generic::counts::compress_counts(&mut g, Some(&mut gidx), &mut gcnt);
                assert_eq!(g, [[0; BUCKETS]; 2]);
                assert_eq!((mask, norm.to_bits()), (gmask, gnorm.to_bits()));
                assert_eq!((&idx, &cnt), (&gidx, &gcnt));
                assert_eq!(Some(mask), bucket_mask(&idx[1..]));
                assert_eq!(touched_buckets(&mask), idx.len() - 1);
                let nz: Vec<i16> = counts.iter().copied().filter(|&c| c != 0).collect();
                assert_eq!(cnt[1..], nz[..]);
                let sumsq: i64 = nz.iter().map(|&c| i64::from(c) * i64::from(c)).sum();
                assert_eq!(norm.to_bits(), (sumsq as f64).sqrt().to_bits());
                // Without bucket numbers: the same mask, counts and norm.
                let mut h = Histograms::from_parts([counts, [0; BUCKETS]]);
                let mut cnt3 = Vec::new();
                let (mask3, norm3) = h.take(None, &mut cnt3);
                assert_eq!(
                    (mask3, norm3.to_bits(), &cnt3[..]),
                    (mask, norm.to_bits(), &nz[..])
                );
                for scale in [None, Some(0.01)] {
                    let (mut fast, mut slow) = (vec![0.5], vec![0.5]);
                    values_from_counts(&nz, norm, scale, &mut fast);
                    generic::counts::values(&nz, norm, scale, &mut slow);
                    let want: Vec<u64> = std::iter::once(0.5f64.to_bits())
                        .chain(nz.iter().map(|&c| {
                            let v = f64::from(c) / norm;
                            scale.map_or(v, |k| k * v).to_bits()
                        }))
                        .collect();
                    let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    if norm != 0.0 {
                        assert_eq!(bits(&fast), want);
                    }
                    assert_eq!(bits(&fast), bits(&slow));
                }
            }
        }
    }
}
