//! Online baselines and the single-metric detector.
//!
//! Baselines ([`RunningStats`], [`Ewma`], [`RollingWindow`]) consume one value at a time;
//! a [`Detector`] scores a value against its baseline *as it stood before the value*
//! (score strictly before update) and returns a deviation in sigma. Arithmetic follows the
//! reference operation for operation so results are bit-identical. No I/O, no threads.

use serde::{Deserialize, Serialize};

/// Welford's online mean and (sample) variance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningStats {
    /// Values seen.
    pub n: u64,
    /// Running mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl RunningStats {
    /// Fold `x` in.
    #[inline]
    pub fn update(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Bessel-corrected variance; zero until two values are seen.
    #[inline]
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Standard deviation.
    #[inline]
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Exact pooling of two Welford states (Chan et al.), for seeding new shards.
    pub fn merge(&self, other: &RunningStats) -> RunningStats {
        if self.n == 0 {
            return other.clone();
        }
        if other.n == 0 {
            return self.clone();
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let mean = self.mean + delta * other.n as f64 / n as f64;
        let m2 = self.m2 + other.m2 + delta * delta * self.n as f64 * other.n as f64 / n as f64;
        RunningStats { n, mean, m2 }
    }
}

/// Exponentially weighted mean and variance (West's incremental form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    /// Smoothing factor in (0, 1].
    pub alpha: f64,
    /// Values seen.
    pub n: u64,
    /// Weighted mean.
    pub mean: f64,
    /// Weighted variance.
    pub var: f64,
}

impl Ewma {
    /// An empty EWMA with smoothing `alpha`.
    pub fn new(alpha: f64) -> Self {
        Ewma {
            alpha,
            n: 0,
            mean: 0.0,
            var: 0.0,
        }
    }

    /// Fold `x` in.
    #[inline]
    pub fn update(&mut self, x: f64) {
        self.n += 1;
        if self.n == 1 {
            self.mean = x;
            self.var = 0.0;
            return;
        }
        let delta = x - self.mean;
        let incr = self.alpha * delta;
        self.mean += incr;
        self.var = (1.0 - self.alpha) * (self.var + delta * incr);
    }

    /// Standard deviation.
    #[inline]
    pub fn std(&self) -> f64 {
        self.var.sqrt()
    }
}

/// A bounded window of recent values with median and MAD.
///
/// Keeps the values both in arrival order (to evict the oldest) and sorted (so the median
/// is O(1) and the MAD is a k-th-smallest selection over two sorted runs instead of a
/// sort per update). The sorted order uses `total_cmp`, a valid order for the finite
/// values it holds, so medians equal those of Python's `sorted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollingWindow {
    /// Capacity (>= 2).
    size: usize,
    /// Values in arrival order (ring buffer, `head` is the oldest once full).
    ring: Vec<f64>,
    head: usize,
    #[serde(skip)]
    sorted: Vec<f64>,
}

impl RollingWindow {
    /// An empty window of capacity `size` (callers validate `size >= 2`).
    pub fn new(size: usize) -> Self {
        RollingWindow {
            size,
            ring: Vec::new(),
            head: 0,
            sorted: Vec::new(),
        }
    }

    /// Capacity.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Values held.
    #[inline]
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no value is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Values in arrival order, oldest first.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        let (a, b) = self.ring.split_at(self.head.min(self.ring.len()));
        b.iter().chain(a.iter()).copied()
    }

    /// Rebuild the sorted view (after deserialisation).
    pub fn rebuild(&mut self) {
        self.sorted = self.ring.clone();
        self.sorted.sort_by(f64::total_cmp);
    }

    /// Append `x`, evicting the oldest value when full.
    pub fn update(&mut self, x: f64) {
        if self.sorted.len() != self.ring.len() {
            self.rebuild();
        }
        if self.ring.len() < self.size {
            self.ring.push(x);
        } else {
            let old = std::mem::replace(&mut self.ring[self.head], x);
            self.head = (self.head + 1) % self.size;
            if let Ok(i) = self.sorted.binary_search_by(|v| v.total_cmp(&old)) {
                self.sorted.remove(i);
            }
        }
        let at = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
        self.sorted.insert(at, x);
    }

    fn sorted(&mut self) -> &[f64] {
        if self.sorted.len() != self.ring.len() {
            self.rebuild();
        }
        &self.sorted
    }

    /// Median of the window (0 when empty).
    pub fn median(&mut self) -> f64 {
        median_of_sorted(self.sorted())
    }

    /// Median absolute deviation from the median (0 when empty).
    pub fn mad(&mut self) -> f64 {
        let s = self.sorted();
        let n = s.len();
        if n == 0 {
            return 0.0;
        }
        let med = median_of_sorted(s);
        // |v - med| is non-increasing left of the split and non-decreasing right of it:
        // merge the two sorted runs up to the middle rank.
        let split = s.partition_point(|v| *v < med);
        let (mut l, mut r) = (split, split); // left run: s[l-1], s[l-2], ...; right: s[r], ...
        let dev_l = |i: usize| (s[i] - med).abs();
        let mut kth = |k: usize| -> f64 {
            let mut last = 0.0;
            for _ in 0..=k {
                let take_left = if l == 0 {
                    false
                } else if r == n {
                    true
                } else {
                    dev_l(l - 1) < (s[r] - med).abs()
                };
                if take_left {
                    l -= 1;
                    last = dev_l(l);
                } else {
                    last = (s[r] - med).abs();
                    r += 1;
                }
            }
            last
        };
        let mid = n / 2;
        if n % 2 == 1 {
            kth(mid)
        } else {
            let a = kth(mid - 1);
            let b = kth(0);
            (a + b) / 2.0
        }
    }
}

fn median_of_sorted(s: &[f64]) -> f64 {
    let n = s.len();
    if n == 0 {
        return 0.0;
    }
    let mid = n / 2;
    if n % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    }
}

/// Which detector every metric gets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DetectorKind {
    /// Stationary z-score over Welford running stats.
    Zscore,
    /// Drifting z-score over an EWMA baseline.
    Ewma {
        /// Smoothing factor in (0, 1].
        alpha: f64,
    },
    /// Robust modified z-score over a rolling window (median / MAD).
    Mad {
        /// Window size (>= 2).
        window: usize,
    },
}

/// The baseline behind one detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum Baseline {
    /// Welford running stats.
    Zscore(RunningStats),
    /// EWMA.
    Ewma(Ewma),
    /// Rolling window (boxed: the other baselines, by far the most common, then take 40
    /// bytes instead of 72 — it adds up over millions of attribute baselines).
    Mad(Box<RollingWindow>),
}

/// The inputs of a detector's last score, kept so dashboards can read the live sigma
/// without the hot path paying a square root and a division for every value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LastScore {
    /// Deviation from the centre (mean or median); 0 when the score was 0.
    pub(crate) dev: f64,
    /// Variance (z-score, EWMA) or MAD (robust); 0 when the score was 0.
    pub(crate) scale: f64,
    /// Whether `scale` is a MAD rather than a variance.
    pub(crate) robust: bool,
}

impl LastScore {
    /// The score these inputs give, computed exactly as when scoring.
    pub(crate) fn score(&self) -> f64 {
        if self.robust {
            if self.scale == 0.0 {
                0.0
            } else {
                MAD_SCALE * self.dev / self.scale
            }
        } else {
            let std = self.scale.sqrt();
            if std == 0.0 {
                0.0
            } else {
                self.dev / std
            }
        }
    }
}

/// The built-in single-metric detector: a baseline ([`DetectorKind`]) with a warmup,
/// scoring each value *before* the value updates the baseline.
///
/// ```
/// use trace_sentinel_core::{Detector, DetectorKind, Scorer};
///
/// let mut d = Detector::new(DetectorKind::Mad { window: 64 }, 5);
/// for x in [10.0, 11.0, 9.0, 10.0, 10.5, 9.5] {
///     d.score_then_update(x);
/// }
/// assert!(d.ready());
/// assert!(d.score_then_update(40.0) > 3.0);
/// // It is also a `Scorer`, so it can score chosen metrics of a `Sentinel`.
/// let _boxed: Box<dyn Scorer> = Box::new(d);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detector {
    /// Observations needed before scores count.
    pub(crate) warmup: u64,
    /// The baseline.
    pub(crate) baseline: Baseline,
    /// Inputs of the last score.
    #[serde(default)]
    pub(crate) last: LastScore,
    /// A user-supplied scorer that replaces the baseline's scoring (library only; not
    /// part of snapshots). `None` on the built-in path, which it does not slow down
    /// beyond one never-taken branch.
    #[serde(skip)]
    pub(crate) custom: Option<Custom>,
}

/// A single-metric scorer: score a value against the state as it stood before it, then
/// learn it. Any `Clone + Send` type implementing it can score chosen metrics of a
/// `Sentinel` (`SentinelBuilder::detector_for`); the built-in [`Detector`] implements
/// it too.
pub trait Scorer: ScorerClone + Send {
    /// Score `value` in sigma against the state before it, then fold it in.
    fn score_then_update(&mut self, value: f64) -> f64;
    /// Whether the warmup is over and scores count.
    fn ready(&self) -> bool;
}

/// Cloning of boxed [`Scorer`]s (shards are cloned from templates); implemented for
/// every `Clone` scorer.
pub trait ScorerClone {
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Scorer>;
}

impl<T: Scorer + Clone + 'static> ScorerClone for T {
    fn clone_box(&self) -> Box<dyn Scorer> {
        Box::new(self.clone())
    }
}

/// A boxed [`Scorer`] inside a [`Detector`].
pub(crate) struct Custom(pub(crate) Box<dyn Scorer>);

impl Clone for Custom {
    fn clone(&self) -> Self {
        Custom(self.0.clone_box())
    }
}

impl std::fmt::Debug for Custom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Custom(..)")
    }
}

impl Custom {
    /// The built-in non-finite rule, then the user's score against `threshold`.
    #[cold]
    fn observe(&mut self, value: f64, threshold: f64, last: &mut LastScore) -> Option<f64> {
        if !value.is_finite() {
            *last = LastScore::default();
            return None;
        }
        let ready = self.0.ready();
        let score = self.0.score_then_update(value);
        let score = if score.is_finite() { score } else { 0.0 };
        // dev / sqrt(1) reproduces the score for dashboards.
        *last = LastScore {
            dev: score,
            scale: 1.0,
            robust: false,
        };
        (ready && score != 0.0 && score.abs() >= threshold).then_some(score)
    }
}

/// A function from a metric name to its user scorer (`None`: the built-in detector).
pub(crate) type ScorerFn = dyn Fn(&str) -> Option<Box<dyn Scorer>> + Send + Sync;

/// Builds the scorer of a new metric from its name; `None` keeps the built-in detector.
#[derive(Clone)]
pub(crate) struct ScorerFactory(pub(crate) std::sync::Arc<ScorerFn>);

impl std::fmt::Debug for ScorerFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScorerFactory(..)")
    }
}

impl Scorer for Detector {
    fn score_then_update(&mut self, value: f64) -> f64 {
        Detector::score_then_update(self, value)
    }
    fn ready(&self) -> bool {
        Detector::ready(self)
    }
}

/// Scale making the MAD score comparable to a z-score for Gaussian data (Φ⁻¹(0.75)).
pub(crate) const MAD_SCALE: f64 = 0.6744897501960817;

/// Relative safety margin of the squared pre-check: far larger than the few ulps by
/// which `d² < t²·var` and `|d / sqrt(var)| < t` can disagree, so a value is only skipped
/// when its exact score is certainly below the threshold.
const PRECHECK_MARGIN: f64 = 1.0 - 1e-9;

impl Detector {
    /// A fresh detector of `kind`.
    pub fn new(kind: DetectorKind, warmup: u64) -> Self {
        let baseline = match kind {
            DetectorKind::Zscore => Baseline::Zscore(RunningStats::default()),
            DetectorKind::Ewma { alpha } => Baseline::Ewma(Ewma::new(alpha)),
            DetectorKind::Mad { window } => Baseline::Mad(Box::new(RollingWindow::new(window))),
        };
        Detector {
            warmup,
            baseline,
            last: LastScore::default(),
            custom: None,
        }
    }

    /// Observations the baseline holds.
    #[inline]
    pub fn count(&self) -> u64 {
        match &self.baseline {
            Baseline::Zscore(s) => s.n,
            Baseline::Ewma(e) => e.n,
            Baseline::Mad(w) => w.len() as u64,
        }
    }

    /// Whether enough history has accumulated for scores to count.
    #[inline]
    pub fn ready(&self) -> bool {
        match &self.custom {
            None => self.count() >= self.warmup,
            Some(c) => c.0.ready(),
        }
    }

    /// The last score (sigma); 0 before the first scored value.
    pub fn last_score(&self) -> f64 {
        self.last.score()
    }

    /// Whether this detector is of `kind` with `warmup` and holds only finite values
    /// (checking restored state).
    pub(crate) fn matches(&self, kind: DetectorKind, warmup: u64) -> bool {
        self.warmup == warmup
            && match (&self.baseline, kind) {
                (Baseline::Zscore(s), DetectorKind::Zscore) => {
                    s.mean.is_finite() && s.m2.is_finite()
                }
                (Baseline::Ewma(e), DetectorKind::Ewma { alpha }) => {
                    e.alpha == alpha && e.mean.is_finite() && e.var.is_finite()
                }
                (Baseline::Mad(w), DetectorKind::Mad { window }) => {
                    w.size() == window && w.len() <= window && w.values().all(f64::is_finite)
                }
                _ => false,
            }
    }

    /// Rebuild derived state after deserialisation (the MAD window's sorted view).
    pub(crate) fn rebuild(&mut self) {
        if let Baseline::Mad(w) = &mut self.baseline {
            w.rebuild();
        }
    }

    /// Score `value` against the baseline as it stood, then fold it in. Non-finite values
    /// score 0 and never touch the baseline.
    #[inline]
    pub fn score_then_update(&mut self, value: f64) -> f64 {
        self.observe(value, 0.0).unwrap_or(0.0)
    }

    /// Score-then-update, returning the exact score only when the detector was ready and
    /// `|score| >= threshold` (with `threshold == 0`, whenever the score is defined).
    /// Values clearly below the threshold skip the square root and division.
    #[inline]
    pub fn observe(&mut self, value: f64, threshold: f64) -> Option<f64> {
        if let Some(c) = self.custom.as_mut() {
            return c.observe(value, threshold, &mut self.last);
        }
        if !value.is_finite() {
            self.last = LastScore::default();
            return None;
        }
        let ready = self.count() >= self.warmup;
        let (dev, scale, robust) = match &mut self.baseline {
            Baseline::Zscore(s) => {
                let (mean, n, m2) = (s.mean, s.n, s.m2);
                s.update(value);
                if !ready || n < 2 {
                    (0.0, 0.0, false)
                } else {
                    let dev = value - mean;
                    // d² (n-1) < t² m2  ⇔  d² < t² var, up to rounding the margin absorbs.
                    if dev * dev * ((n - 1) as f64) < threshold * threshold * m2 * PRECHECK_MARGIN {
                        self.last = LastScore {
                            dev,
                            scale: m2 / (n - 1) as f64,
                            robust: false,
                        };
                        return None;
                    }
                    (dev, m2 / (n - 1) as f64, false)
                }
            }
            Baseline::Ewma(e) => {
                let (mean, var) = (e.mean, e.var);
                e.update(value);
                if !ready {
                    (0.0, 0.0, false)
                } else {
                    let dev = value - mean;
                    if dev * dev < threshold * threshold * var * PRECHECK_MARGIN {
                        self.last = LastScore {
                            dev,
                            scale: var,
                            robust: false,
                        };
                        return None;
                    }
                    (dev, var, false)
                }
            }
            Baseline::Mad(w) => {
                let med = w.median();
                let mad = w.mad();
                w.update(value);
                if !ready {
                    (0.0, 0.0, true)
                } else {
                    (value - med, mad, true)
                }
            }
        };
        self.last = LastScore { dev, scale, robust };
        let score = self.last.score();
        let defined = ready && scale != 0.0 && (robust || scale.sqrt() != 0.0);
        (defined && score.abs() >= threshold).then_some(score)
    }
}

/// The noise floor of a baseline kept per template: its spread is taken as at least
/// `sqrt((rel·centre)² + abs²)`, so deviations of about the width of a number do not
/// alert against lines that are otherwise alike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NoiseFloor {
    /// Share of the centre (mean or median).
    pub(crate) rel: f64,
    /// Absolute amount, in the metric's unit.
    pub(crate) abs: f64,
}

impl Detector {
    /// [`Self::observe`] with a noise floor under the spread (a variance for every
    /// baseline; a MAD counts as its normal-equivalent sigma, `MAD / 0.6745`). User
    /// scorers do not apply.
    pub(crate) fn observe_floored(
        &mut self,
        value: f64,
        threshold: f64,
        floor: NoiseFloor,
    ) -> Option<f64> {
        if !value.is_finite() {
            self.last = LastScore::default();
            return None;
        }
        let ready = self.count() >= self.warmup;
        let (centre, var) = match &mut self.baseline {
            Baseline::Zscore(s) => {
                let cv = (s.mean, s.variance());
                s.update(value);
                cv
            }
            Baseline::Ewma(e) => {
                let cv = (e.mean, e.var);
                e.update(value);
                cv
            }
            Baseline::Mad(w) => {
                let (med, mad) = (w.median(), w.mad());
                w.update(value);
                (med, (mad / MAD_SCALE).powi(2))
            }
        };
        if !ready {
            self.last = LastScore::default();
            return None;
        }
        let scale = var + (floor.rel * centre).powi(2) + floor.abs * floor.abs;
        let dev = value - centre;
        self.last = LastScore {
            dev,
            scale,
            robust: false,
        };
        // Most values are well inside: skip the square root and the division.
        if dev * dev < threshold * threshold * scale * PRECHECK_MARGIN {
            return None;
        }
        let score = self.last.score();
        (scale > 0.0 && score.abs() >= threshold).then_some(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        median_of_sorted(&v)
    }

    #[test]
    fn running_stats_sample_variance() {
        let mut s = RunningStats::default();
        assert_eq!(s.variance(), 0.0);
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            s.update(x);
        }
        assert_eq!(s.mean, 5.0);
        assert!((s.variance() - 32.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn merge_equals_sequential() {
        let xs: Vec<f64> = (0..100).map(|i| ((i * 37) % 11) as f64 * 1.5).collect();
        let mut all = RunningStats::default();
        let (mut a, mut b) = (RunningStats::default(), RunningStats::default());
        for (i, x) in xs.iter().enumerate() {
            all.update(*x);
            if i < 40 {
                a.update(*x)
            } else {
                b.update(*x)
            }
        }
        let m = a.merge(&b);
        assert_eq!(m.n, all.n);
        assert!((m.mean - all.mean).abs() < 1e-12);
        assert!((m.variance() - all.variance()).abs() < 1e-9);
    }

    #[test]
    fn ewma_first_value_seeds() {
        let mut e = Ewma::new(0.5);
        e.update(10.0);
        assert_eq!((e.mean, e.var), (10.0, 0.0));
        e.update(20.0);
        assert_eq!(e.mean, 15.0);
        assert_eq!(e.var, 0.5 * (0.0 + 10.0 * 5.0));
    }

    #[test]
    fn window_median_and_mad_match_naive() {
        let mut w = RollingWindow::new(7);
        let mut seed = 12345u64;
        let mut hist = Vec::new();
        for _ in 0..500 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = (seed % 17) as f64 - 5.0;
            w.update(x);
            hist.push(x);
            let win: Vec<f64> = hist.iter().rev().take(7).copied().collect();
            let med = naive_median(win.clone());
            let mad = naive_median(win.iter().map(|v| (v - med).abs()).collect());
            assert_eq!(w.median(), med);
            assert_eq!(w.mad(), mad);
        }
    }

    #[test]
    fn score_is_before_update_and_respects_warmup() {
        let mut d = Detector::new(DetectorKind::Zscore, 3);
        assert_eq!(d.score_then_update(1.0), 0.0);
        assert_eq!(d.score_then_update(2.0), 0.0);
        assert_eq!(d.score_then_update(3.0), 0.0); // not ready before this value
                                                   // baseline [1,2,3]: mean 2, std 1 → (10-2)/1
        assert_eq!(d.score_then_update(10.0), 8.0);
        assert_eq!(d.score_then_update(f64::NAN), 0.0);
        assert_eq!(d.count(), 4);
    }

    #[test]
    fn mad_scores_against_the_old_window() {
        let mut d = Detector::new(DetectorKind::Mad { window: 5 }, 0);
        for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
            d.score_then_update(x);
        }
        // median 3, MAD 1
        assert_eq!(d.score_then_update(13.0), MAD_SCALE * 10.0);
    }
}
