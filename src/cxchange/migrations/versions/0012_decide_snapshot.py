"""decide snapshot: the decide page's figures per scope and data version

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 12:00:00

Drivers with bootstrap intervals and the opportunity figures take seconds at a million rows; the
import or analysis that changes the data stores them here, so the first reader does not pay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decide_snapshot",
        sa.Column("scope_key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.Column("data_version", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("scope_key"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("decide_snapshot")
