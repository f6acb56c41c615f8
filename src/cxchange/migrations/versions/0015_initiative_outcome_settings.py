"""initiative: stored outcome windows and the level at which pilot and control were chosen

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 12:10:00

`cxchange outcomes set ID --before 365d --after 90d --cluster region` stores how an initiative's
outcome is measured, so the CLI, the API, the initiative page, the Sustain page and the executive report
all give the same verdict. Null means the defaults.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_COLUMNS = (("outcome_before", 16), ("outcome_after", 16), ("outcome_cluster", 64))


def upgrade() -> None:
    with op.batch_alter_table("initiative") as batch:
        for name, length in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("initiative") as batch:
        for name, _length in reversed(_COLUMNS):
            batch.drop_column(name)
