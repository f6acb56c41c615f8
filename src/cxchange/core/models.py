"""The store's own bookkeeping tables: its identity and the work still owed after a commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.db import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class StoreIdentity(Base):
    """One row: a random id given to the database when it is created (or upgraded to 0016), so a copy
    derived from it (the columnar copy beside a SQLite file) can tell a replaced or restored file."""

    __tablename__ = "store_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PendingWork(Base):
    """A stage event recorded in the transaction of what caused it (core/events.py), done after the
    commit by its subscribers; `done_at` stays empty until every subscriber has run, so a crash
    between the commit and the work leaves a row the next command finishes."""

    __tablename__ = "pending_work"
    __table_args__ = (Index("ix_pending_work_done_at", "done_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Who is doing it ("host:pid") and since when: another process leaves it alone unless that process
    # is gone (same host) or the claim is old.
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
