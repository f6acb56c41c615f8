"""Tables of the listen stage: sources, import batches, feedback, rejected rows. Sources, feedback and its
change counter are declared in Core (`listen.tables`: reads need no ORM) and mapped here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base
from cxchange.core.types import BigId, JsonDoc
from cxchange.listen.tables import feedback, feedback_changes, source

SOURCE_KINDS = ("survey", "ticket", "review", "social", "complaint", "employee")


class Source(Base):
    """A named source of feedback (`listen.tables.source`)."""

    __table__ = source

    id: Mapped[int]
    name: Mapped[str]
    kind: Mapped[str]
    mapping: Mapped[dict[str, Any]]
    rating_scale: Mapped[int]
    created_at: Mapped[datetime]


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
    """One piece of feedback (`listen.tables.feedback`)."""

    __table__ = feedback

    id: Mapped[int]
    source_id: Mapped[int]
    batch_id: Mapped[int]
    external_id: Mapped[str | None]
    dedup_key: Mapped[str]
    content_hash: Mapped[str | None]
    received_at: Mapped[datetime | None]
    channel: Mapped[str | None]
    customer_id: Mapped[str | None]
    org_unit_id: Mapped[int | None]
    attributes: Mapped[dict[str, Any] | None]
    nps: Mapped[int | None]
    csat: Mapped[int | None]
    ces: Mapped[int | None]
    rating: Mapped[float | None]
    rating_scale: Mapped[int | None]
    text: Mapped[str | None]
    language: Mapped[str | None]
    customer_value: Mapped[float | None]


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
    """The count of feedback deletions and updates (`listen.tables.feedback_changes`)."""

    __table__ = feedback_changes

    id: Mapped[int]
    changes: Mapped[int]
