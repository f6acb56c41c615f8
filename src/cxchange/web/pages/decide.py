"""Decide: key drivers with intervals, the importance–performance quadrant, the NPS simulator and the
opportunity ranking, with a business case and an initiative one click away from each opportunity.

Everything is computed by the decide services the CLI and the /api routes use (driver_table over
theme_driver_frame, opportunities, build_case, the measure scores). The slow part (bootstrap
intervals, per-theme simulations) is stored per data version and scope (decide/overview.py: the import
or analysis that changes the data computes it), so the first load reads one row.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope
from cxchange.core.deps import engine
from cxchange.core.errors import CxError, InputError
from cxchange.decide.business_case import build_case
from cxchange.decide.business_case import render as render_case
from cxchange.decide.drivers import quadrant, quadrant_lines
from cxchange.decide.overview import BOOT, OPPORTUNITY_SHARE, decide_overview
from cxchange.decide.service import Scope
from cxchange.measure.scale import AN_ANSWER, LABELS, check_metric
from cxchange.org.tree import load_org_tree
from cxchange.web.cache import cached
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)

MIN_N = 30  # groups below this are shown greyed ("small sample")
SIMULATOR_DRAWS = 300  # draws per slider move: a stable interval, fast enough to follow the slider
FORMATS = {"html": ".html", "md": ".md", "pdf": ".pdf"}
MEDIA = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
}


def decide_data(eng: Engine, where: tuple[str, ...], metric: str | None = None) -> dict[str, Any]:
    """The decide figures (stored per data version, decide/overview.py), remembered here per scope and
    asked-for metric for the cache's time to live; root causes recorded on cases since then show
    within it."""
    return cached("decide", eng, (where, metric), lambda: decide_overview(eng, where, metric))


def _unit_choices(eng: Engine, scope: UserScope) -> list[dict[str, Any]]:
    """Units the user may look at, in tree order."""
    units = sorted(load_org_tree(eng).units.values(), key=lambda u: u.path)
    return [{"code": u.code, "name": u.name, "depth": u.depth} for u in units if scope.contains_path(u.path)]


def _where(eng: Engine, scope: UserScope, unit: str | None) -> tuple[str, ...]:
    """The scope's filter (a unit outside a manager's subtree raises ForbiddenError: 403)."""
    if unit:
        from cxchange.org.tree import load_org_tree

        load_org_tree(eng).by_code(unit)  # unknown unit: NotFoundError (404)
    return scope.where(eng, [f"unit={unit}"] if unit else [])


@router.get("/decide")
def decide_page(
    request: Request,
    scope: CallerScope,
    unit: Annotated[str | None, Query(max_length=100)] = None,
    metric: Annotated[str | None, Query(max_length=20)] = None,
) -> Any:
    """``metric``: the score to decide on, defaulting as `cxchange opportunities` does (NPS when the
    scope has NPS answers, else the metric it has most answers of)."""
    scope.require("read")
    eng = engine()
    unit = (unit or "").strip() or None
    where = _where(eng, scope, unit)
    data = decide_data(eng, where, check_metric(metric) if metric else None)
    chosen = data["metric"]
    opps = (data["opportunities"] or {}).get("opportunities", [])
    rows = []
    for rank, o in enumerate(opps, start=1):
        rows.append(
            {
                **{k: v for k, v in o.items() if k != "theme_id"},
                "gain": o.get("nps_gain", o.get("gain")),  # NPS rows keep their `nps_gain`
                "rank": rank,
                "small": o["customers"] < MIN_N,
                "initiative_url": "/initiatives/new?"
                + urlencode({"theme": o["theme"], "name": f"Fix {o['theme'].lower()}"}),
            }
        )
    drivers = data["drivers"]
    # simulator sliders in opportunity order: the themes most worth fixing first
    themes = [o["theme"] for o in opps] or [d["driver"] for d in (drivers or {}).get("drivers", [])]
    context = {
        "metric": chosen,
        "metric_asked": bool(metric),
        "label": LABELS[chosen],
        "an_answer": AN_ANSWER[chosen],  # "an NPS", "a rating": … answer
        "fmt": "%.1f" if chosen in ("nps", "csat") else "%.2f",  # means of 1–5 or 1–7 want 2 decimals
        # a theme's gain on a mean moves by thousandths: at 2 decimals the ranked rows read +0.00 alike
        "gain_fmt": "%.1f" if chosen in ("nps", "csat") else "%.3f",
        "unit": unit,
        "units": _unit_choices(eng, scope),
        "scoped": scope.scoped,
        "drivers": drivers,
        "drivers_error": data["drivers_error"],
        "notes": data["notes"],
        "baseline": data["baseline"],
        "opportunities": data["opportunities"],
        "opportunities_error": data["opportunities_error"],
        "rows": rows,
        "themes": themes,
        "min_n": MIN_N,
        "boot": BOOT,
        "draws": SIMULATOR_DRAWS,
        "can_start": scope.can("initiatives"),
        "chart_data": {
            # each driver with its quadrant as `drivers --quadrant` and the report name it
            "drivers": [
                {**d, "quadrant": q["quadrant"]}
                for d, q in zip(
                    (drivers or {}).get("drivers", []), quadrant(drivers) if drivers else [], strict=True
                )
            ],
            "label": LABELS[chosen],
            "n": (drivers or {}).get("n"),
            "r2": (drivers or {}).get("r2"),
            "lines": quadrant_lines(drivers) if drivers else None,
        },
        "sim_config": {
            "where": list(where) if unit else [],
            "draws": SIMULATOR_DRAWS,
            "baseline": data["baseline"],
            "metric": chosen,
            "label": LABELS[chosen],
        },
    }
    return render(request, "decide.html", context)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "theme"


@router.get("/decide/business-case")
def business_case(
    scope: CallerScope,
    theme: Annotated[str, Query(min_length=1, max_length=200)],
    format: Annotated[str, Query(alias="format")] = "html",
    unit: Annotated[str | None, Query(max_length=100)] = None,
    share: Annotated[float, Query(ge=0, le=1)] = OPPORTUNITY_SHARE,
    cost: Annotated[float | None, Query(ge=0)] = None,
    value_per_point: Annotated[float | None, Query(ge=0)] = None,
    metric: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The `cxchange business-case` document for one theme, in the user's scope, as a download."""
    scope.require("read")
    fmt = format.lower().strip()
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    eng = engine()
    where = _where(eng, scope, (unit or "").strip() or None)
    case = build_case(
        eng, theme, share=share, cost=cost, value_per_point=value_per_point, scope=Scope(where=where),
        metric=metric,
    )  # fmt: skip
    if fmt == "pdf":
        try:
            from weasyprint import HTML
        except (ImportError, OSError) as exc:
            raise CxError(f"PDF needs WeasyPrint (pip install 'cxchange[reports]'): {exc}") from None
        body: bytes = HTML(string=render_case(case, ".html")).write_pdf() or b""
    else:
        body = render_case(case, FORMATS[fmt]).encode("utf-8")
    filename = f"business-case-{_slug(case['theme'])}{FORMATS[fmt]}"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        # The HTML document is self-contained (inline CSS and SVG): it may run nothing and load nothing.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    }
    return Response(body, media_type=MEDIA[fmt], headers=headers)
