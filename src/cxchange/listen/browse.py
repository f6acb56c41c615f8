"""Read-side of the listen stage: batches and rejected rows.

Listing and searching feedback with its analysis is understand/explore.py's: one read path for CLI, API
and web."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cxchange.core.errors import NotFoundError
from cxchange.listen.models import REJECT, ImportBatch, RejectedRow, Source

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


def batch_detail(engine: Engine, batch_id: int) -> dict[str, Any]:
    """One batch with its mapping (internal keys left out) and import summary; NotFoundError when none."""
    with Session(engine) as session:
        b = session.get(ImportBatch, batch_id)
        if b is None:
            raise NotFoundError(f"no import batch {batch_id}")
        src = session.get(Source, b.source_id)
        return {
            **batch_as_dict(b, src.name if src else "?"),
            "mapping": {k: v for k, v in (b.mapping or {}).items() if not k.startswith("_")},
            "summary": b.summary,
        }


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
        "warnings": b.rows_warned,
        "redacted": b.rows_redacted,
        "started_at": b.started_at,
        "seconds": b.seconds,
        "timings": b.timings,  # where the seconds went (listen/service.py)
    }


def list_rejects(engine: Engine, batch_id: int, *, kind: str = REJECT) -> list[dict[str, Any]]:
    """Rows of a batch that were rejected, or (kind "warning") stored with a note, in file order."""
    with Session(engine) as session:
        if session.get(ImportBatch, batch_id) is None:
            raise NotFoundError(f"no import batch {batch_id}")
        rows = session.execute(
            select(RejectedRow)
            .where(RejectedRow.batch_id == batch_id, RejectedRow.kind == kind)
            .order_by(RejectedRow.row_number)
        ).scalars()
        return [{"row": r.row_number, "column": r.column, "reason": r.reason, "raw": r.raw} for r in rows]


def rejects_for_reimport(
    engine: Engine, batch_id: int, *, kind: str = REJECT
) -> tuple[list[str], list[list[str]]]:
    """Rejected rows (or warned ones) in the file's own columns, plus reject_row/column/reason, ready to fix.

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
    for r in list_rejects(engine, batch_id, kind=kind):
        # Rows failed by validation were stored comma-separated; rows the reader refused keep the
        # file's own delimiter (and JSON Lines keep the JSON text).
        sep = "," if r["column"] is not None else delimiter
        fields = next(csv.reader(io.StringIO(r["raw"]), delimiter=sep), [])
        if len(fields) != len(columns):
            fields = [r["raw"]] + [""] * (len(columns) - 1)
        out.append([*fields, str(r["row"]), r["column"] or "", r["reason"]])
    return [*columns, *REJECT_COLUMNS], out
