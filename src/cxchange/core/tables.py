"""The store's own bookkeeping tables, declared in SQLAlchemy Core: its identity and the work still owed
after a commit. Every command reads them while it opens the database (`core.events.resume_once`, the
columnar copy's signature), so they must not need SQLAlchemy's ORM; `core.models` maps ORM classes on
them for the code that wants classes. `METADATA` is the one metadata of every table (`core.base.Base`'s).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, Text

from cxchange.core.types import BigId

METADATA = MetaData()

# One row: a random id given to the database when it is created (or upgraded to 0016), so a copy
# derived from it (the columnar copy beside a SQLite file) can tell a replaced or restored file.
store_identity = Table(
    "store_identity",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("store_id", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# A stage event recorded in the transaction of what caused it (core/events.py), done after the commit
# by its subscribers; `done_at` stays empty until every subscriber has run, so a crash between the
# commit and the work leaves a row the next command finishes.
pending_work = Table(
    "pending_work",
    METADATA,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # Who is doing it ("host:pid") and since when: another process leaves it alone unless that process
    # is gone (same host) or the claim is old.
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", DateTime, nullable=True),
    Column("done_at", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_pending_work_done_at", "done_at"),
)
