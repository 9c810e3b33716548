//! `SentinelCore`: the state and hot loop of the reference's `Sentinel` (one baseline per
//! metric name, created lazily up to `max_metrics`, scored before it learns; an optional
//! semantic detector; `last_scores`; `events_observed`), behind the Python class
//! `trace_sentinel.Sentinel`.
//!
//! The reference's extractors are small Python classes (`trace_sentinel.extractors`);
//! when the sentinel meets one of the built-in classes exactly (not a subclass) on a
//! native `Event`, it computes that extractor's metrics here from the object's current
//! settings (`name`, `fields`, `prefix`, `per_source` and the `_last` clock dict) instead
//! of calling it. Any other extractor, detector, semantic detector or event type is
//! called through Python with the reference's protocol, in the reference's order. Metric
//! order, the metric cap, duplicate names and every score equal the reference's.

use crate::baseline::{MADDetector, ZScoreDetector};
use crate::event::{as_event, Event};
use crate::exclusive::Exclusive;
use crate::semantic::SemanticNoveltyDetector;
use crate::time;
use ahash::AHashMap;
use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};
use trace_sentinel_core::{Detector, DetectorKind, Severity};
use trace_sentinel_pycompat::pyfmt;

/// The metric name of semantic novelty.
pub(crate) const SEMANTIC_METRIC: &str = "message.semantic_novelty";

/// Python classes the native code recognises or builds, registered once by the package
/// (`trace_sentinel/_registry.py`) before any sentinel exists.
pub(crate) struct Registry {
    pub(crate) length: Py<PyType>,
    pub(crate) tokens: Py<PyType>,
    pub(crate) numeric: Py<PyType>,
    pub(crate) interarrival: Py<PyType>,
    pub(crate) composite: Py<PyType>,
    pub(crate) anomaly: Py<PyType>,
    /// `Severity.WARNING`, `HIGH`, `CRITICAL`.
    pub(crate) severities: [Py<PyAny>; 3],
}

static REGISTRY: PyOnceLock<Registry> = PyOnceLock::new();

/// Register the package's Python classes (called once, from `trace_sentinel/__init__`).
#[pyfunction]
#[pyo3(signature = (*, length, tokens, numeric, interarrival, composite, anomaly, severity))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn _register(
    py: Python<'_>,
    length: Py<PyType>,
    tokens: Py<PyType>,
    numeric: Py<PyType>,
    interarrival: Py<PyType>,
    composite: Py<PyType>,
    anomaly: Py<PyType>,
    severity: Bound<'_, PyType>,
) -> PyResult<()> {
    let member = |name: &str| severity.getattr(name).map(Bound::unbind);
    let reg = Registry {
        length,
        tokens,
        numeric,
        interarrival,
        composite,
        anomaly,
        severities: [member("WARNING")?, member("HIGH")?, member("CRITICAL")?],
    };
    let _ = REGISTRY.set(py, reg);
    Ok(())
}

pub(crate) fn registry(py: Python<'_>) -> PyResult<&Registry> {
    REGISTRY
        .get(py)
        .ok_or_else(|| PyRuntimeError::new_err("trace_sentinel is not initialised"))
}

/// The Python `Severity` member of a native severity.
pub(crate) fn severity_member(reg: &Registry, s: Severity) -> &Py<PyAny> {
    match s {
        Severity::Warning => &reg.severities[0],
        Severity::High => &reg.severities[1],
        Severity::Critical => &reg.severities[2],
    }
}

/// The reference's explanation of an anomaly.
pub(crate) fn explanation(
    metric: &str,
    value: f64,
    score: f64,
    threshold: f64,
    semantic: bool,
) -> String {
    let mut out = String::with_capacity(96);
    let direction = if score > 0.0 { "above" } else { "below" };
    if semantic {
        out.push_str("message is semantically novel: ");
        pyfmt::write_fixed(&mut out, score.abs(), 1);
        out.push_str("σ ");
        out.push_str(direction);
        out.push_str(" the learned baseline of normal log text");
    } else {
        out.push_str(metric);
        out.push_str(" = ");
        pyfmt::write_general(&mut out, value, 3);
        out.push_str(" is ");
        pyfmt::write_fixed(&mut out, score.abs(), 1);
        out.push_str("σ ");
        out.push_str(direction);
        out.push_str(" baseline (threshold ");
        pyfmt::write_fixed(&mut out, threshold, 1);
        out.push_str("σ)");
    }
    out
}

/// `Anomaly(metric, value, score, severity, event, explanation)`.
pub(crate) fn make_anomaly<'py>(
    py: Python<'py>,
    metric: &Bound<'py, PyAny>,
    value: f64,
    score: f64,
    threshold: f64,
    event: &Bound<'py, PyAny>,
    semantic: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let reg = registry(py)?;
    let severity = severity_member(reg, Severity::from_score(score, threshold));
    let name = metric.str()?;
    let text = explanation(name.to_str()?, value, score, threshold, semantic);
    reg.anomaly
        .bind(py)
        .call1((metric, value, score, severity.bind(py), event, text))
}

/// One metric's detector.
enum Slot {
    /// Built by the default factory: no Python object at all.
    Builtin(Exclusive<Detector>),
    /// A native detector object returned by a user's factory.
    ZScore(Py<ZScoreDetector>),
    /// A native MAD detector returned by a user's factory.
    Mad(Py<MADDetector>),
    /// Any other object: `ready` and `update_and_score` through Python.
    Python(Py<PyAny>),
}

impl Slot {
    /// `(ready before, score)`.
    fn score(&mut self, py: Python<'_>, value: f64) -> PyResult<(bool, f64)> {
        match self {
            Slot::Builtin(d) => {
                let d = d.get_mut();
                let ready = d.ready();
                Ok((ready, d.score_then_update(value)))
            }
            Slot::ZScore(d) => {
                let mut d = d.bind(py).try_borrow_mut()?;
                let d = d.inner.get_mut();
                let ready = d.ready();
                Ok((ready, d.score_then_update(value)))
            }
            Slot::Mad(d) => {
                let mut d = d.bind(py).try_borrow_mut()?;
                let d = d.inner.get_mut();
                let ready = d.ready();
                Ok((ready, d.score_then_update(value)))
            }
            Slot::Python(d) => {
                let d = d.bind(py);
                let ready = d.getattr(intern!(py, "ready"))?.is_truthy()?;
                let score = d
                    .call_method1(intern!(py, "update_and_score"), (value,))?
                    .extract::<f64>()?;
                Ok((ready, score))
            }
        }
    }

    fn ready(&mut self, py: Python<'_>) -> PyResult<bool> {
        match self {
            Slot::Builtin(d) => Ok(d.get_mut().ready()),
            Slot::ZScore(d) => Ok(d.bind(py).try_borrow_mut()?.inner.get_mut().ready()),
            Slot::Mad(d) => Ok(d.bind(py).try_borrow_mut()?.inner.get_mut().ready()),
            Slot::Python(d) => d.bind(py).getattr(intern!(py, "ready"))?.is_truthy(),
        }
    }
}

/// Where a metric of the event being extracted stands.
#[derive(Clone, Copy)]
enum Pending {
    /// An existing detector.
    Known(usize),
    /// A name first seen in this event (index into `new_names`).
    New(usize),
}

/// A key of `last_scores`, in first-insertion order.
#[derive(Clone, Copy)]
enum ScoreKey {
    Metric(usize),
    Semantic,
}

/// The semantic layer.
enum Semantic {
    Native(Py<SemanticNoveltyDetector>),
    Python(Py<PyAny>),
}

/// The state behind one `trace_sentinel.Sentinel`.
#[pyclass(module = "trace_sentinel._native")]
pub struct SentinelCore {
    threshold: f64,
    max_metrics: usize,
    events_observed: u64,
    extractor: Py<PyAny>,
    factory: Option<Py<PyAny>>,
    default_kind: DetectorKind,
    default_warmup: u64,
    semantic: Option<Semantic>,
    slots: Vec<Slot>,
    names: Vec<Py<PyString>>,
    index: AHashMap<String, usize>,
    /// Per slot: the number of the event that last produced it (duplicate names).
    stamp_of: Vec<u64>,
    stamp: u64,
    last: Vec<Option<f64>>,
    semantic_last: Option<f64>,
    order: Vec<ScoreKey>,
    pending: Vec<(Pending, f64)>,
    new_names: Vec<(String, Py<PyString>)>,
    /// By position among an event's metrics: the name object seen there last time and
    /// its slot. Extractors hand out the same name object event after event (their
    /// `name` attribute), so an identity check usually replaces hashing the name.
    recent: Vec<Option<(Py<PyString>, usize)>>,
    /// Metrics pushed so far for the event being extracted.
    pushed: usize,
}

impl SentinelCore {
    /// Add one extracted metric, merging a repeated name like `dict.update`.
    fn push(&mut self, py: Python<'_>, name: &Bound<'_, PyAny>, value: f64) -> PyResult<()> {
        let pos = self.pushed;
        self.pushed += 1;
        if let (Ok(s), Some(Some((seen, i)))) = (name.cast::<PyString>(), self.recent.get(pos)) {
            if seen.bind(py).is(s) {
                self.push_known(*i, value);
                return Ok(());
            }
        }
        let name_str = match name.cast::<PyString>() {
            Ok(s) => s.clone(),
            Err(_) => name.str()?,
        };
        let text = name_str.to_cow()?;
        if let Some(&i) = self.index.get(text.as_ref()) {
            if pos >= self.recent.len() {
                self.recent.resize_with(pos + 1, || None);
            }
            self.recent[pos] = Some((name_str.clone().unbind(), i));
            self.push_known(i, value);
            return Ok(());
        }
        if let Some(j) = self.new_names.iter().position(|(n, _)| n == text.as_ref()) {
            for p in self.pending.iter_mut() {
                if matches!(p.0, Pending::New(k) if k == j) {
                    p.1 = value;
                }
            }
            return Ok(());
        }
        self.new_names.push((text.into_owned(), name_str.unbind()));
        self.pending
            .push((Pending::New(self.new_names.len() - 1), value));
        let _ = py;
        Ok(())
    }

    /// Add a value of the metric in slot `i`; a second value of it in the same event
    /// replaces the first (`dict.update`).
    fn push_known(&mut self, i: usize, value: f64) {
        if self.stamp_of[i] == self.stamp {
            for p in self.pending.iter_mut() {
                if matches!(p.0, Pending::Known(j) if j == i) {
                    p.1 = value;
                }
            }
        } else {
            self.stamp_of[i] = self.stamp;
            self.pending.push((Pending::Known(i), value));
        }
    }

    /// Push every item of a dict-like result of `extract`.
    fn push_items(&mut self, py: Python<'_>, out: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(d) = out.cast::<PyDict>() {
            for (k, v) in d.iter() {
                let v: f64 = v.extract()?;
                self.push(py, &k, v)?;
            }
            return Ok(());
        }
        for item in out.call_method0(intern!(py, "items"))?.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let v: f64 = v.extract()?;
            self.push(py, &k, v)?;
        }
        Ok(())
    }

    /// The metrics of `event` from the configured extractor, into `pending`.
    fn extract(&mut self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<()> {
        self.stamp += 1;
        self.pending.clear();
        self.new_names.clear();
        self.pushed = 0;
        let reg = registry(py)?;
        let extractor = self.extractor.clone_ref(py).into_bound(py);
        let native = as_event(event);
        if extractor.get_type().is(reg.composite.bind(py)) {
            let members = extractor.getattr(intern!(py, "_extractors"))?;
            if let Ok(list) = members.cast::<PyList>() {
                for e in list.iter() {
                    self.extract_one(py, reg, &e, event, native)?;
                }
            } else {
                for e in members.try_iter()? {
                    self.extract_one(py, reg, &e?, event, native)?;
                }
            }
            Ok(())
        } else {
            self.extract_one(py, reg, &extractor, event, native)
        }
    }

    /// One extractor: natively for a built-in class on a native event, else its
    /// `extract` method.
    fn extract_one(
        &mut self,
        py: Python<'_>,
        reg: &Registry,
        e: &Bound<'_, PyAny>,
        event: &Bound<'_, PyAny>,
        native: Option<&Bound<'_, Event>>,
    ) -> PyResult<()> {
        if let Some(ev) = native {
            let ev = ev.get();
            let t = e.get_type();
            if t.is(reg.length.bind(py)) {
                if let Ok(msg) = ev.message.bind(py).cast::<PyString>() {
                    let name = e.getattr(intern!(py, "name"))?;
                    let n = msg.len()? as f64;
                    return self.push(py, &name, n);
                }
            } else if t.is(reg.tokens.bind(py)) {
                if let Ok(msg) = ev.message.bind(py).cast::<PyString>() {
                    let name = e.getattr(intern!(py, "name"))?;
                    let n = match msg.to_str() {
                        Ok(s) => trace_sentinel_core::extract::chars_and_words(s).1,
                        Err(_) => {
                            trace_sentinel_pycompat::unicode::count_words(&msg.to_string_lossy())
                        }
                    };
                    return self.push(py, &name, n as f64);
                }
            } else if t.is(reg.numeric.bind(py)) {
                let attrs = ev.attributes.bind(py);
                if let Ok(attrs) = attrs.cast_exact::<PyDict>() {
                    if attrs.is_empty() {
                        return Ok(());
                    }
                    let fields = e.getattr(intern!(py, "fields"))?;
                    let prefix = e.getattr(intern!(py, "prefix"))?;
                    let prefix = prefix.str()?;
                    let prefix = prefix.to_cow()?;
                    for (k, v) in attrs.iter() {
                        let Some(v) = crate::event::numeric_value(&v)? else {
                            continue;
                        };
                        if !fields.is_none() && !fields.contains(&k)? {
                            continue;
                        }
                        let key = k.str()?;
                        let name = format!("{prefix}{}", key.to_cow()?);
                        self.push(py, PyString::new(py, &name).as_any(), v)?;
                    }
                    return Ok(());
                }
            } else if t.is(reg.interarrival.bind(py)) {
                let last = e.getattr(intern!(py, "_last"))?;
                if let Ok(last) = last.cast::<PyDict>() {
                    let per_source = e.getattr(intern!(py, "per_source"))?.is_truthy()?;
                    let key = if per_source {
                        ev.source.bind(py).clone()
                    } else {
                        intern!(py, "_global").clone().into_any()
                    };
                    let ts = time::epoch_seconds(ev.timestamp.bind(py))?;
                    let prev = last.get_item(&key)?;
                    last.set_item(&key, ts)?;
                    if let Some(prev) = prev {
                        let prev: f64 = prev.extract()?;
                        let d = ts - prev;
                        let name = e.getattr(intern!(py, "name"))?;
                        return self.push(py, &name, if d > 0.0 { d } else { 0.0 });
                    }
                    return Ok(());
                }
            }
        }
        let out = e.call_method1(intern!(py, "extract"), (event,))?;
        self.push_items(py, &out)
    }

    /// A detector for a new metric: the user's factory, or the built-in kind.
    fn new_slot(&self, py: Python<'_>) -> PyResult<Slot> {
        let Some(factory) = &self.factory else {
            return Ok(Slot::Builtin(Exclusive::new(Detector::new(
                self.default_kind,
                self.default_warmup,
            ))));
        };
        let det = factory.bind(py).call0()?;
        if let Ok(z) = det.cast_exact::<ZScoreDetector>() {
            return Ok(Slot::ZScore(z.clone().unbind()));
        }
        if let Ok(m) = det.cast_exact::<MADDetector>() {
            return Ok(Slot::Mad(m.clone().unbind()));
        }
        Ok(Slot::Python(det.unbind()))
    }

    /// Score the pending metrics (and the semantic layer) of `event`; with `live`, record
    /// last scores and build anomalies into `out`.
    fn score_pending(
        &mut self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        live: bool,
        out: Option<&Bound<'_, PyList>>,
    ) -> PyResult<()> {
        let pending = std::mem::take(&mut self.pending);
        let result = self.score_each(py, event, live, out, &pending);
        self.pending = pending;
        result?;
        if self.semantic.is_some() {
            self.score_semantic(py, event, live, out)?;
        }
        Ok(())
    }

    fn score_each(
        &mut self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        live: bool,
        out: Option<&Bound<'_, PyList>>,
        pending: &[(Pending, f64)],
    ) -> PyResult<()> {
        for &(key, value) in pending {
            let i = match key {
                Pending::Known(i) => i,
                Pending::New(j) => {
                    if self.slots.len() >= self.max_metrics {
                        continue;
                    }
                    let slot = self.new_slot(py)?;
                    let (name, obj) = &self.new_names[j];
                    let i = self.slots.len();
                    self.index.insert(name.clone(), i);
                    self.names.push(obj.clone_ref(py));
                    self.slots.push(slot);
                    self.stamp_of.push(self.stamp);
                    self.last.push(None);
                    i
                }
            };
            let (ready, score) = self.slots[i].score(py, value)?;
            if !live {
                continue;
            }
            if self.last[i].is_none() {
                self.order.push(ScoreKey::Metric(i));
            }
            self.last[i] = Some(score);
            if ready && score.abs() >= self.threshold {
                if let Some(out) = out {
                    let name = self.names[i].bind(py).clone().into_any();
                    out.append(make_anomaly(
                        py,
                        &name,
                        value,
                        score,
                        self.threshold,
                        event,
                        false,
                    )?)?;
                }
            }
        }
        Ok(())
    }

    fn score_semantic(
        &mut self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        live: bool,
        out: Option<&Bound<'_, PyList>>,
    ) -> PyResult<()> {
        let message = match as_event(event) {
            Some(ev) => ev.get().message.bind(py).clone(),
            None => event.getattr(intern!(py, "message"))?,
        };
        let (ready, score) = match &self.semantic {
            None => return Ok(()),
            Some(Semantic::Native(d)) => {
                let mut d = d.bind(py).try_borrow_mut()?;
                let ready = d.is_ready();
                (ready, d.score(&message)?)
            }
            Some(Semantic::Python(d)) => {
                let d = d.bind(py);
                let ready = d.getattr(intern!(py, "ready"))?.is_truthy()?;
                let score = d
                    .call_method1(intern!(py, "update_and_score"), (&message,))?
                    .extract::<f64>()?;
                (ready, score)
            }
        };
        if !live {
            return Ok(());
        }
        if self.semantic_last.is_none() {
            self.order.push(ScoreKey::Semantic);
        }
        self.semantic_last = Some(score);
        if ready && score.abs() >= self.threshold {
            if let Some(out) = out {
                let name = intern!(py, SEMANTIC_METRIC).clone().into_any();
                out.append(make_anomaly(
                    py,
                    &name,
                    score,
                    score,
                    self.threshold,
                    event,
                    true,
                )?)?;
            }
        }
        Ok(())
    }

    fn observe_into(
        &mut self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        out: &Bound<'_, PyList>,
    ) -> PyResult<()> {
        self.events_observed += 1;
        self.extract(py, event)?;
        self.score_pending(py, event, true, Some(out))
    }

    fn semantic_object(py: Python<'_>, semantic: Option<Bound<'_, PyAny>>) -> Option<Semantic> {
        let s = semantic?;
        if s.is_none() {
            return None;
        }
        let _ = py;
        Some(match s.cast_exact::<SemanticNoveltyDetector>() {
            Ok(d) => Semantic::Native(d.clone().unbind()),
            Err(_) => Semantic::Python(s.unbind()),
        })
    }
}

#[pymethods]
impl SentinelCore {
    /// `kind` is the built-in detector of the default factory: `("zscore",)`,
    /// `("ewma", alpha)` or `("mad", window)`.
    #[new]
    #[pyo3(signature = (*, extractor, factory, threshold, warmup, max_metrics, semantic, kind))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        extractor: Py<PyAny>,
        factory: Option<Py<PyAny>>,
        threshold: f64,
        warmup: &Bound<'_, PyAny>,
        max_metrics: usize,
        semantic: Option<Bound<'_, PyAny>>,
        kind: &Bound<'_, PyTuple>,
    ) -> PyResult<Self> {
        let name: String = kind.get_item(0)?.extract()?;
        let default_kind = match name.as_str() {
            "ewma" => {
                let alpha: f64 = kind.get_item(1)?.extract()?;
                crate::baseline::check_alpha(alpha)?;
                DetectorKind::Ewma { alpha }
            }
            "mad" => DetectorKind::Mad {
                window: crate::baseline::check_window(kind.get_item(1)?.extract()?)?,
            },
            _ => DetectorKind::Zscore,
        };
        Ok(SentinelCore {
            threshold,
            max_metrics,
            events_observed: 0,
            extractor,
            factory,
            default_kind,
            default_warmup: crate::baseline::warmup_arg(warmup)?,
            semantic: Self::semantic_object(py, semantic),
            slots: Vec::new(),
            names: Vec::new(),
            index: AHashMap::new(),
            stamp_of: Vec::new(),
            stamp: 0,
            last: Vec::new(),
            semantic_last: None,
            order: Vec::new(),
            pending: Vec::new(),
            new_names: Vec::new(),
            recent: Vec::new(),
            pushed: 0,
        })
    }

    /// Process one event, returning the anomalies it triggers.
    fn observe<'py>(
        &mut self,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        self.observe_into(py, event, &out)?;
        Ok(out)
    }

    /// Process events in order, returning all their anomalies in one list.
    fn observe_many<'py>(
        &mut self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        if let Ok(list) = events.cast::<PyList>() {
            for ev in list.iter() {
                self.observe_into(py, &ev, &out)?;
            }
        } else {
            for ev in events.try_iter()? {
                self.observe_into(py, &ev?, &out)?;
            }
        }
        Ok(out)
    }

    /// Learn from events without alerting; returns how many were consumed.
    fn prime(&mut self, py: Python<'_>, events: &Bound<'_, PyAny>) -> PyResult<u64> {
        let mut count = 0;
        for ev in events.try_iter()? {
            let ev = ev?;
            self.extract(py, &ev)?;
            self.score_pending(py, &ev, false, None)?;
            count += 1;
        }
        Ok(count)
    }

    /// Sorted names of the metrics with a baseline.
    fn metrics(&self) -> Vec<String> {
        let mut names: Vec<String> = self.index.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// The last score of every metric, in first-scored order.
    fn last_scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for key in &self.order {
            match *key {
                ScoreKey::Metric(i) => {
                    out.set_item(self.names[i].bind(py), self.last[i].unwrap_or(0.0))?
                }
                ScoreKey::Semantic => {
                    out.set_item(SEMANTIC_METRIC, self.semantic_last.unwrap_or(0.0))?
                }
            }
        }
        Ok(out)
    }

    /// `{metric: {"sigma": float, "ready": bool}}`, metrics in creation order, then the
    /// semantic layer.
    fn metric_states<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for i in 0..self.slots.len() {
            let state = PyDict::new(py);
            state.set_item("sigma", self.last[i].unwrap_or(0.0))?;
            state.set_item("ready", self.slots[i].ready(py)?)?;
            out.set_item(self.names[i].bind(py), state)?;
        }
        if let Some(sem) = &self.semantic {
            let ready = match sem {
                Semantic::Native(d) => d.bind(py).try_borrow()?.is_ready(),
                Semantic::Python(d) => d.bind(py).getattr(intern!(py, "ready"))?.is_truthy()?,
            };
            let state = PyDict::new(py);
            state.set_item("sigma", self.semantic_last.unwrap_or(0.0))?;
            state.set_item("ready", ready)?;
            out.set_item(SEMANTIC_METRIC, state)?;
        }
        Ok(out)
    }

    #[getter]
    fn get_threshold(&self) -> f64 {
        self.threshold
    }

    #[setter]
    fn set_threshold(&mut self, value: f64) {
        self.threshold = value;
    }

    #[getter]
    fn get_max_metrics(&self) -> usize {
        self.max_metrics
    }

    #[setter]
    fn set_max_metrics(&mut self, value: usize) {
        self.max_metrics = value;
    }

    #[getter]
    fn get_events_observed(&self) -> u64 {
        self.events_observed
    }

    #[setter]
    fn set_events_observed(&mut self, value: u64) {
        self.events_observed = value;
    }

    #[getter]
    fn get_extractor(&self, py: Python<'_>) -> Py<PyAny> {
        self.extractor.clone_ref(py)
    }

    #[setter]
    fn set_extractor(&mut self, value: Py<PyAny>) {
        self.extractor = value;
    }

    #[getter]
    fn get_semantic(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.semantic {
            None => None,
            Some(Semantic::Native(d)) => Some(d.clone_ref(py).into_any()),
            Some(Semantic::Python(d)) => Some(d.clone_ref(py)),
        }
    }

    #[setter]
    fn set_semantic(&mut self, py: Python<'_>, value: Option<Bound<'_, PyAny>>) {
        self.semantic = Self::semantic_object(py, value);
    }

    /// A default semantic detector with this sentinel's warmup.
    #[staticmethod]
    fn default_semantic(warmup: &Bound<'_, PyAny>) -> PyResult<SemanticNoveltyDetector> {
        Ok(SemanticNoveltyDetector::with_warmup(
            crate::baseline::warmup_arg(warmup)?,
        ))
    }
}
