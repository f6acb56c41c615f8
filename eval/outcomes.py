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
  share of confident verdicts;
- staggered worlds (`generate_staggered`: 8 pilot stores in three waves starting 0, 3 and 6 months after
  the first start, 8 controls) analysed with `cxchange.sustain.staggered.assess` (imputation estimator,
  randomization inference over arrangements of the starts): no effect, a constant +10, and effects that
  differ by wave and grow each month, where a single TWFE coefficient is biased; the bias (mean ± its
  standard error) of both is reported against the planted effect averaged over the treated cells.

For every design the share "p <= 0.05" is the randomization test alone, before the pre-trend check may
withhold the verdict, so the cost of that check is visible; "material gate" is the share that would be
confident if a significant pre-trend withheld the verdict only when, continued, it accounts for at least
half of the estimate (an alternative gate, measured, not used: it buys power at the price of rising
pilots called improved).

Protocol: see `PROTOCOL` below (printed with every run and stored in the results). Besides the table,
every run reports (a) the share "p <= 0.05" with the studentized randomization-t statistic, (b) the
share confident if the pre-trend check withheld at other levels (`GATE_ALPHAS`: the trade between power
and rising pilots called improved), and (c) the power an oracle could reach in these worlds
(`oracle_bound`).

Run: `.venv/bin/python eval/outcomes.py [--worlds N] [--seed S]` (writes eval/results/outcomes.json and
.md, the held-out report) or `--tuning` (the tuning seeds, mean ± sd over them; writes
eval/results/outcomes_tuning.json and .md). Timings vary with machine load; the numbers do not (fixed seeds).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # many small matrices: threads only contend
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from cxchange.sustain import staggered
from cxchange.sustain.panel import (
    CANNOT_TELL,
    IMPROVED,
    PRETREND_ALPHA,
    WORSE,
    Assessment,
    assess,
    randomization,
)
from cxchange.sustain.worlds import Waves, World, generate, generate_staggered

HELD_OUT_SEED = 5353  # never run before the final code of the issue-17 round of 2026-12-07 (coverage, power)
TUNING_SEEDS = (101, 202, 303)
GATE_ALPHAS = (0.10, 0.08, 0.06)  # pre-trend levels measured; the rule uses PRETREND_ALPHA
RESULTS = Path(__file__).parent / "results"
PROTOCOL = (
    "Protocol, fixed and committed before the verdict rule or the interval was touched in this round "
    "(2026-12-07: coverage and power): seeds 17, 2027 and 4242 were consulted in earlier rounds and are "
    "no longer held out. Diagnosis and tuning used only the tuning seeds "
    f"{', '.join(map(str, TUNING_SEEDS))} (`eval/outcomes.py --tuning`, reported as mean ± sd over those "
    f"seeds and labelled tuning). The held-out report is seed {HELD_OUT_SEED}, run once at the end with "
    f"the committed code: `eval/outcomes.py --worlds 200 --seed {HELD_OUT_SEED}`, the script's defaults, "
    "which is what `make eval` runs. "
    "Design i draws from the stream [seed, i], staggered design j from [seed, 100 + j]. Worlds per design: "
    "--worlds for the no-effect designs and the +10 designs whose coverage is a target (one binomial "
    "standard error ~1.5 points at 95 %), three times for the 8 vs 8 power design (~1.2 points), half for "
    "2 vs 2 regions at +10 (nothing to cover), 0.6 times for the rising-pilot designs, --worlds for the "
    "staggered +10 design and half for the other staggered designs (each costs ~10 times more). "
    "The levers that could change the rule are measured on the tuning seeds only, by "
    "`eval/outcomes_levers.py` (eval/results/outcomes_levers_tuning.md) and, for coverage and power, "
    "`eval/outcomes_coverage.py` (eval/results/outcomes_coverage_tuning.md). "
    "Decision rule, fixed before any tuning number of this round was seen: a change to the interval or "
    "the verdict ships only if, on the tuning seeds' worlds (the same worlds for the rule in use and the "
    "change, so the comparison is paired), coverage is at least 93 % in every design with a bounded "
    "interval and parallel trends, power at +10 NPS with 8 vs 8 stores is at least 90 %, confident "
    "verdicts with no effect stay at most 5 % (within one simulation error), and no rising pilot "
    "(0.5, 1 or 2 points a month) is called improved more often than by the rule in use on the same "
    "worlds. The held-out seed "
    f"{HELD_OUT_SEED} is run once, at the end, with the committed code (changed or not), as `make eval` "
    "runs it; its numbers are reported as printed and nothing is tuned after it."
)

# name, pilot level, pilot count, control count, effect, pre-trend, share of --worlds
DESIGNS = [
    ("10 vs 10 stores, no effect", "stores", 10, 10, 0.0, 0.0, 1.0),
    ("3 vs 17 stores, no effect", "stores", 3, 17, 0.0, 0.0, 1.0),
    ("2 vs 2 regions, no effect", "regions", 2, 2, 0.0, 0.0, 1.0),
    ("1 vs 7 stores, no effect", "stores", 1, 7, 0.0, 0.0, 1.0),
    ("10 vs 10 stores, +10 NPS", "stores", 10, 10, 10.0, 0.0, 1.0),
    ("3 vs 17 stores, +10 NPS", "stores", 3, 17, 10.0, 0.0, 1.0),
    ("8 vs 8 stores, +10 NPS", "stores", 8, 8, 10.0, 0.0, 3.0),
    ("2 vs 2 regions, +10 NPS", "regions", 2, 2, 10.0, 0.0, 0.5),
    ("10 vs 10 stores, pilot rising 0.5/month, no effect", "stores", 10, 10, 0.0, 0.5, 0.6),
    ("10 vs 10 stores, pilot rising 1/month, no effect", "stores", 10, 10, 0.0, 1.0, 0.6),
    ("10 vs 10 stores, pilot rising 2/month, no effect", "stores", 10, 10, 0.0, 2.0, 0.6),
]
POWER_DESIGN, NULL_DESIGN = "8 vs 8 stores, +10 NPS", "10 vs 10 stores, no effect"
RISING = {0.5: DESIGNS[8][0], 1.0: DESIGNS[9][0], 2.0: DESIGNS[10][0]}
# confident shares of the rising-pilot designs in the held-out report before this round (seed 2027): not
# to get worse
RISING_BEFORE = {0.5: 0.225, 1.0: 0.05, 2.0: 0.0}
# name, waves, share of --worlds (8 pilot stores over the waves, 8 control stores)
STAGGERED = [
    ("staggered 8 vs 8 stores, no effect", Waves(starts=(0, 3, 6)), 0.5),
    ("staggered 8 vs 8 stores, +10 NPS", Waves(starts=(0, 3, 6), effects=(10.0, 10.0, 10.0)), 1.0),
    (
        "staggered 8 vs 8 stores, +15/+10/+5 by wave, +2 a month",
        Waves(starts=(0, 3, 6), effects=(15.0, 10.0, 5.0), growth=2.0),
        0.5,
    ),
]


def _share(k: int, n: int) -> dict[str, float]:
    p = k / n if n else math.nan
    return {"share": round(p, 4), "sim_error": round(math.sqrt(max(p * (1 - p), 0.05 * 0.95) / n), 4)}


class _Tally:
    """Verdicts, coverage and estimation errors of one design's worlds."""

    def __init__(self) -> None:
        self.verdicts: dict[str, int] = {}
        self.covered = self.unbounded = self.significant = self.material = 0
        self.significant_t: int | None = None
        self.gate = dict.fromkeys(GATE_ALPHAS, 0)
        self.errors: list[float] = []
        self.twfe_errors: list[float] = []
        self.slopes: list[float] = []
        self.levers: list[float] = []

    def add(self, a: Assessment, effect: float, p_t: float | None = None) -> None:
        self.verdicts[a.verdict] = self.verdicts.get(a.verdict, 0) + 1
        self.significant += a.effect.p_value <= 0.05
        if p_t is not None:
            self.significant_t = (self.significant_t or 0) + (p_t <= 0.05)
        pt, e = a.pretrend, a.effect
        if pt.slope_diff is not None:
            self.slopes.append(pt.slope_diff)
        self.levers.append(a.lever_months)
        if e.p_value <= 0.05 and a.breakdown_slope is not None and e.min_p <= 0.05:
            sig = (
                pt.p_value is not None
                and pt.p_value < PRETREND_ALPHA
                and (pt.slope_diff or 0) * e.estimate > 0
            )
            material = sig and abs(pt.slope_diff or 0) * a.lever_months >= 0.5 * abs(e.estimate)
            self.material += pt.status not in ("underpowered", "not testable") and not material
            # the same rule at other pre-trend levels (a check that failed at the rule's level is not
            # re-checked for width at a stricter one: the width check rarely binds where trends show)
            if pt.status in ("ok", "failed"):
                for alpha in GATE_ALPHAS:
                    withheld = (
                        pt.p_value is not None
                        and pt.p_value < alpha
                        and (pt.slope_diff or 0) * e.estimate > 0
                    )
                    self.gate[alpha] += not withheld
        self.errors.append(a.effect.estimate - effect)
        lo, hi = a.effect.ci_low, a.effect.ci_high
        if lo is None or hi is None:
            self.unbounded += 1
        elif lo <= effect <= hi:
            self.covered += 1

    def row(self, n: int) -> dict[str, object]:
        v = self.verdicts
        bounded = n - self.unbounded

        def bias(e: list[float]) -> dict[str, float] | None:
            return (
                {"mean": round(float(np.mean(e)), 3), "se": round(float(np.std(e) / math.sqrt(n)), 3)}
                if e
                else None
            )

        return {
            "worlds": n,
            "verdicts": v,
            "confident": _share(v.get(IMPROVED, 0) + v.get(WORSE, 0), n),
            "cannot_tell": _share(v.get(CANNOT_TELL, 0), n),
            "improved": _share(v.get(IMPROVED, 0), n),
            "p_below_005": _share(self.significant, n),
            "p_below_005_t": None if self.significant_t is None else _share(self.significant_t, n),
            "confident_material_gate": _share(self.material, n),
            "confident_by_pretrend_alpha": {f"{a:.2f}": _share(k, n) for a, k in self.gate.items()},
            "coverage": {**_share(self.covered, bounded), "bounded": bounded} if bounded else None,
            "bias": bias(self.errors),
            "twfe_bias": bias(self.twfe_errors),
            "estimate_sd": round(float(np.std(self.errors)), 4),
            "pretrend_slope_sd": round(float(np.std(self.slopes)), 4) if self.slopes else None,
            "lever_months": round(float(np.mean(self.levers)), 3),
        }


def run(worlds: int, seed: int) -> dict[str, object]:
    rows = []
    load = os.getloadavg()
    for i, (name, level, g1, g0, effect, trend, frac) in enumerate(DESIGNS):
        n = max(20, round(worlds * frac))
        rng = np.random.default_rng([seed, i])
        world = World(effect=effect, pretrend=trend)
        tally = _Tally()
        t0 = time.perf_counter()
        for _ in range(n):
            cells, _regions = generate(world, rng, pilot=level, pilot_count=g1, control_count=g0)
            p_t = randomization(cells, statistic="t").p_value
            tally.add(assess(cells, cluster_word=level), effect, p_t)
        rows.append({"design": name, "effect": effect, "pretrend_per_month": trend, **tally.row(n),
                     "seconds_per_world": round((time.perf_counter() - t0) / n, 3)})  # fmt: skip
        print(f"{name}: {tally.verdicts} ({rows[-1]['seconds_per_world']} s/world)", flush=True)
    for j, (name, waves, frac) in enumerate(STAGGERED):
        n = max(20, round(worlds * frac))
        rng = np.random.default_rng([seed, 100 + j])
        tally = _Tally()
        t0 = time.perf_counter()
        for _ in range(n):
            rollout, planted = generate_staggered(World(), waves, rng, pilot_count=8, control_count=8)
            tally.add(staggered.assess(rollout, cluster_word="stores"), planted)
            tally.twfe_errors.append(staggered.twfe(rollout) - planted)
        rows.append({"design": name, "effect": max(waves.effects), "pretrend_per_month": 0.0,
                     "waves": waves.__dict__, **tally.row(n),
                     "seconds_per_world": round((time.perf_counter() - t0) / n, 3)})  # fmt: skip
        print(f"{name}: {tally.verdicts} ({rows[-1]['seconds_per_world']} s/world)", flush=True)
    result: dict[str, object] = {"seed": seed, "worlds": worlds, "world": World().__dict__, "designs": rows}
    result["oracle"] = oracle_bound(rows)
    result["load_average"] = {
        "start": [round(x, 2) for x in load],
        "end": [round(x, 2) for x in os.getloadavg()],
    }
    return result


def oracle_bound(rows: list[dict[str, object]]) -> dict[str, object]:
    """What tests that knew the spreads could do in these worlds (normal approximation with the spreads
    measured in this run). The estimate and the pre-trend slope are independent normals (equal weights on
    the before months); in units of their spreads the +10 design sits at (10 / sd, 0), the no-effect
    design at (0, 0) and a pilot rising d a month at (bias / sd, d / sd_slope), the bias measured.

    - `rule_known_spread`: the rule in use (|estimate| beyond 1.96 spreads, withheld when the slope lies
      beyond the pre-trend level's critical value in the estimate's direction) with known spreads;
    - `rule_t15`: the same with a t test on 15 degrees of freedom (16 clusters) in place of the known
      spread, about what a test that estimates the spread from the clusters can do;
    - `best_rule`: the most powerful decision region of any shape (a linear programme over a fine grid
      of the two statistics) that calls "improved" in no-effect worlds at most 2.5 % and calls each rising
      pilot improved no more often than the rule in use (known spreads); `best_rule_old_rates` lets the
      rising pilots reach the rates reported before this round instead."""
    by = {str(r["design"]): r for r in rows}

    def point(design: str, slope: float) -> tuple[float, float]:
        # no effect and +10 sit where they were planted; a rising pilot where its bias was measured
        r = by[design]
        bias = r["bias"]
        assert isinstance(bias, dict)
        mean = float(r["effect"]) + (float(bias["mean"]) if slope else 0.0)  # type: ignore[arg-type]
        slope_sd = r["pretrend_slope_sd"] or by[NULL_DESIGN]["pretrend_slope_sd"]
        return mean / float(r["estimate_sd"]), slope / float(slope_sd)  # type: ignore[arg-type]

    alt = point(POWER_DESIGN, 0.0)
    nulls = {"no effect": point(NULL_DESIGN, 0.0)} | {
        f"rising {d}/month": point(name, d) for d, name in RISING.items()
    }
    z_t, z_s = np.arange(-3.0, 10.0, 0.05), np.arange(-5.0, 12.0, 0.05)
    centre_t, centre_s = z_t[:-1] + 0.025, z_s[:-1] + 0.025

    def mass(mu: tuple[float, float]) -> np.ndarray:
        pt = np.diff(stats.norm.cdf(z_t, mu[0]))
        ps = np.diff(stats.norm.cdf(z_s, mu[1]))
        return np.outer(pt, ps).ravel()

    gate = float(stats.norm.ppf(1 - PRETREND_ALPHA / 2))
    rule = ((centre_t[:, None] > stats.norm.ppf(0.975)) & (centre_s[None, :] < gate)).ravel()
    alt_mass = mass(alt)
    null_mass = {k: mass(mu) for k, mu in nulls.items()}
    rule_rates = {k: float(m[rule].sum()) for k, m in null_mass.items()}

    def best(caps: dict[str, float]) -> dict[str, object]:
        a_ub = np.array([null_mass[k] for k in caps])
        lp = optimize.linprog(-alt_mass, A_ub=a_ub, b_ub=np.array(list(caps.values())), bounds=(0, 1),
                              method="highs")  # fmt: skip
        x = lp.x
        return {"power": round(float(alt_mass @ x), 4),
                "rates": {k: round(float(m @ x), 4) for k, m in null_mass.items()}}  # fmt: skip

    caps = {"no effect": 0.025, **{k: v for k, v in rule_rates.items() if k != "no effect"}}
    old = {"no effect": 0.025, **{f"rising {d}/month": v for d, v in RISING_BEFORE.items()}}
    old["rising 2.0/month"] = max(old["rising 2.0/month"], rule_rates["rising 2.0/month"])
    t_crit = float(stats.t.ppf(0.975, 15))
    return {
        "standardized_points": {"+10, 8 vs 8": [round(x, 3) for x in alt]}
        | {k: [round(x, 3) for x in mu] for k, mu in nulls.items()},
        "rule_known_spread": {
            "power": round(float(alt_mass[rule].sum()), 4),
            "rates": {k: round(v, 4) for k, v in rule_rates.items()},
        },
        "rule_t15": {"power": round(float(stats.nct.sf(t_crit, 15, alt[0])) * (1 - PRETREND_ALPHA / 2), 4)},
        "best_rule": best(caps),
        "best_rule_old_rates": best(old),
    }


def _pct(s: dict[str, float] | None) -> str:
    return "—" if not s else f"{100 * s['share']:.1f} % ± {100 * s['sim_error']:.1f}"


def table(result: dict[str, object]) -> str:
    lines = [
        "| design | worlds | confident verdicts | cannot tell | p <= 0.05 | p <= 0.05, randomization-t "
        "| improved (power) | coverage of the effect | bias (± se) | TWFE bias (± se) | material gate |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def bias(b: dict[str, float] | None) -> str:
        return "—" if not b else f"{b['mean']:+.2f} ± {b['se']:.2f}"

    for r in result["designs"]:  # type: ignore[attr-defined]
        cov = r["coverage"]
        cov_text = f"{_pct(cov)} (of {cov['bounded']} bounded)" if cov else "no bounded interval"
        lines.append(
            f"| {r['design']} | {r['worlds']} | {_pct(r['confident'])} | {_pct(r['cannot_tell'])} | "
            f"{_pct(r['p_below_005'])} | {_pct(r['p_below_005_t'])} | "
            f"{_pct(r['improved']) if r['effect'] else '—'} | {cov_text} | {bias(r['bias'])} | "
            f"{bias(r['twfe_bias'])} | {_pct(r['confident_material_gate'])} |"
        )
    return "\n".join(lines)


def gate_table(result: dict[str, object]) -> str:
    """Confident verdicts if the pre-trend check withheld at other levels (the rule: PRETREND_ALPHA)."""
    head = " | ".join(f"pre-trend p < {a:.2f}" for a in GATE_ALPHAS)
    lines = [f"| design | {head} |", "|---|" + "---:|" * len(GATE_ALPHAS)]
    for r in result["designs"]:  # type: ignore[attr-defined]
        cells = " | ".join(_pct(r["confident_by_pretrend_alpha"][f"{a:.2f}"]) for a in GATE_ALPHAS)
        lines.append(f"| {r['design']} | {cells} |")
    return "\n".join(lines)


def oracle_text(o: dict[str, object]) -> str:
    rule, t15, best, old = o["rule_known_spread"], o["rule_t15"], o["best_rule"], o["best_rule_old_rates"]
    assert (
        isinstance(rule, dict) and isinstance(t15, dict) and isinstance(best, dict) and isinstance(old, dict)
    )

    def rates(r: dict[str, float]) -> str:
        return ", ".join(f"{k} {100 * v:.1f} %" for k, v in r.items())

    return "\n".join(
        [
            f"- the rule in use with the spreads known: power {100 * rule['power']:.1f} % "
            f"(improved in {rates(rule['rates'])});",
            f"- the same rule with a t test on 15 degrees of freedom (what 16 clusters can tell of the "
            f"spread): power {100 * t15['power']:.1f} %;",
            f"- the most powerful rule of any shape, spreads known, calling no rising pilot improved more "
            f"often than the rule in use: **power {100 * best['power']:.1f} %** ({rates(best['rates'])});",
            f"- the same if rising pilots may reach the rates reported before this round "
            f"({', '.join(f'{d}/month {100 * v:.1f} %' for d, v in RISING_BEFORE.items())}): power "
            f"{100 * old['power']:.1f} % ({rates(old['rates'])}).",
        ]
    )


def _targets(result: dict[str, object]) -> list[str]:
    by = {r["design"]: r for r in result["designs"]}  # type: ignore[attr-defined]
    out = []
    nulls = [r for r in by.values() if r["effect"] == 0 and not r["pretrend_per_month"]]
    over = [r["design"] for r in nulls if r["confident"]["share"] - r["confident"]["sim_error"] > 0.05]
    out.append(
        "- **No effect, confident verdicts ≤ 5 % (± simulation error)**: "
        + "; ".join(f"{r['design'].split(',')[0]} {_pct(r['confident'])}" for r in nulls)
        + (f" — **not met** in {', '.join(over)}" if over else " (met)")
    )
    # a rising pilot's interval is not meant to cover the planted zero: its bias is what the gate is for
    covs = [r for r in by.values() if r["coverage"] and not r["pretrend_per_month"]]
    low = [r["design"] for r in covs if r["coverage"]["share"] < 0.93]
    out.append(
        f"- **Coverage ≥ 93 %**: {min(100 * r['coverage']['share'] for r in covs):.1f}–"
        f"{max(100 * r['coverage']['share'] for r in covs):.1f} % over the designs with a bounded interval "
        "and parallel trends" + (f" — **not met** in {', '.join(low)}" if low else " (met)")
    )
    power = by[POWER_DESIGN]["improved"]
    out.append(
        f"- **Power at +10 NPS, 8 vs 8 stores ≥ 90 %: {_pct(power)}** "
        f"({'met' if power['share'] >= 0.90 else 'not met'}; randomization test alone "
        f"{_pct(by[POWER_DESIGN]['p_below_005'])})"
    )
    out.append(
        "- **Rising pilots, confident (held-out report before this round, seed 2027: "
        + ", ".join(f"{d}/month {100 * v:.1f} %" for d, v in RISING_BEFORE.items())
        + ")**: "
        + ", ".join(f"{d}/month {_pct(by[name]['confident'])}" for d, name in RISING.items())
    )
    return out


def report(result: dict[str, object], command: str) -> str:
    load = result["load_average"]
    assert isinstance(load, dict)
    return "\n".join(
        [
            '# Outcomes simulation study (issue 17, "Measured")',
            "",
            f"Command: `{command}`; results in `eval/results/outcomes.json`; {result['seconds']} s in all, "
            f"load average {load['start'][0]} at the start, {load['end'][0]} at the end (2 shared cores, "
            "single-threaded BLAS). Written by the script: every number below is this run's.",
            "",
            PROTOCOL,
            "",
            '"± x" is one binomial standard error (at least that of 5 %); bias is mean ± its standard error '
            'against the planted effect. "p <= 0.05" is the randomization test alone (raw coefficient, the '
            'rule\'s), before the pre-trend check; "randomization-t" the same test on the studentized '
            'coefficient (measured, not used); "material gate" the alternative gate rejected before.',
            "",
            table(result),
            "",
            "## Against the targets",
            "",
            *_targets(result),
            "",
            f"## The pre-trend check's level (the rule withholds at p < {PRETREND_ALPHA:.2f})",
            "",
            "Confident verdicts if a pre-trend in the estimate's direction withheld the verdict at other "
            "levels (a looser level buys power by calling more rising pilots improved).",
            "",
            gate_table(result),
            "",
            "## What an oracle could do in these worlds",
            "",
            oracle_text(result["oracle"]),  # type: ignore[arg-type]
            "",
        ]
    )


def _tuning_summary(results: list[dict[str, object]]) -> dict[str, object]:
    """Mean ± sd over the tuning seeds of each design's shares and of the oracle's powers."""
    rows = []
    for i, first in enumerate(results[0]["designs"]):  # type: ignore[arg-type]
        per = [r["designs"][i] for r in results]  # type: ignore[index]
        keys = ["confident", "improved", "p_below_005", "p_below_005_t", "cannot_tell", "coverage"]
        row: dict[str, object] = {"design": first["design"]}
        for k in keys + [f"gate {a:.2f}" for a in GATE_ALPHAS]:
            vals = [(p["confident_by_pretrend_alpha"][k[5:]] if k.startswith("gate") else p[k]) for p in per]
            shares = [v["share"] for v in vals if v]
            row[k] = (
                {"mean": round(float(np.mean(shares)), 4), "sd": round(float(np.std(shares, ddof=1)), 4)}
                if len(shares) == len(per)
                else None
            )
        rows.append(row)
    oracle = {
        k: {"mean": round(float(np.mean(v)), 4), "sd": round(float(np.std(v, ddof=1)), 4)}
        for k, v in {
            name: [float(r["oracle"][name]["power"]) for r in results]  # type: ignore[index]
            for name in ("rule_known_spread", "rule_t15", "best_rule", "best_rule_old_rates")
        }.items()
    }
    return {"seeds": [r["seed"] for r in results], "designs": rows, "oracle_power": oracle}


def tuning_report(summary: dict[str, object], command: str, seconds: float) -> str:
    def ms(v: dict[str, float] | None) -> str:
        return "—" if not v else f"{100 * v['mean']:.1f} ± {100 * v['sd']:.1f}"

    cols = ["confident", "improved", "p_below_005", "p_below_005_t", "coverage"]
    cols += [f"gate {a:.2f}" for a in GATE_ALPHAS]
    lines = [
        "# Outcomes simulation study: TUNING seeds (not a held-out report)",
        "",
        f"Command: `{command}`; {seconds} s. Mean ± sd (percent) over the tuning seeds "
        f"{summary['seeds']}, the only seeds the rule's choices were diagnosed and tuned on; the held-out "
        "report is eval/results/outcomes.md.",
        "",
        "| design | " + " | ".join(cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for r in summary["designs"]:  # type: ignore[attr-defined]
        lines.append(f"| {r['design']} | " + " | ".join(ms(r[c]) for c in cols) + " |")
    lines += ["", "Oracle power at +10 NPS, 8 vs 8 (see `oracle_bound`): "]
    lines += [f"- {k}: {ms(v)}" for k, v in summary["oracle_power"].items()]  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


def _run_seed(args: tuple[int, int]) -> dict[str, object]:
    return run(*args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--worlds", type=int, default=200, help="worlds per design (some designs use more or fewer)"
    )
    ap.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    ap.add_argument("--tuning", action="store_true", help=f"run the tuning seeds {TUNING_SEEDS} instead")
    ap.add_argument("--out", default=None, help="results JSON (the .md is written beside it)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.tuning:
        command = f".venv/bin/python eval/outcomes.py --tuning --worlds {args.worlds}"
        with ProcessPoolExecutor(max_workers=len(TUNING_SEEDS)) as pool:
            results = list(pool.map(_run_seed, [(args.worlds, s) for s in TUNING_SEEDS]))
        seconds = round(time.perf_counter() - t0, 1)
        summary = {**_tuning_summary(results), "protocol": PROTOCOL, "seconds": seconds, "runs": results}
        out = Path(args.out or RESULTS / "outcomes_tuning.json")
        text = tuning_report(summary, command, seconds)
    else:
        command = f".venv/bin/python eval/outcomes.py --worlds {args.worlds} --seed {args.seed}"
        summary = run(args.worlds, args.seed)
        summary["seconds"] = round(time.perf_counter() - t0, 1)
        summary["protocol"] = PROTOCOL
        summary["table"] = table(summary)
        out = Path(args.out or RESULTS / "outcomes.json")
        text = report(summary, command)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
