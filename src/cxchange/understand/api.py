"""Understand endpoints: the same JSON as `cxchange themes`, `emerging` and `sentiment`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from cxchange.auth.web import CallerScope, rate_limited
from cxchange.core.api_models import Detail
from cxchange.core.deps import engine
from cxchange.core.period import Period
from cxchange.measure.scale import IMPACT_HELP
from cxchange.understand.api_models import EmergingReport, SentimentOut, ThemeRow
from cxchange.understand.sentiment import get_backend
from cxchange.understand.service import emerging_report, theme_stats

router = APIRouter(tags=["understand"])

MAX_TEXTS = 10_000


# A bootstrap per theme: boot=20,000 over 54 themes of 33,000 hotel reviews held a worker 70 s, and any
# reader could send it again and again; the rate and the cap are those of /drivers, its sibling analysis.
@router.get(
    "/themes",
    dependencies=[Depends(rate_limited("themes"))],
    response_model=list[ThemeRow],
    response_model_exclude_unset=True,
)
def themes(
    scope: CallerScope,
    by: str | None = None,
    source: str | None = None,
    since: date | None = None,
    until: date | None = None,
    where: Annotated[list[str] | None, Query()] = None,
    boot: Annotated[int, Query(ge=0, le=2000)] = 2000,
    metric: Annotated[str | None, Query(description=IMPACT_HELP)] = None,
) -> list[dict[str, Any]]:
    """As `cxchange themes --format json`: each row says its `metric`."""
    return theme_stats(
        engine(),
        by=by,
        source=source,
        period=Period(since, until),
        where=scope.where(engine(), where),
        n_boot=boot,
        metric=metric,
    )


@router.get(
    "/emerging",
    response_model=EmergingReport,
    response_model_exclude_unset=True,
    responses={
        404: {"model": Detail, "description": "No analysed comments in scope: `detail` says what to run."}
    },
)
def emerging(
    scope: CallerScope,
    window: str = "7d",
    baseline: str = "8w",
    until: date | None = None,
    source: str | None = None,
    where: Annotated[list[str] | None, Query()] = None,
    z: float = 3.0,
    min_count: Annotated[int, Query(ge=1)] = 10,
) -> dict[str, Any]:
    """As `cxchange emerging --format json`: the findings under "items", with the window and baseline
    compared (dates, comments) and the number of themes tested; 404 when nothing is analysed in scope."""
    return emerging_report(
        engine(), window=window, baseline=baseline, until=until, source=source,
        where=scope.where(engine(), where), z_min=z, min_count=min_count,
    )  # fmt: skip


@router.post(
    "/sentiment", dependencies=[Depends(rate_limited("sentiment"))], response_model=list[SentimentOut]
)
def sentiment(
    scope: CallerScope,
    texts: Annotated[list[str], Body(max_length=MAX_TEXTS)],
    backend: str | None = None,
) -> list[dict[str, Any]]:
    """Score a list of texts: `[{"text", "score", "label"}]` in input order."""
    model = get_backend(backend)
    return [
        {"text": t, "score": s.score, "label": s.label}
        for t, s in zip(texts, model.score(texts), strict=True)
    ]
