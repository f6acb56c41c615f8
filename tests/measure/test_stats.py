"""Tests for cxchange.measure.stats: published figures, hand computations and hypothesis properties."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from cxchange.measure.stats import (
    CI_METHODS,
    Difference,
    ScoreStat,
    compare_from_counts,
    csat_from_counts,
    holm,
    mean_from_counts,
    nps_from_counts,
    nps_variance,
    score_from_counts,
)

Z95 = 1.959963984540054
NPS_VALUES = list(range(11))
counts_st = st.integers(min_value=0, max_value=500)
level_st = st.sampled_from([0.8, 0.9, 0.95, 0.99])


def nps_counts_array(promoters: int, passives: int, detractors: int) -> list[int]:
    """Put every detractor on 0, passive on 7 and promoter on 10."""
    c = [0] * 11
    c[0], c[7], c[10] = detractors, passives, promoters
    return c


# ------------------------------------------------------------------------------------------------- NPS


def test_nps_variance_five_ninths() -> None:
    # shares: promoters 1/2, passives 1/3, detractors 1/6
    assert nps_variance(1 / 2, 1 / 6) == pytest.approx(5 / 9, abs=1e-12)


def test_adjusted_wald_published_example() -> None:
    res = nps_from_counts(150, 100, 50)
    assert res.n == 300
    assert res.score == pytest.approx(33.33, abs=0.01)
    assert (res.promoters, res.passives, res.detractors) == (150, 100, 50)
    assert res.ci_low == pytest.approx(24.61, abs=0.01)
    assert res.ci_high == pytest.approx(41.40, abs=0.01)
    # the interval is centred on the adjusted estimate (150.75 - 50.75) / 303
    assert (res.ci_low + res.ci_high) / 2 == pytest.approx(33.00, abs=0.01)


def test_wald_by_hand() -> None:
    res = nps_from_counts(150, 100, 50, ci="wald")
    var = 0.5 + 1 / 6 - (0.5 - 1 / 6) ** 2  # 5/9
    half = Z95 * 100 * math.sqrt(var / 300)  # 8.4343...
    assert res.score == pytest.approx(100 / 3)
    assert res.ci_low == pytest.approx(100 / 3 - half, abs=1e-9)
    assert res.ci_high == pytest.approx(100 / 3 + half, abs=1e-9)
    assert res.ci_low == pytest.approx(24.90, abs=0.01)
    assert res.ci_high == pytest.approx(41.77, abs=0.01)


def test_nps_empty_and_tiny() -> None:
    empty = nps_from_counts(0, 0, 0)
    assert (empty.n, empty.score, empty.ci_low, empty.ci_high) == (0, None, None, None)
    assert (empty.promoters, empty.passives, empty.detractors) == (0, 0, 0)
    one = nps_from_counts(1, 0, 0)  # small n still gets an interval, centred on the adjusted 25
    assert one.score == 100.0 and one.ci_low is not None and one.ci_high is not None
    assert -100.0 <= one.ci_low < 25.0 < one.ci_high <= 100.0


def test_nps_all_promoters_clipped() -> None:
    res = nps_from_counts(20, 0, 0, ci="adjusted-wald")
    assert res.ci_high is not None and res.ci_high <= 100.0
    assert nps_from_counts(20, 0, 0, ci="wald").ci_low == 100.0


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 95])
def test_level_must_be_open_unit_interval(level: float) -> None:
    with pytest.raises(ValueError, match="level"):
        nps_from_counts(1, 1, 1, level=level)
    with pytest.raises(ValueError, match="level"):
        csat_from_counts([5], [1], level=level)
    with pytest.raises(ValueError, match="level"):
        mean_from_counts([5], [1], level=level)


def test_nps_unknown_ci() -> None:
    with pytest.raises(ValueError, match="ci"):
        nps_from_counts(1, 1, 1, ci="wilson")


def test_nps_bootstrap_reasonable_and_reproducible() -> None:
    a = nps_from_counts(150, 100, 50, ci="bootstrap")
    b = nps_from_counts(150, 100, 50, ci="bootstrap")
    assert a == b  # default rng is seeded
    assert a.ci_low == pytest.approx(24.6, abs=1.5) and a.ci_high == pytest.approx(41.6, abs=1.5)


# ------------------------------------------------------------------------------------------------ CSAT


def wilson_reference(k: int, n: int, z: float) -> tuple[float, float]:
    """Textbook Wilson formula written independently: (p + z²/2n ± z√(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    a = p + z**2 / (2 * n)
    b = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    d = 1 + z**2 / n
    return (a - b) / d, (a + b) / d


def test_wilson_textbook_81_of_263() -> None:
    res = csat_from_counts([1, 2, 3, 4, 5], [100, 50, 32, 41, 40])
    assert res.n == 263 and res.score == pytest.approx(100 * 81 / 263)
    lo, hi = wilson_reference(81, 263, Z95)
    assert lo == pytest.approx(0.2553, abs=1e-4) and hi == pytest.approx(0.3662, abs=1e-4)
    assert res.ci_low == pytest.approx(100 * lo, abs=1e-9)
    assert res.ci_high == pytest.approx(100 * hi, abs=1e-9)
    assert res.mean == pytest.approx((100 + 100 + 96 + 164 + 200) / 263)


def test_csat_empty_and_bad_values() -> None:
    assert csat_from_counts([1, 5], [0, 0]) == ScoreStat(n=0, score=None, ci_low=None, ci_high=None)
    with pytest.raises(ValueError, match="csat"):
        csat_from_counts([0, 6], [1, 1])
    with pytest.raises(ValueError, match="same length"):
        csat_from_counts([1, 2], [1])
    with pytest.raises(ValueError, match="non-negative"):
        csat_from_counts([1, 2], [1, -1])


def test_csat_bootstrap_reproducible() -> None:
    kwargs = {"ci": "bootstrap", "n_boot": 500}
    a = csat_from_counts([1, 2, 3, 4, 5], [5, 5, 10, 20, 10], rng=np.random.default_rng(7), **kwargs)
    b = csat_from_counts([1, 2, 3, 4, 5], [5, 5, 10, 20, 10], rng=np.random.default_rng(7), **kwargs)
    assert a == b and a.ci_low is not None and a.ci_low <= 60.0 <= a.ci_high


# ------------------------------------------------------------------------------------------ CES/rating


def test_t_interval_matches_scipy_on_expanded_values() -> None:
    values, counts = [1, 2, 3, 4, 5, 6, 7], [3, 0, 8, 12, 20, 9, 4]
    raw = np.repeat(values, counts)
    res = mean_from_counts(values, counts, level=0.9)
    lo, hi = sps.t.interval(0.9, len(raw) - 1, loc=raw.mean(), scale=sps.sem(raw))
    assert res.n == len(raw)
    assert res.score == pytest.approx(raw.mean()) and res.mean == res.score
    assert res.ci_low == pytest.approx(lo, rel=1e-12) and res.ci_high == pytest.approx(hi, rel=1e-12)


def test_mean_small_n() -> None:
    assert mean_from_counts([3], [0]).score is None
    one = mean_from_counts([3, 4], [1, 0])
    assert one.score == 3.0 and one.ci_low is None and one.ci_high is None


# -------------------------------------------------------------------------------------------- dispatch


def test_score_from_counts_dispatch() -> None:
    counts = nps_counts_array(150, 100, 50)
    assert score_from_counts("nps", NPS_VALUES, counts) == nps_from_counts(150, 100, 50)
    assert score_from_counts("NPS", NPS_VALUES, counts, ci="wald") == nps_from_counts(150, 100, 50, ci="wald")
    v, c = [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]
    wilson = csat_from_counts(v, c)
    assert score_from_counts("csat", v, c) == wilson
    assert score_from_counts("csat", v, c, ci="adjusted-wald") == wilson
    assert score_from_counts("csat", v, c, ci="wald") == wilson
    assert score_from_counts("csat", v, c, ci="bootstrap") == csat_from_counts(v, c, ci="bootstrap")
    for metric in ("ces", "rating"):
        assert score_from_counts(metric, v, c) == mean_from_counts(v, c)
        assert score_from_counts(metric, v, c, ci="wald") == mean_from_counts(v, c)
        assert score_from_counts(metric, v, c, ci="bootstrap") == mean_from_counts(v, c, ci="bootstrap")


def test_a_mean_interval_stays_on_the_scale() -> None:
    """Two 1-10 ratings of 1 and 8: the t interval ran from -27 to 36 (Skytrax, on the Overview); it is
    cut to the values a mean can take (ratings 1-10, CES 1-7), a wide interval inside left alone."""
    t = mean_from_counts([1, 8], [1, 1])
    assert t.ci_low is not None and t.ci_high is not None and t.ci_low < -20 and t.ci_high > 30
    rating = score_from_counts("rating", [1, 8], [1, 1])
    assert (rating.score, rating.ci_low, rating.ci_high) == (4.5, 1.0, 10.0)
    ces = score_from_counts("ces", [1, 7], [1, 1])
    assert (ces.ci_low, ces.ci_high) == (1.0, 7.0)
    inside = score_from_counts("rating", [3, 4, 5, 6], [5, 5, 5, 5])
    assert inside == mean_from_counts([3, 4, 5, 6], [5, 5, 5, 5])
    assert (
        inside.ci_low is not None and inside.ci_high is not None and 1 < inside.ci_low < inside.ci_high < 10
    )


def test_score_from_counts_nps_buckets() -> None:
    res = score_from_counts("nps", NPS_VALUES, [1] * 11)  # 0-6: 7, 7-8: 2, 9-10: 2
    assert (res.promoters, res.passives, res.detractors) == (2, 2, 7)


def test_score_from_counts_errors() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        score_from_counts("ltr", [1], [1])
    with pytest.raises(ValueError, match="unknown ci"):
        score_from_counts("nps", NPS_VALUES, [1] * 11, ci="wilson")
    with pytest.raises(ValueError, match="unknown ci"):
        score_from_counts("ces", [1], [1], ci="exact")
    with pytest.raises(ValueError, match="nps values"):
        score_from_counts("nps", [11], [1])
    assert CI_METHODS == ("adjusted-wald", "wald", "bootstrap")


# ---------------------------------------------------------------------------------------- comparisons


def test_compare_nps_se_by_hand() -> None:
    d = compare_from_counts(
        "nps", NPS_VALUES, nps_counts_array(150, 100, 50), NPS_VALUES, nps_counts_array(60, 80, 60)
    )
    var_a = 0.5 + 1 / 6 - (1 / 3) ** 2
    var_b = 0.3 + 0.3 - 0.0**2
    se = 100 * math.sqrt(var_a / 300 + var_b / 200)
    diff = 100 / 3 - 0.0
    assert isinstance(d, Difference)
    assert (d.n_a, d.n_b) == (300, 200)
    assert d.score_a == pytest.approx(100 / 3) and d.score_b == pytest.approx(0.0)
    assert d.diff == pytest.approx(diff)
    assert d.se == pytest.approx(se, rel=1e-12)
    assert d.ci_low == pytest.approx(diff - Z95 * se) and d.ci_high == pytest.approx(diff + Z95 * se)
    assert d.p_value == pytest.approx(2 * (1 - sps.norm.cdf(diff / se)), rel=1e-9)


def test_compare_nps_of_small_all_alike_groups_has_a_spread_and_stays_within_200() -> None:
    """The executive report on Skytrax airlines, one quarter against the one before: five detractors in
    each was a change of "+0.0 (+0.0 – +0.0)", and 1 promoter 1 passive 1 detractor against 2 detractors
    and a passive "+100.0 (−19.3 – +219.3)", past what two NPS can differ by."""
    same = compare_from_counts(
        "nps", NPS_VALUES, nps_counts_array(0, 0, 5), NPS_VALUES, nps_counts_array(0, 0, 5)
    )
    p, d, n = 0.75 / 8, 5.75 / 8, 8
    se = 100 * math.sqrt(2 * (p + d - (p - d) ** 2) / n)
    assert same.diff == 0.0 and same.se == pytest.approx(se)
    assert same.ci_low == pytest.approx(-Z95 * se) and same.ci_high == pytest.approx(Z95 * se)
    assert same.p_value == 1.0
    apart = compare_from_counts(
        "nps", NPS_VALUES, nps_counts_array(4, 0, 0), NPS_VALUES, nps_counts_array(0, 0, 4)
    )
    assert apart.diff == 200.0 and apart.ci_high == 200.0 and 0 < apart.ci_low < 200.0 and apart.p_value > 0
    wide = compare_from_counts(
        "nps", NPS_VALUES, nps_counts_array(2, 1, 0), NPS_VALUES, nps_counts_array(0, 1, 2)
    )
    assert wide.ci_high == 200.0 and -200.0 <= wide.ci_low < wide.diff
    satisfied = compare_from_counts("csat", [1, 5], [0, 3], [1, 5], [0, 4])
    assert satisfied.diff == 0.0 and satisfied.ci_low < 0 < satisfied.ci_high
    assert satisfied.ci_low >= -100.0 and satisfied.ci_high <= 100.0


def test_compare_csat_pooled_z_and_unpooled_ci() -> None:
    v = [1, 2, 3, 4, 5]
    d = compare_from_counts("csat", v, [10, 10, 20, 30, 30], v, [20, 20, 20, 20, 20])
    pa, pb = 0.6, 0.4
    se = 100 * math.sqrt(pa * (1 - pa) / 100 + pb * (1 - pb) / 100)
    pool = 0.5
    z = (pa - pb) / math.sqrt(pool * (1 - pool) * (2 / 100))
    assert d.diff == pytest.approx(20.0)
    assert d.se == pytest.approx(se)
    assert d.ci_low == pytest.approx(20.0 - Z95 * se)
    assert d.p_value == pytest.approx(2 * sps.norm.sf(z))


def test_compare_welch_matches_scipy() -> None:
    va, ca = [1, 2, 3, 4, 5, 6, 7], [1, 2, 5, 9, 6, 2, 1]
    vb, cb = [1, 2, 3, 4, 5, 6, 7], [0, 1, 1, 4, 10, 12, 3]
    a, b = np.repeat(va, ca), np.repeat(vb, cb)
    d = compare_from_counts("ces", va, ca, vb, cb, level=0.9)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert d.diff == pytest.approx(a.mean() - b.mean())
    assert d.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    lo, hi = ref.confidence_interval(confidence_level=0.9)
    assert d.ci_low == pytest.approx(lo, rel=1e-9) and d.ci_high == pytest.approx(hi, rel=1e-9)


@pytest.mark.parametrize("metric", ["nps", "csat", "ces", "rating"])
def test_compare_small_n_gives_nan(metric: str) -> None:
    v = [1, 2, 3, 4, 5]
    d = compare_from_counts(metric, v, [0, 0, 0, 0, 1], v, [3, 3, 3, 3, 3])
    assert d.n_a == 1 and d.n_b == 15
    assert math.isnan(d.se) and math.isnan(d.ci_low) and math.isnan(d.ci_high) and math.isnan(d.p_value)
    e = compare_from_counts(metric, v, [0] * 5, v, [0] * 5)
    assert e.n_a == 0 and math.isnan(e.diff)


def test_compare_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        compare_from_counts("x", [1], [1], [1], [1])


# ------------------------------------------------------------------------------------------------ holm


def test_holm_worked_example() -> None:
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_holm_nan_passthrough_and_cap() -> None:
    out = holm([0.5, float("nan"), 0.4, 0.01])  # m = 3
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], [0.8, 0.8, 0.03])
    assert holm([0.9, 0.8]).tolist() == [1.0, 1.0]
    assert holm([]).size == 0


# ------------------------------------------------------------------------------------------ properties


@given(counts_st, counts_st, counts_st, level_st, st.sampled_from(CI_METHODS))
@settings(max_examples=150, deadline=None)
def test_prop_nps_bounds(p: int, m: int, d: int, level: float, ci: str) -> None:
    res = nps_from_counts(p, m, d, ci=ci, level=level, n_boot=50)
    if p + m + d == 0:
        assert res.score is None and res.ci_low is None and res.ci_high is None
        return
    assert res.score is not None and res.ci_low is not None and res.ci_high is not None
    assert -100.0 <= res.ci_low <= res.ci_high <= 100.0
    assert -100.0 <= res.score <= 100.0
    if ci == "wald":
        assert res.ci_low <= res.score <= res.ci_high


@given(counts_st, counts_st, counts_st, level_st)
@settings(max_examples=150, deadline=None)
def test_prop_nps_swap_symmetry(p: int, m: int, d: int, level: float) -> None:
    a = nps_from_counts(p, m, d, ci="wald", level=level)
    b = nps_from_counts(d, m, p, ci="wald", level=level)
    if p + m + d == 0:
        assert a.score is None and b.score is None
        return
    assert b.score == pytest.approx(-a.score, abs=1e-9)
    assert b.ci_low == pytest.approx(-a.ci_high, abs=1e-9)
    assert b.ci_high == pytest.approx(-a.ci_low, abs=1e-9)


@given(st.lists(counts_st, min_size=5, max_size=5), level_st)
@settings(max_examples=150, deadline=None)
def test_prop_csat_wilson_bounds(counts: list[int], level: float) -> None:
    res = csat_from_counts([1, 2, 3, 4, 5], counts, level=level)
    if sum(counts) == 0:
        assert res.score is None
        return
    assert res.ci_low is not None and res.ci_high is not None and res.score is not None
    assert 0.0 <= res.ci_low <= res.score <= res.ci_high <= 100.0


@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False) | st.just(float("nan")), max_size=12))
@settings(max_examples=150, deadline=None)
def test_prop_holm(ps: list[float]) -> None:
    raw = np.asarray(ps, dtype=float)
    adj = holm(ps)
    assert adj.shape == raw.shape
    nan = np.isnan(raw)
    assert np.array_equal(np.isnan(adj), nan)
    assert np.all(adj[~nan] >= raw[~nan]) and np.all(adj[~nan] <= 1.0)
    # monotone: a smaller raw p never gets a larger adjusted p
    r, a = raw[~nan], adj[~nan]
    order = np.argsort(r, kind="stable")
    assert np.all(np.diff(a[order]) >= -1e-15)


@given(
    st.sampled_from(["nps", "csat", "ces", "rating"]),
    st.lists(counts_st, min_size=5, max_size=5),
    st.lists(counts_st, min_size=5, max_size=5),
)
@settings(max_examples=150, deadline=None)
def test_prop_compare_antisymmetric(metric: str, ca: list[int], cb: list[int]) -> None:
    v = [1, 2, 3, 4, 9] if metric == "nps" else [1, 2, 3, 4, 5]
    ab = compare_from_counts(metric, v, ca, v, cb)
    ba = compare_from_counts(metric, v, cb, v, ca)
    if math.isnan(ab.diff):
        assert math.isnan(ba.diff)
    else:
        assert ab.diff == -ba.diff
    if not math.isnan(ab.se):
        assert ab.se == pytest.approx(ba.se)
        assert ab.p_value == pytest.approx(ba.p_value)
        assert 0.0 <= ab.p_value <= 1.0


@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 50), min_size=5, max_size=5))
@settings(max_examples=30, deadline=None)
def test_prop_bootstrap_reproducible(seed: int, counts: list[int]) -> None:
    v = [1, 2, 3, 4, 5]
    for metric in ("nps", "csat", "ces"):
        vals = [0, 6, 7, 9, 10] if metric == "nps" else v
        a = score_from_counts(metric, vals, counts, ci="bootstrap", rng=np.random.default_rng(seed))
        b = score_from_counts(metric, vals, counts, ci="bootstrap", rng=np.random.default_rng(seed))
        assert a == b


# The interval options (level, rng, n_boot) are one bundle: the same defaults and checks for every metric.
ESTIMATORS = [
    lambda **o: nps_from_counts(10, 5, 3, **o),
    lambda **o: csat_from_counts([1, 4, 5], [3, 4, 5], **o),
    lambda **o: mean_from_counts([1, 4, 7], [3, 4, 5], **o),
    lambda **o: score_from_counts("rating", [1, 4, 7], [3, 4, 5], **o),
]


@pytest.mark.parametrize("estimate", ESTIMATORS)
def test_interval_options_have_one_set_of_defaults(estimate: Callable[..., ScoreStat]) -> None:
    assert estimate() == estimate(level=0.95, rng=None, n_boot=2000)
    assert estimate(level=0.8) != estimate()


@pytest.mark.parametrize("estimate", ESTIMATORS)
@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"levl": 0.9}, TypeError, "['levl']"),
        ({"level": 1.0}, ValueError, "level must be in (0, 1)"),
        ({"n_boot": 0}, ValueError, "n_boot must be >= 1"),
    ],
)
def test_interval_options_are_checked_alike(
    estimate: Callable[..., ScoreStat], options: dict[str, object], error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as raised:
        estimate(**options)
    assert says in str(raised.value)


# ------------------------------------------------- the plain-Python arithmetic against numpy's formulation
# measure/stats.py scores groups with plain Python so that `cxchange scores` never loads numpy; these are
# the numpy expressions it used before, kept here as the reference the arithmetic must match.


def _numpy_moments(values: list[float], counts: list[int]) -> tuple[int, float, float]:
    v, c = np.asarray(values, dtype=float), np.asarray(counts).astype(np.int64)
    n = int(c.sum())
    if n == 0:
        return 0, math.nan, math.nan
    mean = float(np.dot(v, c) / n)
    var = float(np.dot(c, (v - mean) ** 2) / (n - 1)) if n > 1 else math.nan
    return n, mean, var


def _numpy_nps_counts(values: list[float], counts: list[int]) -> tuple[int, int, int]:
    v, c = np.asarray(values, dtype=float), np.asarray(counts).astype(np.int64)
    return int(c[v >= 9].sum()), int(c[(v >= 7) & (v < 9)].sum()), int(c[v < 7].sum())


values_counts_st = st.lists(
    st.tuples(
        st.floats(min_value=-50, max_value=50, allow_nan=False, allow_subnormal=False),
        st.integers(min_value=0, max_value=100_000),
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=300, deadline=None)
@given(values_counts_st)
def test_moments_match_numpy(pairs: list[tuple[float, int]]) -> None:
    from cxchange.measure.stats import _arrays, _moments

    values, counts = [v for v, _ in pairs], [c for _, c in pairs]
    n, mean, var = _moments(*_arrays(values, counts))
    ref_n, ref_mean, ref_var = _numpy_moments(values, counts)
    assert n == ref_n
    for got, want in ((mean, ref_mean), (var, ref_var)):
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-12, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=11, max_size=11))
def test_nps_counts_and_scores_match_numpy(counts: list[int]) -> None:
    from cxchange.measure.stats import _nps_counts

    values = [float(v) for v in NPS_VALUES]
    assert _nps_counts(values, counts) == _numpy_nps_counts(values, counts)
    # numpy arrays in (2-D too, as `ravel` read them) give the same answer as lists
    assert _nps_counts(np.asarray(values).reshape(1, -1), np.asarray(counts)) == _nps_counts(values, counts)
    csat = csat_from_counts(np.arange(1, 6), np.asarray(counts[:5]))
    assert csat == csat_from_counts([1, 2, 3, 4, 5], counts[:5])
    if sum(counts[:5]):
        mean = float(np.dot(np.arange(1, 6, dtype=float), np.asarray(counts[:5])) / sum(counts[:5]))
        assert csat.mean == pytest.approx(mean, rel=1e-12)


def test_validation_messages_unchanged() -> None:
    from cxchange.measure.stats import _arrays

    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        _arrays([1, 2], [1])
    with pytest.raises(ValueError, match="values must be finite"):
        _arrays([1, math.inf], [1, 1])
    with pytest.raises(ValueError, match="counts must be non-negative integers"):
        _arrays([1, 2], [1, 0.5])
    with pytest.raises(ValueError, match="counts must be non-negative integers"):
        _arrays([1, 2], [1, math.nan])
    with pytest.raises(ValueError, match=r"nps values must be integers in 0..10, got \[3.5, 11.0\]"):
        score_from_counts("nps", [3.5, 11, 12], [1, 2, 0])
    assert _arrays(np.float64(3.0), np.int64(2)) == ([3.0], [2])  # a 0-d array is one value


def test_answers_all_alike_are_not_certainty() -> None:
    """Three ratings of 5 had the interval 5.0 to 5.0 (t and bootstrap alike): certainty from three
    answers. The interval is the exact bound on how many other answers could hide in the population,
    shrinking as answers accumulate, and a mean with spread keeps its t interval."""
    three = score_from_counts("rating", [5], [3])
    assert three.score == 5.0 and three.ci_low is not None and three.ci_high is not None
    share = 1 - 0.025 ** (1 / 3)
    assert three.ci_low == pytest.approx(5 - share * 4) and three.ci_high == pytest.approx(5 + share * 5)
    many = score_from_counts("rating", [5], [400])
    assert many.ci_low is not None and many.ci_high is not None
    assert three.ci_low < many.ci_low < 5.0 < many.ci_high < three.ci_high
    assert many.ci_high - many.ci_low < 0.1
    top = score_from_counts("ces", [7], [20], ci="bootstrap")
    assert top.ci_high == 7.0 and top.ci_low is not None and top.ci_low < 7.0
    # without bounds (the bare function) a t interval is all the sample gives
    assert mean_from_counts([5], [3]).ci_low == 5.0


def test_two_groups_all_alike_do_not_differ_for_certain() -> None:
    """Two ratings of 5 against two of 4: se 0, and the difference was 'certain' (p = 0, CI 1 to 1).
    The exact rank test of two separated groups of two gives 2 / C(4, 2) = 1/3, the interval is as
    wide as each side's own, and many answers on each side do make the gap clear."""
    d = compare_from_counts("rating", [5], [2], [4], [2])
    assert d.diff == 1.0 and d.p_value == pytest.approx(1 / 3)
    assert d.ci_low < 0.0 < 1.0 < d.ci_high
    big = compare_from_counts("rating", [5], [60], [4], [60])
    assert big.p_value < 1e-30 and 0.3 < big.ci_low < 1.0 < big.ci_high < 1.7
    same = compare_from_counts("ces", [3], [4], [3], [5])
    assert same.diff == 0.0 and same.p_value == 1.0 and same.ci_low < 0.0 < same.ci_high


def test_a_mean_interval_is_cut_to_the_scale_given_but_never_below_an_answer() -> None:
    """Ratings: 1–5 stars when the store has no 1–10 source (Alexa's Walnut Finish, 4.8 of 5 on five
    reviews, ran to 5.36); a 9 in the group keeps the top at 9 whatever the scale says."""
    from cxchange.measure.stats import score_from_counts

    stars = score_from_counts("rating", [4, 5], [1, 4], scale=5)
    assert stars.ci_high == 5.0 and stars.ci_low is not None and 1 < stars.ci_low < 4.8
    assert score_from_counts("rating", [4, 5], [1, 4]).ci_high > 5  # the 1–10 default
    stray = score_from_counts("rating", [5, 9], [3, 1], scale=5)
    assert stray.ci_high == 9.0


def test_large_groups_all_alike_compare_without_overflow() -> None:
    """C(600+600, 600) is past a float: two groups of 600 identical ratings raised OverflowError (a
    traceback in `compare`, a 500 from the API); the store's 1-5 scale bounds the difference too."""
    d = compare_from_counts("rating", [5], [600], [4], [600])
    assert d.diff == 1.0 and d.p_value == 0.0 and 0.9 < d.ci_low < 1.0 < d.ci_high < 1.1
    wide = compare_from_counts("rating", [5], [3], [4], [3])
    stars = compare_from_counts("rating", [5], [3], [4], [3], scale=5)
    assert wide.ci_low < stars.ci_low < 0 < 1 < stars.ci_high < wide.ci_high
    assert stars.ci_high <= 5 - 1 and stars.ci_low >= 1 - 5


def test_a_score_ranges_over_its_own_units() -> None:
    """One table of what each score can be (outcome plans judge a hopeless design by a share of it)."""
    from cxchange.measure.stats import score_range

    assert score_range("nps", 5) == (-100.0, 100.0)
    assert score_range("csat", 10) == (0.0, 100.0)
    assert score_range("ces", 10) == (1.0, 7.0)
    assert score_range("rating", 5) == (1.0, 5.0) and score_range("rating", 10) == (1.0, 10.0)
