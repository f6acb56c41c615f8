"""Pure statistics for before/after outcomes (no control group) on respondent rows: cluster-robust
inference, cell means and a monthly series. Pilot vs control lives in `sustain.panel` (two-way fixed
effects, randomization inference at the level of assignment), and so does its pre-trend check; `did`
here is the older respondent-level estimator, kept for comparison (its placebo and power tests check the
CR2 inference `before_after` relies on).

Method: ordinary least squares on the respondent-level values, weighted by frequency (the database hands
us (value, count) rows, so a weight w means "w respondents gave this value"), with **cluster-robust
standard errors, CR2 by default** (Bell & McCaffrey 2002; `cluster_ols(kind="CR1")` gives the Stata /
`sandwich` CR1 instead) clustered by unit (the store each answer belongs to):

    CR1: V = c · (X'WX)⁻¹ [Σ_g s_g s_g'] (X'WX)⁻¹,  s_g = Σ_{i∈g} w_i x_i u_i,
         c = G/(G−1) · (N−1)/(N−K)
    CR2: the same sandwich with each cluster's residuals u_g replaced by (I − H_gg)^(−1/2) u_g, c = 1

and a Student t with G−1 degrees of freedom for intervals and p-values (G = number of clusters).

- Before/after (no control group): y = a + c·after; c = after − before.
- Difference-in-differences: y = a + b·pilot + c·after + d·pilot·after.

Nothing here touches the database: arrays in, dataclasses out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

SMALL_N = 30  # respondents per cell below which a caveat is raised
FEW_CLUSTERS = 5  # units per arm below which the interval leans on very few clusters

__all__ = [
    "CellMeans",
    "ClusterFit",
    "Effect",
    "before_after",
    "cell_means",
    "cluster_ols",
    "did",
    "monthly_series",
    "verdict",
]


@dataclass(frozen=True)
class ClusterFit:
    coef: np.ndarray
    cov: np.ndarray
    n: float  # respondents (sum of weights)
    clusters: int


@dataclass(frozen=True)
class Effect:
    """An estimate with its cluster-robust SE, t interval (G−1 df) and two-sided p-value."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    df: int
    clusters: int


@dataclass(frozen=True)
class CellMeans:
    before: float | None
    after: float | None
    n_before: int
    n_after: int
    clusters: int


def _arr(x: ArrayLike, dtype: type = float) -> np.ndarray:
    return np.asarray(x, dtype=dtype).ravel()


def _inv_sqrt_one_minus(m: np.ndarray) -> np.ndarray:
    """(I − M)^(−1/2) − I for a symmetric K×K M with eigenvalues in [0, 1)."""
    lam, vec = np.linalg.eigh((m + m.T) / 2)
    lam = np.clip(lam, 0.0, 1.0 - 1e-9)
    root: np.ndarray = (vec * (1.0 / np.sqrt(1.0 - lam) - 1.0)) @ vec.T
    return root


def cluster_ols(
    y: ArrayLike, X: ArrayLike, w: ArrayLike, cluster: ArrayLike, *, kind: str = "CR2"
) -> ClusterFit:
    """Weighted (frequency) least squares with a cluster-robust covariance, CR2 (default) or CR1.

    CR2 (Bell & McCaffrey 2002) replaces each cluster's residuals u_g by (I − H_gg)^(−1/2) u_g. With
    frequency weights the expanded cluster has many identical rows, so this is done in K×K form:
    with Z_g = X_g B^(1/2) (B = (X'WX)⁻¹), M_g = Z_g'W Z_g and f(x) = (1 − x)^(−1/2),
    X_g'W f(H_gg) u_g = X_g'W u_g + (X_g'WX_g) B^(1/2) M_g⁻¹ (f(M_g) − I) B^(1/2) X_g'W u_g.
    """
    if kind not in ("CR1", "CR2"):
        raise ValueError(f"unknown cluster-robust kind {kind!r}")
    y, w = _arr(y), _arr(w)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != y.size or w.size != y.size:
        raise ValueError("y, X and w must have the same number of rows")
    _, cl = np.unique(np.asarray(cluster).ravel(), return_inverse=True)
    g = int(cl.max()) + 1 if cl.size else 0
    xtwx = X.T @ (X * w[:, None])
    if np.linalg.matrix_rank(xtwx) < X.shape[1]:
        raise ValueError("the design is singular (a group or period has no data)")
    bread = np.linalg.inv(xtwx)
    beta = bread @ (X.T @ (w * y))
    u = y - X @ beta
    k = X.shape[1]
    scores = np.zeros((g, k))
    np.add.at(scores, cl, X * (w * u)[:, None])
    n = float(w.sum())
    if g < 2 or n <= k:
        return ClusterFit(coef=beta, cov=np.full((k, k), math.nan), n=n, clusters=g)
    if kind == "CR1":
        c = g / (g - 1) * (n - 1) / (n - k)
        return ClusterFit(coef=beta, cov=c * bread @ (scores.T @ scores) @ bread, n=n, clusters=g)
    lam, vec = np.linalg.eigh(bread)
    b_half = (vec * np.sqrt(np.clip(lam, 0.0, None))) @ vec.T
    xwx_g = np.zeros((g, k, k))
    np.add.at(xwx_g, cl, X[:, :, None] * X[:, None, :] * w[:, None, None])
    adj = np.empty_like(scores)
    for j in range(g):
        m = b_half @ xwx_g[j] @ b_half
        core = np.linalg.pinv(m, hermitian=True) @ _inv_sqrt_one_minus(m)
        adj[j] = scores[j] + xwx_g[j] @ b_half @ core @ b_half @ scores[j]
    return ClusterFit(coef=beta, cov=bread @ (adj.T @ adj) @ bread, n=n, clusters=g)


def _effect(fit: ClusterFit, j: int, level: float) -> Effect:
    est = float(fit.coef[j])
    se = float(math.sqrt(fit.cov[j, j])) if np.isfinite(fit.cov[j, j]) and fit.cov[j, j] >= 0 else math.nan
    df = fit.clusters - 1
    if df < 1 or not np.isfinite(se):
        return Effect(est, math.nan, math.nan, math.nan, math.nan, max(df, 0), fit.clusters)
    if se == 0.0:
        return Effect(est, 0.0, est, est, 1.0 if est == 0.0 else 0.0, df, fit.clusters)
    t_crit = float(special.stdtrit(df, 0.5 + level / 2))
    p = float(2.0 * special.stdtr(df, -abs(est) / se))
    return Effect(est, se, est - t_crit * se, est + t_crit * se, p, df, fit.clusters)


def did(
    y: ArrayLike,
    w: ArrayLike,
    cluster: ArrayLike,
    treated: ArrayLike,
    post: ArrayLike,
    *,
    level: float = 0.95,
) -> Effect:
    """(pilot after − pilot before) − (control after − control before), clustered by unit."""
    y, w = _arr(y), _arr(w)
    t, p = _arr(treated, bool).astype(float), _arr(post, bool).astype(float)
    X = np.column_stack([np.ones_like(y), t, p, t * p])
    return _effect(cluster_ols(y, X, w, cluster), 3, level)


def before_after(
    y: ArrayLike, w: ArrayLike, cluster: ArrayLike, post: ArrayLike, *, level: float = 0.95
) -> Effect:
    """after − before in one group of units, clustered by unit."""
    y, w = _arr(y), _arr(w)
    p = _arr(post, bool).astype(float)
    X = np.column_stack([np.ones_like(y), p])
    return _effect(cluster_ols(y, X, w, cluster), 1, level)


def cell_means(y: ArrayLike, w: ArrayLike, cluster: ArrayLike, post: ArrayLike) -> CellMeans:
    """Mean before and after (respondent-weighted) and the respondent counts of one group."""
    y, w = _arr(y), _arr(w)
    p = _arr(post, bool)

    def mean(mask: np.ndarray) -> tuple[float | None, int]:
        n = float(w[mask].sum())
        return (float(np.dot(y[mask], w[mask]) / n) if n else None), round(n)

    b, nb = mean(~p)
    a, na = mean(p)
    return CellMeans(b, a, nb, na, int(np.unique(np.asarray(cluster).ravel()).size))


def monthly_series(
    y: ArrayLike, w: ArrayLike, month: ArrayLike, treated: ArrayLike | None = None
) -> list[tuple[float, str, float, int]]:
    """(month, group, mean, n) per month and group ("pilot"/"control", or "units" without a treated flag)."""
    y, w, mo = _arr(y), _arr(w), _arr(month)
    grp = np.full(y.size, "units") if treated is None else np.where(_arr(treated, bool), "pilot", "control")
    out = []
    for m in np.unique(mo):
        for g in ("pilot", "control", "units"):
            mask = (mo == m) & (grp == g)
            n = float(w[mask].sum())
            if n:
                out.append((float(m), g, float(np.dot(y[mask], w[mask]) / n), round(n)))
    return out


def verdict(ci_low: float | None, ci_high: float | None, higher_is_better: bool = True) -> str:
    """improved / worse when the whole interval is on one side of zero; otherwise no evidence."""
    if ci_low is None or ci_high is None or not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "no evidence of change"
    if ci_low > 0:
        return "improved" if higher_is_better else "worse"
    if ci_high < 0:
        return "worse" if higher_is_better else "improved"
    return "no evidence of change"
