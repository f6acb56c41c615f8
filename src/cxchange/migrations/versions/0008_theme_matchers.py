"""theme matchers: a discovered theme set's own model, and the relevance of each assignment

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:00:00

`theme_matcher` keeps, per `themes discover --save`, the model that grouped the comments (a NumPy .npz
blob) with its calibrated thresholds; `feedback_theme.relevance` is how much a comment is about a theme
(assignments made before this revision keep NULL until they are re-matched).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "theme_matcher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taxonomy_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("scope", _JSON, nullable=True),
        sa.Column("theme_ids", _JSON, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("feedback_theme", sa.Column("relevance", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback_theme") as batch:
        batch.drop_column("relevance")
    op.drop_table("theme_matcher")
