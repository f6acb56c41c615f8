"""Measure endpoints: the same parameters and JSON as `cxchange scores` / `cxchange compare`.

No answers in scope (e.g. `metric=csat` on data without CSAT, or filters that match nothing) is
HTTP 404 with `{"detail": "no csat answers in scope (…filters…)"}`, as the CLI's one line and exit 1:
an empty list would read as "zero customers said anything" on a dashboard. A 400 stays for a bad
query (unknown metric, grouping or filter)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from cxchange.auth.scope import UserScope
from cxchange.auth.web import current_scope
from cxchange.core.api_models import Detail
from cxchange.core.deps import engine
from cxchange.measure.api_models import CompareRow, ScoreRow
from cxchange.measure.service import ScoreQuery, compare, scores_in_scope

router = APIRouter(tags=["measure"])
NO_DATA: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "No answers in scope: `detail` names the metric and the filters."}
}


def _query(
    metric: str,
    by: list[str] | None,
    where: list[str] | None,
    since: date | None,
    until: date | None,
    ci: str | None,
    level: float,
    min_n: int,
) -> ScoreQuery:
    return ScoreQuery(
        metric=metric,
        by=tuple(by or ()),
        where=tuple(where or ()),
        since=since,
        until=until,
        ci=ci,
        level=level,
        min_n=min_n,
    )


@router.get("/scores", responses=NO_DATA, response_model=list[ScoreRow], response_model_exclude_unset=True)
def get_scores(
    scope: Annotated[UserScope, Depends(current_scope)],
    metric: str = "nps",
    by: Annotated[list[str] | None, Query()] = None,
    where: Annotated[list[str] | None, Query()] = None,
    since: date | None = None,
    until: date | None = None,
    ci: str | None = None,
    level: Annotated[float, Query(gt=0, lt=1)] = 0.95,  # a 422, not the estimator's ValueError
    min_n: int = 30,
) -> list[dict[str, Any]]:
    """Scores per group with intervals; 404 with the reason when no answers are in scope."""
    return scores_in_scope(
        engine(), _query(metric, by, list(scope.where(engine(), where)), since, until, ci, level, min_n)
    )


@router.get("/compare", responses=NO_DATA, response_model=list[CompareRow])
def get_compare(
    scope: Annotated[UserScope, Depends(current_scope)],
    metric: str = "nps",
    by: Annotated[list[str] | None, Query()] = None,
    vs: str = "rest",
    where: Annotated[list[str] | None, Query()] = None,
    since: date | None = None,
    until: date | None = None,
    level: Annotated[float, Query(gt=0, lt=1)] = 0.95,  # a 422, not the estimator's ValueError
    min_n: int = 30,
) -> list[dict[str, Any]]:
    where = list(scope.where(engine(), where))
    return compare(engine(), _query(metric, by, where, since, until, None, level, min_n), vs=vs)
