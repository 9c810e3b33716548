import random

from trace_sentinel.detectors import Detector, MADDetector, ZScoreDetector


def test_zscore_is_quiet_during_warmup():
    det = ZScoreDetector(warmup=20)
    for _ in range(19):
        assert det.update_and_score(5.0) == 0.0
    assert not det.ready


def test_zscore_flags_spike():
    det = ZScoreDetector(warmup=20)
    rng = random.Random(0)
    scores = [det.update_and_score(rng.gauss(0.0, 1.0)) for _ in range(300)]
    # Normal Gaussian noise should essentially never exceed ~5 sigma.
    assert max(abs(s) for s in scores) < 5.0
    spike = det.update_and_score(50.0)
    assert spike > 5.0


def test_zscore_drift_mode_adapts():
    det = ZScoreDetector(warmup=10, drift=True, alpha=0.1)
    rng = random.Random(1)
    # First regime around 100.
    for _ in range(200):
        det.update_and_score(100.0 + rng.gauss(0, 1))
    # Slowly shifted regime around 130 should be accepted as the new normal.
    tail = [det.update_and_score(130.0 + rng.gauss(0, 1)) for _ in range(200)]
    assert abs(tail[-1]) < 5.0


def test_mad_is_robust_to_outliers():
    det = MADDetector(window=50, warmup=20)
    for i in range(100):
        det.update_and_score(5.0 + (i % 3))  # values in {5, 6, 7}
    score = det.update_and_score(500.0)
    assert score > 10.0


def test_detectors_satisfy_protocol():
    assert isinstance(ZScoreDetector(), Detector)
    assert isinstance(MADDetector(), Detector)
