"""Theme impact on a mean-scale score (CSAT, CES, rating): exact numbers on small known data, the CES
sign (negative = worse with the theme, for every metric) and NPS through the same formula."""

from __future__ import annotations

import numpy as np
import pytest

from cxchange.core.errors import InputError
from cxchange.measure.scale import check_metric, default_metric, points
from cxchange.understand.impact import NpsCells, score_impact, theme_impact

STARS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def test_rating_impact_is_mean_all_minus_mean_without() -> None:
    # Mentioning: two 1-star and one 2-star reviews; the others: three 4-star and four 5-star.
    mentioning = np.array([2, 1, 0, 0, 0])
    everyone = np.array([2, 1, 0, 3, 4])
    r = score_impact(STARS, mentioning, everyone, n_boot=500)
    # all: (2 + 2 + 12 + 20) / 10 = 3.6; without: 32 / 7; with: 4 / 3
    assert r["score_with"] == round(4 / 3, 2)
    assert r["score_without"] == round(32 / 7, 2)
    assert r["impact"] == round(3.6 - 32 / 7, 2) == -0.97
    assert r["impact_ci_low"] <= r["impact"] <= r["impact_ci_high"] < 0
    assert r["ci_by"] == "respondents"


def test_ces_impact_is_negative_when_the_theme_means_more_effort() -> None:
    """CES 2.0 as cxchange's surveys, demo and report define it: 1–7, 7 = very easy (higher is better)."""
    ease = np.arange(1.0, 8.0)
    mentioning = np.array([3, 2, 1, 0, 0, 0, 0])  # hard to get done
    everyone = mentioning + np.array([0, 0, 0, 2, 4, 5, 5])
    r = score_impact(ease, mentioning, everyone, n_boot=500)
    mean_all = float(everyone @ ease / everyone.sum())
    mean_without = float((everyone - mentioning) @ ease / (everyone - mentioning).sum())
    assert mean_all < mean_without  # the theme lowers the ease …
    assert r["impact"] == round(mean_all - mean_without, 2) < 0  # … which is worse: negative
    assert r["impact_ci_low"] <= r["impact"] <= r["impact_ci_high"] < 0
    assert r["score_with"] == round(float(mentioning @ ease / mentioning.sum()), 2)


def test_nps_through_the_points_formula_is_the_nps_impact_it_was() -> None:
    """The numbers the NPS-only impact (d4af6c4) gave, draw for draw, by respondents and by stores."""
    points_nps = np.array([100.0, 0.0, -100.0])
    r = score_impact(points_nps, np.array([10, 30, 60]), np.array([500, 300, 200]), n_boot=400, seed=3)
    assert (r["score_with"], r["score_without"], r["impact"]) == (-50.0, 38.89, -8.89)
    assert (r["impact_ci_low"], r["impact_ci_high"], r["ci_by"]) == (-11.15, -6.98, "respondents")
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(12):
        everyone = rng.multinomial(80, [0.4, 0.3, 0.3])
        rows.append([*np.minimum(everyone, rng.multinomial(20, [0.2, 0.3, 0.5])), *everyone])
    by_store = np.array(rows, dtype=float)
    nps = theme_impact(
        NpsCells(*map(int, by_store[:, :3].sum(axis=0))), NpsCells(*map(int, by_store[:, 3:].sum(axis=0))),
        n_boot=400, seed=3, by_store=by_store,
    )  # fmt: skip
    assert nps == {"nps_with": -28.75, "nps_without": 16.53, "impact": -11.32, "impact_ci_low": -15.42,
                   "impact_ci_high": -7.33, "ci_by": "stores"}  # fmt: skip


def test_store_bootstrap_for_a_rating_resamples_stores() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(12):
        everyone = rng.multinomial(60, [0.1, 0.1, 0.2, 0.3, 0.3])
        mentioning = np.minimum(everyone, rng.multinomial(15, [0.5, 0.3, 0.1, 0.05, 0.05]))
        rows.append([*mentioning, *everyone])
    by_store = np.array(rows, dtype=float)
    r = score_impact(STARS, by_store[:, :5].sum(axis=0), by_store[:, 5:].sum(axis=0), by_store=by_store)
    assert r["ci_by"] == "stores" and r["impact"] is not None and r["impact"] < 0
    with pytest.raises(ValueError, match="do not add up"):
        score_impact(STARS, by_store[:, :5].sum(axis=0) + 1, by_store[:, 5:].sum(axis=0), by_store=by_store)


def test_csat_points_are_percent_satisfied_and_the_default_metric_follows_the_answers() -> None:
    assert points("csat", np.array([1, 3, 4, 5])).tolist() == [0.0, 0.0, 100.0, 100.0]
    assert points("nps", np.array([0, 6, 7, 8, 9, 10])).tolist() == [-100, -100, 0, 0, 100, 100]
    assert points("rating", np.array([2.5])).tolist() == [2.5]
    assert default_metric({"nps": 3, "rating": 2000}) == "nps"  # NPS whenever the scope has it
    assert default_metric({"nps": 0, "csat": 10, "rating": 2000}) == "rating"
    assert default_metric({"csat": 5, "ces": 5}) == "csat"  # ties: the order of METRICS
    assert default_metric({}) == "nps"
    assert check_metric(" Rating ") == "rating"
    with pytest.raises(InputError, match="unknown metric"):
        check_metric("happiness")
