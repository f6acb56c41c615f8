"""The people side: communication plan, change agents and coverage, middle managers, training and
the resistance log.

Change-agent coverage: every affected team (a unit in or beneath the initiative's scope and pilot
units with at least one non-manager employee) should have ceil(employees / per) agents; `per` comes
from `--per`, else the environment variable CXCHANGE_AGENT_RATIO, else 15 (one agent per fifteen).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from cxchange.change.common import get_initiative, initiative_units, required_date, session_for
from cxchange.change.frameworks import adkar_actions
from cxchange.change.models import (
    RESISTANCE_CAUSES,
    RESISTANCE_STATUSES,
    ChangeAgent,
    Communication,
    Initiative,
    RaciAssignment,
    ResistanceItem,
    TrainingAttendance,
    TrainingSession,
)
from cxchange.change.readiness import report
from cxchange.core.errors import InputError, NotFoundError
from cxchange.org.models import OrgUnit, Person
from cxchange.org.tree import covered_unit_ids, org_tree, people_in_units, person_by_email, unit_by_code

AGENT_RATIO_ENV = "CXCHANGE_AGENT_RATIO"
DEFAULT_AGENT_RATIO = 15


def agent_ratio(per: int | None = None) -> int:
    if per is None:
        raw = os.environ.get(AGENT_RATIO_ENV, "").strip()
        try:
            per = int(raw) if raw else DEFAULT_AGENT_RATIO
        except ValueError:
            raise InputError(f"{AGENT_RATIO_ENV} wants a whole number, got {raw!r}") from None
    if per < 1:
        raise InputError("the agent ratio must be at least 1 (one agent per N employees)")
    return per


def is_manager(role: str | None) -> bool:
    r = (role or "").lower()
    return "manager" in r or r in ("exec", "executive", "director", "head")


def needed_agents(employees: int, per: int) -> int:
    return math.ceil(employees / per) if employees > 0 else 0


# --- communication ---------------------------------------------------------------------------------


def _audience(s: Any, audience: str) -> tuple[int | None, str | None, str]:
    text = (audience or "").strip()
    if not text:
        raise InputError("--audience wants a unit code or a role")
    kind, sep, value = text.partition(":")
    roles = {r for (r,) in s.execute(select(Person.role).distinct()) if r}
    if sep and kind.lower() == "role":
        if value not in roles:
            raise NotFoundError(
                f"--audience: no one has the role {value!r}; roles: {', '.join(sorted(roles))}"
            )
        return None, value, f"role:{value}"
    if sep and kind.lower() == "unit":
        u = unit_by_code(s, value, "--audience")
        return u.id, None, u.code
    unit = s.scalars(select(OrgUnit).where(func.lower(OrgUnit.code) == text.lower())).first()
    if unit is not None:
        return unit.id, None, unit.code
    match = next((r for r in roles if r.lower() == text.lower()), None)
    if match is not None:
        return None, match, f"role:{match}"
    raise NotFoundError(
        f"--audience {text!r} is neither a unit code nor a role; roles: {', '.join(sorted(roles)) or 'none'}"
    )


def add_comm(
    engine: Engine,
    initiative: int | str,
    *,
    audience: str,
    channel: str,
    sender: str,
    when: date | str,
    message: str,
) -> dict[str, Any]:
    if not (channel or "").strip():
        raise InputError("--channel is empty")
    if not (message or "").strip():
        raise InputError("--message is empty")
    planned = required_date(when, "--date")
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        unit_id, role, _ = _audience(s, audience)
        p = person_by_email(s, sender, "--sender")
        c = Communication(
            initiative_id=ini.id,
            audience_unit_id=unit_id,
            audience_role=role,
            channel=channel.strip(),
            sender_id=p.id,
            planned_on=planned,
            message=message.strip(),
        )
        s.add(c)
        s.flush()
        cid, ini_id = c.id, ini.id
    return next(c for c in list_comms(engine, ini_id) if c["id"] == cid)


def list_comms(engine: Engine, initiative: int | str, *, today: date | None = None) -> list[dict[str, Any]]:
    today = today or date.today()
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        rows = s.execute(
            select(Communication, Person.email, OrgUnit.code)
            .join(Person, Person.id == Communication.sender_id)
            .outerjoin(OrgUnit, OrgUnit.id == Communication.audience_unit_id)
            .where(Communication.initiative_id == ini.id)
            .order_by(Communication.planned_on, Communication.id)
        ).all()
    return [
        {
            "id": c.id,
            "date": c.planned_on,
            "audience": code if code else f"role:{c.audience_role}",
            "channel": c.channel,
            "sender": email,
            "message": c.message,
            "sent_at": c.sent_at,
            "overdue": c.sent_at is None and c.planned_on < today,
        }
        for c, email, code in rows
    ]


def mark_sent(
    engine: Engine, initiative: int | str, comm: int, when: datetime | None = None
) -> dict[str, Any]:
    """Mark communication `comm` (its id) of the initiative as sent (`when`, default now)."""
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        c = s.get(Communication, comm)
        if c is None or c.initiative_id != ini.id:
            raise NotFoundError(f"initiative {ini.id} has no communication {comm}")
        c.sent_at = when or datetime.utcnow().replace(microsecond=0)
        ini_id = ini.id
    return next(c for c in list_comms(engine, ini_id) if c["id"] == comm)


# --- change agents and managers ------------------------------------------------------------------


def _affected(s: Any, ini: Initiative) -> tuple[Any, set[int]]:
    units = initiative_units(s, ini.id)
    tree = org_tree(s)
    codes = [u.code for role in ("scope", "pilot") for u in units[role]]
    return tree, covered_unit_ids(tree, codes)


def add_agent(engine: Engine, initiative: int | str, person: str) -> dict[str, Any]:
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        p = person_by_email(s, person)
        exists = s.scalars(
            select(ChangeAgent).where(ChangeAgent.initiative_id == ini.id, ChangeAgent.person_id == p.id)
        ).first()
        if exists is not None:
            raise InputError(f"{p.email} is a change agent of initiative {ini.id} already")
        tree, affected = _affected(s, ini)
        s.add(ChangeAgent(initiative_id=ini.id, person_id=p.id))
        unit = tree.units.get(p.unit_id) if p.unit_id is not None else None
        return {
            "initiative": ini.id,
            "person": p.email,
            "name": p.name,
            "unit": unit.code if unit else None,
            "in_affected_units": p.unit_id in affected,
        }


def coverage(engine: Engine, initiative: int | str, per: int | None = None) -> list[dict[str, Any]]:
    """Per affected team: employees, agents, agents needed at 1 per `per`, manager, and flags."""
    per = agent_ratio(per)
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        tree, affected = _affected(s, ini)
        staff = people_in_units(s, affected)
        agent_ids = set(s.scalars(select(ChangeAgent.person_id).where(ChangeAgent.initiative_id == ini.id)))
    by_unit: dict[int, list[Person]] = defaultdict(list)
    for p in staff:
        by_unit[p.unit_id].append(p)  # type: ignore[index]
    out = []
    for uid in sorted(by_unit, key=lambda u: tree.units[u].path):
        people = by_unit[uid]
        if all(is_manager(p.role) for p in people):
            continue
        agents = [p for p in people if p.id in agent_ids]
        need = needed_agents(len(people), per)
        managers = [p for p in people if is_manager(p.role)]
        out.append(
            {
                "unit": tree.units[uid].code,
                "name": tree.units[uid].name,
                "employees": len(people),
                "agents": len(agents),
                "needed": need,
                "agent_emails": [a.email for a in agents],
                "manager": managers[0].email if managers else None,
                "no_agent": not agents,
                "under_target": len(agents) < need,
            }
        )
    return out


def coverage_summary(engine: Engine, initiative_id: int, per: int | None = None) -> dict[str, Any]:
    rows = coverage(engine, initiative_id, per)
    units = len(rows)
    with_agent = sum(not r["no_agent"] for r in rows)
    return {
        "per": agent_ratio(per),
        "agents": sum(r["agents"] for r in rows),
        "employees": sum(r["employees"] for r in rows),
        "units": units,
        "units_with_agent": with_agent,
        "share_units_covered": round(with_agent / units, 3) if units else None,
        "units_without_agent": [r["unit"] for r in rows if r["no_agent"]],
        "units_under_target": [r["unit"] for r in rows if r["under_target"]],
    }


def managers(engine: Engine, initiative: int | str) -> list[dict[str, Any]]:
    """Each affected unit's manager(s) and their role in the change (sponsor, owner, RACI, agent, …)."""
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        tree, affected = _affected(s, ini)
        tree_ids = set(affected)
        for uid in list(affected):  # line managers above the units are managers of the change too
            u = tree.units.get(uid)
            while u is not None and u.parent_id is not None:
                tree_ids.add(u.parent_id)
                u = tree.units.get(u.parent_id)
        mgrs = [p for p in people_in_units(s, tree_ids) if is_manager(p.role)]
        raci = defaultdict(list)
        for a in s.scalars(select(RaciAssignment).where(RaciAssignment.initiative_id == ini.id)):
            raci[a.person_id].append(f"{'A/R' if a.does_work else a.letter} on {a.activity}")
        agents = set(s.scalars(select(ChangeAgent.person_id).where(ChangeAgent.initiative_id == ini.id)))
        senders: defaultdict[int, int] = defaultdict(int)
        for c in s.scalars(select(Communication).where(Communication.initiative_id == ini.id)):
            senders[c.sender_id] += 1
        owners: defaultdict[int, int] = defaultdict(int)
        for r in s.scalars(select(ResistanceItem).where(ResistanceItem.initiative_id == ini.id)):
            owners[r.owner_id] += 1
        sponsor_id, owner_id = ini.sponsor_id, ini.owner_id
    out = []
    for p in sorted(mgrs, key=lambda p: (tree.units[p.unit_id].path, p.email)):  # type: ignore[index]
        roles = []
        if p.id == sponsor_id:
            roles.append("sponsor")
        if p.id == owner_id:
            roles.append("owner")
        roles += [f"RACI {x}" for x in raci.get(p.id, [])]
        if p.id in agents:
            roles.append("change agent")
        if senders.get(p.id):
            roles.append(f"sends {senders[p.id]} message(s)")
        if owners.get(p.id):
            roles.append(f"owns {owners[p.id]} resistance item(s)")
        unit = tree.units[p.unit_id]  # type: ignore[index]
        out.append(
            {
                "unit": unit.code,
                "unit_name": unit.name,
                "manager": p.email,
                "name": p.name,
                "role": p.role,
                "change_role": "; ".join(roles) if roles else None,
                "involved": bool(roles),
            }
        )
    return out


# --- training --------------------------------------------------------------------------------------


def add_training(
    engine: Engine, initiative: int | str, *, title: str, unit: str, when: date | str, role: str | None = None
) -> dict[str, Any]:
    if not (title or "").strip():
        raise InputError("--title is empty")
    held = required_date(when, "--date")
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        u = unit_by_code(s, unit, "--unit")
        if role:
            roles = {r for (r,) in s.execute(select(Person.role).distinct()) if r}
            if role not in roles:
                raise NotFoundError(
                    f"--role: no one has the role {role!r}; roles: {', '.join(sorted(roles))}"
                )
        t = TrainingSession(
            initiative_id=ini.id, title=title.strip(), unit_id=u.id, role=role or None, held_on=held
        )
        s.add(t)
        s.flush()
        return {
            "id": t.id,
            "initiative": ini.id,
            "title": t.title,
            "unit": u.code,
            "role": t.role,
            "date": held,
        }


def _audience_people(s: Any, tree: Any, t: TrainingSession) -> list[Person]:
    ids = tree.subtree_ids(tree.units[t.unit_id].code)
    return [p for p in people_in_units(s, ids) if t.role is None or p.role == t.role]


def attend(engine: Engine, initiative: int | str, session_id: int, people: list[str]) -> dict[str, Any]:
    """Record attendance: every e-mail must belong to the session's unit (and role, if it has one)."""
    if not people:
        raise InputError("name at least one person who attended")
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        t = s.get(TrainingSession, session_id)
        if t is None or t.initiative_id != ini.id:
            raise NotFoundError(f"initiative {ini.id} has no training session {session_id}")
        tree = org_tree(s)
        audience = {p.id for p in _audience_people(s, tree, t)}
        added = 0
        for email in people:
            p = person_by_email(s, email)
            if p.id not in audience:
                raise InputError(f"{p.email} is not in the audience of session {t.id} ({t.title})")
            if s.get(TrainingAttendance, (t.id, p.id)) is None:
                s.add(TrainingAttendance(session_id=t.id, person_id=p.id, attended=True))
                added += 1
        return {"session": t.id, "recorded": added}


def training_report(engine: Engine, initiative: int | str) -> list[dict[str, Any]]:
    """Per session: audience (unit and role), how many attended, completion % of the audience."""
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        tree = org_tree(s)
        out = []
        for t in s.scalars(
            select(TrainingSession)
            .where(TrainingSession.initiative_id == ini.id)
            .order_by(TrainingSession.held_on, TrainingSession.id)
        ):
            audience = {p.id for p in _audience_people(s, tree, t)}
            came = set(
                s.scalars(
                    select(TrainingAttendance.person_id).where(
                        TrainingAttendance.session_id == t.id, TrainingAttendance.attended.is_(True)
                    )
                )
            )
            n = len(audience)
            out.append(
                {
                    "id": t.id,
                    "title": t.title,
                    "unit": tree.units[t.unit_id].code,
                    "role": t.role,
                    "date": t.held_on,
                    "audience": n,
                    "attended": len(came & audience),
                    "completion": round(100 * len(came & audience) / n, 1) if n else None,
                }
            )
        return out


def training_summary(engine: Engine, initiative_id: int) -> dict[str, Any]:
    """People in any session's audience, and the share who attended at least one session."""
    with session_for(engine) as s:
        tree = org_tree(s)
        audience: set[int] = set()
        trained: set[int] = set()
        for t in s.scalars(select(TrainingSession).where(TrainingSession.initiative_id == initiative_id)):
            aud = {p.id for p in _audience_people(s, tree, t)}
            audience |= aud
            trained |= aud & set(
                s.scalars(
                    select(TrainingAttendance.person_id).where(
                        TrainingAttendance.session_id == t.id, TrainingAttendance.attended.is_(True)
                    )
                )
            )
    n = len(audience)
    return {
        "audience": n,
        "trained": len(trained),
        "completion": round(100 * len(trained) / n, 1) if n else None,
    }


# --- resistance -----------------------------------------------------------------------------------


def add_resistance(
    engine: Engine, initiative: int | str, *, unit: str, description: str, cause: str, owner: str
) -> dict[str, Any]:
    if cause not in RESISTANCE_CAUSES:
        raise InputError(f"--cause wants one of {', '.join(RESISTANCE_CAUSES)}, got {cause!r}")
    if not (description or "").strip():
        raise InputError("--description is empty")
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        u = unit_by_code(s, unit, "--unit")
        p = person_by_email(s, owner, "--owner")
        r = ResistanceItem(
            initiative_id=ini.id,
            unit_id=u.id,
            description=description.strip(),
            cause=cause,
            owner_id=p.id,
            status="open",
        )
        s.add(r)
        s.flush()
        rid, ini_id = r.id, ini.id
    return next(x for x in list_resistance(engine, ini_id) if x["id"] == rid)


def _barrier_for(report: list[dict[str, Any]], tree: Any, unit_id: int) -> dict[str, Any] | None:
    """The readiness group that holds `unit_id` (its own, one it was merged into, or an ancestor's)."""
    by_code = {g["group"]: g for g in report}
    for g in report:
        for m in g.get("merged", []):
            by_code.setdefault(m, g)
    u = tree.units.get(unit_id)
    while u is not None:
        if u.code in by_code:
            return by_code[u.code]
        u = tree.units.get(u.parent_id) if u.parent_id is not None else None
    return None


def list_resistance(
    engine: Engine, initiative: int | str, *, status: str | None = None
) -> list[dict[str, Any]]:
    """The log, each item with the readiness of its unit: the share whose barrier is the item's cause."""
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        stmt = (
            select(ResistanceItem, Person.email)
            .join(Person, Person.id == ResistanceItem.owner_id)
            .where(ResistanceItem.initiative_id == ini.id)
            .order_by(ResistanceItem.id)
        )
        if status:
            stmt = stmt.where(ResistanceItem.status == status)
        rows = s.execute(stmt).all()
        tree = org_tree(s)
        doc, ini_id = ini.framework_doc, ini.id
    rep = report(engine, ini_id) if rows else []
    out = []
    for r, email in rows:
        g = _barrier_for(rep, tree, r.unit_id)
        share = g["barrier_shares"].get(r.cause) if g and r.cause != "other" else None
        out.append(
            {
                "id": r.id,
                "unit": tree.units[r.unit_id].code,
                "description": r.description,
                "cause": r.cause,
                "owner": email,
                "status": r.status,
                "resolution": r.resolution,
                "created_at": r.created_at,
                "addressed_at": r.addressed_at,
                "readiness_group": g["group"] if g else None,
                "barrier_share": share,
                "top_barrier": g["top_barrier"] if g else None,
                "actions": adkar_actions(doc, r.cause if r.cause != "other" else None),
            }
        )
    return out


def update_resistance(
    engine: Engine, initiative: int | str, item_id: int, *, status: str, resolution: str | None = None
) -> dict[str, Any]:
    if status not in RESISTANCE_STATUSES:
        raise InputError(f"--status wants one of {', '.join(RESISTANCE_STATUSES)}, got {status!r}")
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        r = s.get(ResistanceItem, item_id)
        if r is None or r.initiative_id != ini.id:
            raise NotFoundError(f"initiative {ini.id} has no resistance item {item_id}")
        r.status = status
        r.addressed_at = datetime.utcnow().replace(microsecond=0) if status == "addressed" else None
        if resolution is not None:
            r.resolution = resolution
        ini_id = ini.id
    return next(x for x in list_resistance(engine, ini_id) if x["id"] == item_id)
