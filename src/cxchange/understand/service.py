"""Reports over analysed feedback: themes with their impact on a score (NPS, CSAT, CES, rating), and
emerging issues.

The database does the counting (GROUP BY theme × NPS category or answer value); the pure modules `impact` and
`emerging` turn counts into numbers with intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, Row, Select, Subquery, case, distinct, func, select, union_all
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from cxchange.core.errors import InputError, NoDataError
from cxchange.core.migrate import ensure_schema
from cxchange.core.output import counted
from cxchange.core.period import ALL_TIME, Period
from cxchange.core.spans import parse_span  # the one span grammar; re-exported for callers
from cxchange.listen.models import Feedback, Source
from cxchange.listen.query import apply_filters, scope_filters
from cxchange.measure.rating_scope import check_rating_scope
from cxchange.measure.scale import NPS_CATEGORY_POINTS, check_metric, default_metric, points
from cxchange.measure.stats import METRICS
from cxchange.org.models import OrgUnit
from cxchange.understand.emerging import Windows, new_phrases, theme_spikes
from cxchange.understand.impact import score_impact
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme
from cxchange.understand.sentiment.base import NEUTRAL_BAND
from cxchange.understand.themes.matcher import TOO_BROAD
from cxchange.understand.themes.matchers import matched_theme_ids
from cxchange.understand.themes.taxonomy import ancestor_levels, theme_rows, with_descendants

_EPOCH = date(1970, 1, 1)


def _group_col(by: str | None) -> ColumnElement[Any] | QueryableAttribute[Any] | None:
    if by is None:
        return None
    if by.startswith("attr:") and len(by) > 5:
        return Feedback.attributes[by[5:]].as_string()
    if by == "source":
        return select(Source.name).where(Source.id == Feedback.source_id).scalar_subquery()
    if by == "channel":
        return Feedback.channel
    raise InputError(f"--by wants attr:NAME, source or channel, got {by!r}")


def theme_stats(
    engine: Engine,
    *,
    by: str | None = None,
    where: Sequence[str] = (),
    source: str | None = None,
    period: Period = ALL_TIME,
    n_boot: int = 2000,
    seed: int = 0,
    metric: str | None = None,
) -> list[dict[str, Any]]:
    """One row per theme (per group with `by`): count, share, sentiment, the score with and without
    it and its impact, on `metric` (None: `default_metric` of the scope's answers; see
    `measure.scale`). Every row has metric, score_n, score_with, score_without, impact, ci_low,
    ci_high; NPS rows also the keys they always had (nps_n, nps_with, nps_without)."""
    ensure_schema(engine)
    filters, tree = scope_filters(engine, where, source)
    group = _group_col(by)
    gcols = [group.label("g")] if group is not None else []

    def scoped(stmt: Select[Any]) -> Select[Any]:
        return apply_filters(stmt, filters, period=period, tree=tree)

    if metric is None:
        metric = default_metric(scope_answers(engine, where=where, source=source, period=period))
    metric = check_metric(metric)
    if metric == "rating":  # impact over 1-5 and 1-10 answers at once would mean nothing
        check_rating_scope(engine, where, period, source=source)
    column = getattr(Feedback, metric)
    # NPS: counted per category (the cells its impact always drew); others per distinct answer.
    category = (
        case((Feedback.nps >= 9, 1), (Feedback.nps <= 6, -1), else_=0) if metric == "nps" else column
    ).label("cat")
    themes = {t["id"]: t for t in theme_rows(engine)}
    store = Feedback.org_unit_id.label("store")
    assigned, nested = _rolled_up(themes, scoped, [*gcols, store, category, column.label("answer")])
    a_g = [assigned.c.g] if gcols else []
    comments = func.count(distinct(assigned.c.fid)) if nested else func.count()
    positive = case((assigned.c.sentiment >= NEUTRAL_BAND, 1), else_=0)
    with engine.connect() as conn:
        analysed = {
            r.g if gcols else None: r.n
            for r in conn.execute(
                scoped(
                    select(*gcols, func.count().label("n"))
                    .select_from(Feedback)
                    .join(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)
                ).group_by(*[c for c in gcols])
            )
        }
        per_theme = conn.execute(
            select(
                *a_g,
                assigned.c.theme_id,
                comments.label("n"),
                func.count().label("clauses"),
                func.avg(assigned.c.sentiment).label("sent"),
                func.sum(positive).label("pos"),
            ).group_by(*a_g, assigned.c.theme_id)
        ).all()
        # Per store too: the impact interval resamples stores, whose answers are not independent.
        everyone_rows = conn.execute(
            scoped(
                select(*gcols, store, category, func.count().label("n")).where(column.is_not(None))
            ).group_by(*gcols, store, category)
        ).all()
        # Which keyword matched, per theme: a rule that alone tags a large share of the store is too broad.
        keyword_rows = conn.execute(
            scoped(
                select(*gcols, FeedbackTheme.theme_id, FeedbackTheme.matched, func.count().label("n"))
                .select_from(Feedback)
                .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
            ).group_by(*gcols, FeedbackTheme.theme_id, FeedbackTheme.matched)
        ).all()
        theme_nps_rows = conn.execute(
            select(*a_g, assigned.c.store, assigned.c.theme_id, assigned.c.cat, comments.label("n"))
            .where(assigned.c.answer.is_not(None))
            .group_by(*a_g, assigned.c.store, assigned.c.theme_id, assigned.c.cat)
        ).all()

    values = [1, 0, -1] if metric == "nps" else sorted({float(r.cat) for r in everyone_rows})
    points_of = (
        np.array(NPS_CATEGORY_POINTS) if metric == "nps" else points(metric, np.array(values, dtype=float))
    )
    slot = {v: j for j, v in enumerate(values)}
    k = len(values)

    def cells(
        rows: Sequence[Row[*tuple[Any, ...]]], key: tuple[Any, ...]
    ) -> dict[tuple[Any, ...], list[int]]:
        out: dict[tuple[Any, ...], list[int]] = {}
        for r in rows:
            c = out.setdefault(tuple(getattr(r, name) for name in key), [0] * k)
            c[slot[int(r.cat) if metric == "nps" else float(r.cat)]] += int(r.n)
        return out

    g_key = ("g",) if gcols else ()
    every = cells(everyone_rows, g_key)
    with_theme = cells(theme_nps_rows, (*g_key, "theme_id"))
    every_store = cells(everyone_rows, (*g_key, "store"))
    theme_store = cells(theme_nps_rows, (*g_key, "theme_id", "store"))

    def by_store(g_part: tuple[Any, ...], theme_id: int) -> np.ndarray:
        """(mentioning counts, everyone counts) per store of the group: for NPS (P, Pa, D, P, Pa, D).
        Stores in id order (no unit first): the bootstrap draws stores by position, and the order a GROUP
        BY returns them in is the database's (PostgreSQL's hash aggregate is not SQLite's sorted one)."""
        rows = [
            [*theme_store.get((*g_part, theme_id, key[-1]), [0] * k), *c]
            for key, c in sorted(every_store.items(), key=lambda kc: (kc[0][-1] is not None, kc[0][-1] or 0))
            if key[:-1] == g_part
        ]
        return np.array(rows, dtype=float).reshape(len(rows), 2 * k)  # k = 0: no answers of the metric

    broad = _too_broad(engine, keyword_rows, analysed, themes, bool(gcols))
    out: list[dict[str, Any]] = []
    for r in per_theme:
        t = themes.get(r.theme_id)
        if t is None:
            continue
        g = r.g if gcols else None
        n_analysed = analysed.get(g, 0)
        g_part = (g,) if gcols else ()
        all_cells = np.array(every.get(g_part, [0] * k), dtype=float)
        mention_cells = np.array(with_theme.get((*g_part, r.theme_id), [0] * k), dtype=float)
        imp = score_impact(
            points_of, mention_cells, all_cells, n_boot=n_boot, seed=seed,
            by_store=by_store(g_part, r.theme_id),
        )  # fmt: skip
        row: dict[str, Any] = {}
        if gcols:
            row["group"] = g
        row |= {
            "id": t["id"],
            "name": t["name"],
            "parent": t["parent"],
            "keywords": t["keywords"],
            "count": int(r.n),
            "share": round(int(r.n) / n_analysed, 4) if n_analysed else None,
            "sentiment": None if r.sent is None else round(float(r.sent), 3),
            "positive_share": round(int(r.pos or 0) / int(r.clauses), 4) if r.clauses else None,
            **_impact_keys(metric, int(mention_cells.sum()), imp),
            "too_broad": broad.get((g, r.theme_id), []),
        }
        out.append(row)
    # Themes nobody mentions are still the user's: list them with zero counts.
    seen = {r["id"] for r in out}
    if not gcols:
        for t in themes.values():
            if t["id"] not in seen:
                out.append(
                    {"id": t["id"], "name": t["name"], "parent": t["parent"], "keywords": t["keywords"],
                     "count": 0, "share": 0.0, "sentiment": None, "positive_share": None,
                     **_impact_keys(metric, 0, {}), "too_broad": []}
                )  # fmt: skip
    out.sort(key=lambda r: (str(r.get("group") or ""), -r["count"], r["name"]))
    return out


def _rolled_up(
    themes: dict[int, dict[str, Any]],
    scoped: Callable[[Select[Any]], Select[Any]],
    columns: Sequence[ColumnElement[Any]],
) -> tuple[Subquery, bool]:
    """A subquery of theme assignments in scope (`scoped` adds the filters to a statement over Feedback),
    each under its own theme and again under every ancestor's (a discovered parent is never assigned
    itself: its mentions are its sub-themes'), with `columns`, the comment's id (fid), the clause's
    sentiment and the theme counted (theme_id); and whether any theme has a parent (then count
    distinct fid: a comment counts once per theme)."""
    levels = ancestor_levels(themes)
    joined = (
        select(*columns, Feedback.id.label("fid"), FeedbackTheme.sentiment.label("sentiment"))
        .select_from(Feedback)
        .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
    )
    counted = [  # level 0: the assigned theme itself; level L: its ancestor L levels up
        FeedbackTheme.theme_id if not level else case(level, value=FeedbackTheme.theme_id, else_=None)
        for level in levels
    ]
    parts = [scoped(joined.add_columns(c.label("theme_id")).where(c.is_not(None))) for c in counted]
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("assigned"), len(levels) > 1


def _impact_keys(metric: str, n: int, imp: dict[str, Any]) -> dict[str, Any]:
    """A theme row's score keys: the NPS-named ones NPS rows always had, then the metric-neutral ones."""
    nps_keys = (
        {"nps_n": n, "nps_with": imp.get("score_with"), "nps_without": imp.get("score_without")}
        if metric == "nps"
        else {}
    )
    return {
        **nps_keys,
        "impact": imp.get("impact"),
        "ci_low": imp.get("impact_ci_low"),
        "ci_high": imp.get("impact_ci_high"),
        "metric": metric,
        "score_n": n,
        "score_with": imp.get("score_with"),
        "score_without": imp.get("score_without"),
    }


def scope_answers(
    engine: Engine, *, where: Sequence[str] = (), source: str | None = None, period: Period = ALL_TIME
) -> dict[str, int]:
    """How many answers of each metric (nps, csat, ces, rating) the scope has: one query."""
    filters, tree = scope_filters(engine, tuple(where), source)
    stmt = apply_filters(
        select(*[func.count(getattr(Feedback, m)) for m in METRICS]).select_from(Feedback),
        filters, period=period, tree=tree,
    )  # fmt: skip
    with engine.connect() as conn:
        row = conn.execute(stmt).one()
    return {m: int(n or 0) for m, n in zip(METRICS, row, strict=True)}


def missing_metric_hint(metric: str, answers: dict[str, int]) -> str | None:
    """When the scope has no answers of `metric`: which metrics it has, and the flag to use."""
    if answers.get(metric, 0):
        return None
    others = [(m, n) for m, n in answers.items() if n and m != metric]
    if not others:
        return f"no {metric} answers in scope: every impact is empty"
    return (
        f"no {metric} answers in scope, so every impact is empty; this scope has {counted(others)} "
        f"answers: `--metric {default_metric({m: n for m, n in others})}`"
    )


def analysed_count(engine: Engine, where: Sequence[str] = (), period: Period = ALL_TIME) -> int:
    """How many comments (within `where` and `period`) have a stored analysis."""
    stmt = select(func.count()).select_from(FeedbackSentiment)
    if where or period.bounded:
        filters, tree = scope_filters(engine, tuple(where))
        stmt = apply_filters(
            select(func.count())
            .select_from(Feedback)
            .join(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id),
            filters, period=period, tree=tree,
        )  # fmt: skip
    with engine.connect() as conn:
        return int(conn.scalar(stmt) or 0)


def theme_counts(
    engine: Engine, where: Sequence[str] = (), period: Period = ALL_TIME
) -> dict[int, dict[str, Any]]:
    """theme id -> mentions and mean clause sentiment (3 decimals), counted as `theme_stats` counts
    (sub-themes' mentions count for their parents), for a comparison period that needs no more."""
    filters, tree = scope_filters(engine, tuple(where))
    themes = {t["id"]: t for t in theme_rows(engine)}
    assigned, nested = _rolled_up(
        themes, lambda stmt: apply_filters(stmt, filters, period=period, tree=tree), ()
    )
    comments = func.count(distinct(assigned.c.fid)) if nested else func.count()
    stmt = select(assigned.c.theme_id, comments, func.avg(assigned.c.sentiment)).group_by(assigned.c.theme_id)
    with engine.connect() as conn:
        return {
            int(tid): {"count": int(n), "sentiment": None if sent is None else round(float(sent), 3)}
            for tid, n, sent in conn.execute(stmt)
        }


def theme_examples(
    engine: Engine, theme_id: int, where: Sequence[str] = (), *, positive: bool, limit: int = 3
) -> list[dict[str, Any]]:
    """A few comments mentioning the theme or one of its sub-themes within `where` (the caller's scope):
    the most clearly positive or negative clauses about it (ties: the most recent). A discovered parent
    is never assigned itself: "no negative comment" beside its 1,155 mentions was its own id alone."""
    with Session(engine) as session:
        ids = with_descendants(session, theme_id)
    filters, tree = scope_filters(engine, tuple(where))
    polarity = (
        FeedbackTheme.sentiment >= NEUTRAL_BAND if positive else FeedbackTheme.sentiment <= -NEUTRAL_BAND
    )
    order = FeedbackTheme.sentiment.desc() if positive else FeedbackTheme.sentiment.asc()
    stmt = (
        select(
            Feedback.id, Feedback.text, Feedback.received_at, Feedback.nps, Feedback.rating, OrgUnit.code,
            FeedbackTheme.sentiment, FeedbackTheme.matched,
        )
        .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
        .outerjoin(OrgUnit, OrgUnit.id == Feedback.org_unit_id)
        .where(FeedbackTheme.theme_id.in_(ids), polarity, Feedback.text.is_not(None))
    )  # fmt: skip
    stmt = apply_filters(stmt, filters, tree=tree)
    # A comment holds at most one clause per theme: `limit` per theme is enough for `limit` comments,
    # each shown once, by its most telling clause (the first in this order).
    stmt = stmt.order_by(order, Feedback.received_at.desc(), Feedback.id.desc()).limit(limit * len(ids))
    keys = ("id", "text", "received_at", "nps", "rating", "unit", "sentiment", "matched")
    out: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        for r in conn.execute(stmt):
            out.setdefault(r[0], dict(zip(keys, r, strict=True)))
    return list(out.values())[:limit]


def _too_broad(
    engine: Engine,
    rows: Sequence[Row[*tuple[Any, ...]]],
    analysed: dict[Any, int],
    themes: dict[int, Any],
    grouped: bool,
) -> dict[tuple[Any, int], list[str]]:
    """Per (group, theme): its keywords that, as rules, alone tagged at least TOO_BROAD of the analysed
    comments (themes scored by a discovery matcher are not keyword rules and never listed)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        scored = matched_theme_ids(session)
    out: dict[tuple[Any, int], list[str]] = {}
    for r in rows:
        g = r.g if grouped else None
        n = analysed.get(g, 0)
        if r.theme_id in scored or r.theme_id not in themes or not r.matched or not n:
            continue
        kws = {k.lower() for k in themes[r.theme_id]["keywords"]}
        if r.matched.lower() in kws and r.n >= TOO_BROAD * n:
            out.setdefault((g, r.theme_id), []).append(r.matched)
    return out


def emerging(engine: Engine, **options: Any) -> list[dict[str, Any]]:
    """The findings of `emerging_report` (same options; a list, strongest first); [] when nothing is
    analysed in scope. For pages, reports and alert rules, which say "nothing unusual" themselves."""
    try:
        return list(emerging_report(engine, **options)["items"])
    except NoDataError:
        return []


def _scope_note(where: Sequence[str]) -> str:
    return f" in scope ({', '.join(where)})" if where else " in scope"


def emerging_report(
    engine: Engine,
    *,
    window: str = "7d",
    baseline: str = "8w",
    until: date | None = None,
    where: Sequence[str] = (),
    source: str | None = None,
    z_min: float = 3.0,
    min_count: int = 10,
    examples: int = 3,
) -> dict[str, Any]:
    """Themes spiking in the last `window` against `baseline`, then new phrase clusters, strongest first,
    with what was compared: {"window": {"since", "until" (exclusive), "comments"}, "baseline": {"since",
    "until", "comments", "windows"}, "themes_tested", "unthemed_comments", "items": [...]}, so "nothing
    unusual" always says over which days and how many comments.

    The window ends at `until` (exclusive) or, by default, at the newest analysed comment in scope,
    so a store whose feedback stopped arriving a month ago still gets a meaningful answer. No analysed
    comment in scope at all is a NoDataError.
    """
    ensure_schema(engine)
    w, b = parse_span(window, "--window"), parse_span(baseline, "--baseline")
    if b < w:
        raise InputError("--baseline must be at least as long as --window")
    filters, tree = scope_filters(engine, where, source)

    def scoped(stmt: Any, since: date | None = None, upto: date | None = None) -> Any:
        return apply_filters(stmt, filters, period=Period(since, upto), tree=tree)

    base_q = select(Feedback.id, Feedback.received_at).join(
        FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id
    )
    with engine.connect() as conn:
        if until is None:
            last = conn.scalar(scoped(select(func.max(Feedback.received_at)).join(
                FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)))  # fmt: skip
            if last is None:
                scope = _scope_note(where)
                analysed = select(FeedbackSentiment.feedback_id).join(
                    Feedback, FeedbackSentiment.feedback_id == Feedback.id
                )
                if conn.scalar(scoped(analysed).limit(1)) is not None:
                    # Analysed but undated (banking77, an export without a date column): "run analyze"
                    # sent the user round in a circle; emerging issues are a comparison of days.
                    raise NoDataError(
                        f"no dated analysed comments{scope}: emerging issues compare recent days "
                        "with the weeks before: date the feedback from a column kept at import with "
                        "`cxchange redate COLUMN`"
                    )
                raise NoDataError(
                    f"no analysed comments{scope}: import feedback with comments, then run `cxchange analyze`"
                )
            last_day = last.date() if isinstance(last, datetime) else last
        else:
            last_day = until - timedelta(days=1)
        k = b // w
        start = last_day - timedelta(days=w * (k + 1) - 1)
        rows = conn.execute(scoped(base_q, start, last_day + timedelta(days=1))).all()
        recent_start = last_day - timedelta(days=w - 1)
        summary: dict[str, Any] = {
            "window": {"since": recent_start, "until": last_day + timedelta(days=1), "comments": 0},
            "baseline": {"since": start, "until": recent_start, "comments": 0, "windows": k},
            "themes_tested": 0,
            "unthemed_comments": 0,
            "items": [],
        }
        if not rows:
            raise NoDataError(
                f"no analysed comments from {start} to {last_day}{_scope_note(where)}: nothing to compare"
            )
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        days = np.array([(r[1].date() - _EPOCH).days if r[1] else -(10**9) for r in rows], dtype=np.int64)
        mrows = conn.execute(
            scoped(
                select(FeedbackTheme.feedback_id, FeedbackTheme.theme_id)
                .join(Feedback, Feedback.id == FeedbackTheme.feedback_id)
                .join(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id),
                start,
                last_day + timedelta(days=1),
            )
        ).all()
    order = np.argsort(ids)
    ids, days = ids[order], days[order]
    m_fid = np.array([r[0] for r in mrows], dtype=np.int64)
    m_tid = np.array([r[1] for r in mrows], dtype=np.int64)
    m_idx = np.searchsorted(ids, m_fid)
    wins = Windows(end=(last_day - _EPOCH).days, window=w, baseline_windows=k)
    spikes = theme_spikes(days, m_idx, m_tid, wins, z_min=z_min, min_count=min_count)
    names = {t["id"]: t["name"] for t in theme_rows(engine)}
    recent_mask = wins.index(days) == 0
    out: list[dict[str, Any]] = []
    base_mask = wins.index(days) > 0
    summary["window"]["comments"] = int(recent_mask.sum())
    summary["baseline"]["comments"] = int(base_mask.sum())
    summary["themes_tested"] = int(np.unique(m_tid).size)
    if not summary["baseline"]["comments"]:
        # Every comment falls in the window (a short export, a --window as long as the history): "nothing
        # unusual" would be an answer from nothing.
        first = _EPOCH + timedelta(days=int(days.min()))
        raise NoDataError(
            f"nothing to compare with: all {summary['window']['comments']:,} analysed comments"
            f"{_scope_note(where)} fall in the {w}-day window {recent_start} to {last_day} (the first is of "
            f"{first}), none in the {k} window(s) before it; a shorter --window, or feedback from before "
            f"{recent_start}, gives a baseline"
        )
    for s in spikes:
        tid = int(s["theme_id"])
        in_theme = set(m_fid[m_tid == tid].tolist())
        recent_ids = [int(i) for i in ids[recent_mask][::-1] if int(i) in in_theme]
        base_theme = [int(i) for i in ids[base_mask] if int(i) in in_theme]
        terms, picked = _whats_new(engine, recent_ids, base_theme, examples)
        out.append(
            {"theme": names.get(tid, str(tid)), "kind": "spike", "theme_id": tid,
             **{k2: s[k2] for k2 in ("recent_count", "baseline_mean", "z", "recent_share", "baseline_share")},
             "terms": terms, "examples": picked}
        )  # fmt: skip
    # Recent comments no theme covers: a new theme forming?
    themed = set(m_fid.tolist())
    rec_free = [int(i) for i in ids[recent_mask] if int(i) not in themed]
    summary["unthemed_comments"] = len(rec_free)
    # Against the baseline's unthemed comments too: unthemed text is its own kind (general praise…).
    base_ids = [int(i) for i in ids[wins.index(days) > 0] if int(i) not in themed]
    if len(rec_free) >= min_count:
        texts = _text_map(engine, rec_free + base_ids)
        rec_texts = [texts.get(i, "") for i in rec_free]
        for p in new_phrases(rec_texts, [texts.get(i, "") for i in base_ids], min_count=min_count):
            out.append(
                {"theme": f"new: {p['name']}", "kind": "new", "theme_id": None,
                 "recent_count": p["recent_count"], "baseline_mean": p["baseline_mean"], "z": p["z"],
                 "terms": p["terms"], "examples": [rec_texts[i] for i in p["examples"]]}
            )  # fmt: skip
    out.sort(key=lambda r: -float(r["z"]))
    summary["items"] = out
    return summary


def emerging_summary(report: dict[str, Any]) -> str:
    """One line on what `emerging_report` compared: the windows' dates and comments, themes tested."""
    w, b = report["window"], report["baseline"]
    last = w["until"] - timedelta(days=1)
    found = len(report["items"])
    head = f"{found} emerging" if found else "nothing unusual"
    return (
        f"{head}: {w['since']} to {last} ({w['comments']:,} analysed comments) against "
        f"{b['since']} to {b['until'] - timedelta(days=1)} ({b['comments']:,} comments, {b['windows']} "
        f"windows); {report['themes_tested']} themes tested, {report['unthemed_comments']:,} recent "
        "comments without a theme checked for new phrases"
    )


def _whats_new(
    engine: Engine, recent_ids: list[int], base_ids: list[int], examples: int
) -> tuple[list[str], list[str]]:
    """Inside a spiking theme, the words that grew, and the recent comments that carry them."""
    texts = _text_map(engine, recent_ids + base_ids)
    recent = [texts.get(i, "") for i in recent_ids]
    groups = new_phrases(recent, [texts.get(i, "") for i in base_ids], min_count=3, alpha=0.05)
    if not groups:
        return [], recent[:examples]
    top = groups[0]
    picked = [recent[i] for i in top["examples"]][:examples]
    return top["terms"][:8], picked


def _text_map(engine: Engine, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    with engine.connect() as conn:
        for i in range(0, len(ids), 5000):
            chunk = ids[i : i + 5000]
            for fid, text in conn.execute(select(Feedback.id, Feedback.text).where(Feedback.id.in_(chunk))):
                out[int(fid)] = text or ""
    return out


def _texts(engine: Engine, ids: list[int]) -> list[str]:
    m = _text_map(engine, ids)
    return [m[i] for i in ids if i in m]
