"""Pure statistics for CX scores (NPS, CSAT, CES, ratings) computed from counts per score value.

The database aggregates feedback to (group, score value, count) rows, so every function here takes a
group as two sequences, ``values`` and ``counts`` (lists, numpy arrays, anything with ``tolist``),
rather than raw responses. Nothing here touches I/O: counts in, frozen dataclasses out.

A group is a handful of distinct values (0..10 for NPS), so the point estimates and the closed-form
intervals are plain Python arithmetic: `cxchange scores` then never loads numpy, a tenth of its
start-up (issue 14). numpy is imported where it earns its cost: bootstrap resampling and `holm`.
tests/measure/test_stats.py checks the arithmetic against the numpy formulation it replaced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from cxchange.core.keywords import refuse_unknown

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

_NORMAL = NormalDist()


def _student_t() -> Any:
    """scipy.special, imported on first use: only t intervals need it, and it costs a `scores`
    command ~0.4 s of start-up (the normal distribution comes from the standard library)."""
    from scipy import special

    return special


__all__ = [
    "CI_METHODS",
    "Difference",
    "IntervalOptions",
    "ScoreStat",
    "compare_from_counts",
    "csat_from_counts",
    "holm",
    "mean_from_counts",
    "nps_from_counts",
    "nps_variance",
    "score_from_counts",
]

CI_METHODS = ("adjusted-wald", "wald", "bootstrap")
METRICS = ("nps", "csat", "ces", "rating")
_CSAT_CI = ("wilson", "bootstrap")
_MEAN_CI = ("t", "bootstrap")


@dataclass(frozen=True)
class ScoreStat:
    """One group's score with its confidence interval; ``None`` fields mean "not computable"."""

    n: int
    score: float | None  # None when n == 0
    ci_low: float | None
    ci_high: float | None
    promoters: int | None = None  # NPS only
    passives: int | None = None
    detractors: int | None = None
    mean: float | None = None  # CSAT: mean of the 1-5 answers; CES/rating: same as score


@dataclass(frozen=True)
class Difference:
    """Score of group a minus score of group b, with SE, CI and two-sided p-value (NaN if not computable)."""

    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_a: int
    n_b: int
    score_a: float
    score_b: float


# --------------------------------------------------------------------------------------------- helpers


def _z(level: float) -> float:
    """Two-sided normal critical value; rejects levels outside (0, 1) so typos fail loudly."""
    _check_level(level)
    return _NORMAL.inv_cdf(0.5 + level / 2)


def _check_level(level: float) -> None:
    if not (0.0 < level < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")


def _check_n_boot(n_boot: int) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot!r}")


def _clip(x: float, lo: float, hi: float) -> float:
    return float(min(max(x, lo), hi))


def _flat(x: ArrayLike) -> list[Any]:
    """A sequence (or an array of any shape, as numpy's `ravel` reads it) as a flat list."""
    items = x.tolist() if hasattr(x, "tolist") else list(x)  # type: ignore[arg-type]
    if not isinstance(items, list):  # a 0-d array
        return [items]
    if any(isinstance(i, list | tuple) for i in items):
        return [leaf for i in items for leaf in (_flat(i) if isinstance(i, list | tuple) else [i])]
    return items


def _arrays(values: ArrayLike, counts: ArrayLike) -> tuple[list[float], list[int]]:
    """Validate and coerce a (values, counts) pair; counts must be non-negative integers."""
    v = [float(x) for x in _flat(values)]
    c_raw = _flat(counts)
    if len(v) != len(c_raw):
        raise ValueError(f"values and counts must have the same length, got {len(v)} and {len(c_raw)}")
    c = [float(x) for x in c_raw]
    if not all(math.isfinite(x) for x in v):
        raise ValueError("values must be finite")
    if not all(math.isfinite(x) and x >= 0 and x == round(x) for x in c):
        raise ValueError("counts must be non-negative integers")
    return v, [int(x) for x in c]


def _check_range(metric: str, v: list[float], c: list[int], lo: int, hi: int) -> None:
    """Values with a non-zero count must be integers on the metric's scale; bad data should not hide."""
    used = [x for x, k in zip(v, c, strict=True) if k > 0]
    if any(x < lo or x > hi or x != round(x) for x in used):
        raise ValueError(f"{metric} values must be integers in {lo}..{hi}, got {sorted(set(used))}")


def _count_where(v: list[float], c: list[int], keep: Any) -> int:
    return sum(k for x, k in zip(v, c, strict=True) if keep(x))


def _nps_counts(values: ArrayLike, counts: ArrayLike) -> tuple[int, int, int]:
    """Split 0..10 answers into (promoters 9-10, passives 7-8, detractors 0-6)."""
    v, c = _arrays(values, counts)
    _check_range("nps", v, c, 0, 10)
    return (
        _count_where(v, c, lambda x: x >= 9),
        _count_where(v, c, lambda x: 7 <= x < 9),
        _count_where(v, c, lambda x: x < 7),
    )


def _csat_counts(values: ArrayLike, counts: ArrayLike) -> tuple[list[float], list[int], int, int]:
    """Return (values, counts, satisfied, n) for a 1-5 CSAT scale; satisfied means 4 or 5."""
    v, c = _arrays(values, counts)
    _check_range("csat", v, c, 1, 5)
    return v, c, _count_where(v, c, lambda x: x >= 4), sum(c)


def _dot(v: list[float], c: list[int]) -> float:
    return sum(x * k for x, k in zip(v, c, strict=True))


def _moments(v: list[float], c: list[int]) -> tuple[int, float, float]:
    """(n, mean, sample variance with ddof=1) from counts; variance is NaN when n < 2."""
    n = sum(c)
    if n == 0:
        return 0, math.nan, math.nan
    mean = _dot(v, c) / n
    var = sum(k * (x - mean) ** 2 for x, k in zip(v, c, strict=True)) / (n - 1) if n > 1 else math.nan
    return n, mean, var


def _percentile_ci(draws: np.ndarray, level: float) -> tuple[float, float]:
    import numpy as np

    alpha = 1.0 - level
    lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


class IntervalOptions(TypedDict, total=False):
    """How every score's interval is drawn, whatever the metric: ``level`` (default 0.95) and, for the
    bootstrap, the generator ``rng`` (default None: seeded 0) and ``n_boot`` draws (default 2000)."""

    level: float
    rng: np.random.Generator | None
    n_boot: int


@dataclass(frozen=True)
class _Interval:
    """One call's interval options, checked; their defaults are these, said once."""

    level: float = 0.95
    rng: np.random.Generator | None = None
    n_boot: int = 2000

    @classmethod
    def of(cls, score: str, method: str, known: tuple[str, ...], options: IntervalOptions) -> _Interval:
        """Refuse an unknown option, an unknown method, a level outside (0, 1), fewer than one draw."""
        refuse_unknown(options, IntervalOptions, "interval")
        if method not in known:
            raise ValueError(f"unknown {score} ci method {method!r}; expected one of {known}")
        interval = cls(**options)
        _check_level(interval.level)
        _check_n_boot(interval.n_boot)
        return interval

    def resample(self, n: int, c: Sequence[float]) -> np.ndarray:
        """n_boot resamples of the counts; a fixed default seed keeps reports reproducible run to run."""
        import numpy as np

        gen = self.rng if self.rng is not None else np.random.default_rng(0)
        return gen.multinomial(n, np.asarray(c, dtype=float) / n, size=self.n_boot)


# ------------------------------------------------------------------------------------------------- NPS


def nps_variance(p_promoters: float, p_detractors: float) -> float:
    """Per-respondent variance of the NPS indicator (+1/0/-1): p_P + p_D - (p_P - p_D)^2."""
    return float(p_promoters + p_detractors - (p_promoters - p_detractors) ** 2)


def nps_from_counts(
    promoters: int,
    passives: int,
    detractors: int,
    *,
    ci: str = "adjusted-wald",
    **options: Unpack[IntervalOptions],
) -> ScoreStat:
    """NPS (-100..100) with a CI. Adjusted-Wald (Rocks 2016) is the default: it behaves at small n.

    The score is always the plain NPS; only the adjusted-Wald interval is centred on the adjusted estimate.
    """
    interval = _Interval.of("NPS", ci, CI_METHODS, options)
    if min(promoters, passives, detractors) < 0:
        raise ValueError("promoter, passive and detractor counts must be non-negative")
    n = promoters + passives + detractors
    base = {"promoters": int(promoters), "passives": int(passives), "detractors": int(detractors)}
    if n == 0:
        return ScoreStat(n=0, score=None, ci_low=None, ci_high=None, **base)
    score = 100.0 * (promoters - detractors) / n
    if ci == "bootstrap":
        draws = interval.resample(n, [promoters, passives, detractors])
        lo, hi = _percentile_ci(100.0 * (draws[:, 0] - draws[:, 2]) / n, interval.level)
    else:
        if ci == "adjusted-wald":
            p_p, p_d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
            n_eff = n + 3
        else:
            p_p, p_d = promoters / n, detractors / n
            n_eff = n
        centre = 100.0 * (p_p - p_d)
        half = _z(interval.level) * 100.0 * math.sqrt(max(nps_variance(p_p, p_d), 0.0) / n_eff)
        lo, hi = centre - half, centre + half
    return ScoreStat(
        n=n, score=score, ci_low=_clip(lo, -100.0, 100.0), ci_high=_clip(hi, -100.0, 100.0), **base
    )


# ------------------------------------------------------------------------------------------------ CSAT


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion: sane near 0 and 1 where Wald collapses."""
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if successes == 0 else _clip(centre - half, 0.0, 1.0)  # exact bounds, no rounding residue
    hi = 1.0 if successes == n else _clip(centre + half, 0.0, 1.0)
    return lo, hi


def csat_from_counts(
    values: ArrayLike, counts: ArrayLike, *, ci: str = "wilson", **options: Unpack[IntervalOptions]
) -> ScoreStat:
    """CSAT = % satisfied (4-5 on 1-5) in 0..100 with a Wilson (or bootstrap) CI; ``mean`` = mean answer."""
    interval = _Interval.of("CSAT", ci, _CSAT_CI, options)
    v, c, sat, n = _csat_counts(values, counts)
    if n == 0:
        return ScoreStat(n=0, score=None, ci_low=None, ci_high=None)
    if ci == "wilson":
        lo, hi = _wilson(sat, n, _z(interval.level))
    else:
        draws = interval.resample(n, c)
        satisfied = [x >= 4 for x in v]
        lo, hi = _percentile_ci(draws[:, satisfied].sum(axis=1) / n, interval.level)
    mean = _dot(v, c) / n
    return ScoreStat(n=n, score=100.0 * sat / n, ci_low=100.0 * lo, ci_high=100.0 * hi, mean=mean)


# ------------------------------------------------------------------------------------------ CES/rating


# The values a mean can take: an interval never leaves them. A t interval on two 1-10 ratings ran from
# -27.27 to 36.27 (Skytrax, Overview and scores); ratings are bounded by the widest scale an import takes,
# unless the caller knows the store's (`rating_bounds`).
MEAN_BOUNDS = {"ces": (1.0, 7.0), "rating": (1.0, 10.0)}
# NPS and CSAT are scored in points (`measure.scale.points`).
POINT_BOUNDS = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0)}


def score_range(metric: str, rating_scale: int) -> tuple[float, float]:
    """What a score can be, in its own units: NPS and CSAT in points, CES as answered (1-7), a rating
    from 1 to its sources' scale (`rating_scale`, ignored for the other metrics)."""
    if metric == "rating":
        return 1.0, float(rating_scale)
    return POINT_BOUNDS[metric] if metric in POINT_BOUNDS else MEAN_BOUNDS[metric]


def _all_alike(mean: float, n: int, level: float, bounds: tuple[float, float]) -> tuple[float, float]:
    """When all n answers are the same, a t or bootstrap interval has width zero: certainty from three
    identical ratings. What the sample does bound is the share of other answers: at most
    1 - (alpha/2)^(1/n) (the exact Clopper-Pearson limit for none seen), each at most as far as the
    scale's end, so the mean lies within that share of the distance to either end."""
    share = 1.0 - ((1.0 - level) / 2.0) ** (1.0 / n)
    low_end, high_end = bounds
    return mean - share * (mean - low_end), mean + share * (high_end - mean)


def rating_bounds(scale: int | None, values: ArrayLike, counts: ArrayLike) -> tuple[float, float]:
    """What a mean rating can be: 1 to `scale` (the widest rating scale of the store's sources, so one
    1-10 source bounds every group at 10), never below the largest value counted; no scale known: the
    widest an import takes.
    Two 1-5 hotel reviews of 4 and 5 read "4.5 (95 % CI 1.0 to 10.0)" on a five-star scale."""
    if scale is None:
        return MEAN_BOUNDS["rating"]
    v, c = _arrays(values, counts)
    top = max((x for x, n in zip(v, c, strict=True) if n > 0), default=float(scale))
    return 1.0, max(float(scale), top)


def mean_from_counts(
    values: ArrayLike,
    counts: ArrayLike,
    *,
    ci: str = "t",
    bounds: tuple[float, float] | None = None,
    **options: Unpack[IntervalOptions],
) -> ScoreStat:
    """Mean score (CES, ratings) with a Student t (or bootstrap) CI, cut to `bounds` (the scale's
    possible values, `MEAN_BOUNDS`) when given; with n == 1 the CI is None. Answers all alike, with
    `bounds`, get the interval their count can support (`_all_alike`), never one of width zero."""
    interval = _Interval.of("mean", ci, _MEAN_CI, options)
    v, c = _arrays(values, counts)
    n, mean, var = _moments(v, c)
    if n == 0:
        return ScoreStat(n=0, score=None, ci_low=None, ci_high=None)
    if n == 1:
        return ScoreStat(n=1, score=mean, ci_low=None, ci_high=None, mean=mean)
    if var == 0.0 and bounds is not None:
        lo, hi = _all_alike(mean, n, interval.level, bounds)
    elif ci == "t":
        half = float(_student_t().stdtrit(n - 1, 0.5 + interval.level / 2)) * math.sqrt(var / n)
        lo, hi = mean - half, mean + half
    else:
        import numpy as np

        draws = interval.resample(n, c)
        lo, hi = _percentile_ci(draws @ np.asarray(v) / n, interval.level)
    if bounds is not None:
        lo, hi = _clip(lo, *bounds), _clip(hi, *bounds)
    return ScoreStat(n=n, score=mean, ci_low=lo, ci_high=hi, mean=mean)


# -------------------------------------------------------------------------------------------- dispatch


def _resolve_ci(metric: str, ci: str | None) -> str:
    """Map the CLI's adjusted-wald|wald|bootstrap vocabulary onto each metric's own methods."""
    if metric == "nps":
        allowed: tuple[str, ...] = CI_METHODS
        default = "adjusted-wald"
    elif metric == "csat":
        allowed, default = (*CI_METHODS, *_CSAT_CI), "wilson"
    else:
        allowed, default = (*CI_METHODS, *_MEAN_CI), "t"
    if ci is None:
        return default
    if ci not in allowed:
        raise ValueError(f"unknown ci method {ci!r} for metric {metric!r}; expected one of {allowed}")
    if metric != "nps" and ci in ("adjusted-wald", "wald"):
        return default
    return ci


def _check_metric(metric: str) -> str:
    m = metric.strip().lower()
    if m not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    return m


def score_from_counts(
    metric: str,
    values: ArrayLike,
    counts: ArrayLike,
    *,
    ci: str | None = None,
    scale: int | None = None,
    **options: Unpack[IntervalOptions],
) -> ScoreStat:
    """Score one group for ``metric`` (nps, csat, ces, rating); ``ci=None`` picks the metric's default;
    ``scale``: the rating scale of the rows (`rating_bounds`), when the caller knows it."""
    m = _check_metric(metric)
    method = _resolve_ci(m, ci)
    if m == "nps":
        p, pas, d = _nps_counts(values, counts)
        return nps_from_counts(p, pas, d, ci=method, **options)
    if m == "csat":
        return csat_from_counts(values, counts, ci=method, **options)
    bounds = rating_bounds(scale, values, counts) if m == "rating" else MEAN_BOUNDS[m]
    return mean_from_counts(values, counts, ci=method, bounds=bounds, **options)


# ---------------------------------------------------------------------------------------- comparisons


def _normal_p(diff: float, se: float) -> float:
    """Two-sided normal p-value; a zero SE means no sampling noise, so any non-zero gap is certain."""
    if se == 0.0:
        return 1.0 if diff == 0.0 else 0.0
    return 2.0 * _NORMAL.cdf(-abs(diff) / se)


def compare_from_counts(
    metric: str,
    values_a: ArrayLike,
    counts_a: ArrayLike,
    values_b: ArrayLike,
    counts_b: ArrayLike,
    *,
    level: float = 0.95,
    scale: int | None = None,
) -> Difference:
    """Score of a minus score of b, so a report can say whether two groups really differ
    (``scale``: the store's rating scale, as `score_from_counts` takes it).

    - nps: Wald two-sample, SE = 100*sqrt(var_a/n_a + var_b/n_b), normal p-value; when that SE is 0
      (each side all one category) the adjusted-Wald counts' SE; the CI kept within ±200.
    - csat: difference of % satisfied; unpooled SE for the CI (Agresti–Caffo's when it is 0), pooled SE
      for the z-test p-value; the CI kept within ±100.
    - ces/rating: Welch t-test on the means, CI with Welch-Satterthwaite df; when both sides are all
      alike, the exact rank test and each side's `_all_alike` interval.
    If either side has n < 2 the se, CI and p-value are NaN (never raises for small n).
    """
    m = _check_metric(metric)
    z = _z(level)
    nan = math.nan
    if m == "nps":
        pa, ma, da = _nps_counts(values_a, counts_a)
        pb, mb, db = _nps_counts(values_b, counts_b)
        na, nb = pa + ma + da, pb + mb + db
        sa = 100.0 * (pa - da) / na if na else nan
        sb = 100.0 * (pb - db) / nb if nb else nan
        if na < 2 or nb < 2:
            return Difference(sa - sb, nan, nan, nan, nan, na, nb, sa, sb)
        var = nps_variance(pa / na, da / na) / na + nps_variance(pb / nb, db / nb) / nb
        se = 100.0 * math.sqrt(max(var, 0.0))
        if se == 0.0:
            # Each side all one category (five detractors in each of two quarters): Wald has no spread
            # and the report printed a change of "+0.0 (+0.0 – +0.0)". The adjusted-Wald counts the
            # level interval uses (¾ promoter and ¾ detractor added, n + 3) give the SE instead.
            se = 100.0 * math.sqrt(
                sum(
                    nps_variance((p + 0.75) / (n + 3), (d + 0.75) / (n + 3)) / (n + 3)
                    for p, d, n in ((pa, da, na), (pb, db, nb))
                )
            )
        diff = sa - sb
        # Two NPS differ by at most 200: "+100.0 (−19.3 – +219.3)" for two airlines of three answers.
        lo, hi = _clip(diff - z * se, -200.0, 200.0), _clip(diff + z * se, -200.0, 200.0)
        return Difference(diff, se, lo, hi, _normal_p(diff, se), na, nb, sa, sb)
    if m == "csat":
        _, _, ka, na = _csat_counts(values_a, counts_a)
        _, _, kb, nb = _csat_counts(values_b, counts_b)
        sa = 100.0 * ka / na if na else nan
        sb = 100.0 * kb / nb if nb else nan
        if na < 2 or nb < 2:
            return Difference(sa - sb, nan, nan, nan, nan, na, nb, sa, sb)
        qa, qb = ka / na, kb / nb
        se = 100.0 * math.sqrt(qa * (1 - qa) / na + qb * (1 - qb) / nb)
        if se == 0.0:
            # Each side all satisfied or all not: Agresti–Caffo's one success and one failure added to
            # each side give the spread a zero-width Wald interval claimed.
            aa, ab = (ka + 1) / (na + 2), (kb + 1) / (nb + 2)
            se = 100.0 * math.sqrt(aa * (1 - aa) / (na + 2) + ab * (1 - ab) / (nb + 2))
        pooled = (ka + kb) / (na + nb)
        se_pooled = 100.0 * math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        diff = sa - sb
        p = _normal_p(diff, se_pooled)
        lo, hi = _clip(diff - z * se, -100.0, 100.0), _clip(diff + z * se, -100.0, 100.0)
        return Difference(diff, se, lo, hi, p, na, nb, sa, sb)
    na, sa, va = _moments(*_arrays(values_a, counts_a))
    nb, sb, vb = _moments(*_arrays(values_b, counts_b))
    if na < 2 or nb < 2:
        return Difference(sa - sb, nan, nan, nan, nan, na, nb, sa, sb)
    diff = sa - sb
    wa, wb = va / na, vb / nb
    se = math.sqrt(wa + wb)
    if se == 0.0:
        # Both sides all alike: Welch has nothing to stand on. The exact rank test of two groups that do
        # not overlap (p = 2 / C(na+nb, na)) and each side's own interval say what the counts support;
        # two groups of two ratings used to differ "with p = 0".
        bounds = rating_bounds(scale, [sa, sb], [na, nb]) if m == "rating" else MEAN_BOUNDS[m]
        (la, ha), (lb, hb) = (_all_alike(x, n, level, bounds) for x, n in ((sa, na), (sb, nb)))
        # 2 / C(na+nb, na) by its logarithm: C(600+600, 600) is past a float (OverflowError)
        log_ways = math.lgamma(na + nb + 1) - math.lgamma(na + 1) - math.lgamma(nb + 1)
        p = 1.0 if diff == 0.0 else min(1.0, 2.0 * math.exp(-log_ways))
        return Difference(diff, 0.0, la - hb, ha - lb, p, na, nb, sa, sb)
    df = (wa + wb) ** 2 / (wa**2 / (na - 1) + wb**2 / (nb - 1))
    special = _student_t()
    tcrit = float(special.stdtrit(df, 0.5 + level / 2))
    p = float(2.0 * special.stdtr(df, -abs(diff) / se))
    return Difference(diff, se, diff - tcrit * se, diff + tcrit * se, p, na, nb, sa, sb)


# ------------------------------------------------------------------------------ multiple comparisons


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values: controls family-wise error when many groups are compared.

    Monotone in the raw order, capped at 1; NaN entries pass through and do not count towards m.
    """
    import numpy as np

    p = np.asarray(p_values, dtype=float).ravel()
    out = p.copy()
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out
