"""Column types shared by every stage's tables, and reading their values back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Dialect, Integer
from sqlalchemy.types import TypeDecorator, TypeEngine

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class _JsonDoc(TypeDecorator[Any]):
    """JSONB on PostgreSQL (indexable, ->> is fast); JSON text elsewhere. The same as
    ``JSON().with_variant(JSONB(), "postgresql")``, but PostgreSQL's dialect package (~5 % of a read
    command's start-up: it loads every PostgreSQL driver's dialect, asyncio's among them) is imported
    only by a connection to PostgreSQL, which has loaded it anyway."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JsonDoc = _JsonDoc()


def as_datetime(value: Any) -> datetime | None:
    """A DateTime column's value as a datetime: raw SQL on SQLite (func.max, text queries) gives ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
