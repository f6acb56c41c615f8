"""Alert statistics (sustain.sequential): the CUSUM's p-value is calibrated and catches a sustained
fall from where it began; Benjamini–Hochberg withholds a lone borderline rule among many."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from cxchange.sustain.sequential import below_p_value, discoveries, drop_check, quarter_false_alarm


def _days(rng: np.random.Generator, days: int, nps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = rng.poisson(10, days)
    p = rng.binomial(n, 0.35 + nps / 200)
    d = rng.binomial(n - p, (0.35 - nps / 200) / (0.65 - nps / 200))
    return 100.0 * (p - d), 1e4 * (p + d), n.astype(float)


def _baseline(rng: np.random.Generator) -> tuple[float, float, int]:
    s, ss, n = _days(rng, 365, 30.0)
    return float(s.sum()), float(ss.sum()), int(n.sum())


def test_quarter_false_alarm_falls_with_the_threshold() -> None:
    ps = [quarter_false_alarm(h, 0.16) for h in (0.0, 2.0, 4.0, 6.0, 8.0)]
    assert ps[0] == 1.0 and all(a > b for a, b in pairwise(ps)) and ps[-1] < 0.01


def test_null_days_rarely_fire_and_a_fall_fires_from_its_start() -> None:
    rng = np.random.default_rng(4)
    fired = 0
    for _ in range(200):
        s, _ss, n = _days(rng, 30, 30.0)
        fired += drop_check(*_baseline(rng), s, n, 10.0).p_value <= 0.05
    assert fired / 200 < 0.05  # one look: well under the per-quarter rate
    s1, _, n1 = _days(rng, 10, 30.0)
    s2, _, n2 = _days(rng, 20, 0.0)  # a 30-point fall from day 10
    chk = drop_check(*_baseline(rng), np.r_[s1, s2], np.r_[n1, n2], 10.0)
    assert chk.p_value < 0.01 and chk.since is not None and 6 <= chk.since <= 12
    assert chk.fall == pytest.approx(30.0, abs=10.0)
    with pytest.raises(ValueError, match="positive"):
        drop_check(*_baseline(rng), s1, n1, 0.0)


def test_benjamini_hochberg_across_rules() -> None:
    assert discoveries([0.04]) == [True]
    assert discoveries([0.04, 0.5]) == [False, False]  # alone it would fire; among two it does not
    assert discoveries([0.01, 0.02, 0.03, 0.5]) == [True, True, True, False]
    assert discoveries([]) == []


def test_below_p_matches_the_interval_rule() -> None:
    assert below_p_value(10.0, 2.0, 10.0 + 1.96 * 2.0 + 0.01) < 0.05
    assert below_p_value(10.0, 2.0, 10.0 + 1.96 * 2.0 - 0.01) > 0.05
