"""Measure endpoints: the same parameters and JSON as `cxchange scores` / `cxchange compare`.

No answers in scope (e.g. `metric=csat` on data without CSAT, or filters that match nothing) is
HTTP 404 with `{"detail": "no csat answers in scope (…filters…)"}`, as the CLI's one line and exit 1:
an empty list would read as "zero customers said anything" on a dashboard. A 400 stays for a bad
query (unknown metric, grouping or filter)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from cxchange.auth.web import CallerScope
from cxchange.core.api_models import Detail
from cxchange.core.deps import engine
from cxchange.measure.api_models import CompareRow, ScoreRow
from cxchange.measure.service import ScoreQuery, compare, scores_in_scope

router = APIRouter(tags=["measure"])
NO_DATA: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "No answers in scope: `detail` names the metric and the filters."}
}


@router.get("/scores", responses=NO_DATA, response_model=list[ScoreRow], response_model_exclude_unset=True)
def get_scores(
    scope: CallerScope,
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
    where = list(scope.where(engine(), where))
    return scores_in_scope(engine(), ScoreQuery.of(metric, by, where, since, until, ci, level, min_n))


@router.get("/compare", responses=NO_DATA, response_model=list[CompareRow])
def get_compare(
    scope: CallerScope,
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
    return compare(engine(), ScoreQuery.of(metric, by, where, since, until, None, level, min_n), vs=vs)
