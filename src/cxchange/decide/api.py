"""Decide endpoints: the same JSON as `cxchange drivers`, `simulate` and `opportunities`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, StringConstraints

from cxchange.auth.scope import MAX_WHERE
from cxchange.auth.web import CallerScope, rate_limited
from cxchange.core.deps import engine
from cxchange.core.period import Period
from cxchange.decide.api_models import DriverTable, Opportunity, SimulationOut
from cxchange.decide.key_drivers import stored_drivers
from cxchange.decide.service import MAX_FIXES, Scope, parse_weights
from cxchange.decide.service import opportunities as rank
from cxchange.decide.service import simulate as run
from cxchange.measure.scale import METRIC_HELP

router = APIRouter(tags=["decide"])
# One list item: a theme name with its share, a lever, a filter; long enough for any real one.
Item = Annotated[str, StringConstraints(max_length=300)]


@router.get("/drivers", dependencies=[Depends(rate_limited("drivers"))], response_model=DriverTable)
def drivers(
    scope: CallerScope,
    target: Annotated[
        str | None,
        Query(
            description="nps, csat, ces, rating or attr:NAME; default: the scope's own score "
            "(NPS when it has NPS answers, else its most-answered metric)"
        ),
    ] = None,
    source: Annotated[str, Query(alias="from")] = "themes",
    method: str = "shapley",
    where: Annotated[list[Item] | None, Query(max_length=MAX_WHERE)] = None,
    since: date | None = None,
    until: date | None = None,
    boot: Annotated[int, Query(ge=0, le=2000)] = 200,
    seed: int = 0,
) -> dict[str, Any]:
    return stored_drivers(
        engine(), target=target, source=source, where=tuple(scope.where(engine(), where)),
        since=since, until=until, method=method, boot=boot, seed=seed,
    )  # fmt: skip


class SimulateRequest(BaseModel):
    fix: list[Item] = Field(
        default_factory=list, max_length=MAX_FIXES,
        description=f"THEME or THEME=SHARE, at most {MAX_FIXES}; a theme named twice is fixed once",
    )  # fmt: skip
    move: list[Item] = Field(
        default_factory=list, max_length=10, description="e.g. detractors-to-passives=0.1"
    )
    where: list[Item] = Field(default_factory=list, max_length=MAX_WHERE)
    since: date | None = None
    until: date | None = None
    draws: int = Field(default=1000, ge=10, le=20_000)
    seed: int = 0
    metric: str | None = Field(default=None, description=METRIC_HELP)


@router.post("/simulate", dependencies=[Depends(rate_limited("simulate"))], response_model=SimulationOut)
def simulate(body: SimulateRequest, scope: CallerScope) -> dict[str, Any]:
    data_scope = Scope(where=scope.where(engine(), body.where), period=Period(body.since, body.until))
    return run(
        engine(), body.fix, moves=body.move, scope=data_scope, draws=body.draws, seed=body.seed,
        metric=body.metric,
    )  # fmt: skip


@router.get("/opportunities", response_model=list[Opportunity], response_model_exclude_unset=True)
def opportunities(
    scope: CallerScope,
    share: Annotated[float, Query(ge=0, le=1)] = 0.5,
    churn_rate: Annotated[float, Query(ge=0, le=1)] = 0.10,
    weights: Annotated[list[Item] | None, Query(max_length=100)] = None,
    where: Annotated[list[Item] | None, Query(max_length=MAX_WHERE)] = None,
    since: date | None = None,
    until: date | None = None,
    metric: Annotated[str | None, Query(description=METRIC_HELP)] = None,
) -> list[dict[str, Any]]:
    """As `cxchange opportunities --format json`: NPS rows have `nps_gain`, the others `gain`."""
    result = rank(
        engine(), share=share, churn_rate=churn_rate, weights=parse_weights(weights or []),
        scope=Scope(where=scope.where(engine(), where), period=Period(since, until)), metric=metric,
    )  # fmt: skip
    return [{k: v for k, v in r.items() if k != "theme_id"} for r in result["opportunities"]]
