"""One row per respondent for the decide stage: scores, strata and theme mentions as columns.

Built from the store with two queries (feedback in scope; their theme mentions) and pivoted in
polars, so drivers, the simulator and opportunity ranking all read the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Engine, String, select, type_coerce

from cxchange.core.errors import InputError, NotFoundError
from cxchange.core.migrate import ensure_schema
from cxchange.core.period import ALL_TIME, Period
from cxchange.decide.regression import redundant_columns
from cxchange.listen.models import Feedback, Source
from cxchange.listen.query import apply_filters, scope_filters
from cxchange.org.models import OrgUnit
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme
from cxchange.understand.sentiment.base import NEUTRAL_BAND
from cxchange.understand.themes.taxonomy import theme_rows


@dataclass
class Respondents:
    """`frame` columns: id, source, received_at, customer_id, customer_value, nps, csat, ces, rating,
    rating_scale, unit, text (null unless `text=True`), one `attr:NAME` column per requested attribute,
    and per theme `mention:<id>` (0/1), `negative:<id>` (0/1), `sentiment:<id>` (clause sentiment or
    null)."""

    frame: pl.DataFrame
    themes: dict[int, str]  # id -> name, themes some comment in scope is assigned (above its threshold)
    analysed: bool  # any comment analysed at all?
    unmentioned: dict[int, str] = field(default_factory=dict)  # the taxonomy's other themes
    # Parents of assigned themes (id -> name): a discovered parent is never assigned itself, its columns
    # roll up its sub-themes' (as the themes report counts it). Named by --fix or a business case; not a
    # driver or an opportunity of its own (it would count its sub-themes' comments twice).
    rollups: dict[int, str] = field(default_factory=dict)
    below: dict[int, list[int]] = field(default_factory=dict)  # a rollup's assigned themes, any depth

    def theme_id(self, name: str) -> int:
        key = name.strip().lower()
        for tid, n in (*self.themes.items(), *self.rollups.items()):
            if n.lower() == key or str(tid) == key:
                return tid

        for tid, n in self.unmentioned.items():
            if n.lower() == key or str(tid) == key:
                raise InputError(f"theme {n!r}: no analysed comment in scope is about it")

        raise NotFoundError(f"no theme named {name!r} (see `cxchange themes list`)")

    def name(self, tid: int) -> str:
        return self.themes[tid] if tid in self.themes else self.rollups[tid]


def load_respondents(
    engine: Engine,
    *,
    where: Sequence[str] = (),
    source: str | None = None,
    period: Period = ALL_TIME,
    attrs: Sequence[str] = (),
    text: bool = False,
) -> Respondents:
    """``text``: also load the comments (column `text`, else all null). Attributes are read only when
    ``attrs`` asks for some, each as text pulled out of the JSON by the database (as `--where attr:…`
    compares them): at a million rows, decoding every row's JSON in Python and fetching every comment
    were most of this function's time."""
    ensure_schema(engine)
    filters, tree = scope_filters(engine, where, source)
    # received_at as the stored text on SQLite (polars parses a million in milliseconds; SQLAlchemy's
    # per-row datetime parsing took seconds); PostgreSQL hands back datetimes either way.
    cols = [
        Feedback.id, Source.name.label("source"),
        type_coerce(Feedback.received_at, String).label("received_at"), Feedback.customer_id,
        Feedback.customer_value, Feedback.nps, Feedback.csat, Feedback.ces, Feedback.rating,
        Feedback.rating_scale, FeedbackSentiment.feedback_id.label("analysed"), OrgUnit.code.label("unit"),
    ]  # fmt: skip
    cols += [Feedback.attributes[a].as_string().label(f"attr:{a}") for a in attrs]
    if text:
        cols.append(Feedback.text)
    stmt = (
        select(*cols)
        .join(Source, Source.id == Feedback.source_id)
        .outerjoin(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)
        .outerjoin(OrgUnit, OrgUnit.id == Feedback.org_unit_id)
    )
    stmt = apply_filters(stmt, filters, period=period, tree=tree)
    with engine.connect() as conn:
        result = conn.execute(stmt.order_by(Feedback.id))
        position = {name: i for i, name in enumerate(result.keys())}
        rows = result.all()
        mentions = conn.execute(
            apply_filters(
                select(FeedbackTheme.feedback_id, FeedbackTheme.theme_id, FeedbackTheme.sentiment).join(
                    Feedback, Feedback.id == FeedbackTheme.feedback_id
                ),
                filters,
                period=period,
                tree=tree,
            )
        ).all()
    # Only themes some comment in scope carries (assignments are stored above their relevance threshold):
    # a theme nobody here mentions is no driver and no opportunity.
    taxonomy = theme_rows(engine)
    every = {t["id"]: t["name"] for t in taxonomy}
    present = {x[1] for x in mentions}
    themes = {tid: name for tid, name in every.items() if tid in present}
    below = _present_below({t["id"]: t["parent_id"] for t in taxonomy}, present)
    rollups = {tid: every[tid] for tid in below if tid not in present}

    def column(name: str) -> list[Any]:
        i = position[name]  # by position: looking a row's value up by name costs several times more
        return [r[i] for r in rows]

    base = pl.DataFrame(
        {
            "id": pl.Series(column("id"), dtype=pl.Int64),
            "source": pl.Series(column("source"), dtype=pl.String),
            "received_at": _datetimes(column("received_at")),
            "customer_id": pl.Series(column("customer_id"), dtype=pl.String),
            "customer_value": pl.Series(column("customer_value"), dtype=pl.Float64),
            "nps": pl.Series(column("nps"), dtype=pl.Float64),
            "csat": pl.Series(column("csat"), dtype=pl.Float64),
            "ces": pl.Series(column("ces"), dtype=pl.Float64),
            "rating": pl.Series(column("rating"), dtype=pl.Float64),
            "rating_scale": pl.Series(column("rating_scale"), dtype=pl.Int64),
            "analysed": pl.Series(column("analysed"), dtype=pl.Int64).is_not_null(),
            "unit": pl.Series(column("unit"), dtype=pl.String),
            "text": pl.Series(column("text") if text else [None] * len(rows), dtype=pl.String),
            **{f"attr:{a}": pl.Series(column(f"attr:{a}"), dtype=pl.String) for a in attrs},
        }
    )
    m = pl.DataFrame(
        {
            "id": pl.Series([x[0] for x in mentions], dtype=pl.Int64),
            "theme": pl.Series([x[1] for x in mentions], dtype=pl.Int64),
            "sentiment": pl.Series([x[2] for x in mentions], dtype=pl.Float64),
        }
    ).filter(pl.col("theme").is_in(list(themes)))
    frame = base
    if m.height:
        wide = m.with_columns(
            mention=pl.lit(1, pl.Int8),
            negative=(pl.col("sentiment") <= -NEUTRAL_BAND).fill_null(False).cast(pl.Int8),
        )
        for kind in ("mention", "negative", "sentiment"):
            piv = wide.pivot(on="theme", index="id", values=kind, aggregate_function="first")
            piv = piv.rename({c: f"{kind}:{c}" for c in piv.columns if c != "id"})
            frame = frame.join(piv, on="id", how="left")
    for tid in themes:
        for kind, dtype in (("mention", pl.Int8), ("negative", pl.Int8), ("sentiment", pl.Float64)):
            col = f"{kind}:{tid}"
            if col not in frame.columns:
                frame = frame.with_columns(pl.lit(None, dtype).alias(col))
            if kind != "sentiment":
                frame = frame.with_columns(pl.col(col).fill_null(0).cast(dtype))
    # A parent: mentioned (negative) when any sub-theme is; its sentiment the most negative of theirs.
    frame = frame.with_columns(
        expr.alias(f"{kind}:{tid}")
        for tid in rollups
        for kind, expr in (
            ("mention", pl.max_horizontal(f"mention:{c}" for c in below[tid])),
            ("negative", pl.max_horizontal(f"negative:{c}" for c in below[tid])),
            ("sentiment", pl.min_horizontal(f"sentiment:{c}" for c in below[tid])),
        )
    )
    return Respondents(
        frame=frame, themes=themes, analysed=bool(base["analysed"].any()) if base.height else False,
        unmentioned={tid: name for tid, name in every.items() if tid not in present and tid not in rollups},
        rollups=rollups, below={tid: below[tid] for tid in rollups},
    )  # fmt: skip


def detractor() -> pl.Expr:
    """An unhappy answer on any score: NPS 0-6, CSAT 1-2, a rating in the bottom two fifths of its scale
    (1-2 of 5, 1-4 of 10). "Rating <= 2" took a 3 or a 4 of 10 for a content customer."""
    scale = pl.col("rating_scale").fill_null(5)
    return (pl.col("nps") <= 6) | (pl.col("csat") <= 2) | (pl.col("rating") <= 0.4 * scale)


def _present_below(parent_of: dict[int, int | None], present: set[int]) -> dict[int, list[int]]:
    """Each ancestor of a present (assigned) theme -> the present themes below it, at any depth."""
    below: dict[int, list[int]] = {}
    for tid in sorted(present):
        seen, at = {tid}, parent_of.get(tid)
        while at is not None and at in parent_of and at not in seen:  # a cycle in stored data ends it
            below.setdefault(at, []).append(tid)
            seen.add(at)
            at = parent_of[at]
    return below


def _datetimes(values: list[Any]) -> pl.Series:
    """Stored timestamps (SQLite text, or datetimes from PostgreSQL) as microsecond datetimes."""
    series = pl.Series(values)
    if series.dtype == pl.String:
        return series.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
    return series.cast(pl.Datetime("us"))


THEME_PREDICTORS = ("themes", "theme-sentiment")


STORE_COLUMN = "__store"  # the store of each row in a theme driver frame


def theme_driver_frame(
    engine: Engine,
    *,
    target: str,
    kind: str = "themes",
    where: Sequence[str] = (),
    period: Period = ALL_TIME,
    respondents: Respondents | None = None,
) -> tuple[pl.DataFrame, list[str], dict[str, float], list[str]]:
    """Analysed comments with a target value: one predictor column per theme.

    ``respondents``: already loaded for this same scope (a page showing opportunities too loads them
    once); loaded here when not given or when they lack the target's attribute column.

    `themes`: 1 if the comment mentions the theme, else 0. `theme-sentiment`: the sentiment of the
    mentioning clause, 0 when the theme is not mentioned. Performance of a theme is the share of its
    mentions that are positive. Themes nobody in scope mentions are left out (and named in notes).
    """
    if kind not in THEME_PREDICTORS:
        raise InputError(f"unknown theme predictors {kind!r}; use {', '.join(THEME_PREDICTORS)}")
    attr = target[5:] if target.startswith("attr:") else None
    r = respondents
    if r is None or (attr and f"attr:{attr}" not in r.frame.columns):
        r = load_respondents(engine, where=where, period=period, attrs=[attr] if attr else [])
    if not r.analysed:
        from cxchange.core.errors import CxError

        raise CxError("no analysed comments: run `cxchange analyze` first")
    tcol = f"attr:{attr}" if attr else target
    if tcol not in r.frame.columns:
        raise InputError(f"unknown --target {target!r}; use nps, csat, ces, rating or attr:NAME")
    rows = r.frame.filter(pl.col("analysed") & pl.col(tcol).is_not_null())
    if rows.height == 0:
        raise InputError(f"no analysed comment with a {target} value matches the filters")
    out: dict[str, pl.Series] = {target: rows[tcol]}
    performance: dict[str, float] = {}
    notes = [f"{name}: not mentioned in scope, left out" for name in r.unmentioned.values()]
    for tid, name in r.themes.items():
        mentions = rows[f"mention:{tid}"]
        if mentions.sum() == 0:
            notes.append(f"{name}: not mentioned in scope, left out")
            continue
        sent = rows[f"sentiment:{tid}"]
        if kind == "themes":
            out[name] = mentions.cast(pl.Float64)
        else:
            out[name] = sent.fill_null(0.0)
        mentioned = sent.filter(mentions == 1)
        positive = (mentioned.fill_null(0.0) >= NEUTRAL_BAND).to_numpy()
        performance[name] = round(float(positive.mean()) if positive.size else 0.0, 4)
    for name, others in _redundant_themes(rows, r.themes, out, target):
        del out[name]
        performance.pop(name, None)
        why = f"the same comments as {', '.join(others)} together" if others else "mentioned in every comment"
        notes.append(f"{name}: {why}, left out (it would only repeat them)")
    predictors = [n for n in out if n != target]
    # Each row's store, for the drivers' bootstrap to resample whole stores (not a predictor).
    out[STORE_COLUMN] = rows["unit"]
    return pl.DataFrame(out), predictors, performance, notes


def _redundant_themes(
    rows: pl.DataFrame, themes: dict[int, str], out: dict[str, pl.Series], target: str
) -> list[tuple[str, list[str]]]:
    """Themes whose column is an exact combination of others' (a parent theme whose comments are all
    its children's, a theme mentioned in every comment): regression cannot separate them. The most
    specific themes (fewest mentions; newest first on ties) are kept, the rolled-up ones dropped."""
    by_name = {name: tid for tid, name in themes.items()}
    names = sorted(
        (n for n in out if n != target), key=lambda n: (int(rows[f"mention:{by_name[n]}"].sum()), -by_name[n])
    )
    if not names:
        return []
    matrix = pl.DataFrame({n: out[n] for n in names}).to_numpy().astype(float)
    return redundant_columns(matrix, names)
