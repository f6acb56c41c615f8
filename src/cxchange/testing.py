"""For tests and scripts: an HTTP client for the app that is signed in with a fresh API token."""

from __future__ import annotations

import socketserver
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from cxchange.api import create_app
from cxchange.auth.service import add_user, create_token
from cxchange.core.db import get_engine

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def token_for(
    engine: Engine, role: str = "admin", units: Sequence[str] = (), email: str | None = None
) -> str:
    """A new user with `role` (and `units`) and an API token for them."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@test.local"
    add_user(engine, email, role, units=units, password=None, actor="test")
    return create_token(engine, email, name="test")


def signed_in_client(
    app_or_url: Any, engine: Engine | None = None, role: str = "admin", units: Sequence[str] = ()
) -> TestClient:
    """A TestClient sending `Authorization: Bearer …` for a new user of `role`."""
    from fastapi.testclient import TestClient

    if isinstance(app_or_url, str):
        engine = engine or get_engine(app_or_url)
        app = create_app(app_or_url)
    else:
        app = app_or_url
    if engine is None:
        from cxchange.core.deps import engine as app_engine

        engine = app_engine()
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {token_for(engine, role, units)}"
    return client


def login(client: Any, email: str, password: str, next: str = "/") -> Any:
    """Sign in through the form as a browser does: fetch it (for its CSRF token), then post it."""
    import re

    page = client.get("/login", params={"next": next}).text
    page = page[page.find('action="/login"') :]  # the sign-in form, not the header's sign-out form
    token = re.search(r'name="csrf_token" value="([^"]*)"', page)
    form = {"email": email, "password": password, "next": next, "csrf_token": token.group(1) if token else ""}
    return client.post("/login", data=form, follow_redirects=False)


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive messages: greeting, HELO/EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        def say(s: str) -> None:
            self.wfile.write((s + "\r\n").encode())

        say("220 test ESMTP")
        data = False
        lines: list[str] = []
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
            say(
                replies.get(
                    verb, "250 OK" if verb in ("MAIL", "RCPT", "RSET", "NOOP") else "502 not implemented"
                )
            )
            data = data or verb == "DATA"
            if verb == "QUIT":
                return


@contextmanager
def local_smtp_server() -> Iterator[Any]:
    """An SMTP server on a free local port, in a thread; each message received lands in `.messages`."""
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
