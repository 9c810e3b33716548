"""Single-metric anomaly scorers.

A detector scores one value at a time against its baseline *as it stood before the
value* and returns a deviation in sigma; the :class:`~trace_sentinel.Sentinel` applies
the threshold. :class:`ZScoreDetector` and :class:`MADDetector` are native; any object
that satisfies the :class:`Detector` protocol (``update_and_score`` and ``ready``) can
be returned by a sentinel's ``detector_factory`` and is called as Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ._native import MADDetector, ZScoreDetector


@dataclass(frozen=True)
class Signal:
    """A named numeric observation fed to a detector."""

    name: str
    value: float


@runtime_checkable
class Detector(Protocol):
    """Stateful, single-metric anomaly scorer."""

    def update_and_score(self, value: float) -> float:
        """Score ``value`` against the baseline, then learn it. Returns sigma."""
        ...

    @property
    def ready(self) -> bool:
        """Whether enough history has been seen for scores to count."""
        ...


__all__ = ["Signal", "Detector", "ZScoreDetector", "MADDetector"]
