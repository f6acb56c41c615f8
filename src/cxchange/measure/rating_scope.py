"""Refuse a scope whose ratings are on more than one scale before a computation that needs one scale.

Theme impact, drivers, the simulator, opportunities, the scorecard and alerts on `rating` give one
number per theme, driver or unit over the whole scope: a mean of 1-5 and 1-10 answers would be in it
(`measure.mixed`). One aggregate by source answers it (the fast paths of `grouped_counts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from cxchange.core.period import ALL_TIME, Period
from cxchange.measure.mixed import ONE_SCALE, check_one_scale
from cxchange.measure.service import ScoreQuery, grouped_counts, scope_text


def rating_scales(
    engine: Engine, where: Sequence[str] = (), period: Period = ALL_TIME, source: str | None = None
) -> dict[int, dict[str, int]]:
    """scale -> {source: rating answers} in scope (`source`: a --source option, as a filter)."""
    q = ScoreQuery(metric="rating", by=("source",), where=(*where, *_source(source)), period=period)
    return grouped_counts(engine, q).by_scale


def check_rating_scope(
    engine: Engine,
    where: Sequence[str] = (),
    period: Period = ALL_TIME,
    *,
    source: str | None = None,
    how: str = ONE_SCALE,
) -> int | None:
    """A MixedScalesError naming the sources and their scales when the scope's ratings are on more than
    one; else the one scale (None: no ratings in scope, which the caller says its own way)."""
    q = ScoreQuery(metric="rating", where=(*where, *_source(source)), period=period)
    by_scale = rating_scales(engine, where, period, source)
    check_one_scale(by_scale, scope_text(q), how)
    return next(iter(by_scale), None)


def _source(source: str | None) -> tuple[str, ...]:
    return (f"source={source}",) if source else ()
