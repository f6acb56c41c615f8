"""PostgreSQL's score roll-up tables (listen/rollup.py), declared in SQLAlchemy Core: `cxchange scores` on
PostgreSQL reads them, and a read needs no ORM (its classes and the registry are a large part of a
command's start-up, issue 14). Apart from `listen.tables`: the unique key declares a PostgreSQL-only
option, whose validation loads PostgreSQL's whole dialect package, which a read on SQLite never needs."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, String, Table, Text, UniqueConstraint

from cxchange.core.tables import METADATA
from cxchange.core.types import BigId

feedback_rollup = Table(
    "feedback_rollup",
    METADATA,
    Column("id", BigId, primary_key=True),
    Column("metric", String(8), nullable=False),
    Column("attr_name", String(200), nullable=False),
    Column("month", String(7)),  # YYYY-MM of received_at
    Column("source_id", Integer, nullable=False),
    Column("org_unit_id", Integer),
    Column("channel", String(64)),
    Column("attr_value", Text),
    Column("value", Float, nullable=False),
    Column("n", BigInteger, nullable=False),
    UniqueConstraint(
        "metric", "attr_name", "month", "source_id", "org_unit_id", "channel", "attr_value", "value",
        name="uq_feedback_rollup", postgresql_nulls_not_distinct=True,
    ),
)  # fmt: skip

# One row: the feedback_changes counter the roll-up was built at.
feedback_rollup_state = Table(
    "feedback_rollup_state",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("changes", BigId, nullable=False),
)
