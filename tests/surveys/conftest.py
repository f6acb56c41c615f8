"""A small organisation and a signed-in API client on a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

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


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive messages: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        def say(s: str) -> None:
            self.wfile.write((s + "\r\n").encode())

        say("220 test ESMTP")
        data, lines = False, []
        while raw := self.rfile.readline():
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    self.server.messages.append("\n".join(lines))  # type: ignore[attr-defined]
                    lines = []
                    say("250 OK queued")
                else:
                    lines.append(line[1:] if line.startswith("..") else line)
                continue
            verb = line[:4].upper()
            replies = {"HELO": "250 test", "EHLO": "250 test", "DATA": "354 end with .", "QUIT": "221 bye"}
            say(replies.get(verb, "250 OK" if verb in ("MAIL", "RCPT", "RSET", "NOOP") else "502 no"))
            data = data or verb == "DATA"
            if verb == "QUIT":
                return


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local SMTP server started by the test; the app's settings point at it."""
    from cxchange.core.config import get_settings

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    settings = get_settings()
    monkeypatch.setattr(settings, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(settings, "smtp_port", server.server_address[1])
    monkeypatch.setattr(settings, "public_url", "https://cx.example.test")
    yield server
    server.shutdown()
    server.server_close()
