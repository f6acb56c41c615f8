"""Response models of the understand routes (`themes`, `emerging`, `sentiment`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from cxchange.core.api_models import Out


class ThemeRow(Out):
    # Present with `by` only (the route leaves unset keys out): the group's value (unit, channel, …).
    group: Any = None
    id: int
    name: str
    parent: str | None
    keywords: list[str]
    count: int
    share: float | None
    sentiment: float | None
    positive_share: float | None
    # NPS rows only (the route leaves unset keys out): the keys NPS rows always had.
    nps_n: int | None = None
    nps_with: float | None = None
    nps_without: float | None = None
    # Impact on `metric`: negative = the score is worse with the theme (higher is better for every metric).
    impact: float | None
    ci_low: float | None
    ci_high: float | None
    metric: str  # nps | csat | ces | rating
    score_n: int  # answers of the metric that mention the theme
    score_with: float | None
    score_without: float | None
    # Keywords that alone tag too large a share of the comments.
    too_broad: list[str]


class Window(Out):
    since: date
    until: date  # exclusive
    comments: int


class Baseline(Window):
    windows: int


class EmergingItem(Out):
    theme: str
    kind: str  # "spike" (a known theme) or "new" (a phrase cluster)
    theme_id: int | None
    recent_count: int
    baseline_mean: float
    z: float
    # Shares: spikes only (the route leaves unset keys out).
    recent_share: float | None = None
    baseline_share: float | None = None
    terms: list[str]
    examples: list[str]


class EmergingReport(Out):
    window: Window
    baseline: Baseline
    themes_tested: int
    unthemed_comments: int
    items: list[EmergingItem]


class SentimentOut(Out):
    text: str
    score: float | None  # None: nothing to score (empty text, unsupported language)
    label: str  # negative | neutral | positive | unsupported | empty
