import math

from trace_sentinel.baseline import EWMA, RollingWindow, RunningStats


def test_running_stats_mean_and_variance():
    data = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    rs = RunningStats()
    for x in data:
        rs.update(x)
    assert rs.n == len(data)
    assert math.isclose(rs.mean, 5.0)
    expected_var = sum((x - 5.0) ** 2 for x in data) / (len(data) - 1)
    assert math.isclose(rs.variance, expected_var)
    assert math.isclose(rs.std, math.sqrt(expected_var))


def test_running_stats_empty_and_single():
    rs = RunningStats()
    assert rs.mean == 0.0
    assert rs.variance == 0.0
    assert rs.std == 0.0
    rs.update(42.0)
    assert rs.mean == 42.0
    assert rs.variance == 0.0  # need >= 2 points


def test_ewma_tracks_level_shift():
    e = EWMA(alpha=0.2)
    for _ in range(200):
        e.update(10.0)
    assert math.isclose(e.mean, 10.0, abs_tol=1e-6)
    assert e.std < 1e-6
    for _ in range(200):
        e.update(20.0)
    assert e.mean > 18.0  # baseline followed the new level


def test_ewma_rejects_bad_alpha():
    for bad in (0.0, -0.1, 1.5):
        try:
            EWMA(alpha=bad)
        except ValueError:
            continue
        raise AssertionError(f"alpha={bad} should have raised")


def test_rolling_window_median_and_mad():
    w = RollingWindow(size=5)
    for x in [1, 2, 3, 4, 100]:
        w.update(x)
    assert w.n == 5
    assert w.median == 3
    # abs deviations from median 3: [2, 1, 0, 1, 97] -> median 1
    assert w.mad == 1


def test_rolling_window_evicts_old_values():
    w = RollingWindow(size=3)
    for x in [1, 2, 3, 4, 5]:
        w.update(x)
    assert w.n == 3
    assert w.median == 4  # only [3, 4, 5] remain
