"""store identity and pending after-commit work

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 14:40:00

`store_identity` holds a random id made once per database, so the columnar copy beside a SQLite file
is never reused for another database that replaced the file. `pending_work` records the stage events
("batch imported", "analysis finished") in the same transaction as their batch or run; the work they
trigger (cases, alerts, search index, columnar copy) is marked done only when it has run, so a crash
after the commit loses none of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    identity = op.create_table(
        "store_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # A new database and an upgraded one alike get their id here.
    op.bulk_insert(identity, [{"id": 1, "store_id": uuid.uuid4().hex, "created_at": datetime.utcnow()}])
    op.create_table(
        "pending_work",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pending_work_done_at", "pending_work", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_pending_work_done_at", table_name="pending_work")
    op.drop_table("pending_work")
    op.drop_table("store_identity")
