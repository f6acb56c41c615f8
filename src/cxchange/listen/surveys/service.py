"""Surveys as data: create, list, show, close; the respondent's form and the answer it posts.

Links are `/s/TOKEN`, the token the link's id signed with the database's secret (itsdangerous): nothing
to guess, nothing secret stored. The form carries its own signed, timed token naming the link and a
one-time nonce; the nonce is the answer's external id, so a form posted twice is stored once (the
second post is refused as a replay). A customer answer is a one-row import into the survey's source
(`import_frame`: the file import's validation, redaction and post-commit work); an ADKAR pulse stores
its five scores in pulse_answer, with only the link's unit, and its comment as employee feedback.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxchange.core.config import get_settings
from cxchange.core.errors import BusyError, CxError, ForbiddenError, InputError, NotFoundError, RateLimitError
from cxchange.core.names import check_name
from cxchange.listen.models import Feedback, OrgUnit, Source
from cxchange.listen.surveys.models import CLOSED, OPEN, PulseAnswer, Survey, SurveyLink

KINDS = ("nps", "csat", "ces", "adkar")
ADKAR = ("awareness", "desire", "knowledge", "ability", "reinforcement")
FORM_FIELDS = frozenset({"score", "comment", "form_token", "website", *ADKAR})
HONEYPOT = "website"  # hidden from people (CSS and aria-hidden); a bot that fills it is refused
FORM_MAX_AGE = 24 * 3600  # seconds a loaded form may be sent
COMMENT_MAX = 5_000
NAME_MAX = 150  # the source is "survey:NAME", at most 200 characters
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
STORE_TIMEOUT = 60.0  # seconds an answer waits for its commit


class SurveyClosed(CxError):
    """The survey no longer takes answers (the page answers 410)."""


class Replayed(CxError):
    """This form (its nonce) was already sent (the page answers 409)."""


# --- definitions and strings (data files) -------------------------------------------------------


def _yaml(text: str, where: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {str(exc).splitlines()[0]}", file=where) from None
    if not isinstance(doc, dict):
        raise InputError("a survey definition is a mapping (kind, question, scale, ...)", file=where)
    return doc


def load_definition(kind: str, path: str | Path | None = None) -> dict[str, Any]:
    """The question set of `kind`: the shipped YAML, or the user's file (checked for the same shape)."""
    if kind not in KINDS:
        raise InputError(f"unknown survey kind {kind!r}; use one of {', '.join(KINDS)}")
    if path is None:
        text = (resources.files("cxchange.listen.surveys") / "questions" / f"{kind}.yaml").read_text("utf-8")
        return _yaml(text, f"{kind}.yaml")
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=str(path))
    doc = _yaml(p.read_text(encoding="utf-8"), str(path))
    base = load_definition(kind)
    merged = {
        **base,
        **doc,
        "kind": kind,
        "field": base["field"],
        "scale": {**base["scale"], **(doc.get("scale") or {})},
    }
    if kind == "adkar":
        names = [e.get("name") for e in merged.get("elements", []) if isinstance(e, dict)]
        if names != list(ADKAR):
            raise InputError(f"elements must be {', '.join(ADKAR)} in that order", file=str(path))
    for key in ("min", "max"):
        if merged["scale"][key] != base["scale"][key]:
            raise InputError(f"scale.{key} of a {kind} survey is {base['scale'][key]}", file=str(path))
    if not isinstance(merged.get("question"), str) or not merged["question"].strip():
        raise InputError("question: a non-empty text is required", file=str(path))
    return merged


@lru_cache(maxsize=8)
def strings(language: str = "en") -> dict[str, str]:
    """The respondent page's catalogue for `language` (English for a language without one)."""
    folder = resources.files("cxchange.listen.surveys") / "strings"
    language = language if LANGUAGE.match(language) else "en"  # never a path
    english = yaml.safe_load((folder / "en.yaml").read_text("utf-8"))
    own = folder / f"{language}.yaml"
    if language != "en" and own.is_file():
        return {**english, **yaml.safe_load(own.read_text("utf-8"))}
    return dict(english)


# --- tokens ---------------------------------------------------------------------------------------


_secrets: dict[str, str] = {}


def signing_secret(engine: Engine) -> str:
    """The database's signing key for survey tokens, read once per process (it never changes once made)."""
    key = engine.url.render_as_string(hide_password=False)
    if key not in _secrets:
        from cxchange.auth.service import secret_key

        _secrets[key] = secret_key(engine, "surveys")
    return _secrets[key]


def link_token(engine: Engine, link_id: int) -> str:
    return URLSafeSerializer(signing_secret(engine), salt="cxchange-survey-link").dumps(link_id)


def link_url(engine: Engine, link_id: int) -> str:
    return f"{get_settings().public_url.rstrip('/')}/s/{link_token(engine, link_id)}"


def _target_key(engine: Engine, token: str) -> tuple[str, int]:
    """("l", link id) for a public link, ("i", invitation id) for an e-mailed one-time link."""
    try:
        value = URLSafeSerializer(signing_secret(engine), salt="cxchange-survey-link").loads(token)
    except BadSignature:
        raise NotFoundError("no such survey link") from None
    if isinstance(value, int):
        return "l", value
    if isinstance(value, list) and len(value) == 2 and value[0] == "i" and isinstance(value[1], int):
        return "i", value[1]
    raise NotFoundError("no such survey link")


def invitation_url(engine: Engine, invitation_id: int) -> str:
    token = URLSafeSerializer(signing_secret(engine), salt="cxchange-survey-link").dumps(["i", invitation_id])
    return f"{get_settings().public_url.rstrip('/')}/s/{token}"


def _form_serializer(engine: Engine) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_secret(engine), salt="cxchange-survey-form")


# --- create, list, show, close ------------------------------------------------------------------


def create_survey(
    engine: Engine,
    *,
    name: str,
    kind: str,
    question: str | None = None,
    comment_prompt: str | None = None,
    units: Sequence[str] = (),
    initiative_id: int | None = None,
    assessment: int | None = None,
    definition_file: str | Path | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """A survey with one public link per unit (one link when no units are given)."""
    check_name(name, "survey name")
    if not name.strip() or len(name) > NAME_MAX:
        raise InputError(f"--name: a survey needs a name of 1 to {NAME_MAX} characters")
    if not LANGUAGE.match(language):
        raise InputError(f"--language: {language[:20]!r} is not a language code such as en or pt-BR")
    definition = load_definition(kind, definition_file)
    for option, text in (("--question", question), ("--comment-prompt", comment_prompt)):
        if text:
            check_name(text, option)
    if question:
        definition["question"] = question
    if comment_prompt:
        definition["comment_prompt"] = comment_prompt
    if kind == "adkar" and initiative_id is None:
        raise InputError("--initiative: an adkar pulse belongs to an initiative")
    if kind != "adkar" and initiative_id is not None:
        raise InputError("--initiative is for --kind adkar (an employee pulse on a change)")
    codes = [u.strip() for u in units if u.strip()]
    if kind == "adkar" and not codes:
        raise InputError("--units: an adkar pulse is read per unit: name the units it goes to")
    if len(set(codes)) != len(codes):
        raise InputError("--units: a unit is named twice")
    with engine.begin() as conn:
        if conn.execute(select(Survey.id).where(Survey.name == name)).first():
            raise InputError(f"--name: a survey named {name!r} exists already")
        source_name = f"survey:{name}"
        if conn.execute(select(Source.id).where(Source.name == source_name)).first():
            raise InputError(f"--name: a source named {source_name!r} exists already")
        found = dict(conn.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.code.in_(codes))).all())
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise InputError(
                f"--units: unknown unit(s) {', '.join(unknown)} (import them with `cxchange org`)"
            )
        now = datetime.utcnow()
        source_id = conn.execute(
            insert(Source).values(
                name=source_name, kind="employee" if kind == "adkar" else "survey", mapping={},
                rating_scale=5, created_at=now,
            )
        ).inserted_primary_key[0]  # fmt: skip
        survey_id = conn.execute(
            insert(Survey).values(
                name=name, kind=kind, source_id=source_id, language=language, definition=definition,
                initiative_id=initiative_id, assessment=assessment, status=OPEN, created_at=now,
            )
        ).inserted_primary_key[0]  # fmt: skip
        link_units: list[int | None] = [found[c] for c in codes] or [None]
        ids = [
            conn.execute(insert(SurveyLink).values(survey_id=survey_id, unit_id=u)).inserted_primary_key[0]
            for u in link_units
        ]
    # Signed after the commit: the signing key may be created on first use, in a transaction of its own.
    links = [
        {"unit": code, "url": link_url(engine, lid)} for lid, code in zip(ids, codes or [None], strict=True)
    ]
    return {"id": survey_id, "name": name, "kind": kind, "links": links}


def find_survey(conn: Any, ref: int | str) -> Any:
    col = Survey.id if isinstance(ref, int) or str(ref).isdigit() else Survey.name
    value = int(ref) if col is Survey.id else ref
    row = conn.execute(select(Survey).where(col == value)).first()
    if row is None:
        raise NotFoundError(f"no survey {ref!r}")
    return row[0]


def _responses(conn: Any, s: Survey) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """(answers, by unit, by day): pulse scores for adkar, the source's feedback for the rest."""
    if s.kind == "adkar":
        table, unit_col, when, where = (
            PulseAnswer,
            PulseAnswer.unit_id,
            PulseAnswer.received_at,
            PulseAnswer.survey_id == s.id,
        )
    else:
        table, unit_col, when, where = (
            Feedback,
            Feedback.org_unit_id,
            Feedback.received_at,
            Feedback.source_id == s.source_id,
        )
    total = int(conn.execute(select(func.count()).select_from(table).where(where)).scalar() or 0)
    units = dict(conn.execute(select(OrgUnit.id, OrgUnit.code)).all())
    by_unit = [
        {"unit": units.get(u), "n": int(n)}
        for u, n in conn.execute(select(unit_col, func.count()).where(where).group_by(unit_col)).all()
    ]
    day = func.date(when)
    by_day = [
        {"day": str(d), "n": int(n)}
        for d, n in conn.execute(select(day, func.count()).where(where).group_by(day).order_by(day)).all()
    ]
    return total, sorted(by_unit, key=lambda r: r["unit"] or ""), by_day


def _as_dict(engine: Engine, conn: Any, s: Survey, *, detail: bool) -> dict[str, Any]:
    total, by_unit, by_day = _responses(conn, s)
    out: dict[str, Any] = {
        "id": s.id, "name": s.name, "kind": s.kind, "status": s.status, "language": s.language,
        "initiative": s.initiative_id, "assessment": s.assessment, "responses": total,
        "created_at": s.created_at, "closed_at": s.closed_at,
    }  # fmt: skip
    if detail:
        units = dict(conn.execute(select(OrgUnit.id, OrgUnit.code)).all())
        rows = conn.execute(
            select(SurveyLink.id, SurveyLink.unit_id)
            .where(SurveyLink.survey_id == s.id)
            .order_by(SurveyLink.id)
        ).all()
        out["links"] = [{"unit": units.get(r.unit_id), "url": link_url(engine, r.id)} for r in rows]
        out["by_unit"], out["by_day"] = by_unit, by_day
        out["question"] = s.definition.get("question")
    return out


def list_surveys(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as conn:
        rows = [r[0] for r in conn.execute(select(Survey).order_by(Survey.id)).all()]
        return [_as_dict(engine, conn, s, detail=False) for s in rows]


def show_survey(engine: Engine, ref: int | str) -> dict[str, Any]:
    signing_secret(engine)  # made (if new) before the read below, never inside it
    with Session(engine) as conn:
        return _as_dict(engine, conn, find_survey(conn, ref), detail=True)


def close_survey(engine: Engine, ref: int | str) -> dict[str, Any]:
    with Session(engine, expire_on_commit=False) as conn, conn.begin():
        s = find_survey(conn, ref)
        if s.status != CLOSED:
            conn.execute(
                update(Survey).where(Survey.id == s.id).values(status=CLOSED, closed_at=datetime.utcnow())
            )
    return show_survey(engine, s.id)


def pulses(engine: Engine, initiative_id: int) -> list[dict[str, Any]]:
    """The ADKAR pulses of an initiative with their assessment numbers and answer counts."""
    with Session(engine) as conn:
        rows = [
            r[0]
            for r in conn.execute(
                select(Survey).where(Survey.initiative_id == initiative_id).order_by(Survey.id)
            ).all()
        ]
        return [_as_dict(engine, conn, s, detail=False) for s in rows]


def pulse_scores(
    engine: Engine, initiative_id: int, assessment: int
) -> list[tuple[int | None, tuple[int, ...], datetime]]:
    """(unit id, the five scores, received) of every answer to the initiative's pulse `assessment`."""
    stmt = (
        select(PulseAnswer.unit_id, *(getattr(PulseAnswer, e) for e in ADKAR), PulseAnswer.received_at)
        .join(Survey, Survey.id == PulseAnswer.survey_id)
        .where(Survey.initiative_id == initiative_id, Survey.assessment == assessment)
    )
    with engine.connect() as conn:
        return [(r[0], tuple(int(v) for v in r[1:6]), r[6]) for r in conn.execute(stmt).all()]


def pulse_assessments(engine: Engine, initiative_id: int, *, answered: bool = False) -> list[int]:
    """The assessment numbers of the initiative's pulses (`answered`: only those with an answer yet)."""
    stmt = select(Survey.assessment).where(
        Survey.initiative_id == initiative_id, Survey.assessment.is_not(None)
    )
    if answered:
        stmt = stmt.where(select(PulseAnswer.id).where(PulseAnswer.survey_id == Survey.id).exists())
    with engine.connect() as conn:
        return sorted(int(a) for a in conn.execute(stmt).scalars())


# --- the respondent ------------------------------------------------------------------------------


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


def _open_link(engine: Engine, token: str) -> Target:
    from cxchange.listen.surveys.models import SurveyInvitation

    kind, ident = _target_key(engine, token)
    owner = SurveyLink if kind == "l" else SurveyInvitation
    extra = SurveyInvitation.customer_id if kind == "i" else SurveyLink.id
    # Core, not the ORM: this runs twice for every answer (the page, then the post).
    stmt = (
        select(
            *Survey.__table__.c,
            owner.unit_id.label("unit_id"),
            OrgUnit.code.label("unit_code"),
            extra.label("extra"),
        )
        .select_from(Survey)
        .join(owner, owner.survey_id == Survey.id)
        .outerjoin(OrgUnit, OrgUnit.id == owner.unit_id)
        .where(owner.id == ident)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        raise NotFoundError("no such survey link")
    if row.status != OPEN:
        raise SurveyClosed("this survey is closed")
    if kind == "i":
        return Target(row, f"i:{ident}", row.unit_id, row.unit_code, row.extra, ident)
    return Target(row, f"l:{ident}", row.unit_id, row.unit_code)


def _answered(engine: Engine, target: Target, nonce: str) -> bool:
    """Whether an answer with this nonce is stored already (a replayed form or invitation)."""
    with engine.connect() as conn:
        if target.survey.kind == "adkar":
            stmt = select(PulseAnswer.id).where(PulseAnswer.nonce == nonce)
        else:
            stmt = select(Feedback.id).where(
                Feedback.source_id == target.survey.source_id, Feedback.dedup_key == f"x:{nonce}"
            )
        return conn.execute(stmt).first() is not None


def open_form(engine: Engine, token: str) -> Form:
    """What the respondent's page shows, with a fresh signed form token naming the link (or invitation)
    and a nonce: one-time per page load, or the invitation's own (one answer per invitation)."""
    t = _open_link(engine, token)
    nonce = f"inv-{t.invitation_id}" if t.invitation_id else secrets.token_urlsafe(18)
    if t.invitation_id and _answered(engine, t, nonce):
        raise Replayed("this invitation has been answered already: thank you")
    form_token = _form_serializer(engine).dumps({"k": t.key, "n": nonce})
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


def _rate_check(engine: Engine, client: str, link_key: str) -> list[str]:
    """429 when the last minute already holds the limit of answers from this address or into this link;
    else the rate_event buckets (auth/throttle.py's shared table, so `serve --workers N` allows no more
    than one process would) this post must be counted in. Only reads: the events are written with the
    answer (in the answer writer's group transaction), so posts never queue for SQLite's write lock."""
    from cxchange.auth.models import RateEvent
    from cxchange.auth.throttle import Counted, window_wait

    s = get_settings()
    now = datetime.utcnow()
    limits = {
        f"survey-addr:{client}"[:400]: s.survey_posts_per_address,
        f"survey-link:{link_key}": s.survey_posts_per_link,
    }
    stmt = (
        select(RateEvent.bucket, func.count(), func.min(RateEvent.at), func.max(RateEvent.at))
        .where(RateEvent.bucket.in_(list(limits)), RateEvent.at > now - timedelta(seconds=60))
        .group_by(RateEvent.bucket)
    )
    with engine.connect() as conn:
        counts = {r[0]: Counted(int(r[1] or 0), r[2], r[3]) for r in conn.execute(stmt).all()}
    for bucket, limit in limits.items():
        wait = window_wait(counts.get(bucket, Counted(0, None, None)), limit, 60, now)
        if wait > 0:
            raise RateLimitError(f"too many answers: at most {limit} a minute", max(1, int(wait) + 1))
    return list(limits)


def rate_events(buckets: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    return [{"bucket": b, "at": now, "expires_at": now + timedelta(seconds=60)} for b in buckets]


def _count_refused(engine: Engine, buckets: Sequence[str]) -> None:
    """A refused post counts too (a bot hammering a link with junk is limited like one answering)."""
    from cxchange.auth.models import RateEvent
    from cxchange.auth.throttle import purge_expired

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
        sealed = _form_serializer(engine).loads(form.get("form_token") or "", max_age=FORM_MAX_AGE)
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
    from cxchange.auth.models import RateEvent

    t = _open_link(engine, token)
    buckets = _rate_check(engine, client, t.key)
    try:
        a = _checked(engine, t, form, now)
    except CxError:
        _count_refused(engine, buckets)
        raise
    if t.survey.kind == "adkar":
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
        except IntegrityError:
            raise Replayed("this form was already sent") from None
        if a.comment:
            # Without the unit: in a small team a comment with its unit can name its author, and no
            # output may show one employee's answer (its scores are only ever read in groups of 5+).
            anonymous = Target(t.survey, t.key, None, None)
            _store_feedback(engine, anonymous, a.nonce, a.received, {"text": a.comment}, [])
    else:
        values = {k: str(v) for k, v in a.scores.items()}
        _store_feedback(engine, t, a.nonce, a.received, {**values, "text": a.comment or None}, buckets)
    if t.invitation_id is not None:
        from cxchange.listen.surveys.models import SurveyInvitation

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
    from cxchange.listen.surveys.writer import DATE_FORMAT, DuplicateInBatch, writer_for

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
