"""Tables of the listen stage: the organisation, sources, import batches, feedback, rejected rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.db import Base
from cxchange.core.types import BigId, JsonDoc

SOURCE_KINDS = ("survey", "ticket", "review", "social", "complaint", "employee")


class Source(Base):
    __tablename__ = "source"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="survey")
    # field -> column, remembered so the next export of the same source imports without flags.
    mapping: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    rating_scale: Mapped[int] = mapped_column(SmallInteger, default=5)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


class ImportBatch(Base):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str | None] = mapped_column(String(64))
    format: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="running")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    # Rows stored, but not as they were (a bad score left empty): listed by `cxchange rejects --warnings`.
    rows_warned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_redacted: Mapped[int] = mapped_column(Integer, default=0)
    mapping: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    # The file's header and delimiter: rejected rows are exported in the file's own columns.
    columns: Mapped[list[str] | None] = mapped_column(JsonDoc)
    delimiter: Mapped[str | None] = mapped_column(String(4))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    seconds: Mapped[float | None] = mapped_column(Float)
    # Rejects and warnings by reason, unknown org units, scale evidence (listen/summary.py).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    # Where the time went: read, validate, write, … and the post-commit steps (listen/service.py).
    timings: Mapped[dict[str, float] | None] = mapped_column(JsonDoc)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        # external id within a source, else a content hash: importing the same file twice adds nothing.
        UniqueConstraint("source_id", "dedup_key", name="uq_feedback_source_dedup"),
        Index("ix_feedback_received_at", "received_at"),
        Index("ix_feedback_org_unit", "org_unit_id"),
        # Ids are never reused after a deletion: the columnar copy (listen/columnar.py) relies on it.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    dedup_key: Mapped[str] = mapped_column(String(220))
    # Only for rows without an external id: their dedup key is this digest of the raw row.
    content_hash: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    channel: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    ces: Mapped[int | None] = mapped_column(SmallInteger)
    rating: Mapped[float | None] = mapped_column(Float)
    rating_scale: Mapped[int | None] = mapped_column(SmallInteger)
    text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    customer_value: Mapped[float | None] = mapped_column(Float)


REJECT, WARNING = "reject", "warning"


class RejectedRow(Base):
    """A row not stored (kind "reject"), or stored with a note (kind "warning": e.g. a bad score left
    empty while its comment is kept), with the reason and the row as it was in the file."""

    __tablename__ = "rejected_row"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8), default=REJECT, server_default=REJECT)
    row_number: Mapped[int] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class FeedbackChanges(Base):
    """One row counting deletions and in-place updates of feedback (kept by triggers on SQLite).

    Imports only add rows; anything else bumps this number, so a derived copy of feedback (the
    columnar copy in listen/columnar.py) knows when it must be rebuilt without counting rows.
    """

    __tablename__ = "feedback_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changes: Mapped[int] = mapped_column(BigId, default=0)
