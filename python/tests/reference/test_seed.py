"""Tests for the benign-signal seeding corpus and Sentinel.prime()."""

from trace_sentinel import Event, Sentinel, benign_events, benign_signals


def test_benign_signals_count_and_determinism():
    a = list(benign_signals(500))
    b = list(benign_signals(500))
    assert len(a) == 500
    assert a == b  # deterministic for a fixed seed
    assert all(isinstance(s, str) and s for s in a)


def test_benign_events_timestamps_increase():
    events = list(benign_events(100))
    assert len(events) == 100
    times = [e.timestamp for e in events]
    assert all(times[i] <= times[i + 1] for i in range(len(times) - 1))
    assert all(e.source for e in events)


def test_prime_warms_baselines_without_emitting():
    s = Sentinel(threshold=3.0, warmup=30, enable_semantic=True)
    n = s.prime(benign_events(1000))
    assert n == 1000
    assert s.events_observed == 0           # priming is not "observing"
    assert s.last_scores == {}              # priming does not record live scores
    states = s.metric_states()
    assert states["message.length"]["ready"] is True


def test_detection_still_works_after_priming():
    s = Sentinel(threshold=3.0, warmup=30, enable_semantic=True)
    s.prime(benign_events(1500))
    out = s.observe(Event(message="Z" * 9000, source="edge"))
    assert any(a.metric == "message.length" for a in out)


def test_priming_is_calm_on_typical_signal():
    s = Sentinel(threshold=3.0, warmup=30, enable_semantic=True)
    s.prime(benign_events(2000))
    # A typical benign-looking line should not trip the length detector.
    out = s.observe(
        Event(message="The Print Spooler service entered the running state.", source="Service Control Manager")
    )
    assert all(a.metric != "message.length" for a in out)


def test_prime_respects_max_metrics():
    from trace_sentinel.extractors import CompositeExtractor, NumericFieldExtractor

    s = Sentinel(threshold=3.0, warmup=5, max_metrics=3,
                 extractor=CompositeExtractor([NumericFieldExtractor()]))
    s.prime(Event(message="m", attributes={f"k{i}": float(i)}) for i in range(50))
    assert len(s.metrics) <= 3
