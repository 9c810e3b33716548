"""Anomaly sinks: where surfaced anomalies go (console, JSON lines, a callback)."""

from __future__ import annotations

import json
import sys
from typing import Callable, Optional, Protocol, TextIO, runtime_checkable

from .sentinel import Anomaly, Severity

_COLORS = {
    Severity.WARNING: "\033[33m",
    Severity.HIGH: "\033[35m",
    Severity.CRITICAL: "\033[31m",
}
_RESET = "\033[0m"

# C0 controls, DEL and C1 controls: a hostile source or metric name must not reach the
# analyst's terminal as an escape sequence.
_CONTROLS = {c: "\ufffd" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}


def _sanitize(text: str) -> str:
    """``text`` with every control character replaced by U+FFFD."""
    return text.translate(_CONTROLS)


@runtime_checkable
class Sink(Protocol):
    """Consumes anomalies one at a time."""

    def emit(self, anomaly: Anomaly) -> None:
        ...


class ConsoleSink:
    """One human-readable line per anomaly on a stream (stderr by default), coloured
    when the stream is a terminal unless ``color`` says otherwise."""

    def __init__(self, stream: Optional[TextIO] = None, color: Optional[bool] = None) -> None:
        self.stream = stream or sys.stderr
        if color is None:
            isatty = getattr(self.stream, "isatty", None)
            color = bool(isatty()) if callable(isatty) else False
        self.color = color

    def emit(self, anomaly: Anomaly) -> None:
        tag = anomaly.severity.value.upper()
        if self.color:
            tag = f"{_COLORS.get(anomaly.severity, '')}{tag}{_RESET}"
        line = "[{}] {} ({}) {}\n".format(
            anomaly.event.timestamp.isoformat(),
            tag,
            _sanitize(anomaly.event.source),
            _sanitize(anomaly.explanation),
        )
        self.stream.write(line)
        self.stream.flush()


class JSONLSink:
    """One JSON object per anomaly per line (stdout by default)."""

    def __init__(self, stream: Optional[TextIO] = None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, anomaly: Anomaly) -> None:
        self.stream.write(json.dumps(anomaly.as_dict()) + "\n")
        self.stream.flush()


class CallbackSink:
    """Calls ``fn(anomaly)`` for every anomaly (webhooks, queues, alerting)."""

    def __init__(self, fn: Callable[[Anomaly], None]) -> None:
        self._fn = fn

    def emit(self, anomaly: Anomaly) -> None:
        self._fn(anomaly)


__all__ = ["Sink", "ConsoleSink", "JSONLSink", "CallbackSink"]
