"""Measure endpoints: the same parameters and JSON as `cxchange scores` / `cxchange compare`.

No answers in scope (e.g. `metric=csat` on data without CSAT, or filters that match nothing) is
HTTP 404 with `{"detail": "no csat answers in scope (…filters…)"}`, as the CLI's one line and exit 1:
an empty list would read as "zero customers said anything" on a dashboard. A 400 stays for a bad
query (unknown metric, grouping or filter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope
from cxchange.core.api_models import Detail
from cxchange.core.deps import engine
from cxchange.measure.api_models import CompareRow, ScoreRow
from cxchange.measure.compare import compare
from cxchange.measure.service import ScoreQuery, scores_in_scope

router = APIRouter(tags=["measure"])
NO_DATA: dict[int | str, dict[str, Any]] = {
    404: {"model": Detail, "description": "No answers in scope: `detail` names the metric and the filters."}
}


@dataclass
class ScoresParams:
    """What /scores and /compare both read from the query string (the options `cxchange scores` and
    `cxchange compare` share)."""

    metric: str | None = None  # the scope's default: nps when it has NPS answers, else the most answered
    by: Annotated[list[str] | None, Query()] = None
    where: Annotated[list[str] | None, Query()] = None
    since: date | None = None
    until: date | None = None
    level: Annotated[float, Query(gt=0, lt=1)] = 0.95  # a 422, not the estimator's ValueError
    min_n: Annotated[int, Query(ge=0)] = 30  # a negative threshold is a typo, not "none small"

    def query(self, scope: UserScope, ci: str | None = None) -> ScoreQuery:
        """The service's query, its filters limited to the caller's units."""
        where = list(scope.where(engine(), self.where))
        return ScoreQuery.of(
            self.metric or "", self.by, where, self.since, self.until, ci, self.level, self.min_n
        )


@router.get("/scores", responses=NO_DATA, response_model=list[ScoreRow], response_model_exclude_unset=True)
def get_scores(
    scope: CallerScope, params: Annotated[ScoresParams, Depends()], ci: str | None = None
) -> list[dict[str, Any]]:
    """Scores per group with intervals; 404 with the reason when no answers are in scope. Ratings from
    sources on different scales (1-5, 1-10) are never averaged together: one row per scale more, its
    group keyed `scale` ("1-5", "1-10"); compare refuses such a scope (400) unless narrowed."""
    return scores_in_scope(engine(), params.query(scope, ci), flag="metric={}")


@router.get("/compare", responses=NO_DATA, response_model=list[CompareRow])
def get_compare(
    scope: CallerScope, params: Annotated[ScoresParams, Depends()], vs: str = "rest"
) -> list[dict[str, Any]]:
    return compare(engine(), params.query(scope), vs=vs)
