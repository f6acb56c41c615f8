"""ASGI middlewares guarding every request: a body-size limit enforced while the body arrives, and the
security headers of HTML pages.

The body limit counts bytes as they are received, before any route (or the multipart parser, which
spools uploads to disk) sees them: an oversized request is answered 413 without being stored.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cxchange.core.config import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Routes that take a file (imports, RACI and readiness CSVs): the upload limit; everything else (JSON,
# forms) the small one.
UPLOAD_PATHS = re.compile(
    r"^/(api/imports|api/feedback|api/ingest/[^/]+|import/upload|(api/)?initiatives/[^/]+/(readiness|raci/import))/?$"
)
# The public survey form (/s/TOKEN): one score and a comment; anything bigger is not an answer.
SURVEY_PATHS = re.compile(r"^/s/[^/]+/?$")
SURVEY_BODY_KB = 64

# No inline script anywhere (the pages' JSON sits in <script type="application/json">, which is data);
# inline style stays allowed because Plotly sets styles on the elements it draws.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# /docs and /redoc (fastapi-offline) start Swagger UI / ReDoc with an inline script: they get their own,
# looser policy, still same-origin only and never framed.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def body_limit(path: str) -> tuple[int, str]:
    """(bytes allowed, the setting that changes it) for a request to `path`."""
    s = get_settings()
    if SURVEY_PATHS.match(path):
        return SURVEY_BODY_KB * 1024, f"{SURVEY_BODY_KB} kB (a survey answer)"
    if UPLOAD_PATHS.match(path):
        return s.max_upload_mb * 1024 * 1024, f"{s.max_upload_mb} MB (CXCHANGE_MAX_UPLOAD_MB)"
    return s.max_body_kb * 1024, f"{s.max_body_kb} kB (CXCHANGE_MAX_BODY_KB)"


async def _send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class _HttpMiddleware(ABC):
    """Pure ASGI middleware that acts on HTTP requests (`http`) and passes the rest (lifespan) through."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    @abstractmethod
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class BodyLimitMiddleware(_HttpMiddleware):
    """413 for a body over its route's limit (declared or counted as it arrives); 400 for a NUL in the URL."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            # PostgreSQL cannot store or compare a NUL: refuse it at the door rather than answer 500.
            await _send_error(send, 400, "a NUL character (%00) in the address")
            return
        limit, setting = body_limit(scope.get("path", ""))
        message = f"the request body is larger than {setting}"
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_error(send, 413, message if declared.isdigit() else "bad Content-Length")
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            # Past the limit: answer 413 at once and tell the app the client went away, so whatever was
            # reading (JSON, the multipart parser spooling to disk) stops. Raising here instead would reach
            # FastAPI wrapped in an exception group by the middleware in between, and become a 400.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit and not started:
                    refused = True
                    await _send_error(send, 413, message)
                    return {"type": "http.disconnect"}
            return msg

        async def watching_send(msg: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; what the app answers to the "disconnect" is dropped
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counting_receive, watching_send)
        except Exception:
            if not refused:
                raise  # the app's error, not ours: its own handling (500) applies


class SecurityHeadersMiddleware(_HttpMiddleware):
    """CSP, framing, referrer and MIME-sniffing headers; a response's own CSP (the report's) is kept."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else PAGE_CSP

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    extra += [(b"content-security-policy", csp.encode()), (b"x-frame-options", b"DENY")]
                headers += [(k, v) for k, v in extra if k not in names]
                msg = {**msg, "headers": headers}
            await send(msg)

        await self.app(scope, receive, send_with_headers)
