"""Relative importance of predictors in a linear regression: pure functions, numpy in, dataclasses out.

* **Shapley / LMG** (Lindeman, Merenda & Gold; relaimpo's ``lmg``): each predictor's average gain in R²
  over all orders of entry. Exact for up to ``EXACT_LIMIT`` predictors: the R² of all 2^p subsets come
  from the correlation matrix alone by a bitmask sweep DP (`subset_r2`), so the rows are read once and
  no regression is refitted. ``first`` (r² alone) and ``last`` (R² lost when the predictor is removed)
  come from the same table.
* **Sampled Shapley** for more predictors: the same gains averaged over random orders of entry
  (antithetic pairs: each order and its reverse), with a standard error; it sums to R² exactly.
* **Johnson's relative weights** (raw weights summing to R², rescaled %, signs as R's ``rwa`` with
  ``applysigns = TRUE``: the sign of the coefficient on the orthogonalised predictors).
* **Percentile bootstrap intervals** for any of these (seeded; all replicates' correlation matrices
  from one product of resample counts, then every replicate's importances in one batched pass; rows
  that repeat are resampled as distinct rows with multiplicities, the same distribution).

The inputs are checked and reduced to a correlation matrix by `decide.regression.prepare`; the
bootstrap intervals live in `decide.bootstrap`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from cxchange.core.errors import InputError
from cxchange.decide.regression import (
    Prepared,
    as_prepared,
    chunks,
    r_squared,
    standardized_beta,
)

EXACT_LIMIT = 15  # 2^15 subsets take ~10 ms; each further predictor doubles time and memory
METHODS = ("shapley", "relative-weights")
Method = Literal["shapley", "relative-weights"]


@dataclass(frozen=True)
class Decomposition:
    """What every decomposition of R² carries: the predictors, the complete rows, R² and the
    standardized regression coefficients (not rwa's orthogonal-proxy coefficients)."""

    names: tuple[str, ...]
    n: int
    r2: float
    beta: np.ndarray


@dataclass(frozen=True)
class Shapley(Decomposition):
    """Exact LMG decomposition of R²: `lmg` sums to `r2`; `first` and `last` as in relaimpo."""

    lmg: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @property
    def shares(self) -> np.ndarray:
        """LMG as fractions of R² (relaimpo's ``rela = TRUE``)."""
        return self.lmg / self.r2


@dataclass(frozen=True)
class SampledShapley(Decomposition):
    """Shapley values estimated from `n_perm` random orders of entry; `se` is their standard error."""

    values: np.ndarray
    se: np.ndarray
    n_perm: int


@dataclass(frozen=True)
class RelativeWeights(Decomposition):
    """Johnson's relative weights: `raw` sums to `r2`, `rescaled` to 100; `signs` as rwa's ``Sign``."""

    raw: np.ndarray
    rescaled: np.ndarray
    signs: tuple[str, ...]


# --------------------------------------------------------------------------------------------------
# Exact Shapley: R² of every subset by a sweep over subsets


def subset_r2(corr: np.ndarray) -> np.ndarray:
    """R² of the target (last variable) on every subset of the predictors, indexed by bitmask.

    `corr` is (..., q, q) with q = p + 1; the result is (..., 2^p), entry `mask` being the R² on the
    predictors whose bits are set. Bitmask DP by doubling: after step h the stack holds, for each of
    the 2^h subsets of predictors 0..h-1 (in mask order), the residual covariance of predictors
    h..p-1 and the target given that subset (a Schur complement). Step h keeps each matrix without
    predictor h (subsets that leave h out) and appends its sweep on h, a rank-one update (subsets
    that take h in): the new masks are the old ones plus 2^h, so mask order is kept for free. Work is
    about 6·2^p·(batch) flops, every step a vectorised slice, and rows are never revisited.
    """
    corr = np.asarray(corr, dtype=float)
    q = corr.shape[-1]
    batch = corr.shape[:-2]
    state = corr.reshape(-1, 1, q, q)
    for _ in range(q - 1):
        rest = state[..., 1:, 1:]
        col = state[..., 1:, :1]
        swept = rest - col * (np.swapaxes(col, -1, -2) / state[..., :1, :1])
        state = np.concatenate([rest, swept], axis=1)
    # What remains is the target's residual variance; its total variance is 1 in a correlation matrix.
    return (1.0 - state[..., 0, 0]).reshape(*batch, 1 << (q - 1))


@lru_cache(maxsize=16)
def _shapley_weights(p: int) -> tuple[np.ndarray, ...]:
    """For each predictor j, the Shapley weight |S|!(p-|S|-1)!/p! of every S without j, shaped to match
    `r2.reshape(..., 2^(p-j-1), 2, 2^j)[..., :, 0, :]` (the masks whose bit j is clear)."""
    masks = np.arange(1 << p)
    size = np.zeros(masks.size, dtype=np.int64)
    for b in range(p):
        size += (masks >> b) & 1
    weight = np.array([math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)])
    out = []
    for j in range(p):
        without = size.reshape(1 << (p - j - 1), 2, 1 << j)[:, 0, :]
        out.append(weight[without])
    return tuple(out)


def lmg_from_r2(r2: np.ndarray, p: int) -> np.ndarray:
    """Shapley values from the subset-R² table (..., 2^p) → (..., p)."""
    weights = _shapley_weights(p)
    out = np.empty((*r2.shape[:-1], p))
    for j in range(p):
        # Viewing masks as (high bits, bit j, low bits) pairs every S without j with S ∪ {j}.
        pairs = r2.reshape(*r2.shape[:-1], 1 << (p - j - 1), 2, 1 << j)
        gain = pairs[..., :, 1, :] - pairs[..., :, 0, :]
        out[..., j] = (gain * weights[j]).sum(axis=(-2, -1))
    return out


def _check_exact(p: int, limit: int) -> None:
    if p > limit:
        raise InputError(
            f"exact Shapley is limited to {limit} predictors (it evaluates 2^p subsets), got {p}; "
            "use the sampled Shapley estimate"
        )


def shapley(
    x: ArrayLike | Prepared,
    y: ArrayLike | None = None,
    *,
    names: list[str] | tuple[str, ...] | None = None,
    target: str = "y",
    exact_limit: int = EXACT_LIMIT,
) -> Shapley:
    """Exact LMG / Shapley decomposition of R² (relaimpo ``calc.relimp(type = c("lmg","first","last"))``)."""
    data = as_prepared(x, y, names, target)
    _check_exact(data.p, exact_limit)
    table = subset_r2(data.corr)
    full = (1 << data.p) - 1
    bits = 1 << np.arange(data.p)
    return Shapley(
        names=data.names,
        n=data.n,
        r2=float(table[full]),
        lmg=lmg_from_r2(table, data.p),
        first=table[bits],
        last=table[full] - table[full ^ bits],
        beta=standardized_beta(data.corr),
    )


# --------------------------------------------------------------------------------------------------
# Sampled Shapley: random orders of entry


def permutations(p: int, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """`n_perm` orders (rounded up to even): random ones and their reverses (antithetic pairs)."""
    half = max(1, (n_perm + 1) // 2)
    forward = rng.permuted(np.tile(np.arange(p), (half, 1)), axis=1)
    return np.concatenate([forward, forward[:, ::-1]])


def _order_gains(corr: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """R² gain of each predictor when it enters, for every (matrix, order): (B, q, q), (M, p) → (B, M, p).

    With the predictors reordered by entry (target last), the Cholesky factor's last row holds the
    target's partial correlations in entry order: each squared entry is the R² gained at that step.
    """
    b = corr.shape[0]
    m, p = perms.shape
    order = np.concatenate([perms, np.full((m, 1), p)], axis=1)
    reordered = corr[:, order[:, :, None], order[:, None, :]]  # (B, M, q, q)
    steps = np.linalg.cholesky(reordered)[..., -1, :p] ** 2
    gains = np.empty((b, m, p))
    np.put_along_axis(gains, np.broadcast_to(perms, (b, m, p)), steps, axis=2)
    return gains


def _sampled_values(corr: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Mean gain per predictor over the orders, for a stack of matrices (B, q, q) → (B, p)."""
    q = corr.shape[-1]
    m = perms.shape[0]
    out = np.zeros((corr.shape[0], q - 1))
    for mats in chunks(corr.shape[0], 3 * m * q * q * 8):
        out[mats] = _order_gains(corr[mats], perms).mean(axis=1)
    return out


def sampled_shapley(
    x: ArrayLike | Prepared,
    y: ArrayLike | None = None,
    *,
    names: list[str] | tuple[str, ...] | None = None,
    target: str = "y",
    n_perm: int = 2000,
    seed: int = 0,
) -> SampledShapley:
    """Shapley values from random orders of entry (seeded); every order's gains sum to R² exactly."""
    data = as_prepared(x, y, names, target)
    if n_perm < 2:
        raise InputError(f"n_perm must be at least 2, got {n_perm}")
    perms = permutations(data.p, n_perm, np.random.default_rng(seed))
    half = perms.shape[0] // 2
    pair_means = np.zeros((half, data.p))
    for rows in chunks(half, 6 * data.corr.shape[0] ** 2 * 8):  # two reordered matrices and factors
        fwd = _order_gains(data.corr[None], perms[rows])[0]
        rev = _order_gains(data.corr[None], perms[half:][rows])[0]
        pair_means[rows] = (fwd + rev) / 2
    # Pairs are independent, the two halves of a pair are not: the standard error uses pair means.
    se = pair_means.std(axis=0, ddof=1) / math.sqrt(half) if half > 1 else np.full(data.p, np.nan)
    return SampledShapley(
        names=data.names,
        n=data.n,
        r2=float(r_squared(data.corr)),
        values=pair_means.mean(axis=0),
        se=se,
        n_perm=int(perms.shape[0]),
        beta=standardized_beta(data.corr),
    )


# --------------------------------------------------------------------------------------------------
# Johnson's relative weights


def relative_weights_from_corr(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R², raw weights, coefficients on the orthogonal proxies), batched over leading axes.

    Rxx = V diag(λ) Vᵀ; Λ = V diag(√λ) Vᵀ maps the orthogonal proxies Z to X; β = Λ⁻¹ rxy are the
    coefficients of y on Z, and the raw weight of x_j is Σ_k Λ_jk² β_k² (Johnson 2000; rwa).
    """
    rxx, rxy = corr[..., :-1, :-1], corr[..., :-1, -1]
    evals, evecs = np.linalg.eigh(rxx)
    root = np.sqrt(np.clip(evals, 0.0, None))
    lam = (evecs * root[..., None, :]) @ np.swapaxes(evecs, -1, -2)
    proj = np.einsum("...ji,...j->...i", evecs, rxy)
    beta = np.einsum("...ij,...j->...i", evecs, proj / root)
    raw = np.einsum("...ij,...j->...i", lam**2, beta**2)
    return (beta**2).sum(axis=-1), raw, beta


def _sign(value: float) -> str:
    return "+" if value > 0 else "-" if value < 0 else "0"


def relative_weights(
    x: ArrayLike | Prepared,
    y: ArrayLike | None = None,
    *,
    names: list[str] | tuple[str, ...] | None = None,
    target: str = "y",
) -> RelativeWeights:
    """Johnson's relative weights as R's ``rwa(df, outcome, predictors, applysigns = TRUE)``.

    rwa uses pairwise-complete correlations; here rows are deleted listwise, so the two agree
    whenever nothing is missing.
    """
    data = as_prepared(x, y, names, target)
    r2, raw, beta_z = relative_weights_from_corr(data.corr)
    return RelativeWeights(
        names=data.names,
        n=data.n,
        r2=float(r2),
        raw=raw,
        rescaled=raw / r2 * 100.0,
        signs=tuple(_sign(b) for b in beta_z),
        beta=standardized_beta(data.corr),
    )


# --------------------------------------------------------------------------------------------------
# Any method over a stack of correlation matrices (the bootstrap replicates)


def importance_from_corr(
    corr: np.ndarray,
    method: Method = "shapley",
    *,
    perms: np.ndarray | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> np.ndarray:
    """The importances `driver_table` reports, for a stack of correlation matrices (B, q, q) → (B, p).

    shapley: exact LMG up to `exact_limit` predictors, otherwise the mean over `perms`;
    relative-weights: raw weights.
    """
    q = corr.shape[-1]
    p = q - 1
    out = np.empty((corr.shape[0], p))
    if method == "relative-weights":
        out[:] = relative_weights_from_corr(corr)[1]
        return out
    if method != "shapley":
        raise InputError(f"unknown method {method!r}; use {' or '.join(METHODS)}")
    if p > exact_limit:
        if perms is None:
            raise InputError(f"{p} predictors need sampled Shapley: pass the orders of entry")
        return _sampled_values(corr, perms)
    # Per matrix the doubling sweep peaks at a few times 2^p floats (subset table and its last steps).
    for rows in chunks(corr.shape[0], 12 * (1 << p) * 8):
        out[rows] = lmg_from_r2(subset_r2(corr[rows]), p)
    return out
