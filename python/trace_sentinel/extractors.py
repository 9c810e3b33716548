"""Feature extractors: turn an :class:`~trace_sentinel.Event` into named numeric metrics.

These are plain Python classes so they can be subclassed and inspected like the
reference's. A :class:`~trace_sentinel.Sentinel` recognises the built-in classes (exact
types, not subclasses) and computes their metrics natively from their current settings;
``extract`` here is the same computation in Python, used when you call it yourself and
for subclasses or your own extractors.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, Optional, Protocol, runtime_checkable

from .events import Event

_WORD = re.compile(r"\w+")


@runtime_checkable
class Extractor(Protocol):
    """Turns an :class:`Event` into zero or more named numeric features."""

    def extract(self, event: Event) -> Dict[str, float]:
        ...


class MessageLengthExtractor:
    """Length of the message in characters."""

    def __init__(self, name: str = "message.length") -> None:
        self.name = name

    def extract(self, event: Event) -> Dict[str, float]:
        return {self.name: float(len(event.message))}


class TokenCountExtractor:
    """Number of ``\\w+`` word tokens in the message."""

    def __init__(self, name: str = "message.tokens") -> None:
        self.name = name

    def extract(self, event: Event) -> Dict[str, float]:
        # Counted from an iterator: a huge message never becomes a list of tokens.
        count = 0
        for _ in _WORD.finditer(event.message):
            count += 1
        return {self.name: float(count)}


class NumericFieldExtractor:
    """The event's finite numeric attributes, as ``prefix + key`` metrics.

    Args:
        fields: Only these attribute names, if given; otherwise every numeric one.
        prefix: Prepended to each attribute name.
    """

    def __init__(self, fields: Optional[Iterable[str]] = None, prefix: str = "attr.") -> None:
        self.fields = None if fields is None else set(fields)
        self.prefix = prefix

    def extract(self, event: Event) -> Dict[str, float]:
        wanted = self.fields
        return {
            f"{self.prefix}{key}": value
            for key, value in event.numeric_attributes().items()
            if wanted is None or key in wanted
        }


class InterArrivalExtractor:
    """Seconds since the previous event of the same source (or of any source).

    The first event of a key yields nothing.

    Args:
        name: Metric name.
        per_source: Keep one clock per ``event.source`` instead of one overall.
    """

    def __init__(self, name: str = "event.interarrival_s", per_source: bool = True) -> None:
        self.name = name
        self.per_source = per_source
        self._last: Dict[object, float] = {}

    def extract(self, event: Event) -> Dict[str, float]:
        key = event.source if self.per_source else "_global"
        now = event.timestamp.timestamp()
        before = self._last.get(key)
        self._last[key] = now
        if before is None:
            return {}
        return {self.name: max(0.0, now - before)}


class CompositeExtractor:
    """Several extractors, their outputs merged into one dict (later names win)."""

    def __init__(self, extractors: Iterable[Extractor]) -> None:
        self._extractors = list(extractors)

    def extract(self, event: Event) -> Dict[str, float]:
        merged: Dict[str, float] = {}
        for extractor in self._extractors:
            merged.update(extractor.extract(event))
        return merged

    @classmethod
    def default(cls) -> "CompositeExtractor":
        """Message length, token count, numeric attributes and inter-arrival time."""
        return cls(
            [
                MessageLengthExtractor(),
                TokenCountExtractor(),
                NumericFieldExtractor(),
                InterArrivalExtractor(),
            ]
        )


__all__ = [
    "Extractor",
    "MessageLengthExtractor",
    "TokenCountExtractor",
    "NumericFieldExtractor",
    "InterArrivalExtractor",
    "CompositeExtractor",
]
