"""Initiatives: the list, the "new initiative" form and one initiative's page (framework stepper, RACI
with its check in place, success measures and outcome chart, ADKAR readiness, change load heatmap,
communication calendar, change agents, resistance log).

Everyone may read; every form that changes something needs the "initiatives" permission (change lead,
admin) and the CSRF token. A manager sees the initiatives that touch their units, and on an initiative's
page only the rows of their units; comparisons that reach beyond their units (success measures, outcome)
are not shown to them.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope, verify_csrf
from cxchange.change import impact, people, raci, readiness
from cxchange.change.common import as_date, people_choices
from cxchange.change.frameworks import list_rows
from cxchange.change.impact import set_impact
from cxchange.change.metrics import add_metric, evaluate, wilson
from cxchange.change.models import ADKAR, IMPACT_ASPECTS, RESISTANCE_CAUSES
from cxchange.change.people import add_agent, add_comm, add_resistance, mark_sent, update_resistance
from cxchange.change.raci import import_matrix, set_cell
from cxchange.change.readiness import import_file
from cxchange.change.service import (
    INITIATIVE_STATUSES,
    comparison_note,
    comparison_visible,
    create,
    get_risk,
    initiative_for,
    list_all,
    set_step,
    update,
    visible_initiatives,
)
from cxchange.core.deps import engine
from cxchange.core.errors import CxError, InputError, NotFoundError
from cxchange.listen.surveys.service import pulses
from cxchange.org.tree import load_org_tree
from cxchange.understand.themes.taxonomy import theme_rows
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)
WRITE = [Depends(verify_csrf)]
RACI_CHOICES = ("", "R", "A", "A/R", "C", "I")
# Input mistakes are shown next to the form that caused them; a missing initiative or a refusal is not.
FORM_ERRORS = (InputError, NotFoundError)


# --- helpers --------------------------------------------------------------------------------------


def _tree(eng: Engine) -> Any:
    return load_org_tree(eng)


def _form_lists(eng: Engine) -> dict[str, Any]:
    """What the forms offer: people, units, themes, frameworks (for datalists and selects)."""
    people = people_choices(eng)
    tree = _tree(eng)
    units = [
        {"code": u.code, "name": u.name, "level": u.level or "", "depth": u.depth}
        for u in sorted(tree.units.values(), key=lambda u: u.path)
    ]
    return {
        "people": people,
        "units": units,
        "themes": [t["name"] for t in theme_rows(eng)],
        "frameworks": list_rows(),
    }


def _load(eng: Engine, scope: UserScope, initiative: int) -> dict[str, Any]:
    return initiative_for(eng, scope, initiative)


def _back(initiative: int, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/initiatives/{initiative}#{anchor}", status_code=303)


def _split(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [c.strip() for v in items for c in str(v).split(",") if c.strip()]


# --- list and create ------------------------------------------------------------------------------


@router.get("/initiatives")
def initiatives_list(request: Request, scope: CallerScope, status: str | None = None) -> Any:
    eng = engine()
    if status and status not in INITIATIVE_STATUSES:
        raise InputError(f"status wants one of {', '.join(INITIATIVE_STATUSES)}, got {status!r}")
    rows = []
    details = {d["id"]: d for d in visible_initiatives(eng, scope, status=status or None)}
    for r in list_all(eng, status=status or None):
        detail = details.get(r["id"])
        if detail is None:
            continue
        current = next((st for st in detail["steps"] if st["status"] != "done"), None)
        rows.append({**r, "framework_name": detail["framework_name"], "current": current, "detail": detail})
    ctx = {"rows": rows, "status": status or "", "statuses": INITIATIVE_STATUSES}
    return render(request, "initiatives.html", ctx)


def _new_context(eng: Engine, values: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    return {"values": values, "error": error, **_form_lists(eng)}


@router.get("/initiatives/new")
def initiative_new(request: Request, scope: CallerScope, theme: str = "", name: str = "") -> Any:
    scope.require("initiatives")
    values = {
        "name": name,
        "theme": theme,
        "framework": "kotter",
        "start": date.today().isoformat(),
        "units": [],
        "pilot_units": [],
        "control_units": [],
    }
    return render(request, "initiative_new.html", _new_context(engine(), values))


@router.post("/initiatives/new", dependencies=WRITE)
async def initiative_create(request: Request, scope: CallerScope) -> Any:
    from fastapi.concurrency import run_in_threadpool

    scope.require("initiatives")
    form = await request.form()
    values: dict[str, Any] = {
        k: str(form.get(k) or "").strip()
        for k in ("name", "framework", "vision", "sponsor", "owner", "theme", "start", "end")
    }
    for k in ("units", "pilot_units", "control_units"):
        values[k] = _split([str(v) for v in form.getlist(k)])
    eng = engine()
    try:
        ini = await run_in_threadpool(
            lambda: create(
                eng,
                name=values["name"],
                framework=values["framework"],
                sponsor=values["sponsor"],
                owner=values["owner"],
                units=values["units"],
                start=values["start"] or None,  # type: ignore[arg-type]
                end=values["end"] or None,
                pilot_units=values["pilot_units"],
                control_units=values["control_units"],
                vision=values["vision"] or None,
                theme=values["theme"] or None,
                allow_file=False,
            )
        )
    except FORM_ERRORS as exc:
        ctx = await run_in_threadpool(_new_context, eng, values, str(exc))
        return render(request, "initiative_new.html", ctx, status_code=400)
    return RedirectResponse(f"/initiatives/{ini['id']}", status_code=303)


# --- one initiative -------------------------------------------------------------------------------


def _raci_view(eng: Engine, initiative: int) -> dict[str, Any]:
    """The matrix as rows × people, with each finding attached to its activity row or person column."""
    matrix = raci.show(eng, initiative)
    findings = raci.check(eng, initiative)
    people: list[str] = []
    for row in matrix:
        for k in row:
            if k != "activity" and k not in people:
                people.append(k)
    by_activity: dict[str, list[dict[str, Any]]] = {}
    by_person: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        if f["activity"] is not None:
            by_activity.setdefault(f["activity"], []).append(f)
        elif f["person"] is not None:
            by_person.setdefault(f["person"], []).append(f)
    rows = []
    for i, row in enumerate(matrix):
        notes = by_activity.get(row["activity"], [])
        level = "error" if any(f["level"] == "error" for f in notes) else ("warning" if notes else "")
        rows.append(
            {
                "index": i,
                "activity": row["activity"],
                "cells": [(j, p, row.get(p, "")) for j, p in enumerate(people)],
                "findings": notes,
                "level": level,
                "bad_people": {f["person"] for f in notes if f["person"]},
            }
        )
    return {
        "people": people,
        "rows": rows,
        "person_findings": by_person,
        "errors": sum(f["level"] == "error" for f in findings),
        "warnings": sum(f["level"] == "warning" for f in findings),
    }


def _pulses(eng: Any, ini_id: int) -> list[dict[str, Any]]:
    """The initiative's ADKAR pulse surveys (their answers are readiness assessments: counts only)."""
    return pulses(eng, ini_id)


def _readiness_view(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add a 95 % Wilson interval to each barrier share (n respondents per group)."""
    out = []
    for g in rows:
        bars = []
        for e in (*ADKAR, "none"):
            share = (g.get("barrier_shares") or {}).get(e)
            lo = hi = None
            if share is not None and g["n"]:
                lo, hi = wilson(round(share * g["n"]), g["n"])
            bars.append({"element": e, "share": share, "ci_low": lo, "ci_high": hi})
        out.append({**g, "bars": bars})
    return out


def _heatmap_view(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """unit × month grid of the load for the heatmap (Plotly) and its table."""
    months = sorted({r["month"] for r in rows})
    units: list[str] = []
    names: dict[str, str] = {}
    cell: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r["unit"] not in names:
            units.append(r["unit"])
            names[r["unit"]] = r["name"]
        cell[(r["unit"], r["month"])] = r
    z = [[(cell.get((u, m)) or {}).get("load") for m in months] for u in units]
    text = [[(cell.get((u, m)) or {}).get("initiatives", "") for m in months] for u in units]
    table = [{"unit": u, "name": names[u], "cells": [cell.get((u, m)) for m in months]} for u in units]
    threshold = rows[0]["threshold"] if rows else None
    return {"months": months, "units": units, "z": z, "text": text, "table": table, "threshold": threshold}


def _comms_visible(scope: UserScope, eng: Engine, comms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not scope.scoped:
        return comms
    by_unit = [c for c in comms if not str(c["audience"]).startswith("role:")]
    kept = {id(c) for c in scope.filter_rows(by_unit, eng, key="audience")}
    return [c for c in comms if str(c["audience"]).startswith("role:") or id(c) in kept]


def _page_context(eng: Engine, scope: UserScope, initiative: int) -> dict[str, Any]:
    detail = _load(eng, scope, initiative)
    ini_id = detail["id"]
    wide_ok = comparison_visible(eng, scope, detail)
    metrics: list[dict[str, Any]] = []
    outcome = outcome_error = None
    if wide_ok:
        metrics = evaluate(eng, ini_id)
        from cxchange.sustain.outcomes import outcomes

        try:
            outcome = outcomes(eng, ini_id)  # the stored windows: the same verdict as everywhere
        except InputError as exc:
            outcome_error = str(exc)
    steps = detail["steps"]
    current = next((st for st in steps if st["status"] != "done"), None)
    ctx: dict[str, Any] = {
        "ini": detail,
        "steps_done": sum(st["status"] == "done" for st in steps),
        "current_step": current,
        "can_edit": scope.can("initiatives"),
        "wide_ok": wide_ok,
        "wide_note": comparison_note(detail),
        "raci": _raci_view(eng, ini_id),
        "raci_choices": RACI_CHOICES,
        "metrics": metrics,
        "outcome": outcome,
        "outcome_error": outcome_error,
        "readiness": _readiness_view(scope.filter_rows(readiness.report(eng, ini_id), eng, key="group")),
        "adkar": ADKAR,
        "pulses": _pulses(eng, ini_id),
        "heatmap": _heatmap_view(scope.filter_rows(impact.heatmap(eng), eng, key="unit")),
        "impact": scope.filter_rows(impact.show_impact(eng, ini_id), eng, key="unit"),
        "aspects": IMPACT_ASPECTS,
        "comms": _comms_visible(scope, eng, people.list_comms(eng, ini_id)),
        "coverage": scope.filter_rows(people.coverage(eng, ini_id), eng, key="unit"),
        "resistance": scope.filter_rows(people.list_resistance(eng, ini_id), eng, key="unit"),
        "causes": RESISTANCE_CAUSES,
        "risk": get_risk(eng, ini_id),
        "today": date.today(),
        "error": None,
    }
    if ctx["can_edit"]:
        ctx.update(_form_lists(eng))
    return ctx


@router.get("/initiatives/{initiative}")
def initiative_page(request: Request, scope: CallerScope, initiative: int) -> Any:
    return render(request, "initiative.html", _page_context(engine(), scope, initiative))


def _failed(request: Request, scope: UserScope, initiative: int, section: str, exc: CxError) -> Any:
    ctx = _page_context(engine(), scope, initiative)
    ctx["error"] = {"section": section, "message": str(exc)}
    return render(request, "initiative.html", ctx, status_code=400)


async def _write(request: Request, scope: UserScope, initiative: int, section: str, action: Any) -> Any:
    """Run a change for an initiative the user may see; input mistakes re-render the page with the
    message next to the form, success goes back to the section (303)."""
    from fastapi.concurrency import run_in_threadpool

    scope.require("initiatives")
    eng = engine()
    await run_in_threadpool(_load, eng, scope, initiative)
    form = await request.form()
    try:
        await run_in_threadpool(action, eng, form)
    except FORM_ERRORS as exc:
        return await run_in_threadpool(_failed, request, scope, initiative, section, exc)
    return _back(initiative, section)


def _f(form: Any, key: str) -> str:
    return str(form.get(key) or "").strip()


def _fields(form: Any, *names: str, optional: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Service keywords from the form fields of those names, stripped; an empty optional one is None."""
    return {**{k: _f(form, k) for k in names}, **{k: _f(form, k) or None for k in optional}}


@router.post("/initiatives/{initiative}/steps/{step}", dependencies=WRITE)
async def step_set(request: Request, scope: CallerScope, initiative: int, step: str) -> Any:
    def act(eng: Engine, form: Any) -> None:
        set_step(eng, initiative, step, _f(form, "status") or "done", _f(form, "note") or None)

    return await _write(request, scope, initiative, "steps", act)


@router.post("/initiatives/{initiative}/details", dependencies=WRITE)
async def details_set(request: Request, scope: CallerScope, initiative: int) -> Any:
    def act(eng: Engine, form: Any) -> None:
        update(eng, initiative, **_fields(form, "vision", optional=("sponsor", "owner", "status")))

    return await _write(request, scope, initiative, "about", act)


@router.post("/initiatives/{initiative}/raci", dependencies=WRITE)
async def raci_save(request: Request, scope: CallerScope, initiative: int) -> Any:
    """The whole grid at once (cells cell-ROW-COL, activities act-ROW, people person-COL), saved through
    the RACI import in one transaction; an activity left without letters leaves the matrix."""

    def act(eng: Engine, form: Any) -> None:
        people = [_f(form, f"person-{j}") for j in sorted(_indexed(form, "person-"), key=int)]
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["activity", *people])
        for i in sorted(_indexed(form, "act-"), key=int):
            name = _f(form, f"act-{i}")
            if name:
                w.writerow([name, *(_f(form, f"cell-{i}-{j}") for j in range(len(people)))])
        import_matrix(eng, initiative, "RACI form", text=out.getvalue())

    return await _write(request, scope, initiative, "raci", act)


def _indexed(form: Any, prefix: str) -> list[str]:
    return [
        k[len(prefix) :]
        for k in form
        if k.startswith(prefix) and (k[len(prefix) :].isascii() and k[len(prefix) :].isdigit())
    ]


@router.post("/initiatives/{initiative}/raci/cell", dependencies=WRITE)
async def raci_cell(request: Request, scope: CallerScope, initiative: int) -> Any:
    def act(eng: Engine, form: Any) -> None:
        set_cell(eng, initiative, _f(form, "activity"), _f(form, "person"), _f(form, "letter") or "-")

    return await _write(request, scope, initiative, "raci", act)


@router.post("/initiatives/{initiative}/metrics", dependencies=WRITE)
async def metric_add(request: Request, scope: CallerScope, initiative: int) -> Any:
    def act(eng: Engine, form: Any) -> None:
        add_metric(eng, initiative, _f(form, "metric"), _f(form, "target"), _f(form, "by") or None)

    return await _write(request, scope, initiative, "measures", act)


@router.post("/initiatives/{initiative}/readiness", dependencies=WRITE)
async def readiness_upload(request: Request, scope: CallerScope, initiative: int) -> Any:
    form = await request.form()
    upload = form.get("file")
    text = ""
    if upload is not None and hasattr(upload, "read"):
        text = (await upload.read()).decode("utf-8-sig", errors="replace")

    def act(eng: Engine, form: Any) -> None:
        if not text.strip():
            raise InputError("choose a CSV file: unit, optional person, and the five ADKAR scores 1–5")
        import_file(eng, initiative, "upload", assessed_on=_f(form, "date") or None, text=text)

    return await _write(request, scope, initiative, "readiness", act)


@router.post("/initiatives/{initiative}/impact", dependencies=WRITE)
async def impact_save(request: Request, scope: CallerScope, initiative: int) -> Any:
    def act(eng: Engine, form: Any) -> None:
        values: dict[str, int | None] = {}
        for a in IMPACT_ASPECTS:
            raw = _f(form, a)
            if raw:
                if not (raw.isascii() and raw.isdigit()):
                    raise InputError(f"{a.replace('_', ' ')} wants a whole number 0 to 5, got {raw!r}")
                values[a] = int(raw)
        set_impact(eng, initiative, _f(form, "unit"), values, _f(form, "note") or None)

    return await _write(request, scope, initiative, "impact", act)


@router.post("/initiatives/{initiative}/comms", dependencies=WRITE)
async def comm_add(request: Request, scope: CallerScope, initiative: int) -> Any:
    def act(eng: Engine, form: Any) -> None:
        when = as_date(_f(form, "date") or None, "date")
        if when is None:
            raise InputError("date is needed")
        add_comm(
            eng, initiative, when=when, audience=_f(form, "audience"), channel=_f(form, "channel"),
            sender=_f(form, "sender"), message=_f(form, "message"),
        )  # fmt: skip

    return await _write(request, scope, initiative, "comms", act)


@router.post("/initiatives/{initiative}/comms/{comm}/sent", dependencies=WRITE)
async def comm_sent(request: Request, scope: CallerScope, initiative: int, comm: int) -> Any:
    return await _write(
        request, scope, initiative, "comms", lambda eng, form: mark_sent(eng, initiative, comm)
    )


@router.post("/initiatives/{initiative}/agents", dependencies=WRITE)
async def agent_add(request: Request, scope: CallerScope, initiative: int) -> Any:
    return await _write(
        request, scope, initiative, "agents", lambda eng, form: add_agent(eng, initiative, _f(form, "person"))
    )


@router.post("/initiatives/{initiative}/resistance", dependencies=WRITE)
async def resistance_add(request: Request, scope: CallerScope, initiative: int) -> Any:
    def act(eng: Engine, form: Any) -> None:
        add_resistance(
            eng, initiative, unit=_f(form, "unit"), description=_f(form, "description"),
            cause=_f(form, "cause"), owner=_f(form, "owner"),
        )  # fmt: skip

    return await _write(request, scope, initiative, "resistance", act)


@router.post("/initiatives/{initiative}/resistance/{item}", dependencies=WRITE)
async def resistance_update(request: Request, scope: CallerScope, initiative: int, item: int) -> Any:
    def act(eng: Engine, form: Any) -> None:
        update_resistance(
            eng,
            initiative,
            item,
            status=_f(form, "status") or "addressed",
            resolution=_f(form, "resolution") or None,
        )

    return await _write(request, scope, initiative, "resistance", act)
