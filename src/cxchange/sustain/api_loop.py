"""Closed-loop endpoints: cases, recognition and alerts, with the same JSON as the CLI. Mounted under /api."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from cxchange.auth.web import CallerScope
from cxchange.core.deps import DbId, engine
from cxchange.core.errors import InputError
from cxchange.core.output import to_csv
from cxchange.sustain import alerts  # by module: its rule functions share the names of the cases'
from cxchange.sustain.api_models import (
    AlertCheck,
    AlertOut,
    AlertRuleOut,
    CaseDetail,
    CaseOut,
    CaseRuleOut,
    CaseStats,
    RecognitionOut,
    YouSaidWeDid,
)
from cxchange.sustain.case_stats import stats
from cxchange.sustain.cases import (
    CasePatch,
    CaseRuleIn,
    add_rule,
    assign,
    case_for,
    list_cases,
    list_rules,
    root_cause_counts,
    update,
    you_said_we_did,
)
from cxchange.sustain.recognition import list_recognitions

router = APIRouter(tags=["sustain"])


# --- cases ----------------------------------------------------------------------------------------


class AssignIn(BaseModel):
    email: str


@router.get("/cases", response_model=list[CaseOut])
def cases_list(
    scope: CallerScope,
    unit: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = 500,
) -> Any:
    units = scope.units(engine(), unit)
    return jsonable_encoder(list_cases(engine(), unit=units, status=status, overdue=overdue, limit=limit))


@dataclass
class CaseStatsQuery:
    """`stats`' keywords, read from the query string."""

    by: str | None = None
    unit: str | None = None
    since: date | None = None
    until: date | None = None


@router.get("/cases/stats", response_model=list[CaseStats])
def cases_stats(scope: CallerScope, q: Annotated[CaseStatsQuery, Depends()]) -> Any:
    """Case counts (overall, by unit or by org:LEVEL) for feedback received in [since, until)."""
    return jsonable_encoder(stats(engine(), **{**asdict(q), "unit": scope.units(engine(), q.unit)}))


@router.get("/cases/root-causes")
def cases_root_causes() -> dict[str, int]:
    return root_cause_counts(engine())


@router.get("/cases/rules", response_model=list[CaseRuleOut])
def case_rules() -> Any:
    return jsonable_encoder(list_rules(engine()))


@router.post("/cases/rules", status_code=201, response_model=CaseRuleOut)
def case_rule_add(body: CaseRuleIn) -> Any:
    return jsonable_encoder(add_rule(engine(), body))


@router.get(
    "/cases/you-said-we-did/{initiative}",
    response_model=None,
    responses={
        200: {
            "model": YouSaidWeDid,  # the JSON answer; the CSV one (format=csv) below
            "description": "The initiative's customers (JSON), or the same rows as CSV with `format=csv`.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def cases_you_said(initiative: str, format: str = "json") -> Any:
    if format not in ("json", "csv"):
        raise InputError(f"format wants json or csv, got {format!r}")
    out = you_said_we_did(engine(), initiative)
    if format == "csv":
        cols = ["customer_id", "feedback_id", "date", "text", "unit"]
        return PlainTextResponse(to_csv(out["rows"], cols), media_type="text/csv")
    return jsonable_encoder(out)


@router.get("/cases/{case_id}", response_model=CaseDetail)
def cases_show(case_id: DbId, scope: CallerScope) -> Any:
    return jsonable_encoder(case_for(engine(), scope, case_id))


@router.patch("/cases/{case_id}", response_model=CaseDetail)
def cases_update(case_id: DbId, body: CasePatch, scope: CallerScope) -> Any:
    case_for(engine(), scope, case_id)
    # The history names the signed-in caller, as the web page does: a body's `by` was taken on trust.
    return jsonable_encoder(update(engine(), case_id, replace(body, by=scope.email)))


@router.post("/cases/{case_id}/assign", response_model=CaseDetail)
def cases_assign(case_id: DbId, body: AssignIn, scope: CallerScope) -> Any:
    case_for(engine(), scope, case_id)
    return jsonable_encoder(assign(engine(), case_id, body.email))


# --- recognition ----------------------------------------------------------------------------------


@router.get("/recognition", response_model=list[RecognitionOut])
def recognition(
    scope: CallerScope,
    unit: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = 500,
) -> Any:
    units = scope.units(engine(), unit)
    return jsonable_encoder(list_recognitions(engine(), unit=units, since=since, until=until, limit=limit))


# --- alerts ---------------------------------------------------------------------------------------


class AlertRuleIn(BaseModel):
    metric: str
    unit: str | None = None
    drop: float | None = None
    below: float | None = None
    window: str = "30d"
    theme: str | None = None
    email: list[str] = Field(default_factory=list)
    webhook: list[str] = Field(default_factory=list)
    name: str | None = None


@router.get("/alerts", response_model=list[AlertOut])
def alerts_list(limit: Annotated[int | None, Query(ge=1, le=100_000)] = 200) -> Any:
    return jsonable_encoder(alerts.list_alerts(engine(), limit=limit))


@router.get("/alerts/rules", response_model=list[AlertRuleOut])
def alert_rules() -> Any:
    return jsonable_encoder(alerts.list_rules(engine()))


@router.post("/alerts/rules", status_code=201, response_model=AlertRuleOut)
def alert_rule_add(body: AlertRuleIn) -> Any:
    return jsonable_encoder(alerts.add_rule(engine(), **body.model_dump()))


@router.post("/alerts/check", response_model=AlertCheck)
def alerts_check() -> Any:
    return jsonable_encoder(alerts.check(engine()))
