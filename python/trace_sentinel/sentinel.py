"""The orchestration core: :class:`Sentinel`, :class:`Anomaly` and :class:`Severity`.

The sentinel keeps one baseline per metric name (created the first time the name is
seen, up to ``max_metrics``), scores each value before the value updates it, and
reports an :class:`Anomaly` when ``abs(score) >= threshold``. Its state and hot loop are
native (``trace_sentinel._native.SentinelCore``); your extractors, detectors and
semantic detector are called as Python. ``scan`` and ``watch_file`` run the engine's
own file pipelines with the GIL released.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from . import _native
from .detectors import Detector, MADDetector, ZScoreDetector
from .events import Event
from .extractors import (
    CompositeExtractor,
    Extractor,
    InterArrivalExtractor,
    MessageLengthExtractor,
    NumericFieldExtractor,
    TokenCountExtractor,
)
from .semantic import SemanticNoveltyDetector

DetectorFactory = Callable[[], Detector]
PathLike = Union[str, "os.PathLike[str]"]

_SEMANTIC_METRIC = "message.semantic_novelty"

#: The iterator :meth:`Sentinel.scan` and :meth:`Sentinel.watch_file` return (native):
#: ``next()``, ``poll(timeout=0.0)``, ``done``, ``close()``, ``notes``, ``with`` blocks.
AnomalyStream = _native.AnomalyStream
_DEFAULT_MAX_LINE_BYTES = 1 << 20


class Severity(str, Enum):
    """How far past the threshold an anomaly sits."""

    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"

    @classmethod
    def from_score(cls, score: float, threshold: float) -> "Severity":
        ratio = abs(score) / threshold if threshold else 0.0
        if ratio >= 2.0:
            return cls.CRITICAL
        if ratio >= 1.5:
            return cls.HIGH
        return cls.WARNING


@dataclass(frozen=True)
class Anomaly:
    """A surfaced deviation, with enough context to triage it.

    The first six fields are the reference's. The engine fills the optional
    extras where it knows them (they stay None otherwise and are then left out of
    :meth:`as_dict`): ``line``, the line's 1-based number in its file (:meth:`Sentinel.scan`,
    :meth:`Sentinel.watch_file`); with the template layer, ``template_id``,
    ``template`` (its text, variable parts as ``<*>``) and ``level`` (the level the
    line names, such as ``"ERROR"``, or None) — ``as_dict`` then has all three.
    """

    metric: str
    value: float
    score: float
    severity: Severity
    event: Event
    explanation: str
    line: Optional[int] = field(default=None, repr=False)
    template_id: Optional[int] = field(default=None, repr=False)
    template: Optional[str] = field(default=None, repr=False)
    level: Optional[str] = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """A JSON-ready view (the shape of ``trace-sentinel --format json``)."""
        out = {
            "timestamp": self.event.timestamp.isoformat(),
            "source": self.event.source,
            "metric": self.metric,
            "value": round(self.value, 6),
            "score": round(self.score, 3),
            "severity": self.severity.value,
            "explanation": self.explanation,
            "message": self.event.message,
        }
        if self.line is not None:
            out["line"] = self.line
        if self.template_id is not None:
            out["template_id"] = self.template_id
            out["template"] = self.template
            out["level"] = self.level
        return out


def _detector_kind(factory: Optional[DetectorFactory], detector: str, alpha: float, window: int):
    """The built-in kind the engine pipelines use: from ``detector`` unless a factory
    returns a native detector whose kind can be read back."""
    if detector not in ("zscore", "ewma", "mad"):
        raise ValueError(f"detector must be 'zscore', 'ewma' or 'mad', not {detector!r}")
    if detector == "ewma":
        return ("ewma", alpha)
    if detector == "mad":
        return ("mad", window)
    return ("zscore",)


class Sentinel:
    """Passive anomaly-detection core.

    Feed events one at a time with :meth:`observe` (or many with :meth:`observe_many`),
    hand it an iterable with :meth:`watch`, or let it read files natively with
    :meth:`scan` and :meth:`watch_file`.

    Args:
        extractor: Produces metrics from each event (default:
            :meth:`CompositeExtractor.default`).
        detector_factory: Builds the detector of each new metric (default: a
            :class:`ZScoreDetector` with this ``warmup``, or the ``detector`` below).
        threshold: Sigma magnitude at which a deviation becomes an anomaly (> 0).
        warmup: Observations a fresh baseline learns before it may alert.
        semantic: A :class:`SemanticNoveltyDetector` (or any object with
            ``update_and_score(message)`` and ``ready``).
        enable_semantic: Create a default semantic detector when ``semantic`` is None.
        max_metrics: Cap on distinct metric names; later names are ignored.

    Engine options (keyword-only, beyond the reference; they set the built-in detector
    and the native pipelines of :meth:`scan` and :meth:`watch_file`):
        detector: ``"zscore"`` (default), ``"ewma"`` or ``"mad"`` — the built-in
            detector when no ``detector_factory`` is given.
        alpha: EWMA smoothing in (0, 1] (default 0.05).
        window: MAD window (>= 2, default 256).
        templates: The template layer (default False): lines are grouped into
            templates, a new or rare template is reported (``template.novelty``) and
            length, tokens and attributes are measured per template.
        max_templates: Templates kept per source (default 1000).
        shard_by: ``"none"`` (default: one set of baselines, as in the reference) or
            ``"source"`` (one set per ``event.source``).
        max_sources: Per-source shards and tracked inter-arrival sources (default 10000).
        max_line_bytes: Longer lines keep only this prefix in the pipelines (default 1 MiB).

    With ``templates=True`` or ``shard_by="source"``, :meth:`observe` and friends run
    the engine's detect stage (what :meth:`scan` runs): metrics are scored in the
    engine's order (length, tokens, attributes, inter-arrival, your extractors' metrics,
    semantic novelty), :meth:`metric_states` and :attr:`last_scores` describe the shard
    of the last event (or ``metric_states(source=...)``'s), and ``threshold``,
    ``extractor``, ``semantic`` and ``max_metrics`` are fixed at construction. The
    extractor must include the default :class:`MessageLengthExtractor` and
    :class:`TokenCountExtractor` (the engine always measures them); other extractors
    are called as Python. Detectors must be the built-in ones (``detector=``, or a
    factory returning :class:`ZScoreDetector` / :class:`MADDetector`), and a semantic
    detector the built-in class with the sentinel's warmup and the default decay (its
    ``embed_fn`` or ``dim`` is used). Anything else raises ValueError.
    """

    def __init__(
        self,
        *,
        extractor: Optional[Extractor] = None,
        detector_factory: Optional[DetectorFactory] = None,
        threshold: float = 3.0,
        warmup: int = 30,
        semantic: Optional[SemanticNoveltyDetector] = None,
        enable_semantic: bool = False,
        max_metrics: int = 4096,
        detector: str = "zscore",
        alpha: float = 0.05,
        window: int = 256,
        templates: bool = False,
        max_templates: int = 1000,
        shard_by: str = "none",
        max_sources: int = 10000,
        max_line_bytes: int = _DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        if threshold <= 0:
            raise ValueError("threshold must be > 0")
        if max_metrics < 1:
            raise ValueError("max_metrics must be >= 1")
        if shard_by not in ("none", "source"):
            raise ValueError(f"shard_by must be 'none' or 'source', not {shard_by!r}")
        for name, value in (("max_templates", max_templates), ("max_sources", max_sources),
                            ("max_line_bytes", max_line_bytes)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1")
        kind = _detector_kind(detector_factory, detector, alpha, window)
        self.warmup = warmup
        self._factory = detector_factory
        self._options = {
            "detector": detector,
            "alpha": float(alpha),
            "window": int(window),
            "templates": bool(templates),
            "max_templates": int(max_templates),
            "shard_by": shard_by,
            "max_sources": int(max_sources),
            "max_line_bytes": int(max_line_bytes),
        }
        if semantic is None and enable_semantic:
            semantic = _native.SentinelCore.default_semantic(warmup)
        extractor = extractor or CompositeExtractor.default()
        self._engine = bool(templates) or shard_by == "source"
        if self._engine:
            plan = _engine_plan(
                extractor, detector_factory, semantic, threshold, warmup, max_metrics,
                self._options, python_ok=True,
                what="with templates=True or shard_by='source', Sentinel",
            )
            del plan["max_line_bytes"]
            self._core = _native.EngineCore(extractor=extractor, semantic_object=semantic, **plan)
        else:
            self._core = _native.SentinelCore(
                extractor=extractor,
                factory=detector_factory,
                threshold=threshold,
                warmup=warmup,
                max_metrics=max_metrics,
                semantic=semantic,
                kind=kind,
            )
        if type(self).observe is Sentinel.observe:
            # The native method itself: no Python frame per event.
            self.observe = self._core.observe  # type: ignore[method-assign]

    # -- the reference's attributes ---------------------------------------------------

    @property
    def extractor(self) -> Extractor:
        return self._core.extractor

    @extractor.setter
    def extractor(self, value: Extractor) -> None:
        self._fixed("extractor")
        self._core.extractor = value

    @property
    def threshold(self) -> float:
        return self._core.threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._fixed("threshold")
        self._core.threshold = value

    @property
    def max_metrics(self) -> int:
        return self._core.max_metrics

    @max_metrics.setter
    def max_metrics(self, value: int) -> None:
        self._fixed("max_metrics")
        self._core.max_metrics = value

    @property
    def semantic(self) -> Optional[SemanticNoveltyDetector]:
        return self._core.semantic

    @semantic.setter
    def semantic(self, value: Optional[SemanticNoveltyDetector]) -> None:
        self._fixed("semantic")
        self._core.semantic = value

    def _fixed(self, name: str) -> None:
        if self._engine:
            raise AttributeError(
                f"{name} is fixed when templates=True or shard_by='source' (the engine's "
                "detect stage is built from it): build a new Sentinel instead"
            )

    @property
    def events_observed(self) -> int:
        return self._core.events_observed

    @events_observed.setter
    def events_observed(self, value: int) -> None:
        self._core.events_observed = value

    # -- detection ---------------------------------------------------------------------

    def observe(self, event: Event) -> List[Anomaly]:
        """Process one event, returning any anomalies it triggers."""
        return self._core.observe(event)

    def observe_many(self, events: Iterable[Event]) -> List[Anomaly]:
        """Process events in order; all their anomalies in one list (one native call)."""
        return self._core.observe_many(events)

    def watch(self, events: Iterable[Event]) -> Iterator[Anomaly]:
        """Lazily yield anomalies from a stream of events."""
        observe = self.observe
        for event in events:
            yield from observe(event)

    def prime(self, events: Iterable[Event]) -> int:
        """Learn baselines from benign events without alerting.

        Updates detectors and the semantic centroid, but records no scores, emits no
        anomalies and does not count as observing. Returns the number of events.
        """
        return self._core.prime(events)

    @property
    def metrics(self) -> List[str]:
        """Names of all metrics with a baseline, sorted."""
        return self._core.metrics()

    @property
    def last_scores(self) -> Dict[str, float]:
        """The latest score (sigma) of every metric, including sub-threshold ones (with
        ``shard_by="source"``: of the last event's source)."""
        return self._core.last_scores()

    def metric_states(self, source: Optional[str] = None) -> Dict[str, Dict[str, object]]:
        """``{metric: {"sigma": float, "ready": bool}}`` for introspection. With
        ``shard_by="source"`` the metrics of ``source``'s baselines (default: the last
        event's source); otherwise ``source`` must be None."""
        if source is None:
            return self._core.metric_states()
        if not self._engine or self._options["shard_by"] != "source":
            raise ValueError("metric_states(source=...) needs shard_by='source'")
        return self._core.metric_states(source)

    # -- native pipelines (beyond the reference) ---------------------------------------

    def _pipeline_options(self, jsonl: bool) -> dict:
        """The engine settings of this sentinel for :meth:`scan` and :meth:`watch_file`,
        refusing what only Python can compute."""
        plan = _engine_plan(
            self.extractor, self._factory, self.semantic, self.threshold, self.warmup,
            self.max_metrics, self._options, python_ok=False, what="scan and watch_file",
        )
        if jsonl and not plan["attrs"]:
            raise ValueError(
                "scan and watch_file score every numeric field of JSON lines: the "
                "extractor must include NumericFieldExtractor()"
            )
        for key in ("timed", "attrs", "extras", "embed"):
            del plan[key]
        return plan

    def scan(
        self,
        path_or_paths: Union[PathLike, Sequence[PathLike]],
        threads: Optional[int] = None,
        *,
        jsonl: bool = False,
        source: Optional[str] = None,
        binary: bool = False,
        chunk_size: int = 1 << 20,
    ) -> "AnomalyStream":
        """Scan files with the engine's parallel pipeline (``trace-sentinel scan``).

        Uses this sentinel's settings, not its learned state: every call starts from
        fresh baselines and leaves :meth:`observe`'s state alone. The GIL is released
        while the files are read; anomalies are yielded in input order, whatever
        ``threads`` (default: all cores). Compressed files (gzip, xz, zstd, bzip2) are
        read transparently; ``jsonl`` parses JSON lines; ``source`` names the lines of
        every file (default: each file's name). Returns an :class:`AnomalyStream` (an
        iterator of anomalies); close it (or use it in a ``with`` block) to stop early.
        """
        if isinstance(path_or_paths, (str, bytes, os.PathLike)):
            paths = [path_or_paths]
        else:
            paths = list(path_or_paths)
        paths = [os.fsdecode(os.fspath(p)) for p in paths]
        sources = [source or Path(p).name for p in paths]
        return _native.scan(
            paths, sources, threads=threads, chunk_size=chunk_size, jsonl=jsonl,
            binary=binary, **self._pipeline_options(jsonl),
        )

    def watch_file(
        self,
        path: PathLike,
        follow: bool = False,
        *,
        jsonl: bool = False,
        source: Optional[str] = None,
        from_start: bool = False,
        poll_interval: float = 0.25,
        binary: bool = False,
    ) -> "AnomalyStream":
        """Read one file with the engine (``trace-sentinel watch``), or follow it.

        Without ``follow`` the file is read once. With ``follow=True`` it is tailed
        like ``watch --follow`` — through rotation and truncation, from its end (as it
        is when this call returns) unless ``from_start`` — until the returned
        :class:`AnomalyStream` is closed: ``close()`` (from any thread, also while
        another one waits in ``next()``), a ``with`` block, or garbage collection.
        Iterating waits for anomalies with the GIL released (Ctrl-C gets through);
        ``poll(timeout)`` returns what arrived within ``timeout`` seconds instead. Like
        :meth:`scan`, it uses this sentinel's settings with fresh baselines;
        inter-arrival times are measured when following or with ``jsonl``.
        """
        p = os.fsdecode(os.fspath(path))
        return _native.watch_file(
            p, source or Path(p).name, follow=follow, from_start=from_start,
            poll_interval=poll_interval, jsonl=jsonl, binary=binary,
            **self._pipeline_options(jsonl),
        )


def _native_kind(det) -> Optional[dict]:
    """The settings of a native detector object (its ``_kind``), or None."""
    kind = getattr(det, "_kind", None)
    if callable(kind):
        name, value, warmup = kind()
        if name == "ewma":
            return {"detector": "ewma", "alpha": value, "warmup": warmup}
        if name == "mad":
            return {"detector": "mad", "window": int(value), "warmup": warmup}
        return {"detector": "zscore", "warmup": warmup}
    return None


_ENGINE_EXTRACTORS = (
    (MessageLengthExtractor, lambda e: e.name == "message.length", "length"),
    (TokenCountExtractor, lambda e: e.name == "message.tokens", "tokens"),
    (NumericFieldExtractor, lambda e: e.fields is None and e.prefix == "attr.", "attrs"),
    (InterArrivalExtractor, lambda e: e.name == "event.interarrival_s" and e.per_source, "timed"),
)


def _engine_plan(extractor, factory, semantic, threshold, warmup, max_metrics, options, *,
                 python_ok: bool, what: str) -> dict:
    """The engine settings of a sentinel's parts (keyword arguments of
    ``_native.EngineCore``), or ValueError naming a part the engine cannot run.

    The default built-in extractors map to the engine's own metrics; other extractors
    (and built-in classes with other settings) become ``extras``, called as Python, and a
    semantic detector's ``embed_fn`` or non-default ``dim`` becomes ``embed`` — only when
    ``python_ok`` (not in the pipelines, which run without the GIL)."""
    members = extractor._extractors if type(extractor) is CompositeExtractor else [extractor]
    found = {"length": False, "tokens": False, "attrs": False, "timed": False}
    extras = []
    for e in members:
        for cls, default, key in _ENGINE_EXTRACTORS:
            if type(e) is cls and default(e):
                found[key] = True
                break
        else:
            if not python_ok:
                raise ValueError(
                    f"{what} run the engine's built-in metrics; this sentinel's extractor "
                    f"has {type(e).__name__} (only the default built-in extractors run there)"
                )
            extras.append(e)
    if not (found["length"] and found["tokens"]):
        raise ValueError(
            f"{what} always measure message.length and message.tokens: the extractor "
            "must include MessageLengthExtractor() and TokenCountExtractor()"
        )
    kind = {
        "detector": options["detector"],
        "alpha": options["alpha"],
        "window": options["window"],
        "warmup": warmup,
    }
    if factory is not None:
        probe = factory()
        native = _native_kind(probe) if type(probe) in (ZScoreDetector, MADDetector) else None
        if native is None:
            raise ValueError(
                f"{what} run the engine's detectors; this sentinel's detector_factory "
                f"returns {type(probe).__name__} (use detector=, or a factory returning "
                "ZScoreDetector or MADDetector)"
            )
        kind.update(native)
    warmup = max(0, int(kind["warmup"]))
    embed = None
    if semantic is not None:
        if type(semantic) is not SemanticNoveltyDetector:
            raise ValueError(
                f"{what} run the engine's semantic layer; this sentinel's semantic "
                f"detector is {type(semantic).__name__}"
            )
        embed_fn, dim, sem_warmup, decay, _ = semantic._settings()
        if decay != 0.01 or sem_warmup != warmup:
            raise ValueError(
                f"{what} run the engine's semantic layer, with decay 0.01 and the "
                f"detectors' warmup ({warmup}); this semantic detector has decay {decay} "
                f"and warmup {sem_warmup}"
            )
        if embed_fn is not None or dim != 256:
            if not python_ok:
                raise ValueError(
                    f"{what} embed with the engine's 256-dimension vectorizer; this "
                    "semantic detector has its own embed_fn or dim"
                )
            embed = embed_fn if embed_fn is not None else dim
    return {
        "threshold": float(threshold),
        "warmup": warmup,
        "detector": kind["detector"],
        "alpha": float(kind["alpha"]),
        "window": int(kind["window"]),
        "semantic": semantic is not None,
        "templates": options["templates"],
        "max_templates": options["max_templates"],
        "shard_by": options["shard_by"],
        "max_sources": options["max_sources"],
        "max_metrics": int(max_metrics),
        "max_line_bytes": options["max_line_bytes"],
        "timed": found["timed"],
        "attrs": found["attrs"],
        "extras": extras,
        "embed": embed,
    }


__all__ = ["Sentinel", "Anomaly", "Severity", "DetectorFactory", "AnomalyStream"]
