"""Is the randomization test's size what it says when its assignments are drawn? (issue 17, TUNING seeds)

With more than `panel.MAX_ENUMERATED` possible assignments, `panel.randomization` compares the estimate
with `panel.DRAWS` assignments drawn with one fixed seed (`panel.SEED`), so every surface shows the same
p-value for the same data. The no-effect designs of the held-out study called p <= 0.05 a little more
often than 5 % (10 vs 10 stores: 7.5 % with seed 2027, 8.0 % with 4242). This script measures, on no-effect
worlds of 8 vs 8 stores (12,870 assignments: few enough to enumerate), the share p <= 0.05 and the
share of intervals covering zero for: every assignment enumerated (the exact test), the fixed draws in
use, and draws with a different seed in every world. Tuning seeds only; mean ± sd over them.

Run: `.venv/bin/python eval/outcomes_draws.py [--worlds N]` (writes eval/results/outcomes_draws_tuning.json
and .md). Seed s draws its worlds from the stream [s, 700].
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # many small matrices: threads only contend
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from cxchange.sustain import panel
from cxchange.sustain.worlds import World, generate

TUNING_SEEDS = (101, 202, 303)
RESULTS = Path(__file__).parent / "results"
VARIANTS = ("exact (all 12,870 assignments)", "999 fixed draws (in use)", "999 draws, a new seed per world")


def simulate(seed: int, worlds: int) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng([seed, 700])
    hits = {v: [0, 0] for v in VARIANTS}  # p <= 0.05, interval covers 0
    for i in range(worlds):
        cells, _ = generate(World(), rng, pilot="stores", pilot_count=8, control_count=8)
        for v in VARIANTS:
            if v.startswith("exact"):
                panel.MAX_ENUMERATED = 20_000
                r = panel.randomization(cells)
                panel.MAX_ENUMERATED = 5000
            elif "fixed" in v:
                r = panel.randomization(cells)
            else:
                r = panel.randomization(cells, seed=seed * 100_000 + i)
            hits[v][0] += r.p_value <= 0.05
            hits[v][1] += r.ci_low is not None and r.ci_high is not None and r.ci_low <= 0 <= r.ci_high
    return {v: {"p_below_005": k[0] / worlds, "coverage": k[1] / worlds} for v, k in hits.items()}


def _run(args: tuple[int, int]) -> dict[str, dict[str, float]]:
    return simulate(*args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=200, help="no-effect worlds per tuning seed")
    ap.add_argument("--out", default=str(RESULTS / "outcomes_draws_tuning.json"))
    args = ap.parse_args()
    load = os.getloadavg()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=len(TUNING_SEEDS)) as pool:
        runs = list(pool.map(_run, [(s, args.worlds) for s in TUNING_SEEDS]))

    def ms(key: str, v: str) -> dict[str, float]:
        vals = [r[v][key] for r in runs]
        return {"mean": round(float(np.mean(vals)), 4), "sd": round(float(np.std(vals, ddof=1)), 4)}

    summary: dict[str, Any] = {
        "seeds": list(TUNING_SEEDS),
        "worlds_per_seed": args.worlds,
        "variants": {v: {k: ms(k, v) for k in ("p_below_005", "coverage")} for v in VARIANTS},
        "runs": runs,
        "seconds": round(time.perf_counter() - t0, 1),
        "load_average": {"start": [round(x, 2) for x in load], "end": [round(x, 2) for x in os.getloadavg()]},
    }
    command = ".venv/bin/python eval/outcomes_draws.py" + (
        f" --worlds {args.worlds}" if args.worlds != 200 else ""
    )
    lines = [
        "# Randomization test with drawn assignments: size on no-effect worlds, 8 vs 8 stores (TUNING seeds)",
        "",
        f"Command: `{command}`; {summary['seconds']} s, load average {load[0]:.2f} at the start, "
        f"{summary['load_average']['end'][0]} at the end. Seeds {list(TUNING_SEEDS)}, "
        f"{args.worlds} worlds each; mean ± sd over the seeds (one binomial standard error per seed "
        f"~{100 * (0.05 * 0.95 / args.worlds) ** 0.5:.1f} points). Written by the script.",
        "",
        "| assignments | p <= 0.05 | 95 % interval covers 0 |",
        "|---|---:|---:|",
    ]
    for v, row in summary["variants"].items():
        cells = [
            f"{100 * row[k]['mean']:.1f} % ± {100 * row[k]['sd']:.1f}" for k in ("p_below_005", "coverage")
        ]
        lines.append(f"| {v} | {cells[0]} | {cells[1]} |")
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
