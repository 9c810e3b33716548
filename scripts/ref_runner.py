#!/usr/bin/env python3
"""Run the *reference* trace-sentinel 0.2.0 library with our binary's CLI contract.

    ref_runner.py watch PATH [--format text|json] [--threshold F] [--warmup N]
                  [--semantic] [--jsonl] [--detector zscore|ewma|mad] [--alpha F]
                  [--window N] [--shard-by source|none] [--max-sources N]

Everything that decides *what* is reported comes from the reference package
(`import trace_sentinel`): its sources (`iter_lines` / `iter_jsonl`), extractors,
detectors, semantic detector, `Sentinel` and `Anomaly.as_dict()`. This script only
adds what our CLI has and the reference CLI lacks:

* detector selection (`--detector/--alpha/--window`) via the Sentinel's
  ``detector_factory`` hook;
* sharding: ``--shard-by source`` (default) gives every distinct event source its own
  reference Sentinel (created on the source's first event); once ``--max-sources``
  shards exist, all further new sources share one overflow Sentinel.
  ``--shard-by none`` is exactly the reference CLI (one Sentinel);
* a cap of ``--max-sources`` entries on every shard's inter-arrival "last timestamp"
  map (a source not in a full map yields no inter-arrival metric).

Determinism: events whose timestamp was defaulted to "now" (all plain-text lines; JSON
lines without a parseable timestamp) are printed with ``"timestamp": "<now>"``. Naive
ISO timestamps are interpreted by Python in local time, so TZ is forced to UTC (our
engine treats naive timestamps as UTC).

``--seed`` is not supported (our seeding corpus is our own): it exits with status 2.
Invalid options exit with status 2 and a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

os.environ["TZ"] = "UTC"
time.tzset()

import trace_sentinel  # noqa: E402
from trace_sentinel import sources as _ts_sources  # noqa: E402
from trace_sentinel.detectors import MADDetector, ZScoreDetector  # noqa: E402
from trace_sentinel.extractors import (  # noqa: E402
    CompositeExtractor,
    InterArrivalExtractor,
    MessageLengthExtractor,
    NumericFieldExtractor,
    TokenCountExtractor,
)
from trace_sentinel.sentinel import Sentinel  # noqa: E402
from trace_sentinel.sinks import ConsoleSink  # noqa: E402

NOW = "<now>"
# Testing aid: print the real clock value instead of "<now>" (used to check the Rust
# harness itself against the reference: TS_REF_REAL_NOW=1).
REAL_NOW = os.environ.get("TS_REF_REAL_NOW") == "1"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit 2
        raise _UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ref_runner.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    w = sub.add_parser("watch", help="watch a log file and report anomalies")
    w.add_argument("path")
    w.add_argument("--format", choices=["text", "json"], default="text")
    w.add_argument("--threshold", type=float, default=3.0)
    w.add_argument("--warmup", type=int, default=30)
    w.add_argument("--semantic", action="store_true")
    w.add_argument("--seed", type=int, default=None)
    w.add_argument("--jsonl", action="store_true")
    w.add_argument("--detector", choices=["zscore", "ewma", "mad"], default="zscore")
    w.add_argument("--alpha", type=float, default=0.05)
    w.add_argument("--window", type=int, default=256)
    w.add_argument("--shard-by", dest="shard_by", choices=["source", "none"], default="source")
    w.add_argument("--max-sources", dest="max_sources", type=int, default=10000)
    w.add_argument(
        "--check-determinism",
        action="store_true",
        help="(testing aid) do not detect; exit 1 if an inter-arrival value would depend on "
        "a defaulted 'now' timestamp under these flags",
    )
    return parser


def validate(args: argparse.Namespace) -> None:
    if args.seed is not None:
        raise _UsageError("--seed is not supported by the reference runner")
    if args.threshold <= 0:  # Sentinel's own check (it raises ValueError)
        raise _UsageError(f"--threshold must be > 0 (got {args.threshold})")
    if args.warmup < 0:
        raise _UsageError(f"--warmup must be >= 0 (got {args.warmup})")
    if not (0.0 < args.alpha <= 1.0):
        raise _UsageError(f"--alpha must be in (0, 1] (got {args.alpha})")
    if args.window < 2:
        raise _UsageError(f"--window must be >= 2 (got {args.window})")
    if args.max_sources < 1:
        raise _UsageError(f"--max-sources must be >= 1 (got {args.max_sources})")
    if not os.path.exists(args.path):
        raise _UsageError(f"{args.path}: no such file")
    if os.path.isdir(args.path):
        raise _UsageError(f"{args.path}: is a directory")


class CappedInterArrival(InterArrivalExtractor):
    """The reference InterArrivalExtractor with at most ``cap`` tracked sources."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self._cap = cap

    def extract(self, event):
        key = event.source if self.per_source else "_global"
        if key not in self._last and len(self._last) >= self._cap:
            return {}
        return super().extract(event)


def build_extractor(timed: bool, cap: int) -> CompositeExtractor:
    """cli._build_extractor(timed=...) with the capped inter-arrival extractor."""
    extractors = [MessageLengthExtractor(), TokenCountExtractor(), NumericFieldExtractor()]
    if timed:
        extractors.append(CappedInterArrival(cap))
    return CompositeExtractor(extractors)


def detector_factory(args):
    w = args.warmup
    if args.detector == "ewma":
        a = args.alpha
        return lambda: ZScoreDetector(drift=True, alpha=a, warmup=w)
    if args.detector == "mad":
        n = args.window
        return lambda: MADDetector(window=n, warmup=w)
    return lambda: ZScoreDetector(warmup=w)


def make_sentinel(args) -> Sentinel:
    return Sentinel(
        threshold=args.threshold,
        warmup=args.warmup,
        enable_semantic=args.semantic,
        extractor=build_extractor(timed=args.jsonl, cap=args.max_sources),
        detector_factory=detector_factory(args),
    )


def events_with_flags(args):
    """Yield (event, timestamp_is_now) from the reference sources."""
    if not args.jsonl:
        for ev in _ts_sources.iter_lines(args.path):
            yield ev, True
        return
    # iter_jsonl calls the module-global _parse_timestamp right before yielding the
    # event built from that line; remember what it returned to tell parsed from "now".
    original = _ts_sources._parse_timestamp
    last = [None]

    def recording(value):
        result = original(value)
        last[0] = result
        return result

    _ts_sources._parse_timestamp = recording
    try:
        for ev in _ts_sources.iter_jsonl(args.path):
            parsed = last[0] is not None and ev.timestamp is last[0]
            last[0] = None
            yield ev, not parsed
    finally:
        _ts_sources._parse_timestamp = original


class Router:
    """Shard routing of our CLI on top of reference Sentinels."""

    def __init__(self, args) -> None:
        self.args = args
        self.single = make_sentinel(args) if args.shard_by == "none" else None
        self.shards = {}
        self.overflow = None

    def sentinel_for(self, source: str) -> Sentinel:
        if self.single is not None:
            return self.single
        s = self.shards.get(source)
        if s is not None:
            return s
        if len(self.shards) < self.args.max_sources:
            s = make_sentinel(self.args)
            self.shards[source] = s
            return s
        if self.overflow is None:
            self.overflow = make_sentinel(self.args)
        return self.overflow


def check_determinism(args) -> int:
    """Replay the routing and the capped inter-arrival maps; report every event whose
    inter-arrival metric would involve a "now" timestamp (its own or its predecessor's)."""
    if not args.jsonl:
        return 0  # no inter-arrival metric for plain text
    shard_of = {}
    maps = {}  # shard id -> {source: last_is_now}
    n_shards = 0
    bad = 0
    for i, (ev, is_now) in enumerate(events_with_flags(args), 1):
        src = ev.source
        if args.shard_by == "none":
            shard = 0
        elif src in shard_of:
            shard = shard_of[src]
        elif n_shards < args.max_sources:
            n_shards += 1
            shard = shard_of[src] = n_shards
        else:
            shard = -1  # overflow
        m = maps.setdefault(shard, {})
        if src not in m and len(m) >= args.max_sources:
            continue
        if src in m and (m[src] or is_now):
            bad += 1
            if bad <= 5:
                print(f"event {i}: source {src!r}: inter-arrival uses a 'now' timestamp", file=sys.stderr)
        m[src] = is_now
    return 1 if bad else 0


def run(args) -> int:
    if args.check_determinism:
        return check_determinism(args)
    router = Router(args)
    out = sys.stdout
    console = ConsoleSink(stream=sys.stderr, color=False) if args.format == "text" else None
    count = 0
    for ev, is_now in events_with_flags(args):
        for anomaly in router.sentinel_for(ev.source).observe(ev):
            count += 1
            if console is not None:
                console.emit(anomaly)
                continue
            d = anomaly.as_dict()
            if is_now and not REAL_NOW:
                d["timestamp"] = NOW
            out.write(json.dumps(d) + "\n")
    out.flush()
    if args.format == "text":
        print(f"done — {count} anomalies surfaced", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="surrogateescape")
    try:
        args = build_parser().parse_args(argv)
        validate(args)
    except _UsageError as exc:
        print(f"ref_runner.py: error: {exc}", file=sys.stderr)
        return 2
    assert trace_sentinel  # the reference package is what runs
    try:
        return run(args)
    except BrokenPipeError:  # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
