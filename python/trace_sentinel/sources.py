"""Event sources: files and streams as iterables of :class:`~trace_sentinel.Event`.

Pure Python on purpose: JSON values become the same Python objects as with
``json.loads`` and timestamps follow ``datetime``'s own parsing. For bulk files,
:meth:`Sentinel.scan` reads them natively instead.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional, Union

from .events import Event

PathLike = Union[str, Path]


def iter_lines(path: PathLike, *, source: Optional[str] = None) -> Iterator[Event]:
    """One :class:`Event` per non-empty line of a text file (undecodable bytes are
    replaced); ``source`` defaults to the file's name."""
    p = Path(path)
    label = source or p.name
    from_line = Event.from_line
    with p.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line:
                yield from_line(line, source=label)


def iter_jsonl(
    path: PathLike,
    *,
    message_key: str = "message",
    source_key: str = "source",
    timestamp_key: str = "timestamp",
    source: Optional[str] = None,
) -> Iterator[Event]:
    """Events from a JSON-lines file.

    An object's ``message_key``, ``source_key`` and ``timestamp_key`` fill the event
    (the timestamp as epoch seconds or ISO 8601); its other keys become attributes. A
    line that is not JSON, or JSON that is not an object, becomes a plain message.
    """
    p = Path(path)
    fallback = source or p.name
    reserved = (message_key, source_key, timestamp_key)
    with p.open("r", encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            raw = raw.strip()
            if not raw:
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError:
                yield Event.from_line(raw, source=fallback)
                continue
            if not isinstance(obj, dict):
                yield Event.from_line(str(obj), source=fallback)
                continue
            fields = {
                "message": str(obj.get(message_key, "")),
                "source": str(obj.get(source_key, fallback)),
                "attributes": {k: v for k, v in obj.items() if k not in reserved},
            }
            # Looked up at call time, so callers can wrap it.
            ts = _parse_timestamp(obj.get(timestamp_key))
            if ts is not None:
                fields["timestamp"] = ts
            yield Event(**fields)


def _parse_timestamp(value: object) -> Optional[datetime]:
    """Epoch seconds or an ISO 8601 string as an aware (or naive) datetime; None for
    anything else or out of range — a bad field never stops the stream."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


class FileTailSource:
    """Follow a growing file like ``tail -f`` and yield its new lines as events,
    forever. For rotation-proof following, see :meth:`Sentinel.watch_file`.

    Args:
        path: File to follow.
        source: Source label (default: the file's name).
        poll_interval: Seconds to sleep when no new line is there.
        from_start: Read what the file already holds first (default: from its end).
    """

    def __init__(
        self,
        path: PathLike,
        *,
        source: Optional[str] = None,
        poll_interval: float = 0.5,
        from_start: bool = False,
    ) -> None:
        self.path = Path(path)
        self.source = source or self.path.name
        self.poll_interval = poll_interval
        self.from_start = from_start

    def __iter__(self) -> Iterator[Event]:
        with self.path.open("r", encoding="utf-8", errors="replace") as handle:
            if not self.from_start:
                handle.seek(0, 2)
            while True:
                line = handle.readline()
                if not line:
                    time.sleep(self.poll_interval)
                    continue
                line = line.rstrip("\n")
                if line:
                    yield Event.from_line(line, source=self.source)


__all__ = ["iter_lines", "iter_jsonl", "FileTailSource", "PathLike"]
