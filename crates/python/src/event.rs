//! `Event`: the reference's frozen dataclass `Event(message, timestamp, source,
//! attributes)` as a native class, so that building one per log line costs a fraction of
//! a microsecond and the sentinel reads its fields without attribute lookups. It keeps
//! the dataclass behaviour callers rely on: keyword or positional construction with the
//! same defaults (`timestamp` now in UTC, `source` "unknown", `attributes` {}),
//! `from_line`, `numeric_attributes`, equality and hashing over the four fields, the
//! dataclass `repr`, `FrozenInstanceError` on assignment, pickling and copying, and
//! `dataclasses.fields`/`asdict`/`replace` (the Python package attaches the field
//! metadata). It does no detection.

use crate::time;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple, PyType};
use pyo3::{intern, IntoPyObjectExt};

/// A single normalized observation from a log or event stream.
#[pyclass(
    module = "trace_sentinel.events",
    name = "Event",
    frozen,
    subclass,
    weakref
)]
pub struct Event {
    pub(crate) message: Py<PyAny>,
    pub(crate) timestamp: Py<PyAny>,
    pub(crate) source: Py<PyAny>,
    pub(crate) attributes: Py<PyAny>,
}

impl Event {
    /// Build with the dataclass defaults for the fields not given.
    pub(crate) fn build(
        py: Python<'_>,
        message: Bound<'_, PyAny>,
        timestamp: Option<Bound<'_, PyAny>>,
        source: Option<Bound<'_, PyAny>>,
        attributes: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Event> {
        let timestamp = match timestamp {
            Some(t) => t,
            None => time::now_utc(py)?,
        };
        let source = match source {
            Some(s) => s,
            None => intern!(py, "unknown").clone().into_any(),
        };
        let attributes = match attributes {
            Some(a) => a,
            None => PyDict::new(py).into_any(),
        };
        Ok(Event {
            message: message.unbind(),
            timestamp: timestamp.unbind(),
            source: source.unbind(),
            attributes: attributes.unbind(),
        })
    }

    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(
            py,
            [
                self.message.bind(py),
                self.timestamp.bind(py),
                self.source.bind(py),
                self.attributes.bind(py),
            ],
        )
    }
}

/// `{key: float(value)}` for the finite real-number attributes (`bool` excluded) of a
/// mapping, in its order: the reference's `Event.numeric_attributes`.
pub(crate) fn numeric_attributes<'py>(
    attributes: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = attributes.py();
    let out = PyDict::new(py);
    let items = attributes.call_method0(intern!(py, "items"))?;
    for item in items.try_iter()? {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        if let Some(v) = numeric_value(&value)? {
            out.set_item(key, v)?;
        }
    }
    Ok(out)
}

/// `float(value)` when `value` is an `int` or `float` (not `bool`) and the result is
/// finite; `OverflowError` for an int too large for a float, as in Python.
#[inline]
pub(crate) fn numeric_value(value: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>() {
        if value.is_instance_of::<PyBool>() {
            return Ok(None);
        }
        let v: f64 = value.extract()?;
        return Ok(v.is_finite().then_some(v));
    }
    Ok(None)
}

/// `line.rstrip("\n")` for a `str`, reusing the object when nothing is stripped.
fn rstrip_newlines<'py>(line: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = line.py();
    if let Ok(s) = line.cast::<PyString>() {
        if let Ok(text) = s.to_str() {
            let trimmed = text.trim_end_matches('\n');
            return Ok(if trimmed.len() == text.len() {
                line.clone()
            } else {
                PyString::new(py, trimmed).into_any()
            });
        }
    }
    line.call_method1(intern!(py, "rstrip"), ("\n",))
}

#[pymethods]
impl Event {
    #[new]
    #[pyo3(signature = (message, timestamp=None, source=None, attributes=None))]
    fn new(
        py: Python<'_>,
        message: Bound<'_, PyAny>,
        timestamp: Option<Bound<'_, PyAny>>,
        source: Option<Bound<'_, PyAny>>,
        attributes: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Event::build(py, message, timestamp, source, attributes)
    }

    /// The free-text payload.
    #[getter]
    fn message(&self, py: Python<'_>) -> Py<PyAny> {
        self.message.clone_ref(py)
    }

    /// When the event occurred (default: now, UTC).
    #[getter]
    fn timestamp(&self, py: Python<'_>) -> Py<PyAny> {
        self.timestamp.clone_ref(py)
    }

    /// Where the event came from (default "unknown").
    #[getter]
    fn source(&self, py: Python<'_>) -> Py<PyAny> {
        self.source.clone_ref(py)
    }

    /// Arbitrary structured fields.
    #[getter]
    fn attributes(&self, py: Python<'_>) -> Py<PyAny> {
        self.attributes.clone_ref(py)
    }

    /// Build an event from a raw log line, stripping trailing newlines.
    #[classmethod]
    #[pyo3(signature = (line, *, source=None, timestamp=None))]
    fn from_line<'py>(
        cls: &Bound<'py, PyType>,
        line: Bound<'py, PyAny>,
        source: Option<Bound<'py, PyAny>>,
        timestamp: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let message = rstrip_newlines(&line)?;
        // `timestamp or now`: a falsy timestamp means now, as in the reference.
        let timestamp = match timestamp {
            Some(t) if t.is_truthy()? => t,
            _ => time::now_utc(py)?,
        };
        let source = source.unwrap_or_else(|| intern!(py, "unknown").clone().into_any());
        if cls.is(py.get_type::<Event>()) {
            let ev = Event::build(py, message, Some(timestamp), Some(source), None)?;
            return Bound::new(py, ev).map(Bound::into_any);
        }
        let kwargs = PyDict::new(py);
        kwargs.set_item("message", message)?;
        kwargs.set_item("source", source)?;
        kwargs.set_item("timestamp", timestamp)?;
        cls.call((), Some(&kwargs))
    }

    /// Attributes that are finite real numbers (`bool` excluded), as floats.
    fn numeric_attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        numeric_attributes(self.attributes.bind(py))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let me = slf.get();
        let name = slf.get_type().qualname()?;
        Ok(format!(
            "{}(message={}, timestamp={}, source={}, attributes={})",
            name,
            me.message.bind(py).repr()?,
            me.timestamp.bind(py).repr()?,
            me.source.bind(py).repr()?,
            me.attributes.bind(py).repr()?,
        ))
    }

    fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if !other.get_type().is(slf.get_type()) {
            return Ok(py.NotImplemented());
        }
        let Ok(other) = other.cast::<Event>() else {
            return Ok(py.NotImplemented());
        };
        let equal = slf.get().fields(py)?.eq(other.get().fields(py)?)?;
        equal.into_py_any(py)
    }

    fn __ne__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let eq = Self::__eq__(slf, other)?;
        if eq.is(py.NotImplemented()) {
            return Ok(eq);
        }
        (!eq.bind(py).is_truthy()?).into_py_any(py)
    }

    /// The frozen dataclass hash: of the four fields (a `dict` of attributes makes it
    /// raise `TypeError`, as in the reference).
    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.fields(py)?.hash()
    }

    fn __setattr__(&self, py: Python<'_>, name: &str, _value: Bound<'_, PyAny>) -> PyResult<()> {
        Err(frozen_error(py, name))
    }

    fn __delattr__(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        Err(frozen_error(py, name))
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        Ok((slf.get_type(), slf.get().fields(slf.py())?))
    }

    fn __copy__<'py>(slf: &Bound<'py, Self>) -> Bound<'py, Self> {
        slf.clone()
    }

    #[classattr]
    fn __match_args__(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        PyTuple::new(py, ["message", "timestamp", "source", "attributes"])
    }
}

/// `dataclasses.FrozenInstanceError("cannot assign to field 'x'")`.
fn frozen_error(py: Python<'_>, name: &str) -> PyErr {
    match py
        .import("dataclasses")
        .and_then(|m| m.getattr("FrozenInstanceError"))
    {
        Ok(cls) => PyErr::from_type(
            cls.cast_into::<PyType>()
                .unwrap_or_else(|_| py.get_type::<pyo3::exceptions::PyAttributeError>()),
            format!("cannot assign to field '{name}'"),
        ),
        Err(e) => e,
    }
}

/// The native event behind `obj`, when it is exactly an `Event` (a subclass may
/// override what the sentinel would read natively).
pub(crate) fn as_event<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> Option<&'a Bound<'py, Event>> {
    obj.cast_exact::<Event>().ok()
}
