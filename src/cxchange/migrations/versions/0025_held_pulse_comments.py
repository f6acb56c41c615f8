"""pulse_comment_held: ADKAR pulse comments waiting to be released in shuffled groups

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-07 21:30:00

A pulse comment was stored as its own import batch at its answer's instant, so the batch's time (or
the order of ids) joined it back to the pulse answer, which carries the unit and the five scores. It
is now held here, in the pulse answer's transaction, with nothing but its survey, a random key and its
text, and released as feedback only when enough comments of the survey wait (listen/surveys/comments.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulse_comment_held",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("survey.id", ondelete="CASCADE"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_pulse_comment_held_survey_id", "pulse_comment_held", ["survey_id"])


def downgrade() -> None:
    op.drop_index("ix_pulse_comment_held_survey_id", table_name="pulse_comment_held")
    op.drop_table("pulse_comment_held")
