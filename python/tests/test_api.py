"""The package's API beyond the reference's own tests: Event's dataclass behaviour,
Python extension points called as Python (detectors, extractors, semantic detectors,
embed_fn), extras (observe_many, engine options), sinks and seeding determinism."""

import copy
import dataclasses
import io
import json
import pickle
import random
from datetime import datetime, timedelta, timezone

import pytest

import trace_sentinel as ts
from trace_sentinel import Event, Sentinel, Severity
from trace_sentinel.extractors import CompositeExtractor, MessageLengthExtractor, NumericFieldExtractor


def test_event_defaults_and_dataclass_behaviour():
    ev = Event("hello")
    assert ev.source == "unknown" and ev.attributes == {}
    assert ev.timestamp.tzinfo is timezone.utc
    assert dataclasses.is_dataclass(ev)
    assert [f.name for f in dataclasses.fields(Event)] == ["message", "timestamp", "source", "attributes"]
    other = dataclasses.replace(ev, message="bye")
    assert other.message == "bye" and other.timestamp == ev.timestamp
    assert ev == Event("hello", ev.timestamp, "unknown", {})
    assert ev != other
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.message = "x"
    with pytest.raises(TypeError):
        hash(ev)  # attributes is a dict, as in the reference
    assert pickle.loads(pickle.dumps(ev)) == ev
    assert copy.deepcopy(ev) == ev
    assert repr(ev).startswith("Event(message='hello', timestamp=datetime.datetime(")
    assert dataclasses.asdict(ev)["message"] == "hello"


def test_event_from_line_and_numeric_attributes():
    ev = Event.from_line("abc\n\n", source="s")
    assert ev.message == "abc" and ev.source == "s"
    ev = Event("m", attributes={"a": 1, "b": True, "c": float("nan"), "d": 2.5, "e": "x"})
    assert ev.numeric_attributes() == {"a": 1.0, "d": 2.5}
    with pytest.raises(OverflowError):
        Event("m", attributes={"big": 10**400}).numeric_attributes()


def feed(s, n=200, seed=0):
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for i in range(n):
        s.observe(Event("x" * rng.randint(40, 60), base + timedelta(seconds=i), "app", {"v": rng.gauss(10, 1)}))


def test_python_detector_factory_is_called():
    calls = []

    class Det:
        def __init__(self):
            self.n = 0

        @property
        def ready(self):
            return self.n >= 3

        def update_and_score(self, value):
            self.n += 1
            calls.append(value)
            return 10.0 if self.n > 3 else 0.0

    s = Sentinel(detector_factory=Det)
    for _ in range(5):
        out = s.observe(Event("abc", source="x"))
    assert calls and {a.metric for a in out} >= {"message.length", "message.tokens"}
    assert all(a.severity is Severity.CRITICAL for a in out)


def test_python_extractor_and_subclass_are_called():
    class Digits:
        def extract(self, event):
            return {"digits": sum(c.isdigit() for c in event.message)}

    class Longer(MessageLengthExtractor):
        def extract(self, event):
            return {self.name: float(len(event.message) * 2)}

    s = Sentinel(extractor=CompositeExtractor([Digits(), Longer()]), warmup=2)
    s.observe(Event("a1b2"))
    assert s.metrics == ["digits", "message.length"]
    assert s.last_scores == {"digits": 0.0, "message.length": 0.0}


def test_duplicate_metric_names_merge_like_dict_update():
    ext = CompositeExtractor([MessageLengthExtractor(), MessageLengthExtractor("message.length")])
    s = Sentinel(extractor=ext)
    s.observe(Event("abc"))
    assert s.metrics == ["message.length"]


def test_embed_fn_is_used():
    seen = []

    def embed(text):
        seen.append(text)
        return [1.0, 0.0] if "ok" in text else [0.0, 1.0]

    det = ts.SemanticNoveltyDetector(embed_fn=embed, warmup=5)
    s = Sentinel(semantic=det, warmup=5)
    rng = random.Random(0)
    for i in range(50):
        s.observe(Event("ok " + "x" * rng.randint(1, 3)))
    s.observe(Event("boom"))
    assert "boom" in seen
    assert "message.semantic_novelty" in s.last_scores


def test_vectorizer_settings_and_matches_default():
    a = ts.HashingVectorizer().embed("Hello World")
    assert len(a) == 256 and abs(sum(x * x for x in a) - 1) < 1e-12
    b = ts.HashingVectorizer(dim=64, ngram=2, max_chars=5).embed("Hello World")
    assert len(b) == 64
    with pytest.raises(ValueError):
        ts.HashingVectorizer(dim=4)


def test_observe_many_equals_observe_loop():
    evs = [Event("m" * (10 + i % 5), source="s") for i in range(100)] + [Event("m" * 500, source="s")]
    a, b = Sentinel(warmup=10), Sentinel(warmup=10)
    one = [x.as_dict() for e in evs for x in a.observe(e)]
    many = [x.as_dict() for x in b.observe_many(evs)]
    assert one == many and one
    assert b.events_observed == len(evs)


def test_engine_options_pick_the_builtin_detector():
    s = Sentinel(detector="mad", window=16, warmup=5)
    for i in range(40):
        s.observe(Event("z" * (10 + i % 3)))
    out = s.observe(Event("z" * 4000))
    assert any(a.metric == "message.length" for a in out)
    with pytest.raises(ValueError):
        Sentinel(detector="nope")
    with pytest.raises(ValueError):
        Sentinel(shard_by="host")


def test_threshold_and_extractor_are_live_attributes():
    s = Sentinel(warmup=5)
    s.threshold = 1.5
    assert s.threshold == 1.5
    ext = CompositeExtractor([NumericFieldExtractor(fields=["v"])])
    s.extractor = ext
    assert s.extractor is ext
    s.observe(Event("m", attributes={"v": 1, "w": 2}))
    assert s.metrics == ["attr.v"]


def test_builtin_extractor_settings_changed_mid_stream_take_effect():
    # As in the reference, the built-in extractors are read afresh for every event.
    length = MessageLengthExtractor()
    s = Sentinel(extractor=CompositeExtractor([length, NumericFieldExtractor(prefix="a.")]), warmup=2)
    for i in range(5):
        s.observe(Event("x" * (3 + i % 2), attributes={"v": i}))
    length.name = "len.renamed"
    s.observe(Event("xyz", attributes={"v": 1}))
    length.name = "message." + "length"  # equal text, another object: the same baseline
    s.observe(Event("xyz"))
    assert s.metrics == ["a.v", "len.renamed", "message.length"]
    assert s.metric_states()["len.renamed"]["ready"] is False
    assert list(s.last_scores) == ["message.length", "a.v", "len.renamed"]


def test_sinks():
    s = Sentinel(warmup=5)
    # Lengths 4 to 6: a baseline with spread (a constant one scores every value 0).
    for i in range(20):
        s.observe(Event("abcd" + "e" * (i % 3), source="\x1b[2Jsrc"))
    (a,) = [x for x in s.observe(Event("abcd" * 100, source="\x1b[2Jsrc")) if x.metric == "message.length"]
    buf = io.StringIO()
    ts.ConsoleSink(buf, color=False).emit(a)
    assert "\x1b" not in buf.getvalue() and "(\ufffd[2Jsrc) message.length = 400 is" in buf.getvalue()
    buf = io.StringIO()
    ts.JSONLSink(buf).emit(a)
    assert json.loads(buf.getvalue())["metric"] == "message.length"
    got = []
    ts.CallbackSink(got.append).emit(a)
    assert got == [a]


def test_seed_matches_the_reference_corpus():
    msgs = list(ts.benign_signals(60, seed=3))
    assert msgs == list(ts.benign_signals(60, seed=3))
    # The reference 0.2.0 gives these for seed 3.
    assert msgs[:2] == ["The DHCP Client service entered the running state.",
                        "The Workstation service entered the stopped state."]
    evs = list(ts.benign_events(5))
    assert evs[0].timestamp > datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_last_scores_and_states_order():
    # Orders as the reference 0.2.0 prints them for the same two events.
    s = Sentinel(enable_semantic=True, warmup=2)
    s.observe(Event("a b"))
    s.observe(Event("a b c", attributes={"k": 1}))
    assert list(s.last_scores) == ["message.length", "message.tokens",
                                   "message.semantic_novelty", "attr.k", "event.interarrival_s"]
    assert list(s.metric_states()) == ["message.length", "message.tokens", "attr.k",
                                       "event.interarrival_s", "message.semantic_novelty"]
