"""The respondent's page: GET/POST /s/TOKEN, public (no sign-in), no script, its own small stylesheet.

Thin: the survey service opens the link, checks the posted form and stores the answer; this module
only turns its outcome into a page (303 to the thank-you page, or the form again with the reason).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxchange.auth.web import client_address
from cxchange.core.deps import engine
from cxchange.core.errors import CxError
from cxchange.listen.surveys.answers import open_form, page_strings, submit
from cxchange.listen.surveys.invitations import check_unsubscribe, unsubscribe
from cxchange.listen.surveys.service import strings
from cxchange.web.common import templates

router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates().TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # each load carries its own one-time form token
    return response


def _message(
    request: Request, strings: dict[str, str], title_key: str, body: str, status: int
) -> HTMLResponse:
    return _page(
        request, "respond_message.html", {"s": strings, "title": strings[title_key], "body": body}, status
    )


def _failure(request: Request, exc: CxError, s: dict[str, str] | None = None) -> HTMLResponse:
    """The refusal as a page in the survey's language (`s`; English when the link opens nothing)."""
    s = s or strings("en")
    status = exc.status
    titles = {404: ("unknown_title", s["unknown_body"]), 410: ("closed_title", s["closed_body"]),
              409: ("answered_title", str(exc))}  # fmt: skip
    key, body = titles.get(status, ("error_title", str(exc)))
    response = _message(request, s, key, body, status)
    # Only Retry-After: an unauthenticated respondent is not asked for a bearer token.
    if "Retry-After" in exc.headers():
        response.headers["Retry-After"] = exc.headers()["Retry-After"]
    return response


@router.get("/s/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    """A button, not a GET that unsubscribes: mail scanners follow links by themselves."""
    s = strings("en")
    try:
        check_unsubscribe(engine(), token)
    except CxError as exc:
        return _failure(request, exc)
    return _page(request, "respond_unsubscribe.html", {"s": s, "token": token, "done": False})


@router.post("/s/unsubscribe/{token}")
def unsubscribe_post(request: Request, token: str) -> Response:
    try:
        unsubscribe(engine(), token)
    except CxError as exc:
        return _failure(request, exc)
    return _page(request, "respond_unsubscribe.html", {"s": strings("en"), "token": token, "done": True})


@router.get("/s/{token}")
async def form(request: Request, token: str) -> Response:
    try:
        f = await run_in_threadpool(open_form, engine(), token)
    except CxError as exc:
        return _failure(request, exc, await run_in_threadpool(page_strings, engine(), token))
    return _page(request, "respond.html", {"f": f, "s": f.strings, "token": token, "error": None})


@router.post("/s/{token}")
async def answer(request: Request, token: str) -> Response:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _failure(request, CxError("send the form as application/x-www-form-urlencoded"))
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        await run_in_threadpool(submit, engine(), token, form, client=client_address(request))
    except CxError as exc:
        return _failure(request, exc, await run_in_threadpool(page_strings, engine(), token))
    return RedirectResponse(f"/s/{token}/thanks", status_code=303)


@router.get("/s/{token}/thanks")
def thanks(request: Request, token: str) -> Response:
    s = page_strings(engine(), token)
    return _message(request, s, "thanks_title", s["thanks_body"], 200)
