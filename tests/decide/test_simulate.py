from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxchange.decide.simulate import category_of, parse_levers, simulate_nps


def _data(n: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    affected = rng.random((n, 2)) < [0.15, 0.10]
    scores = np.clip(np.rint(rng.normal(7.6, 1.8, n) - 3.0 * affected[:, 0]), 0, 10)
    strata = rng.integers(0, 3, n)
    return scores, strata, affected


def _expected_full_fix(scores: np.ndarray, affected: np.ndarray) -> float:
    """NPS if every affected respondent took the unaffected distribution (one stratum)."""
    cat = category_of(scores)
    donors = np.bincount(cat[~affected], minlength=3) / (~affected).sum()
    p = (np.bincount(cat[~affected], minlength=3) + affected.sum() * donors) / scores.size
    return 100.0 * (p[0] - p[2])


def test_share_zero_changes_nothing_and_share_one_matches_the_formula() -> None:
    scores, _, affected = _data()
    none = simulate_nps(scores, np.zeros(scores.size), affected[:, :1], [0.0], draws=300)
    assert none.delta == 0.0 and none.delta_ci_low == 0.0 == none.delta_ci_high
    full = simulate_nps(scores, np.zeros(scores.size), affected[:, :1], [1.0], draws=2000)
    expected = _expected_full_fix(scores, affected[:, 0])
    assert abs(full.projected_nps - expected) < 0.15
    assert full.ci_low < expected < full.ci_high


def test_half_share_is_half_the_effect() -> None:
    scores, strata, affected = _data()
    full = simulate_nps(scores, strata, affected[:, :1], [1.0], draws=1000)
    half = simulate_nps(scores, strata, affected[:, :1], [0.5], draws=1000)
    assert abs(half.delta - full.delta / 2) < 0.3


def test_themes_combine_without_double_counting() -> None:
    scores, strata, _ = _data()
    both = np.ones((scores.size, 2), dtype=bool)  # everyone complains about both themes
    both[: scores.size // 2] = False
    a = simulate_nps(scores, strata, both, [0.5, 0.5], draws=500, seed=1)
    one = simulate_nps(scores, strata, both[:, :1], [0.75], draws=500, seed=1)
    assert abs(a.delta - one.delta) < 0.4  # 1 − (1 − .5)(1 − .5) = .75, not 1.0
    assert a.customers_affected == scores.size - scores.size // 2


def test_levers_move_categories() -> None:
    scores, strata, affected = _data()
    base = simulate_nps(scores, strata, affected[:, :0], [], draws=300)
    moved = simulate_nps(
        scores, strata, affected[:, :0], [], levers={"detractors-to-passives": 0.1}, draws=300
    )
    cat = category_of(scores)
    assert abs((moved.projected_nps - base.projected_nps) - 100 * 0.1 * (cat == 2).mean()) < 0.3
    with pytest.raises(ValueError, match="unknown lever"):
        parse_levers(["bogus=0.1"])
    assert parse_levers(["passives-to-promoters=0.2"]) == {"passives-to-promoters": 0.2}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 10), min_size=1, max_size=60),
    st.floats(0, 1),
    st.integers(0, 3),
)
def test_any_input_gives_an_ordered_interval(scores: list[int], share: float, seed: int) -> None:
    n = len(scores)
    rng = np.random.default_rng(seed)
    res = simulate_nps(
        np.array(scores), rng.integers(0, 2, n), rng.random((n, 1)) < 0.3, [share], draws=50, seed=seed
    )
    assert -100 <= res.ci_low <= res.ci_high <= 100
    assert res.n == n


def _store_world(store_sd: float, stores: int = 40, per_store: int = 150) -> tuple[np.ndarray, ...]:
    """Scores, one stratum, who complains about the theme, and the store of each respondent; `store_sd`
    spreads stores' NPS and how often they complain (a store-level shock)."""
    rng = np.random.default_rng(9)
    scores, affected, store = [], [], []
    for k in range(stores):
        shift = rng.normal(0.0, store_sd)
        complains = rng.random(per_store) < np.clip(0.25 + shift / 150.0, 0.02, 0.7)
        p = np.clip(0.45 + shift / 200.0 - 0.25 * complains, 0.02, 0.7)
        u = rng.random(per_store)
        scores.append(np.where(u < p, 10, np.where(u < p + 0.3, 8, 3)))
        affected.append(complains)
        store.append(np.full(per_store, k))
    return (
        np.concatenate(scores),
        np.zeros(stores * per_store, int),
        np.concatenate(affected),
        np.concatenate(store),
    )


def test_store_bootstrap_widens_with_a_store_shock_and_matches_without() -> None:
    def width(store_sd: float, clustered: bool) -> tuple[float, str]:
        scores, strata, affected, store = _store_world(store_sd)
        r = simulate_nps(scores, strata, affected, [0.5], draws=2000, seed=1,
                         clusters=store if clustered else None)  # fmt: skip
        return r.ci_high - r.ci_low, r.resampled

    (calm_store, by), (calm_resp, by_resp) = width(0.0, True), width(0.0, False)
    assert (by, by_resp) == ("stores", "respondents")
    assert calm_store == pytest.approx(calm_resp, rel=0.15)
    assert width(25.0, True)[0] > 1.5 * width(25.0, False)[0]
    scores, strata, affected, store = _store_world(0.0, stores=5)
    few = simulate_nps(scores, strata, affected, [0.5], draws=200, clusters=store)
    assert few.resampled == "respondents"  # too few stores to resample
