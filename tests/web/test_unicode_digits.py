"""'²'.isdigit() is True but int('²') raises: parameters that look numeric must answer 4xx, never 500."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cxchange.testing import signed_in_client

PATHS = [
    "/feedback?theme=²",
    "/feedback?nps_min=²",
    "/feedback?older=²:²",
    "/api/scores?by=org:²",
    "/api/emerging?window=²d",
    "/api/initiatives/²",
    "/themes/²",
]


@pytest.mark.parametrize("path", PATHS)
def test_superscript_digits_are_client_errors(demo_engine: Engine, path: str) -> None:
    client = signed_in_client(demo_engine.url.render_as_string(hide_password=False), demo_engine)
    got = client.get(path)
    assert 400 <= got.status_code < 500, (path, got.status_code, got.text[:200])
