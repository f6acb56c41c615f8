"""Column types shared by every stage's tables, and reading their values back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects.postgresql import JSONB

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL (indexable, ->> is fast); JSON text elsewhere.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


def as_datetime(value: Any) -> datetime | None:
    """A DateTime column's value as a datetime: raw SQL on SQLite (func.max, text queries) gives ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
