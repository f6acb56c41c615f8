"""Record successful changes made over HTTP (pages and API) in the audit log, with who made them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

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


async def audit_writes(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    action = audit_kind(request.method, request.url.path)
    if action and response.status_code < 400:
        auth = request.scope.get("state", {}).get("auth")
        actor = auth[0]["email"] if auth and auth[0] else "anonymous"
        from starlette.concurrency import run_in_threadpool

        from cxchange.auth.service import audit
        from cxchange.core.deps import engine

        await run_in_threadpool(audit, engine(), actor, action, request.url.path, status=response.status_code)
    return response
