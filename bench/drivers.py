"""Key-driver benchmark: exact Shapley (LMG) for 12 predictors over 100,000 rows, sampled Shapley for 25.

    python bench/drivers.py [--rows 100000] [--predictors 12] [--boot 200] [--wide 25] [--orders 2000]

Data: survey-like rows (1–5 sub-ratings sharing a halo factor, 0/1 theme flags, a 0–10 target).
Timed, best and median of --repeat runs:

* exact Shapley from the rows: correlation matrix + all 2^p subset R² + LMG, with and without
  --boot percentile-bootstrap intervals, and the whole `driver_table` from a polars frame;
* what the correlation-matrix DP replaces: refitting a least-squares regression on the rows for every
  subset (timed on 32 subsets, extrapolated to 2^p), and solving each subset's correlation submatrix
  in a Python loop (all subsets) — both checked to give the same R² table;
* sampled Shapley for --wide predictors (--orders orders of entry), its largest standard error, and
  its error against the exact values where exact is still possible (the first 15 predictors).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from cxchange.decide.bootstrap import bootstrap
from cxchange.decide.drivers import driver_table
from cxchange.decide.importance import sampled_shapley, shapley, subset_r2
from cxchange.decide.regression import prepare


def survey(rows: int, predictors: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Two thirds 1–5 ratings with a shared halo, one third 0/1 theme flags; target 0–10."""
    rng = np.random.default_rng(seed)
    halo = rng.normal(size=(rows, 1))
    n_flags = predictors // 3
    ratings = np.clip(np.round(3 + 0.8 * halo + rng.normal(size=(rows, predictors - n_flags))), 1, 5)
    flags = (rng.random((rows, n_flags)) < rng.uniform(0.05, 0.4, n_flags)).astype(float)
    x = np.column_stack([ratings, flags])
    weights = np.concatenate([rng.uniform(0.1, 0.8, predictors - n_flags), -rng.uniform(0.5, 2.0, n_flags)])
    y = np.clip(np.round(x @ weights - (x @ weights).mean() + 7 + rng.normal(scale=1.5, size=rows)), 0, 10)
    return x, y


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), out


def line(label: str, best: float, median: float, note: str = "") -> None:
    print(f"  {label:<58} best {best * 1000:9.1f} ms   median {median * 1000:9.1f} ms  {note}")


def refit_r2(x: np.ndarray, y: np.ndarray, mask: int) -> float:
    cols = [j for j in range(x.shape[1]) if mask >> j & 1]
    design = np.column_stack([np.ones(len(y)), x[:, cols]])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return float(1 - resid @ resid / ((y - y.mean()) ** 2).sum())


def submatrix_r2(corr: np.ndarray) -> np.ndarray:
    p = corr.shape[0] - 1
    out = np.zeros(1 << p)
    for mask in range(1, 1 << p):
        cols = [j for j in range(p) if mask >> j & 1]
        rxy = corr[cols, -1]
        out[mask] = rxy @ np.linalg.solve(corr[np.ix_(cols, cols)], rxy)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--predictors", type=int, default=12)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--wide", type=int, default=25)
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    p, n = args.predictors, args.rows
    x, y = survey(n, p)
    names = [f"x{j}" for j in range(p)]
    print(f"exact Shapley, {p} predictors x {n:,} rows ({1 << p:,} subsets)")

    best, med, result = timed(lambda: shapley(x, y, names=names), args.repeat)
    line("correlation matrix + subset R² + LMG (no bootstrap)", best, med, "target < 1 s")
    data = prepare(x, y, names=names)
    b2, m2, _ = timed(lambda: shapley(data), args.repeat)
    line("  of which subset R² + LMG from the correlation matrix", b2, m2)
    b3, m3, ci = timed(lambda: bootstrap(data, n_boot=args.boot, seed=0), max(1, args.repeat // 2))
    line(f"  + {args.boot} bootstrap resamples (intervals)", best + b3, med + m3, f"n_valid {ci.n_valid}")

    frame = pl.DataFrame({**{name: x[:, j] for j, name in enumerate(names)}, "y": y})
    b4, m4, _ = timed(lambda: driver_table(frame, "y", names, n_boot=args.boot), max(1, args.repeat // 2))
    line(f"driver_table from a polars frame, {args.boot} resamples", b4, m4)
    b5, m5, _ = timed(lambda: driver_table(frame, "y", names, n_boot=0), args.repeat)
    line("driver_table from a polars frame, no intervals", b5, m5)

    table_dp = subset_r2(data.corr)
    sample = np.random.default_rng(0).choice(np.arange(1, 1 << p), size=32, replace=False)
    start = time.perf_counter()
    refits = [refit_r2(x, y, int(m)) for m in sample]
    per_refit = (time.perf_counter() - start) / len(sample)
    worst_refit = max(abs(r - table_dp[m]) for r, m in zip(refits, sample, strict=True))
    print(
        f"  {'refitting every subset on the rows (32 timed, extrapolated)':<58} "
        f"~{per_refit * (1 << p):9.1f} s   ({per_refit * (1 << p) / med:,.0f}x the DP route); "
        f"max |ΔR²| {worst_refit:.1e}"
    )
    b6, m6, sub = timed(lambda: submatrix_r2(data.corr), 1)
    line(
        "solving each subset's correlation submatrix (Python loop)",
        b6,
        m6,
        f"max |ΔR²| {np.abs(sub - table_dp).max():.1e}",
    )

    top = sorted(zip(names, result.lmg, strict=True), key=lambda t: -t[1])[:5]
    print(f"  R² {result.r2:.4f}; top drivers " + ", ".join(f"{k} {v:.4f}" for k, v in top))

    w = args.wide
    xw, yw = survey(n, w, seed=2)
    print(f"\nsampled Shapley, {w} predictors x {n:,} rows, {args.orders} orders of entry (antithetic pairs)")
    dw = prepare(xw, yw)
    b7, m7, sw = timed(lambda: sampled_shapley(xw, yw, n_perm=args.orders), args.repeat)
    line("correlation matrix + sampled Shapley", b7, m7, f"max se {sw.se.max():.1e}")
    b8, m8, _ = timed(lambda: sampled_shapley(dw, n_perm=args.orders), args.repeat)
    line("  of which sampling from the correlation matrix", b8, m8)
    b9, m9, _ = timed(lambda: bootstrap(dw, n_boot=args.boot, n_perm=200, seed=0), 1)
    line(f"  {args.boot} bootstrap resamples x 200 orders", b9, m9)
    print(f"  sum of sampled values - R² = {sw.values.sum() - sw.r2:.1e}")
    # accuracy where the exact answer is affordable
    k = 15
    exact = shapley(xw[:, :k], yw)
    approx = sampled_shapley(xw[:, :k], yw, n_perm=args.orders)
    err = np.abs(approx.values - exact.lmg)
    z = err / approx.se
    print(
        f"  accuracy check on the first {k} predictors (exact R² {exact.r2:.3f}): "
        f"max |sampled - exact| {err.max():.1e}; "
        f"error / se: rms {np.sqrt((z**2).mean()):.2f}, max {z.max():.2f}"
    )
    simulator(n)


def simulator(n: int) -> None:
    """The NPS simulator: 1,000 draws over n respondents, two fixed themes (target < 5 s at 100k)."""
    from cxchange.decide.simulate import simulate_nps

    rng = np.random.default_rng(3)
    affected = rng.random((n, 2)) < [0.15, 0.08]
    scores = np.clip(np.rint(rng.normal(7.6, 1.9, n) - 3.0 * affected[:, 0] - 2.0 * affected[:, 1]), 0, 10)
    strata = rng.integers(0, 12, n)
    best, median, res = timed(lambda: simulate_nps(scores, strata, affected, [0.5, 0.3], draws=1000), 5)
    print(f"\nNPS simulator, 1,000 draws x {n:,} respondents, 2 themes, 12 strata")
    line(
        "  simulate_nps",
        best,
        median,
        f"delta {res.delta:+.2f} ({res.delta_ci_low:+.2f} to {res.delta_ci_high:+.2f})",
    )


if __name__ == "__main__":
    main()
