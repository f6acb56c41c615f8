from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cxchange.understand.impact import NpsCells, nps, theme_impact


def test_impact_is_nps_all_minus_nps_without() -> None:
    everyone = NpsCells(500, 300, 200)  # NPS 30
    mentioning = NpsCells(10, 30, 60)  # mostly detractors
    r = theme_impact(mentioning, everyone, n_boot=500)
    without = NpsCells(490, 270, 140)
    assert r["nps_without"] == round(nps(without), 2)
    assert r["impact"] == round(30.0 - nps(without), 2)
    assert r["impact"] < 0
    assert r["impact_ci_low"] <= r["impact"] <= r["impact_ci_high"]


def test_a_theme_like_everyone_else_has_about_no_impact() -> None:
    everyone = NpsCells(5000, 3000, 2000)
    r = theme_impact(NpsCells(500, 300, 200), everyone, n_boot=1000)
    assert r["impact"] == 0.0
    assert r["impact_ci_low"] < 0 < r["impact_ci_high"]


def test_no_mentions_or_no_rest() -> None:
    r = theme_impact(NpsCells(0, 0, 0), NpsCells(1, 1, 1))
    assert r["impact"] == 0.0 and r["impact_ci_low"] is None
    r = theme_impact(NpsCells(3, 0, 0), NpsCells(3, 0, 0))
    assert r["impact"] is None


@given(st.lists(st.integers(0, 50), min_size=6, max_size=6))
def test_interval_is_deterministic_and_brackets_when_defined(c: list[int]) -> None:
    mentioning = NpsCells(c[0], c[1], c[2])
    everyone = NpsCells(c[0] + c[3], c[1] + c[4], c[2] + c[5])
    a = theme_impact(mentioning, everyone, n_boot=200, seed=1)
    assert a == theme_impact(mentioning, everyone, n_boot=200, seed=1)
    if a["impact_ci_low"] is not None:
        assert a["impact_ci_low"] <= a["impact_ci_high"]
