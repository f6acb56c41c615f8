"""Percentile bootstrap intervals of relative importances (seeded; pure functions).

All replicates' correlation matrices come from one product of resample counts, then every replicate's
importances in one batched pass (`importance_from_corr`); rows that repeat are resampled as distinct
rows with multiplicities, the same distribution; whole clusters (stores) can be resampled instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from cxchange.core.errors import InputError
from cxchange.decide.importance import EXACT_LIMIT, METHODS, Method, importance_from_corr, permutations
from cxchange.decide.regression import BATCH_BYTES, COLLINEAR_TOL, Prepared, as_prepared, one_blas_thread

# The bootstrap resamples distinct rows with their multiplicities (same distribution) when there are at
# least this many rows and the distinct ones are at most this share of them.
MIN_ROWS_TO_GROUP = 1000
GROUPED_SHARE = 0.5
MIN_CLUSTERS = 10  # fewer stores than this: a store bootstrap is itself unreliable


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile intervals per predictor, from `n_valid` of `n_boot` replicates.

    A replicate in which a predictor is constant or the predictors are collinear (a rare 0/1 theme
    can vanish from a resample) has no importances and is left out; `n_valid` says how many remained.
    """

    low: np.ndarray
    high: np.ndarray
    level: float
    n_boot: int
    n_valid: int
    samples: np.ndarray = field(repr=False)


def _replicate_cross(centred: np.ndarray, counts: np.ndarray, total: int | None = None) -> np.ndarray:
    """Σ c_i z_i z_iᵀ - (Σ c_i z_i)(Σ c_i z_i)ᵀ / n for each row of resample counts c: (B, n) → (B, q, q).
    ``total``: n, the rows each resample draws, when ``centred`` holds distinct rows (default: its length).

    Resampling as multiplicities turns all replicates into one matrix product, counts (B x n) times the
    rows' pairwise products (n x q(q+1)/2 + q), built a block of rows at a time: measured 2.6x faster
    than gathering each resample's rows and multiplying them, and no resample is ever materialised.
    """
    drawn = total
    n, q = centred.shape
    upper = np.triu_indices(q)
    m = upper[0].size
    acc = np.zeros((counts.shape[0], m + q))
    # Rows per block: the block's products and its float copy of the counts each stay under 1/4 budget.
    block = max(256, BATCH_BYTES // 4 // (8 * max(m + q, counts.shape[0])))
    with one_blas_thread():
        for start in range(0, n, block):
            z = centred[start : start + block]
            products = np.empty((z.shape[0], m + q))
            np.multiply(z[:, upper[0]], z[:, upper[1]], out=products[:, :m])
            products[:, m:] = z
            acc += counts[:, start : start + block].astype(np.float64) @ products
    out = np.empty((counts.shape[0], q, q))
    out[:, upper[0], upper[1]] = acc[:, :m]
    out[:, upper[1], upper[0]] = acc[:, :m]
    sums = acc[:, m:]
    size = np.asarray(n if drawn is None else drawn, dtype=float).reshape(-1, 1, 1)  # one, or one a replicate
    out -= sums[:, :, None] * sums[:, None, :] / size
    return out


def _distinct_rows(centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows (sorted, so the result does not depend on row order) and how often each occurs."""
    names = [f"c{j}" for j in range(centred.shape[1])]
    grouped = pl.DataFrame(centred, schema=names).group_by(names).len().sort(names)
    return grouped.select(names).to_numpy(), grouped["len"].to_numpy()


def _replicate_corrs(
    data: Prepared, n_boot: int, rng: np.random.Generator, clusters: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Correlation matrices of `n_boot` resamples of the rows (B, q, q) and which are usable (B,).

    Rows that repeat (0/1 theme flags and a 0–10 score: a million respondents fall into a few thousand
    distinct rows) are resampled as a multinomial draw over the distinct rows, weighted by how often
    each occurs: the same distribution as drawing n rows with replacement, at a cost that grows with
    the distinct rows, not with n."""
    centred = np.column_stack([data.x, data.y])
    centred -= centred.mean(axis=0)  # centring first keeps the one-pass formula accurate
    n, q = centred.shape
    full_ss = (centred**2).sum(axis=0)
    out = np.empty((n_boot, q, q))
    distinct, weight = _distinct_rows(centred) if n >= MIN_ROWS_TO_GROUP else (centred, None)
    if clusters is not None:
        # Whole stores resampled: each row weighs as often as its store is drawn (stores' answers are
        # not independent); the resample's size varies with the stores drawn.
        _, k = np.unique(clusters, return_inverse=True)
        k = k.ravel()
        n_k = int(k.max()) + 1
        per_chunk = max(1, BATCH_BYTES // (8 * n))
        for first in range(0, n_boot, per_chunk):
            last = min(n_boot, first + per_chunk)
            taken = rng.multinomial(n_k, np.full(n_k, 1.0 / n_k), size=last - first)
            counts = taken[:, k]
            out[first:last] = _replicate_cross(centred, counts, total=counts.sum(axis=1))
    elif weight is not None and distinct.shape[0] <= n * GROUPED_SHARE:
        per_chunk = max(1, BATCH_BYTES // (8 * distinct.shape[0]))
        for first in range(0, n_boot, per_chunk):
            last = min(n_boot, first + per_chunk)
            counts = rng.multinomial(n, weight / n, size=last - first)
            out[first:last] = _replicate_cross(distinct, counts, total=n)
    else:
        # Counts as uint16 (a row drawn 65,536 times in one resample is beyond any real chance), a chunk
        # of replicates at a time so the counts stay within the batch budget.
        per_chunk = max(1, BATCH_BYTES // (2 * n))
        for first in range(0, n_boot, per_chunk):
            last = min(n_boot, first + per_chunk)
            counts = np.empty((last - first, n), dtype=np.uint16)
            for b in range(last - first):
                counts[b] = np.bincount(rng.integers(0, n, size=n), minlength=n)
            out[first:last] = _replicate_cross(centred, counts)
    ss = np.diagonal(out, axis1=1, axis2=2).copy()
    # A column constant in a resample has ~0 spread (rounding leaves ~1e-16 of the full one).
    ok = (ss > 1e-10 * full_ss).all(axis=1)
    scale = np.sqrt(np.where(ok[:, None], ss, 1.0))
    out /= scale[:, :, None] * scale[:, None, :]
    out = (out + np.swapaxes(out, 1, 2)) / 2
    out[:, np.arange(q), np.arange(q)] = 1.0
    if ok.any():
        smallest = np.full(n_boot, -1.0)
        smallest[ok] = np.linalg.eigvalsh(out[ok][:, :-1, :-1])[:, 0]
        ok &= smallest > COLLINEAR_TOL
    out[~ok] = np.eye(q)  # placeholders, dropped by the caller; keeps the batched algebra finite
    return out, ok


def bootstrap(
    x: ArrayLike | Prepared,
    y: ArrayLike | None = None,
    *,
    method: Method = "shapley",
    names: list[str] | tuple[str, ...] | None = None,
    target: str = "y",
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    n_perm: int = 200,
    exact_limit: int = EXACT_LIMIT,
    clusters: np.ndarray | None = None,
) -> BootstrapCI:
    """Percentile bootstrap intervals of each predictor's importance (rows resampled with replacement;
    whole clusters, e.g. stores, when `clusters` labels each complete row and there are at least
    `MIN_CLUSTERS` of them).

    For more than `exact_limit` predictors each replicate uses sampled Shapley with the same `n_perm`
    orders of entry (common random numbers, so replicates differ by the data, not by the orders).
    """
    data = as_prepared(x, y, names, target)
    if n_boot < 1:
        raise InputError(f"n_boot must be at least 1, got {n_boot}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use {' or '.join(METHODS)}")
    # Separate streams for rows and orders: the same seed resamples the same rows whatever the method.
    rows_seed, orders_seed = np.random.SeedSequence(seed).spawn(2)
    sampled = method == "shapley" and data.p > exact_limit
    perms = permutations(data.p, n_perm, np.random.default_rng(orders_seed)) if sampled else None
    if clusters is not None:
        clusters = np.asarray(clusters)
        if clusters.shape[0] != data.n:
            raise InputError(f"one cluster label per complete row: {clusters.shape[0]} labels, {data.n} rows")
        if np.unique(clusters).size < MIN_CLUSTERS:
            clusters = None
    corrs, ok = _replicate_corrs(data, n_boot, np.random.default_rng(rows_seed), clusters)
    samples = np.full((n_boot, data.p), np.nan)
    low = high = np.full(data.p, np.nan)
    if ok.any():
        samples[ok] = importance_from_corr(corrs[ok], method, perms=perms, exact_limit=exact_limit)
        alpha = (1 - level) / 2
        low, high = np.quantile(samples[ok], [alpha, 1 - alpha], axis=0)
    return BootstrapCI(low=low, high=high, level=level, n_boot=n_boot, n_valid=int(ok.sum()), samples=samples)
