"""Column types shared by every stage's tables."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects.postgresql import JSONB

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL (indexable, ->> is fast); JSON text elsewhere.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")
