"""The base of the API's response models: what `/openapi.json` says each route answers.

`extra="forbid"`: a key a service adds without its model fails the API tests (and schemathesis's
response check) instead of being dropped silently, so the documentation cannot fall behind the JSON."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, cast, get_type_hints

from pydantic import BaseModel, ConfigDict, WithJsonSchema, create_model

# Stored times are naive UTC and answer as "2026-03-01T12:00:00(.ffffff)", without an offset: not an
# RFC 3339 "date-time", so the schema says what they are instead of claiming that format.
Timestamp = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$",
            "description": "UTC date and time, ISO 8601 without an offset",
        }
    ),
]


class Out(BaseModel):
    """A response object whose keys are all known."""

    model_config = ConfigDict(extra="forbid")


def out_of(source: type, name: str, *, leave_out: tuple[str, ...] = (), **more: tuple[Any, Any]) -> type[Out]:
    """The response model `name` whose fields are the dataclass `source`'s (their types, all
    required; but `leave_out`) followed by `more` (`field=(type, default or ...)`): a result the
    service returns field for field is not described a second time."""
    types = get_type_hints(source)
    fields: dict[str, Any] = {
        f.name: (types[f.name], ...) for f in dataclasses.fields(source) if f.name not in leave_out
    }
    fields.update(more)
    return create_model(name, __base__=Out, **fields)


def patch_of(
    source: type[BaseModel], name: str, *, leave_out: tuple[str, ...] = (), **more: tuple[Any, Any]
) -> type[BaseModel]:
    """The request model `name` that changes what `source` creates: each of `source`'s fields (but
    `leave_out`) optional, None when not given, followed by `more` (`field=(type, default)`), so a field
    the create body gains can be changed too without being declared a second time."""
    fields: dict[str, Any] = {
        key: (cast(Any, field.annotation) | None, None)
        for key, field in source.model_fields.items()
        if key not in leave_out
    }
    fields.update(more)
    return create_model(name, **fields)


class OpenOut(BaseModel):
    """A response object with known keys plus open ones (grouping columns named by the query,
    user-defined attributes): the known ones are typed, the others pass through as they are."""

    model_config = ConfigDict(extra="allow")


class Detail(Out):
    """An error answer (4xx): one line saying what was wrong."""

    detail: str


# What any guarded /api route may answer besides its own codes, for the OpenAPI document: an integrator
# read 200 and 422 only, and could not know a refusal's shape ({"detail": "…"}) or that it names why.
GUARDED_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Detail, "description": "Bad input: `detail` is one line saying what was wrong."},
    401: {"model": Detail, "description": "No valid token or session: send `Authorization: Bearer TOKEN`."},
    403: {
        "model": Detail,
        "description": "Not for this role, or outside the caller's units: `detail` says which (a user "
        "limited to some units is refused, never answered with an empty list).",
    },
    503: {"model": Detail, "description": "Busy (all connections or analyses taken): see Retry-After."},
}


class Health(Out):
    status: str  # "ok"
    database: str  # the SQLAlchemy dialect: sqlite | postgresql
    revision: str | None  # the schema's Alembic revision (None: not migrated)
