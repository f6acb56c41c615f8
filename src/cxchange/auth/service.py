"""Users, API tokens, the audit log and the session-signing secret: the functions CLI, API and UI share."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from cxchange.auth.models import ApiToken, AppSecret, AuditEntry, SignInSession, User, UserUnit
from cxchange.auth.passwords import hash_password, needs_rehash, verify_password
from cxchange.auth.roles import get_role
from cxchange.core.bulk import inserted_id
from cxchange.core.config import get_settings
from cxchange.core.errors import InputError, NotFoundError
from cxchange.core.types import check_page
from cxchange.org.models import OrgUnit

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
TOKEN_PREFIX = "cxt_"


def _norm_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InputError(f"not an e-mail address: {email!r}")
    return email


def _unit_ids(conn: Any, codes: Sequence[str]) -> list[int]:
    ids = []
    for code in codes:
        uid = conn.execute(select(OrgUnit.id).where(func.lower(OrgUnit.code) == code.lower())).scalar()
        if uid is None:
            raise NotFoundError(f"no org unit with code {code!r}")
        ids.append(uid)
    return ids


def _user_dict(conn: Any, user: Any) -> dict[str, Any]:
    codes = conn.execute(
        select(OrgUnit.code)
        .join(UserUnit, UserUnit.unit_id == OrgUnit.id)
        .where(UserUnit.user_id == user.id)
        .order_by(OrgUnit.code)
    ).scalars()
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "units": list(codes),
        "active": user.active,
        "created_at": user.created_at.isoformat(timespec="seconds") if user.created_at else None,
        "last_login_at": user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else None,
    }


def add_user(
    engine: Engine,
    email: str,
    role: str,
    *,
    units: Sequence[str] = (),
    password: str | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    email = _norm_email(email)
    spec = get_role(role)
    if spec.requires_units and not units:
        raise InputError(f"a {role} needs at least one --unit (the units they look after)")
    if role == "admin" and units:
        raise InputError("an admin sees every unit: drop --unit")
    hashed = hash_password(password) if password is not None else None
    with engine.begin() as conn:
        if conn.execute(select(User.id).where(User.email == email)).scalar() is not None:
            raise InputError(f"user {email} already exists (use `cxchange user passwd` or `user set`)")
        unit_ids = _unit_ids(conn, units)
        uid = inserted_id(
            conn,
            insert(User).values(
                email=email, role=role, password_hash=hashed, active=True, created_at=datetime.utcnow()
            ),
        )
        for unit_id in unit_ids:
            conn.execute(insert(UserUnit).values(user_id=uid, unit_id=unit_id))
        _audit(conn, actor, "user.add", email, {"role": role, "units": list(units)})
        user = conn.execute(select(User).where(User.id == uid)).one()
        return _user_dict(conn, user)


def list_users(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [_user_dict(conn, u) for u in conn.execute(select(User).order_by(User.email)).all()]


def get_user(engine: Engine, email: str) -> dict[str, Any]:
    with engine.connect() as conn:
        user = conn.execute(select(User).where(User.email == email.strip().lower())).one_or_none()
        if user is None:
            raise NotFoundError(f"no user {email!r}")
        return _user_dict(conn, user)


def set_password(engine: Engine, email: str, password: str, *, actor: str = "cli") -> None:
    hashed = hash_password(password)
    with engine.begin() as conn:
        done = conn.execute(
            update(User).where(User.email == email.strip().lower()).values(password_hash=hashed)
        ).rowcount
        if not done:
            raise NotFoundError(f"no user {email!r}")
        # Every session of the user ends: whoever knew the old password is signed out everywhere.
        uid = select(User.id).where(User.email == email.strip().lower()).scalar_subquery()
        conn.execute(delete(SignInSession).where(SignInSession.user_id == uid))
        _audit(conn, actor, "user.passwd", email.strip().lower(), {})


def authenticate(engine: Engine, email: str, password: str) -> dict[str, Any] | None:
    """The user for a correct e-mail and password, else None (same cost either way)."""
    with engine.begin() as conn:
        user = conn.execute(
            select(User).where(User.email == email.strip().lower(), User.active.is_(True))
        ).one_or_none()
        if not verify_password(user.password_hash if user else None, password) or user is None:
            return None
        values: dict[str, Any] = {"last_login_at": datetime.utcnow()}
        if needs_rehash(user.password_hash):
            values["password_hash"] = hash_password(password)
        conn.execute(update(User).where(User.id == user.id).values(**values))
        return {
            **_user_dict(conn, user),
            "fingerprint": _fingerprint(values.get("password_hash", user.password_hash)),
        }


def _fingerprint(stored: str | None) -> str:
    return hashlib.sha256((stored or "").encode()).hexdigest()[:16]


def load_user(engine: Engine, user_id: int) -> dict[str, Any] | None:
    """The active user with `fingerprint`, which changes with the password (old sessions then end)."""
    with engine.connect() as conn:
        user = conn.execute(select(User).where(User.id == user_id, User.active.is_(True))).one_or_none()
        if user is None:
            return None
        return {**_user_dict(conn, user), "fingerprint": _fingerprint(user.password_hash)}


def start_session(engine: Engine, user_id: int, hours: int) -> str:
    """A new server-side session for the user; returns its id (only its hash is stored)."""
    sid = secrets.token_urlsafe(32)
    now = datetime.utcnow()
    with engine.begin() as conn:
        conn.execute(delete(SignInSession).where(SignInSession.expires_at < now))
        conn.execute(
            insert(SignInSession).values(
                id=_token_hash(sid), user_id=user_id, created_at=now, expires_at=now + timedelta(hours=hours)
            )
        )
    return sid


def session_user_id(engine: Engine, sid: str) -> int | None:
    """The user of a live session, or None when it ended (signed out, password changed) or expired."""
    with engine.connect() as conn:
        return conn.execute(
            select(SignInSession.user_id).where(
                SignInSession.id == _token_hash(sid), SignInSession.expires_at > datetime.utcnow()
            )
        ).scalar()


def end_session(engine: Engine, sid: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(SignInSession).where(SignInSession.id == _token_hash(sid)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, email: str, *, name: str | None = None, actor: str = "cli") -> str:
    """A new API token for the user; printed once, only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        uid = conn.execute(select(User.id).where(User.email == email.strip().lower())).scalar()
        if uid is None:
            raise NotFoundError(f"no user {email!r}")
        conn.execute(
            insert(ApiToken).values(
                user_id=uid,
                token_hash=_token_hash(token),
                prefix=token[: len(TOKEN_PREFIX) + 6],
                name=name,
                created_at=datetime.utcnow(),
                revoked=False,
            )
        )
        _audit(conn, actor, "token.create", email.strip().lower(), {"name": name})
    return token


def user_for_token(engine: Engine, token: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(ApiToken.id, ApiToken.user_id, ApiToken.last_used_at).where(
                ApiToken.token_hash == _token_hash(token), ApiToken.revoked.is_(False)
            )
        ).one_or_none()
        if row is None:
            return None
        user = conn.execute(select(User).where(User.id == row.user_id, User.active.is_(True))).one_or_none()
        if user is None:
            return None
        found = _user_dict(conn, user)
    now = datetime.utcnow()
    # A write per request would serialise readers on SQLite: note use at most once a minute.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        with engine.begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return found


def revoke_tokens(engine: Engine, email: str, *, actor: str = "cli") -> int:
    with engine.begin() as conn:
        uid = conn.execute(select(User.id).where(User.email == email.strip().lower())).scalar()
        if uid is None:
            raise NotFoundError(f"no user {email!r}")
        n = conn.execute(update(ApiToken).where(ApiToken.user_id == uid).values(revoked=True)).rowcount
        _audit(conn, actor, "token.revoke", email.strip().lower(), {"tokens": n})
        return n


def count_users(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(User)).scalar() or 0)


def _audit(conn: Any, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
    conn.execute(
        insert(AuditEntry).values(
            at=datetime.utcnow(), actor=actor, action=action, target=target, detail=detail
        )
    )


def audit(engine: Engine, actor: str, action: str, target: str | None = None, **detail: Any) -> None:
    """Record who did what (imports, taxonomy edits, initiative changes, user changes)."""
    with engine.begin() as conn:
        _audit(conn, actor, action, target, detail)


def list_audit(engine: Engine, *, limit: int = 200, action: str | None = None) -> list[dict[str, Any]]:
    check_page(limit)  # as every other list: a limit past a 64-bit integer printed a traceback
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action.like(action.replace("*", "%")))
    with engine.connect() as conn:
        return [
            {
                "id": r.id,
                "at": r.at.isoformat(timespec="seconds"),
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "detail": r.detail,
            }
            for r in conn.execute(stmt).all()
        ]


def secret_key(engine: Engine, name: str = "session") -> str:
    """The database's signing key, created on first use (a configured CXCHANGE_SECRET_KEY wins)."""
    configured = get_settings().secret_key
    if configured:
        return configured
    with engine.begin() as conn:
        value = conn.execute(select(AppSecret.value).where(AppSecret.name == name)).scalar()
        if value is None:
            value = secrets.token_urlsafe(48)
            conn.execute(insert(AppSecret).values(name=name, value=value))
        return value


def delete_user(engine: Engine, email: str, *, actor: str = "cli") -> None:
    with engine.begin() as conn:
        if not conn.execute(delete(User).where(User.email == email.strip().lower())).rowcount:
            raise NotFoundError(f"no user {email!r}")
        _audit(conn, actor, "user.delete", email.strip().lower(), {})
