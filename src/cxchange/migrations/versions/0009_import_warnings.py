"""import warnings and summary: rejected_row.kind, import_batch.rows_warned and import_batch.summary

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:00:00

A row with a bad score but a comment is now stored without the score and noted as a warning: the
notes share rejected_row (kind "reject" or "warning"; every existing row is a reject). The batch
keeps how many rows were warned and its summary (rejects and warnings by reason, unknown org units,
rating-scale evidence) as JSON.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rejected_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="reject", nullable=False))
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rows_warned", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column(
                "summary",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_column("summary")
        batch_op.drop_column("rows_warned")
    with op.batch_alter_table("rejected_row", schema=None) as batch_op:
        batch_op.drop_column("kind")
