"""Read-side of the listen stage: batches, rejected rows, stored feedback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cxchange.core.errors import InputError, NotFoundError
from cxchange.listen.models import Feedback, ImportBatch, OrgUnit, RejectedRow, Source
from cxchange.listen.org import load_org_tree
from cxchange.listen.query import apply_filters, parse_where

SENTIMENT_LABELS = ("negative", "neutral", "positive", "unsupported", "empty")


def list_batches(engine: Engine, *, limit: int = 100) -> list[dict[str, Any]]:
    stmt = (
        select(ImportBatch, Source.name)
        .join(Source, Source.id == ImportBatch.source_id)
        .order_by(ImportBatch.id.desc())
        .limit(limit)
    )
    with Session(engine) as session:
        rows = session.execute(stmt).all()
    return [batch_as_dict(b, name) for b, name in rows]


def batch_as_dict(b: ImportBatch, source: str) -> dict[str, Any]:
    return {
        "batch_id": b.id,
        "source": source,
        "file": b.file_name,
        "format": b.format,
        "status": b.status,
        "read": b.rows_read,
        "imported": b.rows_imported,
        "duplicates": b.rows_duplicate,
        "rejected": b.rows_rejected,
        "redacted": b.rows_redacted,
        "started_at": b.started_at,
        "seconds": b.seconds,
    }


def analysis_of(session: Session, ids: list[int]) -> tuple[dict[int, Any], dict[int, list[str]]]:
    """Sentiment rows and theme names of these feedback ids (what `analyze` stored for them); each
    comment's themes most relevant first: the first is its primary theme."""
    from cxchange.understand.models import FeedbackSentiment

    senti = {
        r.feedback_id: r
        for r in session.execute(
            select(FeedbackSentiment.feedback_id, FeedbackSentiment.score, FeedbackSentiment.label).where(
                FeedbackSentiment.feedback_id.in_(ids)
            )
        )
    }
    ranked = themes_by_relevance(session, ids)
    return senti, {fid: [name for name, _ in pairs] for fid, pairs in ranked.items()}


def themes_by_relevance(session: Session, ids: list[int]) -> dict[int, list[tuple[str, float | None]]]:
    """Per feedback id, (theme name, relevance) most relevant first; at equal relevance the more
    specific theme first (a sub-theme before the parent it counts for)."""
    from cxchange.understand.models import FeedbackTheme, Theme

    parent = dict(session.execute(select(Theme.id, Theme.parent_id)).tuples().all())

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


def list_rejects(engine: Engine, batch_id: int) -> list[dict[str, Any]]:
    with Session(engine) as session:
        if session.get(ImportBatch, batch_id) is None:
            raise NotFoundError(f"no import batch {batch_id}")
        rows = session.execute(
            select(RejectedRow).where(RejectedRow.batch_id == batch_id).order_by(RejectedRow.row_number)
        ).scalars()
        return [{"row": r.row_number, "column": r.column, "reason": r.reason, "raw": r.raw} for r in rows]


def list_feedback(
    engine: Engine,
    *,
    source: str | None = None,
    where: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
    theme: str | None = None,
    sentiment: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Stored feedback, newest first, with each comment's sentiment and themes once analysed.

    `theme` (name or id) and `sentiment` (negative | neutral | positive) filter on the analysis;
    `q` keeps comments containing every word of it (case-insensitive).
    """
    from cxchange.understand.models import FeedbackSentiment, FeedbackTheme

    filters = parse_where(where)
    if source:
        filters.sources.append(source)
    stmt = (
        select(Feedback, Source.name, OrgUnit.code)
        .join(Source, Source.id == Feedback.source_id)
        .outerjoin(OrgUnit, OrgUnit.id == Feedback.org_unit_id)
    )
    tree = load_org_tree(engine) if filters.units else None
    stmt = apply_filters(stmt, filters, since=since, until=until, tree=tree)
    if theme is not None:
        from cxchange.understand.themes.taxonomy import find_theme

        with Session(engine) as session:
            theme_id = find_theme(session, theme).id
        stmt = stmt.where(
            Feedback.id.in_(select(FeedbackTheme.feedback_id).where(FeedbackTheme.theme_id == theme_id))
        )
    if sentiment is not None:
        if sentiment not in SENTIMENT_LABELS:
            raise InputError(f"--sentiment wants one of {', '.join(SENTIMENT_LABELS)}, got {sentiment!r}")
        stmt = stmt.where(
            Feedback.id.in_(select(FeedbackSentiment.feedback_id).where(FeedbackSentiment.label == sentiment))
        )
    for word in (q or "").split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Feedback.text.ilike(f"%{escaped}%", escape="\\"))
    stmt = stmt.order_by(Feedback.received_at.desc(), Feedback.id.desc()).limit(limit).offset(offset)
    with Session(engine) as session:
        rows = session.execute(stmt).all()
        senti, _ = analysis_of(session, [f.id for f, _, _ in rows])
        ranked = themes_by_relevance(session, [f.id for f, _, _ in rows])
    return [
        {
            "id": f.id,
            "source": src,
            "external_id": f.external_id,
            "received_at": f.received_at,
            "unit": unit,
            "nps": f.nps,
            "csat": f.csat,
            "ces": f.ces,
            "rating": f.rating,
            "text": f.text,
            "sentiment": senti[f.id].score if f.id in senti else None,
            "sentiment_label": senti[f.id].label if f.id in senti else None,
            "themes": [name for name, _ in ranked.get(f.id, [])],  # most relevant first
            "primary_theme": ranked[f.id][0][0] if ranked.get(f.id) else None,
            "theme_relevance": [{"theme": n, "relevance": r} for n, r in ranked.get(f.id, [])],
            "attributes": f.attributes or {},
        }
        for f, src, unit in rows
    ]


def rejects_for_reimport(engine: Engine, batch_id: int) -> tuple[list[str], list[list[str]]]:
    """Rejected rows in the file's own columns, plus reject_row/column/reason, ready to fix.

    A row whose fields no longer line up with the header (a ragged row) keeps its raw text in the
    first column, to be split by hand.
    """
    import csv
    import io

    from cxchange.listen.service import REJECT_COLUMNS

    with Session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        if batch is None:
            raise NotFoundError(f"no import batch {batch_id}")
        columns = list(batch.columns or ["raw"])
        delimiter = batch.delimiter or ","
    out = []
    for r in list_rejects(engine, batch_id):
        # Rows failed by validation were stored comma-separated; rows the reader refused keep the
        # file's own delimiter (and JSON Lines keep the JSON text).
        sep = "," if r["column"] is not None else delimiter
        fields = next(csv.reader(io.StringIO(r["raw"]), delimiter=sep), [])
        if len(fields) != len(columns):
            fields = [r["raw"]] + [""] * (len(columns) - 1)
        out.append([*fields, str(r["row"]), r["column"] or "", r["reason"]])
    return [*columns, *REJECT_COLUMNS], out
