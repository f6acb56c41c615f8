"""the score roll-up also counts every row (PostgreSQL): the explorer's exact counts come from it

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 21:30:00

The roll-up (cxchange.listen.rollup) now holds a 'rows' entry per (month, source, unit, channel):
how many rows there are, with or without a score. The explorer's exact count of all feedback (or of
sources and units) sums them instead of counting every row (1.1 s at 10M rows). A roll-up built
before has no such entries: they are counted here by one GROUP BY over feedback (a whole rebuild took
80 s at 1M rows on a loaded machine; a stale roll-up is left to the next import, which rebuilds it).
No schema change; nothing on SQLite.
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from cxchange.listen.rollup import add_row_counts

    add_row_counts(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DELETE FROM feedback_rollup WHERE metric = 'rows'")
