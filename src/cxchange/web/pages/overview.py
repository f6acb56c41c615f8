"""Overview: score trends with their interval, scores down the org tree, themes by impact, emerging
issues, cases and initiatives — all for the unit in view (`/?unit=CODE`), limited to the user's units.

The page's score is the scope's own (`measure.scale.default_metric`: NPS when it has NPS answers, else the
metric it has most answers of), as on the Themes and Decide pages: a store of star ratings sees its
ratings, not an empty NPS card."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope
from cxchange.change.service import list_all, visible_initiatives
from cxchange.core.config import get_settings
from cxchange.core.deps import engine
from cxchange.core.errors import CxError
from cxchange.measure.mixed import SCALE_KEY, MixedScalesError
from cxchange.measure.scale import AN_ANSWER, LABELS, default_metric
from cxchange.measure.service import ScoreQuery, scores
from cxchange.measure.stats import METRICS
from cxchange.org.tree import OrgTree, Unit, load_org_tree
from cxchange.sustain.case_stats import stats as case_stats
from cxchange.understand import explore
from cxchange.understand.service import emerging, scope_answers, theme_stats
from cxchange.web.cache import cached
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)

MONTHS = 24
TOP_THEMES = 6
CARD_NAMES = {"nps": "Net Promoter Score", "csat": "CSAT (% satisfied)", "ces": "CES (mean, 7 = very easy)",
              "rating": "Mean rating"}  # fmt: skip
CHART_NAMES = {"nps": "NPS", "csat": "CSAT %", "ces": "CES", "rating": "Rating"}
TOP_EMERGING = 5
INITIATIVES = 8


def _min_n() -> int:
    return get_settings().min_n


def _start(tree: OrgTree, scope: UserScope, unit: str | None, eng: Engine) -> tuple[Unit | None, list[Unit]]:
    """(unit in view, the units listed beneath it). `unit` is checked against the scope (403)."""
    if unit:
        scope.check_unit(eng, unit)
        current = tree.by_code(unit)
        return current, tree.children(current.id)
    if scope.scoped:
        mine = [tree.by_code(c) for c in scope.unit_codes or ()]
        if len(mine) == 1:
            return mine[0], tree.children(mine[0].id)
        return None, sorted(mine, key=lambda u: u.code)
    roots = tree.children(None)
    if len(roots) == 1:  # one company at the top: start at its regions
        return roots[0], tree.children(roots[0].id)
    return None, roots


def _breadcrumbs(tree: OrgTree, scope: UserScope, current: Unit | None) -> list[dict[str, Any]]:
    trail: list[Unit] = []
    u = current
    while u is not None:
        trail.append(u)
        u = tree.units.get(u.parent_id) if u.parent_id is not None else None
    return [{"code": x.code, "name": x.name, "link": scope.contains_path(x.path)} for x in reversed(trail)]


def _unit_scores(
    eng: Engine, where: tuple[str, ...], current: Unit | None, rows: list[Unit], tree: OrgTree, metric: str
) -> list[dict[str, Any]]:
    """`metric` for each listed unit (its whole subtree). One grouped query when the units share a level."""
    if not rows:
        return []
    min_n = _min_n()
    levels = {u.level for u in rows}
    names = [u.name for u in rows]
    found: dict[str, dict[str, Any]] = {}
    level = next(iter(levels)) if len(levels) == 1 else None
    if level and current is not None and len(set(names)) == len(names):
        key = f"org:{level}"
        for row in scores(eng, ScoreQuery(metric=metric, by=(key,), where=where, min_n=min_n)):
            by_name = {u.name: u for u in rows}
            unit = by_name.get(row["group"][key])
            if unit is not None:
                found[unit.code] = _one_scale(found.get(unit.code), row)
    else:
        for u in rows:
            for row in scores(eng, ScoreQuery(metric=metric, where=(*where, f"unit={u.code}"), min_n=min_n)):
                found[u.code] = _one_scale(found.get(u.code), row)
    out = []
    for u in rows:
        s = found.get(u.code)
        if s is not None and s.get("mixed"):
            s = {**s, "score": None, "ci_low": None, "ci_high": None}  # never a mean over two scales
        out.append(
            {
                "code": u.code,
                "name": u.name,
                "level": u.level,
                "has_children": bool(tree.children(u.id)),
                "n": s["n"] if s else 0,
                "score": s["score"] if s else None,
                "ci_low": s["ci_low"] if s else None,
                "ci_high": s["ci_high"] if s else None,
                "small": s["small"] if s else True,
                "scale": s["group"].get(SCALE_KEY) if s else None,  # ratings of a scope on several scales
                "scales": s.get("mixed") if s else None,
            }
        )
    return out


def _one_scale(before: dict[str, Any] | None, row: dict[str, Any]) -> dict[str, Any]:
    """A unit's row; a second row of another rating scale (`measure.mixed`) makes it mixed: no score."""
    if before is None:
        return row
    scales = before.get("mixed") or [before["group"].get(SCALE_KEY)]
    return {**before, "n": before["n"] + row["n"], "mixed": [*scales, row["group"].get(SCALE_KEY)]}


def _cards(metric: str, rows: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(key, title, row) of a metric's score cards: one, or one per rating scale when the scope's ratings
    are on several (`scores` gives a row per scale then): never their mean."""
    if not rows or SCALE_KEY not in rows[0]["group"]:
        return [(metric, CARD_NAMES[metric], rows[0] if rows else None)]
    return [
        (f"{metric}-{r['group'][SCALE_KEY]}", f"{CARD_NAMES[metric]} ({r['group'][SCALE_KEY]})", r)
        for r in rows
    ]


def _trend(eng: Engine, where: tuple[str, ...], metrics: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in metrics:
        rows = scores(eng, ScoreQuery(metric=metric, by=("month",), where=where, min_n=_min_n()))
        # A series per rating scale when the scope's ratings are on several (`measure.mixed`).
        labels = sorted({r["group"].get(SCALE_KEY) or "" for r in rows}, key=lambda x: (len(x), x))
        for label in labels:
            mine = [r for r in rows if r["group"].get("month") and (r["group"].get(SCALE_KEY) or "") == label]
            if mine:
                out[f"{metric}-{label}" if label else metric] = mine[-MONTHS:]
    return out


def _initiatives(eng: Engine, scope: UserScope, unit: str | None) -> list[dict[str, Any]]:
    """Initiatives concerning the user's units and the unit in view (scope, pilot or control units,
    above or beneath them)."""
    details = {d["id"]: d for d in visible_initiatives(eng, scope, unit=unit)}
    rows = [r for r in list_all(eng) if r["id"] in details]
    active = sorted(rows, key=lambda r: (r["status"] != "active", -r["id"]))[:INITIATIVES]
    out = []
    for r in active:
        step = next((st for st in details[r["id"]]["steps"] if st["status"] != "done"), None)
        out.append({**r, "current_step": step["title"] if step else "all steps done"})
    return out


def _safe(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A panel whose data is missing (no analysis yet, no org level…) shows empty, not an error page."""
    try:
        return fn(*args, **kwargs)
    except CxError:
        return None


@router.get("/")
def overview(
    request: Request,
    scope: CallerScope,
    unit: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    eng = engine()
    tree = load_org_tree(eng)
    unit = (unit or "").strip() or None
    current, listed = _start(tree, scope, unit, eng)
    # Everything on the page is for the unit in view, inside the user's scope.
    # (An admin's default view is the whole company, feedback without a unit included.)
    narrowed = current is not None and (unit is not None or scope.scoped)
    where = scope.where(eng, (f"unit={current.code}",) if narrowed and current is not None else ())
    min_n = _min_n()
    case_units = [current.code] if narrowed and current is not None else scope.units(eng, None)

    def compute() -> dict[str, Any]:
        in_view = current.code if narrowed and current is not None else None
        return _aggregates(eng, scope, tree, where, current, listed, case_units, min_n, in_view)

    key = (where, current.code if current else None, tuple(u.code for u in listed), tuple(case_units or ()),
           scope.unit_codes)  # fmt: skip
    context = {
        **cached("overview", eng, key, compute),
        "current": current,
        "crumbs": _breadcrumbs(tree, scope, current),
        # The explorer's plan (walks the date index): a unit filter stays fast at a million rows.
        "recent": explore.page(eng, explore.FeedbackFilter(where=where), limit=5, many=True).rows,
        "min_n": min_n,
    }
    return render(request, "overview.html", context)


def _aggregates(
    eng: Engine,
    scope: UserScope,
    tree: OrgTree,
    where: tuple[str, ...],
    current: Unit | None,
    listed: list[Unit],
    case_units: list[str] | None,
    min_n: int,
    in_view: str | None,
) -> dict[str, Any]:
    """The expensive part of the page (every row aggregated): cached per data version. `in_view`: the
    unit the page is narrowed to (None: the whole company)."""
    answers = scope_answers(eng, where=where)
    metric = default_metric(answers)
    # A card per metric the scope has answers of (NPS's, saying "no answers", when it has none at all).
    shown = [m for m in METRICS if answers[m]] or ["nps"]
    overall: dict[str, Any] = {}
    names = dict(CARD_NAMES)
    for m in shown:
        for key, title, row in _cards(m, scores(eng, ScoreQuery(metric=m, where=where, min_n=min_n))):
            overall[key], names[key] = row, title
    # NPS and CSAT as always, and the default metric when it is another (each once: NPS was queried twice)
    trend = _trend(eng, where, [m for m in shown if m in ("nps", "csat", metric)])
    ranked, themes_note = [], None
    try:
        ranked = theme_stats(eng, where=where, n_boot=1000, metric=metric)
    except MixedScalesError as exc:  # an impact over ratings on two scales: said, not an empty panel
        themes_note = str(exc)
    except CxError:  # no analysis yet: the panel says so
        pass
    themes = sorted(
        (t for t in ranked if t["impact"] is not None), key=lambda t: abs(t["impact"]), reverse=True
    )[:TOP_THEMES]
    cases = (_safe(case_stats, eng, unit=case_units) or [{}])[0]
    return {
        "units": _unit_scores(eng, where, current, listed, tree, metric),
        "metric": metric,
        "label": LABELS[metric],
        "answer": AN_ANSWER[metric].split(" ", 1)[1],  # "NPS", "rating": as in "n NPS 12"
        "analysed": any(t["count"] for t in ranked),
        "overall": overall,
        "card_names": names,
        "themes_note": themes_note,
        "trend": trend,
        "chart": {
            m: {
                "name": CHART_NAMES.get(m) or names.get(m, m),
                "x": [r["group"]["month"] for r in rows],
                "y": [r["score"] for r in rows],
                "low": [r["ci_low"] for r in rows],
                "high": [r["ci_high"] for r in rows],
                "n": [r["n"] for r in rows],
            }
            for m, rows in trend.items()
        },
        "themes": themes,
        "emerging": (_safe(emerging, eng, where=where) or [])[:TOP_EMERGING],
        "cases": cases,
        "initiatives": _safe(_initiatives, eng, scope, in_view) or [],
    }
