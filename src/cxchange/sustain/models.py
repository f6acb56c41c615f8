"""Tables of the sustain stage: closed-loop cases, recognition, alert rules, alerts and their delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base
from cxchange.core.types import BigId, JsonDoc

CASE_STATUSES = ("open", "contacted", "resolved")


class CaseRule(Base):
    """When feedback opens a case: a score condition or a theme mentioned negatively, with an SLA,
    for feedback received within the rule's window."""

    __tablename__ = "case_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # kind: nps_max (nps <= value) | csat_max | ces_max | rating_max | theme_negative (theme_id)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id"))  # None: every source
    sla_hours: Mapped[int] = mapped_column(Integer, default=72)
    # Only feedback received in the last `within_days` days opens a case: a backfill is history.
    within_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


class Case(Base):
    __tablename__ = "cx_case"  # "case" is an SQL keyword
    __table_args__ = (
        UniqueConstraint("feedback_id", name="uq_case_feedback"),  # one case per feedback, whatever the rules
        Index("ix_case_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(BigId, ForeignKey("feedback.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("case_rule.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    contacted_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    root_cause_theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="SET NULL"))
    # [{"at": iso, "by": email|None, "status": ..., "note": ...}]: the case's history, oldest first.
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)


class Recognition(Base):
    """Positive feedback that names an employee of the feedback's unit."""

    __tablename__ = "recognition"
    __table_args__ = (UniqueConstraint("feedback_id", "person_id", name="uq_recognition_feedback_person"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(BigId, ForeignKey("feedback.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    matched: Mapped[str] = mapped_column(String(200))  # the words in the comment that named them
    score: Mapped[float] = mapped_column(Float)  # name-match confidence 0..1
    sentiment: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


class AlertRule(Base):
    __tablename__ = "alert_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    metric: Mapped[str] = mapped_column(String(64))  # nps | csat | ces | rating | theme-spike
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # theme-spike rules: only this theme (None: any theme the emerging detector flags).
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"))
    # kind: drop (value = points, window_days) | below (value) | spike (emerging detector)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(
        JsonDoc, default=list
    )  # [{"email": …}|{"webhook": …}]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("rule_id", "fingerprint", name="uq_alert_rule_fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", ondelete="CASCADE"), index=True)
    fired_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    # What fired, so the same condition in the same window does not fire twice.
    fingerprint: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | acknowledged


class AlertDelivery(Base):
    """One attempt queue entry per alert and channel: failures are kept and retried, never lost."""

    __tablename__ = "alert_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    target: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
