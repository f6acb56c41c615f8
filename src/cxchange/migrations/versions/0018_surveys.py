"""surveys, their public links, anonymous pulse answers, and stored ingest mappings

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 14:40:00

cxchange collects feedback itself (issue 21): a survey has one public link per unit; customer answers
land as feedback of the survey's source, an employee pulse's ADKAR scores in pulse_answer (no person);
a source can keep the mapping that turns a webhook payload into feedback items.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("definition", _JSON, nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=True),
        sa.Column("assessment", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_survey_initiative_id", "survey", ["initiative_id"])
    op.create_table(
        "survey_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_link_survey_id", "survey_link", ["survey_id"])
    op.create_table(
        "pulse_answer",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        *(sa.Column(e, sa.SmallInteger(), nullable=False)
          for e in ("awareness", "desire", "knowledge", "ability", "reinforcement")),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce"),
    )  # fmt: skip
    op.create_index("ix_pulse_answer_survey_id", "pulse_answer", ["survey_id"])
    op.create_table(
        "survey_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("remind_after_days", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "email", name="uq_invitation_email"),
    )
    op.create_index("ix_survey_invitation_survey_id", "survey_invitation", ["survey_id"])
    op.create_table(
        "survey_optout",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("email"),
    )
    op.create_table(
        "ingest_mapping",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("mapping", _JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("source_id"),
    )


def downgrade() -> None:
    op.drop_table("ingest_mapping")
    op.drop_table("survey_optout")
    op.drop_index("ix_survey_invitation_survey_id", table_name="survey_invitation")
    op.drop_table("survey_invitation")
    op.drop_index("ix_pulse_answer_survey_id", table_name="pulse_answer")
    op.drop_table("pulse_answer")
    op.drop_index("ix_survey_link_survey_id", table_name="survey_link")
    op.drop_table("survey_link")
    op.drop_index("ix_survey_initiative_id", table_name="survey")
    op.drop_table("survey")
