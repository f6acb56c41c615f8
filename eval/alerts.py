"""Alerts that do not cry wolf (issue 17, part 6): false alerts on null streams and the delay to catch a
drop, for the drop rule of `cxchange alerts` (`cxchange.sustain.sequential.drop_check`, the function
`alerts.evaluate` calls on the unit's daily answers).

Streams: one unit, Poisson(10) NPS answers a day (~300 a month), latent NPS 30 (promoters 50 %, passives
30 %, detractors 20 %), drawn per answer. The rule is `--drop 10 --window 30d`: baseline = the 365 days
before the window, the CUSUM runs over the window's days. The rule is judged **every day** (an import a
day, the worst case for repeated looks) through one quarter (91 days):

- null streams: share of quarters with at least one false alert, and false alerts per quarter (distinct
  episodes: a firing within the window after the rule's previous alert is the same episode and sends
  nothing); target ≤ 5 %;
- drop streams: NPS falls by 10 points on the quarter's first day; delay until the rule fires (target:
  within 30 days), share caught within 30 and 60 days, median delay;
- 20 rules (20 null units) judged together with Benjamini–Hochberg at each look: share of quarters with
  any false alert among the 20 (for information: FDR control per look is not a family-wise bound).

Run: `.venv/bin/python eval/alerts.py [--streams N] [--seed S]`; writes eval/results/alerts.json.
Fixed protocol: seed 17, 1000 streams per case (simulation error of a 5 % share: 0.7 points).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from cxchange.sustain.sequential import discoveries, drop_check

BASELINE_DAYS, WINDOW, QUARTER, PER_DAY, DROP = 365, 30, 91, 10.0, 10.0


def _stream(
    rng: np.random.Generator, days: int, fall_from: int | None, fall: float
) -> tuple[np.ndarray, ...]:
    """Per-day (sum, sum of squares, count) of one-answer NPS scores (+100 / 0 / −100)."""
    n = rng.poisson(PER_DAY, days)
    nps = np.full(days, 30.0)
    if fall_from is not None:
        nps[fall_from:] -= fall
    promoter = 0.35 + nps / 200.0
    detractor = 0.35 - nps / 200.0
    p = rng.binomial(n, promoter)
    d = rng.binomial(n - p, detractor / (1.0 - promoter))
    s = 100.0 * (p - d)
    return s, 100.0 * 100.0 * (p + d), n.astype(float)


def _looks(s: np.ndarray, ss: np.ndarray, n: np.ndarray, start: int) -> list[tuple[int, float, int | None]]:
    """(look day, p-value, excursion start day) for each daily look from `start` for one quarter."""
    cs, css, cn = (np.concatenate([[0.0], np.cumsum(a)]) for a in (s, ss, n))
    out = []
    for t in range(start, start + QUARTER):
        w0, b0 = t - WINDOW, t - WINDOW - BASELINE_DAYS
        chk = drop_check(cs[w0] - cs[b0], css[w0] - css[b0], int(cn[w0] - cn[b0]), s[w0:t], n[w0:t], DROP)
        out.append((t, chk.p_value, None if chk.since is None else w0 + chk.since))
    return out


def _episodes(looks: list[tuple[int, float, int | None]]) -> int:
    """Alerts a rule sends: a firing within the window after the rule's previous alert is the same
    episode and sends nothing (as `alerts.evaluate` judges it)."""
    last: int | None = None
    count = 0
    for t, p, _since in looks:
        if p <= 0.05 and (last is None or t - last >= WINDOW):
            count += 1
            last = t
    return count


def _share(k: int, n: int) -> dict[str, float]:
    p = k / n
    return {"share": round(p, 4), "sim_error": round(math.sqrt(max(p * (1 - p), 0.05 * 0.95) / n), 4)}


def run(streams: int, seed: int) -> dict[str, object]:
    start = BASELINE_DAYS + WINDOW
    days = start + QUARTER
    rng = np.random.default_rng([seed, 0])
    any_false, episodes = 0, []
    for _ in range(streams):
        fired = _episodes(_looks(*_stream(rng, days, None, 0.0), start))
        any_false += bool(fired)
        episodes.append(fired)
    rng = np.random.default_rng([seed, 1])
    delays = []
    for _ in range(streams):
        looks = _looks(*_stream(rng, days, start, DROP), start)
        first = next((t for t, p, _s in looks if p <= 0.05), None)
        delays.append(math.inf if first is None else first - start + 1)  # judged at the end of day t
    rng = np.random.default_rng([seed, 2])
    family, units = 0, 20
    for _ in range(streams // 10):
        per_unit = [_looks(*_stream(rng, days, None, 0.0), start) for _ in range(units)]
        hit = any(any(discoveries([u[i][1] for u in per_unit])) for i in range(QUARTER))
        family += hit
    d = np.array(delays)
    caught = np.isfinite(d)
    return {
        "seed": seed,
        "streams": streams,
        "setup": {"baseline_days": BASELINE_DAYS, "window_days": WINDOW, "quarter_days": QUARTER,
                  "answers_per_day": PER_DAY, "latent_nps": 30, "drop": DROP, "looks": "daily"},
        "null_quarters_with_false_alert": _share(any_false, streams),
        "false_alerts_per_quarter": {"mean": round(float(np.mean(episodes)), 4),
                                     "se": round(float(np.std(episodes) / math.sqrt(streams)), 4)},
        "drop_caught_within_30_days": _share(int((d <= 30).sum()), streams),
        "drop_caught_within_60_days": _share(int((d <= 60).sum()), streams),
        "drop_caught_within_quarter": _share(int(caught.sum()), streams),
        "median_delay_days": float(np.median(d)) if caught.mean() > 0.5 else None,
        "mean_delay_days_when_caught": round(float(d[caught].mean()), 1) if caught.any() else None,
        "twenty_null_rules_bh_quarters_with_any_false_alert": _share(family, streams // 10),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "alerts.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    result = run(args.streams, args.seed)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
