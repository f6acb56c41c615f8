"""The one read path for stored feedback: filters, word search, pages, counts and exports.

CLI (`cxchange feedback`), API (`/api/feedback`), the web explorer and exports all filter through
`filtered`, so the same filter and the same words give the same rows everywhere. `list_feedback` pages
with OFFSET (what a command line or an API client asks for); the explorer's pages are cut on the sort
key itself — (received_at, id), newest first, undated rows after
every dated one — so "older" and "newer" cost the same on page 1 and page 20,000. Counting stops at a
cap (an exact number when few rows match, "more than CAP" otherwise), and exports walk the same
keyset in chunks so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from cxchange.core.errors import InputError
from cxchange.core.period import ALL_TIME, Period
from cxchange.core.types import as_datetime, check_page
from cxchange.listen import rollup
from cxchange.listen.browse import SENTIMENT_LABELS
from cxchange.listen.models import Feedback, Source
from cxchange.listen.query import apply_filters, parse_where, scope_filters
from cxchange.listen.search import search_condition
from cxchange.org.models import OrgUnit
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme, Theme

COUNT_CAP = 10_000
# Feedback rows a page holds unless asked otherwise: the list's (CLI, API) and the explorer page's.
PAGE_SIZE = 50
NPS_RANGE = (0, 10)


@dataclass(frozen=True)
class FeedbackFilter:
    """Everything the explorer can narrow on. `where` holds --where items (units, attributes, …)."""

    where: tuple[str, ...] = ()
    source: str | None = None
    period: Period = ALL_TIME
    theme: str | None = None
    sentiment: str | None = None
    nps_min: int | None = None
    nps_max: int | None = None
    q: str | None = None

    def __post_init__(self) -> None:
        if self.sentiment is not None and self.sentiment not in SENTIMENT_LABELS:
            raise InputError(f"sentiment wants one of {', '.join(SENTIMENT_LABELS)}, got {self.sentiment!r}")
        for name in ("nps_min", "nps_max"):
            v = getattr(self, name)
            if v is not None and not NPS_RANGE[0] <= v <= NPS_RANGE[1]:
                raise InputError(f"{name} wants a whole number from 0 to 10, got {v}")
        if self.nps_min is not None and self.nps_max is not None and self.nps_min > self.nps_max:
            raise InputError(f"nps_min ({self.nps_min}) is above nps_max ({self.nps_max})")


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: (received_at or None for undated rows, id)."""

    at: datetime | None
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat() if self.at else '-'}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        at, sep, ident = text.rpartition("~")
        try:
            if not sep or not (ident.isascii() and ident.isdigit()):
                raise ValueError(text)
            return cls(None if at == "-" else datetime.fromisoformat(at), int(ident))
        except ValueError as exc:
            raise InputError(f"not a page position: {text!r}") from exc


@dataclass
class Page:
    rows: list[dict[str, Any]] = field(default_factory=list)
    older: Cursor | None = None  # position to ask for the next older page, None at the end
    newer: Cursor | None = None  # position to ask for the next newer page, None at the start


def filtered(engine: Engine, stmt: Select[Any], f: FeedbackFilter, *, walk_time: bool = False) -> Select[Any]:
    """`stmt` (over Feedback) with every filter of `f` as bound-parameter WHERE clauses.

    `walk_time`: write the unit and source tests as `column + 0 IN (…)`, which no index answers, so
    the database walks the received_at index newest first instead (see `_base`).
    """
    filters, tree = scope_filters(engine, f.where, f.source)
    units, sources = filters.units, filters.sources
    if walk_time:
        filters.units, filters.sources = [], []
    stmt = apply_filters(stmt, filters, period=f.period, tree=tree)
    if walk_time and units:
        assert tree is not None
        ids = sorted(tree.subtree_ids_of(units))
        stmt = stmt.where((Feedback.org_unit_id + 0).in_(ids))
    if walk_time and sources:
        stmt = stmt.where((Feedback.source_id + 0).in_(select(Source.id).where(Source.name.in_(sources))))
    # Theme/sentiment: a primary-key probe per candidate row, unless nothing else narrows the rows
    # (then the set of matching ids, looked up by rowid, is cheaper than probing every row).
    probe = walk_time or bool(units or sources or f.period.bounded)
    if f.theme:
        from cxchange.understand.themes.taxonomy import find_theme, with_descendants

        with Session(engine) as session:  # a theme's comments include its sub-themes' (as its counts do)
            theme_ids = with_descendants(session, find_theme(session, f.theme).id)
        if probe:
            stmt = stmt.where(
                select(FeedbackTheme.feedback_id)
                .where(FeedbackTheme.feedback_id == Feedback.id, FeedbackTheme.theme_id.in_(theme_ids))
                .exists()
            )
        else:
            stmt = stmt.where(
                Feedback.id.in_(
                    select(FeedbackTheme.feedback_id).where(FeedbackTheme.theme_id.in_(theme_ids)).distinct()
                )
            )
    if f.sentiment:
        if probe:
            stmt = stmt.where(
                select(FeedbackSentiment.feedback_id)
                .where(FeedbackSentiment.feedback_id == Feedback.id, FeedbackSentiment.label == f.sentiment)
                .exists()
            )
        else:
            stmt = stmt.where(
                Feedback.id.in_(
                    select(FeedbackSentiment.feedback_id).where(FeedbackSentiment.label == f.sentiment)
                )
            )
    if f.nps_min is not None:
        stmt = stmt.where(Feedback.nps >= f.nps_min)
    if f.nps_max is not None:
        stmt = stmt.where(Feedback.nps <= f.nps_max)
    # q: on SQLite every word as a word prefix, from the full-text index (listen/search.py);
    # on PostgreSQL (and for a q without letters or digits) every word as a substring (ILIKE).
    searched = search_condition(engine, f.q, walk_time=walk_time)
    if searched is not None:
        stmt = stmt.where(searched)
    return stmt


def _indexed_only(f: FeedbackFilter) -> bool:
    """True when every filter is answered from an index (dates, source, units): counting is cheap."""
    parsed = parse_where(f.where)
    return not (
        parsed.attrs or parsed.columns or f.theme or f.sentiment or f.q
        or f.nps_min is not None or f.nps_max is not None
    )  # fmt: skip


def count(engine: Engine, f: FeedbackFilter, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(matching rows, exact?). Exact when at most `cap` rows match, or when only indexed filters are
    set (an index-only count: ~50 ms at a million rows on SQLite); otherwise (cap, False), which reads
    "more than cap". The inner LIMIT lets the database stop at cap + 1 matches.
    """
    inner = filtered(engine, select(Feedback.id), f).limit(cap + 1).subquery()
    with engine.connect() as conn:
        n = int(conn.scalar(select(func.count()).select_from(inner)) or 0)
    if n > cap and _indexed_only(f):
        counted = _rollup_count(engine, f)
        if counted is not None:
            return counted, True
        with engine.connect() as conn:
            n = int(conn.scalar(filtered(engine, select(func.count()).select_from(Feedback), f)) or 0)
        return n, True
    return (n, True) if n <= cap else (cap, False)


def _rollup_count(engine: Engine, f: FeedbackFilter) -> int | None:
    """PostgreSQL: the exact count of all rows, or of sources and units, from the import's roll-up
    (listen/rollup.py) instead of counting millions of rows; None when it cannot answer (dates, a
    stale roll-up, SQLite, whose index-only count is cheap)."""
    if engine.dialect.name != "postgresql" or f.period.bounded:
        return None
    filters, tree = scope_filters(engine, f.where, f.source)
    unit_ids = None
    if filters.units:
        assert tree is not None
        unit_ids = sorted(tree.subtree_ids_of(filters.units))
    return rollup.row_count(engine, source_names=filters.sources, unit_ids=unit_ids)


def total(engine: Engine, f: FeedbackFilter) -> int:
    """The exact number of matching rows (no cap: for reports, not for pages)."""
    with engine.connect() as conn:
        return int(conn.scalar(filtered(engine, select(func.count()).select_from(Feedback), f)) or 0)


def latest(engine: Engine, f: FeedbackFilter) -> datetime | None:
    """When the newest matching row was received (None: no dated row matches)."""
    with engine.connect() as conn:
        value = conn.scalar(filtered(engine, select(func.max(Feedback.received_at)), f))
    return as_datetime(value)


def is_many(n: int, exact: bool, cap: int = COUNT_CAP) -> bool:
    """From `count`'s answer: do more than `cap` rows match (pass it to `page` as `many`)?"""
    return not exact or n > cap


_COLUMNS = (
    Feedback.id, Feedback.received_at, Feedback.external_id, Feedback.channel, Feedback.nps,
    Feedback.csat, Feedback.ces, Feedback.rating, Feedback.text, Feedback.attributes,
)  # fmt: skip


def _base(engine: Engine, f: FeedbackFilter, many: bool | None) -> Select[Any]:
    """The row query. `many`: whether lots of rows match (from `count`); None when unknown.

    SQLite has no statistics unless ANALYZE ran, so it takes any index matching a filter (unit,
    source) and then sorts every matching row: seconds at 280,000 rows. When many rows match, the
    unit and source tests are written so no index answers them, and it walks the received_at
    index newest first instead, stopping after a page of matches. When few match, the unit or
    source index is the right choice and is left alone.
    """
    stmt = (
        select(*_COLUMNS, Source.name.label("source"), OrgUnit.code.label("unit"))
        .select_from(Feedback)
        .join(Source, Source.id == Feedback.source_id)
        .outerjoin(OrgUnit, OrgUnit.id == Feedback.org_unit_id)
    )
    return filtered(engine, stmt, f, walk_time=bool(many))


def _older(stmt: Select[Any], cur: Cursor | None, n: int, conn: Any) -> list[Any]:
    """Up to n rows after `cur` going older: dated rows newest first, then undated rows by id."""
    rows: list[Any] = []
    rt, fid = Feedback.received_at, Feedback.id
    if cur is None or cur.at is not None:
        dated = stmt.where(rt.is_not(None))
        if cur is not None:
            # Written as a range on received_at (index-friendly) plus the tie-break on id.
            dated = dated.where(rt <= cur.at, or_(rt < cur.at, fid < cur.id))
        rows = list(conn.execute(dated.order_by(rt.desc(), fid.desc()).limit(n)).all())
    if len(rows) < n:
        undated = stmt.where(rt.is_(None))
        if cur is not None and cur.at is None:
            undated = undated.where(fid < cur.id)
        rows += conn.execute(undated.order_by(fid.desc()).limit(n - len(rows))).all()
    return rows


def _newer(stmt: Select[Any], cur: Cursor, n: int, conn: Any) -> list[Any]:
    """Up to n rows before `cur` (newer), returned newest first."""
    rows: list[Any] = []
    rt, fid = Feedback.received_at, Feedback.id
    if cur.at is None:
        undated = stmt.where(rt.is_(None), fid > cur.id).order_by(fid.asc()).limit(n)
        rows = list(conn.execute(undated).all())
    if len(rows) < n:
        dated = stmt.where(rt.is_not(None))
        if cur.at is not None:
            dated = dated.where(rt >= cur.at, or_(rt > cur.at, and_(rt == cur.at, fid > cur.id)))
        rows += conn.execute(dated.order_by(rt.asc(), fid.asc()).limit(n - len(rows))).all()
    return rows[::-1]


def _cursor(row: Any) -> Cursor:
    return Cursor(row.received_at, int(row.id))


def page(
    engine: Engine,
    f: FeedbackFilter,
    *,
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
    limit: int = PAGE_SIZE,
    many: bool | None = None,
) -> Page:
    """One page of matching feedback, newest first, with themes and sentiment once analysed.

    `many`: pass `not exact` from `count` (more than COUNT_CAP rows match) to pick the fast plan.
    """
    if limit < 1:
        raise InputError("limit must be at least 1")
    stmt = _base(engine, f, many)
    with Session(engine) as session:
        conn = session
        if newer_than is not None:
            rows = _newer(stmt, newer_than, limit + 1, conn)
            more_newer = len(rows) > limit
            rows = rows[-limit:] if more_newer else rows
            if len(rows) < limit:  # reached the newest: show a full first page instead
                rows = _older(stmt, None, limit, conn)
                more_newer = False
            more_older = bool(rows) and bool(_older(stmt, _cursor(rows[-1]), 1, conn))
        else:
            rows = _older(stmt, older_than, limit + 1, conn)
            more_older = len(rows) > limit
            rows = rows[:limit]
            more_newer = (
                older_than is not None and bool(rows) and bool(_newer(stmt, _cursor(rows[0]), 1, conn))
            )
        out = _rows(session, rows)
    return Page(
        rows=out,
        older=_cursor(rows[-1]) if rows and more_older else None,
        newer=_cursor(rows[0]) if rows and more_newer else None,
    )


def list_feedback(
    engine: Engine,
    *,
    source: str | None = None,
    where: Sequence[str] | None = (),
    since: date | None = None,
    until: date | None = None,
    theme: str | None = None,
    sentiment: str | None = None,
    q: str | None = None,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Matching feedback, newest first (undated rows last), `limit` rows from `offset`, with each
    comment's sentiment and themes once analysed. `q`: every word as a word prefix (see search.py)."""
    check_page(limit, offset)
    scope = tuple(where or ())  # None (an interface's unset --where): no filter
    f = FeedbackFilter(
        where=scope, source=source, period=Period(since, until), theme=theme, sentiment=sentiment, q=q
    )
    stmt = _base(engine, f, many=None).order_by(Feedback.received_at.desc().nulls_last(), Feedback.id.desc())
    with Session(engine) as session:
        rows = session.execute(stmt.limit(limit).offset(offset)).all()
        return _rows(session, rows)


def _rows(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    senti, themes = analysis_of(session, [r.id for r in rows])
    out = []
    for r in rows:
        row = dict(r._mapping)
        s = senti.get(r.id)
        ranked = themes.get(r.id, [])
        row.update(
            sentiment=s.score if s else None,
            sentiment_label=s.label if s else None,
            themes=[name for name, _ in ranked],  # most relevant first
            primary_theme=ranked[0][0] if ranked else None,
            theme_relevance=[{"theme": n, "relevance": rel} for n, rel in ranked],
            attributes=r.attributes or {},
        )
        out.append(row)
    return out


EXPORT_COLUMNS = (
    "id", "received_at", "source", "external_id", "unit", "channel", "nps", "csat", "ces", "rating",
    "sentiment_label", "sentiment", "themes", "text", "attributes",
)  # fmt: skip


def iter_rows(
    engine: Engine, f: FeedbackFilter, chunk: int = 5000, many: bool | None = None
) -> Iterator[dict[str, Any]]:
    """Every matching row, newest first, fetched `chunk` at a time along the keyset (for exports)."""
    if many is None:
        many = is_many(*count(engine, f))
    stmt = _base(engine, f, many)
    cur: Cursor | None = None
    while True:
        with Session(engine) as session:
            rows = _older(stmt, cur, chunk, session)
            out = _rows(session, rows)
        yield from out
        if len(rows) < chunk:
            return
        cur = _cursor(rows[-1])


def source_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(Source.name).order_by(Source.name))]


def analysis_of(
    session: Session, ids: list[int]
) -> tuple[dict[int, Any], dict[int, list[tuple[str, float | None]]]]:
    """Sentiment rows and (theme name, relevance) pairs of these feedback ids (what `analyze` stored
    for them); each comment's themes most relevant first: the first is its primary theme."""
    senti = {
        r.feedback_id: r
        for r in session.execute(
            select(FeedbackSentiment.feedback_id, FeedbackSentiment.score, FeedbackSentiment.label).where(
                FeedbackSentiment.feedback_id.in_(ids)
            )
        )
    }
    return senti, themes_by_relevance(session, ids)


def themes_by_relevance(session: Session, ids: list[int]) -> dict[int, list[tuple[str, float | None]]]:
    """Per feedback id, (theme name, relevance) most relevant first; at equal relevance the more
    specific theme first (a sub-theme before the parent it counts for)."""
    parent = {tid: pid for tid, pid in session.execute(select(Theme.id, Theme.parent_id))}

    def depth(tid: int) -> int:
        d, seen = 0, {tid}
        while (tid := parent.get(tid)) is not None and tid not in seen:  # type: ignore[assignment]
            seen.add(tid)
            d += 1
        return d

    rows: dict[int, list[tuple[float, int, int, str, float | None]]] = {}
    for fid, tid, name, rel in session.execute(
        select(FeedbackTheme.feedback_id, Theme.id, Theme.name, FeedbackTheme.relevance)
        .join(Theme, Theme.id == FeedbackTheme.theme_id)
        .where(FeedbackTheme.feedback_id.in_(ids))
    ):
        rows.setdefault(fid, []).append((-(rel or 0.0), -depth(tid), tid, name, rel))
    return {fid: [(name, rel) for *_, name, rel in sorted(items)] for fid, items in rows.items()}
