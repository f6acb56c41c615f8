from __future__ import annotations

import numpy as np
import pytest
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


def _stores(seed: int, store_sd: float, stores: int = 40, per_store: int = 250) -> np.ndarray:
    """Per-store (mentioning P, Pa, D, everyone P, Pa, D). Mentioning a theme costs 30 NPS points;
    `store_sd` spreads each store's NPS and how often it mentions the theme (a store-level shock)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(stores):
        shift = rng.normal(0.0, store_sd)
        rate = float(np.clip(0.2 + shift / 200.0, 0.02, 0.6))
        mention = rng.binomial(per_store, rate)

        def answers(k: int, nps_: float) -> np.ndarray:
            p = float(np.clip(0.35 + nps_ / 200.0, 0.01, 0.69))
            return rng.multinomial(k, [p, 0.3, 0.7 - p])

        m = answers(mention, 0.0 + shift)
        o = answers(per_store - mention, 30.0 + shift)
        rows.append([*m, *(m + o)])
    return np.array(rows)


def _width(by_store: np.ndarray, clustered: bool) -> tuple[float, str]:
    tot = by_store.sum(axis=0)
    r = theme_impact(NpsCells(*tot[:3]), NpsCells(*tot[3:]), n_boot=3000,
                     by_store=by_store if clustered else None)  # fmt: skip
    return float(r["impact_ci_high"]) - float(r["impact_ci_low"]), str(r["ci_by"])


def test_store_bootstrap_widens_with_a_store_shock_and_matches_without() -> None:
    calm = _stores(1, 0.0)
    w_store, by = _width(calm, True)
    w_resp, by_resp = _width(calm, False)
    assert (by, by_resp) == ("stores", "respondents")
    assert w_store == pytest.approx(w_resp, rel=0.15)  # independent stores: the same interval
    shocked = _stores(1, 25.0)
    assert _width(shocked, True)[0] > 1.3 * _width(shocked, False)[0]
    few = calm[:5]  # too few stores to resample: respondents
    assert _width(few, True)[1] == "respondents"
    bad = calm.copy()
    bad[0, 0] += 1
    with pytest.raises(ValueError, match="add up"):
        theme_impact(NpsCells(*calm.sum(axis=0)[:3]), NpsCells(*calm.sum(axis=0)[3:]), by_store=bad)
