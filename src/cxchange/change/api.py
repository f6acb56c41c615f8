"""Change endpoints: the same JSON as the `frameworks`, `initiative`, `raci`, `readiness`, `impact`,
`comms`, `agents`, `training` and `resistance` commands. Mounted under /api."""

from __future__ import annotations

import datetime as dt
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field, create_model

from cxchange.auth.web import CallerScope
from cxchange.change.api_models import (
    AgentAdded,
    AgentCoverage,
    Attendance,
    CommOut,
    Framework,
    FrameworkRow,
    HeatCell,
    ImpactRow,
    ImpactSet,
    InitiativeDetail,
    InitiativeRow,
    InitiativeStatus,
    ManagerRow,
    MetricOut,
    RaciCell,
    RaciFinding,
    RaciImported,
    RaciRow,
    ReadinessGroup,
    ReadinessImported,
    ReadinessPoint,
    ResistanceOut,
    RiskOut,
    StepSet,
    TrainingAdded,
    TrainingRow,
)
from cxchange.change.frameworks import get_framework, list_rows
from cxchange.change.impact import heatmap, set_impact, show_impact
from cxchange.change.metrics import add_metric, list_metrics
from cxchange.change.models import IMPACT_ASPECTS
from cxchange.change.people import (
    add_agent,
    add_comm,
    add_resistance,
    add_training,
    attend,
    coverage,
    list_comms,
    list_resistance,
    managers,
    mark_sent,
    training_report,
    update_resistance,
)
from cxchange.change.raci import check, import_matrix, set_cell, show
from cxchange.change.readiness import import_file, report, trend
from cxchange.change.service import (
    create,
    get_risk,
    initiative_for,
    list_all,
    set_risk,
    set_step,
    status,
    update,
    visible_initiatives,
)
from cxchange.core.api_models import patch_of
from cxchange.core.deps import DbId, engine

router = APIRouter(tags=["change"])


# --- frameworks ----------------------------------------------------------------------------------


@router.get("/frameworks", response_model=list[FrameworkRow])
def frameworks_list(scope: CallerScope) -> list[dict[str, Any]]:
    return list_rows()


@router.get("/frameworks/{name}", response_model=Framework)
def frameworks_show(name: str, scope: CallerScope) -> dict[str, Any]:
    framework = get_framework(name, allow_file=False)  # no file paths over HTTP, in or out
    return {**framework, "file": Path(framework["file"]).name}  # the server's directories stay private


# --- initiatives ---------------------------------------------------------------------------------


class InitiativeIn(BaseModel):
    name: str
    framework: str
    sponsor: str
    owner: str
    units: list[str]
    start: date
    end: date | None = None
    pilot_units: list[str] = Field(default_factory=list)
    control_units: list[str] = Field(default_factory=list)
    vision: str | None = None
    theme: str | None = None


if TYPE_CHECKING:  # mypy cannot see fields made at run time: to it the patch is a model
    InitiativePatch = BaseModel
else:  # what `initiative create` sets, each optional (the framework stays), and the status
    InitiativePatch = patch_of(
        InitiativeIn, "InitiativePatch", leave_out=("framework",), status=(str | None, None)
    )


@router.get("/initiatives", response_model=list[InitiativeRow])
def initiatives_list(scope: CallerScope, status: str | None = None) -> Any:
    rows = list_all(engine(), status=status)
    if scope.scoped:  # a manager sees the initiatives that concern their units
        visible = {d["id"] for d in visible_initiatives(engine(), scope, status=status)}
        rows = [r for r in rows if r["id"] in visible]
    return jsonable_encoder(rows)


@router.post("/initiatives", status_code=201, response_model=InitiativeDetail)
def initiatives_create(body: InitiativeIn) -> Any:
    return jsonable_encoder(create(engine(), **body.model_dump(), allow_file=False))


@router.get("/initiatives/heatmap", response_model=list[HeatCell])
def impact_heatmap(
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    threshold: float | None = None,
) -> Any:
    return jsonable_encoder(heatmap(engine(), from_month=from_, to_month=to, threshold=threshold))


@router.get("/initiatives/{initiative}", response_model=InitiativeDetail)
def initiatives_show(initiative: str, scope: CallerScope) -> Any:
    return jsonable_encoder(initiative_for(engine(), scope, initiative))


@router.patch("/initiatives/{initiative}", response_model=InitiativeDetail)
def initiatives_update(initiative: str, body: InitiativePatch) -> Any:
    return jsonable_encoder(update(engine(), initiative, **body.model_dump(exclude_unset=True)))


class StepIn(BaseModel):
    status: str
    note: str | None = None


@router.post("/initiatives/{initiative}/steps/{step}", response_model=StepSet)
def initiatives_step(initiative: str, step: str, body: StepIn) -> Any:
    return jsonable_encoder(set_step(engine(), initiative, step, body.status, body.note))


@router.get(
    "/initiatives/{initiative}/status", response_model=InitiativeStatus, response_model_exclude_unset=True
)
def initiatives_status(initiative: str) -> Any:
    return jsonable_encoder(status(engine(), initiative))


class MetricIn(BaseModel):
    metric: str
    target: str
    by: date | None = None


@router.get(
    "/initiatives/{initiative}/metrics", response_model=list[MetricOut], response_model_exclude_unset=True
)
def metrics_list(initiative: str) -> Any:
    return jsonable_encoder(list_metrics(engine(), initiative))


@router.post(
    "/initiatives/{initiative}/metrics",
    status_code=201,
    response_model=MetricOut,
    response_model_exclude_unset=True,
)
def metrics_add(initiative: str, body: MetricIn) -> Any:
    return jsonable_encoder(add_metric(engine(), initiative, body.metric, body.target, body.by))


@router.get("/initiatives/{initiative}/risk", response_model=RiskOut)
def risk_get(initiative: str) -> Any:
    return jsonable_encoder(get_risk(engine(), initiative))


@router.put("/initiatives/{initiative}/risk", response_model=RiskOut)
def risk_set(initiative: str, factors: Annotated[dict[str, int], Body()]) -> Any:
    return jsonable_encoder(set_risk(engine(), initiative, factors))


# --- RACI ----------------------------------------------------------------------------------------


class RaciIn(BaseModel):
    activity: str
    person: str
    letter: str


@router.get("/initiatives/{initiative}/raci", response_model=list[RaciRow])
def raci_show(initiative: str) -> Any:
    return jsonable_encoder(show(engine(), initiative))


@router.post("/initiatives/{initiative}/raci", response_model=RaciCell)
def raci_set(initiative: str, body: RaciIn) -> Any:
    return jsonable_encoder(set_cell(engine(), initiative, body.activity, body.person, body.letter))


@router.post("/initiatives/{initiative}/raci/import", response_model=RaciImported)
def raci_import(initiative: str, csv: Annotated[str, Body(media_type="text/csv")]) -> Any:
    return jsonable_encoder(import_matrix(engine(), initiative, "<upload>", text=csv))


@router.get("/initiatives/{initiative}/raci/check", response_model=list[RaciFinding])
def raci_check(initiative: str) -> Any:
    return jsonable_encoder(check(engine(), initiative))


# --- readiness -----------------------------------------------------------------------------------


@router.post("/initiatives/{initiative}/readiness", status_code=201, response_model=ReadinessImported)
def readiness_import(
    initiative: str, csv: Annotated[str, Body(media_type="text/csv")], assessed_on: date | None = None
) -> Any:
    return jsonable_encoder(import_file(engine(), initiative, "<upload>", assessed_on=assessed_on, text=csv))


@router.get("/initiatives/{initiative}/readiness", response_model=list[ReadinessGroup])
def readiness_report(
    initiative: str,
    scope: CallerScope,
    by: str = "unit",
    min_n: Annotated[int, Query(ge=1)] = 5,
    assessment: int | None = None,
) -> Any:
    initiative_for(engine(), scope, initiative)  # another unit's initiative: 403, not an empty list
    rows = report(engine(), initiative, by=by, min_n=min_n, assessment=assessment)
    return jsonable_encoder(scope.filter_rows(rows, engine(), key="group"))


@router.get("/initiatives/{initiative}/readiness/trend", response_model=list[ReadinessPoint])
def readiness_trend(initiative: str, scope: CallerScope, unit: str | None = None) -> Any:
    initiative_for(engine(), scope, initiative)
    return jsonable_encoder(trend(engine(), initiative, unit=scope.one_unit(engine(), unit)))


# --- impact --------------------------------------------------------------------------------------


class _ImpactNote(BaseModel):
    note: str | None = None


if TYPE_CHECKING:  # mypy cannot see fields made at run time: to it the body is its static part, the note
    ImpactIn = _ImpactNote
else:  # one optional score per aspect of change (the list in change.models), and a note
    ImpactIn = create_model(
        "ImpactIn", **{aspect: (int | None, None) for aspect in IMPACT_ASPECTS}, note=(str | None, None)
    )


@router.get("/initiatives/{initiative}/impact", response_model=list[ImpactRow])
def impact_show(initiative: str) -> Any:
    return jsonable_encoder(show_impact(engine(), initiative))


@router.put("/initiatives/{initiative}/impact/{unit}", response_model=ImpactSet)
def impact_set(initiative: str, unit: str, body: ImpactIn) -> Any:
    data = body.model_dump()
    note = data.pop("note")
    return jsonable_encoder(set_impact(engine(), initiative, unit, data, note))


# --- comms, agents, training, resistance -----------------------------------------------------------


class CommIn(BaseModel):
    audience: str
    channel: str
    sender: str
    date: dt.date
    message: str


@router.get("/initiatives/{initiative}/comms", response_model=list[CommOut])
def comms_list(initiative: str, overdue: bool = False) -> Any:
    rows = list_comms(engine(), initiative)
    return jsonable_encoder([r for r in rows if r["overdue"]] if overdue else rows)


@router.post("/initiatives/{initiative}/comms", status_code=201, response_model=CommOut)
def comms_add(initiative: str, body: CommIn) -> Any:
    return jsonable_encoder(
        add_comm(
            engine(),
            initiative,
            audience=body.audience,
            channel=body.channel,
            sender=body.sender,
            when=body.date,
            message=body.message,
        )
    )


@router.post("/initiatives/{initiative}/comms/{comm}/sent", response_model=CommOut)
def comms_sent(initiative: str, comm: DbId) -> Any:
    return jsonable_encoder(mark_sent(engine(), initiative, comm))


class AgentIn(BaseModel):
    person: str


@router.get("/initiatives/{initiative}/agents", response_model=list[AgentCoverage])
def agents_list(initiative: str, per: Annotated[int | None, Query(ge=1)] = None) -> Any:
    return jsonable_encoder(coverage(engine(), initiative, per))


@router.post("/initiatives/{initiative}/agents", status_code=201, response_model=AgentAdded)
def agents_add(initiative: str, body: AgentIn) -> Any:
    return jsonable_encoder(add_agent(engine(), initiative, body.person))


@router.get("/initiatives/{initiative}/managers", response_model=list[ManagerRow])
def agents_managers(initiative: str) -> Any:
    return jsonable_encoder(managers(engine(), initiative))


class TrainingIn(BaseModel):
    title: str
    unit: str
    date: dt.date
    role: str | None = None


class AttendIn(BaseModel):
    people: list[str]


@router.get("/initiatives/{initiative}/training", response_model=list[TrainingRow])
def training_list(initiative: str) -> Any:
    return jsonable_encoder(training_report(engine(), initiative))


@router.post("/initiatives/{initiative}/training", status_code=201, response_model=TrainingAdded)
def training_add(initiative: str, body: TrainingIn) -> Any:
    return jsonable_encoder(
        add_training(engine(), initiative, title=body.title, unit=body.unit, when=body.date, role=body.role)
    )


@router.post("/initiatives/{initiative}/training/{session}/attendance", response_model=Attendance)
def training_attend(initiative: str, session: DbId, body: AttendIn) -> Any:
    return jsonable_encoder(attend(engine(), initiative, session, body.people))


class ResistanceIn(BaseModel):
    unit: str
    description: str
    cause: str
    owner: str


class ResistancePatch(BaseModel):
    status: str
    resolution: str | None = None


@router.get("/initiatives/{initiative}/resistance", response_model=list[ResistanceOut])
def resistance_list(initiative: str, status: str | None = None) -> Any:
    return jsonable_encoder(list_resistance(engine(), initiative, status=status))


@router.post("/initiatives/{initiative}/resistance", status_code=201, response_model=ResistanceOut)
def resistance_add(initiative: str, body: ResistanceIn) -> Any:
    return jsonable_encoder(add_resistance(engine(), initiative, **body.model_dump()))


@router.patch("/initiatives/{initiative}/resistance/{item}", response_model=ResistanceOut)
def resistance_update(initiative: str, item: DbId, body: ResistancePatch) -> Any:
    return jsonable_encoder(
        update_resistance(engine(), initiative, item, status=body.status, resolution=body.resolution)
    )
