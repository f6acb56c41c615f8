"""The inputs of a linear regression checked and reduced to a correlation matrix: pure functions.

Missing values (NaN) are handled by **listwise deletion**: a row missing the target or any predictor
is dropped, and `Prepared.n_dropped` says how many were. Constant predictors, perfectly collinear
predictors, infinite values and too few complete rows raise `InputError` naming the culprits, never a
singular-matrix traceback. Every importance measure (`decide.importance`, `decide.bootstrap`) starts here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from cxchange.core.errors import InputError

# A predictor whose R² on the others exceeds 1 - this is treated as perfectly collinear (VIF > 1e10).
COLLINEAR_TOL = 1e-10
# Bound on the float64 working set of one batched pass (bootstrap replicates are processed in chunks).
BATCH_BYTES = 64 << 20


@dataclass(frozen=True)
class Prepared:
    """Complete rows and their correlation matrix (predictors first, the target last)."""

    names: tuple[str, ...]
    target: str
    n: int
    n_dropped: int
    corr: np.ndarray
    means: np.ndarray
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)

    @property
    def p(self) -> int:
        return len(self.names)


# --------------------------------------------------------------------------------------------------
# Input checks and the correlation matrix


def _names(names: list[str] | tuple[str, ...] | None, p: int) -> tuple[str, ...]:
    if names is None:
        return tuple(f"x{i + 1}" for i in range(p))
    if len(names) != p:
        raise InputError(f"{len(names)} predictor names for {p} predictor columns")
    return tuple(str(n) for n in names)


def _quoted(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in names)


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Run BLAS single-threaded: products of a tall, narrow matrix (100,000 x 13) gain little from
    threads, and OpenBLAS threads spin badly when cores are busy (measured here: 4.5 s instead of 5 ms
    for 100,000 x 26 on two loaded cores). threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object, bool | None] = threadpool_limits(
        limits=1, user_api="blas"
    )
    return limits


def correlation(data: np.ndarray) -> np.ndarray:
    """Pearson correlations of the columns (one BLAS product on centred data)."""
    centred = data - data.mean(axis=0)
    with one_blas_thread():
        cov = centred.T @ centred
    scale = np.sqrt(np.diag(cov))
    corr: np.ndarray = cov / np.outer(scale, scale)
    corr = (corr + corr.T) / 2  # exact symmetry for eigh and the sweep
    np.fill_diagonal(corr, 1.0)
    return corr


def _collinear_groups(rxx: np.ndarray, names: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(predictor, the earlier predictors it is a linear combination of) for each dependent one.

    Greedy Gaussian elimination in column order: a pivot ~0 is 1 - R² of that predictor on the
    earlier independent ones, so it is (numerically) an exact combination of them.
    """
    p = len(names)
    work = rxx.copy()
    kept: list[int] = []
    found: list[tuple[str, list[str]]] = []
    for j in range(p):
        if work[j, j] < COLLINEAR_TOL:
            coef = np.linalg.solve(rxx[np.ix_(kept, kept)], rxx[kept, j]) if kept else np.zeros(0)
            involved = [names[k] for k, c in zip(kept, coef, strict=True) if abs(c) > 1e-6]
            found.append((names[j], involved))
            continue
        col = work[:, j].copy()
        work -= np.outer(col, col) / col[j]
        kept.append(j)
    return found


def redundant_columns(x: np.ndarray, names: list[str] | tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(column, the earlier columns it is an exact linear combination of) for each redundant column of
    `x`, in column order: put the columns to keep first. Constant columns count as degenerate."""
    constant = [j for j in range(x.shape[1]) if x[:, j].min() == x[:, j].max()]
    varying = [j for j in range(x.shape[1]) if j not in constant]
    found: list[tuple[str, list[str]]] = [(names[j], []) for j in constant]
    if len(varying) > 1:
        corr = correlation(x[:, varying])
        found += _collinear_groups(corr, tuple(names[j] for j in varying))
    return found


def prepare(
    x: ArrayLike,
    y: ArrayLike,
    *,
    names: list[str] | tuple[str, ...] | None = None,
    target: str = "y",
) -> Prepared:
    """Check the inputs, drop incomplete rows (listwise) and compute the correlation matrix."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim == 1:
        xa = xa[:, None]
    if xa.ndim != 2 or ya.ndim != 1 or xa.shape[0] != ya.shape[0]:
        raise InputError(
            f"predictors must be an (n, p) array and the target n values; got {xa.shape}, {ya.shape}"
        )
    p = xa.shape[1]
    labels = _names(names, p)
    if p == 0:
        raise InputError("no predictors given")
    if len(set(labels)) != p:
        raise InputError(
            f"predictor names repeat: {_quoted(sorted({n for n in labels if labels.count(n) > 1}))}"
        )
    infinite = [labels[j] for j in range(p) if np.isinf(xa[:, j]).any()]
    if np.isinf(ya).any():
        infinite.insert(0, target)
    if infinite:
        raise InputError(f"infinite values in {_quoted(infinite)}")
    keep = ~np.isnan(ya) & ~np.isnan(xa).any(axis=1)
    n = int(keep.sum())
    if n < p + 2:  # p slopes, an intercept and at least one residual degree of freedom
        raise InputError(
            f"too few complete rows: {n} for {p} predictor(s), need at least {p + 2} "
            f"(rows missing the target or any predictor are dropped; {xa.shape[0] - n} were)"
        )
    xa, ya = xa[keep], ya[keep]
    if ya.min() == ya.max():
        raise InputError(f"the target {target!r} is constant ({ya[0]:g}) in every complete row")
    constant = [labels[j] for j in range(p) if xa[:, j].min() == xa[:, j].max()]
    if constant:
        raise InputError(
            f"constant predictor(s) {_quoted(constant)}: the same value in every complete row; drop them"
        )
    corr = correlation(np.column_stack([xa, ya]))
    groups = _collinear_groups(corr[:-1, :-1], labels)
    if groups:
        parts = [
            f"{name!r} is a linear combination of {_quoted(others)}" if others else f"{name!r} is degenerate"
            for name, others in groups
        ]
        raise InputError(f"perfectly collinear predictors: {'; '.join(parts)}; drop one of each group")
    return Prepared(labels, target, n, int(keep.size - n), corr, xa.mean(axis=0), xa, ya)


def as_prepared(
    x: ArrayLike | Prepared, y: ArrayLike | None, names: list[str] | tuple[str, ...] | None, target: str
) -> Prepared:
    if isinstance(x, Prepared):
        return x
    if y is None:
        raise InputError("a target is needed with raw predictor arrays")
    return prepare(x, y, names=names, target=target)


def standardized_beta(corr: np.ndarray) -> np.ndarray:
    """Standardized regression coefficients Rxx⁻¹ rxy (batched over leading axes)."""
    return np.linalg.solve(corr[..., :-1, :-1], corr[..., :-1, -1:])[..., 0]


def r_squared(corr: np.ndarray) -> np.ndarray | float:
    """R² of the full model, rxyᵀ Rxx⁻¹ rxy."""
    r2 = np.einsum("...i,...i->...", standardized_beta(corr), corr[..., :-1, -1])
    return float(r2) if np.ndim(r2) == 0 else r2


def chunks(total: int, per_item_bytes: int) -> list[slice]:
    """Slices of `total` items, each within the batch budget at `per_item_bytes` an item."""
    step = max(1, BATCH_BYTES // max(1, per_item_bytes))
    return [slice(i, min(total, i + step)) for i in range(0, total, step)]
