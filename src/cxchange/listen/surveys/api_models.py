"""Response models of the survey routes."""

from __future__ import annotations

from cxchange.core.api_models import Out, Timestamp


class SurveyLinkOut(Out):
    unit: str | None  # None: one link for the whole organisation
    url: str


class SurveyCreated(Out):
    id: int
    name: str
    kind: str
    links: list[SurveyLinkOut]
    links_note: str | None = None  # set when the links are paths (no CXCHANGE_PUBLIC_URL)


class UnitCount(Out):
    unit: str | None
    n: int


class DayCount(Out):
    day: str
    n: int


class SurveyOut(Out):
    id: int
    name: str
    kind: str
    status: str
    language: str
    initiative: int | None
    assessment: int | None
    responses: int
    created_at: Timestamp
    closed_at: Timestamp | None


class SurveyDetail(SurveyOut):
    links: list[SurveyLinkOut]
    links_note: str | None = None
    by_unit: list[UnitCount]
    by_day: list[DayCount]
    question: str | None
    # An ADKAR pulse: comments stored but not yet released as feedback (listen/surveys/comments.py).
    comments_held: int | None = None
    comments_note: str | None = None
