"""Surveys page: create a survey (its links to copy), answers counted by unit and by day, close it.

Reading needs "read"; creating and closing need "import" (the role that brings feedback in) and the
CSRF token. A user limited to some units is not shown this page: links and counts span every unit.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope, verify_csrf
from cxchange.change.service import list_all
from cxchange.core.deps import engine
from cxchange.core.errors import CxError, ForbiddenError
from cxchange.listen.surveys.api import SurveyIn, create
from cxchange.listen.surveys.service import KINDS, close_survey, list_surveys, show_survey
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)


def _unscoped(scope: UserScope) -> None:
    if scope.scoped:
        raise ForbiddenError("surveys span every unit: not available to a user limited to some units")


def _page(request: Request, scope: UserScope, **extra: Any) -> Any:
    eng = engine()
    return render(request, "surveys.html", {
        "surveys": list_surveys(eng), "kinds": KINDS, "initiatives": list_all(eng),
        "can_edit": scope.can("import"), "created": None, "error": None, **extra,
    })  # fmt: skip


@router.get("/surveys")
def surveys_page(request: Request, scope: CallerScope) -> Any:
    _unscoped(scope)
    return _page(request, scope)


class SurveyForm(BaseModel):
    """The page's create form as posted: text boxes, an empty one meaning "not given"."""

    name: str = ""
    kind: str = "nps"
    question: str = ""
    comment_prompt: str = ""
    units: str = ""  # comma-separated codes
    initiative: str = ""

    def survey(self) -> SurveyIn:
        """What the API's create takes: text trimmed, empty boxes left out, the units as a list."""
        return SurveyIn(
            name=self.name.strip(),
            kind=self.kind,
            question=self.question.strip() or None,
            comment_prompt=self.comment_prompt.strip() or None,
            units=[u.strip() for u in self.units.split(",") if u.strip()],
            initiative=self.initiative.strip() or None,
        )


@router.post("/surveys", dependencies=[Depends(verify_csrf)])
async def create_survey_page(
    request: Request, scope: CallerScope, form: Annotated[SurveyForm, Form()]
) -> Any:
    _unscoped(scope)
    scope.require("import")
    body = form.survey()
    try:
        created = await run_in_threadpool(create, body)
    except CxError as exc:
        return _page(request, scope, error=str(exc))
    return RedirectResponse(f"/surveys/{created['id']}?created=1", status_code=303)


@router.get("/surveys/{survey_id}")
def survey_page(request: Request, scope: CallerScope, survey_id: int, created: int = 0) -> Any:
    _unscoped(scope)
    s = show_survey(engine(), survey_id)
    peak = max([d["n"] for d in s["by_day"]] or [1])
    return render(request, "survey.html", {"s": s, "created": bool(created), "peak": peak,
                                           "can_edit": scope.can("import")})  # fmt: skip


@router.post("/surveys/{survey_id}/close", dependencies=[Depends(verify_csrf)])
def close_survey_page(scope: CallerScope, survey_id: int) -> Any:
    _unscoped(scope)
    scope.require("import")
    close_survey(engine(), survey_id)
    return RedirectResponse(f"/surveys/{survey_id}", status_code=303)
