"""Sentinel.observe with the engine options templates=True or shard_by="source" (the
engine's detect stage): per-source baselines equal one reference-shaped sentinel per
source (the golden cases, and a hand-made multi-source stream with Python extractors
and embeddings); the template layer equals what watch_file reports on the same lines;
what the engine cannot run is refused with ValueError."""

import dataclasses
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from conftest import DATASETS, GOLDEN
from test_parity import CASES, events, parse_args
from trace_sentinel import Event, Sentinel, SemanticNoveltyDetector, sources
from trace_sentinel.detectors import MADDetector, ZScoreDetector
from trace_sentinel.extractors import (
    CompositeExtractor,
    InterArrivalExtractor,
    MessageLengthExtractor,
    NumericFieldExtractor,
    TokenCountExtractor,
)

DEMO = DATASETS / "demo.log"
SOURCE_CASES = [n for n in CASES if parse_args((GOLDEN / f"{n}.args").read_text().strip())["shard_by"] == "source"]


def builtin(timed):
    extractors = [MessageLengthExtractor(), TokenCountExtractor(), NumericFieldExtractor()]
    if timed:
        extractors.append(InterArrivalExtractor())
    return CompositeExtractor(extractors)


@pytest.mark.parametrize("name", SOURCE_CASES)
def test_shard_by_source_matches_the_golden_case(name):
    # One sentinel with per-source baselines reports what the reference reports with one
    # sentinel per source (the golden files).
    o = parse_args((GOLDEN / f"{name}.args").read_text().strip())
    ext = "jsonl" if (GOLDEN / f"{name}.jsonl").exists() else "log"
    s = Sentinel(threshold=o["threshold"], warmup=o["warmup"], enable_semantic=o["semantic"],
                 extractor=builtin(o["jsonl"]), detector=o["detector"], alpha=o["alpha"],
                 window=o["window"], shard_by="source", max_sources=o["max_sources"])
    got = []
    for ev, now in events(GOLDEN / f"{name}.{ext}", o["jsonl"]):
        for a in s.observe(ev):
            d = a.as_dict()
            if now:
                d["timestamp"] = "<now>"
            got.append(json.dumps(d))
    expected = [line for line in (GOLDEN / f"{name}.expected.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]
    assert SOURCE_CASES and got == expected


class Shouting:
    """A Python extractor: the share of upper-case letters, and a repeated name."""

    def extract(self, event):
        letters = [c for c in event.message if c.isalpha()] or ["a"]
        return {"app.upper": sum(c.isupper() for c in letters) / len(letters), "app.bangs": 0.0}


class Bangs:
    def extract(self, event):
        return {"app.bangs": float(event.message.count("!"))}


def close(a, b):
    """Equal structures, floats to 1e-12 relative."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return a == b


def embed(text):
    # A toy embedding: letter frequencies, normalised.
    v = [0.0] * 26
    for c in text.lower():
        if "a" <= c <= "z":
            v[ord(c) - 97] += 1.0
    n = sum(x * x for x in v) ** 0.5 or 1.0
    return [x / n for x in v]


def stream(n=1500, seed=7):
    rng = random.Random(seed)
    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    words = ["GET", "POST", "user", "login", "ok", "cache", "miss", "retry"]
    out = []
    for i in range(n):
        src = rng.choice(["web", "db", "auth"])
        msg = " ".join(rng.choice(words) for _ in range(rng.randint(2, 8)))
        if rng.random() < 0.01:
            msg = "FATAL!!! " + "x" * rng.randint(100, 400)
        attrs = {"ms": rng.lognormvariate(3, 0.3 if src != "db" else 1.0), "flag": True}
        out.append(Event(msg, t0 + timedelta(seconds=i * rng.uniform(0.5, 1.5)), src, attrs))
    return out


@pytest.mark.parametrize("semantic", [None, "builtin", "embed_fn", "dim32"])
@pytest.mark.parametrize("detector", ["zscore", "ewma", "mad"])
def test_shard_by_source_equals_one_reference_sentinel_per_source(semantic, detector):
    def make(**engine):
        sem = {None: None, "builtin": SemanticNoveltyDetector(warmup=20),
               "embed_fn": SemanticNoveltyDetector(embed_fn=embed, warmup=20),
               "dim32": SemanticNoveltyDetector(dim=32, warmup=20)}[semantic]
        extractor = CompositeExtractor([MessageLengthExtractor(), TokenCountExtractor(), NumericFieldExtractor(),
                                        InterArrivalExtractor(), Shouting(), Bangs()])
        return Sentinel(warmup=20, threshold=2.5, detector=detector, window=50, alpha=0.1,
                        extractor=extractor, semantic=sem, **engine)

    engine = make(shard_by="source")
    per_source = {}
    want, got = [], []
    for ev in stream():
        ref = per_source.setdefault(ev.source, make())
        want += [a.as_dict() for a in ref.observe(ev)]
        got += [a.as_dict() for a in engine.observe(ev)]
    assert len(want) > 20 and {d["metric"] for d in want} >= {"app.upper", "attr.ms", "message.length"}
    if semantic:
        assert any(d["metric"] == "message.semantic_novelty" for d in want)
    assert got == want
    # The states of a source are that source's reference sentinel's (the engine's
    # semantic layer sums in another order: equal to the last bits).
    for src, ref in per_source.items():
        assert close(engine.metric_states(src), ref.metric_states())
    # (Keys in the engine's order: its semantic layer comes after every metric.)
    assert close(dict(sorted(engine.last_scores.items())), dict(sorted(per_source[ev.source].last_scores.items())))
    assert engine.metrics == sorted(set().union(*(r.metrics for r in per_source.values())))
    assert engine.events_observed == sum(r.events_observed for r in per_source.values())


def test_observe_many_watch_and_prime_in_engine_mode():
    evs = stream(600)
    a, b, c = (Sentinel(shard_by="source", warmup=10) for _ in range(3))
    one = [x for ev in evs for x in a.observe(ev)]
    assert one and b.observe_many(evs) == one and list(c.watch(evs)) == one
    # Priming trains the baselines every new source starts from: ready at once.
    p = Sentinel(shard_by="source", warmup=10)
    assert p.prime(evs[:50]) == 50 and p.events_observed == 0
    p.observe(Event("GET user ok", source="brand-new"))
    assert p.metric_states("brand-new")["message.length"]["ready"]
    fresh = Sentinel(shard_by="source", warmup=10)
    fresh.observe(Event("GET user ok", source="brand-new"))
    assert not fresh.metric_states()["message.length"]["ready"]


def lines_of(path):
    return [ln.rstrip("\n") for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


@pytest.mark.parametrize("shard_by", ["none", "source"])
def test_templates_observe_equals_watch_file(shard_by):
    # Plain text as watch reads it (no inter-arrival), line by line through observe.
    s = Sentinel(templates=True, shard_by=shard_by, extractor=builtin(False))
    got = []
    for line in lines_of(DEMO):
        got += [a.as_dict() for a in s.observe(Event.from_line(line, source="demo.log"))]
    want = [a.as_dict() for a in Sentinel(templates=True, shard_by=shard_by).watch_file(DEMO)]

    def strip(d):
        d = dict(d)
        del d["timestamp"]
        d.pop("line", None)
        return d

    assert any(d["metric"] == "template.novelty" for d in want)
    assert [strip(d) for d in got] == [strip(d) for d in want]
    novel = next(a for a in s.observe(Event("a line unlike any other before it, at all", source="demo.log"))
                 if a.metric == "template.novelty")
    assert novel.template_id is not None and "<*>" in novel.template or novel.template
    assert "template.novelty" in s.metric_states()


def test_templates_observe_equals_watch_file_on_json_lines():
    src = GOLDEN / "jsonl_multi_source.jsonl"
    s = Sentinel(templates=True, shard_by="source", warmup=10)
    got = [a.as_dict() for ev in sources.iter_jsonl(src) for a in s.observe(ev)]
    want = [a.as_dict() for a in Sentinel(templates=True, shard_by="source", warmup=10).watch_file(src, jsonl=True)]
    for d in want:
        del d["line"]
    assert want and got == want


def test_engine_mode_refuses_what_only_python_computes():
    class MyDetector:
        ready = True

        def update_and_score(self, v):
            return 0.0

    class MySemantic:
        ready = True

        def update_and_score(self, message):
            return 0.0

    with pytest.raises(ValueError, match="detector_factory returns MyDetector"):
        Sentinel(templates=True, detector_factory=MyDetector)
    with pytest.raises(ValueError, match="semantic detector is MySemantic"):
        Sentinel(shard_by="source", semantic=MySemantic())
    with pytest.raises(ValueError, match="TokenCountExtractor"):
        Sentinel(shard_by="source", extractor=MessageLengthExtractor())
    with pytest.raises(ValueError, match="decay"):
        Sentinel(shard_by="source", semantic=SemanticNoveltyDetector(decay=0.5))
    with pytest.raises(ValueError, match="warmup"):
        Sentinel(shard_by="source", warmup=5, semantic=SemanticNoveltyDetector())
    # Native detectors from a factory are read back.
    s = Sentinel(shard_by="source", detector_factory=lambda: MADDetector(window=16, warmup=3))
    assert s.observe(Event("x")) == []
    s = Sentinel(templates=True)
    for name, value in [("threshold", 2.0), ("extractor", builtin(True)), ("semantic", None), ("max_metrics", 9)]:
        with pytest.raises(AttributeError, match="fixed"):
            setattr(s, name, value)
    with pytest.raises(ValueError):
        Sentinel().metric_states("web")
    # The reference's behaviour stays: settable without the engine options.
    r = Sentinel()
    r.threshold = 2.0
    assert r.threshold == 2.0


def test_anomaly_extras_stay_out_of_the_reference_shape():
    s = Sentinel(warmup=3)
    for i in range(10):
        s.observe(Event("tick " + "t" * (i % 3)))
    (a,) = [x for x in s.observe(Event("t" * 300)) if x.metric == "message.length"]
    assert a.line is None and a.template is None
    assert list(a.as_dict()) == ["timestamp", "source", "metric", "value", "score", "severity",
                                 "explanation", "message"]
    assert repr(a).startswith("Anomaly(metric='message.length', value=300.0,") and "template" not in repr(a)
    assert dataclasses.replace(a, line=7).as_dict()["line"] == 7
