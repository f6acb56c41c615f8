"""Simulation study for `cxchange outcomes`: are its verdicts defensible?

Generated worlds (`cxchange.sustain.worlds`): 4 regions of 5 stores, 12 months before and 3 after the
start, ~120 NPS answers per store-month, permanent store differences, region-by-month and
store-by-month shocks. Each world is analysed with `cxchange.sustain.panel.assess`, the function the
service `outcomes` calls on the cells it loads. Per design:

- null worlds (no effect): share of confident verdicts ("improved" or "worse"), target ≤ 5 % (± the
  simulation error, printed), or "cannot tell with this design";
- effect worlds (+10 NPS): coverage of the planted effect by the interval (target ≥ 93 %; an interval
  the design cannot bound covers trivially and is counted apart) and power (share "improved");
- pre-trend worlds (no effect, the pilot rising 1 or 2 points a month relative to control throughout):
  share of confident verdicts.

Run: `.venv/bin/python eval/outcomes.py [--worlds N] [--seed S]`. Writes eval/results/outcomes.json and
prints a Markdown table. Timings vary with machine load; the numbers do not (fixed seeds).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # many small matrices: threads only contend
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from cxchange.sustain.panel import CANNOT_TELL, IMPROVED, WORSE, assess
from cxchange.sustain.worlds import World, generate

# name, pilot level, pilot count, control count, effect, pre-trend, share of --worlds
DESIGNS = [
    ("10 vs 10 stores, no effect", "stores", 10, 10, 0.0, 0.0, 1.0),
    ("3 vs 17 stores, no effect", "stores", 3, 17, 0.0, 0.0, 1.0),
    ("2 vs 2 regions, no effect", "regions", 2, 2, 0.0, 0.0, 1.0),
    ("1 vs 7 stores, no effect", "stores", 1, 7, 0.0, 0.0, 1.0),
    ("10 vs 10 stores, +10 NPS", "stores", 10, 10, 10.0, 0.0, 0.5),
    ("3 vs 17 stores, +10 NPS", "stores", 3, 17, 10.0, 0.0, 0.5),
    ("8 vs 8 stores, +10 NPS", "stores", 8, 8, 10.0, 0.0, 1.0),
    ("2 vs 2 regions, +10 NPS", "regions", 2, 2, 10.0, 0.0, 0.5),
    ("10 vs 10 stores, pilot rising 1/month, no effect", "stores", 10, 10, 0.0, 1.0, 0.4),
    ("10 vs 10 stores, pilot rising 2/month, no effect", "stores", 10, 10, 0.0, 2.0, 0.4),
]


def _share(k: int, n: int) -> dict[str, float]:
    p = k / n if n else math.nan
    return {"share": round(p, 4), "sim_error": round(math.sqrt(max(p * (1 - p), 0.05 * 0.95) / n), 4)}


def run(worlds: int, seed: int) -> dict[str, object]:
    rows = []
    for i, (name, level, g1, g0, effect, trend, frac) in enumerate(DESIGNS):
        n = max(20, round(worlds * frac))
        rng = np.random.default_rng([seed, i])
        world = World(effect=effect, pretrend=trend)
        verdicts: dict[str, int] = {}
        covered = unbounded = 0
        t0 = time.perf_counter()
        for _ in range(n):
            cells, _regions = generate(world, rng, pilot=level, pilot_count=g1, control_count=g0)
            a = assess(cells, cluster_word=level)
            verdicts[a.verdict] = verdicts.get(a.verdict, 0) + 1
            lo, hi = a.effect.ci_low, a.effect.ci_high
            if lo is None or hi is None:
                unbounded += 1
            elif lo <= effect <= hi:
                covered += 1
        confident = verdicts.get(IMPROVED, 0) + verdicts.get(WORSE, 0)
        bounded = n - unbounded
        rows.append(
            {
                "design": name,
                "worlds": n,
                "effect": effect,
                "pretrend_per_month": trend,
                "verdicts": verdicts,
                "confident": _share(confident, n),
                "cannot_tell": _share(verdicts.get(CANNOT_TELL, 0), n),
                "improved": _share(verdicts.get(IMPROVED, 0), n),
                "coverage": {**_share(covered, bounded), "bounded": bounded} if bounded else None,
                "seconds_per_world": round((time.perf_counter() - t0) / n, 3),
            }
        )
        print(f"{name}: {verdicts} ({rows[-1]['seconds_per_world']} s/world)", flush=True)
    return {"seed": seed, "world": World().__dict__, "designs": rows}


def table(result: dict[str, object]) -> str:
    lines = [
        "| design | worlds | confident verdicts | cannot tell | improved (power) | coverage of the effect |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def pct(s: dict[str, float] | None) -> str:
        return "—" if not s else f"{100 * s['share']:.1f} % ± {100 * s['sim_error']:.1f}"

    for r in result["designs"]:  # type: ignore[attr-defined]
        cov = r["coverage"]
        cov_text = f"{pct(cov)} (of {cov['bounded']} bounded)" if cov else "no bounded interval"
        lines.append(
            f"| {r['design']} | {r['worlds']} | {pct(r['confident'])} | {pct(r['cannot_tell'])} | "
            f"{pct(r['improved']) if r['effect'] else '—'} | "
            f"{cov_text} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=200, help="worlds per design (some designs use fewer)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "outcomes.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    result = run(args.worlds, args.seed)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["table"] = table(result)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(result["table"])
    print(f"sim_error: one binomial standard error (at least that of 5 %); {result['seconds']} s in all")


if __name__ == "__main__":
    main()
