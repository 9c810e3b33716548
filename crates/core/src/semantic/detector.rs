//! The decayed-centroid novelty detector of the semantic layer: one per shard, sequential
//! state, scoring each message against the centroid before folding it in.

use crate::detect::detector::RunningStats;
use crate::semantic::vector::{CountsRef, SparseRef, DIM};
use serde::{Deserialize, Serialize};
use trace_sentinel_kernels::fold::{fold, fold_sumsq};
use trace_sentinel_kernels::trigram::{
    bucket_mask, mask_buckets, touched_buckets, values_from_counts, BucketMask,
};

/// Centroid decay of the novelty detector.
pub const DECAY: f64 = 0.01;

/// Decayed-centroid novelty detector (one per shard when `--semantic`).
///
/// The centroid is always updated exactly as the reference does (every entry, every
/// message; only entries below ~1e-307, which no output can tell from zero, are flushed,
/// see [`fold`]). Each message takes one fused pass over the 256 entries that reads the
/// old centroid and writes the updated one into a second buffer, summing on the way the
/// dot product of the decayed message (`decay · x`, which the update adds anyway) with
/// the old centroid. The squared norm of the new centroid (which the next message divides
/// by) is carried forward from that dot product ([`tracked_sumsq`]) and summed afresh by
/// every [`TEND_EVERY`]-th pass. The novelty of a message has two paths:
/// * exact — the reference's arithmetic bit for bit (a 256-term norm in index order and
///   one division per non-zero entry), from the old buffer;
/// * fast — `1 - dot / (decay · √sumsq)` from the pass's dot product and the carried
///   squared norm, in a fixed order of their own (fused multiply-adds).
///
/// The fast path is used only where its ~1e-14 relative difference cannot reach the
/// output: never while the novelty baseline is degenerate (std < 1e-6, where rounding
/// noise dominates scores), and any message whose fast score comes within 1e-9 (relative)
/// plus 1e-12 (absolute) of the alerting threshold is recomputed exactly (so every
/// reported anomaly is exact). The fast sums are computed the same way on every CPU, so
/// results depend neither on the thread count nor on the machine; snapshots save the
/// carried squared norm, so a restored detector continues exactly like an uninterrupted
/// run.
#[derive(Debug, Deserialize)]
#[serde(from = "SavedSemantic")]
pub struct SemanticDetector {
    /// Messages needed before scores count.
    pub(crate) warmup: u64,
    /// Messages seen (the first one only seeds the centroid).
    pub(crate) n: u64,
    /// Decayed centroid (empty until the first message). Replace it as a whole rather
    /// than editing entries in place between scores: its squared norm is cached per
    /// buffer.
    pub(crate) centroid: Vec<f64>,
    /// Running stats of novelty values.
    pub(crate) novelty: RunningStats,
    /// Scratch and derived state (the carried squared norm is saved).
    work: FoldScratch,
}

/// Two detectors are equal when their detection state is: warmup, count, centroid and
/// novelty statistics (scratch buffers and the carried norm, derived from the centroid,
/// are not compared).
impl PartialEq for SemanticDetector {
    fn eq(&self, other: &Self) -> bool {
        self.warmup == other.warmup
            && self.n == other.n
            && self.centroid == other.centroid
            && self.novelty == other.novelty
    }
}

impl Clone for SemanticDetector {
    fn clone(&self) -> Self {
        let mut copy = SemanticDetector {
            warmup: self.warmup,
            n: self.n,
            centroid: self.centroid.clone(),
            novelty: self.novelty.clone(),
            work: FoldScratch::default(),
        };
        // The carried squared norm belongs to the centroid's values, now in a new buffer.
        copy.work.sumsq = self
            .carried_sumsq()
            .map(|s| (copy.centroid.as_ptr() as usize, s));
        copy
    }
}

/// A [`SemanticDetector`] as snapshots store it: its public fields plus the carried
/// squared norm of the centroid (absent in snapshots of older builds, and whenever it is
/// not known; then it is summed afresh).
#[derive(Serialize, Deserialize)]
struct SavedSemantic<C = Vec<f64>, S = RunningStats> {
    warmup: u64,
    n: u64,
    centroid: C,
    novelty: S,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    centroid_sumsq: Option<f64>,
}

impl Serialize for SemanticDetector {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        SavedSemantic {
            warmup: self.warmup,
            n: self.n,
            centroid: &self.centroid,
            novelty: &self.novelty,
            centroid_sumsq: self.carried_sumsq().filter(|s| s.is_finite()),
        }
        .serialize(serializer)
    }
}

impl From<SavedSemantic> for SemanticDetector {
    fn from(saved: SavedSemantic) -> Self {
        let mut det = SemanticDetector {
            warmup: saved.warmup,
            n: saved.n,
            centroid: saved.centroid,
            novelty: saved.novelty,
            work: FoldScratch::default(),
        };
        // Trusted only if it is what the centroid's entries give, to within the drift a
        // carried sum can have: anything else (an edited or hostile snapshot) is replaced
        // by the fresh sum.
        if let Some(saved_sumsq) = saved.centroid_sumsq {
            let fresh = fold_sumsq(&det.centroid);
            if (saved_sumsq - fresh).abs() <= 1e-12 * fresh {
                det.work.sumsq = Some((det.centroid.as_ptr() as usize, saved_sumsq));
            }
        }
        det
    }
}

/// The second centroid buffer, the carried squared norm of the current centroid (tagged
/// with the address of the buffer it belongs to: a centroid replaced from outside, e.g.
/// by a snapshot merge, has another address and gets its norm summed afresh) and the
/// message's values: decayed for the fused pass, plain for the exact path.
#[derive(Debug, Default)]
struct FoldScratch {
    spare: Vec<f64>,
    sumsq: Option<(usize, f64)>,
    decayed: Vec<f64>,
    exact: Vec<f64>,
}

/// Below this novelty std the exact path is always used.
const DEGENERATE_STD: f64 = 1e-6;
/// Relative margin around the threshold inside which scores are recomputed exactly.
const EXACT_MARGIN: f64 = 1e-9;
/// Absolute novelty margin added to [`EXACT_MARGIN`]: a bound, with a wide berth, on how
/// far the fast novelty can be from the exact one (its carried sum of squares drifts by
/// ~1e-14 relative at most between two tending passes, see [`TEND_EVERY`]).
const EXACT_SLACK: f64 = 1e-12;

impl SemanticDetector {
    /// A fresh detector.
    pub fn new(warmup: u64) -> Self {
        SemanticDetector {
            warmup,
            n: 0,
            centroid: Vec::new(),
            novelty: RunningStats::default(),
            work: FoldScratch::default(),
        }
    }

    /// Whether enough messages were seen for scores to count.
    #[inline]
    pub fn ready(&self) -> bool {
        self.n >= self.warmup
    }

    /// The carried squared norm of the centroid, when it is known for the current buffer.
    fn carried_sumsq(&self) -> Option<f64> {
        match self.work.sumsq {
            Some((buf, s))
                if buf == self.centroid.as_ptr() as usize && !self.centroid.is_empty() =>
            {
                Some(s)
            }
            _ => None,
        }
    }

    /// Score one message's novelty against the centroid (bit-exact reference
    /// arithmetic), then fold it in.
    #[cfg(test)]
    pub(crate) fn score_then_update(&mut self, vec: SparseRef<'_>) -> f64 {
        self.score_with_threshold(vec, 0.0)
    }

    /// Score-then-update for a caller that alerts at `threshold`: scores whose magnitude
    /// is below `threshold` may come from the fast path (see the type docs); any score
    /// at or near it is exact. `threshold <= 0` always takes the exact path.
    pub fn score_with_threshold(&mut self, vec: SparseRef<'_>, threshold: f64) -> f64 {
        let n = vec.idx.len().min(vec.val.len());
        if let Some(mask) = bucket_mask(&vec.idx[..n]) {
            return self.score_masked(&mask, Message::Values(&vec.val[..n]), threshold);
        }
        // Not in bucket order (only a hand-built vector): sort it, summing repeats.
        let mut dense = [0.0f64; DIM];
        let mut mask = [0u32; DIM / 32];
        for (i, x) in vec.idx.iter().zip(vec.val) {
            dense[usize::from(*i)] += x;
            mask[usize::from(*i) / 32] |= 1 << (i % 32);
        }
        let values: Vec<f64> = mask_buckets(&mask).map(|b| dense[b]).collect();
        self.score_masked(&mask, Message::Values(&values), threshold)
    }

    /// [`Self::score_with_threshold`] for a vector shipped as counts.
    pub fn score_counts(&mut self, vec: CountsRef<'_>, threshold: f64) -> f64 {
        self.score_masked(vec.mask, Message::Counts(vec.cnt, vec.norm), threshold)
    }

    /// Score-then-update for the vector whose touched buckets are `mask` and whose
    /// values, in bucket order, `msg` gives.
    fn score_masked(&mut self, mask: &BucketMask, msg: Message<'_>, threshold: f64) -> f64 {
        let touched = touched_buckets(mask);
        debug_assert_eq!(touched, msg.len());
        if touched > msg.len() {
            // Unreachable from this module's callers; a vector without a value for every
            // touched bucket is ignored rather than read out of bounds.
            return 0.0;
        }
        if self.centroid.len() != DIM {
            let mut val = std::mem::take(&mut self.work.exact);
            msg.values(&mut val);
            self.centroid = vec![0.0; DIM];
            for (b, x) in mask_buckets(mask).zip(&val) {
                self.centroid[b] = *x;
            }
            self.work.exact = val;
            // The new buffer may sit where an old one was: forget its norm by value.
            self.work.sumsq = None;
            self.n = 1;
            return 0.0;
        }
        let ready = self.ready();
        let (mean, std) = (self.novelty.mean, self.novelty.std());
        let fast_ok = threshold > 0.0 && self.novelty.n >= 2 && std >= DEGENERATE_STD;
        let sumsq = self
            .carried_sumsq()
            .unwrap_or_else(|| fold_sumsq(&self.centroid));
        let mut next = std::mem::take(&mut self.work.spare);
        next.resize(DIM, 0.0);
        let mut decayed = std::mem::take(&mut self.work.decayed);
        msg.decayed_values(&mut decayed);
        let tend = self.n.is_multiple_of(TEND_EVERY);
        let (Ok(old), Ok(new)) = (
            <&[f64; DIM]>::try_from(&self.centroid[..]),
            <&mut [f64; DIM]>::try_from(&mut next[..]),
        ) else {
            // Not reachable: both buffers were sized to DIM above.
            self.work.spare = next;
            self.work.decayed = decayed;
            return 0.0;
        };
        let keep = 1.0 - DECAY;
        let sums = if tend {
            fold::<true>(old, new, mask, &decayed, keep)
        } else {
            fold::<false>(old, new, mask, &decayed, keep)
        };
        self.work.decayed = decayed;
        let next_sumsq = if tend {
            sums.sumsq
        } else {
            tracked_sumsq(sumsq, sums.dot, sums.dx_sumsq).unwrap_or_else(|| fold_sumsq(&next))
        };
        let mut novelty = None;
        if fast_ok {
            // The pass summed `decay · x` against the centroid.
            let norm = sumsq.sqrt();
            let approx = 1.0 - sums.dot / if norm == 0.0 { DECAY } else { DECAY * norm };
            // Compared without dividing: the margin dwarfs the product's rounding.
            let near = ready
                && std != 0.0
                && (approx - mean).abs() >= threshold * (1.0 - EXACT_MARGIN) * std - EXACT_SLACK;
            if !near {
                novelty = Some(approx);
            }
        }
        let novelty = novelty.unwrap_or_else(|| {
            let mut val = std::mem::take(&mut self.work.exact);
            msg.values(&mut val);
            let novelty = exact_novelty(&self.centroid, mask, &val);
            self.work.exact = val;
            novelty
        });
        self.work.spare = std::mem::replace(&mut self.centroid, next);
        self.work.sumsq = Some((self.centroid.as_ptr() as usize, next_sumsq));
        self.novelty.update(novelty);
        self.n += 1;
        if !ready || std == 0.0 {
            return 0.0;
        }
        (novelty - mean) / std
    }

    /// Score a user-supplied dense embedding (used as given, like the reference's
    /// `embed_fn`), then fold it in. The dimension is fixed by the first vector; a vector
    /// of another length scores 0 and is ignored.
    pub fn score_then_update_dense(&mut self, vec: &[f64]) -> f64 {
        if self.centroid.is_empty() {
            self.centroid = vec.to_vec();
            self.n = 1;
            return 0.0;
        }
        if vec.len() != self.centroid.len() {
            return 0.0;
        }
        let norm = sum_of_squares(&self.centroid).sqrt();
        let mut dot = 0.0;
        for (x, c) in vec.iter().zip(&self.centroid) {
            dot += x * if norm == 0.0 { *c } else { c / norm };
        }
        let keep = 1.0 - DECAY;
        for (c, x) in self.centroid.iter_mut().zip(vec) {
            *c = keep * *c + DECAY * x;
        }
        self.work.sumsq = None;
        let ready = self.ready();
        let (mean, std) = (self.novelty.mean, self.novelty.std());
        self.novelty.update(1.0 - dot);
        self.n += 1;
        if !ready || std == 0.0 {
            return 0.0;
        }
        (1.0 - dot - mean) / std
    }
}

/// The reference's novelty, bit for bit: `1 - Σ x · (c / ‖c‖)` with the norm summed over
/// all 256 dimensions in index order. Zero entries of `x` only add `±0.0` to a sum that
/// starts at `+0.0`, so only the touched buckets are visited.
fn exact_novelty(c: &[f64], mask: &BucketMask, val: &[f64]) -> f64 {
    let norm = sum_of_squares(c).sqrt();
    let mut dot = 0.0;
    for (b, x) in mask_buckets(mask).zip(val) {
        dot += x * if norm == 0.0 { c[b] } else { c[b] / norm };
    }
    1.0 - dot
}

/// A message's values in bucket order: given, or as counts and their norm.
#[derive(Debug, Clone, Copy)]
enum Message<'a> {
    Values(&'a [f64]),
    Counts(&'a [i16], f64),
}

impl Message<'_> {
    fn len(&self) -> usize {
        match self {
            Message::Values(v) => v.len(),
            Message::Counts(c, _) => c.len(),
        }
    }

    /// Replace `out` with the values.
    fn values(&self, out: &mut Vec<f64>) {
        out.clear();
        match *self {
            Message::Values(v) => out.extend_from_slice(v),
            Message::Counts(c, norm) => {
                values_from_counts(c, norm, None, out);
            }
        }
    }

    /// Replace `out` with the decayed values `decay · x`.
    fn decayed_values(&self, out: &mut Vec<f64>) {
        out.clear();
        match *self {
            Message::Values(v) => out.extend(v.iter().map(|x| DECAY * x)),
            Message::Counts(c, norm) => values_from_counts(c, norm, Some(DECAY), out),
        }
    }
}

/// Every this many messages the fused pass *tends* the centroid: it flushes entries too
/// small to matter and sums the new entries' squares itself. In between, passes only
/// decay and add, and the sum of squares is carried forward ([`tracked_sumsq`]).
const TEND_EVERY: u64 = 64;

/// `Σ next²` from `Σ old²` without visiting the entries: with `next = keep · old + dx`,
/// `Σ next² = keep² Σ old² + 2 keep Σ dx · old + Σ dx²`, the middle sum being the pass's
/// dot product. `None` when the terms cancel too much to trust the result (a centroid
/// shrinking to almost nothing), where the caller sums the entries instead.
#[inline]
fn tracked_sumsq(sumsq: f64, dot: f64, dx_sumsq: f64) -> Option<f64> {
    let keep = 1.0 - DECAY;
    // Plain products and sums (no `mul_add`, a library call on CPUs without FMA).
    let grown = keep * keep * sumsq + dx_sumsq;
    let s = grown + 2.0 * keep * dot;
    (s >= 0.25 * grown).then_some(s)
}

/// Σ c², summed in index order like Python's `sum`.
#[inline]
fn sum_of_squares(c: &[f64]) -> f64 {
    let mut acc = 0.0;
    for x in c {
        acc += x * x;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::vector::SparseVec;
    use crate::semantic::vectorizer::Vectorizer;

    /// The reference's `update_and_score`, dense and literal (no flushing, no fast path).
    struct NaiveDetector {
        centroid: Vec<f64>,
        n: u64,
        stats: RunningStats,
    }

    impl NaiveDetector {
        fn score(&mut self, vec: &[f64], warmup: u64) -> f64 {
            let norm = self.centroid.iter().map(|c| c * c).sum::<f64>().sqrt();
            let normed: Vec<f64> = if norm == 0.0 {
                self.centroid.clone()
            } else {
                self.centroid.iter().map(|c| c / norm).collect()
            };
            let novelty = 1.0 - vec.iter().zip(&normed).map(|(x, y)| x * y).sum::<f64>();
            let ready = self.n >= warmup;
            let (mean, std) = (self.stats.mean, self.stats.std());
            self.stats.update(novelty);
            for (c, x) in self.centroid.iter_mut().zip(vec) {
                *c = (1.0 - DECAY) * *c + DECAY * x;
            }
            self.n += 1;
            if !ready || std == 0.0 {
                0.0
            } else {
                (novelty - mean) / std
            }
        }
    }

    #[test]
    fn subnormal_flush_matches_reference_arithmetic() {
        // A centroid whose untouched buckets are about to turn subnormal, then a stream
        // of a few short messages: scores must equal the literal arithmetic bit for bit.
        let mut v = Vectorizer::new();
        let messages = ["a", "ok", "b c", "x1", "ok", "ok", "GET /", "up"];
        let vecs: Vec<SparseVec> = messages
            .iter()
            .map(|m| {
                let mut out = SparseVec::default();
                v.embed(m, &mut out);
                out
            })
            .collect();
        let mut start = vec![0.0; DIM];
        for (i, c) in start.iter_mut().enumerate() {
            *c = if i % 3 == 0 {
                3e-306
            } else {
                -7e-305 * (i as f64)
            };
        }
        start[5] = 0.25;
        let mut ours = SemanticDetector::new(5);
        ours.centroid = start.clone();
        ours.n = 1;
        let mut naive = NaiveDetector {
            centroid: start,
            n: 1,
            stats: RunningStats::default(),
        };
        let mut subnormal_seen = false;
        for step in 0..3000 {
            let sv = &vecs[(step * 7 + step / 5) % vecs.len()];
            let mut dense = vec![0.0; DIM];
            for (i, x) in sv.idx.iter().zip(&sv.val) {
                dense[*i as usize] = *x;
            }
            // Threshold 0 keeps every score on the exact path (the fast path is exact only
            // where a score can reach the output).
            let a = ours.score_then_update(sv.view());
            let b = naive.score(&dense, 5);
            assert_eq!(a.to_bits(), b.to_bits(), "step {step}: {a} vs {b}");
            subnormal_seen |= naive.centroid.iter().any(|c| c.is_subnormal());
            assert!(
                ours.centroid.iter().all(|c| !c.is_subnormal()),
                "step {step}"
            );
        }
        assert!(
            subnormal_seen,
            "the literal arithmetic should have reached subnormals"
        );
        assert_eq!(ours.novelty.mean.to_bits(), naive.stats.mean.to_bits());
        assert_eq!(ours.novelty.m2.to_bits(), naive.stats.m2.to_bits());
    }

    #[test]
    fn counts_values_and_restored_detectors_agree() {
        let mut v = Vectorizer::new();
        let lines: Vec<String> = (0..3000)
            .map(|i| match i % 97 {
                13 => format!("kernel: oom-killer invoked pid={i} score 982"),
                41 => "TRACEBACK (most recent call last): File \"/srv/app.py\"".to_string(),
                _ => format!(
                    "GET /api/v1/items/{} 200 {}ms user=u{}",
                    i * 7 % 500,
                    i % 90,
                    i % 13
                ),
            })
            .collect();
        let mut by_values = SemanticDetector::new(20);
        let mut by_counts = SemanticDetector::new(20);
        let mut restored: Option<SemanticDetector> = None;
        let mut reported = 0;
        for (k, line) in lines.iter().enumerate() {
            let mut sv = SparseVec::default();
            v.embed_ascii(line.as_bytes(), &mut sv);
            let mut cnt = Vec::new();
            let (mask, norm) = v.embed_ascii_counts(line.as_bytes(), &mut cnt);
            let a = by_values.score_with_threshold(sv.view(), 3.0);
            let b = by_counts.score_counts(
                CountsRef {
                    mask: &mask,
                    cnt: &cnt,
                    norm,
                },
                3.0,
            );
            assert_eq!(a.to_bits(), b.to_bits(), "line {k}");
            reported += usize::from(a.abs() >= 3.0);
            if let Some(r) = restored.as_mut() {
                let c = r.score_with_threshold(sv.view(), 3.0);
                assert_eq!(a.to_bits(), c.to_bits(), "restored, line {k}");
            }
            if k == 1000 {
                let json = serde_json::to_string(&by_values).unwrap();
                restored = Some(serde_json::from_str(&json).unwrap());
            }
        }
        assert!(reported > 10, "the odd lines should stand out ({reported})");
        assert_eq!(by_values, by_counts);
    }

    #[test]
    fn carried_norm_follows_the_centroid() {
        // Real messages through the counts path: after every message the carried squared
        // norm is within the drift bound of the fresh sum, and equal to it right after
        // each tending pass.
        let mut v = Vectorizer::new();
        let mut det = SemanticDetector::new(20);
        let mut worst = 0.0f64;
        for i in 0..5000u64 {
            let line = match i % 7 {
                0 => format!(
                    "sshd[{i}]: Accepted publickey for deploy from 10.0.{}.{}",
                    i % 255,
                    i % 7
                ),
                3 => "x".repeat(1 + (i % 300) as usize),
                5 => format!("GET /api/v1/items/{} 200 {}ms", i * 31 % 1000, i % 90),
                _ => format!("kernel: eth{} link up, {} Mbps", i % 4, 10 * (i % 1000)),
            };
            let mut cnt = Vec::new();
            let (mask, norm) = v.embed_ascii_counts(line.as_bytes(), &mut cnt);
            det.score_counts(
                CountsRef {
                    mask: &mask,
                    cnt: &cnt,
                    norm,
                },
                3.0,
            );
            if i == 0 {
                // The first message only seeds the centroid.
                continue;
            }
            let carried = det.carried_sumsq().expect("known after every pass");
            let fresh = fold_sumsq(&det.centroid);
            worst = worst.max((carried - fresh).abs() / fresh);
            if (det.n - 1).is_multiple_of(TEND_EVERY) {
                assert_eq!(carried.to_bits(), fresh.to_bits(), "message {i}");
            }
        }
        assert!(worst > 0.0, "passes in between carry the norm forward");
        assert!(worst < 1e-14, "drift {worst:e}");
    }

    #[test]
    fn carried_norm_survives_a_shrinking_centroid() {
        // Each message points away from the centroid, which shrinks towards zero: the
        // carried sum would cancel; it is summed afresh instead and stays accurate.
        let mut det = SemanticDetector::new(5);
        let idx: Vec<u8> = (0..=u8::MAX).step_by(3).collect();
        let seed: Vec<f64> = idx.iter().map(|&b| 1.0 + f64::from(b % 5)).collect();
        let n = seed.iter().map(|x| x * x).sum::<f64>().sqrt();
        let seed: Vec<f64> = seed.iter().map(|x| x / n).collect();
        det.score_then_update(SparseRef {
            idx: &idx,
            val: &seed,
        });
        for step in 0..300 {
            let c: Vec<f64> = idx.iter().map(|&b| det.centroid[usize::from(b)]).collect();
            let norm = c.iter().map(|x| x * x).sum::<f64>().sqrt();
            let away: Vec<f64> = if norm == 0.0 {
                seed.clone()
            } else {
                c.iter().map(|x| -x / norm).collect()
            };
            let score = det.score_with_threshold(
                SparseRef {
                    idx: &idx,
                    val: &away,
                },
                3.0,
            );
            assert!(score.is_finite(), "step {step}");
            let carried = det.carried_sumsq().expect("known");
            let fresh = fold_sumsq(&det.centroid);
            assert!(
                (carried - fresh).abs() <= 1e-12 * fresh,
                "step {step}: carried {carried:e}, fresh {fresh:e}"
            );
        }
    }

    #[test]
    fn saved_norm_is_restored_only_when_it_fits_the_centroid() {
        let mut v = Vectorizer::new();
        let mut det = SemanticDetector::new(5);
        for i in 0..100 {
            let mut sv = SparseVec::default();
            v.embed(
                &format!("user u{i} logged in from 10.0.0.{}", i % 9),
                &mut sv,
            );
            det.score_with_threshold(sv.view(), 3.0);
        }
        let carried = det.carried_sumsq().unwrap();
        assert_ne!(carried.to_bits(), fold_sumsq(&det.centroid).to_bits());
        let json = serde_json::to_value(&det).unwrap();
        assert_eq!(
            json["centroid_sumsq"].as_f64().unwrap().to_bits(),
            carried.to_bits()
        );
        let load =
            |j: &serde_json::Value| serde_json::from_value::<SemanticDetector>(j.clone()).unwrap();
        assert_eq!(
            load(&json).carried_sumsq().unwrap().to_bits(),
            carried.to_bits()
        );
        assert_eq!(
            det.clone().carried_sumsq().unwrap().to_bits(),
            carried.to_bits()
        );
        // Older snapshots have no saved norm, and a wrong one is not believed: the fresh sum.
        for bad in [
            serde_json::Value::Null,
            (carried * 1.001).into(),
            (-1.0).into(),
        ] {
            let mut j = json.clone();
            match bad {
                serde_json::Value::Null => {
                    j.as_object_mut().unwrap().remove("centroid_sumsq");
                }
                b => j["centroid_sumsq"] = b,
            }
            let d = load(&j);
            assert_eq!(d, det);
            assert_eq!(d.carried_sumsq(), None);
        }
    }
}
