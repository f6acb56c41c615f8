"""Column types shared by every stage's tables, and reading their values back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Dialect, Integer
from sqlalchemy.types import TypeDecorator, TypeEngine

from cxchange.core.errors import InputError

# The largest integer a 64-bit column (SQLite INTEGER, PostgreSQL BIGINT) holds: an id, a limit or an
# offset beyond it is refused as input rather than crashing the driver.
MAX_SQL_INT = 2**63 - 1


def check_page(limit: int | None, offset: int = 0) -> None:
    """A list's --limit (None: every row) and --offset as the database can take them: a limit of 0 or
    below listed everything, and one past a 64-bit integer crashed the driver with a traceback."""
    if limit is not None and not 1 <= limit <= MAX_SQL_INT:
        raise InputError(f"--limit must be from 1 to {MAX_SQL_INT:,}, got {limit:,}")
    if not 0 <= offset <= MAX_SQL_INT:
        raise InputError(f"--offset must be from 0 to {MAX_SQL_INT:,}, got {offset:,}")


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
