"""feedback search on PostgreSQL: a GIN index over the comment's tsvector

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 12:00:00

SQLite searches comments through FTS5 (0007); PostgreSQL searched with ILIKE, so the CLI, the API and
the explorer answered the same words differently. Both now find "every word as a word prefix": on
PostgreSQL through to_tsvector('simple', …) @@ to_tsquery(…), answered from this index. The index
expression must stay exactly the one in cxchange.listen.search.TSVECTOR_SQL, or the planner cannot
use it. Maintained by PostgreSQL on every insert: nothing to catch up.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Fixed DDL (the expression of cxchange.listen.search.TSVECTOR_SQL; copied so the migration never changes).
_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_feedback_text_search ON feedback "
    "USING gin (to_tsvector('simple'::regconfig, "
    "regexp_replace(coalesce(text, ''), '[^[:alnum:]]+', ' ', 'g')))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_feedback_text_search")
