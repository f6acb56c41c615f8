"""Tables of the decide stage: the decide page's figures kept per scope and data version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base
from cxchange.core.types import JsonDoc


class DecideSnapshot(Base):
    """The slow figures of the decide page for one scope (drivers with bootstrap intervals, baseline NPS,
    each theme's opportunity figures), valid while the data version is `data_version`. One row per
    scope, replaced when a newer version is computed (decide/overview.py)."""

    __tablename__ = "decide_snapshot"

    scope_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the scope's filters
    scope: Mapped[list[str]] = mapped_column(JsonDoc)
    data_version: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    seconds: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
