"""Survey endpoints for signed-in users (the public form is in web/pages/respond.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from cxchange.core.deps import engine
from cxchange.listen.surveys.api_models import SurveyCreated, SurveyDetail, SurveyOut
from cxchange.listen.surveys.service import close_survey, create_survey, list_surveys, show_survey

router = APIRouter(tags=["surveys"])


class SurveyIn(BaseModel):
    name: str
    kind: str
    question: str | None = None
    comment_prompt: str | None = None
    units: Annotated[list[str], Field(max_length=10_000)] = []
    initiative: int | str | None = None
    language: str = "en"


def create(body: SurveyIn) -> dict[str, Any]:
    """The one create path of the API and the Surveys page (an adkar pulse reserves its assessment)."""
    from cxchange.change.readiness import reserve_pulse_assessment

    initiative_id, assessment = reserve_pulse_assessment(engine(), body.kind, body.initiative)
    return create_survey(
        engine(), name=body.name, kind=body.kind, question=body.question, comment_prompt=body.comment_prompt,
        units=body.units, initiative_id=initiative_id, assessment=assessment, language=body.language,
    )  # fmt: skip


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
