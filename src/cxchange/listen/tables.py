"""The listen stage's tables that reads of feedback use (sources, feedback, its change counter),
declared in SQLAlchemy Core, so that a read such as `cxchange scores` needs no ORM (a tenth of its
start-up, issue 14). `listen.models` maps ORM classes on them (`Source`, `Feedback`, `FeedbackChanges`)
for everything else; the other listen tables are declared there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cxchange.core.tables import METADATA
from cxchange.core.types import BigId, JsonDoc

source = Table(
    "source",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False, default="survey"),
    # field -> column, remembered so the next export of the same source imports without flags.
    Column("mapping", JsonDoc, nullable=False, default=dict),
    Column("rating_scale", SmallInteger, nullable=False, default=5),
    Column("created_at", DateTime, nullable=False, default=datetime.utcnow),
)

feedback = Table(
    "feedback",
    METADATA,
    Column("id", BigId, primary_key=True),
    Column("source_id", Integer, ForeignKey("source.id"), nullable=False),
    Column("batch_id", Integer, ForeignKey("import_batch.id"), nullable=False, index=True),
    Column("external_id", String(200)),
    Column("dedup_key", String(220), nullable=False),
    # Only for rows without an external id: their dedup key is this digest of the raw row.
    Column("content_hash", String(40)),
    Column("received_at", DateTime),
    Column("channel", String(64)),
    Column("customer_id", String(200)),
    Column("org_unit_id", Integer, ForeignKey("org_unit.id")),
    Column("attributes", JsonDoc),
    Column("nps", SmallInteger),
    Column("csat", SmallInteger),
    Column("ces", SmallInteger),
    Column("rating", Float),
    Column("rating_scale", SmallInteger),
    Column("text", Text),
    Column("language", String(16)),
    Column("customer_value", Float),
    # external id within a source, else a content hash: importing the same file twice adds nothing.
    UniqueConstraint("source_id", "dedup_key", name="uq_feedback_source_dedup"),
    Index("ix_feedback_received_at", "received_at"),
    Index("ix_feedback_org_unit", "org_unit_id"),
    # Ids are never reused after a deletion: the columnar copy (listen/columnar.py) relies on it.
    sqlite_autoincrement=True,
)

# One row counting deletions and in-place updates of feedback (kept by triggers on SQLite). Imports only
# add rows; anything else bumps this number, so a derived copy of feedback (the columnar copy in
# listen/columnar.py) knows when it must be rebuilt without counting rows.
feedback_changes = Table(
    "feedback_changes",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("changes", BigId, nullable=False, default=0),
)
