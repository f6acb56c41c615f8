"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from cxchange.auth.web import SESSION_COOKIE, login_limiter, make_session, set_session_cookie, verify_csrf
from cxchange.core.deps import engine
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a local path: never redirect a signed-in user to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Any:
    return render(request, "login.html", {"next": _safe_next(next), "email": None, "error": None})


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Any:
    from cxchange.auth.service import audit, authenticate

    client = request.client.host if request.client else "?"
    target = _safe_next(next)
    if login_limiter.blocked(client, email):
        ctx = {"next": target, "email": email, "error": "Too many failed sign-ins: wait a few minutes."}
        return render(request, "login.html", ctx, status_code=429)
    user = await run_in_threadpool(authenticate, engine(), email, password)
    if user is None:
        login_limiter.failed(client, email)
        await run_in_threadpool(audit, engine(), email[:320], "user.login_failed", client)
        ctx = {"next": target, "email": email, "error": "Wrong e-mail or password."}
        return render(request, "login.html", ctx, status_code=401)
    login_limiter.succeeded(client, email)
    cookie, _csrf = make_session(user)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, cookie)
    return response


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout() -> Any:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
