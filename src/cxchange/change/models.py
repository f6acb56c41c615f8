"""Tables of the change stage: initiatives and their steps, units, success measures, RACI, readiness,
impact, communication, change agents, training and the resistance log.

People and units are the listen stage's `person` and `org_unit`; a framework is data (YAML), and an
initiative keeps a copy of the framework it was started on so later edits to the file do not rewrite
history.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base
from cxchange.core.types import JsonDoc
from cxchange.listen.surveys.models import ADKAR, AdkarScores

UNIT_ROLES = ("scope", "pilot", "control")
STEP_STATUSES = ("todo", "doing", "done")
RACI_LETTERS = ("R", "A", "C", "I")
# The ten aspects of change scored per impacted group (Prosci's change impact assessment), 0..5.
IMPACT_ASPECTS = (
    "processes",
    "systems",
    "tools",
    "job_roles",
    "critical_behaviours",
    "mindset",
    "reporting_structure",
    "performance_reviews",
    "compensation",
    "location",
)
RESISTANCE_CAUSES = (*ADKAR, "other")
RESISTANCE_STATUSES = ("open", "addressed")


class InitiativePart:
    """The key and the owning initiative of a table that belongs to one initiative (deleted with it).
    sort_order -1: these stay the table's first columns, as the migrations made them."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), index=True, sort_order=-1
    )


class Initiative(Base):
    __tablename__ = "initiative"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    framework: Mapped[str] = mapped_column(String(100))
    # The framework document as it was when the initiative started (steps, guidance, actions).
    framework_doc: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="SET NULL"))
    theme_name: Mapped[str | None] = mapped_column(String(200))
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    vision: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Risk profile: {"size": {factor: 1..5}, "organisation": {factor: 1..5}}.
    risk: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    # How its outcome is measured, set once so every surface shows the same verdict (None: the
    # defaults of `cxchange.sustain.outcome_design`): windows as typed ("365d", "12w", "all") and the
    # org level at which pilot and control were chosen (None: the level of the pilot/control units).
    outcome_before: Mapped[str | None] = mapped_column(String(16))
    outcome_after: Mapped[str | None] = mapped_column(String(16))
    outcome_cluster: Mapped[str | None] = mapped_column(String(64))


class InitiativeStep(InitiativePart, Base):
    __tablename__ = "initiative_step"
    __table_args__ = (UniqueConstraint("initiative_id", "key", name="uq_initiative_step_key"),)

    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="todo")
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class InitiativeUnit(Base):
    __tablename__ = "initiative_unit"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # scope | pilot | control
    start: Mapped[date | None] = mapped_column(Date)  # a pilot unit's own start (staggered rollout)


class SuccessMetric(InitiativePart, Base):
    __tablename__ = "success_metric"
    __table_args__ = (UniqueConstraint("initiative_id", "metric", name="uq_success_metric"),)

    metric: Mapped[str] = mapped_column(String(250))  # nps | csat | ces | theme-share:T | theme-sentiment:T
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(32))  # as typed: "+5", ">=40", "<=12"
    by_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


class RaciAssignment(InitiativePart, Base):
    __tablename__ = "raci_assignment"
    __table_args__ = (UniqueConstraint("initiative_id", "activity", "person_id", name="uq_raci_cell"),)

    activity: Mapped[str] = mapped_column(String(300))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    letter: Mapped[str] = mapped_column(String(1))
    # An A who also does the work ("A/R" in the matrix): the activity then needs no separate R.
    does_work: Mapped[bool] = mapped_column(Boolean, default=False)


class ReadinessResponse(InitiativePart, AdkarScores, Base):
    __tablename__ = "readiness_response"

    assessment: Mapped[int] = mapped_column(Integer)  # 1, 2, …: one per imported file
    assessed_on: Mapped[date] = mapped_column(Date)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # None: anonymous


class ImpactAssessment(InitiativePart, Base):
    __tablename__ = "impact_assessment"
    __table_args__ = (UniqueConstraint("initiative_id", "unit_id", name="uq_impact_unit"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # aspect -> 0..5 (0: not affected), keys from IMPACT_ASPECTS.
    scores: Mapped[dict[str, int]] = mapped_column(JsonDoc, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


class Communication(InitiativePart, Base):
    __tablename__ = "communication"

    audience_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    audience_role: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    sender_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    planned_on: Mapped[date] = mapped_column(Date)
    message: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class ChangeAgent(InitiativePart, Base):
    __tablename__ = "change_agent"
    __table_args__ = (UniqueConstraint("initiative_id", "person_id", name="uq_change_agent"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


class TrainingSession(InitiativePart, Base):
    __tablename__ = "training_session"

    title: Mapped[str] = mapped_column(String(300))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    role: Mapped[str | None] = mapped_column(String(64))  # None: everyone in the unit
    held_on: Mapped[date] = mapped_column(Date)


class TrainingAttendance(Base):
    __tablename__ = "training_attendance"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    attended: Mapped[bool] = mapped_column(Boolean, default=True)


class ResistanceItem(InitiativePart, Base):
    __tablename__ = "resistance_item"

    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    description: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    addressed_at: Mapped[datetime | None] = mapped_column(DateTime)
