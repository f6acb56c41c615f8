"""feedback search: an FTS5 index of feedback.text on SQLite, and its bookkeeping table

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 03:00:00

The index is external-content (it holds no copy of the text) and has no triggers: imports stay
bulk inserts, and listen/search.py catches the index up (rows above "max_id") or rebuilds it (when
the feedback_changes counter moved past "changes"). Filled here from the rows already stored: a
one-off cost of roughly 20 s a million comments. PostgreSQL keeps ILIKE: only the bookkeeping table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Fixed DDL (the same text as cxchange.listen.search.FTS_DDL; copied so the migration never changes).
_FTS = (
    "CREATE VIRTUAL TABLE feedback_fts USING fts5("
    "text, content='feedback', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
)


def upgrade() -> None:
    state = op.create_table(
        "search_index_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    bind = op.get_bind()
    max_id = changes = 0
    if bind.dialect.name == "sqlite":
        op.execute(_FTS)
        max_id = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM feedback")).scalar() or 0
        changes = bind.execute(sa.text("SELECT changes FROM feedback_changes WHERE id = 1")).scalar() or 0
        bind.execute(
            sa.text(
                "INSERT INTO feedback_fts(rowid, text)"
                " SELECT id, text FROM feedback WHERE id <= :hi AND text IS NOT NULL"
            ),
            {"hi": max_id},
        )
    op.bulk_insert(state, [{"name": "max_id", "value": max_id}, {"name": "changes", "value": changes}])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS feedback_fts")
    op.drop_table("search_index_state")
