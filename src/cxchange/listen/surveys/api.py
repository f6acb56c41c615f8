"""Survey endpoints for signed-in users (the public form is in web/pages/respond.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from cxchange.core.deps import engine
from cxchange.listen.surveys.api_models import SurveyCreated, SurveyDetail, SurveyOut
from cxchange.listen.surveys.service import close_survey, list_surveys, show_survey
from cxchange.listen.surveys.spec import SurveySpec

router = APIRouter(tags=["surveys"])


class SurveyIn(SurveySpec):
    units: list[str] = Field([], max_length=10_000)  # a request's bound
    initiative: int | str | None = None  # an ADKAR pulse's: id or name
    # No definition file: the API never reads a path on the server.


def create(body: SurveyIn) -> dict[str, Any]:
    """The API's and the Surveys page's create (`change.readiness.create_survey_or_pulse`)."""
    from cxchange.change.readiness import create_survey_or_pulse

    return create_survey_or_pulse(engine(), body, body.initiative)


@router.post("/surveys", status_code=201, response_model=SurveyCreated)
async def post_survey(body: SurveyIn) -> dict[str, Any]:
    return await run_in_threadpool(create, body)


@router.get("/surveys", response_model=list[SurveyOut])
def get_surveys() -> list[dict[str, Any]]:
    return list_surveys(engine())


@router.get("/surveys/{survey}", response_model=SurveyDetail)
def get_survey(survey: str) -> dict[str, Any]:
    return show_survey(engine(), survey)


@router.post("/surveys/{survey}/close", response_model=SurveyDetail)
def post_close(survey: str) -> dict[str, Any]:
    return close_survey(engine(), survey)
