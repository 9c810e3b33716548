"""Parity with the reference on the golden inputs: every case of tests/golden (outputs
of trace-sentinel 0.2.0) is replayed through this package's public API the way
scripts/ref_runner.py drives the reference — its sources, extractors (with the
inter-arrival cap as a Python subclass), detector factories and one Sentinel per
source — and each anomaly's ``as_dict()`` must equal the expected line field by field.
The default, EWMA, MAD and semantic configurations are all among the cases."""

import json
import shlex

import pytest

from conftest import GOLDEN
from trace_sentinel import sources
from trace_sentinel.detectors import MADDetector, ZScoreDetector
from trace_sentinel.extractors import (
    CompositeExtractor,
    InterArrivalExtractor,
    MessageLengthExtractor,
    NumericFieldExtractor,
    TokenCountExtractor,
)
from trace_sentinel.sentinel import Sentinel

CASES = sorted(p.name[: -len(".args")] for p in GOLDEN.glob("*.args"))


class CappedInterArrival(InterArrivalExtractor):
    """Inter-arrival with at most ``cap`` tracked sources (the CLI's --max-sources)."""

    def __init__(self, cap):
        super().__init__()
        self._cap = cap

    def extract(self, event):
        key = event.source if self.per_source else "_global"
        if key not in self._last and len(self._last) >= self._cap:
            return {}
        return super().extract(event)


def parse_args(text):
    opts = {"threshold": 3.0, "warmup": 30, "semantic": False, "jsonl": False,
            "detector": "zscore", "alpha": 0.05, "window": 256, "shard_by": "source",
            "max_sources": 10000}
    words = shlex.split(text)
    i = 0
    while i < len(words):
        flag = words[i][2:].replace("-", "_")
        if flag in ("semantic", "jsonl"):
            opts[flag] = True
            i += 1
            continue
        value = words[i + 1]
        kind = type(opts[flag])
        opts[flag] = kind(value)
        i += 2
    return opts


def make_sentinel(o):
    w = o["warmup"]
    if o["detector"] == "ewma":
        a = o["alpha"]
        factory = lambda: ZScoreDetector(drift=True, alpha=a, warmup=w)  # noqa: E731
    elif o["detector"] == "mad":
        n = o["window"]
        factory = lambda: MADDetector(window=n, warmup=w)  # noqa: E731
    else:
        factory = lambda: ZScoreDetector(warmup=w)  # noqa: E731
    extractors = [MessageLengthExtractor(), TokenCountExtractor(), NumericFieldExtractor()]
    if o["jsonl"]:
        extractors.append(CappedInterArrival(o["max_sources"]))
    return Sentinel(threshold=o["threshold"], warmup=w, enable_semantic=o["semantic"],
                    extractor=CompositeExtractor(extractors), detector_factory=factory)


def events(path, jsonl):
    if not jsonl:
        for ev in sources.iter_lines(path):
            yield ev, True
        return
    original = sources._parse_timestamp
    last = [None]

    def recording(value):
        last[0] = original(value)
        return last[0]

    sources._parse_timestamp = recording
    try:
        for ev in sources.iter_jsonl(path):
            parsed = last[0] is not None and ev.timestamp is last[0]
            last[0] = None
            yield ev, not parsed
    finally:
        sources._parse_timestamp = original


def run_case(name):
    o = parse_args((GOLDEN / f"{name}.args").read_text().strip())
    ext = "jsonl" if (GOLDEN / f"{name}.jsonl").exists() else "log"
    path = GOLDEN / f"{name}.{ext}"
    shards, overflow, single = {}, None, None
    if o["shard_by"] == "none":
        single = make_sentinel(o)
    out = []
    for ev, now in events(path, o["jsonl"]):
        s = single
        if s is None:
            s = shards.get(ev.source)
            if s is None:
                if len(shards) < o["max_sources"]:
                    s = shards[ev.source] = make_sentinel(o)
                else:
                    overflow = overflow or make_sentinel(o)
                    s = overflow
        for a in s.observe(ev):
            d = a.as_dict()
            if now:
                d["timestamp"] = "<now>"
            out.append(d)
    return out


@pytest.mark.parametrize("name", CASES)
def test_golden_case_matches_reference(name):
    expected = [json.loads(line) for line in
                (GOLDEN / f"{name}.expected.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]
    got = run_case(name)
    assert len(got) == len(expected), f"{name}: {len(got)} anomalies, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        for field in e:
            assert g[field] == e[field], f"{name} anomaly {i} field {field}: {g[field]!r} != {e[field]!r}"
        assert json.dumps(g) == json.dumps(e)


def test_every_configuration_is_covered():
    seen = {(o["detector"], o["semantic"]) for o in
            (parse_args((GOLDEN / f"{n}.args").read_text().strip()) for n in CASES)}
    for need in [("zscore", False), ("mad", False), ("ewma", False), ("zscore", True)]:
        assert need in seen
