"""Closed loop: rules open a follow-up case for unhappy feedback, assigned to the unit's manager.

- Rules: a score at or below a value (NPS 0–6, CSAT 1–2 by default, created on first use when there
  are none) or a theme mentioned negatively (clause sentiment ≤ −0.05), optionally for one source,
  each with an SLA. The first matching rule (lowest id) opens the case; one case per feedback.
- Recent feedback only: a rule acts on feedback received within its window (`within_days`, 14 by
  default), measured back from `now` (a parameter, so tests and the demo set the clock). Importing
  two years of history opens cases for its last two weeks, not for every old detractor. Feedback
  without a date counts as received when its batch was imported.
- Assignment: the person in the feedback's unit whose role is a manager role; none there, the
  nearest unit above that has one.
- Root causes recorded on cases count as evidence for opportunities (`root_cause_counts`).
- "You said, we did": the customers whose feedback mentioned a finished initiative's theme.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from cxchange.auth.scope import UserScope
from cxchange.change.common import get_initiative, initiative_units
from cxchange.core.errors import ForbiddenError, InputError, NotFoundError
from cxchange.core.spans import parse_span
from cxchange.core.types import as_datetime, check_page
from cxchange.listen.models import Feedback, ImportBatch, Source
from cxchange.org.models import Person
from cxchange.org.tree import OrgTree, covered_unit_ids, load_org_tree
from cxchange.sustain.models import CASE_STATUSES, Case, CaseRule
from cxchange.understand.models import FeedbackTheme, Theme
from cxchange.understand.themes.taxonomy import find_theme

log = logging.getLogger(__name__)

NEGATIVE_MENTION = -0.05  # a theme mention at or below this clause sentiment is negative
# Roles that own the follow-up of their unit's feedback (compared lower-case, "_"/"-" as spaces).
MANAGER_ROLES = ("store manager", "regional manager", "exec", "manager", "head", "director")
SCORE_KINDS = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 10)}
DEFAULT_WITHIN_DAYS = 14
DEFAULT_RULES = (
    ("NPS detractor (0-6)", "nps_max", 6.0, 72),
    ("CSAT dissatisfied (1-2)", "csat_max", 2.0, 48),
)


# --- rules ----------------------------------------------------------------------------------------


def parse_sla(text: str | int | None, option: str = "--sla") -> int:
    """'72h', '3d', '2w' or a plain number of hours → hours."""
    if text is None:
        return 72
    s = str(text).strip().lower()
    m = re.fullmatch(r"(\d+)\s*([hdw]?)", s)
    if not m or int(m.group(1)) <= 0:
        raise InputError(f"{option} wants a duration like 72h, 3d or 2w, got {text!r}")
    return int(m.group(1)) * {"": 1, "h": 1, "d": 24, "w": 168}[m.group(2)]


def ensure_default_rules(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        if s.scalar(select(func.count()).select_from(CaseRule)):
            return
        for name, kind, value, sla in DEFAULT_RULES:
            s.add(CaseRule(name=name, kind=kind, value=value, sla_hours=sla, within_days=DEFAULT_WITHIN_DAYS))


def rule_listing(
    rule: Any, watches: dict[str, Any], condition: str, settings: dict[str, Any]
) -> dict[str, Any]:
    """A case or alert rule as `cases rules` and `alerts rules` list it: id and name, what it watches,
    its condition in words, its own settings, and whether it is active."""
    return {
        "id": rule.id,
        "name": rule.name,
        **watches,
        "condition": condition,
        **settings,
        "active": rule.active,
    }


def _rule_row(r: CaseRule, themes: dict[int, str], sources: dict[int, str]) -> dict[str, Any]:
    if r.kind == "theme_negative":
        condition = f"theme {themes.get(r.theme_id or 0, r.theme_id)!r} mentioned negatively"
    else:
        condition = f"{r.kind.removesuffix('_max')} <= {r.value:g}"
    settings = {
        "source": sources.get(r.source_id) if r.source_id else None,
        "sla_hours": r.sla_hours,
        "within_days": r.within_days,
    }
    return rule_listing(r, {"kind": r.kind}, condition, settings)


def list_rules(engine: Engine) -> list[dict[str, Any]]:
    ensure_default_rules(engine)
    with Session(engine) as s:
        themes = dict(s.execute(select(Theme.id, Theme.name)).all())
        sources = dict(s.execute(select(Source.id, Source.name)).all())
        rules = s.scalars(select(CaseRule).order_by(CaseRule.id)).all()
        return [_rule_row(r, themes, sources) for r in rules]


# A new case rule: the service's value and the API's POST body, declared once (in a comment, not a
# docstring, which the OpenAPI document would carry).
@dataclass(frozen=True, kw_only=True)  # by name: a field added cannot shift the others
class CaseRuleIn:
    kind: str  # nps | csat | ces | rating | theme
    max: float | None = None  # a score kind: at or below this opens a case
    theme: str | None = None  # kind theme: this theme mentioned negatively
    source: str | None = None
    sla: str = "72h"
    within: str = f"{DEFAULT_WITHIN_DAYS}d"  # only feedback received this recently opens a case
    name: str | None = None


def add_rule(engine: Engine, new: CaseRuleIn) -> dict[str, Any]:
    """A new rule; `within` ('14d', '4w', '1m' or days) is how recent feedback must be to open a case."""
    kind, max_value = (new.kind or "").strip().lower(), new.max
    hours = parse_sla(new.sla)
    days = parse_span(new.within, "--within")
    ensure_default_rules(engine)
    with Session(engine) as s, s.begin():
        rule = CaseRule(sla_hours=hours, within_days=days, active=True)
        if kind == "theme":
            if not new.theme:
                raise InputError("--kind theme needs --theme THEME")
            t = find_theme(s, new.theme)
            rule.kind, rule.theme_id = "theme_negative", t.id
            default_name = f"{t.name} mentioned negatively"
        elif kind in SCORE_KINDS:
            if max_value is None:
                raise InputError(f"--kind {kind} needs --max VALUE")
            lo, hi = SCORE_KINDS[kind]
            if not lo <= max_value <= hi:
                raise InputError(f"--max for {kind} must be between {lo} and {hi}, got {max_value:g}")
            rule.kind, rule.value = f"{kind}_max", float(max_value)
            default_name = f"{kind.upper()} {lo}-{max_value:g}"
        else:
            raise InputError(f"--kind wants one of nps, csat, ces, rating, theme; got {kind!r}")
        if new.source:
            src = s.scalars(
                select(Source).where(func.lower(Source.name) == new.source.strip().lower())
            ).first()
            if src is None:
                raise NotFoundError(f"--source: no source named {new.source!r} (see `cxchange batches`)")
            rule.source_id = src.id
            default_name += f" ({src.name})"
        rule.name = (new.name or default_name).strip()
        if s.scalars(select(CaseRule).where(CaseRule.name == rule.name)).first():
            raise InputError(f"a case rule named {rule.name!r} exists already; pick another --name")
        s.add(rule)
        s.flush()
        themes = dict(s.execute(select(Theme.id, Theme.name)).all())
        sources = dict(s.execute(select(Source.id, Source.name)).all())
        return _rule_row(rule, themes, sources)


# --- assignment -----------------------------------------------------------------------------------


def _is_manager(role: str | None) -> bool:
    r = re.sub(r"[_\-]+", " ", (role or "").strip().lower())
    return r in MANAGER_ROLES or r.endswith(" manager")


def manager_map(engine: Engine, tree: OrgTree | None = None) -> dict[int, int]:
    """unit id → person id of its manager (the unit's own, else the nearest above)."""
    tree = tree or load_org_tree(engine)
    with engine.connect() as conn:
        people = conn.execute(select(Person.id, Person.unit_id, Person.role).order_by(Person.id)).all()
    own: dict[int, int] = {}
    for pid, uid, role in people:
        if uid is not None and uid not in own and _is_manager(role):
            own[uid] = pid
    out: dict[int, int] = {}
    for uid in tree.units:
        cur = tree.units.get(uid)
        seen: set[int] = set()
        while cur is not None and cur.id not in seen:
            if cur.id in own:
                out[uid] = own[cur.id]
                break
            seen.add(cur.id)
            cur = tree.units.get(cur.parent_id) if cur.parent_id is not None else None
    return out


# --- creating cases -------------------------------------------------------------------------------


def _insert_cases(engine: Engine, rows: list[dict[str, Any]]) -> int:
    """Insert, skipping feedback that has a case already (a concurrent run, a re-run)."""
    if not rows:
        return 0
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(Case).on_conflict_do_nothing(index_elements=["feedback_id"])
    else:
        stmt = insert(Case).prefix_with("OR IGNORE")
    count = select(func.count()).select_from(Case)
    with engine.begin() as conn:  # rowcount of an executemany is not reliable on every driver: count
        before = conn.scalar(count) or 0
        for i in range(0, len(rows), 5000):
            conn.execute(stmt, rows[i : i + 5000])
        return int((conn.scalar(count) or 0) - before)


def _has_case() -> Any:
    return select(Case.id).where(Case.feedback_id == Feedback.id).exists()


def _received_within(rule: CaseRule, now: datetime) -> Any:
    """Feedback received in the rule's window (undated feedback: when its batch was imported).
    The statement must join ImportBatch."""
    since = now - timedelta(days=rule.within_days)
    return or_(
        Feedback.received_at >= since,
        and_(Feedback.received_at.is_(None), ImportBatch.started_at >= since),
    )


def _open_for(
    engine: Engine, rule_hits: Iterable[tuple[CaseRule, list[tuple[int, int | None]]]], now: datetime
) -> int:
    tree = load_org_tree(engine)
    managers = manager_map(engine, tree)
    rows: list[dict[str, Any]] = []
    taken: set[int] = set()
    for rule, hits in rule_hits:
        due = now + timedelta(hours=rule.sla_hours)
        for fid, unit_id in hits:
            if fid in taken:
                continue
            taken.add(fid)
            rows.append(
                {
                    "feedback_id": fid,
                    "rule_id": rule.id,
                    "unit_id": unit_id,
                    "assignee_id": managers.get(unit_id) if unit_id is not None else None,
                    "status": "open",
                    "opened_at": now,
                    "due_at": due,
                    "notes": [],
                }
            )
    return _insert_cases(engine, rows)


def _active_rules(engine: Engine, theme: bool) -> list[CaseRule]:
    ensure_default_rules(engine)
    with Session(engine, expire_on_commit=False) as s:
        kinds = CaseRule.kind == "theme_negative" if theme else CaseRule.kind != "theme_negative"
        return list(s.scalars(select(CaseRule).where(CaseRule.active.is_(True), kinds).order_by(CaseRule.id)))


def cases_for_batch(
    engine: Engine, batch_id: int | Sequence[int], *, now: datetime | None = None
) -> dict[str, Any]:
    """Open cases for a batch's (or several batches') recent feedback that meets a score rule (see the
    module's doc on the window). Idempotent; one bad rule is skipped."""
    now = now or datetime.utcnow()
    batches = [batch_id] if isinstance(batch_id, int) else list(batch_id)
    hits: list[tuple[CaseRule, list[tuple[int, int | None]]]] = []
    errors: list[str] = []
    for rule in _active_rules(engine, theme=False):
        try:
            col = getattr(Feedback, rule.kind.removesuffix("_max"))
            stmt = (
                select(Feedback.id, Feedback.org_unit_id)
                .join(ImportBatch, ImportBatch.id == Feedback.batch_id)
                .where(
                    # `+ 0`: not through the batch index, which walks every row of the batches (all of
                    # a backfill's million) when the window's few recent rows are what can match; the
                    # received_at index finds those (0.2 s of CPU to ~0 at 1M rows).
                    (Feedback.batch_id + 0).in_(batches),
                    col.is_not(None),
                    col <= rule.value,
                    _received_within(rule, now),
                    ~_has_case(),
                )
            )
            if rule.source_id is not None:
                stmt = stmt.where(Feedback.source_id == rule.source_id)
            with engine.connect() as conn:
                hits.append((rule, [(int(a), b) for a, b in conn.execute(stmt)]))
        except Exception as exc:  # a broken rule must not stop the others (or the import)
            log.warning("case rule %s skipped: %s", rule.name, exc)
            errors.append(f"{rule.name}: {exc}")
    return {"cases": _open_for(engine, hits, now), "errors": errors}


def cases_for_analysis(
    engine: Engine, run_id: int | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Open cases for recent negative mentions of a rule's theme (of one analysis run, or all).
    Idempotent."""
    now = now or datetime.utcnow()
    hits: list[tuple[CaseRule, list[tuple[int, int | None]]]] = []
    errors: list[str] = []
    for rule in _active_rules(engine, theme=True):
        try:
            stmt = (
                select(Feedback.id, Feedback.org_unit_id)
                .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
                .join(ImportBatch, ImportBatch.id == Feedback.batch_id)
                .where(
                    FeedbackTheme.theme_id == rule.theme_id,
                    FeedbackTheme.sentiment <= NEGATIVE_MENTION,
                    _received_within(rule, now),
                    ~_has_case(),
                )
            )
            if run_id is not None:
                stmt = stmt.where(FeedbackTheme.run_id == run_id)
            if rule.source_id is not None:
                stmt = stmt.where(Feedback.source_id == rule.source_id)
            with engine.connect() as conn:
                hits.append((rule, [(int(a), b) for a, b in conn.execute(stmt)]))
        except Exception as exc:
            log.warning("case rule %s skipped: %s", rule.name, exc)
            errors.append(f"{rule.name}: {exc}")
    return {"cases": _open_for(engine, hits, now), "errors": errors}


# --- reading and working cases --------------------------------------------------------------------


def scan_all(engine: Engine) -> dict[str, Any]:
    """Apply the case rules to every stored batch and analysis (`cxchange cases scan`): imports and
    analyses do it for new feedback; this catches up after rules change."""
    with engine.connect() as conn:
        batches = list(conn.scalars(select(ImportBatch.id).order_by(ImportBatch.id)))
    made = 0
    errors: list[str] = []
    for b in batches:
        r = cases_for_batch(engine, b)
        made, errors = made + r["cases"], errors + r["errors"]
    r = cases_for_analysis(engine, None)
    return {"cases": made + r["cases"], "errors": errors + r["errors"]}


def list_cases(
    engine: Engine,
    *,
    unit: str | Sequence[str] | None = None,
    status: str | None = None,
    overdue: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    check_page(limit)
    if status is not None and status not in CASE_STATUSES:
        raise InputError(f"--status wants one of {', '.join(CASE_STATUSES)}, got {status!r}")
    tree = load_org_tree(engine)
    now = datetime.utcnow()
    stmt = (
        select(Case, Feedback, Person.email, CaseRule.name, Theme.name)
        .join(Feedback, Feedback.id == Case.feedback_id)
        .outerjoin(Person, Person.id == Case.assignee_id)
        .outerjoin(CaseRule, CaseRule.id == Case.rule_id)
        .outerjoin(Theme, Theme.id == Case.root_cause_theme_id)
        .order_by(Case.due_at, Case.id)
    )
    if unit:
        stmt = stmt.where(Case.unit_id.in_(sorted(tree.subtree_ids_of(unit))))
    if status:
        stmt = stmt.where(Case.status == status)
    if overdue:
        stmt = stmt.where(Case.status != "resolved", Case.due_at < now)
    if limit:
        stmt = stmt.limit(limit)
    with Session(engine) as s:
        rows = s.execute(stmt).all()
        return [_case_row(c, f, email, rule, root, tree, now) for c, f, email, rule, root in rows]


def _case_row(
    c: Case, f: Feedback, email: str | None, rule: str | None, root: str | None, tree: OrgTree, now: datetime
) -> dict[str, Any]:
    u = tree.units.get(c.unit_id) if c.unit_id is not None else None
    return {
        "id": c.id,
        "feedback_id": c.feedback_id,
        "unit": u.code if u else None,
        "assignee": email,
        "status": c.status,
        "rule": rule,
        "opened_at": c.opened_at,
        "due_at": c.due_at,
        "overdue": c.status != "resolved" and c.due_at < now,
        "received_at": f.received_at,
        "customer_id": f.customer_id,
        "nps": f.nps,
        "csat": f.csat,
        "ces": f.ces,  # every score a case rule reads: a rating rule's case showed no score at all
        "rating": f.rating,
        "text": f.text,
        "root_cause": root,
    }


def show_case(engine: Engine, case_id: int) -> dict[str, Any]:
    tree = load_org_tree(engine)
    with Session(engine) as s:
        row = s.execute(
            select(Case, Feedback, Person.email, CaseRule.name, Theme.name)
            .join(Feedback, Feedback.id == Case.feedback_id)
            .outerjoin(Person, Person.id == Case.assignee_id)
            .outerjoin(CaseRule, CaseRule.id == Case.rule_id)
            .outerjoin(Theme, Theme.id == Case.root_cause_theme_id)
            .where(Case.id == case_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no case {case_id} (see `cxchange cases list`)")
        out = _case_row(*row, tree, datetime.utcnow())
        out.update(contacted_at=row[0].contacted_at, resolved_at=row[0].resolved_at, notes=row[0].notes or [])
        return out


def case_for(engine: Engine, scope: UserScope, case_id: int) -> dict[str, Any]:
    """`show_case`, or ForbiddenError (403) when the case's unit lies outside the user's units."""
    case = show_case(engine, case_id)
    if not scope.allows_code(engine, case["unit"]):
        raise ForbiddenError(f"case {case_id} belongs to a unit outside yours")
    return case


def _get_case(s: Session, case_id: int) -> Case:
    c = s.get(Case, case_id)
    if c is None:
        raise NotFoundError(f"no case {case_id} (see `cxchange cases list`)")
    return c


def _locked_case(s: Session, case_id: int) -> Case:
    """The case, its row locked for the transaction before it is read: two follow-ups at once each
    appended to the history they had read and one was lost (20 notes sent together kept 10, on SQLite
    and PostgreSQL). A no-op UPDATE locks on both (SQLite has no FOR UPDATE: its write lock comes with
    the first write, and what the transaction reads after it is the latest commit)."""
    s.execute(
        sql_update(Case).where(Case.id == case_id).values(status=Case.status),
        execution_options={"synchronize_session": False},
    )
    return _get_case(s, case_id)


def assign(engine: Engine, case_id: int, email: str) -> dict[str, Any]:
    with Session(engine) as s, s.begin():
        c = _locked_case(s, case_id)
        key = (email or "").strip().lower()
        p = s.scalars(select(Person).where(func.lower(Person.email) == key)).first()
        if p is None:
            raise NotFoundError(f"no person with e-mail {email!r}")
        c.assignee_id = p.id
        c.notes = [*(c.notes or []), {"at": datetime.utcnow().isoformat(), "assigned": p.email}]
    return show_case(engine, case_id)


# What one update of a case records (None: unchanged). Also the API's PATCH body, declared once; a
# comment, not a docstring, so that the OpenAPI document does not carry it.
@dataclass(frozen=True, kw_only=True)
class CasePatch:
    status: str | None = None
    note: str | None = None
    root_cause: str | None = None  # a theme (name or id)
    by: str | None = None  # who updates (e-mail), for the history


def update(engine: Engine, case_id: int, patch: CasePatch) -> dict[str, Any]:
    status, note, root_cause = patch.status, patch.note, patch.root_cause
    if status is not None and status not in CASE_STATUSES:
        raise InputError(f"--status wants one of {', '.join(CASE_STATUSES)}, got {status!r}")
    if status is None and note is None and root_cause is None:
        raise InputError("nothing to update: give --status, --note or --root-cause")
    now = datetime.utcnow()
    with Session(engine) as s, s.begin():
        c = _locked_case(s, case_id)
        entry: dict[str, Any] = {"at": now.isoformat(), "by": patch.by}
        if root_cause is not None:
            t = find_theme(s, root_cause)
            c.root_cause_theme_id = t.id
            entry["root_cause"] = t.name
        if status is not None and status != c.status:
            if status == "contacted":
                c.contacted_at = c.contacted_at or now
                c.resolved_at = None
            elif status == "resolved":
                c.contacted_at = c.contacted_at or now
                c.resolved_at = now
            else:  # reopened
                c.resolved_at = None
            c.status = status
            entry["status"] = status
        if note:
            entry["note"] = note
        c.notes = [*(c.notes or []), entry]  # a new list: JSON columns track assignment, not mutation
    return show_case(engine, case_id)


# --- statistics -----------------------------------------------------------------------------------


def root_cause_counts(engine: Engine) -> dict[str, int]:
    """{theme name: cases whose root cause it is}: evidence for opportunity ranking."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Theme.name, func.count())
            .join(Case, Case.root_cause_theme_id == Theme.id)
            .group_by(Theme.name)
            .order_by(func.count().desc())
        ).all()
    return {name: int(n) for name, n in rows}


# --- you said, we did -----------------------------------------------------------------------------


CLOSED_INITIATIVE = ("done",)


def you_said_we_did(engine: Engine, initiative: int | str) -> dict[str, Any]:
    """Customers whose feedback mentioned a finished initiative's theme in its units, to tell them."""
    with Session(engine) as s:
        ini = get_initiative(s, initiative)
        if ini.status not in CLOSED_INITIATIVE:
            raise InputError(
                f"initiative {ini.id} ({ini.name}) is {ini.status}, not done: "
                "close it first (`cxchange initiative update ID --status done`)"
            )
        if ini.theme_id is None:
            raise InputError(f"initiative {ini.id} ({ini.name}) has no theme: set one with --theme")
        units = initiative_units(s, ini.id)
        codes = sorted({u.code for role in ("scope", "pilot") for u in units[role]})
        if not codes:
            raise InputError(f"initiative {ini.id} ({ini.name}) has no units")
        tree = load_org_tree(s.connection())
        unit_ids = sorted(covered_unit_ids(tree, codes))
        stmt = (
            select(
                Feedback.customer_id, Feedback.id, Feedback.received_at, Feedback.text, Feedback.org_unit_id
            )
            .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
            .where(
                FeedbackTheme.theme_id == ini.theme_id,
                Feedback.org_unit_id.in_(unit_ids),
                Feedback.customer_id.is_not(None),
            )
            .order_by(Feedback.customer_id, Feedback.received_at, Feedback.id)
        )
        if ini.end is not None:
            stmt = stmt.where(
                Feedback.received_at < datetime.combine(ini.end + timedelta(days=1), datetime.min.time())
            )
        rows = s.execute(stmt).all()
        customers = [
            {
                "customer_id": cid,
                "feedback_id": fid,
                "date": (as_datetime(at).date() if at is not None else None),  # type: ignore[union-attr]
                "text": text,
                "unit": tree.units[uid].code if uid in tree.units else None,
            }
            for cid, fid, at, text, uid in rows
        ]
        return {
            "initiative": {"id": ini.id, "name": ini.name, "theme": ini.theme_name, "status": ini.status},
            "customers": len({c["customer_id"] for c in customers}),
            "rows": customers,
        }
