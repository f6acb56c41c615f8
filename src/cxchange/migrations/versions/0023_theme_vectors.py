"""theme_vector: discovery's sentence embeddings per comment, reused by `analyze`

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 00:30:00

`themes discover --save` embeds every comment it reads; `analyze` assigned the saved themes by
embedding the same comments again (half of a short-text session's time, issue 15). The vectors are
now stored per (comment, embedder) with the hash of the string embedded, and `analyze` uses them when
the hash matches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "theme_vector",
        sa.Column(
            "feedback_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("feedback.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("embedder", sa.String(32), primary_key=True),
        sa.Column("text_key", sa.String(32), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("theme_vector")
