"""Discovery on the Themes page: propose themes for a source, accept / rename / merge them, analyse.

Three steps, each a thin call into `understand.proposals`: the proposal (discovery runs in a worker
thread; one at a time per process), the person's choices (saved with discovery's own matchers), and
the analysis of comments not analysed yet, started in the background with its progress read from
the database (`/themes/analysis/progress`, polled by themes_discover.js).
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from cxchange.auth.web import CallerScope, verify_csrf
from cxchange.core.deps import engine
from cxchange.core.errors import InputError
from cxchange.understand.analyze import analyze
from cxchange.understand.discovery import NOT_JSON
from cxchange.understand.explore import source_names
from cxchange.understand.proposals import Choice, accept, backlog, propose
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

MAX_FORM_PROPOSALS = 200  # far above discovery's own cap: bounds the work a forged form can ask for
_discovering = threading.Lock()
_analysing = threading.Lock()

DONE = {
    "saved": "Themes added to the taxonomy. Analyse the comments to assign them.",
    "started": "Analysis started: the bar below follows it.",
}


def _int(value: Any, name: str, default: int | None = None) -> int:
    text = str(value if value is not None else "").strip()
    if not text and default is not None:
        return default
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise InputError(f"{name} wants a whole number, got {text[:20]!r}")
    return int(text)


def _source(value: str | None) -> str | None:
    return (value or "").strip() or None


@router.get("/themes/discover")
def discover_page(request: Request, scope: CallerScope, done: str | None = None) -> Any:
    scope.require("taxonomy")
    eng = engine()
    context = {
        "sources": source_names(eng),
        "backlog": backlog(eng),
        "done": DONE.get(done or ""),
        "started": done == "started",  # the run may not have begun yet: follow it anyway
        "proposal": None,
    }
    return render(request, "themes_discover.html", context)


@router.post("/themes/discover", dependencies=[Depends(verify_csrf)])
async def propose_themes(
    request: Request,
    scope: CallerScope,
    source: Annotated[str, Form()] = "",
    max_themes: Annotated[str, Form()] = "10",
) -> Any:
    scope.require("taxonomy")
    eng = engine()
    n = _int(max_themes, "max themes", 10)
    if not _discovering.acquire(blocking=False):
        raise InputError("a discovery is already running: wait a moment and try again")
    try:
        result = await run_in_threadpool(propose, eng, source=_source(source), max_themes=n)
    finally:
        _discovering.release()
    context = {
        "sources": source_names(eng),
        "backlog": backlog(eng),
        "done": None,
        "proposal": {k: v for k, v in result.items() if k not in NOT_JSON},
    }
    return render(request, "themes_discover.html", context)


def _choices(form: Any, count: int) -> list[Any]:
    if not 0 < count <= MAX_FORM_PROPOSALS:
        raise InputError("the form holds no proposals: propose themes again")
    out = []
    for i in range(count):
        merge = str(form.get(f"merge_{i}") or "").strip()
        out.append(
            Choice(
                index=i,
                keep=form.get(f"keep_{i}") == "on",
                name=str(form.get(f"name_{i}") or "").strip()[:120] or None,
                merge_into=_int(merge, "merge into") if merge else None,
            )
        )
    return out


@router.post("/themes/discover/accept", dependencies=[Depends(verify_csrf)])
async def accept_themes(request: Request, scope: CallerScope) -> Any:
    scope.require("taxonomy")
    form = await request.form()
    count = _int(form.get("count"), "count")
    source = _source(str(form.get("source") or ""))
    max_themes = _int(form.get("max_themes"), "max themes", 10)
    seed = _int(form.get("seed"), "seed", 0)
    embedder = str(form.get("embedder") or "adaptive")
    expected = str(form.get("fingerprint") or "")
    choices = _choices(form, count)
    if not _discovering.acquire(blocking=False):
        raise InputError("a discovery is already running: wait a moment and try again")
    try:
        await run_in_threadpool(
            lambda: accept(
                engine(), source=source, max_themes=max_themes, seed=seed, embedder=embedder,
                expected_fingerprint=expected, choices=choices,
            )
        )  # fmt: skip
    finally:
        _discovering.release()
    return RedirectResponse("/themes/discover?done=saved", status_code=303)


def _run_analysis() -> None:
    try:
        analyze(engine())
    except Exception:  # a background thread has nobody to answer: the log and the progress say it
        log.exception("analysis started from the Themes page failed")
    finally:
        _analysing.release()


@router.post("/themes/analysis", dependencies=[Depends(verify_csrf)])
def start_analysis(scope: CallerScope) -> Any:
    """Analyse every comment not analysed yet (and re-match edited themes) in the background."""
    scope.require("taxonomy")
    if backlog(engine())["running"] or not _analysing.acquire(blocking=False):
        return RedirectResponse("/themes/discover#analysis", status_code=303)
    threading.Thread(target=_run_analysis, name="cx-analyse", daemon=True).start()
    return RedirectResponse("/themes/discover?done=started#analysis", status_code=303)


@router.get("/themes/analysis/progress")
def analysis_progress(scope: CallerScope) -> dict[str, Any]:
    scope.require("read")
    return backlog(engine())
