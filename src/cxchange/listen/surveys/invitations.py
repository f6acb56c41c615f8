"""Invitations: one-time survey links e-mailed over SMTP (CXCHANGE_SMTP_* settings), a reminder after N
days to those who have not answered, and an unsubscribe link honoured by every later survey.

The contacts file has `email` and `unit` columns, optionally `customer_id` and `name`. A bad row stops
the whole file (row and column named) before anything is stored or sent.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from cxchange.core.config import Settings, get_settings
from cxchange.core.errors import InputError, NotFoundError
from cxchange.core.mail import MailError, send_email
from cxchange.listen.surveys.models import OPEN, SurveyInvitation, SurveyOptOut
from cxchange.listen.surveys.service import find_survey, invitation_url, signing_secret, strings
from cxchange.org.models import OrgUnit

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_CONTACTS = 100_000


def _unsubscribe_serializer(engine: Engine) -> URLSafeSerializer:
    return URLSafeSerializer(signing_secret(engine), salt="cxchange-survey-unsubscribe")


def unsubscribe_url(engine: Engine, email: str) -> str:
    token = _unsubscribe_serializer(engine).dumps(email)
    return f"{get_settings().public_url.rstrip('/')}/s/unsubscribe/{token}"


def unsubscribe(engine: Engine, token: str) -> str:
    """Record the opt-out of the address the token names (signed: nobody can opt out someone else)."""
    try:
        email = _unsubscribe_serializer(engine).loads(token)
    except BadSignature:
        raise NotFoundError("no such unsubscribe link") from None
    if not isinstance(email, str):
        raise NotFoundError("no such unsubscribe link")
    with engine.begin() as conn:
        if conn.execute(select(SurveyOptOut.email).where(SurveyOptOut.email == email)).first() is None:
            conn.execute(insert(SurveyOptOut).values(email=email, at=datetime.utcnow()))
    return email


def check_unsubscribe(engine: Engine, token: str) -> None:
    try:
        _unsubscribe_serializer(engine).loads(token)
    except BadSignature:
        raise NotFoundError("no such unsubscribe link") from None


def _contacts(path: str | Path, units: dict[str, int]) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=str(path))
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=str(path)) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("email", "unit") if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; want email, unit[, customer_id, name]", file=str(path)
        )
    reader.fieldnames = header
    rows, seen = [], set()
    for n, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        email = row.get("email", "").lower()
        if not EMAIL.match(email):
            raise InputError(
                f"{row.get('email', '')[:80]!r} is not an e-mail address",
                file=str(path),
                row=n,
                column="email",
            )
        if email in seen:
            raise InputError(f"{email} is listed twice", file=str(path), row=n, column="email")
        seen.add(email)
        unit = row.get("unit", "")
        if unit and unit not in units:
            raise InputError(f"unknown unit {unit!r}", file=str(path), row=n, column="unit")
        customer, name = row.get("customer_id") or None, row.get("name") or None
        rows.append({"email": email, "unit_id": units.get(unit), "customer_id": customer, "name": name})
        if len(rows) > MAX_CONTACTS:
            raise InputError(f"more than {MAX_CONTACTS} contacts in one file", file=str(path))
    if not rows:
        raise InputError("no contacts in the file", file=str(path))
    return rows


def _mail_ready() -> Settings:
    s = get_settings()
    if not s.smtp_host:
        raise InputError(
            "e-mail is not configured: set CXCHANGE_SMTP_HOST (and CXCHANGE_SMTP_PORT, CXCHANGE_SMTP_FROM)"
        )
    if not s.public_url:
        raise InputError("set CXCHANGE_PUBLIC_URL (e.g. https://cx.example.com) so that e-mailed links work")
    return s


def _message(engine: Engine, inv: Any, definition: dict[str, Any], language: str) -> str:
    s = strings(language)
    return s["invite_body"].format(
        name=f" {inv.name}" if inv.name else "",
        question=definition.get("question", ""),
        url=invitation_url(engine, inv.id),
        unsubscribe=unsubscribe_url(engine, inv.email),
    )


def _send_all(
    engine: Engine, settings: Settings, survey: Any, invitations: list[Any], *, reminder: bool
) -> dict[str, int]:
    s = strings(survey.language)
    subject = s["reminder_subject" if reminder else "invite_subject"]
    sent = failed = 0
    for inv in invitations:
        now = datetime.utcnow()
        try:
            body = _message(engine, inv, survey.definition, survey.language)
            send_email(settings, inv.email, subject, body)
            values: dict[str, Any] = {"reminded_at" if reminder else "sent_at": now, "last_error": None}
            sent += 1
        except MailError as exc:
            values = {"last_error": str(exc)[:1000]}
            failed += 1
        with engine.begin() as conn:
            conn.execute(update(SurveyInvitation).where(SurveyInvitation.id == inv.id).values(**values))
    return {"sent": sent, "failed": failed}


def invite(
    engine: Engine, survey_ref: int | str, path: str | Path, *, remind_after_days: int | None = 3
) -> dict[str, Any]:
    """Invite every contact of the file not yet invited to this survey and not unsubscribed."""
    settings = _mail_ready()
    if remind_after_days is not None and remind_after_days < 1:
        raise InputError("--remind-after: at least 1 day (or leave it out for no reminder)")
    with Session(engine, expire_on_commit=False) as conn, conn.begin():
        survey = find_survey(conn, survey_ref)
        if survey.status != OPEN:
            raise InputError(f"survey {survey.name!r} is closed")
        units = dict(conn.execute(select(OrgUnit.code, OrgUnit.id)).all())
        contacts = _contacts(path, units)
        optout = set(conn.execute(select(SurveyOptOut.email)).scalars())
        invited = set(
            conn.execute(
                select(SurveyInvitation.email).where(SurveyInvitation.survey_id == survey.id)
            ).scalars()
        )
        fresh = [c for c in contacts if c["email"] not in optout and c["email"] not in invited]
        if fresh:
            conn.execute(
                insert(SurveyInvitation),
                [{**c, "survey_id": survey.id, "remind_after_days": remind_after_days} for c in fresh],
            )
        new = list(
            conn.scalars(
                select(SurveyInvitation).where(
                    SurveyInvitation.survey_id == survey.id,
                    SurveyInvitation.email.in_([c["email"] for c in fresh]),
                )
            )
        )
    out = _send_all(engine, settings, survey, new, reminder=False)
    return {
        "survey": survey.id,
        "invited": len(fresh),
        "unsubscribed": sum(c["email"] in optout for c in contacts),
        "already_invited": sum(c["email"] in invited for c in contacts),
        **out,
    }


def remind(engine: Engine, survey_ref: int | str, *, now: datetime | None = None) -> dict[str, Any]:
    """One reminder to each invitation sent its N days ago or more: unanswered, not reminded, subscribed.
    `next_due`: when the earliest reminder not yet due will be (None: none left), so that "due 0" right
    after `invite` reads as "not yet", not as "nothing to do"."""
    settings = _mail_ready()
    now = now or datetime.utcnow()
    with Session(engine, expire_on_commit=False) as conn:
        survey = find_survey(conn, survey_ref)
        if survey.status != OPEN:
            raise InputError(f"survey {survey.name!r} is closed")
        optout = set(conn.execute(select(SurveyOptOut.email)).scalars())
        waiting = [
            inv
            for inv in conn.scalars(
                select(SurveyInvitation).where(
                    SurveyInvitation.survey_id == survey.id,
                    SurveyInvitation.sent_at.is_not(None),
                    SurveyInvitation.answered_at.is_(None),
                    SurveyInvitation.reminded_at.is_(None),
                    SurveyInvitation.remind_after_days.is_not(None),
                )
            )
            if inv.email not in optout
        ]
    due = [inv for inv in waiting if _reminder_due(inv, now)]
    later = [_due_at(inv) for inv in waiting if not _reminder_due(inv, now)]
    out = _send_all(engine, settings, survey, due, reminder=True)
    return {"survey": survey.id, "due": len(due), **out, "next_due": min(later) if later else None}


def _due_at(inv: SurveyInvitation) -> datetime:
    assert inv.sent_at is not None and inv.remind_after_days is not None  # the reminder query's filter
    return inv.sent_at + timedelta(days=inv.remind_after_days)


def _reminder_due(inv: SurveyInvitation, now: datetime) -> bool:
    """Sent with a reminder delay that has passed (the reminder query selects only such invitations)."""
    if inv.sent_at is None or inv.remind_after_days is None:
        return False
    return _due_at(inv) <= now
