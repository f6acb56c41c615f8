"""The migrations build exactly the schema the models describe (no drift between them)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import cxchange.models  # noqa: F401  (registers every table on Base)
from cxchange.core.base import Base
from cxchange.listen.search import FTS_TABLES, PG_SEARCH_INDEX


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave out the full-text indexes (SQLite's virtual table and its shadow tables, PostgreSQL's
    expression index): no models describe them."""
    if type_ == "index":
        return name != PG_SEARCH_INDEX
    return not (type_ == "table" and name in FTS_TABLES)


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        opts = {"compare_type": False, "include_name": _include_name}
        context = MigrationContext.configure(conn, opts=opts)
        diff = [
            d
            for d in compare_metadata(context, Base.metadata)
            if d[0] != "remove_table" or d[1].name != "alembic_version"
        ]
    assert diff == []
