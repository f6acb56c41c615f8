"""initiative_unit: a start date per pilot unit (staggered rollouts)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 14:55:00

`cxchange outcomes set ID --start-for UNIT=DATE` records that a pilot unit started on its own date; an
initiative with such dates is estimated as a staggered rollout (imputation estimator). Null means the
initiative's start.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("initiative_unit") as batch:
        batch.add_column(sa.Column("start", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("initiative_unit") as batch:
        batch.drop_column("start")
