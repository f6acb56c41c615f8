"""Surveys as data: question sets (YAML per kind), create, list, show, close; the signed tokens.

Links are `/s/TOKEN`, the token the link's id signed with the database's secret (itsdangerous): nothing
to guess, nothing secret stored. What a token opens and the answer it posts: answers.py; grouping
answers into imports: writer.py; e-mailed one-time links: invitations.py.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import QueryableAttribute, Session

from cxchange.core.bulk import inserted_id
from cxchange.core.config import get_settings
from cxchange.core.errors import CxError, InputError, NotFoundError
from cxchange.core.names import check_name
from cxchange.listen.models import Feedback, Source
from cxchange.listen.surveys.models import ADKAR, CLOSED, OPEN, PulseAnswer, Survey, SurveyLink
from cxchange.org.models import OrgUnit

if TYPE_CHECKING:
    from cxchange.listen.surveys.spec import SurveySpec

KINDS = ("nps", "csat", "ces", "adkar")
FORM_FIELDS = frozenset({"score", "comment", "form_token", "website", *ADKAR})
HONEYPOT = "website"  # hidden from people (CSS and aria-hidden); a bot that fills it is refused
FORM_MAX_AGE = 24 * 3600  # seconds a loaded form may be sent
COMMENT_MAX = 5_000
NAME_MAX = 150  # the source is "survey:NAME", at most 200 characters
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
STORE_TIMEOUT = 60.0  # seconds an answer waits for its commit


class SurveyClosed(CxError):
    """The survey no longer takes answers (the page answers 410)."""

    status = 410


class Replayed(CxError):
    """This form (its nonce) was already sent (the page answers 409)."""

    status = 409


# --- definitions and strings (data files) -------------------------------------------------------


def _yaml(text: str, where: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {str(exc).splitlines()[0]}", file=where) from None
    if not isinstance(doc, dict):
        raise InputError("a survey definition is a mapping (kind, question, scale, ...)", file=where)
    return doc


def _shipped(kind: str, language: str = "en") -> dict[str, Any]:
    """The shipped question set of `kind`, its text in `language` when a translation ships
    (questions/KIND.LANG.yaml, merged over the English one: the scale's numbers never change)."""
    folder = resources.files("cxchange.listen.surveys") / "questions"
    doc = _yaml((folder / f"{kind}.yaml").read_text("utf-8"), f"{kind}.yaml")
    own = catalogue_language(language)
    if own and own != "en" and (folder / f"{kind}.{own}.yaml").is_file():
        text = _yaml((folder / f"{kind}.{own}.yaml").read_text("utf-8"), f"{kind}.{own}.yaml")
        doc = {**doc, **text, "scale": {**doc["scale"], **(text.get("scale") or {})}}
    return doc


def load_definition(kind: str, path: str | Path | None = None, language: str = "en") -> dict[str, Any]:
    """The question set of `kind` (in `language` when shipped), or the user's file merged over it
    (checked for the same shape)."""
    if kind not in KINDS:
        raise InputError(f"unknown survey kind {kind!r}; use one of {', '.join(KINDS)}")
    if path is None:
        return _shipped(kind, language)
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=str(path))
    doc = _yaml(p.read_text(encoding="utf-8"), str(path))
    base = _shipped(kind, language)
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


def languages() -> list[str]:
    """The languages the respondent's page ships in (strings/LANG.yaml)."""
    folder = resources.files("cxchange.listen.surveys") / "strings"
    return sorted(f.name.removesuffix(".yaml") for f in folder.iterdir() if f.name.endswith(".yaml"))


def catalogue_language(language: str) -> str | None:
    """The catalogue a page in `language` is shown with: its own, else its base language's (fr-CA:
    fr), else None (no page in that language ships)."""
    if not LANGUAGE.match(language):
        return None
    shipped = languages()
    for candidate in (language, language.split("-")[0]):
        if candidate in shipped:
            return candidate
    return None


@lru_cache(maxsize=8)
def strings(language: str = "en") -> dict[str, str]:
    """The respondent page's catalogue for `language` (English for a language without one; a survey
    cannot be created in such a language, see create_survey). Its "lang" is the catalogue's language:
    what the page's <html lang> says it is written in."""
    folder = resources.files("cxchange.listen.surveys") / "strings"
    english = yaml.safe_load((folder / "en.yaml").read_text("utf-8"))
    own = catalogue_language(language) or "en"  # never a path: only a shipped file's name
    if own != "en":
        return {**english, **yaml.safe_load((folder / f"{own}.yaml").read_text("utf-8")), "lang": own}
    return {**english, "lang": "en"}


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


def links_note() -> str | None:
    """What a user copying a link must know when links are paths (no CXCHANGE_PUBLIC_URL): a path
    pasted into an e-mail or a QR code leads nowhere."""
    if get_settings().public_url:
        return None
    return (
        "the links are paths (/s/...): put this server's address before them, or set "
        "CXCHANGE_PUBLIC_URL (e.g. https://cx.example.com) so that they are whole addresses"
    )


def link_url(engine: Engine, link_id: int) -> str:
    return f"{get_settings().public_url.rstrip('/')}/s/{link_token(engine, link_id)}"


def target_key(engine: Engine, token: str) -> tuple[str, int]:
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


def form_serializer(engine: Engine) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_secret(engine), salt="cxchange-survey-form")


# --- create, list, show, close ------------------------------------------------------------------


def create_survey(
    engine: Engine,
    spec: SurveySpec,
    *,
    initiative_id: int | None = None,
    assessment: int | None = None,
    definition_file: str | Path | None = None,
) -> dict[str, Any]:
    """A survey with one public link per unit (one link when no units are given); an ADKAR pulse's
    initiative and assessment come from `change.readiness.create_survey_or_pulse`, which reserves them.
    `definition_file`: the creator's own question YAML, a local path (the CLI's; the API takes none)."""
    name, kind, question, comment_prompt, units, language = (
        spec.name, spec.kind, spec.question, spec.comment_prompt, spec.units, spec.language
    )  # fmt: skip
    check_name(name, "survey name")
    if not name.strip() or len(name) > NAME_MAX:
        raise InputError(f"--name: a survey needs a name of 1 to {NAME_MAX} characters")
    if not LANGUAGE.match(language):
        raise InputError(f"--language: {language[:20]!r} is not a language code such as en or pt-BR")
    if catalogue_language(language) is None:
        # Refused rather than shown in English under <html lang="..."> to people who may not read it.
        raise InputError(
            f"--language: the respondent's page does not ship in {language!r} yet; "
            f"available: {', '.join(languages())}"
        )
    definition = load_definition(kind, definition_file, language)
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
        source_id = inserted_id(conn, insert(Source).values(
            name=source_name, kind="employee" if kind == "adkar" else "survey", mapping={},
            rating_scale=5, created_at=now,
        ))  # fmt: skip
        survey_id = inserted_id(conn, insert(Survey).values(
            name=name, kind=kind, source_id=source_id, language=language, definition=definition,
            initiative_id=initiative_id, assessment=assessment, status=OPEN, created_at=now,
        ))  # fmt: skip
        link_units: list[int | None] = [found[c] for c in codes] or [None]
        ids = [
            inserted_id(conn, insert(SurveyLink).values(survey_id=survey_id, unit_id=u)) for u in link_units
        ]
    # Signed after the commit: the signing key may be created on first use, in a transaction of its own.
    link_codes: list[str | None] = [*codes] or [None]
    links = [{"unit": code, "url": link_url(engine, lid)} for lid, code in zip(ids, link_codes, strict=True)]
    return {"id": survey_id, "name": name, "kind": kind, "links": links, "links_note": links_note()}


def find_survey(conn: Any, ref: int | str) -> Any:
    col = Survey.id if isinstance(ref, int) or str(ref).isdigit() else Survey.name
    value = int(ref) if col is Survey.id else ref
    row = conn.execute(select(Survey).where(col == value)).first()
    if row is None:
        raise NotFoundError(f"no survey {ref!r}")
    return row[0]


def _responses(conn: Any, s: Survey) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """(answers, by unit, by day): pulse scores for adkar, the source's feedback for the rest."""
    table: type[PulseAnswer] | type[Feedback]
    unit_col: QueryableAttribute[int | None]
    when: QueryableAttribute[datetime | None]
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
        out["links_note"] = links_note()
        out["by_unit"], out["by_day"] = by_unit, by_day
        out["question"] = s.definition.get("question")
        if s.kind == "adkar":
            from cxchange.listen.surveys.comments import held_count, held_note

            held = held_count(conn.connection(), s.id)
            out["comments_held"] = held
            if held:
                out["comments_note"] = held_note(held, closed=s.status == CLOSED)
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
        return sorted(int(a) for a in conn.execute(stmt).scalars() if a is not None)
