"""Tables of native listening: surveys, their public links, anonymous pulse scores, ingest mappings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base
from cxchange.core.types import BigId, JsonDoc

OPEN, CLOSED = "open", "closed"
ADKAR = ("awareness", "desire", "knowledge", "ability", "reinforcement")


class AdkarScores:
    """The five ADKAR scores (1-5) of one answer: a pulse answer here, a readiness response in change."""

    awareness: Mapped[int] = mapped_column(SmallInteger)
    desire: Mapped[int] = mapped_column(SmallInteger)
    knowledge: Mapped[int] = mapped_column(SmallInteger)
    ability: Mapped[int] = mapped_column(SmallInteger)
    reinforcement: Mapped[int] = mapped_column(SmallInteger)


class Survey(Base):
    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # nps | csat | ces | adkar
    # Answers land as feedback of this source (one per survey, named "survey:NAME").
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    language: Mapped[str] = mapped_column(String(16), default="en")
    # The question set as shown (the shipped YAML for the kind, or the user's, with --question applied).
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    # An ADKAR pulse: the initiative and the readiness assessment number its answers form. No foreign
    # key into the change stage's tables: listen sits below change; change checks the id.
    initiative_id: Mapped[int | None] = mapped_column(Integer, index=True)
    assessment: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class SurveyLink(Base):
    """One public link (/s/TOKEN, the token a signature of this id) per unit, or one without a unit."""

    __tablename__ = "survey_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))


class PulseAnswer(AdkarScores, Base):
    """One employee's ADKAR scores, without who they are: only the link's unit and the day."""

    __tablename__ = "pulse_answer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    # The form's one-time nonce: a form posted twice is stored once.
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime)


class HeldComment(Base):
    """A pulse comment not yet released as feedback (comments.py): its survey and its text, nothing
    that orders or dates it (a random key, a table without SQLite's insertion-ordered rowid)."""

    __tablename__ = "pulse_comment_held"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # Random; becomes the comment's feedback external id when it is released.
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)


class SurveyInvitation(Base):
    """A one-time link e-mailed to one person: one answer, a reminder after `remind_after_days`."""

    __tablename__ = "survey_invitation"
    __table_args__ = (UniqueConstraint("survey_id", "email", name="uq_invitation_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # Carried onto the answer's feedback row, so closed-loop cases reach the customer ("you said, we did").
    customer_id: Mapped[str | None] = mapped_column(String(200))
    remind_after_days: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class SurveyOptOut(Base):
    """An address that followed an unsubscribe link: no later survey invites it."""

    __tablename__ = "survey_optout"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)


class IngestMapping(Base):
    """How a ticket system's webhook payload becomes feedback items (POST /api/ingest/SOURCE)."""

    __tablename__ = "ingest_mapping"

    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"), primary_key=True)
    # {"items": "/path/to/list" (optional), "fields": {"text": "/comment/body", ...}}
    mapping: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
