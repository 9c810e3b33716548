//! The reference's baselines and single-metric detectors as native classes over the
//! engine's own: `RunningStats`, `EWMA`, `RollingWindow` (`trace_sentinel.baseline`) and
//! `ZScoreDetector`, `MADDetector` (`trace_sentinel.detectors`), with the reference's
//! constructor arguments, defaults, `ValueError`s and properties. The arithmetic is
//! `trace_sentinel_core::detect`'s, which follows the reference operation for operation.

use crate::exclusive::Exclusive;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use trace_sentinel_core::detect::{
    Ewma as EwmaStats, RollingWindow as Window, RunningStats as Welford,
};
use trace_sentinel_core::{Detector, DetectorKind};

/// A warmup given as any real number: observations needed, `n >= warmup` (a negative
/// warmup is 0, a fractional one rounds up).
pub(crate) fn warmup_arg(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(n) = value.extract::<i64>() {
        return Ok(u64::try_from(n).unwrap_or(0));
    }
    let x: f64 = value.extract()?;
    if x.is_nan() {
        // `n >= nan` is never true: the detector never becomes ready.
        return Ok(u64::MAX);
    }
    Ok(if x <= 0.0 {
        0
    } else {
        x.ceil().min(u64::MAX as f64) as u64
    })
}

pub(crate) fn check_alpha(alpha: f64) -> PyResult<()> {
    if alpha > 0.0 && alpha <= 1.0 {
        Ok(())
    } else {
        Err(PyValueError::new_err("alpha must be in (0, 1]"))
    }
}

pub(crate) fn check_window(size: i64) -> PyResult<usize> {
    if size < 2 {
        return Err(PyValueError::new_err("size must be >= 2"));
    }
    usize::try_from(size).map_err(|_| PyValueError::new_err("size is too large"))
}

/// Welford's online mean and sample variance.
#[pyclass(module = "trace_sentinel.baseline", name = "RunningStats", subclass)]
#[derive(Default)]
pub struct RunningStats {
    pub(crate) inner: Welford,
}

#[pymethods]
impl RunningStats {
    #[new]
    fn new() -> Self {
        RunningStats::default()
    }

    /// Fold one value in.
    fn update(&mut self, x: f64) {
        self.inner.update(x);
    }

    /// Values seen.
    #[getter]
    fn n(&self) -> u64 {
        self.inner.n
    }

    /// Running mean.
    #[getter]
    fn mean(&self) -> f64 {
        self.inner.mean
    }

    /// Sample variance (Bessel-corrected); 0 until two values are seen.
    #[getter]
    fn variance(&self) -> f64 {
        self.inner.variance()
    }

    /// Standard deviation.
    #[getter]
    fn std(&self) -> f64 {
        self.inner.std()
    }

    fn __repr__(&self) -> String {
        format!("RunningStats(n={}, mean={})", self.inner.n, self.inner.mean)
    }
}

/// Exponentially weighted mean and variance for drifting streams.
#[pyclass(module = "trace_sentinel.baseline", name = "EWMA", subclass)]
pub struct Ewma {
    inner: EwmaStats,
}

#[pymethods]
impl Ewma {
    #[new]
    #[pyo3(signature = (alpha=0.05))]
    fn new(alpha: f64) -> PyResult<Self> {
        check_alpha(alpha)?;
        Ok(Ewma {
            inner: EwmaStats::new(alpha),
        })
    }

    /// Fold one value in.
    fn update(&mut self, x: f64) {
        self.inner.update(x);
    }

    /// Smoothing factor in (0, 1].
    #[getter]
    fn alpha(&self) -> f64 {
        self.inner.alpha
    }

    /// Values seen.
    #[getter]
    fn n(&self) -> u64 {
        self.inner.n
    }

    /// Weighted mean.
    #[getter]
    fn mean(&self) -> f64 {
        self.inner.mean
    }

    /// Weighted variance.
    #[getter]
    fn variance(&self) -> f64 {
        self.inner.var
    }

    /// Standard deviation.
    #[getter]
    fn std(&self) -> f64 {
        self.inner.std()
    }

    fn __repr__(&self) -> String {
        format!("EWMA(alpha={}, n={})", self.inner.alpha, self.inner.n)
    }
}

/// A bounded window of recent values with robust statistics (median, MAD).
#[pyclass(module = "trace_sentinel.baseline", name = "RollingWindow", subclass)]
pub struct RollingWindow {
    inner: Window,
}

#[pymethods]
impl RollingWindow {
    #[new]
    #[pyo3(signature = (size=256))]
    fn new(size: i64) -> PyResult<Self> {
        Ok(RollingWindow {
            inner: Window::new(check_window(size)?),
        })
    }

    /// Append a value, evicting the oldest once full.
    fn update(&mut self, x: f64) {
        self.inner.update(x);
    }

    /// Values held.
    #[getter]
    fn n(&self) -> usize {
        self.inner.len()
    }

    /// Median of the window (0 when empty).
    #[getter]
    fn median(&mut self) -> f64 {
        self.inner.median()
    }

    /// Median absolute deviation from the median (0 when empty).
    #[getter]
    fn mad(&mut self) -> f64 {
        self.inner.mad()
    }

    fn __repr__(&self) -> String {
        format!(
            "RollingWindow(size={}, n={})",
            self.inner.size(),
            self.inner.len()
        )
    }
}

/// The score-before-update step shared by the detector classes.
fn score(detector: &mut Detector, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    let v: f64 = value.extract()?;
    Ok(detector.score_then_update(v))
}

/// A detector's settings as the engine names them.
fn describe(kind: DetectorKind, warmup: u64) -> (&'static str, f64, u64) {
    match kind {
        DetectorKind::Zscore => ("zscore", 0.0, warmup),
        DetectorKind::Ewma { alpha } => ("ewma", alpha, warmup),
        DetectorKind::Mad { window } => ("mad", window as f64, warmup),
    }
}

/// Z-score detector over Welford running stats, or over an EWMA with `drift=True`.
#[pyclass(module = "trace_sentinel.detectors", name = "ZScoreDetector", subclass)]
pub struct ZScoreDetector {
    pub(crate) inner: Exclusive<Detector>,
    kind: DetectorKind,
    warmup: u64,
}

#[pymethods]
impl ZScoreDetector {
    #[new]
    #[pyo3(signature = (*, warmup=None, drift=false, alpha=0.05))]
    fn new(warmup: Option<Bound<'_, PyAny>>, drift: bool, alpha: f64) -> PyResult<Self> {
        let warmup = warmup.map_or(Ok(30), |w| warmup_arg(&w))?;
        let kind = if drift {
            check_alpha(alpha)?;
            DetectorKind::Ewma { alpha }
        } else {
            DetectorKind::Zscore
        };
        Ok(ZScoreDetector {
            inner: Exclusive::new(Detector::new(kind, warmup)),
            kind,
            warmup,
        })
    }

    /// Score `value` in sigma against the baseline as it stood, then fold it in
    /// (non-finite values score 0 and are not learned).
    fn update_and_score(&mut self, value: &Bound<'_, PyAny>) -> PyResult<f64> {
        score(self.inner.get_mut(), value)
    }

    /// Whether the warmup is over.
    #[getter]
    fn ready(&mut self) -> bool {
        self.inner.get_mut().ready()
    }

    /// `(kind, parameter, warmup)` for the engine pipelines: `("zscore", 0.0, w)`,
    /// `("ewma", alpha, w)` or `("mad", window, w)`.
    fn _kind(&self) -> (&'static str, f64, u64) {
        describe(self.kind, self.warmup)
    }
}

/// Robust detector: modified z-score over a rolling window (median / MAD).
#[pyclass(module = "trace_sentinel.detectors", name = "MADDetector", subclass)]
pub struct MADDetector {
    pub(crate) inner: Exclusive<Detector>,
    kind: DetectorKind,
    warmup: u64,
}

#[pymethods]
impl MADDetector {
    #[new]
    #[pyo3(signature = (*, window=256, warmup=None))]
    fn new(window: i64, warmup: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        let warmup = warmup.map_or(Ok(30), |w| warmup_arg(&w))?;
        let window = check_window(window)?;
        let kind = DetectorKind::Mad { window };
        Ok(MADDetector {
            inner: Exclusive::new(Detector::new(kind, warmup)),
            kind,
            warmup,
        })
    }

    /// Score `value` in sigma against the window as it stood, then add it.
    fn update_and_score(&mut self, value: &Bound<'_, PyAny>) -> PyResult<f64> {
        score(self.inner.get_mut(), value)
    }

    /// Whether the warmup is over.
    #[getter]
    fn ready(&mut self) -> bool {
        self.inner.get_mut().ready()
    }

    /// `(kind, parameter, warmup)` for the engine pipelines: `("zscore", 0.0, w)`,
    /// `("ewma", alpha, w)` or `("mad", window, w)`.
    fn _kind(&self) -> (&'static str, f64, u64) {
        describe(self.kind, self.warmup)
    }
}
