"""The wild cluster bootstrap of eval/outcomes_coverage.py against the `wildboottest` package (issue 17).

`outcomes_coverage.wild_cluster_p` projects the unit and period effects out (Frisch–Waugh) and flips the
residuals of the model with tau fixed by cluster (WCR, Webb weights, t on the CRV1 standard error).
`wildboottest.WildboottestCL` does the same on the full design (explicit unit and period dummies; the
respondent weights as rows scaled by √n, which leaves the coefficient and the cluster scores unchanged;
H0 tau = tau0 tested as tau = 0 on y − tau0·D). The two draw their weights from different generators,
so they agree to Monte Carlo error only: with B draws a p-value near p has a standard error of
√(p(1 − p)/B) in each. A few tuning worlds (seed 101, the 8 vs 8 +10 and 3 vs 17 no-effect streams of
eval/outcomes.py), three values of tau0 each.

Run: `.venv/bin/python eval/outcomes_wcr_check.py` (writes eval/results/outcomes_wcr_check.md; needs
`wildboottest`, in eval/requirements.txt).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import math
import sys
import time
from pathlib import Path

import numpy as np
from wildboottest.wildboottest import WildboottestCL

from cxchange.sustain.panel import Cells
from cxchange.sustain.worlds import World, generate

sys.path.insert(0, str(Path(__file__).parent))
from outcomes_coverage import cr2_design, wild_cluster_p

DRAWS = 19_999
WORLDS = (("8 vs 8 stores, +10 NPS", 6, 8, 8, 10.0), ("3 vs 17 stores, no effect", 1, 3, 17, 0.0))
OUT = Path(__file__).parent / "results" / "outcomes_wcr_check.md"


def library_p(cells: Cells, tau0: float, seed: int) -> float:
    x = cr2_design(cells)
    sw = np.sqrt(cells.n)
    r = np.zeros(x.shape[1])
    r[0] = 1.0
    w = WildboottestCL(X=x * sw[:, None], Y=(cells.y - tau0 * x[:, 0]) * sw, cluster=cells.cluster, R=r,
                       B=DRAWS, seed=seed, parallel=False)  # fmt: skip
    w.get_scores(bootstrap_type="11", impose_null=True)
    w.get_weights(weights_type="webb")
    w.get_numer()
    w.get_denom()
    w.get_tboot()
    w.get_vcov()
    w.get_tstat()
    w.get_pvalue()
    return float(np.asarray(w.pvalue).ravel()[0])


def main() -> None:
    t0 = time.perf_counter()
    lines = [
        "# Wild cluster bootstrap (WCR, Webb): eval/outcomes_coverage.py against wildboottest",
        "",
        f"Command: `.venv/bin/python eval/outcomes_wcr_check.py`; {DRAWS} draws each; seed 101's streams "
        "(tuning). Written by the script.",
        "",
        "| world | tau0 | ours | wildboottest | difference | in Monte Carlo se |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    worst = 0.0
    for name, stream, g1, g0, effect in WORLDS:
        rng = np.random.default_rng([101, stream])
        for k in range(3):
            cells, _ = generate(World(effect=effect), rng, pilot="stores", pilot_count=g1, control_count=g0)
            for tau0 in (0.0, effect or 4.0, 6.0):
                ours, lib = wild_cluster_p(cells, tau0, draws=DRAWS), library_p(cells, tau0, seed=k)
                p = (ours + lib) / 2
                se = math.sqrt(2 * max(p * (1 - p), 1e-4) / DRAWS)
                worst = max(worst, abs(ours - lib) / se)
                lines.append(f"| {name} #{k + 1} | {tau0:g} | {ours:.4f} | {lib:.4f} | {ours - lib:+.4f} | "
                             f"{abs(ours - lib) / se:.1f} |")  # fmt: skip
    lines += ["", f"Largest difference: {worst:.1f} Monte Carlo standard errors of the difference; "
              f"{time.perf_counter() - t0:.0f} s."]  # fmt: skip
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
