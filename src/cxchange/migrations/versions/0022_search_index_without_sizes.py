"""search index without per-comment sizes: feedback_fts again, with FTS5's columnsize=0 (SQLite)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 21:30:00

FTS5 kept a row per indexed comment in feedback_fts_docsize (its token count), used only to rank
matches (bm25) and by auxiliary functions; cxchange searches for the matching ids and never ranks.
Writing that row was about a third of the CPU of indexing a large import (0.4-0.5 of 1.3 CPU
seconds for 600,000 comments). The table is made again without it and filled from the rows stored,
so the index is as current as before (a one-off cost of about 1 s a million comments). Nothing on
PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# Fixed DDL (the same text as cxchange.listen.search.FTS_DDL; copied so the migration never changes).
_FTS = (
    "CREATE VIRTUAL TABLE feedback_fts USING fts5("
    "text, content='feedback', content_rowid='id', tokenize='unicode61 remove_diacritics 2', columnsize=0)"
)
# Migration 0007's table, for the downgrade.
_FTS_0007 = (
    "CREATE VIRTUAL TABLE feedback_fts USING fts5("
    "text, content='feedback', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
)


def _refill(bind: sa.Connection, ddl: str) -> None:
    """The index made again from every stored comment, and its bookkeeping set to match."""
    op.execute("DROP TABLE IF EXISTS feedback_fts")
    op.execute(ddl)
    max_id = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM feedback")).scalar() or 0
    changes = bind.execute(sa.text("SELECT changes FROM feedback_changes WHERE id = 1")).scalar() or 0
    bind.execute(
        sa.text(
            "INSERT INTO feedback_fts(rowid, text)"
            " SELECT id, text FROM feedback WHERE id <= :hi AND text IS NOT NULL"
        ),
        {"hi": max_id},
    )
    for name, value in (("max_id", max_id), ("changes", changes)):
        bind.execute(sa.text("DELETE FROM search_index_state WHERE name = :n"), {"n": name})
        bind.execute(
            sa.text("INSERT INTO search_index_state (name, value) VALUES (:n, :v)"), {"n": name, "v": value}
        )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _refill(bind, _FTS)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _refill(bind, _FTS_0007)
