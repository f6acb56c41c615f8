"""Staggered rollouts: pilot units that each start in their own month.

A single two-way fixed-effects coefficient is biased when effects differ by cohort or grow with time
since the start: units that started early serve as controls for those that start later, so their growing
effect is subtracted (Goodman-Bacon 2021). The estimate here is the **imputation estimator** (Borusyak,
Jaravel & Spiess 2024; numerically Gardner's two-stage did2s): unit and month effects are fitted on the
untreated cells only (control units, and pilot units before their own start), each treated cell's
untreated outcome is imputed from them, and the effect is the respondent-weighted mean of observed minus
imputed over the treated cells. The test suite checks it against pyfixest's `did2s` to 1e-8.

The estimate is linear in the cell means (ATT = v·y), so inference is the same randomization inference
as `panel`: the starts (a month per pilot cluster, "never" per control cluster) are permuted over the
clusters; all distinct arrangements when there are at most `panel.MAX_ENUMERATED`, else `panel.DRAWS`
drawn with a fixed seed. The pre-trend check runs on the months before the first start, as for a single
start, and the verdict is `panel.decide`'s.

Months are whole calendar months: a unit's cells from its start month on are treated (the service
drops a start month that the start splits, so no cell mixes before and after).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from cxchange.sustain import panel

NEVER = np.iinfo(np.int64).max // 4  # start of a control cluster

__all__ = ["NEVER", "Rollout", "assess", "imputation", "imputation_weights", "twfe"]


@dataclass(frozen=True)
class Rollout:
    """Unit-by-month cells of a staggered rollout; `start[c]` is cluster c's start month (NEVER for a
    control cluster). Cluster codes are 0..G−1."""

    unit: np.ndarray
    cluster: np.ndarray
    month: np.ndarray
    y: np.ndarray
    n: np.ndarray
    start: np.ndarray

    def treated_now(self, start: np.ndarray | None = None) -> np.ndarray:
        s = self.start if start is None else start
        treated: np.ndarray = self.month >= s[self.cluster]
        return treated

    @property
    def pilot(self) -> np.ndarray:
        pilot: np.ndarray = self.start[self.cluster] < NEVER
        return pilot


def _dummies(unit: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Unit dummies and month dummies (first month dropped)."""
    _, ui = np.unique(unit, return_inverse=True)
    _, mi = np.unique(month, return_inverse=True)
    ui, mi = ui.ravel(), mi.ravel()
    f = np.zeros((unit.size, ui.max() + 1 + mi.max()))
    f[np.arange(unit.size), ui] = 1.0
    rows = np.flatnonzero(mi > 0)
    f[rows, ui.max() + mi[rows]] = 1.0
    return f


def imputation_weights(
    unit: np.ndarray, month: np.ndarray, n: np.ndarray, d: np.ndarray, *, f: np.ndarray | None = None
) -> np.ndarray:
    """Weights v with ATT = v·y for treatment indicator d (bool per cell); `f` the cells' dummies when
    already made. Raises ValueError when a treated cell's untreated outcome cannot be imputed (its unit
    has no untreated month, or its month no untreated unit linked to the rest)."""
    if not d.any():
        raise ValueError("no treated cell")
    f = _dummies(unit, month) if f is None else f
    wu = np.where(d, 0.0, n)
    a = f.T @ (f * wu[:, None])  # the untreated cells' weighted normal matrix
    val, vec = np.linalg.eigh(a)
    keep = val > 1e-9 * max(float(val.max()), 1.0)
    basis = vec[:, keep]
    ft = f[d]
    # A treated row outside the untreated design's row space has no identified imputation.
    if np.abs(ft - (ft @ basis) @ basis.T).max() > 1e-8:
        raise ValueError(
            "some pilot units have no month before their start, or some months no untreated unit, so "
            "their outcome without the change cannot be imputed"
        )
    nt = n[d].sum()
    g = ft.T @ n[d] / nt  # the imputed part of the ATT is g·beta
    z = basis @ ((basis.T @ g) / val[keep])
    v: np.ndarray = -wu * (f @ z)
    v[d] = n[d] / nt
    return v


def imputation(r: Rollout) -> float:
    return float(imputation_weights(r.unit, r.month, r.n, r.treated_now()) @ r.y)


def twfe(r: Rollout) -> float:
    """The single TWFE coefficient (biased under heterogeneous effects; for comparison only)."""
    cells = panel.Cells(
        unit=r.unit,
        cluster=r.cluster,
        month=r.month,
        post=np.zeros(r.unit.size, dtype=bool),
        treated=r.pilot,
        y=r.y,
        n=r.n,
    )
    return panel.twfe(cells, r.treated_now().astype(float))


def _arrangements(start: np.ndarray, seed: int) -> tuple[np.ndarray, bool]:
    """Rows of per-cluster starts, the observed first; (rows, all distinct arrangements enumerated)."""
    counts = Counter(start.tolist())
    total = math.factorial(start.size)
    for k in counts.values():
        total //= math.factorial(k)
    if total <= panel.MAX_ENUMERATED:
        rows: list[list[int]] = []

        def extend(prefix: list[int], left: Counter[int]) -> None:
            if len(prefix) == start.size:
                rows.append(list(prefix))
                return
            for value in sorted(left):
                if left[value]:
                    left[value] -= 1
                    prefix.append(value)
                    extend(prefix, left)
                    prefix.pop()
                    left[value] += 1

        extend([], Counter(counts))
        arr = np.array(rows, dtype=np.int64)
        same = np.flatnonzero((arr == start).all(axis=1))
        order = [int(same[0]), *(i for i in range(total) if i != same[0])]
        return arr[order], True
    rng = np.random.default_rng(seed)
    draws = rng.permuted(np.tile(start, (panel.DRAWS, 1)), axis=1)
    return np.vstack([start, draws]), False


def randomization(r: Rollout, *, level: float = 0.95, seed: int = panel.SEED) -> panel.Randomization:
    """Randomization inference for the imputation ATT over arrangements of the starts."""
    rows, exact = _arrangements(r.start, seed)
    d_obs = r.treated_now().astype(float)
    f = _dummies(r.unit, r.month)
    a, c, kept = [], [], []
    for i, s in enumerate(rows):
        try:
            v = imputation_weights(r.unit, r.month, r.n, r.treated_now(s), f=f)
        except ValueError:
            if i == 0:
                raise
            continue  # an arrangement under which nothing can be imputed is not a possible result
        a.append(float(v @ r.y))
        c.append(float(v @ d_obs))
        kept.append(i)
    usable = rows[kept]
    # Mirrored arrangements do not give minus the estimate here: the smallest p is one over the count.
    return panel.infer(np.array(a), np.array(c), 1.0 / usable.shape[0], exact, level=level)


def assess(
    r: Rollout,
    *,
    level: float = 0.95,
    higher_is_better: bool = True,
    cluster_word: str = "units",
) -> panel.Assessment:
    """Estimate, interval, pre-trend check (months before the first start) and one verdict."""
    pilot_clusters = r.start < NEVER
    if not pilot_clusters.any() or pilot_clusters.all():
        raise ValueError("a staggered rollout needs pilot and control units")
    eff = randomization(r, level=level)
    first = int(r.start[pilot_clusters].min())
    d = r.treated_now()
    w = r.n
    pre = r.month < first
    pilot = r.pilot
    before_pilot = pilot & pre
    lever = float(
        np.average(r.month[d], weights=w[d]) - np.average(r.month[before_pilot], weights=w[before_pilot])
    )
    before = panel.Cells(
        unit=r.unit[pre],
        cluster=r.cluster[pre],
        month=r.month[pre] - first,
        post=np.zeros(int(pre.sum()), dtype=bool),
        treated=pilot[pre],
        y=r.y[pre],
        n=r.n[pre],
    )
    pt = panel.pretrend(before, eff.estimate / lever if lever else math.inf)
    g1, g0 = int(pilot_clusters.sum()), int((~pilot_clusters).sum())
    return panel.decide(eff, pt, lever, g1, g0, level=level, higher_is_better=higher_is_better,
                        cluster_word=cluster_word)  # fmt: skip
