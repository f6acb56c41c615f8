"""Alert statistics that do not cry wolf: a CUSUM per drop rule, false discovery control across rules.

A drop rule is judged after every import, so a two-window test at p < 0.05 on every look fires on noise
again and again. Instead each drop rule runs a **CUSUM** (Page 1954) on the unit's daily answers: the
log-likelihood ratio of "the mean fell by POINTS" against "it stayed at the baseline", accumulated day by
day and reset at zero, so it forgets good days and grows only while the fall is sustained. It grows on
average only when the fall exceeds POINTS/2 (the reference value): POINTS is the fall the rule is tuned to
catch fastest.

Its p-value is the chance that, without any change, a CUSUM would reach the present value at some time
within a quarter (91 days): 1 − exp(−quarter / ARL), with the average run length ARL of a CUSUM at that
threshold from Siegmund's approximation for a Gaussian random walk (with his 0.583·σ correction for
discrete steps). Rules judged at one look are then thresholded together by Benjamini–Hochberg at q =
`ALPHA` (scipy's `false_discovery_control`): many rules do not multiply the false alarms.

The baseline (mean and spread of one answer) is the year before the rule's window; `eval/alerts.py`
measures the false alerts per rule per quarter on null streams and the delay to catch a 10-point drop
with that estimated baseline, judged every day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
QUARTER_DAYS = 91
_RHO = 0.583  # Siegmund's overshoot constant for Gaussian steps


@dataclass(frozen=True)
class DropCheck:
    statistic: float  # the CUSUM now (log-likelihood ratio)
    p_value: float  # chance of a CUSUM this high within a quarter without any change
    since: int | None  # index of the day the present excursion began (None: the CUSUM is at zero)
    baseline: float  # mean of one answer in the baseline
    recent: float | None  # mean of one answer since the excursion began
    n_baseline: int
    n_recent: int

    @property
    def fall(self) -> float | None:
        return None if self.recent is None else self.baseline - self.recent


def quarter_false_alarm(h: float, info_per_day: float, days: int = QUARTER_DAYS) -> float:
    """P(a CUSUM without change reaches h within `days`), information `info_per_day` a day.

    In information units the log-likelihood ratio is a random walk with drift −1/2 and variance 1 per
    unit; for Brownian motion the CUSUM's average run length to h is 2(e^h − h − 1), and discrete daily
    steps of spread sqrt(info) overshoot by about 0.583·sqrt(info), so h is raised by twice that."""
    if h <= 0 or info_per_day <= 0:
        return 1.0
    hh = h + 2 * _RHO * math.sqrt(info_per_day)
    arl = 2.0 * (math.expm1(hh) - hh) if hh < 700 else math.inf
    return float(-math.expm1(-days * info_per_day / arl)) if arl > 0 else 1.0


def drop_check(
    baseline_sum: float,
    baseline_sumsq: float,
    baseline_n: int,
    day_sum: Sequence[float] | np.ndarray,
    day_n: Sequence[float] | np.ndarray,
    drop: float,
) -> DropCheck:
    """The CUSUM for a fall of `drop` over the days (per-day sum and count of one-answer scores) against
    the baseline's mean and spread."""
    if baseline_n < 2:
        raise ValueError("the baseline needs at least 2 answers")
    if drop <= 0:
        raise ValueError("the drop to detect must be positive")
    s, n = np.asarray(day_sum, dtype=float), np.asarray(day_n, dtype=float)
    mu0 = baseline_sum / baseline_n
    var = max((baseline_sumsq - baseline_n * mu0 * mu0) / (baseline_n - 1), 1e-9)
    # Per answer the log-likelihood ratio of mean mu0 − drop against mu0 is drop/var·(mu0 − x − drop/2).
    step = drop / var * (n * mu0 - s - n * drop / 2)
    cusum, since, start = 0.0, None, 0
    for i, inc in enumerate(step):
        if cusum == 0.0:
            start = i
        cusum = max(0.0, cusum + float(inc))
        since = start if cusum > 0 else None
    days = max(int((n > 0).sum()), 1)
    info = float(n.sum()) / days * drop * drop / var
    recent = n_recent = None
    if since is not None:
        n_recent = int(n[since:].sum())
        recent = float(s[since:].sum() / n_recent) if n_recent else None
    return DropCheck(
        statistic=cusum,
        p_value=quarter_false_alarm(cusum, info) if cusum > 0 else 1.0,
        since=since,
        baseline=mu0,
        recent=recent,
        n_baseline=int(baseline_n),
        n_recent=n_recent or 0,
    )


def below_p_value(score: float, se: float, value: float) -> float:
    """Two-sided-equivalent p of "the score lies below VALUE": alone, p < 0.05 exactly when the upper
    95 % bound is below VALUE (the rule's earlier meaning)."""
    from scipy import stats

    if se <= 0:
        return 0.0 if score < value else 1.0
    return float(min(1.0, 2.0 * stats.norm.sf((value - score) / se)))


def discoveries(p_values: Sequence[float], q: float = ALPHA) -> list[bool]:
    """Benjamini–Hochberg at false discovery rate q across the rules judged at one look."""
    from scipy import stats

    if not p_values:
        return []
    adjusted = stats.false_discovery_control(np.asarray(p_values, dtype=float), method="bh")
    return [bool(a <= q) for a in adjusted]
