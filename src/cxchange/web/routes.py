"""Server-rendered pages. The first page is an overview; the full app grows here (issue: web app)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from cxchange.core.deps import engine


def _templates() -> Jinja2Templates:
    # Jinja2Templates autoescapes .html templates: feedback text is rendered escaped.
    return Jinja2Templates(directory=str(resources.files("cxchange.web") / "templates"))


def mount_web(app: FastAPI) -> None:
    templates = _templates()
    app.mount(
        "/static", StaticFiles(directory=str(resources.files("cxchange.web") / "static")), name="static"
    )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request) -> Any:
        from cxchange.listen.browse import list_batches, list_feedback
        from cxchange.measure.service import ScoreQuery, scores

        eng = engine()
        overall = scores(eng, ScoreQuery(metric="nps"))
        by_month = scores(eng, ScoreQuery(metric="nps", by=("month",)))[-12:]
        regions = _safe_scores(eng, ScoreQuery(metric="nps", by=("org:region",)))
        context = {
            "overall": overall[0] if overall else None,
            "by_month": by_month,
            "regions": regions,
            "batches": list_batches(eng, limit=5),
            "recent": list_feedback(eng, limit=10),
        }
        return templates.TemplateResponse(request, "overview.html", context)


def _safe_scores(eng: Any, query: Any) -> list[dict[str, Any]]:
    """Org levels are the user's own: a company without a 'region' level simply has no such table."""
    from cxchange.core.errors import CxError
    from cxchange.measure.service import scores

    try:
        return scores(eng, query)
    except CxError:
        return []
