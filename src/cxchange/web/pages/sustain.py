"""Sustain: did an initiative move what customers say (difference-in-differences with its interval and
verdict), the follow-up cases queue, the recognition wall, scorecards per unit and alerts.

Scoped users (managers) see their units only: cases, recognitions and scorecards are limited to them, a
case or unit outside them answers 403, and an outcome that compares units beyond theirs is not shown.
Updating a case needs the "cases" permission and the CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope, verify_csrf
from cxchange.change.service import comparison_visible, visible_initiatives
from cxchange.core.deps import engine
from cxchange.core.errors import ForbiddenError, InputError, NoDataError, NotFoundError
from cxchange.org.tree import load_org_tree
from cxchange.sustain.alerts import list_alerts
from cxchange.sustain.case_stats import stats
from cxchange.sustain.cases import CasePatch, case_for, list_cases, update
from cxchange.sustain.outcomes import metric_or_default, outcomes
from cxchange.sustain.recognition import list_recognitions
from cxchange.sustain.scorecard import scorecard
from cxchange.understand.themes.taxonomy import theme_rows
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
QUEUE_STATUSES = ("unresolved", "open", "contacted", "resolved", "all")


def _tree(eng: Engine) -> Any:
    return load_org_tree(eng)


def _visible_initiatives(eng: Engine, scope: UserScope) -> list[dict[str, Any]]:
    """The initiatives whose outcome the user may see (an outcome compares every unit of the initiative)."""
    return [d for d in visible_initiatives(eng, scope) if comparison_visible(eng, scope, d)]


def _levels(eng: Engine) -> list[str]:
    tree = _tree(eng)
    seen: list[str] = []
    for u in sorted(tree.units.values(), key=lambda u: u.depth):
        if u.level and u.level not in seen:
            seen.append(u.level)
    return seen


@router.get("/sustain")
def sustain_page(
    request: Request,
    scope: CallerScope,
    initiative: int | None = None,
    metric: str = "",
    before: str = "",
    after: str = "",
    period: str = "quarter",
    by: str = "",
    target: str = "",
) -> Any:
    eng = engine()
    # Defaults as everywhere: the store's score (a store of ratings measures ratings, not "no nps
    # data"), the org's lowest level (an org of airlines has no "store").
    metric = metric_or_default(eng, metric)
    tree = _tree(eng)
    by = by or (f"org:{tree.lowest_level()}" if tree.units else "")
    inis = _visible_initiatives(eng, scope)
    chosen = None
    if initiative is not None:
        chosen = next((d for d in inis if d["id"] == initiative), None)
        if chosen is None:
            from cxchange.change.service import initiative_for

            initiative_for(eng, scope, initiative)  # 404 when it does not exist, 403 when not theirs
            raise ForbiddenError(f"initiative {initiative} compares units outside yours")
    elif inis:
        chosen = next((d for d in inis if d["pilot_units"] and d["control_units"]), inis[0])
    outcome = outcome_error = None
    if chosen is not None:
        try:
            # empty: the windows stored on the initiative, as on every other surface
            outcome = outcomes(eng, chosen["id"], metric=metric, before=before or None, after=after or None)
        except (InputError, NotFoundError) as exc:
            outcome_error = str(exc)
    metrics = ["nps", "csat", "ces", "rating"]
    if chosen and chosen["theme"]:
        metrics += [f"theme-share:{chosen['theme']}", f"theme-sentiment:{chosen['theme']}"]
    if metric not in metrics:
        metrics.append(metric)

    target_value: float | None = None
    card_error = None
    if target.strip():
        try:
            target_value = float(target)
        except ValueError:
            card_error = f"target wants a number, got {target!r}"
    cards: list[dict[str, Any]] = []
    if card_error is None:
        try:
            cards = scope.filter_rows(
                scorecard(eng, period=period, by=by or None, target=target_value), eng, key="unit"
            )
        except (InputError, NoDataError) as exc:  # no answers in the period: said on the page
            card_error = str(exc)

    units = scope.units(eng, None)
    ctx = {
        "initiatives": inis,
        "chosen": chosen,
        "outcome": outcome,
        "outcome_error": outcome_error,
        "metric": metric,
        "metrics": metrics,
        "before": before,
        "after": after,
        "windows": [
            "",
            "all",
            *sorted(
                {"30d", "60d", "90d", "180d", "365d", before, after} - {"all", ""}, key=lambda w: (len(w), w)
            ),
        ],
        "cards": cards,
        "card_error": card_error,
        "period": period,
        "by": by,
        "target": target,
        "levels": _levels(eng),
        "recognitions": list_recognitions(eng, unit=units, limit=12),
        "case_stats": stats(eng, unit=units)[0],
        "alerts": list_alerts(eng, limit=20) if scope.can("rules") else None,
    }
    return render(request, "sustain.html", ctx)


# --- cases ----------------------------------------------------------------------------------------


def _theme_names(eng: Engine) -> list[str]:
    return [t["path"] for t in theme_rows(eng)]


@router.get("/sustain/cases")
def cases_queue(
    request: Request,
    scope: CallerScope,
    status: str = "unresolved",
    unit: str = "",
    overdue: bool = False,
    page: Annotated[int, Query(ge=1)] = 1,
    updated: int | None = None,
) -> Any:
    eng = engine()
    if status not in QUEUE_STATUSES:
        raise InputError(f"status wants one of {', '.join(QUEUE_STATUSES)}, got {status!r}")
    units = scope.units(eng, unit.strip() or None)  # 403 for a unit outside the user's
    rows = list_cases(
        eng, unit=units, status=None if status in ("unresolved", "all") else status, overdue=overdue
    )
    if status == "unresolved":
        rows = [r for r in rows if r["status"] != "resolved"]
    rows.sort(key=lambda r: (not r["overdue"], str(r["due_at"]), r["id"]))
    total = len(rows)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    tree = _tree(eng)
    unit_options = scope.filter_rows(
        [
            {"unit": u.code, "name": u.name, "depth": u.depth}
            for u in sorted(tree.units.values(), key=lambda u: u.path)
        ],
        eng,
    )
    query = {"status": status, "unit": unit, **({"overdue": "true"} if overdue else {})}
    ctx = {
        "rows": rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": total,
        "page": page,
        "pages": pages,
        "status": status,
        "statuses": QUEUE_STATUSES,
        "unit": unit,
        "overdue": overdue,
        "updated": updated,
        "unit_options": unit_options,
        "stats": stats(eng, unit=units)[0],
        "can_update": scope.can("cases"),
        "themes": _theme_names(eng) if scope.can("cases") else [],
        "back": "/sustain/cases?" + urlencode({**query, "page": page}),
        "page_url": lambda p: "/sustain/cases?" + urlencode({**query, "page": p}),
    }
    return render(request, "sustain_cases.html", ctx)


@router.get("/sustain/cases/{case_id}")
def case_page(request: Request, scope: CallerScope, case_id: int, saved: bool = False) -> Any:
    eng = engine()
    case = case_for(eng, scope, case_id)
    ctx = {
        "case": case,
        "saved": saved,
        "error": None,
        "can_update": scope.can("cases"),
        "themes": _theme_names(eng) if scope.can("cases") else [],
        "back": f"/sustain/cases/{case_id}",
    }
    return render(request, "sustain_case.html", ctx)


def _safe_back(target: str, case_id: int) -> str:
    """Back to the queue or the case page only (never another site)."""
    if target.startswith("/sustain/cases") and not target.startswith("//") and "\\" not in target:
        return target
    return f"/sustain/cases/{case_id}"


@router.post("/sustain/cases/{case_id}", dependencies=[Depends(verify_csrf)])
async def case_update(request: Request, scope: CallerScope, case_id: int) -> Any:
    from fastapi.concurrency import run_in_threadpool

    scope.require("cases")
    eng = engine()
    case = await run_in_threadpool(case_for, eng, scope, case_id)
    form = await request.form()

    def field(name: str) -> str | None:
        return str(form.get(name) or "").strip() or None

    back = _safe_back(str(form.get("back") or ""), case_id)
    status = field("status")
    if status == case["status"]:
        status = None  # unchanged: only the note / root cause (if any) are recorded
    try:
        await run_in_threadpool(
            lambda: update(
                eng,
                case_id,
                CasePatch(status=status, note=field("note"), root_cause=field("root_cause"), by=scope.email),
            )
        )
    except (InputError, NotFoundError) as exc:
        ctx = {
            "case": case,
            "saved": False,
            "error": str(exc),
            "can_update": True,
            "themes": await run_in_threadpool(_theme_names, eng),
            "back": back,
        }
        return render(request, "sustain_case.html", ctx, status_code=400)
    sep = "&" if "?" in back else "?"
    target = f"{back}{sep}saved=1" if back == f"/sustain/cases/{case_id}" else f"{back}{sep}updated={case_id}"
    return RedirectResponse(target, status_code=303)
