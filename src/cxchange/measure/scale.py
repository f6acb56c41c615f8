"""The four scores as one kind of number: each answer is worth some points, a score is their mean.

NPS: +100 a promoter (9–10), 0 a passive, −100 a detractor (0–6); CSAT: 100 a satisfied answer (4–5
on 1–5), else 0, so the mean is the % satisfied `cxchange scores` reports; CES and ratings: the answer
itself. Theme impact and the simulator then need one formula for all four. Higher is better for all
four: CES here is CES 2.0 (1–7, 7 = very easy), as the surveys, the demo and the report define it.

Pure: values in, numbers out. numpy is imported where it is used: the CLI reads this module's help
text at start-up, and `cxchange scores` never loads numpy (see `measure.stats`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cxchange.core.errors import InputError
from cxchange.measure.stats import METRICS

if TYPE_CHECKING:
    import numpy as np

# What a score of each metric is, in words for titles and messages.
LABELS = {"nps": "NPS", "csat": "CSAT (% satisfied)", "ces": "mean CES", "rating": "mean rating"}
AN_ANSWER = {"nps": "an NPS", "csat": "a CSAT", "ces": "a CES", "rating": "a rating"}  # "… answer"
# NPS categories in the order the impact and simulator cells use: promoter, passive, detractor.
NPS_CATEGORY_POINTS = (100.0, 0.0, -100.0)


def check_metric(metric: str) -> str:
    m = metric.strip().lower()
    if m not in METRICS:
        raise InputError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return m


def points(metric: str, values: np.ndarray) -> np.ndarray:
    """Each answer's points: a score is their mean (see the module's text)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    if metric == "nps":
        return np.where(v >= 9, 100.0, np.where(v <= 6, -100.0, 0.0))
    if metric == "csat":
        return np.where(v >= 4, 100.0, 0.0)
    return v


def default_metric(answers: Mapping[str, int]) -> str:
    """NPS when the scope has NPS answers, otherwise the metric it has most answers of (ties: the
    order of METRICS); NPS when it has none at all, so the error names what is missing."""
    if answers.get("nps", 0) > 0:
        return "nps"
    best = max(METRICS, key=lambda m: (answers.get(m, 0), -METRICS.index(m)))
    return best if answers.get(best, 0) > 0 else "nps"


def impact_title(metric: str) -> str:
    """The themes table's title: what impact is."""
    label = LABELS[metric]
    return f"themes (impact = {label} all − {label} without the theme)"


IMPACT_HELP = (
    "Score the impact is on: nps, csat (% satisfied, 4–5), ces or rating (means). Default: nps when "
    "the scope has NPS answers, else the metric it has most answers of. Impact = score of all answers − "
    "score of those not mentioning the theme; negative: the score is worse with the theme (higher is "
    "better for every metric; CES is 1–7, 7 = very easy). rating: sources on different scales (1–5, "
    "1–10) are never averaged: a scope holding both is refused; narrow it with --where source=NAME."
)

METRIC_HELP = (
    "Score to simulate on: nps, csat (% satisfied, 4–5), ces or rating (means). Default: nps when the "
    "scope has NPS answers, else the metric it has most answers of. A fixed customer's answer becomes a "
    "comparable customer's; a positive gain is better for every metric (CES: 7 = very easy). rating: "
    "a scope with sources on 1–5 and 1–10 is refused; narrow it with --where source=NAME."
)
