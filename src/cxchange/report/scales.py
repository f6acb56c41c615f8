"""The report over ratings on more than one scale (`measure.mixed`): a score card per scale, and theme
impact, key drivers and units left out with the reason, since each of them is one number over the scope.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
from sqlalchemy import Engine

from cxchange.core.period import Period
from cxchange.measure.mixed import SCALE_KEY, MixedScalesError, scale_label
from cxchange.measure.rating_scope import check_rating_scope
from cxchange.measure.service import GroupedCounts

# The way out a report gives: it has no source filter, the commands do.
REPORT_HOW = (
    "theme impact, key drivers and ratings by unit are left out of this report; per source, "
    "`cxchange themes --metric rating --where source={source}` and `cxchange drivers --where source={source}`"
)
# Ratings by unit read the previous period too (each unit's change): on another scale there, only they
# are left out.
UNITS_HOW = (
    "ratings by unit (their change spans this period and the previous one) are left out of this report; "
    "per source, `cxchange scores --metric rating --by org:LEVEL --where source={source}`"
)


def score_parts(
    metric: str, meta: dict[str, str], counted: GroupedCounts
) -> Iterator[tuple[str, dict[str, str], pl.DataFrame, int | None]]:
    """(key, labels, counts, rating scale) of each score card: one, or one per rating scale when the
    counts were split (`grouped_counts(split=True)`), labelled with the scale and its sources."""
    if SCALE_KEY not in counted.keys:
        yield metric, meta, counted.frame, counted.scale
        return
    for scale, sources in counted.by_scale.items():
        label = scale_label(scale)
        part = counted.frame.filter(pl.col(SCALE_KEY) == label).drop(SCALE_KEY)
        words = {
            "label": f"{meta['label']} ({label})",
            "scale": f"mean rating on {label} ({', '.join(sources)}); never averaged with another scale",
        }
        yield f"{metric}-{label}", {**meta, **words}, part, scale


def mixed_note(engine: Engine, where: tuple[str, ...], period: Period, how: str = REPORT_HOW) -> str | None:
    """Why the rating-based sections are left out (the sources and their scales), or None: one scale."""
    try:
        check_rating_scope(engine, where, period, how=how)
    except MixedScalesError as exc:
        return str(exc)
    return None


def left_out(note: str) -> dict[str, Any]:
    """The key drivers' section when they are not computed."""
    return {"drivers": [], "n": 0, "r2": None, "note": note}
