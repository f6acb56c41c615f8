"""Outcome and scorecard endpoints: the JSON of `cxchange outcomes` and `cxchange scorecard`.
Mounted under /api."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder

from cxchange.auth.scope import UserScope
from cxchange.auth.web import current_scope
from cxchange.core.deps import engine

router = APIRouter(tags=["sustain"])


@router.get("/outcomes/{id}")
def outcomes_get(
    id: str,
    metric: str = "nps",
    before: str = "90d",
    after: str = "90d",
    level: float = Query(0.95, gt=0, lt=1),
) -> dict[str, Any]:
    from cxchange.sustain.outcomes import outcomes

    return jsonable_encoder(outcomes(engine(), id, metric=metric, before=before, after=after, level=level))


@router.get(
    "/scorecards",
    responses={404: {"description": "No answers of the metric in the period: `detail` names it."}},
)
def scorecards_get(
    scope: Annotated[UserScope, Depends(current_scope)],
    period: str = "quarter",
    by: str = "org:store",
    metric: str = "nps",
    target: float | None = None,
    as_of: date | None = None,
    level: float = Query(0.95, gt=0, lt=1),
    min_n: int = Query(30, ge=1),
) -> list[dict[str, Any]]:
    from cxchange.sustain.scorecard import scorecard

    rows = scorecard(
        engine(), period=period, by=by, metric=metric, target=target, as_of=as_of, level=level, min_n=min_n
    )
    # A scoped user gets the rows of their own units (and those beneath) only.
    return jsonable_encoder(scope.filter_rows(rows, engine(), key="unit"))
