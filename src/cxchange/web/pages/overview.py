"""Overview: scores with intervals, by month and region, latest feedback and imports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from cxchange.auth.scope import UserScope
from cxchange.auth.web import current_scope
from cxchange.core.deps import engine
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def overview(request: Request, scope: Annotated[UserScope, Depends(current_scope)]) -> Any:
    from cxchange.listen.browse import list_batches, list_feedback
    from cxchange.measure.service import ScoreQuery, scores

    eng = engine()
    where = scope.where(eng, ())
    overall = scores(eng, ScoreQuery(metric="nps", where=where))
    by_month = scores(eng, ScoreQuery(metric="nps", by=("month",), where=where))[-12:]
    regions = _safe_scores(eng, ScoreQuery(metric="nps", by=("org:region",), where=where))
    context = {
        "overall": overall[0] if overall else None,
        "by_month": by_month,
        "regions": regions,
        "batches": list_batches(eng, limit=5) if scope.can("import") else [],
        "recent": list_feedback(eng, limit=10, where=where),
    }
    return render(request, "overview.html", context)


def _safe_scores(eng: Any, query: Any) -> list[dict[str, Any]]:
    """Org levels are the user's own: a company without a 'region' level simply has no such table."""
    from cxchange.core.errors import CxError
    from cxchange.measure.service import scores

    try:
        return scores(eng, query)
    except CxError:
        return []
