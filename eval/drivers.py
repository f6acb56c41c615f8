"""Key-driver evaluation on real reviews: what drives Skytrax seat reviews' overall rating and recommendation?

    python eval/drivers.py [--data DIR] [--boot 1000] [--seed 0]

Data: ``skytrax_seat_reviews.csv`` (1,258 seat reviews, 97 airlines; CC0) from ../shared/eval beside
the checkout (or --data / CXCHANGE_EVAL_DATA). Targets: ``overall_rating`` (1–10) and ``recommended``
(0/1, a linear probability model, as driver analyses on survey data usually do). Predictors: the
legroom, recline, width, aisle-space (1–5) and seat-back TV (0–5) sub-ratings.

For each target: Shapley / LMG and relative-weight driver tables with --boot percentile intervals and
importance–performance quadrants; and two checks that need no other package — the LMG values
recomputed by refitting all 2^5 least-squares regressions on the rows (definition, not the correlation
DP), and the rank agreement of the two methods. Prints the tables, writes eval/results/drivers.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cxchange.decide.drivers import driver_table, quadrant, read_table

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path(os.environ.get("CXCHANGE_EVAL_DATA", HERE.parents[1] / "shared" / "eval"))
PREDICTORS = [
    "seat_legroom_rating",
    "seat_recline_rating",
    "seat_width_rating",
    "aisle_space_rating",
    "viewing_tv_rating",
]
TARGETS = ["overall_rating", "recommended"]


def lmg_by_refitting(frame: pl.DataFrame, target: str, predictors: list[str]) -> np.ndarray:
    """LMG straight from its definition: R² of every subset by least squares on the rows, weighted."""
    rows = frame.select(target, *predictors).drop_nulls()
    y = rows[target].to_numpy().astype(float)
    x = rows.select(predictors).to_numpy().astype(float)
    p = len(predictors)
    tss = ((y - y.mean()) ** 2).sum()
    r2: dict[frozenset[int], float] = {}
    for k in range(p + 1):
        for subset in itertools.combinations(range(p), k):
            design = np.column_stack([np.ones(len(y)), x[:, list(subset)]])
            resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
            r2[frozenset(subset)] = 1 - resid @ resid / tss
    out = np.zeros(p)
    for j in range(p):
        for s, value in r2.items():
            if j not in s:
                weight = math.factorial(len(s)) * math.factorial(p - len(s) - 1) / math.factorial(p)
                out[j] += weight * (r2[s | {j}] - value)
    return out


def spearman(a: list[float], b: list[float]) -> float:
    ra = np.argsort(np.argsort(a))
    rb = np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def show(table: dict[str, Any], quads: dict[str, str], level: float) -> None:
    print(
        f"\n{table['target']} — {table['method']}: n = {table['n']}, R² = {table['r2']:.4f} "
        f"({level:.0%} percentile intervals)"
    )
    print(f"  {'driver':<22}{'importance':>11}{'share %':>9}{'interval':>20}  dir  {'perf.':>6}  quadrant")
    for d in table["drivers"]:
        ci = f"{d['ci_low']:.4f}–{d['ci_high']:.4f}"
        print(
            f"  {d['driver']:<22}{d['importance']:>11.4f}{d['share_pct']:>9.1f}{ci:>20}  "
            f" {d['direction']}   {d['performance']:>6.3f}  {quads[d['driver']]}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "drivers.json")
    args = ap.parse_args()
    path = args.data / "skytrax_seat_reviews.csv"
    frame = read_table(path)  # the same reader as `cxchange drivers --file`
    print(f"{path}: {frame.height} reviews")
    results: dict[str, Any] = {
        "data": path.name,
        "rows": frame.height,
        "predictors": PREDICTORS,
        "n_boot": args.boot,
        "seed": args.seed,
        "level": 0.95,
        "tables": [],
        "checks": [],
    }
    for target in TARGETS:
        tables = {}
        for method in ("shapley", "relative-weights"):
            start = time.perf_counter()
            table = driver_table(frame, target, PREDICTORS, method=method, n_boot=args.boot, seed=args.seed)
            seconds = time.perf_counter() - start
            quads = {q["driver"]: q["quadrant"] for q in quadrant(table)}
            show(table, quads, 0.95)
            print(f"  ({seconds:.2f} s including {args.boot} bootstrap resamples)")
            for d in table["drivers"]:
                d["quadrant"] = quads[d["driver"]]
            results["tables"].append({**table, "seconds": round(seconds, 3)})
            tables[method] = {d["driver"]: d["importance"] for d in table["drivers"]}
        refit = lmg_by_refitting(frame, target, PREDICTORS)
        diff = max(abs(tables["shapley"][name] - refit[j]) for j, name in enumerate(PREDICTORS))
        rho = spearman(
            [tables["shapley"][n] for n in PREDICTORS], [tables["relative-weights"][n] for n in PREDICTORS]
        )
        print(
            f"  check: LMG from the correlation DP vs refitting all 32 regressions: max |Δ| = {diff:.1e}; "
            f"Spearman rank correlation of Shapley and relative weights = {rho:.2f}"
        )
        results["checks"].append(
            {"target": target, "max_abs_diff_lmg_vs_refit": diff, "spearman_shapley_vs_relative_weights": rho}
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
