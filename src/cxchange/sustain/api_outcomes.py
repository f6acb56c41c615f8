"""Outcome and scorecard endpoints: the JSON of `cxchange outcomes`, `outcomes set`, `outcomes plan` and
`cxchange scorecard`. Mounted under /api."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope
from cxchange.change.service import comparison_note, comparison_visible, initiative_for
from cxchange.core.deps import engine
from cxchange.core.errors import ForbiddenError
from cxchange.sustain.api_models import OutcomePlan, OutcomeReport, OutcomeSettings, ScorecardRow
from cxchange.sustain.outcome_design import OutcomeSettingsChange, set_settings
from cxchange.sustain.outcome_plan import plan
from cxchange.sustain.outcomes import outcomes
from cxchange.sustain.scorecard import scorecard

router = APIRouter(tags=["sustain"])
NOTHING_TO_SET = OutcomeSettingsChange()  # no body: the service says what it needs, as to the CLI


@dataclass
class OutcomeQuery:
    """The query string both outcome reads take; windows and cluster level default to the initiative's."""

    metric: str | None = None  # the store's default: NPS when it has NPS answers, else its most-answered
    before: str | None = None
    after: str | None = None
    cluster: str | None = None
    level: float = Query(0.95, gt=0, lt=1)


@dataclass
class ScorecardQuery:
    """`scorecard`'s keywords, read from the query string."""

    period: str = "quarter"
    by: str | None = None  # the org's lowest level
    metric: str | None = None  # the store's default
    target: float | None = None
    as_of: date | None = None
    level: float = Query(0.95, gt=0, lt=1)
    min_n: int = Query(30, ge=0)  # as /scores and the CLI: 0 flags no group as small


def _comparable(scope: UserScope, initiative: str) -> None:
    """The initiative page's rule: a user limited to some units sees an outcome only when every unit it
    compares is theirs (403 with the page's note otherwise)."""
    detail = initiative_for(engine(), scope, initiative)
    if not comparison_visible(engine(), scope, detail):
        raise ForbiddenError(comparison_note(detail))


@router.get("/outcomes/{id}", response_model=OutcomeReport, response_model_exclude_unset=True)
def outcomes_get(id: str, q: Annotated[OutcomeQuery, Depends()], scope: CallerScope) -> dict[str, Any]:
    """Windows and cluster level default to the ones stored on the initiative."""
    _comparable(scope, id)
    return jsonable_encoder(outcomes(engine(), id, **asdict(q)))


@router.get("/outcomes/{id}/plan", response_model=OutcomePlan, response_model_exclude_unset=True)
def outcomes_plan(id: str, q: Annotated[OutcomeQuery, Depends()], scope: CallerScope) -> dict[str, Any]:
    _comparable(scope, id)
    return jsonable_encoder(plan(engine(), id, **asdict(q)))


@router.put("/outcomes/{id}/settings", response_model=OutcomeSettings)
def outcomes_settings(
    id: str, scope: CallerScope, body: OutcomeSettingsChange = NOTHING_TO_SET
) -> dict[str, Any]:
    """Store windows, cluster level and pilot units' own starts (["UNIT=YYYY-MM-DD", …]; "default"
    clears one); audited with who changed what."""
    _comparable(scope, id)
    return jsonable_encoder(set_settings(engine(), id, body, actor=scope.email))


@router.get(
    "/scorecards",
    response_model=list[ScorecardRow],
    responses={404: {"description": "No answers of the metric in the period: `detail` names it."}},
)
def scorecards_get(scope: CallerScope, q: Annotated[ScorecardQuery, Depends()]) -> list[dict[str, Any]]:
    rows = scorecard(engine(), **asdict(q))
    # A scoped user gets the rows of their own units (and those beneath) only.
    return jsonable_encoder(scope.filter_rows(rows, engine(), key="unit"))
