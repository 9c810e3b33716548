"""trace-sentinel — passive anomaly detection for logs and events, on a native engine.

A drop-in for the reference Python package (trace-sentinel 0.2.0): the same modules,
classes, signatures, defaults and results, with the per-event work in Rust.

>>> from trace_sentinel import Sentinel, Event
>>> sentinel = Sentinel(threshold=3.0, warmup=30)
>>> for line in open("app.log"):
...     for anomaly in sentinel.observe(Event.from_line(line, source="app")):
...         print(anomaly.explanation)

Beyond the reference: :meth:`Sentinel.observe_many`, :meth:`Sentinel.scan` and
:meth:`Sentinel.watch_file` (the engine's file pipelines, GIL released), engine options
as keyword arguments of :class:`Sentinel`, and the ``trace-sentinel`` command line.
"""

from __future__ import annotations

from . import _native
from .baseline import EWMA, RollingWindow, RunningStats
from .detectors import Detector, MADDetector, Signal, ZScoreDetector
from .events import Event
from .extractors import (
    CompositeExtractor,
    Extractor,
    InterArrivalExtractor,
    MessageLengthExtractor,
    NumericFieldExtractor,
    TokenCountExtractor,
)
from .seed import benign_events, benign_signals
from .semantic import HashingVectorizer, SemanticNoveltyDetector
from .sentinel import Anomaly, Sentinel, Severity
from .sinks import CallbackSink, ConsoleSink, JSONLSink, Sink
from .sources import FileTailSource, iter_jsonl, iter_lines

_native._register(
    length=MessageLengthExtractor,
    tokens=TokenCountExtractor,
    numeric=NumericFieldExtractor,
    interarrival=InterArrivalExtractor,
    composite=CompositeExtractor,
    anomaly=Anomaly,
    severity=Severity,
)

# The reference package reports this version string.
__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Sentinel",
    "Anomaly",
    "Severity",
    "Event",
    "RunningStats",
    "EWMA",
    "RollingWindow",
    "Detector",
    "ZScoreDetector",
    "MADDetector",
    "Signal",
    "SemanticNoveltyDetector",
    "HashingVectorizer",
    "benign_signals",
    "benign_events",
    "Extractor",
    "CompositeExtractor",
    "MessageLengthExtractor",
    "TokenCountExtractor",
    "NumericFieldExtractor",
    "InterArrivalExtractor",
    "iter_lines",
    "iter_jsonl",
    "FileTailSource",
    "Sink",
    "ConsoleSink",
    "JSONLSink",
    "CallbackSink",
]
