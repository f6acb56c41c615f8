"""What a survey is, as its creator defines it: the one value `survey create`, the API's `SurveyIn`
(which adds the ADKAR pulse's initiative) and the Surveys page hand to `create_survey`.

Its own module: pydantic is imported by the commands that create a survey, not by every survey command.
"""

from __future__ import annotations

from pydantic import BaseModel


# A comment, not a docstring: pydantic would carry a docstring into the API's schema of SurveyIn.
class SurveySpec(BaseModel):
    name: str
    kind: str  # nps, csat, ces or adkar
    question: str | None = None  # None: the kind's own
    comment_prompt: str | None = None
    units: list[str] = []  # one public link each; none: one link for the whole organisation
    language: str = "en"  # the respondent page's
