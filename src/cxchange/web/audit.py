"""Record successful changes made over HTTP (pages and API) in the audit log, with who made them."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from cxchange.web.guards import _HttpMiddleware

# First path segment (after /api) → what kind of change it is. Reads and what-if calls are not audited.
_KINDS = {
    "imports": "import",
    "import": "import",
    "themes": "taxonomy",
    "initiatives": "initiative",
    "cases": "case",
    "alerts": "alert",
    "users": "user",
    "sustain": "case",
    "feedback": "import",  # streaming ingest (POST /api/feedback); respondents' answers (/s/) are not audited
    "ingest": "import",
    "surveys": "survey",
}


def audit_kind(method: str, path: str) -> str | None:
    if method in ("GET", "HEAD", "OPTIONS"):
        return None
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "api":
        parts = parts[1:]
    kind = _KINDS.get(parts[0]) if parts else None
    return f"{kind}.{method.lower()}" if kind else None


class AuditMiddleware(_HttpMiddleware):
    """Pure ASGI, not Starlette's BaseHTTPMiddleware: that one runs every request (a survey answer, a page
    load) through an extra task and a memory stream, which cost more CPU than the respondent's whole
    answer; reads are passed straight through."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        action = audit_kind(scope.get("method", "GET"), scope.get("path", ""))
        if action is None:
            await self.app(scope, receive, send)
            return
        status = 500

        async def watching_send(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = int(msg["status"])
            await send(msg)

        await self.app(scope, receive, watching_send)
        if status < 400:
            auth = scope.get("state", {}).get("auth")
            actor = auth[0]["email"] if auth and auth[0] else "anonymous"
            from starlette.concurrency import run_in_threadpool

            from cxchange.auth.service import audit
            from cxchange.core.deps import engine

            await run_in_threadpool(audit, engine(), actor, action, scope["path"], status=status)
