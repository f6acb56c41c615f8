"""feedback_rollup: monthly score counts for PostgreSQL, kept current by the import

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 15:00:00

The first `scores --by month --by attr:Region` after a big PostgreSQL import grouped every feedback row
(JSON attributes unpacked row by row). The roll-up (cxchange.listen.rollup) holds the same counts per
month, unit, channel and attribute value; the import adds its rows in the statement that inserts them.
On PostgreSQL a statement trigger now bumps feedback_changes on deletes, updates and truncates (SQLite
has had row triggers since 0002), so a roll-up made stale by them is never read. Existing feedback is
rolled up here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Fixed DDL (PostgreSQL only).
_FUNCTION = """CREATE OR REPLACE FUNCTION cx_feedback_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feedback_changes SET changes = changes + 1 WHERE id = 1;
    RETURN NULL;
END $$"""
_TRIGGER = (
    "CREATE TRIGGER feedback_changes_on_change AFTER UPDATE OR DELETE OR TRUNCATE ON feedback "
    "FOR EACH STATEMENT EXECUTE FUNCTION cx_feedback_changed()"
)
_KEY = ("metric", "attr_name", "month", "source_id", "org_unit_id", "channel", "attr_value", "value")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "feedback_rollup",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sa.String(8), nullable=False),
        sa.Column("attr_name", sa.String(200), nullable=False),
        sa.Column("month", sa.String(7), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("attr_value", sa.Text(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(*_KEY, name="uq_feedback_rollup", postgresql_nulls_not_distinct=True),
    )
    op.create_table(
        "feedback_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if postgres:
        op.execute(_FUNCTION)
        op.execute(_TRIGGER)
        from cxchange.listen.rollup import rebuild  # the same counting SQL the import runs

        rebuild(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS feedback_changes_on_change ON feedback")
        op.execute("DROP FUNCTION IF EXISTS cx_feedback_changed()")
    op.drop_table("feedback_rollup_state")
    op.drop_table("feedback_rollup")
