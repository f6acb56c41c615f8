"""What every page shares: templates with the signed-in user, CSRF token and navigation; error pages."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from cxchange.auth.web import csrf_token, optional_user

# (path, label, permission needed to see the link)
NAV = (
    ("/", "Overview", "read"),
    ("/feedback", "Feedback", "read"),
    ("/import", "Import", "import"),
    ("/themes", "Themes", "read"),
    ("/decide", "Decide", "read"),
    ("/initiatives", "Initiatives", "read"),
    ("/surveys", "Surveys", "read"),
    ("/sustain", "Sustain", "read"),
)
# Pages that span every unit (import batches, survey links and counts) refuse a user limited to some
# units: the menu does not offer them a page that can only say "not for your units".
WHOLE_STORE_PAGES = frozenset({"/import", "/surveys"})


def _tojson_script(value: Any) -> Markup:
    """JSON safe to place inside <script>: '<', '>' and '&' escaped so text cannot close the tag."""
    text = json.dumps(value, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    # Jinja2Templates autoescapes .html templates: feedback text is always rendered as text.
    t = Jinja2Templates(directory=str(resources.files("cxchange.web") / "templates"))
    t.env.filters["script_json"] = _tojson_script
    return t


def page_context(request: Request, look_up_user: bool = True) -> dict[str, Any]:
    user = optional_user(request) if look_up_user else None
    scope = getattr(request.state, "cx_scope", None)
    nav = []
    if user is not None:
        from cxchange.auth.roles import get_role

        role = get_role(user["role"])
        limited = scope.scoped if scope is not None else bool(user.get("units")) and user["role"] != "admin"
        nav = [
            (path, label)
            for path, label, perm in NAV
            if role.can(perm) and not (limited and path in WHOLE_STORE_PAGES)
        ]
    return {
        "user": user,
        "user_scope": scope,
        "csrf_token": csrf_token(request) if look_up_user else "",  # the token is tied to the signed-in user
        "nav": nav,
        "path": request.url.path,
    }


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    look_up_user: bool = True,
) -> HTMLResponse:
    ctx = {**page_context(request, look_up_user), **(context or {})}
    return templates().TemplateResponse(request, name, ctx, status_code=status_code)


def render_error(request: Request, status: int, message: str, look_up_user: bool = True) -> HTMLResponse:
    """The error page; `look_up_user=False` when the database cannot be asked who is signed in."""
    titles = {
        400: "That did not work", 403: "Not for your role or units", 404: "Not found",
        429: "Too many requests", 503: "Busy",
    }  # fmt: skip
    return render(
        request,
        "error.html",
        {"status": status, "title": titles.get(status, "Error"), "message": message},
        status_code=status,
        look_up_user=look_up_user,
    )
