"""Response models of the measure routes (`scores`, `compare`)."""

from __future__ import annotations

from typing import Any

from cxchange.core.api_models import Out


class ScoreRow(Out):
    # The grouping columns asked for with `by` (unit, channel, month, …) and their values: open.
    group: dict[str, Any]
    n: int
    score: float | None
    ci_low: float | None
    ci_high: float | None
    small: bool
    # Present for NPS only (the route leaves unset keys out).
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    # Present for CSAT only: the mean rating.
    mean: float | None = None


class CompareRow(Out):
    group: dict[str, Any]
    vs: str
    n: int
    score: float | None
    n_other: int
    score_other: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    small: bool
    p_adjusted: float | None
    significant: bool
    period: str | None = None  # --vs previous-period: the days compared
    previous_period: str | None = None
