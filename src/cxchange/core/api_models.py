"""The base of the API's response models: what `/openapi.json` says each route answers.

`extra="forbid"`: a key a service adds without its model fails the API tests (and schemathesis's
response check) instead of being dropped silently, so the documentation cannot fall behind the JSON."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    """A response object whose keys are all known."""

    model_config = ConfigDict(extra="forbid")


class OpenOut(BaseModel):
    """A response object with known keys plus open ones (grouping columns named by the query,
    user-defined attributes): the known ones are typed, the others pass through as they are."""

    model_config = ConfigDict(extra="allow")


class Detail(Out):
    """An error answer (4xx): one line saying what was wrong."""

    detail: str
