"""Bounded work per request (body limits while streaming, capped lists, per-user rates), security headers
on every HTML page, no server paths in errors, and control characters refused in names. On a small
database made here (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cxchange.core.config import get_settings
from cxchange.testing import signed_in_client

CSV = b"id,When,NPS,Comment,Region\n1,2026-03-01,9,Friendly staff,North\n2,2026-03-02,3,Slow queue,South\n"


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def admin(db_url: str, engine: Engine, settings_env: pytest.MonkeyPatch) -> TestClient:
    from cxchange.api import create_app

    settings_env.setenv("CXCHANGE_MAX_UPLOAD_MB", "1")
    settings_env.setenv("CXCHANGE_MAX_BODY_KB", "64")
    settings_env.setenv("CXCHANGE_SIMULATE_PER_MINUTE", "3")
    return signed_in_client(create_app(db_url), engine, role="admin")


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A body without Content-Length (chunked): the limit must be enforced while it arrives."""
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


# --- body limits ---------------------------------------------------------------------------------


def test_oversized_json_is_refused_before_parsing(admin: TestClient) -> None:
    big = '{"fix": [' + ",".join(['"Waiting time"'] * 20_000) + "]}"
    response = admin.post("/api/simulate", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "CXCHANGE_MAX_BODY_KB" in response.json()["detail"]
    streamed = admin.post(
        "/api/simulate", content=_chunks(200_000), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert admin.get("/api/health").status_code == 200


def test_oversized_upload_is_refused_while_streaming_and_nothing_is_stored(
    admin: TestClient, engine: Engine
) -> None:
    from cxchange.listen.browse import list_batches

    body = CSV + b"3,2026-03-03,7," + b"x" * (2 * 1024 * 1024) + b",North\n"
    response = admin.post("/api/imports", files={"file": ("big.csv", body, "text/csv")}, data={"source": "s"})
    assert response.status_code == 413 and "CXCHANGE_MAX_UPLOAD_MB" in response.json()["detail"]
    page = admin.post("/import/upload", files={"file": ("big.csv", body, "text/csv")}, data={"source": "s"})
    assert page.status_code == 413  # the web page's upload too, before its CSRF check reads the form
    assert list_batches(engine) == []
    # under the upload limit (but over the JSON one) an upload goes through
    ok = admin.post("/api/imports", files={"file": ("ok.csv", CSV + b"#" * 100_000, "text/csv")},
                    data={"source": "s"})  # fmt: skip
    assert ok.status_code in (200, 400), ok.text  # read (or refused for its content), never 413
    assert ok.status_code != 413


# --- list parameters and rates -------------------------------------------------------------------


def test_list_parameters_are_capped(admin: TestClient) -> None:
    too_many = admin.post("/api/simulate", json={"fix": [f"T{i}" for i in range(51)]})
    assert too_many.status_code == 422 and "at most 50" in too_many.text
    assert "T50" not in too_many.text  # the refused list is not echoed back
    long_item = admin.post("/api/simulate", json={"fix": ["x" * 10_000]})
    assert long_item.status_code == 422
    wheres = admin.get("/api/drivers", params={"where": [f"unit=U{i}" for i in range(50)]})
    assert wheres.status_code == 422
    scores = admin.get("/api/scores", params={"where": [f"attr:a{i}=1" for i in range(50)]})
    assert scores.status_code == 400 and "at most" in scores.json()["detail"]


def test_simulate_is_rate_limited_per_user(admin: TestClient, db_url: str, engine: Engine) -> None:
    codes = [admin.post("/api/simulate", json={"fix": ["Nothing"]}).status_code for _ in range(3)]
    assert 429 not in codes and 500 not in codes
    limited = admin.post("/api/simulate", json={"fix": ["Nothing"]})
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    other = signed_in_client(admin.app, engine, role="viewer")
    assert other.post("/api/simulate", json={"fix": ["Nothing"]}).status_code != 429


# --- headers, paths, names -----------------------------------------------------------------------


def test_html_pages_carry_security_headers(admin: TestClient) -> None:
    for path in ("/", "/login", "/feedback", "/themes", "/import"):
        response = admin.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("style-src")[0], path
        assert "frame-ancestors 'none'" in csp and response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-content-type-options"] == "nosniff"
    docs = admin.get("/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert admin.get("/api/health").headers["x-content-type-options"] == "nosniff"


def test_templates_hold_no_inline_script() -> None:
    """The CSP forbids inline script: every <script> is a src= file or JSON data, no on*= handlers."""
    folder = resources.files("cxchange.web") / "templates"
    for template in folder.iterdir():
        html = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), template.name
        assert "javascript:" not in html, template.name


def test_import_errors_do_not_show_server_paths(admin: TestClient) -> None:
    response = admin.post(
        "/api/imports", files={"file": ("mine.csv", b"\x00\x01\x02garbage", "text/csv")}, data={"source": "s"}
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "/tmp" not in detail and "cxchange-upload" not in detail, detail


@pytest.mark.parametrize("name", ["bad\x00name", "esc\x1b[31mred", "line\nbreak", "bidi\u202eevil"])
def test_control_characters_in_names_are_refused(admin: TestClient, name: str) -> None:
    source = admin.post("/api/imports", files={"file": ("a.csv", CSV, "text/csv")}, data={"source": name})
    assert source.status_code == 400 and "control character" in source.json()["detail"]
    feedback = admin.get("/api/feedback", params={"where": f"attr:{name}=1"})
    assert feedback.status_code == 400, feedback.text
    assert admin.get("/api/health").status_code == 200


def test_analyses_beyond_the_process_share_answer_503(
    admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from cxchange.auth import web

    busy = threading.BoundedSemaphore(1)
    busy.acquire()  # another analysis holds the only slot
    monkeypatch.setattr(web, "_running", busy)
    response = admin.post("/api/simulate", json={"fix": ["Nothing"]})
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    busy.release()
    assert admin.post("/api/simulate", json={"fix": ["Nothing"]}).status_code != 503
    assert busy.acquire(blocking=False)  # the slot was given back after the request


def test_a_control_character_in_a_column_name_is_a_400(admin: TestClient) -> None:
    """The column becomes an attribute name: a NUL in it answered 500 on PostgreSQL."""
    csv = b"id,When,NPS,Comment,Reg\x00ion\n1,2026-03-01,9,ok,North\n"
    response = admin.post("/api/imports", files={"file": ("a.csv", csv, "text/csv")}, data={"source": "s"})
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "column 5" in detail and "a.csv" in detail and "/tmp" not in detail
