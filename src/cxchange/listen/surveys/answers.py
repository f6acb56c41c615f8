"""The respondent's side of a survey: what a link or invitation opens, the form it shows, and the answer
it posts (checked, rate-limited, then stored through the answer writer or as pulse scores).

The form carries its own signed, timed token naming the link (or invitation) and a one-time nonce; the
nonce is the answer's external id, so a form posted twice is stored once (the second post is refused
as a replay). A customer answer is a row of an import into the survey's source (writer.py); an ADKAR
pulse stores its five scores in pulse_answer with only the link's unit, and holds its comment without
it, released with the survey's others in shuffled groups (comments.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import Engine, Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from cxchange.auth.models import RateEvent
from cxchange.auth.throttle import Counted, purge_expired, window_wait
from cxchange.core.config import get_settings
from cxchange.core.errors import BusyError, CxError, ForbiddenError, InputError, NotFoundError, RateLimitError
from cxchange.core.events import complete_in_background
from cxchange.listen.models import Feedback
from cxchange.listen.surveys.comments import hold, release_due
from cxchange.listen.surveys.models import OPEN, PulseAnswer, Survey, SurveyInvitation, SurveyLink
from cxchange.listen.surveys.service import (
    ADKAR,
    COMMENT_MAX,
    FORM_FIELDS,
    FORM_MAX_AGE,
    HONEYPOT,
    STORE_TIMEOUT,
    Replayed,
    SurveyClosed,
    form_serializer,
    strings,
    target_key,
)
from cxchange.listen.surveys.writer import DATE_FORMAT, DuplicateInBatch, writer_for
from cxchange.org.models import OrgUnit


@dataclass(frozen=True)
class Form:
    survey_id: int
    kind: str
    name: str
    language: str
    definition: dict[str, Any]
    unit: str | None
    form_token: str
    strings: dict[str, str]


@dataclass(frozen=True)
class Target:
    """What a token opens: the survey, and the link or invitation with its unit (and customer)."""

    survey: Any  # the survey's row (id, name, kind, source_id, language, definition, status, ...)
    key: str  # "l:ID" (a public link) or "i:ID" (an invitation)
    unit_id: int | None
    unit_code: str | None
    customer_id: str | None = None
    invitation_id: int | None = None


@lru_cache(maxsize=2)
def _link_query(kind: str) -> Select[Any]:
    """What a link ("l") or an invitation ("i") opens, by id: built once (this runs for every page and
    every answer; building a statement costs more than SQLite answering it)."""
    owner = SurveyLink if kind == "l" else SurveyInvitation
    extra = SurveyInvitation.customer_id if kind == "i" else SurveyLink.id
    return (
        select(
            *Survey.__table__.c,
            owner.unit_id.label("unit_id"),
            OrgUnit.code.label("unit_code"),
            extra.label("extra"),
        )
        .select_from(Survey)
        .join(owner, owner.survey_id == Survey.id)
        .outerjoin(OrgUnit, OrgUnit.id == owner.unit_id)
        .where(owner.id == bindparam("ident"))
    )


def _open_link(engine: Engine, token: str) -> Target:
    kind, ident = target_key(engine, token)
    with engine.connect() as conn:
        row = conn.execute(_link_query(kind), {"ident": ident}).first()
    if row is None:
        raise NotFoundError("no such survey link")
    if row.status != OPEN:
        raise SurveyClosed("this survey is closed")
    if kind == "i":
        return Target(row, f"i:{ident}", row.unit_id, row.unit_code, row.extra, ident)
    return Target(row, f"l:{ident}", row.unit_id, row.unit_code)


def page_strings(engine: Engine, token: str) -> dict[str, str]:
    """The catalogue of the survey a token opens, open or closed: its thank-you, closed and refusal
    pages speak the survey's language. English when the token opens nothing (its 404 page)."""
    try:
        kind, ident = target_key(engine, token)
    except NotFoundError:
        return strings("en")
    with engine.connect() as conn:
        row = conn.execute(_link_query(kind), {"ident": ident}).first()
    return strings(row.language if row is not None else "en")


_PULSE_ANSWERED = select(PulseAnswer.id).where(PulseAnswer.nonce == bindparam("nonce"))
_FEEDBACK_ANSWERED = select(Feedback.id).where(
    Feedback.source_id == bindparam("source_id"), Feedback.dedup_key == bindparam("key")
)


def _answered(engine: Engine, target: Target, nonce: str) -> bool:
    """Whether an answer with this nonce is stored already (a replayed form or invitation)."""
    with engine.connect() as conn:
        if target.survey.kind == "adkar":
            return conn.execute(_PULSE_ANSWERED, {"nonce": nonce}).first() is not None
        values = {"source_id": target.survey.source_id, "key": f"x:{nonce}"}
        return conn.execute(_FEEDBACK_ANSWERED, values).first() is not None


def open_form(engine: Engine, token: str) -> Form:
    """What the respondent's page shows, with a fresh signed form token naming the link (or invitation)
    and a nonce: one-time per page load, or the invitation's own (one answer per invitation)."""
    t = _open_link(engine, token)
    nonce = f"inv-{t.invitation_id}" if t.invitation_id else secrets.token_urlsafe(18)
    if t.invitation_id and _answered(engine, t, nonce):
        raise Replayed("this invitation has been answered already: thank you")
    form_token = form_serializer(engine).dumps({"k": t.key, "n": nonce})
    s = t.survey
    return Form(s.id, s.kind, s.name, s.language, s.definition, t.unit_code, form_token, strings(s.language))


def _whole(value: str | None, name: str, low: int, high: int) -> int:
    text = (value or "").strip()
    if not text:
        raise InputError(f"{name}: choose a score from {low} to {high}")
    try:
        number = int(text)
    except ValueError:
        raise InputError(f"{name}: {text[:20]!r} is not a whole number from {low} to {high}") from None
    if not low <= number <= high:
        raise InputError(f"{name}: {number} is out of range {low} to {high}")
    return number


@lru_cache(maxsize=1)
def _rate_query() -> Select[str, int, datetime, datetime]:
    return (
        select(RateEvent.bucket, func.count(), func.min(RateEvent.at), func.max(RateEvent.at))
        .where(RateEvent.bucket.in_(bindparam("buckets", expanding=True)), RateEvent.at > bindparam("since"))
        .group_by(RateEvent.bucket)
    )


def _rate_check(engine: Engine, client: str, link_key: str) -> list[str]:
    """429 when the last minute already holds the limit of answers from this address or into this link;
    else the rate_event buckets (auth/throttle.py's shared table, so `serve --workers N` allows no more
    than one process would) this post must be counted in. Only reads: the events are written with the
    answer (in the answer writer's group transaction), so posts never queue for SQLite's write lock."""
    s = get_settings()
    now = datetime.utcnow()
    limits = {
        f"survey-addr:{client}"[:400]: s.survey_posts_per_address,
        f"survey-link:{link_key}": s.survey_posts_per_link,
    }
    values = {"buckets": list(limits), "since": now - timedelta(seconds=60)}
    with engine.connect() as conn:
        counts = {r[0]: Counted(int(r[1] or 0), r[2], r[3]) for r in conn.execute(_rate_query(), values)}
    for bucket, limit in limits.items():
        wait = window_wait(counts.get(bucket, Counted(0, None, None)), limit, 60, now)
        if wait > 0:
            raise RateLimitError(f"too many answers: at most {limit} a minute", max(1, int(wait) + 1))
    return list(limits)


def rate_events(buckets: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    return [{"bucket": b, "at": now, "expires_at": now + timedelta(seconds=60)} for b in buckets]


def _count_refused(engine: Engine, buckets: Sequence[str]) -> None:
    """A refused post counts too (a bot hammering a link with junk is limited like one answering)."""
    now = datetime.utcnow()
    with engine.begin() as conn:
        conn.execute(insert(RateEvent), rate_events(buckets, now))
    purge_expired(engine, now)


@dataclass(frozen=True)
class _Answer:
    nonce: str
    received: datetime
    scores: dict[str, int]
    comment: str


def _checked(engine: Engine, t: Target, form: Mapping[str, str], now: datetime | None) -> _Answer:
    """The posted form, checked: fields, honeypot, the signed form token, scores, comment, replay."""
    unknown = sorted(set(form) - FORM_FIELDS)
    if unknown:
        raise InputError(f"unexpected field(s): {', '.join(k[:40] for k in unknown[:5])}")
    if (form.get(HONEYPOT) or "").strip():
        raise ForbiddenError("the answer was refused")
    try:
        sealed = form_serializer(engine).loads(form.get("form_token") or "", max_age=FORM_MAX_AGE)
    except SignatureExpired:
        raise ForbiddenError("the form has expired: reload the page and answer again") from None
    except BadSignature:
        raise ForbiddenError("the form token is missing or not valid: reload the page") from None
    if not isinstance(sealed, dict) or sealed.get("k") != t.key or not isinstance(sealed.get("n"), str):
        raise ForbiddenError("the form token does not belong to this link: reload the page")
    scale = t.survey.definition["scale"]
    low, high = int(scale["min"]), int(scale["max"])
    if t.survey.kind == "adkar":
        scores = {e: _whole(form.get(e), e, low, high) for e in ADKAR}
    else:
        scores = {t.survey.definition["field"]: _whole(form.get("score"), "score", low, high)}
    comment = (form.get("comment") or "").strip()
    if len(comment) > COMMENT_MAX:
        raise InputError(f"comment: at most {COMMENT_MAX} characters")
    if "\x00" in comment:  # PostgreSQL cannot store it
        raise InputError("comment: a NUL character cannot be stored")
    if _answered(engine, t, sealed["n"]):  # refused before anything is written
        raise Replayed("this form was already sent")
    return _Answer(sealed["n"], now or datetime.utcnow(), scores, comment)


def submit(
    engine: Engine, token: str, form: Mapping[str, str], *, client: str, now: datetime | None = None
) -> dict[str, Any]:
    """Check and store one posted answer; raises (and stores nothing) on anything wrong."""
    t = _open_link(engine, token)
    buckets = _rate_check(engine, client, t.key)
    try:
        a = _checked(engine, t, form, now)
    except CxError:
        _count_refused(engine, buckets)
        raise
    if t.survey.kind == "adkar":
        release = None
        try:
            with engine.begin() as conn:
                values = {
                    "survey_id": t.survey.id,
                    "nonce": a.nonce,
                    "unit_id": t.unit_id,
                    "received_at": a.received,
                }
                conn.execute(insert(PulseAnswer).values(**values, **a.scores))
                conn.execute(insert(RateEvent), rate_events(buckets, a.received))
                if a.comment:
                    # Held, without the unit or anything that joins it to its scores, and released
                    # with the survey's other comments once enough wait (comments.py).
                    release = hold(conn, t.survey.id, a.comment)
        except IntegrityError:
            raise Replayed("this form was already sent") from None
        if a.comment and release is None:
            release = release_due(engine, t.survey.id)
        if release is not None:
            complete_in_background(engine, release)
    else:
        values = {k: str(v) for k, v in a.scores.items()}
        _store_feedback(engine, t, a.nonce, a.received, {**values, "text": a.comment or None}, buckets)
    if t.invitation_id is not None:
        with engine.begin() as conn:
            conn.execute(
                update(SurveyInvitation)
                .where(SurveyInvitation.id == t.invitation_id)
                .values(answered_at=a.received)
            )
    return {"survey": t.survey.id, "stored": True}


def _store_feedback(
    engine: Engine,
    t: Target,
    nonce: str,
    received: datetime,
    values: dict[str, str | None],
    buckets: list[str],
) -> None:
    """One answer as a row of an import of the survey's source (writer.py groups answers arriving
    together): the file import's validation, redaction, de-duplication on the nonce and after-commit
    work (cases, alerts, columnar copy, search index). Returns once the answer is committed."""
    row: dict[str, str | None] = {
        "external_id": nonce,
        "received_at": received.strftime(DATE_FORMAT.replace("%.f", ".%f")),
        "org_unit": t.unit_code,
        "customer_id": t.customer_id,
        **values,
    }
    try:
        pending = writer_for(engine).put(f"survey:{t.survey.name}", row, rate_events(buckets, received))
        pending.result(timeout=STORE_TIMEOUT)
    except DuplicateInBatch:
        raise Replayed("this form was already sent") from None
    except TimeoutError:
        raise BusyError("the answer could not be stored in time: please send it again") from None
