"""Scorecards for incentives: per unit at an org level, for the latest complete month or quarter.

Per unit: the score with its interval (`cxchange.measure.service.scores`), the change vs the previous
calendar period with its interval (`cxchange.measure.stats.compare_from_counts` on the counts of
`cxchange.measure.service.grouped_counts`), `target_met` — true only when the interval's lower bound
reaches the target, false when its upper bound is below it, null ("not yet clear") otherwise — case
handling from `cxchange.sustain.case_stats.stats` (the same count as the overview and `cases stats`:
cases whose feedback was received in the period; open and overdue are their state now; resolved
within SLA = resolved by the due date, as a % of the period's cases) and recognitions received in the
period.

The period: the latest month / quarter that is complete on `as_of` (default: the day of the newest
feedback), i.e. whose last day is on or before it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine, func, select

from cxchange.core.errors import InputError, NoDataError
from cxchange.core.output import rounded as _r  # the one rounding rule
from cxchange.core.period import Period
from cxchange.core.types import as_datetime
from cxchange.listen.models import Feedback
from cxchange.measure.rating_scope import check_rating_scope
from cxchange.measure.service import (
    ScoreQuery,
    compare_count_frames,
    grouped_counts,
    in_default_metric,
    scores,
)
from cxchange.org.tree import load_org_tree
from cxchange.sustain.case_stats import stats as case_stats
from cxchange.sustain.models import Recognition

PERIODS = ("month", "quarter")
METRICS = ("nps", "csat", "ces", "rating")


def _period_bounds(kind: str, d: date) -> tuple[date, date]:
    """[start, end) of the month/quarter containing d."""
    months = 1 if kind == "month" else 3
    m0 = (d.month - 1) // months * months + 1
    start = date(d.year, m0, 1)
    m1 = m0 + months
    end = date(d.year + (m1 - 1) // 12, (m1 - 1) % 12 + 1, 1)
    return start, end


def latest_complete(kind: str, as_of: date) -> tuple[date, date]:
    start, end = _period_bounds(kind, as_of)
    if end - timedelta(days=1) <= as_of:
        return start, end
    return _period_bounds(kind, start - timedelta(days=1))


def _label(kind: str, start: date) -> str:
    return f"{start:%Y-%m}" if kind == "month" else f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def scorecard(
    engine: Engine,
    *,
    period: str = "quarter",
    by: str | None = None,
    metric: str | None = None,
    target: float | None = None,
    as_of: date | None = None,
    level: float = 0.95,
    min_n: int = 30,
) -> list[dict[str, Any]]:
    """One row per unit at `by` (default: the org's lowest level) on `metric` (default: the store's,
    as `scores`: NPS when it has NPS answers, else its most-answered score)."""
    if by is None:
        by = f"org:{load_org_tree(engine).lowest_level()}"
    if not metric:
        metric = in_default_metric(engine, ScoreQuery(metric="")).metric
    if period not in PERIODS:
        raise InputError(f"--period wants month or quarter, got {period!r}")
    if not by.startswith("org:") or len(by) <= 4:
        raise InputError(f"--by wants org:LEVEL (e.g. org:region, org:store), got {by!r}")
    metric = metric.lower()
    if metric not in METRICS:
        raise InputError(f"--metric wants one of {', '.join(METRICS)}, got {metric!r}")
    if as_of is None:
        with engine.connect() as conn:
            last = as_datetime(conn.execute(select(func.max(Feedback.received_at))).scalar())
        if last is None:
            raise NoDataError("no dated feedback yet: nothing to score")
        as_of = last.date()
    start, end = latest_complete(period, as_of)
    p_start, p_end = _period_bounds(period, start - timedelta(days=1))
    q = ScoreQuery(metric=metric, by=(by,), period=Period(start, end), level=level, min_n=min_n)
    if metric == "rating":  # a unit's mean of 1-5 and 1-10 answers, or units on each, side by side
        one = f"`cxchange scores --metric rating --by {by} --where source={{source}}`"
        how = f"a scorecard is on one scale, so score each scale's units with {one}"
        # Over the previous period too: each unit's change is this one's mean minus that one's.
        check_rating_scope(engine, period=Period(p_start, end), how=how)
    current = scores(engine, q)
    if not current:
        raise NoDataError(
            f"no {metric} answers in scope ({_label(period, start)}: {start} to {end - timedelta(days=1)})"
        )
    counted = grouped_counts(engine, q)
    cur_counts, scale = counted.frame, counted.scale
    prev_counts = grouped_counts(engine, replace(q, period=Period(p_start, p_end))).frame

    tree = load_org_tree(engine)
    ancestor = tree.ancestor_map(by[4:])
    level_units = {
        u.name: u for u in tree.units.values() if u.id in set(ancestor) and ancestor[u.id] == u.name
    }
    cases = {r["group"][by]: r for r in case_stats(engine, by=by, since=start, until=end)}
    recs = _recognitions(engine, ancestor, start, end)

    rows = []
    for r in current:
        name = r["group"][by]
        if name is None:
            continue
        cur = cur_counts.filter(pl.col(by) == name)
        prev = prev_counts.filter(pl.col(by) == name)
        change = change_lo = change_hi = change_p = prev_score = None
        if prev.height:
            d = compare_count_frames(metric, cur, prev, level=level, scale=scale)
            prev_score, change = _r(d.score_b), _r(d.diff)
            change_lo, change_hi, change_p = _r(d.ci_low), _r(d.ci_high), _r(d.p_value, 6)
        met: bool | None = None
        if target is not None and r["ci_low"] is not None and r["ci_high"] is not None:
            met = True if r["ci_low"] >= target else False if r["ci_high"] < target else None
        unit = level_units.get(name)
        c = cases.get(name, {})
        rows.append(
            {
                "period": _label(period, start),
                "unit": unit.code if unit else None,
                "name": name,
                "metric": metric,
                "n": r["n"],
                "score": r["score"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "small": r["small"],
                "previous_period": _label(period, p_start),
                "previous_score": prev_score,
                "change": change,
                "change_ci_low": change_lo,
                "change_ci_high": change_hi,
                "change_p_value": change_p,
                "target": target,
                "target_met": met,
                "target_status": "no target"
                if target is None
                else {True: "met", False: "not met", None: "not yet clear"}[met],
                "cases": c.get("cases", 0),
                "cases_open": c.get("open", 0) + c.get("contacted", 0),  # not yet resolved
                "cases_overdue": c.get("overdue", 0),
                "resolved_within_sla_pct": (
                    round(100.0 * c["resolved_within_sla"] / c["cases"], 1) if c.get("cases") else None
                ),
                "recognitions": recs.get(name, 0),
            }
        )
    return sorted(rows, key=lambda x: (x["unit"] or "", x["name"]))


def _recognitions(engine: Engine, ancestor: dict[int, str], start: date, end: date) -> dict[str, int]:
    lo, hi = datetime.combine(start, time.min), datetime.combine(end, time.min)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Recognition.unit_id, func.count())
            .where(Recognition.received_at >= lo, Recognition.received_at < hi)
            .group_by(Recognition.unit_id)
        ).all()
    out: dict[str, int] = {}
    for unit_id, n in rows:
        name = ancestor.get(unit_id) if unit_id is not None else None
        if name is not None:
            out[name] = out.get(name, 0) + int(n)
    return out
