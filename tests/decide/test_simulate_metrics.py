"""The simulator on mean-scale scores (CSAT, CES, rating): exact on small known data, CES (1–7,
7 = very easy) moves the right way, a share of 0 moves nothing, and NPS through the general path is
the NPS simulator."""

from __future__ import annotations

import numpy as np
import pytest

from cxchange.decide.simulate import simulate_metric, simulate_nps


def test_fixing_every_complainer_gives_them_the_others_rating() -> None:
    # 20 one-star complainers, 30 five-star others, one stratum: fixed, a complainer gives 5 stars.
    stars = np.array([1.0] * 20 + [5.0] * 30)
    affected = np.array([True] * 20 + [False] * 30)[:, None]
    res = simulate_metric("rating", stars, np.zeros(50), affected, [1.0], draws=300, seed=1)
    assert res.baseline_nps == round((20 * 1 + 30 * 5) / 50, 2) == 3.4  # the baseline mean rating
    assert res.ci_low == res.ci_high == 5.0  # every draw: everyone at 5 stars
    assert res.projected_nps == pytest.approx(5.0, abs=0.01)
    assert res.delta > 1.5 and res.delta_ci_low > 0
    assert res.customers_affected == 20 and res.n == 50


def test_ces_rises_when_complainers_who_found_it_hard_are_fixed() -> None:
    rng = np.random.default_rng(0)
    ease = np.concatenate([rng.integers(1, 4, 60), rng.integers(5, 8, 140)]).astype(float)
    affected = np.array([True] * 60 + [False] * 140)[:, None]
    res = simulate_metric("ces", ease, np.zeros(200), affected, [0.5], draws=400)
    assert res.delta > 0 and res.delta_ci_low > 0  # easier: the score goes up
    nothing = simulate_metric("ces", ease, np.zeros(200), affected, [0.0], draws=200)
    assert nothing.delta == 0.0 and nothing.projected_nps == nothing.baseline_nps


def test_csat_is_percent_satisfied_before_and_after() -> None:
    answers = np.array([1.0] * 10 + [2.0] * 10 + [4.0] * 40 + [5.0] * 40)
    affected = np.array([True] * 20 + [False] * 80)[:, None]
    res = simulate_metric("csat", answers, np.zeros(100), affected, [1.0], draws=200)
    assert res.baseline_nps == 80.0  # 80 % satisfied
    assert res.ci_low == res.ci_high == 100.0  # the donors are all satisfied


def test_nps_through_the_general_path_is_the_nps_simulator_it_was() -> None:
    """The numbers the NPS-only simulator (d4af6c4) gave on this data, draw for draw: generalising the
    cells to any number of answer categories left NPS as it was."""
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 11, 300)
    strata = rng.integers(0, 3, 300)
    affected = rng.random((300, 2)) < 0.2
    clusters = rng.integers(0, 15, 300)
    lever = {"passives-to-promoters": 0.1}
    by_store = simulate_metric("nps", scores, strata, affected, [0.5, 0.3], levers=lever, draws=200, seed=4,
                               clusters=clusters)  # fmt: skip
    assert (by_store.baseline_nps, by_store.projected_nps, by_store.ci_low, by_store.ci_high) == (
        -47.0, -47.38, -56.12, -37.95,
    )  # fmt: skip
    assert (by_store.delta_ci_low, by_store.delta_ci_high, by_store.resampled) == (-5.13, 4.55, "stores")
    alone = simulate_nps(scores, strata, affected, [0.5, 0.3], levers=lever, draws=200, seed=4)
    assert (alone.projected_nps, alone.ci_low, alone.ci_high, alone.delta_ci_low, alone.delta_ci_high) == (
        -47.32, -56.68, -35.99, -6.35, 5.01,
    )  # fmt: skip


def test_levers_are_nps_only() -> None:
    with pytest.raises(ValueError, match="NPS only"):
        simulate_metric("rating", np.array([1.0, 5.0]), np.zeros(2), np.zeros((2, 0)), [],
                        levers={"passives-to-promoters": 0.1})  # fmt: skip


def test_a_small_gain_on_a_mean_rating_is_kept_not_rounded_away() -> None:
    """On the Alexa reviews (mean rating 4.44 of 2,291) most themes' gains rounded to 0.0 or tied at
    0.01: Opportunities ranked them alphabetically and the business case priced a rounded change."""
    stars = np.array([1.0] * 3 + [5.0] * 997)
    strata = np.zeros(1000)
    one = simulate_metric("rating", stars, strata, np.array([True] * 1 + [False] * 999)[:, None], [1.0])
    three = simulate_metric("rating", stars, strata, np.array([True] * 3 + [False] * 997)[:, None], [1.0])
    assert one.delta == pytest.approx(0.004, abs=0.0005)  # 1 of 1,000 from 1 to 5 stars: +0.004
    assert three.delta == pytest.approx(0.012, abs=0.0015)
    assert 0 < one.delta < three.delta
