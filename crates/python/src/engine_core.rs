//! `EngineCore`: the state behind a `trace_sentinel.Sentinel` built with the template
//! layer (`templates=True`) or per-source baselines (`shard_by="source"`). Those are the
//! engine's detect stage, so this class feeds the library's `Sentinel` facade (the same
//! `ShardSet` as `scan` and `watch`) instead of the reference-shaped loop of
//! `sentinel.rs`: each Python event becomes an engine event, and each anomaly the engine
//! reports becomes the package's `Anomaly` around the caller's own event object, with its
//! template where there is one.
//!
//! The package decides what the engine can compute (`Sentinel._engine_plan`): the
//! built-in metrics, the built-in detector kinds and the semantic layer. Two Python
//! extension points still plug in, both computed here before the engine sees the event:
//! extractors whose metrics the engine does not know (their results reach the engine
//! through a shared buffer read by a registered `Extractor`) and a semantic detector's
//! own embedding (an `embed_fn`, or a vectorizer dimension other than the engine's 256,
//! through a shared buffer read by a registered `Embedder`). Nothing here prints, and no
//! input makes it panic: Python errors propagate before the engine is touched.

use crate::event::{as_event, numeric_value};
use crate::exclusive::Exclusive;
use crate::semantic::Embedding;
use crate::sentinel::{registry, severity_member};
use crate::time;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use trace_sentinel_core::detect::{OVERFLOW_SHARD, SHARED_SHARD};
use trace_sentinel_core::sink::Sink;
use trace_sentinel_core::{
    Anomaly, Config, DetectorKind, Embedder, Event, Metrics, Sentinel, ShardBy, Timestamp,
};

/// Values computed in Python for the event being observed, read by the engine's
/// registered extractor or embedder while it featurizes that event.
type Shared<T> = Arc<Mutex<T>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Held only for a copy; a panic cannot happen while it is held.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The text of a Python string; each lone surrogate (which UTF-8 cannot hold) becomes
/// one U+FFFD, as the engine shows them in JSON-lines input.
fn owned_text(s: &Bound<'_, PyString>) -> PyResult<String> {
    if let Ok(text) = s.to_cow() {
        return Ok(text.into_owned());
    }
    let py = s.py();
    let raw = s.call_method1(intern!(py, "encode"), ("utf-16-le", "surrogatepass"))?;
    let raw = raw.cast::<PyBytes>()?.as_bytes();
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

/// The embedder that hands the engine the vector computed for the current event.
struct BufferedEmbedding(Shared<Vec<f64>>);

impl Embedder for BufferedEmbedding {
    fn embed(&mut self, _text: &str, out: &mut Vec<f64>) {
        out.extend_from_slice(&lock(&self.0));
    }
}

/// How the semantic layer's vectors are made.
enum Embed {
    /// The engine's own vectorizer (or no semantic layer).
    Builtin,
    /// The hashing vectorizer at another dimension.
    Dim(usize, Box<Embedding>),
    /// A Python `embed_fn`.
    Python(Py<PyAny>),
}

/// A sink that turns the engine's anomalies into the package's `Anomaly` objects around
/// the caller's event. A Python error stops further conversions and is raised after.
struct ToPython<'a, 'py> {
    event: &'a Bound<'py, PyAny>,
    out: &'a Bound<'py, PyList>,
    error: Option<PyErr>,
}

impl Sink for ToPython<'_, '_> {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        if self.error.is_none() {
            if let Err(e) = self.convert(a) {
                self.error = Some(e);
            }
        }
        Ok(())
    }
}

impl ToPython<'_, '_> {
    fn convert(&self, a: &Anomaly<'_>) -> PyResult<()> {
        let py = self.out.py();
        let reg = registry(py)?;
        let args = (
            a.metric,
            a.value,
            a.score,
            severity_member(reg, a.severity).bind(py),
            self.event,
            a.explanation(),
        );
        let anomaly = match a.context.template {
            None => reg.anomaly.bind(py).call1(args)?,
            Some(t) => {
                let kwargs = PyDict::new(py);
                kwargs.set_item(intern!(py, "template_id"), t.id)?;
                kwargs.set_item(intern!(py, "template"), t.text)?;
                kwargs.set_item(intern!(py, "level"), a.context.level.map(|l| l.name()))?;
                reg.anomaly.bind(py).call(args, Some(&kwargs))?
            }
        };
        self.out.append(anomaly)
    }
}

/// The state behind a `trace_sentinel.Sentinel` with templates or per-source shards.
#[pyclass(module = "trace_sentinel._native")]
pub struct EngineCore {
    sentinel: Exclusive<Sentinel>,
    /// Whether event attributes are scored (the default `NumericFieldExtractor`).
    attrs: bool,
    /// Python extractors whose metrics the engine scores as user metrics.
    extras: Vec<Py<PyAny>>,
    extra_buf: Shared<Metrics>,
    embed: Exclusive<Embed>,
    embed_buf: Shared<Vec<f64>>,
    events_observed: u64,
    /// The shard of the last observed event (its states are the ones reported).
    last_shard: Option<String>,
    /// The settings, for the Python side's getters.
    cfg: Config,
    /// The objects the sentinel was built with, handed back by its attributes.
    extractor: Py<PyAny>,
    semantic: Option<Py<PyAny>>,
}

impl EngineCore {
    /// The engine's event for a Python event; fills the extension points' buffers.
    fn engine_event(&mut self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<Event> {
        let (message, source, timestamp, attributes) = match as_event(event) {
            Some(ev) => {
                let ev = ev.get();
                (
                    ev.message.bind(py).clone(),
                    ev.source.bind(py).clone(),
                    ev.timestamp.bind(py).clone(),
                    Some(ev.attributes.bind(py).clone()),
                )
            }
            None => (
                event.getattr(intern!(py, "message"))?,
                event.getattr(intern!(py, "source"))?,
                event.getattr(intern!(py, "timestamp"))?,
                None,
            ),
        };
        let text = |obj: &Bound<'_, PyAny>| owned_text(obj.cast::<PyString>()?);
        let mut ev = Event::new(text(&message)?).source(text(&source)?);
        let ts = match time::utc_timestamp(&timestamp) {
            Some(ts) => Some(ts),
            None => Timestamp::from_epoch_seconds(time::epoch_seconds(&timestamp)?),
        };
        ev.timestamp = ts;
        if self.attrs {
            match attributes {
                Some(a) if a.cast_exact::<PyDict>().is_ok() => {
                    for (k, v) in a.cast_exact::<PyDict>()?.iter() {
                        if let Some(v) = numeric_value(&v)? {
                            ev.attributes.push((owned_text(&k.str()?)?, v));
                        }
                    }
                }
                _ => {
                    let numeric = event.call_method0(intern!(py, "numeric_attributes"))?;
                    for (k, v) in numeric.cast::<PyDict>()?.iter() {
                        ev.attributes
                            .push((owned_text(&k.str()?)?, v.extract::<f64>()?));
                    }
                }
            }
        }
        self.fill_extras(py, event)?;
        self.fill_embedding(py, &message, &ev.message)?;
        Ok(ev)
    }

    /// The Python extractors' metrics, merged like `dict.update` (a repeated name keeps
    /// its first position and its last value).
    fn fill_extras(&mut self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.extras.is_empty() {
            return Ok(());
        }
        let mut merged: Vec<(String, f64)> = Vec::new();
        for x in &self.extras {
            let out = x.bind(py).call_method1(intern!(py, "extract"), (event,))?;
            for item in out.call_method0(intern!(py, "items"))?.try_iter()? {
                let (k, v): (Bound<'_, PyAny>, f64) = item?.extract()?;
                let name = owned_text(&k.str()?)?;
                match merged.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = v,
                    None => merged.push((name, v)),
                }
            }
        }
        let mut buf = lock(&self.extra_buf);
        buf.clear();
        for (name, v) in &merged {
            buf.push(name, *v);
        }
        Ok(())
    }

    fn fill_embedding(
        &mut self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        text: &str,
    ) -> PyResult<()> {
        match self.embed.get_mut() {
            Embed::Builtin => Ok(()),
            Embed::Dim(dim, work) => {
                let mut buf = lock(&self.embed_buf);
                work.embed(text, (*dim, 3, 4096), &mut buf);
                Ok(())
            }
            Embed::Python(f) => {
                let out = f.bind(py).call1((message,))?;
                let mut vec = Vec::new();
                for x in out.try_iter()? {
                    vec.push(x?.extract::<f64>()?);
                }
                *lock(&self.embed_buf) = vec;
                Ok(())
            }
        }
    }

    /// The name of the shard `source` is routed to.
    fn shard_of(&mut self, source: &str) -> String {
        if self.cfg.shard_by == ShardBy::None {
            return SHARED_SHARD.to_string();
        }
        let known = self
            .sentinel
            .get_mut()
            .shards()
            .shards()
            .any(|(name, _)| name == source);
        if known {
            source.to_string()
        } else {
            OVERFLOW_SHARD.to_string()
        }
    }

    fn observe_into(
        &mut self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        out: &Bound<'_, PyList>,
    ) -> PyResult<()> {
        let ev = self.engine_event(py, event)?;
        self.events_observed += 1;
        let mut sink = ToPython {
            event,
            out,
            error: None,
        };
        // The sink itself never fails.
        let _ = self.sentinel.get_mut().observe_into(&ev, &mut sink);
        if self.last_shard.as_deref() != Some(ev.source.as_str()) {
            self.last_shard = Some(ev.source);
        }
        match sink.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `(metric, sigma, ready)` of the shard that observed `source` (default: the last
    /// event's), in creation order.
    fn states(&mut self, source: Option<&str>) -> Vec<(String, f64, bool)> {
        let Some(source) = source
            .map(str::to_string)
            .or_else(|| self.last_shard.clone())
        else {
            return Vec::new();
        };
        let shard = self.shard_of(&source);
        self.sentinel
            .get_mut()
            .shards()
            .shards()
            .find(|(name, _)| *name == shard)
            .map(|(_, s)| s.metric_states())
            .unwrap_or_default()
    }
}

#[pymethods]
impl EngineCore {
    /// Settings as `trace_sentinel.Sentinel._engine_plan` computed them; `extras` are
    /// Python extractors, `embed` is None (the engine's vectorizer), a dimension or an
    /// `embed_fn`.
    #[new]
    #[pyo3(signature = (*, extractor, semantic_object, threshold, warmup, detector, alpha, window, semantic, templates, max_templates, shard_by, max_sources, max_metrics, timed, attrs, extras, embed))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        extractor: Py<PyAny>,
        semantic_object: Option<Py<PyAny>>,
        threshold: f64,
        warmup: u64,
        detector: &str,
        alpha: f64,
        window: usize,
        semantic: bool,
        templates: bool,
        max_templates: usize,
        shard_by: &str,
        max_sources: usize,
        max_metrics: usize,
        timed: bool,
        attrs: bool,
        extras: Vec<Py<PyAny>>,
        embed: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let detector = match detector {
            "zscore" => DetectorKind::Zscore,
            "ewma" => DetectorKind::Ewma { alpha },
            "mad" => DetectorKind::Mad { window },
            other => {
                return Err(PyValueError::new_err(format!(
                    "detector must be 'zscore', 'ewma' or 'mad', not {other:?}"
                )))
            }
        };
        let shard_by = match shard_by {
            "source" => ShardBy::Source,
            "none" => ShardBy::None,
            other => {
                return Err(PyValueError::new_err(format!(
                    "shard_by must be 'none' or 'source', not {other:?}"
                )))
            }
        };
        let cfg = Config {
            threshold,
            warmup,
            detector,
            semantic,
            timed,
            shard_by,
            max_sources,
            max_metrics,
            templates,
            max_templates,
            ..Config::default()
        };
        let embed = match embed {
            None => Embed::Builtin,
            Some(e) if e.is_none() => Embed::Builtin,
            Some(e) => match e.extract::<usize>() {
                Ok(256) => Embed::Builtin,
                Ok(dim) if dim >= 8 => Embed::Dim(dim, Box::default()),
                Ok(_) => return Err(PyValueError::new_err("dim must be >= 8")),
                Err(_) => Embed::Python(e.unbind()),
            },
        };
        let extra_buf: Shared<Metrics> = Arc::default();
        let embed_buf: Shared<Vec<f64>> = Arc::default();
        let mut builder = Sentinel::builder().config(cfg.clone());
        if !extras.is_empty() {
            let buf = Arc::clone(&extra_buf);
            builder = builder.extractor(move |_: &Event, out: &mut Metrics| {
                for (name, v) in lock(&buf).iter() {
                    out.push(name, v);
                }
            });
        }
        if semantic && !matches!(embed, Embed::Builtin) {
            builder = builder.embedder(BufferedEmbedding(Arc::clone(&embed_buf)));
        }
        let sentinel = builder
            .build()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(EngineCore {
            sentinel: Exclusive::new(sentinel),
            attrs,
            extras,
            extra_buf,
            embed: Exclusive::new(embed),
            embed_buf,
            events_observed: 0,
            last_shard: None,
            cfg,
            extractor,
            semantic: semantic_object,
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
        for ev in events.try_iter()? {
            self.observe_into(py, &ev?, &out)?;
        }
        Ok(out)
    }

    /// Learn from events without alerting; returns how many were consumed. Under
    /// `shard_by="source"` this trains the state every new source starts from.
    fn prime(&mut self, py: Python<'_>, events: &Bound<'_, PyAny>) -> PyResult<u64> {
        let mut count = 0;
        for ev in events.try_iter()? {
            let ev = self.engine_event(py, &ev?)?;
            count += self.sentinel.get_mut().prime(std::iter::once(ev));
        }
        Ok(count)
    }

    /// Sorted names of the metrics with a baseline, across shards.
    fn metrics(&mut self) -> Vec<String> {
        self.sentinel.get_mut().metrics()
    }

    /// The last score of every metric of one shard: `source`'s (default: the shard of
    /// the last observed event).
    #[pyo3(signature = (source=None))]
    fn last_scores<'py>(
        &mut self,
        py: Python<'py>,
        source: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (name, sigma, _) in self.states(source) {
            out.set_item(name, sigma)?;
        }
        Ok(out)
    }

    /// `{metric: {"sigma": float, "ready": bool}}` of one shard, like `last_scores`.
    #[pyo3(signature = (source=None))]
    fn metric_states<'py>(
        &mut self,
        py: Python<'py>,
        source: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (name, sigma, ready) in self.states(source) {
            let state = PyDict::new(py);
            state.set_item("sigma", sigma)?;
            state.set_item("ready", ready)?;
            out.set_item(name, state)?;
        }
        Ok(out)
    }

    #[getter]
    fn get_threshold(&self) -> f64 {
        self.cfg.threshold
    }

    #[getter]
    fn get_max_metrics(&self) -> usize {
        self.cfg.max_metrics
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

    #[getter]
    fn get_semantic(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.semantic.as_ref().map(|s| s.clone_ref(py))
    }
}
