"""Tables of sign-in: users, the org units a scoped user sees, API tokens, the audit log, app secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base
from cxchange.core.types import BigId, JsonDoc


class User(Base):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class UserUnit(Base):
    """A scoped user (a manager) sees these units and everything beneath them."""

    __tablename__ = "app_user_unit"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True)


class ApiToken(Base):
    """Only a SHA-256 of the token is kept: a leaked database does not leak working tokens."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings so a user can tell tokens apart
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    actor: Mapped[str] = mapped_column(String(320))  # e-mail, or "cli" for an unauthenticated local command
    action: Mapped[str] = mapped_column(String(64))  # import, taxonomy.rename, initiative.create, user.add…
    target: Mapped[str | None] = mapped_column(String(400))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)


class AppSecret(Base):
    """Generated once per database (the session-signing key), so sessions survive a restart."""

    __tablename__ = "app_secret"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class SignInSession(Base):
    """A signed-in browser: the cookie names it, so sign-out and a password change end it on the server."""

    __tablename__ = "app_session"

    # SHA-256 of the session id in the cookie: a leaked database does not leak working sessions.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class RateEvent(Base):
    """One counted event (a failed sign-in, an expensive request) in a named bucket; kept in the database
    so every server process shares the count."""

    __tablename__ = "rate_event"
    __table_args__ = (Index("ix_rate_event_bucket_at", "bucket", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(400))  # e.g. "login-fail-acct:ann@x.com", "api:simulate:7"
    at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
