"""ORM classes of the store's own bookkeeping tables (declared in Core: `core.tables`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped

from cxchange.core.base import Base
from cxchange.core.tables import pending_work, store_identity


class StoreIdentity(Base):
    """One row: the database's random identity (`core.tables.store_identity`)."""

    __table__ = store_identity

    id: Mapped[int]
    store_id: Mapped[str]
    created_at: Mapped[datetime]


class PendingWork(Base):
    """A stage event's after-commit work (`core.tables.pending_work`, core/events.py)."""

    __table__ = pending_work

    id: Mapped[int]
    event: Mapped[str]
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    attempts: Mapped[int]
    claimed_by: Mapped[str | None]
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
