"""The normalized observation that flows through the sentinel: :class:`Event`.

``Event`` is implemented natively (``trace_sentinel._native``) for speed; this module
gives it the dataclass metadata (``dataclasses.fields``, ``asdict``, ``replace`` and
``is_dataclass`` work on it) and re-exports it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any, Mapping

from ._native import Event


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclasses.dataclass(frozen=True)
class _EventFields:
    message: str
    timestamp: datetime = dataclasses.field(default_factory=_utcnow)
    source: str = "unknown"
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _attach_dataclass_metadata() -> None:
    for name in ("__dataclass_fields__", "__dataclass_params__"):
        try:
            setattr(Event, name, getattr(_EventFields, name))
        except (TypeError, AttributeError):  # an immutable native type: fields unavailable
            return


_attach_dataclass_metadata()

__all__ = ["Event"]
