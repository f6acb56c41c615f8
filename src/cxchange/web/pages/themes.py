"""Themes: the taxonomy tree with mentions, share, sentiment and impact on a score (with interval), a
theme's detail with example comments, and the taxonomy edits (rename, merge, add keywords, re-analyse).
The score is the `metric` query parameter, defaulting as `cxchange themes` does (NPS when the scope
has NPS answers, else the metric it has most answers of).

Numbers come from `understand.service.theme_stats`, filtered through the user's scope (a manager sees
the mentions in their units only); edits call the taxonomy service and need the taxonomy permission.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope, verify_csrf
from cxchange.core.config import get_settings
from cxchange.core.deps import engine
from cxchange.core.errors import InputError, NotFoundError
from cxchange.measure.scale import AN_ANSWER, LABELS, check_metric, default_metric
from cxchange.understand.analyze import analyze
from cxchange.understand.proposals import backlog
from cxchange.understand.service import analysed_count, scope_answers, theme_examples, theme_stats
from cxchange.understand.themes.taxonomy import add_terms, merge_themes, rename_theme, theme_rows
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)

# Re-analysis from the page runs in the request when the database is small enough (the 20k demo
# takes a few seconds); beyond this many comments the page says to run `cxchange analyze` instead.
MAX_INLINE_ANALYSIS = 200_000
EXAMPLES_PER_SIDE = 3
_analysis_lock = threading.Lock()

DONE = {
    "renamed": "Theme renamed.",
    "merged": "Themes merged: the mentions moved to this theme.",
    "keywords": "Keywords added. Comments are matched to them on the next re-analysis.",
    "analysed": "Re-analysis done: stale themes are matched again.",
}


def _min_n() -> int:
    return get_settings().min_n


# The words a page uses for each metric's score and its points (the chart's axis).
UNITS = {
    "nps": "NPS points",
    "csat": "CSAT points (% satisfied)",
    "ces": "CES points",
    "rating": "rating points",
}


def _impact_on(eng: Engine, scope: UserScope, metric: str | None) -> dict[str, Any]:
    """The metric the page shows (asked for, else the scope's default), its words and the choices."""
    answers = scope_answers(eng, where=scope.where(eng, ()))
    chosen = check_metric(metric) if metric else default_metric(answers)
    return {
        "metric": chosen,
        "label": LABELS[chosen],
        "answer": AN_ANSWER[chosen].split(" ", 1)[1],  # "NPS", "rating": as in "n = 12 NPS answers"
        "choices": [(m, n) for m, n in answers.items() if n],
        "query": f"?metric={chosen}" if metric else "",  # links keep a metric the user picked
    }


def _stats(eng: Engine, scope: UserScope, metric: str) -> list[dict[str, Any]]:
    return theme_stats(eng, where=scope.where(eng, ()), n_boot=2000, metric=metric)


def _tree(stats: list[dict[str, Any]], rows: list[dict[str, Any]], min_n: int) -> list[dict[str, Any]]:
    """Stats in tree order (parents by mentions, each followed by its children), with depth and flags."""
    meta = {r["id"]: r for r in rows}
    by_parent: dict[int | None, list[dict[str, Any]]] = {}
    for s in stats:
        m = meta.get(s["id"])
        if m is None:
            continue
        row = {
            **s,
            "path": m["path"],
            "parent_id": m["parent_id"],
            "up_to_date": m["up_to_date"],
            "small": (s["score_n"] or 0) < min_n,
        }
        parent = m["parent_id"] if m["parent_id"] in meta else None
        by_parent.setdefault(parent, []).append(row)
    out: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int, seen: set[int]) -> None:
        for r in sorted(by_parent.get(parent, []), key=lambda r: (-r["count"], r["name"].lower())):
            if r["id"] in seen:
                continue
            out.append({**r, "depth": depth, "has_children": bool(by_parent.get(r["id"]))})
            walk(r["id"], depth + 1, seen | {r["id"]})

    walk(None, 0, set())
    return out


def _analysed_count(eng: Engine) -> int:
    return analysed_count(eng)


@dataclass
class TaxonomyView:
    """What both Themes pages read first: the reader's scope, the taxonomy, min_n, the metric shown
    (`_impact_on`), the themes as a tree with their numbers, and the message of a finished action."""

    scope: UserScope
    eng: Engine
    rows: list[dict[str, Any]]
    min_n: int
    on: dict[str, Any]
    tree: list[dict[str, Any]]
    done: str | None


def _taxonomy_view(
    scope: CallerScope, done: str | None = None, metric: Annotated[str | None, Query(max_length=20)] = None
) -> TaxonomyView:
    scope.require("read")
    eng = engine()
    rows, min_n = theme_rows(eng), _min_n()
    on = _impact_on(eng, scope, metric)
    tree = _tree(_stats(eng, scope, on["metric"]), rows, min_n)
    return TaxonomyView(scope, eng, rows, min_n, on, tree, DONE.get(done or ""))


View = Annotated[TaxonomyView, Depends(_taxonomy_view)]


@router.get("/themes")
def themes_page(request: Request, view: View) -> Any:
    scope, eng, rows, min_n, on, tree = view.scope, view.eng, view.rows, view.min_n, view.on, view.tree
    chart = [
        {"name": r["path"], "impact": r["impact"], "low": r["ci_low"], "high": r["ci_high"],
         "n": r["score_n"], "small": r["small"], "unit": UNITS[on["metric"]]}
        for r in tree
        if r["impact"] is not None
    ]  # fmt: skip
    context = {
        "on": on,
        "tree": tree,
        "chart": chart,
        "min_n": min_n,
        "stale": [r for r in rows if not r["up_to_date"]],
        "can_edit": scope.can("taxonomy"),
        "inline_ok": _analysed_count(eng) <= MAX_INLINE_ANALYSIS,
        "done": view.done,
        "not_analysed": _not_analysed(eng),
    }
    return render(request, "themes.html", context)


def _not_analysed(eng: Engine) -> int:
    return int(backlog(eng)["not_analysed"])


def _examples(eng: Engine, theme_id: int, where: tuple[str, ...], positive: bool) -> list[dict[str, Any]]:
    return theme_examples(eng, theme_id, where, positive=positive, limit=EXAMPLES_PER_SIDE)


@router.get("/themes/{theme_id}")
def theme_page(request: Request, theme_id: int, view: View) -> Any:
    scope, eng, rows, min_n, on, tree = view.scope, view.eng, view.rows, view.min_n, view.on, view.tree
    theme = next((r for r in rows if r["id"] == theme_id), None)
    if theme is None:
        raise NotFoundError(f"no theme with id {theme_id} (it may have been merged or deleted)")
    where = scope.where(eng, ())
    stats = next((r for r in tree if r["id"] == theme_id), None)
    context = {
        "on": on,
        "theme": theme,
        "stats": stats,
        "min_n": min_n,
        "children": [r for r in tree if r["parent_id"] == theme_id],
        "parent": next((r for r in rows if r["id"] == theme["parent_id"]), None),
        "negative": _examples(eng, theme_id, where, positive=False),
        "positive": _examples(eng, theme_id, where, positive=True),
        "targets": sorted((r for r in rows if r["id"] != theme_id), key=lambda r: r["path"].lower()),
        "can_edit": scope.can("taxonomy"),
        "stale": [r for r in rows if not r["up_to_date"]],
        "inline_ok": _analysed_count(eng) <= MAX_INLINE_ANALYSIS,
        "done": view.done,
    }
    return render(request, "themes_detail.html", context)


@router.post("/themes/{theme_id}/rename", dependencies=[Depends(verify_csrf)])
def rename(theme_id: int, scope: CallerScope, name: Annotated[str, Form()]) -> Any:
    scope.require("taxonomy")
    rename_theme(engine(), str(theme_id), name)
    return RedirectResponse(f"/themes/{theme_id}?done=renamed", status_code=303)


@router.post("/themes/{theme_id}/merge", dependencies=[Depends(verify_csrf)])
def merge(theme_id: int, scope: CallerScope, into: Annotated[int, Form()]) -> Any:
    scope.require("taxonomy")
    result = merge_themes(engine(), [str(theme_id)], str(into))
    return RedirectResponse(f"/themes/{result['id']}?done=merged", status_code=303)


@router.post("/themes/{theme_id}/keywords", dependencies=[Depends(verify_csrf)])
def keywords(theme_id: int, scope: CallerScope, keywords: Annotated[str, Form()]) -> Any:
    scope.require("taxonomy")
    terms = [t.strip() for t in keywords.replace("\n", ",").split(",") if t.strip()]
    if not terms:
        raise InputError("give one or more keywords, separated by commas")
    if any(len(t) > 200 for t in terms):
        raise InputError("a keyword is longer than 200 characters")
    add_terms(engine(), str(theme_id), keywords=terms)
    return RedirectResponse(f"/themes/{theme_id}?done=keywords", status_code=303)


@router.post("/themes/analyze", dependencies=[Depends(verify_csrf)])
async def reanalyse(scope: CallerScope, back: Annotated[str, Form()] = "") -> Any:
    """Run the incremental analysis (`cxchange analyze`): stale themes re-matched, new comments analysed."""
    scope.require("taxonomy")
    eng = engine()
    if await run_in_threadpool(_analysed_count, eng) > MAX_INLINE_ANALYSIS:
        raise InputError("this database is too large to re-analyse from the page: run `cxchange analyze`")
    if not _analysis_lock.acquire(blocking=False):
        raise InputError("a re-analysis is already running: wait a moment and reload")
    try:
        await run_in_threadpool(analyze, eng)
    finally:
        _analysis_lock.release()
    target = f"/themes/{int(back)}" if (back.isascii() and back.isdigit()) else "/themes"
    return RedirectResponse(f"{target}?done=analysed", status_code=303)
