"""Measure endpoints: the same parameters and JSON as `cxchange scores` / `cxchange compare`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from cxchange.auth.scope import UserScope
from cxchange.auth.web import current_scope
from cxchange.core.deps import engine
from cxchange.measure.service import ScoreQuery, compare, scores

router = APIRouter(tags=["measure"])


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


@router.get("/scores")
def get_scores(
    scope: Annotated[UserScope, Depends(current_scope)],
    metric: str = "nps",
    by: Annotated[list[str] | None, Query()] = None,
    where: Annotated[list[str] | None, Query()] = None,
    since: date | None = None,
    until: date | None = None,
    ci: str | None = None,
    level: float = 0.95,
    min_n: int = 30,
) -> list[dict[str, Any]]:
    return scores(
        engine(), _query(metric, by, list(scope.where(engine(), where)), since, until, ci, level, min_n)
    )


@router.get("/compare")
def get_compare(
    scope: Annotated[UserScope, Depends(current_scope)],
    metric: str = "nps",
    by: Annotated[list[str] | None, Query()] = None,
    vs: str = "rest",
    where: Annotated[list[str] | None, Query()] = None,
    since: date | None = None,
    until: date | None = None,
    level: float = 0.95,
    min_n: int = 30,
) -> list[dict[str, Any]]:
    where = list(scope.where(engine(), where))
    return compare(engine(), _query(metric, by, where, since, until, None, level, min_n), vs=vs)
