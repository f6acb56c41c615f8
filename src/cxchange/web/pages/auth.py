"""Sign-in and sign-out pages."""

from __future__ import annotations

import hmac
import math
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from cxchange.auth import throttle
from cxchange.auth.service import audit, authenticate
from cxchange.auth.web import (
    SESSION_COOKIE,
    client_address,
    end_session,
    make_session,
    set_session_cookie,
    verify_csrf,
)
from cxchange.core.deps import engine
from cxchange.core.names import control_character
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a local path: never redirect a signed-in user to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


LOGIN_CSRF_COOKIE = "cx_login_csrf"


def _login_page(request: Request, context: dict[str, Any], status_code: int = 200) -> Any:
    """The sign-in form with a fresh CSRF token, also set as a cookie (double submit): a third-party
    site cannot sign a visitor in to an account of its choosing."""
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {**context, "login_csrf": token}, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/login",
    )  # fmt: skip
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Any:
    return _login_page(request, {"next": _safe_next(next), "email": None, "error": None})


class SignIn(BaseModel):
    """The sign-in form as posted: where to go after it, and the token of the cookie set with the form."""

    email: str
    password: str
    next: str = "/"
    csrf_token: str = ""


@router.post("/login")
async def login(request: Request, form: Annotated[SignIn, Form()]) -> Any:
    client = client_address(request)
    email, password, csrf_token = form.email, form.password, form.csrf_token
    target = _safe_next(form.next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
        ctx: dict[str, Any] = {
            "next": target,
            "email": email,
            "error": "The sign-in form expired: please try again.",
        }
        return _login_page(request, ctx, status_code=403)
    if control_character(email) or len(email) > 320:  # never stored, counted or audited (NUL: a 500)
        ctx = {"next": target, "email": None, "error": "That is not an e-mail address."}
        return _login_page(request, ctx, status_code=400)
    wait = await run_in_threadpool(throttle.sign_in_wait, engine(), client, email)
    if wait > 0:
        minutes = f"{math.ceil(wait / 60)} minutes" if wait >= 90 else f"{math.ceil(wait)} seconds"
        ctx = {"next": target, "email": email, "error": f"Too many failed sign-ins: wait {minutes}."}
        response = _login_page(request, ctx, status_code=429)
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    user = await run_in_threadpool(authenticate, engine(), email, password)
    if user is None:
        await run_in_threadpool(throttle.sign_in_failed, engine(), client, email)
        await run_in_threadpool(audit, engine(), email[:320], "user.login_failed", client)
        ctx = {"next": target, "email": email, "error": "Wrong e-mail or password."}
        return _login_page(request, ctx, status_code=401)
    await run_in_threadpool(throttle.sign_in_succeeded, engine(), client, email)
    cookie, _csrf = await run_in_threadpool(make_session, user)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, cookie)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Any:
    end_session(request)  # the old cookie, if kept or stolen, no longer signs anyone in
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
