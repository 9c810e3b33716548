"""Regression tests for the hardening described in SECURITY.md.

Each test plants the malicious input and asserts the sentinel neither crashes
nor loses its ability to detect a subsequent real anomaly.
"""

import io
import math
import random

from trace_sentinel import Event, Sentinel
from trace_sentinel.detectors import MADDetector, ZScoreDetector
from trace_sentinel.extractors import CompositeExtractor, NumericFieldExtractor
from trace_sentinel.semantic import HashingVectorizer, SemanticNoveltyDetector
from trace_sentinel.sentinel import Anomaly, Severity
from trace_sentinel.sinks import ConsoleSink
from trace_sentinel.sources import iter_jsonl


# --- 1. Non-finite poisoning -------------------------------------------------

def test_nonfinite_does_not_poison_zscore_detector():
    det = ZScoreDetector(warmup=20)
    rng = random.Random(0)
    for _ in range(100):
        det.update_and_score(rng.gauss(10.0, 1.0))
    assert det.update_and_score(float("nan")) == 0.0
    assert det.update_and_score(float("inf")) == 0.0
    assert det.update_and_score(float("-inf")) == 0.0
    # Detector must still work after the attack.
    assert det.update_and_score(1000.0) > 5.0


def test_nonfinite_does_not_poison_mad_detector():
    det = MADDetector(window=50, warmup=20)
    for i in range(100):
        det.update_and_score(5.0 + (i % 3))
    assert det.update_and_score(float("nan")) == 0.0
    assert det.update_and_score(500.0) > 10.0


def test_nonfinite_attribute_is_dropped():
    ev = Event(message="m", attributes={"ok": 5, "bad1": float("nan"), "bad2": float("inf")})
    attrs = ev.numeric_attributes()
    assert attrs == {"ok": 5.0}


def test_sentinel_survives_nonfinite_attribute():
    s = Sentinel(
        threshold=3.0,
        warmup=20,
        extractor=CompositeExtractor([NumericFieldExtractor(fields=["v"])]),
    )
    rng = random.Random(0)
    for _ in range(100):
        s.observe(Event(message="m", source="x", attributes={"v": rng.gauss(10.0, 1.0)}))
    # The poisoned event produces no metric and no crash.
    assert s.observe(Event(message="m", source="x", attributes={"v": float("inf")})) == []
    out = s.observe(Event(message="m", source="x", attributes={"v": 1000.0}))
    assert any(a.metric == "attr.v" for a in out)


# --- 2. Oversized-message DoS ------------------------------------------------

def test_hashing_vectorizer_bounds_huge_message():
    hv = HashingVectorizer(dim=128, max_chars=4096)
    vec = hv.embed("x" * 1_000_000)
    assert len(vec) == 128
    assert all(math.isfinite(v) for v in vec)


def test_token_count_handles_huge_message():
    s = Sentinel(threshold=3.0, warmup=5)
    # Should complete quickly and not materialize a token list.
    out = s.observe(Event(message="a " * 500_000, source="x"))
    assert isinstance(out, list)


# --- 3. Crafted-timestamp crash ----------------------------------------------

def test_overflow_timestamp_does_not_crash(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"message": "a", "timestamp": 1e30}\n'
        '{"message": "b", "timestamp": "2026-01-01T00:00:00+00:00"}\n'
        '{"message": "c", "timestamp": "garbage"}\n',
        encoding="utf-8",
    )
    events = list(iter_jsonl(path))
    assert [e.message for e in events] == ["a", "b", "c"]  # all parsed, none raised


def test_nan_infinity_in_jsonl_is_neutralized(tmp_path):
    # json.loads accepts NaN/Infinity; they must not become live metrics.
    path = tmp_path / "events.jsonl"
    path.write_text('{"message": "x", "bytes": Infinity}\n', encoding="utf-8")
    (event,) = list(iter_jsonl(path))
    assert event.numeric_attributes() == {}


# --- 4. Terminal-escape injection --------------------------------------------

def test_console_sink_strips_control_chars():
    ev = Event(message="payload", source="\x1b[2J\x1b[1;1Hspoofed")
    anomaly = Anomaly(
        metric="attr.\x07evil",
        value=1.0,
        score=5.0,
        severity=Severity.HIGH,
        event=ev,
        explanation="bad\x1b[31mthing\x07",
    )
    buf = io.StringIO()
    ConsoleSink(stream=buf, color=False).emit(anomaly)
    out = buf.getvalue()
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "spoofed" in out  # text preserved, only controls removed


# --- 5. Metric-cardinality blowup --------------------------------------------

def test_metric_cardinality_is_capped():
    s = Sentinel(
        threshold=3.0,
        warmup=2,
        max_metrics=5,
        extractor=CompositeExtractor([NumericFieldExtractor()]),
    )
    for i in range(200):
        s.observe(Event(message="m", attributes={f"key{i}": float(i)}))
    assert len(s.metrics) <= 5


def test_semantic_novelty_never_returns_nonfinite():
    det = SemanticNoveltyDetector(dim=64, warmup=10)
    for i in range(50):
        score = det.update_and_score(f"line {i}")
        assert math.isfinite(score)
