"""server-side sign-in sessions and shared rate-limit events

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:00:00

Sign-out and a password change must end a session on the server (a signed cookie alone stays valid
until it expires), and failed sign-ins and expensive requests must be counted once for every
`serve --workers N` process, not per process.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_app_session_user_id", "app_session", ["user_id"])
    op.create_index("ix_app_session_expires_at", "app_session", ["expires_at"])
    op.create_table(
        "rate_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bucket", sa.String(length=400), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rate_event_bucket_at", "rate_event", ["bucket", "at"])
    op.create_index("ix_rate_event_expires_at", "rate_event", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_event_expires_at", table_name="rate_event")
    op.drop_index("ix_rate_event_bucket_at", table_name="rate_event")
    op.drop_table("rate_event")
    op.drop_index("ix_app_session_expires_at", table_name="app_session")
    op.drop_index("ix_app_session_user_id", table_name="app_session")
    op.drop_table("app_session")
