"""Outcomes at the level of assignment (sustain.panel): the estimator equals pyfixest's, the
randomization inference is exact, designs that cannot tell say so, and pre-trends withhold verdicts.
Worlds come from cxchange.sustain.worlds (generated, seeded)."""

from __future__ import annotations

import inspect
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from cxchange.sustain import did, panel
from cxchange.sustain.worlds import World, generate


def _cells(seed: int, level: str = "stores", g1: int = 10, g0: int = 10, **world: float) -> panel.Cells:
    cells, _ = generate(
        World(**world), np.random.default_rng(seed), pilot=level, pilot_count=g1, control_count=g0
    )
    return cells


def _frame(cells: panel.Cells) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": cells.y,
            "n": cells.n,
            "unit": cells.unit,
            "period": cells.period,
            "cluster": cells.cluster,
            "D": (cells.treated & cells.post).astype(float),
        }
    )


@pytest.mark.parametrize(("level", "g1", "g0"), [("stores", 3, 17), ("regions", 2, 2)])
def test_estimate_se_and_event_study_equal_pyfixest(level: str, g1: int, g0: int) -> None:
    pf = pytest.importorskip("pyfixest")
    cells = _cells(3, level, g1, g0, effect=5.0)
    frame = _frame(cells)
    # pyfixest demeans iteratively: a tight tolerance so that 1e-8 compares the estimators, not its stopping
    tight = {"weights": "n", "vcov": {"CRV1": "cluster"}, "fixef_tol": 1e-13}
    ref = pf.feols("y ~ D | unit + period", data=frame, **tight)
    assert panel.twfe(cells) == pytest.approx(float(ref.coef()["D"]), abs=1e-8)
    assert panel.randomization(cells).estimate == pytest.approx(float(ref.coef()["D"]), abs=1e-8)
    fit = panel.crv1(cells, frame["D"].to_numpy())
    assert fit.se[0] == pytest.approx(float(ref.se()["D"]), abs=1e-8)
    low, high = ref.confint().loc["D"].to_numpy(dtype=float)
    assert (fit.ci_low[0], fit.ci_high[0]) == pytest.approx((low, high), abs=1e-8)

    events = panel.event_study(cells)
    rel = np.where(cells.post, cells.month, np.minimum(cells.month, -1))
    for e in events:
        frame[f"e{e.month + 20}"] = (cells.treated & (rel == e.month)).astype(float)
    names = [f"e{e.month + 20}" for e in events if e.month != -1]
    es = pf.feols(f"y ~ {' + '.join(names)} | unit + period", data=frame, **tight)
    ci = es.confint()
    for e in events:
        if e.month == -1:
            assert (e.estimate, e.ci_low, e.ci_high) == (0.0, 0.0, 0.0)
            continue
        name = f"e{e.month + 20}"
        assert e.estimate == pytest.approx(float(es.coef()[name]), abs=1e-8)
        assert (e.ci_low, e.ci_high) == pytest.approx(tuple(ci.loc[name].to_numpy(dtype=float)), abs=1e-8)


def test_twfe_is_the_difference_in_differences_on_a_balanced_panel() -> None:
    # 2 units × 2 periods, equal weights: TWFE is exactly (pilot after − before) − (control after − before)
    cells = panel.Cells(
        unit=np.array([0, 0, 1, 1]),
        cluster=np.array([0, 0, 1, 1]),
        month=np.array([-1, 0, -1, 0]),
        post=np.array([False, True, False, True]),
        treated=np.array([True, True, False, False]),
        y=np.array([10.0, 25.0, 12.0, 17.0]),
        n=np.ones(4),
    )
    assert panel.twfe(cells) == pytest.approx((25 - 10) - (17 - 12))


def test_randomization_p_is_the_exact_share_over_all_assignments() -> None:
    cells = _cells(5, "stores", 3, 5, effect=8.0)  # C(8, 3) = 56 assignments: enumerated
    r = panel.randomization(cells)
    assert r.exact and r.assignments == 56 and r.min_p == pytest.approx(1 / 56)
    clusters = np.unique(cells.cluster)
    observed = abs(panel.twfe(cells))
    hits = 0
    for chosen in combinations(clusters, 3):
        d = np.isin(cells.cluster, chosen) & cells.post
        hits += abs(panel.twfe(cells, d.astype(float))) >= observed - 1e-9
    assert r.p_value == pytest.approx(hits / 56)


def test_randomization_t_is_the_exact_share_of_studentized_assignments() -> None:
    # each assignment's statistic is its coefficient over its CRV1 standard error (pyfixest-matched crv1)
    cells = _cells(5, "stores", 3, 5, effect=8.0)
    r = panel.randomization(cells, statistic="t")
    assert r.exact and r.assignments == 56 and r.estimate == pytest.approx(panel.twfe(cells), abs=1e-9)
    clusters = np.unique(cells.cluster)

    def t_of(d: np.ndarray) -> float:
        fit = panel.crv1(cells, d.astype(float))
        return abs(float(fit.coef[0] / fit.se[0]))

    observed = t_of(cells.treated & cells.post)
    stats = [t_of(np.isin(cells.cluster, chosen) & cells.post) for chosen in combinations(clusters, 3)]
    assert r.p_value == pytest.approx(np.mean(np.array(stats) >= observed - 1e-9))
    assert r.ci_low != panel.randomization(cells).ci_low  # a different statistic, not the same test


def test_randomization_t_interval_inverts_its_test() -> None:
    cells = _cells(11, effect=10.0)
    r = panel.randomization(cells, statistic="t")
    assert r.ci_low is not None and r.ci_high is not None and r.ci_low < r.estimate < r.ci_high
    d = (cells.treated & cells.post).astype(float)
    for bound, inside in ((r.ci_low, +1), (r.ci_high, -1)):
        shifted = panel.Cells(**{**cells.__dict__, "y": cells.y - (bound + inside * 0.05) * d})
        far = panel.Cells(**{**cells.__dict__, "y": cells.y - (bound - inside * 0.05) * d})
        near_p = panel.randomization(shifted, statistic="t").p_value
        assert near_p > 0.05 >= panel.randomization(far, statistic="t").p_value


def test_unknown_randomization_statistic_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown randomization statistic"):
        panel.randomization(_cells(5, "stores", 3, 5), statistic="z")


def test_interval_inverts_the_test() -> None:
    cells = _cells(11, effect=10.0)
    r = panel.randomization(cells)
    assert r.ci_low is not None and r.ci_high is not None and r.ci_low < r.estimate < r.ci_high
    d = (cells.treated & cells.post).astype(float)
    for bound, inside in ((r.ci_low, +1), (r.ci_high, -1)):
        shifted = panel.Cells(**{**cells.__dict__, "y": cells.y - (bound + inside * 0.05) * d})
        far = panel.Cells(**{**cells.__dict__, "y": cells.y - (bound - inside * 0.05) * d})
        assert panel.randomization(shifted).p_value > 0.05 >= panel.randomization(far).p_value


def test_two_vs_two_regions_cannot_tell_even_with_a_large_effect() -> None:
    cells = _cells(2, "regions", 2, 2, effect=30.0)
    a = panel.assess(cells, cluster_word="regions")
    assert a.effect.assignments == 6 and a.effect.min_p == pytest.approx(1 / 3)
    assert a.verdict == panel.CANNOT_TELL
    assert "smallest possible p-value is 0.33" in (a.reason or "")
    assert "4 pilot and 4 control regions" in (a.fix or "")
    assert a.effect.ci_low is None and a.effect.ci_high is None


def test_one_pilot_store_cannot_tell() -> None:
    a = panel.assess(_cells(4, "stores", 1, 7, effect=30.0), cluster_word="stores")
    assert a.verdict == panel.CANNOT_TELL and a.effect.min_p == pytest.approx(1 / 8)


def test_a_real_effect_is_found_and_covered() -> None:
    a = panel.assess(_cells(6, "stores", 10, 10, effect=15.0))
    assert a.verdict == panel.IMPROVED and a.pretrend.status == "ok"
    assert a.effect.ci_low is not None and a.effect.ci_high is not None
    assert a.effect.ci_low <= 15.0 <= a.effect.ci_high
    assert a.breakdown_slope is not None and a.breakdown_slope > 0
    assert (
        panel.assess(_cells(6, "stores", 10, 10, effect=15.0), higher_is_better=False).verdict == panel.WORSE
    )


def test_a_pilot_already_rising_is_not_called_improved() -> None:
    a = panel.assess(_cells(7, "stores", 10, 10, pretrend=2.0))
    assert a.effect.p_value < 0.05  # the naive reading would say "improved"
    assert a.verdict == panel.CANNOT_TELL
    assert a.pretrend.status == "failed" and "pre-trend" in (a.reason or "")


def test_a_short_before_window_is_underpowered() -> None:
    a = panel.assess(_cells(8, "stores", 10, 10, effect=15.0, months_before=2))
    assert a.pretrend.status == "not testable" and a.verdict == panel.CANNOT_TELL


def test_draws_are_reproducible() -> None:
    cells = _cells(9)  # C(20, 10) assignments: drawn with the fixed seed
    first, second = panel.randomization(cells), panel.randomization(cells)
    assert not first.exact and first.assignments == panel.DRAWS + 1
    assert first == second


def test_did_docstring_says_what_the_code_does() -> None:
    default = inspect.signature(did.cluster_ols).parameters["kind"].default
    assert default == "CR2"
    assert "CR2 by default" in (did.__doc__ or "")


def test_no_common_month_is_compared_before_against_after_as_wholes() -> None:
    # the pilot answered in odd months, the control in even ones: month effects absorb the comparison
    cells = _cells(12, "stores", 4, 4, effect=10.0)
    odd = (cells.month % 2 != 0) == cells.treated
    apart = cells.subset(odd)
    with pytest.raises(ValueError, match="no month with answers from both"):
        panel.assess(apart)
    coarse = panel.assess(apart.coarsened())
    assert coarse.effect.assignments == 70 and np.isfinite(coarse.effect.estimate)
    assert panel.crv1(apart.coarsened(), (apart.treated & apart.post).astype(float)).se[0] > 0


def test_event_study_estimates_only_months_control_answered_in_against_a_month_both_answered() -> None:
    """Months in which the control units were silent have no estimate (their month effect absorbs the
    pilot: it printed 0.000, interval 0 to 0); without month −1 in the data the reference is the latest
    earlier month both answered. Pilot cells of a silent month tell only how pilot units differ from
    each other: about the same numbers as when nobody answered in it."""
    cells = _cells(5, effect=3.0)
    rel = np.where(cells.post, cells.month, np.minimum(cells.month, -1))
    full = {e.month: e for e in panel.event_study(cells)}
    assert -1 in full and full[-1].estimate == 0.0 and len(full) > 6
    silent = np.isin(rel, [-1, -3, 2])
    without_control = panel.event_study(cells.subset(~(silent & ~cells.treated)))
    without_anyone = panel.event_study(cells.subset(~silent))
    assert [e.month for e in without_control] == [e.month for e in without_anyone]
    months = {e.month: e for e in without_control}
    assert not {-1, -3, 2} & set(months) and months[-2].estimate == 0.0  # the new reference
    for m, e in months.items():
        twin = next(t for t in without_anyone if t.month == m)
        assert (e.estimate, e.ci_low, e.ci_high) == pytest.approx(
            (twin.estimate, twin.ci_low, twin.ci_high), abs=0.25
        )
        if m != -2:
            assert e.ci_low is not None and e.ci_high is not None and e.ci_high - e.ci_low > 1e-6
    later = {m: e.estimate for m, e in months.items() if m >= 0}
    assert np.mean(list(later.values())) == pytest.approx(3.0, abs=1.5)  # still the effect, vs month −2
    only_pilot_before = cells.subset(~(~cells.treated & (rel < 0)))
    assert panel.event_study(only_pilot_before) == []  # no month before the start both answered
