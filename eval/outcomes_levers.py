"""Levers for the outcomes verdict (issue 17), measured on the TUNING seeds only (never a held-out seed).

The held-out study (`eval/outcomes.py`) reports the rule in use; this script measures what could change
it, on generated worlds of the same kind (`cxchange.sustain.worlds`), each world analysed once and every
variant computed on the same cells:

- **efficiency of the estimate** the randomization test uses: cells weighted by respondents (in use),
  unweighted, and by precision 1 / (s² / n + τ²) with the generator's own variance components (s² the
  variance of one NPS answer at NPS 30, τ² its store- and region-month shock variances: an oracle, so an
  upper bound on what estimated precision weights could give); and region-by-month effects in place of
  month effects (the generator's regions share monthly shocks);
- **the pre-trend check**: the randomization test of the pre-period slope (in use) against the CRV1
  t test with G − 1 df and the joint CRV1 Wald test of the event-study leads, at several levels; a
  "material" gate (withhold only when the significant trend,
  carried to the after window, is at least a fraction f of the estimate) and an HonestDiD-style one
  (withhold only when the estimated trend, carried over, moves the interval to include zero);
- **the effect test and the interval**: randomization inference (in use; the interval inverts it)
  against the CRV1 t test with G − 1 df (its interval's coverage, and its false verdicts in 3 vs 17).

Every variant keeps the rule's other parts (two-sided 5 % test, the "underpowered" check, a pre-trend in
the estimate's direction only). Rates are the share of worlds with a confident verdict ("improved" or
"worse"); mean ± sd over the tuning seeds.

Run: `.venv/bin/python eval/outcomes_levers.py [--worlds-scale X]` (writes
eval/results/outcomes_levers_tuning.json and .md). Design i of seed s draws from the stream
[s, 500 + i], apart from the streams of eval/outcomes.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # many small matrices: threads only contend
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from cxchange.sustain.panel import (
    IMPROVED,
    WORSE,
    Cells,
    _fe_basis,
    _residualize,
    assess,
    crv1,
    randomization,
)
from cxchange.sustain.worlds import World, generate

TUNING_SEEDS = (101, 202, 303)
RESULTS = Path(__file__).parent / "results"
ANSWER_VAR = 7000.0 - 30.0**2  # one NPS answer's variance at NPS 30 (passives 30 %)
# name, pilot count, control count, effect, pre-trend a month, worlds per seed
DESIGNS = [
    ("10 vs 10, no effect", 10, 10, 0.0, 0.0, 100),
    ("3 vs 17, no effect", 3, 17, 0.0, 0.0, 100),
    ("8 vs 8, +10", 8, 8, 10.0, 0.0, 200),
    ("10 vs 10, +10", 10, 10, 10.0, 0.0, 60),
    ("rising 0.5/month", 10, 10, 0.0, 0.5, 80),
    ("rising 1/month", 10, 10, 0.0, 1.0, 80),
    ("rising 2/month", 10, 10, 0.0, 2.0, 40),
]


@dataclass(frozen=True)
class _RegionCells(Cells):
    """Cells whose period effects are region-by-month (the generator's store s lies in region s // 5)."""

    region: np.ndarray | None = None

    @property
    def period(self) -> np.ndarray:
        assert self.region is not None
        base: np.ndarray = self.month * 2 + self.post.astype(int)
        out: np.ndarray = self.region * 10_000 + base + 5_000
        return out

    def subset(self, mask: np.ndarray) -> _RegionCells:
        arrays = {f.name: getattr(self, f.name)[mask] for f in fields(self) if f.name != "coarse"}
        return _RegionCells(**arrays, coarse=self.coarse)


def _joint_leads_p(pre: Cells) -> float:
    """p-value of the joint test that every pre-period event-study lead is zero (the month before the
    start the reference): CRV1 Wald statistic at the assignment level, as `panel.crv1` computes it, with
    the Hotelling small-sample F(q, G − q) reference (q leads, G clusters)."""
    months = [int(m) for m in np.unique(pre.month) if m != int(pre.month.max())]
    x = np.column_stack([(pre.treated & (pre.month == m)).astype(float) for m in months])
    sw = np.sqrt(pre.n)
    q = _fe_basis(pre.unit, pre.period, sw)
    rx, ry = _residualize(q, x * sw[:, None]), _residualize(q, pre.y * sw)
    coef, *_ = np.linalg.lstsq(rx, ry, rcond=None)
    _, cl = np.unique(pre.cluster, return_inverse=True)
    g, k = int(cl.max()) + 1, len(months)
    scores = np.zeros((g, k))
    np.add.at(scores, cl.ravel(), rx * (ry - rx @ coef)[:, None])
    bread = np.linalg.pinv(rx.T @ rx)
    n, kk = pre.y.size, k + int(np.unique(pre.period).size)
    cov = g / (g - 1) * (n - 1) / (n - kk) * bread @ (scores.T @ scores) @ bread
    if g <= k:
        return 1.0
    wald = float(coef @ np.linalg.pinv(cov) @ coef)
    return float(stats.f.sf(wald * (g - k) / (k * (g - 1)), k, g - k))


def _world(cells: Cells, world: World, effect: float) -> dict[str, Any]:
    """Every statistic the variants need, from one world's cells."""
    a = assess(cells, cluster_word="stores")
    e, pt = a.effect, a.pretrend
    rec: dict[str, Any] = {
        "effect": effect,
        "verdict": a.verdict,
        "est": e.estimate,
        "p": e.p_value,
        "lo": e.ci_low,
        "hi": e.ci_high,
        "lever": a.lever_months,
        "pt_status": pt.status,
        "pt_slope": pt.slope_diff,
        "pt_p": pt.p_value,
        "pt_lo": pt.ci_low,
        "pt_hi": pt.ci_high,
    }
    fit = crv1(cells, (cells.treated & cells.post).astype(float))
    rec |= {"t_est": float(fit.coef[0]), "t_se": float(fit.se[0]), "t_df": fit.df}
    pre = cells.subset(~cells.post)
    slope = crv1(pre, (pre.treated * (pre.month - pre.month.mean())).astype(float))
    rec |= {"s_est": float(slope.coef[0]), "s_se": float(slope.se[0]), "leads_p": _joint_leads_p(pre)}
    shock_var = world.store_month_sd**2 + world.region_month_sd**2
    for tag, w in (
        ("unweighted", np.ones_like(cells.n)),
        ("precision", 1 / (ANSWER_VAR / cells.n + shock_var)),
    ):
        r = randomization(replace(cells, n=w * cells.n.sum() / w.sum()))
        rec |= {f"{tag}_est": r.estimate, f"{tag}_p": r.p_value}
    regions = _RegionCells(
        **{f.name: getattr(cells, f.name) for f in fields(cells)},
        region=cells.unit // world.stores_per_region,
    )
    try:
        r = randomization(regions)
        rec |= {"region_month_est": r.estimate, "region_month_p": r.p_value}
    except ValueError:  # every region pilot-only or control-only: nothing left to compare
        rec |= {"region_month_est": None, "region_month_p": None}
    return rec


def simulate(seed: int, scale: float) -> list[dict[str, Any]]:
    out = []
    for i, (name, g1, g0, effect, trend, n) in enumerate(DESIGNS):
        rng = np.random.default_rng([seed, 500 + i])
        world = World(effect=effect, pretrend=trend)
        for _ in range(max(10, round(n * scale))):
            cells, _ = generate(world, rng, pilot="stores", pilot_count=g1, control_count=g0)
            out.append({"design": name, **_world(cells, world, effect)})
    return out


# ---- the variants: each maps one world's record to "confident" (True / False) -----------------------


def _significant(r: dict[str, Any]) -> bool:
    lo, hi = r["lo"], r["hi"]
    return bool(r["p"] <= 0.05 and lo is not None and hi is not None and (lo > 0 or hi < 0))


def _t_p(est: float, se: float, df: int) -> float:
    return float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else 0.0


def _slope(r: dict[str, Any], test: str) -> tuple[float, float, float]:
    """(slope, p, half-width of its 90 % interval) by the randomization test or the CRV1 t test."""
    if test == "randomization":
        return r["pt_slope"], r["pt_p"], (r["pt_hi"] - r["pt_lo"]) / 2
    if test == "leads":  # the joint test's p, the direction and width of the randomization slope's
        return r["pt_slope"], r["leads_p"], (r["pt_hi"] - r["pt_lo"]) / 2
    half = float(stats.t.ppf(0.95, r["t_df"])) * r["s_se"]
    return r["s_est"], _t_p(r["s_est"], r["s_se"], r["t_df"]), half


def gate(alpha: float, test: str = "randomization", material: float | None = None,
         honest: bool = False, also: tuple[float, float] | None = None,
         ) -> Callable[[dict[str, Any]], bool]:  # fmt: skip
    """The rule with the pre-trend check at level `alpha`; `material`: withhold only when the trend
    carried over is at least that fraction of the estimate; `honest`: only when the estimated trend
    carried over moves the interval to include zero; `also` = (alpha2, k): besides, withhold when the
    pre-trend has p < alpha2 and, carried over, reaches k times the interval's bound nearest zero (the
    two-level gate)."""

    def confident(r: dict[str, Any]) -> bool:
        if not _significant(r) or r["pt_status"] == "not testable" or r["pt_lo"] is None:
            return False
        slope, p, half = _slope(r, test)
        explain = r["est"] / r["lever"]
        if half >= abs(explain):  # underpowered: a trend the check cannot see would explain it all
            return False
        carried = abs(slope) * r["lever"]
        nearest = min(abs(r["lo"]), abs(r["hi"]))
        failed = p < alpha and slope * r["est"] > 0
        if material is not None:
            failed = failed and carried >= material * abs(r["est"])
        if honest:
            failed = failed and carried >= nearest
        if also is not None:
            alpha2, k = also
            failed = failed or (p < alpha2 and slope * r["est"] > 0 and carried >= k * nearest)
        return not failed

    return confident


def crv1_test(r: dict[str, Any]) -> bool:
    """The CRV1 t test (G − 1 df) of the effect in place of the randomization test, the same gate."""
    half = float(stats.t.ppf(0.975, r["t_df"])) * r["t_se"]
    swapped = {**r, "p": _t_p(r["t_est"], r["t_se"], r["t_df"]), "lo": r["t_est"] - half,
               "hi": r["t_est"] + half}  # fmt: skip
    return gate(0.10)(swapped)


VARIANTS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "rule in use (pre-trend p < 0.10, randomization)": lambda r: r["verdict"] in (IMPROVED, WORSE),
    **{f"pre-trend p < {a:.2f}, randomization slope": gate(a) for a in (0.10, 0.08, 0.06)},
    **{f"pre-trend p < {a:.2f}, CRV1 t slope (G-1 df)": gate(a, "crv1") for a in (0.10, 0.08, 0.06)},
    **{
        f"pre-trend p < {a:.2f}, joint test of the leads (CRV1 Wald, F(q, G-q))": gate(a, "leads")
        for a in (0.10, 0.20)
    },
    **{f"material gate f = {f}": gate(0.10, material=f) for f in (0.5, 0.75, 1.0)},
    **{f"HonestDiD-style gate, pre-trend p < {a:.2f}": gate(a, honest=True) for a in (0.10, 0.20)},
    "effect by CRV1 t (G-1 df), gate in use": crv1_test,
}
TESTS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "randomization, respondent weights (in use)": lambda r: r["p"] <= 0.05,
    "randomization, unweighted": lambda r: r["unweighted_p"] <= 0.05,
    "randomization, oracle precision weights": lambda r: r["precision_p"] <= 0.05,
    "randomization, region-by-month effects": lambda r: (r["region_month_p"] or 1.0) <= 0.05,
    "CRV1 t, G-1 df": lambda r: _t_p(r["t_est"], r["t_se"], r["t_df"]) <= 0.05,
}
ESTIMATES = {
    "respondent weights (in use)": "est",
    "unweighted": "unweighted_est",
    "oracle precision weights": "precision_est",
    "region-by-month effects": "region_month_est",
}


def _coverage(r: dict[str, Any], how: str) -> bool:
    tau = r["effect"]
    if how == "randomization":
        return r["lo"] is not None and r["hi"] is not None and r["lo"] <= tau <= r["hi"]
    half = float(stats.t.ppf(0.975, r["t_df"])) * r["t_se"]
    return bool(abs(r["t_est"] - tau) <= half)


TWO_LEVEL = [
    (a1, a2, k)
    for a1 in (0.02, 0.04, 0.06, 0.08, 0.10)
    for a2 in (0.15, 0.20, 0.30)
    for k in (0.5, 0.75, 1.0)
]
POWER, RISING = "8 vs 8, +10", ("rising 0.5/month", "rising 1/month", "rising 2/month")


def best_two_level(runs: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The two-level gate of the grid with the most power at +10 (8 vs 8) among those calling no rising
    pilot improved more often than the rule in use, on these same seeds (so an optimistic number: the
    grid's best is chosen on the worlds it is scored on)."""

    def rates(fn: Callable[[dict[str, Any]], bool]) -> dict[str, float]:
        return {
            d[0]: float(np.mean([fn(r) for run in runs for r in run if r["design"] == d[0]])) for d in DESIGNS
        }

    base = rates(VARIANTS["rule in use (pre-trend p < 0.10, randomization)"])
    best: dict[str, Any] = {"gate": None, "rates": base}
    for a1, a2, k in TWO_LEVEL:
        got = rates(gate(a1, also=(a2, k)))
        if all(got[d] <= base[d] + 1e-12 for d in RISING) and got[POWER] > best["rates"][POWER]:
            best = {"gate": {"alpha": a1, "alpha2": a2, "k": k}, "rates": got}
    return {"grid": len(TWO_LEVEL), "rule_in_use": base, **best}


def summarise(runs: list[list[dict[str, Any]]]) -> dict[str, Any]:
    names = [d[0] for d in DESIGNS]

    def ms(values: list[float]) -> dict[str, float]:
        return {"mean": round(float(np.mean(values)), 4), "sd": round(float(np.std(values, ddof=1)), 4)}

    def table(fns: dict[str, Callable[[dict[str, Any]], float]]) -> dict[str, dict[str, Any]]:
        return {
            label: {
                d: ms([float(np.mean([fn(r) for r in run if r["design"] == d])) for run in runs])
                for d in names
            }
            for label, fn in fns.items()
        }

    def sd_of(key: str) -> Callable[[list[dict[str, Any]]], float]:
        return lambda rs: float(np.std([r[key] for r in rs if r[key] is not None]))

    spreads = {
        label: {d: ms([sd_of(key)([r for r in run if r["design"] == d]) for run in runs]) for d in names}
        for label, key in ESTIMATES.items()
    }
    coverage = {
        how: {
            d: ms([float(np.mean([_coverage(r, how) for r in run if r["design"] == d])) for run in runs])
            for d in names
            if not dict((x[0], x[4]) for x in DESIGNS)[d]
        }
        for how in ("randomization", "crv1")
    }
    return {
        "designs": names,
        "worlds": {d: sum(r["design"] == d for r in runs[0]) for d in names},
        "confident": table({k: v for k, v in VARIANTS.items()}),
        "p_below_005": table({k: v for k, v in TESTS.items()}),
        "estimate_sd": spreads,
        "coverage": coverage,
        "best_two_level_gate": best_two_level(runs),
    }


def _md(block: dict[str, dict[str, Any]], names: list[str], pct: bool = True) -> list[str]:
    def cell(v: dict[str, float]) -> str:
        return f"{100 * v['mean']:.1f} ± {100 * v['sd']:.1f}" if pct else f"{v['mean']:.3f} ± {v['sd']:.3f}"

    cols = [n for n in names if any(n in row for row in block.values())]
    lines = ["| variant | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for label, row in block.items():
        lines.append(f"| {label} | " + " | ".join(cell(row[c]) if c in row else "—" for c in cols) + " |")
    return lines


def report(s: dict[str, Any], command: str) -> str:
    names = s["designs"]
    load = s["load_average"]
    return "\n".join(
        [
            "# Outcomes verdict: levers measured on the TUNING seeds (not a held-out report)",
            "",
            f"Command: `{command}`; {s['seconds']} s, load average {load['start'][0]} at the start, "
            f"{load['end'][0]} at the end (2 shared cores). Seeds {s['seeds']}; worlds per seed and "
            f"design: {', '.join(f'{k} {v}' for k, v in s['worlds'].items())}. Mean ± sd over the seeds, "
            "percent unless said. Written by the script: every number below is this run's.",
            "",
            "## Confident verdicts (improved or worse) under each variant of the rule",
            "",
            *_md(s["confident"], names),
            "",
            "## The effect test alone: share p <= 0.05",
            "",
            *_md(s["p_below_005"], names),
            "",
            "## Spread (sd over worlds) of the estimate, NPS points",
            "",
            *_md(s["estimate_sd"], names, pct=False),
            "",
            "## Coverage of the planted effect by the 95 % interval",
            "",
            *_md(s["coverage"], names),
            "",
            "## The best two-level gate of a grid (pooled over the seeds)",
            "",
            _two_level_text(s["best_two_level_gate"]),
            "",
        ]
    )


def _two_level_text(b: dict[str, Any]) -> str:
    def rates(r: dict[str, float]) -> str:
        return ", ".join(f"{d} {100 * r[d]:.1f} %" for d in (POWER, *RISING))

    head = (
        f"Withhold when the pre-trend (in the estimate's direction) has p < alpha, or p < alpha2 and, "
        f"carried over, reaches k times the interval's bound nearest zero; {b['grid']} gates tried, scored "
        "on the worlds they are chosen on (optimistic). Rule in use: " + rates(b["rule_in_use"]) + ". "
    )
    if b["gate"] is None:
        return head + "No gate of the grid has more power without calling a rising pilot improved more often."
    g = b["gate"]
    return head + (f"Best: alpha {g['alpha']}, alpha2 {g['alpha2']}, k {g['k']}: " + rates(b["rates"]) + ".")


def _run(args: tuple[int, float]) -> list[dict[str, Any]]:
    return simulate(*args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds-scale", type=float, default=1.0, help="multiply the worlds per design")
    ap.add_argument("--out", default=str(RESULTS / "outcomes_levers_tuning.json"))
    ap.add_argument("--records", default=None, help="also write every world's statistics to this JSON")
    args = ap.parse_args()
    load = os.getloadavg()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=len(TUNING_SEEDS)) as pool:
        runs = list(pool.map(_run, [(s, args.worlds_scale) for s in TUNING_SEEDS]))
    summary = {"seeds": list(TUNING_SEEDS), **summarise(runs), "seconds": round(time.perf_counter() - t0, 1),
               "load_average": {"start": [round(x, 2) for x in load],
                                "end": [round(x, 2) for x in os.getloadavg()]}}  # fmt: skip
    command = ".venv/bin/python eval/outcomes_levers.py" + (
        f" --worlds-scale {args.worlds_scale}" if args.worlds_scale != 1.0 else ""
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    if args.records:
        Path(args.records).write_text(json.dumps(runs) + "\n")
    text = report(summary, command)
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
