"""A small organisation and a signed-in API client on a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cxchange.testing import local_smtp_server

UNITS = [
    {"code": "CO", "name": "Acme", "parent": "", "level": "company"},
    {"code": "N", "name": "North", "parent": "CO", "level": "region"},
    {"code": "N1", "name": "Leeds", "parent": "N", "level": "store"},
    {"code": "N2", "name": "York", "parent": "N", "level": "store"},
]


@pytest.fixture
def org_engine(engine: Engine) -> Engine:
    from cxchange.org.tree import import_org_rows

    people = [{"name": "Ada", "email": "ada@acme.test", "unit": "CO", "role": "exec"}]
    import_org_rows(engine, [dict(u) for u in UNITS], people)
    return engine


@pytest.fixture
def client(org_engine: Engine, db_url: str) -> TestClient:
    from cxchange.testing import signed_in_client

    return signed_in_client(db_url, org_engine, role="analyst")


@pytest.fixture
def public(client: TestClient) -> TestClient:
    """The same app without credentials: what a respondent's browser is."""
    anonymous = TestClient(client.app)
    return anonymous


def count(engine: Engine, table: str, where: str = "") -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar() or 0)


@pytest.fixture
def counter(org_engine: Engine) -> Any:
    return lambda table, where="": count(org_engine, table, where)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local SMTP server started by the test; the app's settings point at it."""
    from cxchange.core.config import get_settings

    with local_smtp_server() as server:
        settings = get_settings()
        monkeypatch.setattr(settings, "smtp_host", "127.0.0.1")
        monkeypatch.setattr(settings, "smtp_port", server.server_address[1])
        monkeypatch.setattr(settings, "public_url", "https://cx.example.test")
        yield server
