"""One row per respondent for the decide stage: scores, strata and theme mentions as columns.

Built from the store with two queries (feedback in scope; their theme mentions) and pivoted in
polars, so drivers, the simulator and opportunity ranking all read the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import Engine, select

from cxchange.core.migrate import ensure_schema
from cxchange.listen.models import Feedback, OrgUnit, Source
from cxchange.listen.query import apply_filters, scope_filters
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme
from cxchange.understand.sentiment.base import NEUTRAL_BAND
from cxchange.understand.themes.taxonomy import theme_rows


@dataclass
class Respondents:
    """`frame` columns: id, source, received_at, customer_id, customer_value, nps, csat, ces, rating,
    unit, text (null unless `text=True`), one `attr:NAME` column per requested attribute, and per theme
    `mention:<id>` (0/1), `negative:<id>` (0/1), `sentiment:<id>` (clause sentiment or null)."""

    frame: pl.DataFrame
    themes: dict[int, str]  # id -> name, themes some comment in scope is assigned (above its threshold)
    analysed: bool  # any comment analysed at all?
    unmentioned: dict[int, str] = field(default_factory=dict)  # the taxonomy's other themes

    def theme_id(self, name: str) -> int:
        key = name.strip().lower()
        for tid, n in self.themes.items():
            if n.lower() == key or str(tid) == key:
                return tid
        from cxchange.core.errors import InputError, NotFoundError

        for tid, n in self.unmentioned.items():
            if n.lower() == key or str(tid) == key:
                raise InputError(f"theme {n!r}: no analysed comment in scope is about it")

        raise NotFoundError(f"no theme named {name!r} (see `cxchange themes list`)")


def load_respondents(
    engine: Engine,
    *,
    where: Sequence[str] = (),
    source: str | None = None,
    since: date | None = None,
    until: date | None = None,
    attrs: Sequence[str] = (),
    text: bool = False,
) -> Respondents:
    """``text``: also load the comments (column `text`, else all null). Attributes are decoded only when
    ``attrs`` asks for some: at a million rows, decoding every row's JSON and fetching every comment
    were most of this function's time."""
    ensure_schema(engine)
    filters, tree = scope_filters(engine, where, source)
    cols = [
        Feedback.id, Source.name.label("source"), Feedback.received_at, Feedback.customer_id,
        Feedback.customer_value, Feedback.nps, Feedback.csat, Feedback.ces, Feedback.rating,
        FeedbackSentiment.feedback_id.label("analysed"), OrgUnit.code.label("unit"),
    ]  # fmt: skip
    if attrs:
        cols.append(Feedback.attributes)
    if text:
        cols.append(Feedback.text)
    stmt = (
        select(*cols)
        .join(Source, Source.id == Feedback.source_id)
        .outerjoin(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)
        .outerjoin(OrgUnit, OrgUnit.id == Feedback.org_unit_id)
    )
    stmt = apply_filters(stmt, filters, since=since, until=until, tree=tree)
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(Feedback.id)).all()
        ids = [r.id for r in rows]
        mentions = conn.execute(
            apply_filters(
                select(FeedbackTheme.feedback_id, FeedbackTheme.theme_id, FeedbackTheme.sentiment).join(
                    Feedback, Feedback.id == FeedbackTheme.feedback_id
                ),
                filters,
                since=since,
                until=until,
                tree=tree,
            )
        ).all()
    # Only themes some comment in scope carries (assignments are stored above their relevance threshold):
    # a theme nobody here mentions is no driver and no opportunity.
    every = {t["id"]: t["name"] for t in theme_rows(engine)}
    present = {x[1] for x in mentions}
    themes = {tid: name for tid, name in every.items() if tid in present}
    base = pl.DataFrame(
        {
            "id": pl.Series(ids, dtype=pl.Int64),
            "source": pl.Series([r.source for r in rows], dtype=pl.String),
            "received_at": pl.Series([r.received_at for r in rows], dtype=pl.Datetime("us")),
            "customer_id": pl.Series([r.customer_id for r in rows], dtype=pl.String),
            "customer_value": pl.Series([r.customer_value for r in rows], dtype=pl.Float64),
            "nps": pl.Series([r.nps for r in rows], dtype=pl.Float64),
            "csat": pl.Series([r.csat for r in rows], dtype=pl.Float64),
            "ces": pl.Series([r.ces for r in rows], dtype=pl.Float64),
            "rating": pl.Series([r.rating for r in rows], dtype=pl.Float64),
            "analysed": pl.Series([r.analysed is not None for r in rows], dtype=pl.Boolean),
            "unit": pl.Series([r.unit for r in rows], dtype=pl.String),
            "text": pl.Series([r.text for r in rows] if text else [None] * len(rows), dtype=pl.String),
            **{
                f"attr:{a}": pl.Series(
                    [None if (r.attributes or {}).get(a) is None else str(r.attributes[a]) for r in rows],
                    dtype=pl.String,
                )
                for a in attrs
            },
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
    return Respondents(
        frame=frame, themes=themes, analysed=bool(base["analysed"].any()) if base.height else False,
        unmentioned={tid: name for tid, name in every.items() if tid not in present},
    )  # fmt: skip


THEME_PREDICTORS = ("themes", "theme-sentiment")


def theme_driver_frame(
    engine: Engine,
    *,
    target: str,
    kind: str = "themes",
    where: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
    respondents: Respondents | None = None,
) -> tuple[pl.DataFrame, list[str], dict[str, float], list[str]]:
    """Analysed comments with a target value: one predictor column per theme.

    ``respondents``: already loaded for this same scope (a page showing opportunities too loads them
    once); loaded here when not given or when they lack the target's attribute column.

    `themes`: 1 if the comment mentions the theme, else 0. `theme-sentiment`: the sentiment of the
    mentioning clause, 0 when the theme is not mentioned. Performance of a theme is the share of its
    mentions that are positive. Themes nobody in scope mentions are left out (and named in notes).
    """
    from cxchange.core.errors import InputError

    if kind not in THEME_PREDICTORS:
        raise InputError(f"unknown theme predictors {kind!r}; use {', '.join(THEME_PREDICTORS)}")
    attr = target[5:] if target.startswith("attr:") else None
    r = respondents
    if r is None or (attr and f"attr:{attr}" not in r.frame.columns):
        r = load_respondents(engine, where=where, since=since, until=until, attrs=[attr] if attr else [])
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
        performance[name] = round(float((mentioned.fill_null(0.0) >= NEUTRAL_BAND).mean() or 0.0), 4)
    return pl.DataFrame(out), [n for n in out if n != target], performance, notes
