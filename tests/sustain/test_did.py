"""Pure statistics of outcome measurement: CR2 cluster-robust DiD, its placebo size and its power."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from cxchange.sustain.did import (
    before_after,
    cell_means,
    cluster_ols,
    did,
    monthly_series,
    verdict,
)


def simulate(
    rng: np.random.Generator,
    effect: float = 0.0,
    *,
    units: int = 20,
    months: int = 12,
    start: int = 6,
    per_unit_month: float = 40.0,
) -> tuple[np.ndarray, ...]:
    """Clustered NPS answers as (value, count) rows: unit random effects (sizes vary), month effects,
    respondent noise on a latent 0–10 scale; values +100 / 0 / −100. Half the units are the pilot;
    `effect` (latent points) switches on in the pilot from month `start`."""
    unit_effect = rng.normal(0.0, 0.35, units)
    month_effect = rng.normal(0.0, 0.2, months)
    size = rng.lognormal(0.0, 0.5, units)
    u, m = np.meshgrid(np.arange(units), np.arange(months), indexing="ij")
    u, m = u.ravel(), m.ravel()
    treated = u < units // 2
    post = m >= start
    latent = 7.6 + unit_effect[u] + month_effect[m] + treated * effect * post
    # P(score >= 9) and P(score <= 6) with respondent noise sd 1.9 (scores are rounded latent values).
    p_pro = 1 - ndtr((8.5 - latent) / 1.9)
    p_det = ndtr((6.5 - latent) / 1.9)
    probs = np.column_stack([p_det, 1 - p_pro - p_det, p_pro])
    counts = rng.multinomial(rng.poisson(per_unit_month * size[u]), probs)
    rep = np.repeat(np.arange(u.size), 3)
    y = np.tile([-100.0, 0.0, 100.0], u.size)
    w = counts.ravel().astype(float)
    keep = w > 0
    return y[keep], w[keep], u[rep][keep], treated[rep][keep], post[rep][keep], m[rep][keep]


def test_did_equals_difference_of_four_cell_means() -> None:
    y, w, cl, t, p, _ = simulate(np.random.default_rng(1), 0.4)
    e = did(y, w, cl, t, p)
    pc, cc = cell_means(y[t], w[t], cl[t], p[t]), cell_means(y[~t], w[~t], cl[~t], p[~t])
    assert e.estimate == pytest.approx((pc.after - pc.before) - (cc.after - cc.before), abs=1e-9)
    assert e.df == 19 and e.clusters == 20
    assert e.ci_low < e.estimate < e.ci_high
    ba = before_after(y[t], w[t], cl[t], p[t])
    assert ba.estimate == pytest.approx(pc.after - pc.before, abs=1e-9)
    assert ba.df == 9


def test_cr2_matches_the_expanded_data_formula() -> None:
    """Frequency weights in K×K form give exactly (I − H_gg)^(−1/2) on the respondent-level rows."""
    y, w, cl, t, p, _ = simulate(np.random.default_rng(3), 0.0, units=6, months=4, start=2, per_unit_month=3)
    X = np.column_stack([np.ones_like(y), t, p, t * p]).astype(float)
    fit = cluster_ols(y, X, w, cl)
    rep = w.astype(int)
    Y, XX, C = np.repeat(y, rep), np.repeat(X, rep, axis=0), np.repeat(cl, rep)
    B = np.linalg.inv(XX.T @ XX)
    u = Y - XX @ (B @ XX.T @ Y)
    meat = np.zeros((4, 4))
    for g in np.unique(C):
        Xg = XX[g == C]
        lam, vec = np.linalg.eigh(np.eye(len(Xg)) - Xg @ B @ Xg.T)
        A = (vec / np.sqrt(np.clip(lam, 1e-12, None))) @ vec.T
        s = Xg.T @ A @ u[g == C]
        meat += np.outer(s, s)
    np.testing.assert_allclose(np.diag(fit.cov), np.diag(B @ meat @ B), rtol=1e-8)
    cr1 = cluster_ols(y, X, w, cl, kind="CR1")
    assert np.all(np.diag(cr1.cov) > 0)


def test_placebo_rejects_at_no_more_than_the_nominal_rate() -> None:
    """No effect, 200 clustered data sets: the 95 % test may reject in about 5 % (binomial margin: ≤ 8 %)."""
    rng = np.random.default_rng(20260504)
    runs = 200
    rejected = covered = 0
    for _ in range(runs):
        y, w, cl, t, p, _ = simulate(rng, 0.0)
        e = did(y, w, cl, t, p)
        rejected += e.p_value < 0.05
        covered += e.ci_low <= 0.0 <= e.ci_high
        assert (e.p_value < 0.05) == (verdict(e.ci_low, e.ci_high) != "no evidence of change")
    assert rejected / runs <= 0.08
    assert covered == runs - rejected


def test_power_a_real_effect_is_detected_most_of_the_time() -> None:
    """0.35 latent points ≈ +12.7 NPS points (the demo's planted pilot is larger, ≈ +20; see its test)."""
    rng = np.random.default_rng(7)
    runs, detected = 60, 0
    for _ in range(runs):
        y, w, cl, t, p, _ = simulate(rng, 0.35)
        e = did(y, w, cl, t, p)
        detected += verdict(e.ci_low, e.ci_high) == "improved"
    assert detected / runs >= 0.8


def test_series_verdict_and_edge_cases() -> None:
    y, w, cl, t, p, m = simulate(np.random.default_rng(5), 0.0, months=3, start=1)
    series = monthly_series(y, w, m, t)
    assert [(r[0], r[1]) for r in series] == [
        (0, "pilot"),
        (0, "control"),
        (1, "pilot"),
        (1, "control"),
        (2, "pilot"),
        (2, "control"),
    ]
    assert sum(r[3] for r in series) == int(w.sum())
    assert verdict(1.0, 3.0) == "improved" and verdict(-3.0, -1.0) == "worse"
    assert verdict(-1.0, 3.0) == "no evidence of change" and verdict(None, None) == "no evidence of change"
    assert verdict(1.0, 3.0, higher_is_better=False) == "worse"
    one = cl == cl[0]
    e = before_after(y[one], w[one], cl[one], p[one])  # a single unit: no cluster-robust interval
    assert np.isnan(e.ci_low)
    with pytest.raises(ValueError, match="singular"):
        did(y[~p], w[~p], cl[~p], t[~p], p[~p])
