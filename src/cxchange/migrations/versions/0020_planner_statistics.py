"""planner statistics for the tables analysis and imports fill in bulk (PostgreSQL)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 19:20:00

Up to now only an import refreshed statistics (feedback); analysis wrote feedback_sentiment and
feedback_theme in bulk and left them unanalysed, which, on a server whose autovacuum is off or behind,
the planner reads as a few hundred rows each: the explorer's sentiment + theme page took 2 s at a
million rows for a 1 ms plan. Analysis now refreshes them itself (core/planner_stats.py); this gathers
them once for databases analysed before. No schema change; nothing on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLES = ("feedback", "feedback_sentiment", "feedback_theme", "source", "org_unit")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name in TABLES:  # fixed names: ANALYZE takes no bound parameter
        bind.execute(sa.text(f"ANALYZE {name}"))


def downgrade() -> None:
    pass  # statistics are not schema: nothing to undo
