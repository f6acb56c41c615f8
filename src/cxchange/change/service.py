"""Initiatives: create, list, show, update, move steps, status, and the risk profile.

Each write is one transaction: a bad sponsor, unit or step saves nothing.

Risk profile (after Prosci's risk assessment): the size of the change and the organisation's
attributes, each factor scored 1 (low risk) to 5 (high risk). A side whose mean is RISK_HIGH (3.0) or
more counts as "large" change / "resistant" organisation; the risk is low when neither is, medium
when one is, high when both are.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from cxchange.auth.scope import UserScope
from cxchange.change import people, raci, readiness
from cxchange.change.common import (
    as_date,
    get_initiative,
    initiative_units,
    required_date,
    session_for,
    split_codes,
    stamp_edit,
)
from cxchange.change.frameworks import get_framework
from cxchange.change.metrics import evaluate
from cxchange.change.models import (
    STEP_STATUSES,
    Initiative,
    InitiativeStep,
    InitiativeUnit,
    SuccessMetric,
)
from cxchange.core.errors import ForbiddenError, InputError, NotFoundError
from cxchange.org.models import Person
from cxchange.org.tree import org_tree, person_by_email, pilot_control_overlaps, unit_by_code

INITIATIVE_STATUSES = ("active", "paused", "done", "cancelled")
SIZE_FACTORS = (
    "scope",
    "people_impacted",
    "variation",
    "process_change",
    "system_change",
    "job_role_change",
    "restructuring",
    "compensation",
    "staff_reduction",
    "timeframe",
)
ORG_FACTORS = (
    "need_for_change",
    "past_changes",
    "change_capacity",
    "change_competency",
    "shared_vision",
    "resources",
    "culture",
    "reinforcement",
    "senior_leadership",
    "middle_management",
)
RISK_HIGH = 3.0


def risk_profile(risk: dict[str, Any] | None) -> dict[str, Any]:
    """{"size", "organisation": mean 1–5 or None, "level": low|medium|high|unassessed, "factors"}."""
    risk = risk or {}
    size = risk.get("size") or {}
    org = risk.get("organisation") or {}
    s_mean = round(sum(size.values()) / len(size), 2) if size else None
    o_mean = round(sum(org.values()) / len(org), 2) if org else None
    if s_mean is None or o_mean is None:
        level = "unassessed"
    else:
        highs = (s_mean >= RISK_HIGH) + (o_mean >= RISK_HIGH)
        level = ("low", "medium", "high")[highs]
    return {
        "size": s_mean,
        "organisation": o_mean,
        "level": level,
        "factors": {"size": size, "organisation": org},
    }


def _person_ref(p: Person | None) -> dict[str, Any] | None:
    return None if p is None else {"email": p.email, "name": p.name, "role": p.role}


def _set_units(s: Any, ini_id: int, role: str, codes: list[str]) -> None:
    mine = (InitiativeUnit.initiative_id == ini_id, InitiativeUnit.role == role)
    # A pilot unit that stays keeps its own start (`outcomes set --start-for`).
    starts = dict(s.execute(select(InitiativeUnit.unit_id, InitiativeUnit.start).where(*mine)).all())
    s.execute(delete(InitiativeUnit).where(*mine))
    seen: set[int] = set()
    for code in codes:
        u = unit_by_code(s, code, f"--{'units' if role == 'scope' else role + '-units'}")
        if u.id not in seen:
            s.add(InitiativeUnit(initiative_id=ini_id, unit_id=u.id, role=role, start=starts.get(u.id)))
            seen.add(u.id)


def _refuse_overlap(s: Session, ini_id: int) -> None:
    """Pilot and control apart: a unit named as both, or one lying beneath the other, compares a unit
    with itself (`outcomes` would refuse it later; say it when the units are set)."""
    current = initiative_units(s, ini_id)
    overlaps = pilot_control_overlaps(
        org_tree(s), [u.code for u in current["pilot"]], [u.code for u in current["control"]]
    )
    if overlaps:
        raise InputError(f"a unit cannot be both pilot and control: {', '.join(overlaps[:5])}")


def _name(name: str | None) -> str:
    """An initiative's name as stored: stripped, never empty."""
    text = (name or "").strip()
    if not text:
        raise InputError("--name is empty")
    return text


def _refuse_taken(s: Session, name: str, ini_id: int | None = None) -> None:
    """Names are unique regardless of case (an initiative may keep its own)."""
    stmt = select(Initiative.id).where(func.lower(Initiative.name) == name.lower())
    if ini_id is not None:
        stmt = stmt.where(Initiative.id != ini_id)
    if s.scalars(stmt).first() is not None:
        raise InputError(f"an initiative named {name!r} exists already")


def create(
    engine: Engine,
    *,
    name: str,
    framework: str,
    sponsor: str,
    owner: str,
    units: str | list[str],
    start: date | str,
    end: date | str | None = None,
    pilot_units: str | list[str] | None = None,
    control_units: str | list[str] | None = None,
    vision: str | None = None,
    theme: str | None = None,
    allow_file: bool = True,
) -> dict[str, Any]:
    name = _name(name)
    start_d = required_date(start, "--start")
    end_d = as_date(end, "--end")
    if end_d is not None and end_d < start_d:
        raise InputError(f"--end {end_d} is before --start {start_d}")
    scope = split_codes(units)
    if not scope:
        raise InputError("--units needs at least one unit code")
    pilot, control = split_codes(pilot_units), split_codes(control_units)
    overlap = {c.lower() for c in pilot} & {c.lower() for c in control}
    if overlap:
        raise InputError(f"a unit cannot be both pilot and control: {', '.join(sorted(overlap))}")
    fw = get_framework(framework, allow_file=allow_file)
    with session_for(engine) as s, s.begin():
        _refuse_taken(s, name)
        sp = person_by_email(s, sponsor, "--sponsor")
        ow = person_by_email(s, owner, "--owner")
        theme_id = theme_name = None
        if theme:
            from cxchange.understand.themes.taxonomy import find_theme

            t = find_theme(s, theme)
            theme_id, theme_name = t.id, t.name
        ini = Initiative(
            name=name,
            framework=fw["key"],
            framework_doc=fw,
            theme_id=theme_id,
            theme_name=theme_name,
            sponsor_id=sp.id,
            owner_id=ow.id,
            start=start_d,
            end=end_d,
            vision=vision,
            status="active",
        )
        s.add(ini)
        s.flush()
        for role, codes in (("scope", scope), ("pilot", pilot), ("control", control)):
            _set_units(s, ini.id, role, codes)
        s.flush()
        _refuse_overlap(s, ini.id)
        for i, step in enumerate(fw["steps"], start=1):
            s.add(InitiativeStep(initiative_id=ini.id, position=i, key=step["key"], title=step["title"]))
        ini_id = ini.id
    return show(engine, ini_id)


def _steps(s: Any, ini_id: int) -> list[InitiativeStep]:
    return list(
        s.scalars(
            select(InitiativeStep)
            .where(InitiativeStep.initiative_id == ini_id)
            .order_by(InitiativeStep.position)
        )
    )


def show(engine: Engine, initiative: int | str) -> dict[str, Any]:
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        units = initiative_units(s, ini.id)
        steps = _steps(s, ini.id)
        metrics = list(s.scalars(select(SuccessMetric).where(SuccessMetric.initiative_id == ini.id)))
        guide = {st["key"]: st for st in (ini.framework_doc or {}).get("steps", [])}
        return {
            "id": ini.id,
            "name": ini.name,
            "framework": ini.framework,
            "framework_name": (ini.framework_doc or {}).get("name"),
            "theme": ini.theme_name,
            "sponsor": _person_ref(s.get(Person, ini.sponsor_id)),
            "owner": _person_ref(s.get(Person, ini.owner_id)),
            "units": [u.code for u in units["scope"]],
            "pilot_units": [u.code for u in units["pilot"]],
            "control_units": [u.code for u in units["control"]],
            "start": ini.start,
            "end": ini.end,
            "vision": ini.vision,
            "status": ini.status,
            "steps": [
                {
                    "position": st.position,
                    "key": st.key,
                    "title": st.title,
                    "status": st.status,
                    "note": st.note,
                    "updated_at": st.updated_at,
                    "purpose": guide.get(st.key, {}).get("purpose"),
                    "checklist": guide.get(st.key, {}).get("checklist", []),
                }
                for st in steps
            ],
            "metrics": [
                {"id": m.id, "metric": m.metric, "target": m.target, "by": m.by_date} for m in metrics
            ],
        }


def list_all(engine: Engine, *, status: str | None = None) -> list[dict[str, Any]]:
    with session_for(engine) as s:
        stmt = select(Initiative).order_by(Initiative.id)
        if status:
            stmt = stmt.where(Initiative.status == status)
        out = []
        for ini in s.scalars(stmt):
            steps = _steps(s, ini.id)
            sponsor = s.get(Person, ini.sponsor_id)
            owner = s.get(Person, ini.owner_id)
            out.append(
                {
                    "id": ini.id,
                    "name": ini.name,
                    "framework": ini.framework,
                    "status": ini.status,
                    "sponsor": sponsor.email if sponsor else None,
                    "owner": owner.email if owner else None,
                    "start": ini.start,
                    "end": ini.end,
                    "steps_done": sum(st.status == "done" for st in steps),
                    "steps_total": len(steps),
                    "units": ",".join(u.code for u in initiative_units(s, ini.id)["scope"]),
                }
            )
        return out


def update(
    engine: Engine,
    initiative: int | str,
    *,
    name: str | None = None,
    vision: str | None = None,
    sponsor: str | None = None,
    owner: str | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    status: str | None = None,
    units: str | list[str] | None = None,
    pilot_units: str | list[str] | None = None,
    control_units: str | list[str] | None = None,
    theme: str | None = None,
) -> dict[str, Any]:
    if status is not None and status not in INITIATIVE_STATUSES:
        raise InputError(f"--status wants one of {', '.join(INITIATIVE_STATUSES)}, got {status!r}")
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        if name is not None:
            name = _name(name)
            _refuse_taken(s, name, ini.id)
            ini.name = name
        if vision is not None:
            ini.vision = vision
        if sponsor is not None:
            ini.sponsor_id = person_by_email(s, sponsor, "--sponsor").id
        if owner is not None:
            ini.owner_id = person_by_email(s, owner, "--owner").id
        if start is not None:
            ini.start = as_date(start, "--start")  # type: ignore[assignment]
        if end is not None:
            ini.end = None if str(end).lower() in ("", "none") else as_date(end, "--end")
        if ini.end is not None and ini.end < ini.start:
            raise InputError(f"--end {ini.end} is before --start {ini.start}")
        if status is not None:
            ini.status = status
        if theme is not None:
            from cxchange.understand.themes.taxonomy import find_theme

            t = find_theme(s, theme)
            ini.theme_id, ini.theme_name = t.id, t.name
        for role, value in (("scope", units), ("pilot", pilot_units), ("control", control_units)):
            if value is not None:
                codes = split_codes(value)
                if role == "scope" and not codes:
                    raise InputError("--units needs at least one unit code")
                _set_units(s, ini.id, role, codes)
        s.flush()
        _refuse_overlap(s, ini.id)
        ini_id = ini.id
    return show(engine, ini_id)


def set_step(
    engine: Engine, initiative: int | str, step: str, status: str, note: str | None = None
) -> dict[str, Any]:
    if status not in STEP_STATUSES:
        raise InputError(f"--status wants one of {', '.join(STEP_STATUSES)}, got {status!r}")
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        steps = _steps(s, ini.id)
        ref = str(step).strip()
        found = next((st for st in steps if st.key.lower() == ref.lower()), None)
        if found is None and (ref.isascii() and ref.isdigit()):
            found = next((st for st in steps if st.position == int(ref)), None)
        if found is None:
            raise NotFoundError(
                f"initiative {ini.id} ({ini.framework}) has no step {step!r}; steps: "
                + ", ".join(st.key for st in steps)
            )
        found.status = status
        stamp_edit(found, note)
        return {
            "initiative": ini.id,
            "position": found.position,
            "key": found.key,
            "title": found.title,
            "status": found.status,
            "note": found.note,
        }


def set_risk(engine: Engine, initiative: int | str, factors: dict[str, Any]) -> dict[str, Any]:
    """Score risk factors 1–5 (see SIZE_FACTORS and ORG_FACTORS); returns the profile."""
    clean_size: dict[str, int] = {}
    clean_org: dict[str, int] = {}
    for key, value in factors.items():
        try:
            v = int(str(value).strip())
        except ValueError:
            raise InputError(f"risk factor {key!r} wants a whole number 1 to 5, got {value!r}") from None
        if not 1 <= v <= 5:
            raise InputError(f"risk factor {key!r} is out of range: {v} (use 1 to 5)")
        if key in SIZE_FACTORS:
            clean_size[key] = v
        elif key in ORG_FACTORS:
            clean_org[key] = v
        else:
            raise InputError(
                f"unknown risk factor {key!r}; size of change: {', '.join(SIZE_FACTORS)}; "
                f"organisation: {', '.join(ORG_FACTORS)}"
            )
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        risk = dict(ini.risk or {})
        risk["size"] = {**(risk.get("size") or {}), **clean_size}
        risk["organisation"] = {**(risk.get("organisation") or {}), **clean_org}
        ini.risk = risk
        return {"initiative": ini.id, **risk_profile(risk)}


def get_risk(engine: Engine, initiative: int | str) -> dict[str, Any]:
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        return {"initiative": ini.id, **risk_profile(ini.risk)}


def status(engine: Engine, initiative: int | str) -> dict[str, Any]:
    """Where the initiative stands: steps, success measures, RACI, readiness, comms, agents, risk."""
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        steps = _steps(s, ini.id)
        ini_id, name, fw, risk = ini.id, ini.name, ini.framework, ini.risk
    findings = raci.check(engine, ini_id)
    comms = people.list_comms(engine, ini_id)
    overdue = [c for c in comms if c["overdue"]]
    current = next((st for st in steps if st.status != "done"), None)
    resistance = people.list_resistance(engine, ini_id)
    return {
        "id": ini_id,
        "name": name,
        "framework": fw,
        "steps_done": sum(st.status == "done" for st in steps),
        "steps_total": len(steps),
        "current_step": None
        if current is None
        else {"key": current.key, "title": current.title, "status": current.status},
        "metrics": evaluate(engine, ini_id),
        "raci_errors": sum(f["level"] == "error" for f in findings),
        "raci_warnings": sum(f["level"] == "warning" for f in findings),
        "readiness": readiness.overall(engine, ini_id),
        "comms_overdue": len(overdue),
        "comms_overdue_items": overdue,
        "agents_coverage": people.coverage_summary(engine, ini_id),
        "training_completion": people.training_summary(engine, ini_id),
        "resistance_open": sum(r["status"] == "open" for r in resistance),
        "risk": risk_profile(risk),
        "as_of": date.today(),
    }


# --- who may see which initiative: the one rule for CLI, API, pages and the report ----------------------

# Shown where an initiative's comparisons are withheld from a user limited to some units.
COMPARISON_HIDDEN = (
    "The success measures and the outcome compare units beyond yours ({units}), so they are not shown here."
)


def unit_codes(detail: dict[str, Any]) -> list[str]:
    """Every unit an initiative names: its scope, pilot and control units (each once)."""
    return list(dict.fromkeys([*detail["units"], *detail["pilot_units"], *detail["control_units"]]))


def visible_initiatives(
    engine: Engine, scope: UserScope, *, status: str | None = None, unit: str | None = None
) -> list[dict[str, Any]]:
    """`show()` of every initiative the user may see: for a user limited to some units, those whose scope,
    pilot or control units touch theirs (above or beneath them). `unit`: of those, the ones that touch
    this unit too (the unit a page is about: an executive's Overview of CA listed "Texas only")."""
    stmt = select(Initiative.id).order_by(Initiative.id)
    if status:
        stmt = stmt.where(Initiative.status == status)
    scopes = [s for s in (scope, UserScope.of_units(engine, [unit]) if unit else None) if s and s.scoped]
    with engine.connect() as conn:
        ids = list(conn.scalars(stmt))
        if scopes:  # decide on the unit codes (one query) before loading any initiative in full
            from cxchange.org.models import OrgUnit

            codes: dict[int, list[str]] = {}
            for ini_id, code in conn.execute(
                select(InitiativeUnit.initiative_id, OrgUnit.code).join(
                    OrgUnit, OrgUnit.id == InitiativeUnit.unit_id
                )
            ):
                codes.setdefault(ini_id, []).append(code)
            paths = scope.unit_paths(engine)
            ids = [i for i in ids if all(s.touches(engine, codes.get(i, []), paths) for s in scopes)]
    return [show(engine, i) for i in ids]


def initiative_for(engine: Engine, scope: UserScope, initiative: int | str) -> dict[str, Any]:
    """`show()` of one initiative, or ForbiddenError (403) when it concerns none of the user's units."""
    detail = show(engine, initiative)
    if not scope.touches(engine, unit_codes(detail)):
        raise ForbiddenError(f"initiative {detail['id']} concerns none of your units")
    return detail


def comparison_visible(engine: Engine, scope: UserScope, detail: dict[str, Any]) -> bool:
    """The initiative's success measures and outcome (pilot against control) may be shown: every unit
    they compare lies in the scope."""
    return scope.covers(engine, unit_codes(detail))


def comparison_note(detail: dict[str, Any]) -> str:
    return COMPARISON_HIDDEN.format(units=", ".join(unit_codes(detail)))
