"""Compare: each group against the rest, or against its own previous period, Holm-adjusted.

The counts are `measure.service.grouped_counts`'s; ratings on more than one scale in scope are refused
(`measure.mixed`): the rest of a source on 1-5 would be sources on 1-10.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine, func, select

from cxchange.core.errors import InputError, NoDataError
from cxchange.core.output import rounded as _round
from cxchange.core.period import Period
from cxchange.listen.query import apply_filters, parse_where
from cxchange.listen.tables import feedback as feedback_table
from cxchange.measure.mixed import NARROW, RATE_WITHIN, check_one_scale
from cxchange.measure.rating_scope import check_rating_scope
from cxchange.measure.service import (
    TIME_KEYS,
    ScoreQuery,
    ScoreRows,
    _org_tree_if,
    grouped_counts,
    in_default_metric,
    no_answers,
    scope_text,
)
from cxchange.measure.stats import compare_from_counts, holm


def _compared_period(engine: Engine, q: ScoreQuery) -> Period:
    """The query's period with both ends: by default up to the newest answer in its scope (its metric,
    filters and start), 90 days long. The newest feedback of the whole store anchored a filtered
    comparison on days its units or source had no answers in."""
    since, until = q.period.since, q.period.until
    if until is None:
        filters = parse_where(q.where)
        tree = _org_tree_if(engine, bool(filters.units))
        newest = select(func.max(feedback_table.c.received_at))
        answered = newest.where(feedback_table.c[q.metric.lower()].is_not(None))
        with engine.connect() as conn:
            last = conn.execute(apply_filters(answered, filters, period=q.period, tree=tree)).scalar()
            if (
                last is None
                and conn.execute(apply_filters(newest, filters, period=q.period, tree=tree)).scalar()
            ):
                raise no_answers(q)  # dated feedback, but none answers this metric
        if last is None:
            raise InputError(
                "no dated feedback to compare periods: date feedback imported without a date from a column "
                "kept at import with `cxchange redate COLUMN`, or use --vs rest"
            )
        if isinstance(last, str):
            last = datetime.fromisoformat(last)
        until = last.date() + timedelta(days=1)
    return Period(until - timedelta(days=90) if since is None else since, until)


def _span(period: Period) -> str:
    """A bounded period as the days it holds: "2015-05-20 to 2015-08-17" (its end is exclusive)."""
    last = None if period.until is None else period.until - timedelta(days=1)
    return f"{period.since} to {last}"


def compare(engine: Engine, q: ScoreQuery, vs: str = "rest") -> ScoreRows:
    """Each group against the rest (or against its own previous period), Holm-adjusted. No answers in
    scope (in the compared period) is a NoDataError. No metric named: the scope's default."""
    q = in_default_metric(engine, q)
    metric = q.metric.lower()
    if vs not in ("rest", "previous-period"):
        raise InputError(f"unknown comparison {vs!r}; use rest or previous-period")
    if not q.by:
        raise InputError("compare needs at least one --by")
    timed = [k for k in q.by if k in TIME_KEYS]
    if vs == "previous-period" and timed:
        # Each group meets itself a period earlier: a month never does (every row was n_other 0).
        raise InputError(
            f"--vs previous-period compares each group with the same group in the period before; grouped "
            f"by {timed[0]}, no group has one: use --vs rest, or `scores --by {timed[0]}` for the trend"
        )
    periods: dict[str, str] = {}
    if vs == "rest":
        counted = grouped_counts(engine, q)
        frame = counted.frame
        if frame.is_empty():
            raise no_answers(q)
        check_one_scale(counted.by_scale, scope_text(q), RATE_WITHIN)  # the rest of a source is on another
        total = frame.group_by("__value").agg(pl.col("__count").sum())
        pairs = []
        for key_vals, part in frame.group_by(list(q.by), maintain_order=True):
            other = total.join(
                part.select("__value", pl.col("__count").alias("__g")), on="__value", how="left"
            )
            other = other.with_columns((pl.col("__count") - pl.col("__g").fill_null(0)).alias("__rest"))
            pairs.append((key_vals, part["__value"], part["__count"], other["__value"], other["__rest"]))
    else:
        current = replace(q, period=_compared_period(engine, q))
        counted = grouped_counts(engine, current)
        cur = counted.frame
        if cur.is_empty():
            raise no_answers(current)
        earlier = current.period.previous()
        if metric == "rating" and "source" not in q.by:  # a group's change spans both periods' scales
            check_rating_scope(engine, q.where, Period(earlier.since, current.period.until), how=NARROW)
        prev = grouped_counts(engine, replace(q, period=earlier)).frame
        if prev.is_empty():
            # Every row was "n_other 0" with empty cells, exit 0 (Alexa reviews: 11 weeks of data, so the
            # 90 days before the last 90 held nothing): no comparison is an answer of its own.
            raise NoDataError(
                f"no {metric} answers in the previous period ({_span(earlier)}) to compare "
                f"{_span(current.period)} with ({scope_text(q)}): choose a shorter period with --since, "
                "or use --vs rest"
            )
        # Which periods: without --since it is the 90 days up to the newest feedback, said on every row.
        periods = {"period": _span(current.period), "previous_period": _span(earlier)}
        pairs = []
        for key_vals, part in cur.group_by(list(q.by), maintain_order=True):
            cond = pl.all_horizontal([pl.col(k).eq_missing(v) for k, v in zip(q.by, key_vals, strict=True)])
            before = prev.filter(cond)
            pairs.append((key_vals, part["__value"], part["__count"], before["__value"], before["__count"]))
    rows: list[dict[str, Any]] = []
    for key_vals, va, ca, vb, cb in pairs:
        group = dict(zip(q.by, key_vals, strict=True))
        scale = counted.scale_for(group)  # by source: that source's scale, not the widest in scope
        d = compare_from_counts(
            metric, va.to_list(), ca.to_list(), vb.to_list(), cb.to_list(), level=q.level, scale=scale
        )
        rows.append(
            {
                "group": group,
                "vs": vs,
                "n": d.n_a,
                "score": _round(d.score_a),
                "n_other": d.n_b,
                "score_other": _round(d.score_b),
                "diff": _round(d.diff),
                "ci_low": _round(d.ci_low),
                "ci_high": _round(d.ci_high),
                "p_value": _round(d.p_value, 6),
                "small": d.n_a < q.min_n or d.n_b < q.min_n,
                **periods,
            }
        )
    adjusted = holm([r["p_value"] if r["p_value"] is not None else float("nan") for r in rows])
    for r, p in zip(rows, adjusted, strict=True):
        r["p_adjusted"] = _round(float(p), 6)
        r["significant"] = bool(r["p_adjusted"] is not None and r["p_adjusted"] < 1 - q.level)
    return ScoreRows(rows, metric)
