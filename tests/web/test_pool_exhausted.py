"""A connection pool exhausted under load: requests wait db_pool_timeout seconds, then answer 503 with
Retry-After (API and pages alike), and the server answers normally once a connection is free."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cxchange.api import create_app
from cxchange.core.config import get_settings
from cxchange.core.db import get_engine
from cxchange.testing import token_for


@pytest.fixture
def one_connection_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CXCHANGE_DB_POOL_SIZE", "1")
    monkeypatch.setenv("CXCHANGE_DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("CXCHANGE_DB_POOL_TIMEOUT", "0.5")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def pool_limited_url(request: pytest.FixtureRequest, tmp_path, one_connection_pool) -> Iterator[str]:  # type: ignore[no-untyped-def]
    # A URL of its own: engines are cached per URL, and this one must be made with the small pool.
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pool.db'}"
        return
    with request.getfixturevalue("postgres_databases")("cxchange_pool_") as url:
        yield url


def test_exhausted_pool_answers_503_then_recovers(pool_limited_url: str) -> None:
    engine = get_engine(pool_limited_url)
    assert engine.pool.size() == 1  # type: ignore[attr-defined]
    token = token_for(engine, "admin")
    client = TestClient(create_app(pool_limited_url))
    client.headers["Authorization"] = f"Bearer {token}"

    held = engine.connect()  # a long request holding the only connection
    try:
        started = time.monotonic()
        api = client.get("/api/health")
        waited = time.monotonic() - started
        assert api.status_code == 503
        assert api.headers["Retry-After"]
        assert "connection" in api.json()["detail"]
        assert waited < 5, f"the request waited {waited:.1f} s (pool timeout 0.5 s)"

        page = client.get("/")
        assert page.status_code == 503
        assert page.headers["Retry-After"]
    finally:
        held.close()

    assert client.get("/api/health").status_code == 200
    engine.dispose()
