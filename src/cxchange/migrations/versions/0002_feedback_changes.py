"""feedback_changes: a counter of deletions and updates of feedback, kept by triggers on SQLite

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Fixed DDL: the counter row is id 1. SQLite only: PostgreSQL scores with SQL and needs no copy.
_TRIGGERS = (
    """CREATE TRIGGER feedback_changes_on_delete AFTER DELETE ON feedback
       BEGIN UPDATE feedback_changes SET changes = changes + 1 WHERE id = 1; END""",
    """CREATE TRIGGER feedback_changes_on_update AFTER UPDATE ON feedback
       BEGIN UPDATE feedback_changes SET changes = changes + 1 WHERE id = 1; END""",
)


def upgrade() -> None:
    table = op.create_table(
        "feedback_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "changes": 0}])
    if op.get_bind().dialect.name == "sqlite":
        for ddl in _TRIGGERS:
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS feedback_changes_on_delete")
        op.execute("DROP TRIGGER IF EXISTS feedback_changes_on_update")
    op.drop_table("feedback_changes")
