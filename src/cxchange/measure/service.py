"""Scores and comparisons over stored feedback.

The database does the heavy part — one GROUP BY to (group keys, score value, count) — and the pure
functions in `cxchange.measure.stats` turn each group's counts into a score with its interval.
Week and quarter buckets and org roll-ups are derived from day/month and unit aggregates here, so
the SQL stays the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl
from sqlalchemy import Engine, func, select
from sqlalchemy.sql.elements import ColumnElement

from cxchange.core.config import get_settings
from cxchange.core.errors import InputError, NoDataError
from cxchange.core.output import counted
from cxchange.core.output import rounded as _round  # the one rounding rule
from cxchange.core.period import ALL_TIME, Period
from cxchange.listen import columnar
from cxchange.listen.query import Filters, apply_filters, parse_where, source_scales
from cxchange.listen.tables import feedback as feedback_table
from cxchange.listen.tables import source as source_table
from cxchange.measure.mixed import NARROW, group_scale, split_by_scale
from cxchange.measure.scale import default_metric
from cxchange.measure.stats import (
    CI_METHODS,
    METRICS,
    Difference,
    compare_from_counts,
    score_from_counts,
)

if TYPE_CHECKING:
    from cxchange.org.tree import OrgTree

TIME_KEYS = ("day", "week", "month", "quarter", "year")
PLAIN_KEYS = ("source", "channel", "unit")
T = TypeVar("T")


@dataclass(frozen=True)
class ScoreQuery:
    metric: str = "nps"
    by: Sequence[str] = ()
    where: Sequence[str] = ()
    period: Period = ALL_TIME
    ci: str | None = None
    level: float = 0.95
    min_n: int = 30

    @classmethod
    def of(
        cls,
        metric: str,
        by: Sequence[str] | None,
        where: Sequence[str] | None,
        since: date | None,
        until: date | None,
        ci: str | None,
        level: float,
        min_n: int,
    ) -> ScoreQuery:
        """The query an interface's options ask for (the CLI's, the API's, the library's), an unset
        list (None) meaning none."""
        return cls(metric, tuple(by or ()), tuple(where or ()), Period(since, until), ci, level, min_n)


@dataclass
class GroupedCounts:
    """(group keys…, value, count) rows for one metric."""

    keys: list[str]
    frame: pl.DataFrame
    scale: int | None = None  # ratings: the scope's scale, the widest when split (stats.rating_bounds)
    scales: dict[str, int] = field(default_factory=dict)  # ratings: source -> its scale
    by_scale: dict[int, dict[str, int]] = field(default_factory=dict)  # ratings: scale -> {source: n}

    def scale_for(self, group: dict[str, Any]) -> int | None:
        """The rating scale of one group's answers (`mixed.group_scale`)."""
        return group_scale(group, self.scales, self.scale)


def _check_by(by: Sequence[str]) -> None:
    for key in by:
        if key in TIME_KEYS or key in PLAIN_KEYS:
            continue
        prefix = key.split(":", 1)[0] + ":"
        if prefix in ("attr:", "org:") and len(key) > len(prefix):  # org:2 (a depth) is a whole key
            continue
        raise InputError(
            f"unknown grouping {key!r}; use month, week, quarter, year, day, source, channel, unit, "
            "org:LEVEL or attr:NAME"
        )


def _time_grain(by: Sequence[str]) -> str | None:
    """The finest time bucket to aggregate at: days for week/day, months otherwise."""
    wanted = [k for k in by if k in TIME_KEYS]
    if not wanted:
        return None
    return "day" if any(k in ("day", "week") for k in wanted) else "month"


def _sql_bucket(engine: Engine, grain: str) -> ColumnElement[Any]:
    col = feedback_table.c.received_at
    if engine.dialect.name == "postgresql":
        return func.to_char(col, "YYYY-MM-DD" if grain == "day" else "YYYY-MM")
    return func.strftime("%Y-%m-%d" if grain == "day" else "%Y-%m", col)


def _needs_org(by: Sequence[str]) -> bool:
    return any(k.startswith("org:") or k == "unit" for k in by)


@dataclass(frozen=True)
class _CountPlan:
    """What one aggregate counts, worked out once by `grouped_counts` for whichever path answers it."""

    q: ScoreQuery
    metric: str
    grain: str | None  # the time bucket to count at (None: no time key)
    filters: Filters
    tree: OrgTree | None  # loaded when a key or a filter names org units

    def unit_ids(self) -> list[int] | None:
        """The ids of the filtered units and everything below them; None: no unit filter."""
        if not self.filters.units:
            return None
        assert self.tree is not None
        ids: set[int] = set()
        for code in self.filters.units:
            ids |= self.tree.subtree_ids(code)
        return sorted(ids)


def _key_columns(by: Sequence[str], source: T, channel: T, attr: Callable[[str], T]) -> list[tuple[str, T]]:
    """The column each source, channel and attr:NAME key of `by` groups on, in order (time and org keys
    are grouped through __time and __unit, then derived)."""
    out: list[tuple[str, T]] = []
    for key in by:
        if key == "source":
            out.append((key, source))
        elif key == "channel":
            out.append((key, channel))
        elif key.startswith("attr:"):
            out.append((key, attr(key)))
    return out


def _counts_sql(engine: Engine, plan: _CountPlan, ids: tuple[int, int] | None = None) -> pl.DataFrame:
    """(__time, __unit, source, channel, attr:…, __value, __count) by one SQL GROUP BY; `ids`: only
    the rows with lo < id <= hi (those not yet in the columnar copy)."""
    q = plan.q
    score = feedback_table.c[plan.metric]
    cols: list[ColumnElement[Any]] = []
    schema: dict[str, Any] = {}
    if plan.grain:
        cols.append(_sql_bucket(engine, plan.grain).label("__time"))
        schema["__time"] = pl.String
    if _needs_org(q.by):
        cols.append(feedback_table.c.org_unit_id.label("__unit"))
        schema["__unit"] = pl.Int64
    keyed: list[tuple[str, ColumnElement[Any]]] = _key_columns(
        q.by,
        source_table.c.name.label("source"),
        feedback_table.c.channel.label("channel"),
        lambda key: feedback_table.c.attributes[key[5:]].as_string().label(key),
    )
    for key, col in keyed:
        cols.append(col)
        schema[key] = pl.String
    stmt = (
        select(*cols, score.label("__value"), func.count().label("__count"))
        .select_from(feedback_table)
        .where(score.is_not(None))
    )
    if "source" in q.by:
        stmt = stmt.join(source_table, source_table.c.id == feedback_table.c.source_id)
    if ids is not None:
        stmt = stmt.where(feedback_table.c.id > ids[0], feedback_table.c.id <= ids[1])
    stmt = apply_filters(stmt, plan.filters, period=q.period, tree=plan.tree)
    with engine.connect() as conn:
        rows = conn.execute(stmt.group_by(*cols, score)).all()
    schema["__value"] = pl.Float64
    schema["__count"] = pl.Int64
    return pl.DataFrame(rows, schema=schema, orient="row")


def _columnar_filters(plan: _CountPlan, names: dict[int, str], available: set[str]) -> list[pl.Expr]:
    """The WHERE of `apply_filters`, as polars expressions over the Parquet copy."""
    q, filters = plan.q, plan.filters
    conds: list[pl.Expr] = [pl.col(plan.metric).is_not_null(), *q.period.conditions(pl.col("received_at"))]
    if filters.sources:
        conds.append(pl.col("source_id").is_in([i for i, n in names.items() if n in filters.sources]))
    unit_ids = plan.unit_ids()
    if unit_ids is not None:
        conds.append(pl.col("org_unit_id").is_in(unit_ids))
    for name, values in filters.columns.items():
        conds.append(pl.col(name).is_in(values))
    for name, values in filters.attrs.items():
        column = f"attr:{name}"
        conds.append(pl.col(column).is_in(values) if column in available else pl.lit(False))
    return conds


def _counts_columnar(lazy: pl.LazyFrame, engine: Engine, plan: _CountPlan) -> pl.DataFrame:
    """The same aggregate as `_counts_sql`, from the Parquet copy (see `cxchange.listen.columnar`)."""
    q, grain = plan.q, plan.grain
    names = columnar.source_names(engine) if plan.filters.sources or "source" in q.by else {}
    available = set(lazy.collect_schema().names())
    keys: list[pl.Expr] = []
    if grain:
        day = pl.col("__day")
        keys.append((day if grain == "day" else day.dt.truncate("1mo")).alias("__time"))
    if _needs_org(q.by):
        keys.append(pl.col("org_unit_id").alias("__unit"))
    keyed = _key_columns(
        q.by,
        pl.col("source_id").alias("source"),
        pl.col("channel"),
        lambda key: pl.col(key) if key in available else pl.lit(None, dtype=pl.String).alias(key),
    )
    keys += [col for _, col in keyed]
    out = (
        lazy.filter(pl.all_horizontal(_columnar_filters(plan, names, available)))
        .group_by([*keys, pl.col(plan.metric).cast(pl.Float64).alias("__value")])
        .agg(pl.len().cast(pl.Int64).alias("__count"))
        .collect()
    )
    if grain:
        out = out.with_columns(pl.col("__time").dt.strftime("%Y-%m-%d" if grain == "day" else "%Y-%m"))
    if "source" in q.by:
        out = out.with_columns(pl.col("source").replace_strict(names, default=None, return_dtype=pl.String))
    return out


def compare_count_frames(
    metric: str, a: pl.DataFrame, b: pl.DataFrame, *, level: float, scale: int | None = None
) -> Difference:
    """`compare_from_counts` of two (__value, __count) frames, such as a period and the one before it
    (``scale``: their GroupedCounts.scale)."""
    return compare_from_counts(
        metric,
        a["__value"].to_list(),
        a["__count"].to_list(),
        b["__value"].to_list(),
        b["__count"].to_list(),
        level=level,
        scale=scale,
    )


def _org_tree_if(engine: Engine, needed: bool) -> OrgTree | None:
    """The org tree when a query names units or groups by them: its modules are loaded only then."""
    if not needed:
        return None
    from cxchange.org.tree import load_org_tree

    return load_org_tree(engine)


def grouped_counts(
    engine: Engine, q: ScoreQuery, *, path: str = "auto", split: bool = False, how: str = NARROW
) -> GroupedCounts:
    """(group keys…, __value, __count) for a query. `path`: auto | sql | columnar | rollup (tests
    compare them); auto: the roll-up on PostgreSQL, the columnar copy on SQLite, when they answer it.
    Ratings on more than one scale in scope (`measure.mixed`): a MixedScalesError, unless `by` holds
    source, or `split`: then one group per scale more (key `scale`); `how`: the error's way out."""
    metric = q.metric.lower()
    if metric not in METRICS:
        raise InputError(f"unknown metric {q.metric!r}; use one of {', '.join(METRICS)}")
    _check_by(q.by)
    if q.ci is not None and q.ci not in CI_METHODS:
        raise InputError(f"unknown --ci {q.ci!r}; use one of {', '.join(CI_METHODS)}")
    filters = parse_where(q.where)
    tree = _org_tree_if(engine, _needs_org(q.by) or bool(filters.units))
    rated = metric == "rating" and "source" not in q.by  # counted by source too, to see each scale
    counted = replace(q, by=(*q.by, "source")) if rated else q
    plan = _CountPlan(counted, metric, _time_grain(q.by), filters, tree)
    frame = None
    if path == "rollup" or (path == "auto" and engine.dialect.name == "postgresql"):
        frame = _counts_from_rollup(engine, plan)
    elif path == "columnar" or (path == "auto" and get_settings().columnar):
        frame = _counts_from_copy(engine, plan, inline=path == "columnar")
    if frame is None:
        frame = _counts_sql(engine, plan)
    frame = _derive_keys(frame, plan.q.by, plan.grain, tree)
    if metric != "rating":
        return GroupedCounts(keys=list(q.by), frame=frame)
    scales = source_scales(engine)
    frame, keys, by_scale = split_by_scale(frame, q.by, scales, split=split, scope=scope_text(q), how=how)
    scale = max(by_scale, default=max(scales.values(), default=None))
    return GroupedCounts(keys=keys, frame=frame, scale=scale, scales=scales, by_scale=by_scale)


def _counts_from_rollup(engine: Engine, plan: _CountPlan) -> pl.DataFrame | None:
    """The aggregate from PostgreSQL's roll-up (listen/rollup.py); None when it cannot answer exactly.
    Imported here: its table declares a PostgreSQL-only option, whose validation loads PostgreSQL's
    whole dialect package, which a read on SQLite has no use for (tests/measure/test_startup.py)."""
    from cxchange.listen import rollup

    q, filters = plan.q, plan.filters
    if engine.dialect.name != "postgresql" or not rollup.answers(
        q.by, period=q.period, columns=filters.columns, attrs=filters.attrs
    ):
        return None
    return rollup.counts(
        engine, plan.metric, q.by, source_names=filters.sources, unit_ids=plan.unit_ids(),
        channels=filters.columns.get("channel", ()),
    )  # fmt: skip


def _counts_from_copy(engine: Engine, plan: _CountPlan, *, inline: bool) -> pl.DataFrame | None:
    """The aggregate from the columnar copy, plus SQL over the rows not yet in it; None: use SQL alone
    (no copy here, or it is being rebuilt after deletions). `inline`: bring the copy up to date first."""
    snap = columnar.snapshot(engine, inline=inline)
    if snap is None or not snap.usable:
        return None
    try:
        frame = _counts_columnar(snap.scan(), engine, plan)
    except (FileNotFoundError, pl.exceptions.ComputeError):  # parts replaced by a rebuild meanwhile
        return None
    if not snap.behind:
        return frame
    tail = _counts_sql(engine, plan, ids=(snap.max_id, snap.db_max_id))
    merged = pl.concat([frame, tail.select(frame.columns)], how="vertical_relaxed")
    keys = [c for c in frame.columns if c != "__count"]
    return merged.group_by(keys).agg(pl.col("__count").sum())


def _derive_keys(
    frame: pl.DataFrame, by: Sequence[str], fine: str | None, tree: OrgTree | None
) -> pl.DataFrame:
    exprs = []
    if fine:
        t = pl.col("__time")
        day = t.str.to_date("%Y-%m-%d", strict=False) if fine == "day" else None
        for key in by:
            if key == "day":
                exprs.append(t.alias("day"))
            elif key == "week":
                assert day is not None
                exprs.append(
                    pl.format("{}-W{}", day.dt.iso_year(), day.dt.week().cast(pl.String).str.zfill(2)).alias(
                        "week"
                    )
                )
            elif key == "month":
                exprs.append(t.str.slice(0, 7).alias("month"))
            elif key == "quarter":
                month = t.str.slice(5, 2).cast(pl.Int32)
                exprs.append(pl.format("{}-Q{}", t.str.slice(0, 4), (month - 1) // 3 + 1).alias("quarter"))
            elif key == "year":
                exprs.append(t.str.slice(0, 4).alias("year"))
    if tree is not None:
        for key in by:
            if key == "unit":
                exprs.append(pl.col("__unit").replace_strict(tree.names, default=None).alias("unit"))
            elif key.startswith("org:"):
                ancestor = tree.ancestor_map(key[4:])
                exprs.append(pl.col("__unit").replace_strict(ancestor, default=None).alias(key))
    if exprs:
        frame = frame.with_columns(exprs)
    keys = list(by)
    return (
        frame.group_by([*keys, "__value"])
        .agg(pl.col("__count").sum())
        .sort([*keys, "__value"], nulls_last=True)
    )


def _stat_row(
    metric: str, group: dict[str, Any], part: pl.DataFrame, q: ScoreQuery, scale: int | None = None
) -> dict:
    """One group's row from its (__value, __count) rows. Its values are a handful (0..10 for NPS): plain
    lists, not arrays, so a `scores` never loads numpy (tests/measure/test_startup.py). A bootstrap
    draws from the stats module's default generator, seeded 0 for every group (reproducible)."""
    values, counts = part["__value"].to_list(), part["__count"].to_list()
    st = score_from_counts(metric, values, counts, ci=q.ci, level=q.level, scale=scale)
    row: dict[str, Any] = {
        "group": group,
        "n": st.n,
        "score": _round(st.score),
        "ci_low": _round(st.ci_low),
        "ci_high": _round(st.ci_high),
        "small": st.n < q.min_n,
    }
    if metric == "nps":
        row.update(promoters=st.promoters, passives=st.passives, detractors=st.detractors)
    elif metric == "csat":
        row["mean"] = _round(st.mean, 3)
    return row


def scores(engine: Engine, q: ScoreQuery) -> list[dict[str, Any]]:
    """One row per group: n, score, interval, small-sample flag (never hidden), NPS components.
    Ratings on more than one scale in scope: one row per scale more (group key `scale`, `measure.mixed`)."""
    grouped = grouped_counts(engine, q, split=True)
    metric = q.metric.lower()
    out = []
    if not grouped.keys:
        f = grouped.frame
        return [_stat_row(metric, {}, f, q, grouped.scale)] if f.height else []
    for key_vals, part in grouped.frame.group_by(grouped.keys, maintain_order=True):
        group = dict(zip(grouped.keys, key_vals, strict=True))
        out.append(_stat_row(metric, group, part, q, grouped.scale_for(group)))
    return out


def scope_text(q: ScoreQuery) -> str:
    """A query's filters in words ("unit=S1, since 2025-01-01, before 2025-04-01"), for messages."""
    parts = [*q.where, *q.period.words()]
    return ", ".join(parts) or "all feedback"


def no_answers(q: ScoreQuery) -> NoDataError:
    return NoDataError(f"no {q.metric.lower()} answers in scope ({scope_text(q)})")


class ScoreRows(list[dict[str, Any]]):
    """Rows of one metric, which they carry (`resolved`) for a title when the caller named none."""

    def __init__(self, rows: list[dict[str, Any]], metric: str) -> None:
        super().__init__(rows)
        self.resolved = {"metric": metric}


def _answered(engine: Engine, q: ScoreQuery, metric: str) -> int:
    return int(grouped_counts(engine, replace(q, metric=metric, by=()), split=True).frame["__count"].sum())


def in_default_metric(engine: Engine, q: ScoreQuery) -> ScoreQuery:
    """``q`` as asked or, when it names no metric (""), on the scope's default: NPS when the scope has
    NPS answers, else the metric it has most answers of (`scale.default_metric`, the rule of the
    overview, themes and Decide). A store of star ratings then gets its ratings, not an error."""
    if q.metric:
        return q
    answers: dict[str, int] = {}
    for m in METRICS:  # NPS first: a store with NPS answers costs one count
        answers[m] = _answered(engine, q, m)
        if m == "nps" and answers[m]:
            break
    return replace(q, metric=default_metric(answers))


def scores_in_scope(engine: Engine, q: ScoreQuery, *, flag: str = "--metric {}") -> ScoreRows:
    """`scores` for a user (CLI, API): no answers in scope is a NoDataError naming the filters, never
    an empty table, and the metrics the scope does have with how to ask for the most answered
    (`flag`: the CLI's option by default; the API passes its query parameter). No metric named (""):
    the scope's default (`in_default_metric`). (Pages and services that show "no data" themselves
    call `scores`.)"""
    asked = bool(q.metric)
    q = in_default_metric(engine, q)
    rows = scores(engine, q)
    if not rows:
        error = no_answers(q)
        if not asked and not any(_answered(engine, q, m) for m in METRICS if m != q.metric.lower()):
            # No metric named and none answered (banking77's requests: text only): "no nps answers" sent
            # the user looking for an NPS column; the comments alone still have a loop of their own.
            raise NoDataError(
                f"no score answers in scope ({scope_text(q)}): no {', '.join(METRICS[:-1])} or "
                f"{METRICS[-1]}; the comments alone are read by `cxchange analyze`, `cxchange themes` and "
                "`cxchange feedback`"
            )
        # A metric the scope lacks: say which metrics it does have.
        others = [(m, n) for m in METRICS if m != q.metric.lower() if (n := _answered(engine, q, m))]
        if others:
            most = max(others, key=lambda pair: pair[1])[0]  # the first of the most answered
            error = NoDataError(
                f"{error}; there are {counted(others)} answers in scope (`{flag.format(most)}`)"
            )
        raise error
    return ScoreRows(rows, q.metric.lower())


def scores_of(
    engine: Engine,
    *,
    metric: str | None = None,
    by: Sequence[str] | None = None,
    where: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    ci: str | None = None,
    level: float = 0.95,
    min_n: int = 30,
) -> ScoreRows:
    """`cxchange scores` and `cxchange.scores`: `scores_in_scope` for the query their options ask
    for, named as the options (no metric: the scope's default; an unset list, None, meaning none)."""
    return scores_in_scope(engine, ScoreQuery.of(metric or "", by, where, since, until, ci, level, min_n))
