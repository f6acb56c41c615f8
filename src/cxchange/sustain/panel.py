"""Pure statistics for "did the change work?" at the level the pilot was chosen.

Data are unit-by-period cells (a unit is where answers are given, a store; a period is a month, split at
the start so no cell mixes before and after). The estimate is two-way fixed effects, weighted by the
respondents in each cell:

    y_ut = a_u + g_t + tau · D_ut,   D_ut = pilot_u · after_t

(for one start date this is the difference-in-differences with unit and period effects; the test suite
checks it, the CRV1 standard error and the event study equal pyfixest's `feols(..., weights="n",
vcov={"CRV1": cluster})` on the same cells to 1e-8. pyfixest itself is a test dependency only: it adds
~190 MB (matplotlib, IPython, great-tables) and ~8 s to the first fit, for numbers we get from the same
projection the randomization inference already needs).

Inference is **randomization inference over the assignments of whole clusters** (the level at which
pilot and control were chosen: regions, stores, …): every way of choosing as many pilot clusters out of
all clusters is enumerated when there are at most `MAX_ENUMERATED` of them, otherwise `DRAWS` are drawn
with a fixed seed (so every surface shows the same numbers). The p-value is the share of assignments
whose |tau| is at least the observed one; the interval inverts that test for a constant effect (the
set of effects the data cannot reject). When even the most extreme result could not reach the level
(2 vs 2 regions: 6 assignments, mirrored pairs, smallest p = 1/3), the design cannot support a
conclusion and the verdict says so, with what would fix it.

Parallel trends are checked with power: the pilot-minus-control monthly slope before the start, tested
the same way. A check that fails (p < `PRETREND_ALPHA` with a slope in the estimate's direction), cannot
be run, or is too weak to tell apart a trend that alone would produce the whole estimate (its interval
is wider than that slope) withholds "improved" and "worse". The sensitivity
bound (`breakdown_slope`) is the differential monthly trend that, continued into the after window,
would move the interval to include zero.

Nothing here touches the database: arrays in, dataclasses out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike

MAX_ENUMERATED = 5000  # assignments enumerated exactly up to this many
DRAWS = 999  # random assignments (plus the observed one) beyond that
SEED = 20261206  # fixed: the same data give the same p-value on every surface
PRETREND_ALPHA = 0.10  # a liberal pre-trend test: failing to notice a trend is the costly error
MIN_PRE_MONTHS = 3
SeAt = Callable[[float], np.ndarray]  # standard errors of every assignment at a constant effect
ABSORBED = (
    "pilot and control have no month with answers from both, before and after the start, so there is "
    "nothing to compare (the month effects absorb the pilot)"
)

IMPROVED, WORSE, NO_EVIDENCE, CANNOT_TELL = (
    "improved",
    "worse",
    "no evidence of change",
    "cannot tell with this design",
)

__all__ = [
    "CANNOT_TELL",
    "IMPROVED",
    "NO_EVIDENCE",
    "WORSE",
    "Assessment",
    "Cells",
    "Crv1Fit",
    "EventTime",
    "Pretrend",
    "Randomization",
    "assess",
    "assignments",
    "crv1",
    "decide",
    "event_study",
    "infer",
    "make_cells",
    "pretrend",
    "randomization",
    "twfe",
]


@dataclass(frozen=True)
class Cells:
    """Unit-by-period cells: mean value `y` of `n` respondents."""

    unit: np.ndarray  # int code per cell
    cluster: np.ndarray  # int code of the assignment cluster of the cell's unit
    month: np.ndarray  # month index relative to the start's month
    post: np.ndarray  # bool: the cell lies on or after the start
    treated: np.ndarray  # bool: the cell's unit is a pilot unit
    y: np.ndarray
    n: np.ndarray
    # Periods are before / after only (not months): when pilot and control never answered in the same
    # month, month effects would absorb the comparison.
    coarse: bool = False

    @property
    def period(self) -> np.ndarray:
        """Month, split at the start (the start's month has a before and an after period)."""
        if self.coarse:
            return self.post.astype(int)
        period: np.ndarray = self.month * 2 + self.post.astype(int)
        return period

    def subset(self, mask: np.ndarray) -> Cells:
        arrays = {f: getattr(self, f)[mask] for f in self.__dataclass_fields__ if f != "coarse"}
        return Cells(**arrays, coarse=self.coarse)

    def coarsened(self) -> Cells:
        return replace(self, coarse=True)


@dataclass(frozen=True)
class Randomization:
    estimate: float
    p_value: float
    ci_low: float | None  # None: the data cannot bound the effect on that side at this level
    ci_high: float | None
    assignments: int  # how many assignments the p-value is over
    exact: bool  # all assignments enumerated (else drawn)
    min_p: float  # the smallest p-value this design can give
    null_sd: float  # spread of the estimate over assignments (a standard error under no effect)


@dataclass(frozen=True)
class Pretrend:
    status: str  # ok | failed | underpowered | not testable
    slope_diff: float | None  # pilot − control monthly slope before the start (points a month)
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    months: int
    reason: str | None = None


@dataclass(frozen=True)
class EventTime:
    month: int  # relative to the start's month; the part of the start's month before it counts as −1
    estimate: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Assessment:
    effect: Randomization
    pretrend: Pretrend
    verdict: str
    reason: str | None  # why "cannot tell", or None
    fix: str | None  # what would let the design tell
    lever_months: float  # pilot after-mean month − before-mean month (how far a trend is carried)
    breakdown_slope: float | None  # differential trend a month that would move the interval to zero
    clusters: dict[str, int] = field(default_factory=dict)  # pilot / control clusters


def _arr(x: ArrayLike, dtype: type = float) -> np.ndarray:
    return np.asarray(x, dtype=dtype).ravel()


def make_cells(
    unit: ArrayLike,
    month: ArrayLike,
    post: ArrayLike,
    value: ArrayLike,
    count: ArrayLike,
    cluster_of_unit: dict[int, int],
    pilot_units: set[int],
) -> Cells:
    """Respondent rows (unit, month, post, value, count) -> one cell per (unit, month, post)."""
    u, m, p = _arr(unit, int), _arr(month, int), _arr(post, bool)
    v, c = _arr(value), _arr(count)
    if not u.size:
        raise ValueError("no respondent rows")
    keys = np.stack([u, m, p.astype(int)], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    n = np.bincount(inv, weights=c)
    y = np.bincount(inv, weights=v * c) / n
    cu = uniq[:, 0]
    return Cells(
        unit=cu,
        cluster=np.array([cluster_of_unit[int(x)] for x in cu], dtype=int),
        month=uniq[:, 1],
        post=uniq[:, 2].astype(bool),
        treated=np.isin(cu, sorted(pilot_units)),
        y=y,
        n=n,
    )


def _fe_basis(unit: np.ndarray, period: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the weighted unit and period dummies (one period dummy dropped)."""
    _, ui = np.unique(unit, return_inverse=True)
    _, pi = np.unique(period, return_inverse=True)
    f = np.zeros((unit.size, ui.max() + 1 + pi.max()))
    f[np.arange(unit.size), ui.ravel()] = 1.0
    rows = np.flatnonzero(pi.ravel() > 0)
    f[rows, ui.max() + pi.ravel()[rows]] = 1.0
    q, r = np.linalg.qr(f * sw[:, None])
    keep = np.abs(np.diag(r)) > 1e-10 * max(1.0, float(np.abs(np.diag(r)).max()))
    basis: np.ndarray = q[:, keep]
    return basis


def _residualize(q: np.ndarray, z: np.ndarray) -> np.ndarray:
    resid: np.ndarray = z - q @ (q.T @ z)
    return resid


def twfe(cells: Cells, d: ArrayLike | None = None) -> float:
    """The weighted two-way fixed-effects coefficient of `d` (default pilot·after) on the cells."""
    sw = np.sqrt(cells.n)
    q = _fe_basis(cells.unit, cells.period, sw)
    dd = (cells.treated & cells.post).astype(float) if d is None else _arr(d)
    rd = _residualize(q, dd * sw)
    ry = _residualize(q, cells.y * sw)
    denom = float(rd @ rd)
    if denom <= 1e-12:
        raise ValueError(ABSORBED)
    return float(rd @ ry) / denom


def assignments(treated_clusters: np.ndarray, *, seed: int = SEED) -> tuple[np.ndarray, bool]:
    """Rows of pilot flags per cluster, the observed assignment first; (rows, enumerated exactly)."""
    g = treated_clusters.size
    g1 = int(treated_clusters.sum())
    total = math.comb(g, g1)
    observed = treated_clusters.astype(bool)
    if total <= MAX_ENUMERATED:
        rows = np.zeros((total, g), dtype=bool)
        for i, chosen in enumerate(combinations(range(g), g1)):
            rows[i, list(chosen)] = True
        same = np.flatnonzero((rows == observed).all(axis=1))
        order = [int(same[0]), *(i for i in range(total) if i != same[0])]
        return rows[order], True
    rng = np.random.default_rng(seed)
    draws = rng.permuted(np.tile(observed, (DRAWS, 1)), axis=1)
    return np.vstack([observed, draws]), False


def _min_p(rows: np.ndarray, exact: bool) -> float:
    """Smallest attainable p: 1/K, or 2/K when every assignment's mirror (pilot <-> control) is also
    one (then the estimate under the mirror is exactly minus the estimate)."""
    k: int = rows.shape[0]
    mirrored = exact and int(rows[0].sum()) * 2 == rows.shape[1]
    return (2.0 if mirrored else 1.0) / k


def randomization(
    cells: Cells,
    d_of: str = "after",
    *,
    level: float = 0.95,
    seed: int = SEED,
    statistic: str = "coef",
) -> Randomization:
    """Randomization inference for the pilot·after coefficient (`d_of="after"`) or, on before-only
    cells, the pilot·month slope (`d_of="month"`), over assignments of whole clusters.

    `statistic="coef"` (the default, "randomization-c") compares the raw coefficient over assignments;
    `"t"` ("randomization-t") the coefficient over its cluster-robust standard error under each
    assignment (Chung & Romano 2013; MacKinnon & Webb 2020), which takes the part of a real effect
    that a mixed assignment carries out of the reference distribution. Both are exact under the sharp
    null; in the simulation study (eval/outcomes.py, column "p <= 0.05, randomization-t") the t
    statistic gained no power in these designs, so the default stays the simpler coefficient."""
    clusters, cl = np.unique(cells.cluster, return_inverse=True)
    cl = cl.ravel()
    treated_cl = np.zeros(clusters.size, dtype=bool)
    treated_cl[cl[cells.treated]] = True
    if (treated_cl[cl] != cells.treated).any():
        raise ValueError("a cluster holds both pilot and control units")
    rows, exact = assignments(treated_cl, seed=seed)
    x = cells.post.astype(float) if d_of == "after" else (cells.month - cells.month.mean()).astype(float)
    sw = np.sqrt(cells.n)
    q = _fe_basis(cells.unit, cells.period, sw)
    d_all = rows[:, cl].T.astype(float) * x[:, None] * sw[:, None]  # cells × assignments
    r = _residualize(q, d_all)
    ry = _residualize(q, (cells.y * sw)[:, None])[:, 0]
    denom = (r * r).sum(axis=0)
    usable = denom > 1e-12
    if not usable[0]:
        raise ValueError(ABSORBED)
    r, denom = r[:, usable], denom[usable]
    a = (r.T @ ry) / denom  # the estimate under each assignment
    c = (r.T @ r[:, 0]) / denom  # the observed indicator's coefficient under each assignment
    se_at = None
    if statistic == "t":
        se_at = _cluster_se(r, ry, a, c, denom, cl, clusters.size)
    elif statistic != "coef":
        raise ValueError(f"unknown randomization statistic {statistic!r} (t or coef)")
    return infer(a, c, _min_p(rows[usable], exact), exact, level=level, se_at=se_at)


def _cluster_se(
    r: np.ndarray, ry: np.ndarray, a: np.ndarray, c: np.ndarray, denom: np.ndarray, cl: np.ndarray, g: int
) -> SeAt:
    """Cluster-robust (CRV1 up to a constant factor) standard errors of every assignment's coefficient
    when a constant effect tau0 is taken out of the outcome. The residuals are linear in tau0, so the
    clusters' scores are A − tau0·B and each variance a quadratic in tau0."""
    members = np.zeros((g, cl.size))
    members[cl, np.arange(cl.size)] = 1.0
    score_a = members @ (r * (ry[:, None] - r * a[None, :]))
    score_b = members @ (r * (r[:, [0]] - r * c[None, :]))
    aa, ab, bb = (score_a**2).sum(0), (score_a * score_b).sum(0), (score_b**2).sum(0)

    def se(tau0: float) -> np.ndarray:
        var = np.clip(aa - 2 * tau0 * ab + tau0 * tau0 * bb, 0.0, None) / (denom * denom)
        out: np.ndarray = np.sqrt(var)
        return out

    return se


def infer(
    a: np.ndarray,
    c: np.ndarray,
    min_p: float,
    exact: bool,
    *,
    level: float = 0.95,
    se_at: SeAt | None = None,
) -> Randomization:
    """p-value and interval from the estimates `a` under each assignment (observed first) of a linear
    estimator, and `c`, what each assignment's estimator makes of the observed treatment indicator:
    under a constant effect tau0 the estimate under assignment k is a_k − tau0·c_k. With `se_at`
    (the assignments' standard errors at tau0) the statistic is that estimate over its standard error."""
    est = float(a[0])
    alpha = 1.0 - level

    def stat_at(tau0: float) -> np.ndarray:
        shifted = np.abs(a - tau0 * c)
        if se_at is None:
            return shifted
        se = se_at(tau0)
        floor = 1e-12 * max(1.0, float(se.max()))
        # an assignment that fits perfectly has no spread: any difference is infinitely many SEs
        return np.where(se > floor, shifted / np.maximum(se, floor), np.where(shifted > 0, np.inf, 0.0))

    def p_at(tau0: float) -> float:
        stat = stat_at(tau0)
        top = float(stat[0])
        if not math.isfinite(top):
            return float(np.mean(stat >= top))
        scale = max(1.0, float(np.abs(a).max())) if se_at is None else max(1.0, top)
        return float(np.mean(stat >= top - 1e-9 * scale))

    spread = float(np.std(a[1:])) if a.size > 1 else 0.0
    lo = hi = None
    if min_p <= alpha and spread > 0:
        lo, hi = _bound(p_at, est, -spread, alpha), _bound(p_at, est, spread, alpha)
    return Randomization(est, p_at(0.0), lo, hi, int(a.size), exact, min_p, spread)


def _bound(p_at: object, est: float, step: float, alpha: float) -> float | None:
    """Where p(tau) falls to alpha going from the estimate in the direction of `step` (bisection)."""
    assert callable(p_at)
    inside, outside = est, None
    for k in range(40):
        trial = est + step * 2.0**k
        if p_at(trial) <= alpha:
            outside = trial
            break
        inside = trial
    if outside is None:
        return None
    for _ in range(60):
        mid = (inside + outside) / 2
        if p_at(mid) <= alpha:
            outside = mid
        else:
            inside = mid
    return (inside + outside) / 2


def _pretrend(cells: Cells, explain_slope: float, level: float) -> Pretrend:
    pre = cells.subset(~cells.post)
    months = int(np.unique(pre.month).size)
    if months < MIN_PRE_MONTHS:
        return Pretrend(
            "not testable",
            None,
            None,
            None,
            None,
            months,
            f"only {months} month(s) before the start (at least {MIN_PRE_MONTHS} needed)",
        )
    try:
        r = randomization(pre, "month", level=1 - PRETREND_ALPHA)
    except ValueError as exc:
        return Pretrend("not testable", None, None, None, None, months, str(exc))
    if r.min_p > PRETREND_ALPHA:
        return Pretrend(
            "underpowered",
            r.estimate,
            None,
            None,
            r.p_value,
            months,
            f"with {r.assignments} possible assignments the pre-trend test cannot reject anything",
        )
    # Only a trend in the estimate's direction can manufacture it; one against it makes the estimate
    # conservative, and withholding on it would only cost power.
    if r.p_value < PRETREND_ALPHA and r.estimate * explain_slope > 0:
        return Pretrend(
            "failed",
            r.estimate,
            r.ci_low,
            r.ci_high,
            r.p_value,
            months,
            f"before the start the pilot's monthly slope differed from the control's by "
            f"{r.estimate:+.2f} points a month (p = {r.p_value:.3f})",
        )
    lo, hi = r.ci_low, r.ci_high
    if lo is None or hi is None or (hi - lo) / 2 >= abs(explain_slope):
        return Pretrend(
            "underpowered",
            r.estimate,
            lo,
            hi,
            r.p_value,
            months,
            f"a differential trend of {explain_slope:+.2f} points a month would alone produce the whole "
            "estimate, and the before window is too short or too noisy to tell it from parallel trends",
        )
    return Pretrend("ok", r.estimate, lo, hi, r.p_value, months)


def _lever(cells: Cells) -> float:
    """How many months a differential linear trend is carried from before to after, in the pilot."""
    t = cells.treated
    w = cells.n
    after = np.average(cells.month[t & cells.post], weights=w[t & cells.post])
    before = np.average(cells.month[t & ~cells.post], weights=w[t & ~cells.post])
    return float(after - before) + (0.5 if after == before else 0.0)


def fix_advice(g1: int, g0: int, alpha: float, unit_word: str) -> str:
    """The smallest balanced growth of both arms that lets the smallest p reach alpha."""
    for k in range(0, 50):
        a, b = g1 + k, g0 + k
        if 2.0 / math.comb(a + b, a) <= alpha:
            return (
                f"compare at least {a} pilot and {b} control {unit_word} (or choose pilot and control at "
                "a lower level, e.g. stores instead of regions)"
            )
    return f"more pilot and control {unit_word}"


def assess(
    cells: Cells,
    *,
    level: float = 0.95,
    higher_is_better: bool = True,
    cluster_word: str = "units",
) -> Assessment:
    """Estimate, interval, pre-trend check and one verdict for pilot vs control cells."""
    g1 = int(np.unique(cells.cluster[cells.treated]).size)
    g0 = int(np.unique(cells.cluster[~cells.treated]).size)
    eff = randomization(cells, "after", level=level)
    lever = _lever(cells)
    pt = _pretrend(cells, eff.estimate / lever if lever else math.inf, level)
    return decide(eff, pt, lever, g1, g0, level=level, higher_is_better=higher_is_better,
                  cluster_word=cluster_word)  # fmt: skip


def decide(
    eff: Randomization,
    pt: Pretrend,
    lever: float,
    g1: int,
    g0: int,
    *,
    level: float = 0.95,
    higher_is_better: bool = True,
    cluster_word: str = "units",
) -> Assessment:
    """One verdict from the effect's randomization inference and the pre-trend check (shared by the
    single-start and the staggered estimators, so both withhold for the same reasons)."""
    alpha = 1.0 - level
    breakdown = None
    if eff.ci_low is not None and eff.ci_high is not None and (eff.ci_low > 0 or eff.ci_high < 0):
        breakdown = min(abs(eff.ci_low), abs(eff.ci_high)) / lever
    confident = eff.p_value <= alpha and breakdown is not None
    reason = fix = None
    if eff.min_p > alpha:
        verdict = CANNOT_TELL
        reason = (
            f"{g1} pilot vs {g0} control {cluster_word} allow only {eff.assignments} assignments, so the "
            f"smallest possible p-value is {eff.min_p:.2f} (> {alpha:.2f}): no result could be told "
            "from chance"
        )
        fix = fix_advice(g1, g0, alpha, cluster_word)
    elif confident and pt.status != "ok":
        verdict = CANNOT_TELL
        reason = f"pre-trend check {pt.status}: {pt.reason}"
        fix = (
            "a longer before window (more months to check parallel trends), or control units that moved "
            "with the pilot before the start"
        )
    elif confident:
        up = eff.estimate > 0
        verdict = IMPROVED if up == higher_is_better else WORSE
    else:
        verdict = NO_EVIDENCE
    return Assessment(
        effect=eff,
        pretrend=pt,
        verdict=verdict,
        reason=reason,
        fix=fix,
        lever_months=lever,
        breakdown_slope=breakdown,
        clusters={"pilot": g1, "control": g0},
    )


@dataclass(frozen=True)
class Crv1Fit:
    coef: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: int


def crv1(cells: Cells, x: np.ndarray, *, level: float = 0.95) -> Crv1Fit:
    """Weighted two-way fixed-effects fit of the columns of `x` with CRV1 standard errors clustered at
    the assignment level and t intervals with G−1 df: fixest's / pyfixest's defaults (small-sample
    factor G/(G−1)·(N−1)/(N−k), k counting the coefficients and the period effects, not the unit
    effects nested in clusters), checked against pyfixest in the tests."""
    from scipy import special

    x = np.asarray(x, dtype=float).reshape(cells.y.size, -1)
    sw = np.sqrt(cells.n)
    q = _fe_basis(cells.unit, cells.period, sw)
    rx = _residualize(q, x * sw[:, None])
    ry = _residualize(q, cells.y * sw)
    coef, *_ = np.linalg.lstsq(rx, ry, rcond=None)
    u = ry - rx @ coef
    _, cl = np.unique(cells.cluster, return_inverse=True)
    g = int(cl.max()) + 1
    scores = np.zeros((g, x.shape[1]))
    np.add.at(scores, cl.ravel(), rx * u[:, None])
    bread = np.linalg.pinv(rx.T @ rx)
    n, k = cells.y.size, x.shape[1] + int(np.unique(cells.period).size)
    if g < 2 or n <= k:
        nan = np.full(x.shape[1], math.nan)
        return Crv1Fit(coef, nan, nan, nan, max(g - 1, 0))
    cov = g / (g - 1) * (n - 1) / (n - k) * bread @ (scores.T @ scores) @ bread
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    t = float(special.stdtrit(g - 1, 0.5 + level / 2))
    return Crv1Fit(coef, se, coef - t * se, coef + t * se, g - 1)


def event_study(cells: Cells, *, level: float = 0.95, reference: int = -1) -> list[EventTime]:
    """Pilot − control by month relative to the start (`reference` month = 0), CRV1 intervals. The part
    of the start's month before the start counts as month −1. Empty with fewer than 2 clusters.

    A month is estimated only when control units answered in it too: otherwise its month effect
    absorbs the pilot's cells and the least-squares solution printed 0.000 with a 0-wide interval, a
    made-up exact "no difference" (Skytrax airlines: every month the control airlines were silent).
    When pilot or control has no answers in the `reference` month, the reference is the latest earlier
    month both have: with no reference in the data the months were estimated against nothing (their
    dummies sum to the pilot units' own effects) and the numbers meant nothing."""
    rel = np.where(cells.post, cells.month, np.minimum(cells.month, -1))
    period = cells.period
    control_periods = np.unique(period[~cells.treated])
    shared = [
        int(m)
        for m in np.unique(rel[cells.treated])
        if np.isin(period[cells.treated & (rel == m)], control_periods).any()
    ]
    before = [m for m in shared if m < 0]
    if not before or np.unique(cells.cluster).size < 2:
        return []
    reference = reference if reference in shared else max(before)
    months = [m for m in shared if m != reference]
    if not months:
        return []
    cols = np.column_stack([(cells.treated & (rel == m)).astype(float) for m in months])
    fit = crv1(cells, cols, level=level)
    out = [
        EventTime(m, float(fit.coef[j]), float(fit.ci_low[j]), float(fit.ci_high[j]))
        for j, m in enumerate(months)
    ]
    return sorted([*out, EventTime(reference, 0.0, 0.0, 0.0)], key=lambda e: e.month)


def pretrend(cells: Cells, explain_slope: float) -> Pretrend:
    """The pre-trend check on before-only cells (for estimators that build their own before window)."""
    return _pretrend(cells, explain_slope, 0.95)
