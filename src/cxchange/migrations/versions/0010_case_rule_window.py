"""case rules act on recent feedback only: case_rule.within_days (default 14)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00

A backfill of history must not open cases: a rule opens a case only for feedback received within
its last `within_days` days. Existing rules get the default, 14 days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_rule") as batch:
        batch.add_column(sa.Column("within_days", sa.Integer(), nullable=False, server_default="14"))


def downgrade() -> None:
    with op.batch_alter_table("case_rule") as batch:
        batch.drop_column("within_days")
