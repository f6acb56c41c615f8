"""Sign-in for the HTTP app: who is calling (Bearer token or session cookie), CSRF, login rate limit.

Sessions are a signed cookie (itsdangerous) naming a server-side session (table app_session) and holding
a CSRF token and a fingerprint of the password hash: signing out or changing the password ends the
session on the server, so an old cookie no longer answers. Requests authenticated by cookie must also
prove the CSRF token on anything that changes data
(form field `csrf_token` or header `X-CSRF-Token`); Bearer-token requests carry no ambient credential.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, URLSafeTimedSerializer

from cxchange.auth import service
from cxchange.auth.roles import permission_for_write
from cxchange.auth.scope import UserScope
from cxchange.auth.throttle import client_address as resolve
from cxchange.auth.throttle import request_wait
from cxchange.core.config import get_settings
from cxchange.core.deps import engine
from cxchange.core.errors import AuthError, BusyError, ForbiddenError, RateLimitError

SESSION_COOKIE = "cx_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_API_PATHS = frozenset({"/api/health"})


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(service.secret_key(engine()), salt="cxchange-session")


def make_session(user: dict[str, Any]) -> tuple[str, str]:
    """(cookie value, csrf token) for a freshly signed-in user, with a new server-side session."""
    csrf = secrets.token_urlsafe(24)
    sid = service.start_session(engine(), user["id"], get_settings().session_hours)
    data = {"uid": user["id"], "sid": sid, "csrf": csrf, "fp": user["fingerprint"]}
    return _serializer().dumps(data), csrf


def end_session(request: Request) -> None:
    """Sign-out: the session named by the request's cookie ends on the server."""
    data = _session(request)
    if data and data.get("sid"):
        service.end_session(engine(), str(data["sid"]))


def client_address(request: Request) -> str:
    """The caller's address: X-Forwarded-For counts only when the direct peer is a trusted proxy."""
    peer = request.client.host if request.client else None
    return resolve(peer, request.headers.get("x-forwarded-for"), get_settings().trusted_proxies)


def set_session_cookie(response: Any, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=get_settings().session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _session(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=get_settings().session_hours * 3600)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def _resolve(request: Request) -> tuple[dict[str, Any] | None, str | None]:
    """(user, csrf token of the session or None for token auth); cached on the request."""
    if hasattr(request.state, "auth"):
        return request.state.auth  # type: ignore[no-any-return]
    found: tuple[dict[str, Any] | None, str | None] = (None, None)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = service.user_for_token(engine(), header[7:].strip())
        found = (user, None)
    else:
        data = _session(request)
        # A cookie without a live server-side session (signed out, password changed) signs nobody in.
        live = data and data.get("sid") and service.session_user_id(engine(), str(data["sid"]))
        if data and live is not None and live == data.get("uid"):
            user = service.load_user(engine(), int(data.get("uid", 0)))
            if user and hmac.compare_digest(str(data.get("fp", "")), user["fingerprint"]):
                found = (user, str(data.get("csrf", "")))
    request.state.auth = found
    return found


def optional_user(request: Request) -> dict[str, Any] | None:
    return _resolve(request)[0]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, for templates (empty when not signed in by cookie)."""
    return _resolve(request)[1] or ""


async def verify_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated change without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    user, expected = _resolve(request)
    if user is None or expected is None:
        return  # token auth (no ambient credential) or unauthenticated (refused elsewhere)
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = str((await request.form()).get("csrf_token") or "")
    if not sent or not hmac.compare_digest(sent, expected):
        raise ForbiddenError("missing or wrong CSRF token: reload the page and try again")


def current_scope(request: Request) -> UserScope:
    """The caller's scope; raises AuthError (401 / redirect to sign-in) when nobody is signed in."""
    if hasattr(request.state, "cx_scope"):
        return request.state.cx_scope  # type: ignore[no-any-return]
    user = optional_user(request)
    if user is None:
        raise AuthError("sign in, or send Authorization: Bearer TOKEN (`cxchange token create EMAIL`)")
    scope = UserScope.for_user(engine(), user)
    request.state.cx_scope = scope
    return scope


# What a route or page takes to know who is calling: `scope: CallerScope`.
CallerScope = Annotated[UserScope, Depends(current_scope)]


def _route_takes_scope(request: Request) -> bool:
    return route_takes_scope(request.scope.get("route"))


def route_takes_scope(route: Any) -> bool:
    """The route depends (directly or through its dependencies) on `current_scope`, so it filters by it."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return False
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is current_scope:
            return True
        stack.extend(dep.dependencies)
    return False


def _app_path(request: Request) -> str:
    """The request path inside the app (without a proxy's root_path), e.g. /api/imports."""
    path, root = request.scope.get("path", ""), request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def api_guard(request: Request) -> None:
    """Every /api route but /api/health: signed in, allowed to write, CSRF-checked, scope-aware.

    A user limited to some units may only call routes that take a UserScope (and so filter by it):
    routes that don't are refused for them rather than trusted to be harmless.
    """
    if _app_path(request) in OPEN_API_PATHS:
        return
    scope = current_scope(request)
    if request.method not in SAFE_METHODS:
        # The request's own path, not the matched route's path_format: since FastAPI's lazily included
        # routers, scope["route"] is the router's original route, whose path lacks the "/api" prefix
        # (so every rule in roles.yaml missed and each write needed admin).
        scope.require(permission_for_write(request.method, _app_path(request)))
        await verify_csrf(request)
    if scope.scoped and not _route_takes_scope(request):
        raise ForbiddenError("not available to a user limited to some units")


_running = threading.BoundedSemaphore(get_settings().analysis_concurrency)  # at least 1: core/config.py


def rate_limited(kind: str) -> Callable[[Request], AsyncIterator[None]]:
    """A dependency for expensive analyses: counts `kind` requests per user per minute in the database
    (shared by every worker) and answers 429 with Retry-After over the limit; and runs at most
    CXCHANGE_ANALYSIS_CONCURRENCY analyses at once per process, answering 503 rather than piling up
    work (and memory) until the process dies."""

    async def check(request: Request) -> AsyncIterator[None]:
        user = optional_user(request)
        if user is not None:  # nobody signed in: refused by the route's own scope dependency
            settings = get_settings()
            limit = settings.simulate_per_minute if kind == "simulate" else settings.analysis_per_minute
            wait = await run_in_threadpool(request_wait, engine(), kind, int(user["id"]), limit)
            if wait > 0:
                raise RateLimitError(f"more than {limit} {kind} requests a minute", wait)
        if not _running.acquire(blocking=False):
            raise BusyError("the server is busy with other analyses: try again in a few seconds")
        try:
            yield
        finally:
            _running.release()

    return check
