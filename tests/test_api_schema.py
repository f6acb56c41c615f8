"""The OpenAPI document describes every /api answer, and errors carry their HTTP status.

`python tests/test_api_schema.py` prints how many /api operations lack a response schema that names
fields (74 of 75 before the response models, see the apitypes report)."""

from __future__ import annotations

from typing import Any

import pytest

from cxchange.core import errors
from cxchange.listen.surveys.service import Replayed, SurveyClosed

# Routes whose answers are not modelled yet: none left. A route may be listed here only with the reason.
NOT_YET_MODELLED: set[str] = set()


def _names_fields(schema: dict[str, Any] | None, comps: dict[str, Any]) -> bool:
    """Whether a response schema says what comes back: a model with properties (or a list, or a union,
    of such), a scalar, or a mapping of scalars. `{}` and `object` with any keys say nothing."""
    if not schema:
        return False
    if "$ref" in schema:
        return bool(comps.get(schema["$ref"].rsplit("/", 1)[-1], {}).get("properties"))
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return all(_names_fields(s, comps) for s in schema[key] if s.get("type") != "null")
    if schema.get("type") == "array":
        return _names_fields(schema.get("items"), comps)
    if schema.get("properties"):
        return True
    if schema.get("type") == "object":
        values = schema.get("additionalProperties")
        return isinstance(values, dict) and values.get("type") in ("integer", "number", "string", "boolean")
    return schema.get("type") in ("string", "integer", "number", "boolean")


def without_response_schema() -> tuple[int, list[str]]:
    """(operations under /api, those whose 2xx answers have no schema naming fields)."""
    from cxchange.api import create_app

    spec = create_app("sqlite://").openapi()
    comps = spec.get("components", {}).get("schemas", {})
    total, missing = 0, []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api"):
            continue
        for method, op in operations.items():
            total += 1
            schemas = [
                content.get("schema")
                for status, answer in op.get("responses", {}).items()
                if status.startswith("2")
                for content in (answer.get("content") or {}).values()
            ]
            if not any(_names_fields(s, comps) for s in schemas):
                missing.append(f"{method.upper()} {path}")
    return total, missing


def test_every_api_answer_has_a_schema() -> None:
    total, missing = without_response_schema()
    assert total > 70
    assert sorted(set(missing) - NOT_YET_MODELLED) == []
    # A route modelled since: take it off the list.
    assert sorted(NOT_YET_MODELLED - set(missing)) == []


def test_the_schema_check_is_not_vacuous() -> None:
    comps = {"M": {"properties": {"a": {"type": "integer"}}}, "E": {"type": "object"}}
    assert _names_fields({"type": "array", "items": {"$ref": "#/components/schemas/M"}}, comps)
    assert not _names_fields({}, comps)
    assert not _names_fields({"type": "object", "additionalProperties": True}, comps)
    assert not _names_fields({"type": "array", "items": {"type": "object"}}, comps)
    assert not _names_fields({"$ref": "#/components/schemas/E"}, comps)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InputError("bad"), 400),
        (errors.NotFoundError("none"), 404),
        (errors.NoDataError("no answers"), 404),
        (errors.AuthError("sign in"), 401),
        (errors.ForbiddenError("not yours"), 403),
        (errors.RateLimitError("slow down", 3), 429),
        (errors.BusyError("busy"), 503),
        (SurveyClosed("closed"), 410),
        (Replayed("sent already"), 409),
        (errors.CxError("other"), 400),
    ],
)
def test_errors_carry_their_status(error: errors.CxError, status: int) -> None:
    assert error.status == status


def test_the_handler_answers_with_the_status_and_headers() -> None:
    from fastapi.testclient import TestClient

    from cxchange.api import create_app

    app = create_app("sqlite://")

    @app.get("/api/boom/{kind}", include_in_schema=False)
    def boom(kind: str) -> None:
        raise {"auth": errors.AuthError("sign in"), "rate": errors.RateLimitError("slow down", 2.5),
               "busy": errors.BusyError("busy"), "gone": errors.NoDataError("nothing")}[kind]  # fmt: skip

    client = TestClient(app)
    auth = client.get("/api/boom/auth")
    assert auth.status_code == 401 and auth.headers["WWW-Authenticate"] == "Bearer"
    rate = client.get("/api/boom/rate")
    assert rate.status_code == 429 and rate.headers["Retry-After"] == "3"
    assert rate.json() == {"detail": "slow down: try again in 3 s"}
    busy = client.get("/api/boom/busy")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert client.get("/api/boom/gone").status_code == 404


if __name__ == "__main__":
    n, gaps = without_response_schema()
    print(f"{n} operations under /api; {len(gaps)} without a response schema that names fields")
    print("\n".join(gaps))
