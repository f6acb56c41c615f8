"""Page by page: what a manager of R-NORTH gets from the web UI.

Every page route of the app is either public by design (PUBLIC: signing in and out, static assets, the
survey respondent's pages) or
takes the user's scope (`current_scope` in its dependencies), so it filters through `UserScope`. Every
GET page is then requested as the manager: it answers 200 without another region's store codes, or 403;
pages that name one thing (an initiative, a case, a unit) refuse another region's with 403 or 404.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.web.scoping_world import NORTH, World

from cxchange.auth.web import route_takes_scope

# What a page cannot do without (its form fills it in).
REQUIRED = {"/decide/business-case": {"theme": "Waiting time"}}
# Pages anyone may reach: the sign-in form and its post, signing out, the vendored chart library, and
# the survey respondent's pages, which need no sign-in by design and act only on their signed link.
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/vendor/plotly.min.js"),
    ("GET", "/s/{token}"),
    ("POST", "/s/{token}"),
    ("GET", "/s/{token}/thanks"),
    ("GET", "/s/unsubscribe/{token}"),
    ("POST", "/s/unsubscribe/{token}"),
}


pytestmark = pytest.mark.usefixtures("world_database")


def _page_routes(world: World) -> list[tuple[str, str, Any]]:
    """(METHOD, path template, route) of every route outside /api and /static."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: Any = list(iter_route_contexts(world.app.routes))
    except ImportError:  # FastAPI before lazily included routers: app.routes is already flat
        routes = list(world.app.routes)
    out = []
    for route in routes:
        path = getattr(route, "path", None) or ""
        if path.startswith(("/api", "/static")) or path in ("/openapi.json", "/docs", "/redoc"):
            continue
        if path.startswith("/docs/"):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method not in ("HEAD", "OPTIONS"):
                out.append((method, path, route))
    return sorted(out, key=lambda r: (r[1], r[0]))


def _foreign_stores(w: World) -> set[str]:
    """Store codes of the other regions: no page shown to the manager may name one."""
    return {c for c in w.codes - w.north if c.startswith("S-")}


def _leaks(w: World, text: str) -> set[str]:
    return {code for code in _foreign_stores(w) if re.search(rf"\b{re.escape(code)}\b", text)}


def test_every_page_is_public_by_design_or_takes_the_scope(world: World) -> None:
    routes = _page_routes(world)
    assert len(routes) > 30  # the enumeration itself works
    paths = {(m, p) for m, p, _ in routes}
    assert paths >= PUBLIC, f"public pages that no longer exist: {PUBLIC - paths}"
    unscoped = [f"{m} {p}" for m, p, r in routes if (m, p) not in PUBLIC and not route_takes_scope(r)]
    assert not unscoped, "pages that neither take the user's scope nor are public by design:\n" + "\n".join(
        unscoped
    )


def test_every_page_without_parameters_shows_the_manager_only_their_units(world: World) -> None:
    """GET each page as the manager: 200 with no other region's store in it, or 403."""
    checked, leaks = 0, []
    for method, path, _ in _page_routes(world):
        if method != "GET" or "{" in path or (method, path) in PUBLIC:
            continue
        response = world.manager.get(path, params=REQUIRED.get(path), follow_redirects=False)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        checked += 1
        found = _leaks(world, response.text)
        if found:
            leaks.append(f"{path}: {sorted(found)[:5]}")
    assert checked >= 8
    assert not leaks, "pages showing the manager another region's units:\n" + "\n".join(leaks)
    # the admin does see the other regions on the same pages: the check can fail
    assert _leaks(world, world.admin.get("/feedback", params={"page_size": 200}).text)


def _status(world: World, path: str, **params: Any) -> int:
    return world.manager.get(path, params=params, follow_redirects=False).status_code


def test_another_units_things_are_refused_by_id(world: World) -> None:
    assert _status(world, f"/initiatives/{world.south_initiative}") == 403
    assert _status(world, f"/sustain/cases/{world.south_case}") == 403
    assert _status(world, "/sustain", initiative=world.south_initiative) == 403
    assert _status(world, "/sustain", initiative=world.pilot_initiative) == 403  # compares with the south
    assert _status(world, "/report", unit="R-SOUTH", format="html") == 403
    assert _status(world, "/", unit="R-SOUTH") == 403
    assert _status(world, "/feedback", unit="R-SOUTH") == 403
    assert _status(world, "/feedback.csv", unit="R-SOUTH") == 403
    assert _status(world, "/sustain/cases", unit="R-SOUTH") == 403
    assert _status(world, "/initiatives/999999") == 404
    # their own are there
    assert _status(world, f"/sustain/cases/{world.north_case}") == 200
    assert _status(world, f"/initiatives/{world.shared_initiative}") == 200
    assert _status(world, "/sustain", initiative=world.north_initiative) == 200  # all its units are theirs


def test_writes_to_another_units_things_are_refused(world: World) -> None:
    """Every POST page naming an initiative or a case, sent by a change lead and a case worker limited to
    R-NORTH, for the south's: 403, and nothing changes."""
    from cxchange.change.service import show
    from cxchange.testing import signed_in_client

    lead = signed_in_client(world.app, world.engine, role="change-lead", units=[NORTH])
    before = show(world.engine, world.south_initiative)
    values = {"initiative": str(world.south_initiative), "case_id": str(world.south_case)}
    tried = 0
    for method, path, _ in _page_routes(world):
        if method != "POST" or not any(f"{{{k}}}" in path for k in values):
            continue
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), path)
        for client in (lead, world.manager):
            response = client.post(url, data={"status": "done", "vision": "not mine"}, follow_redirects=False)
            assert response.status_code == 403, (url, response.status_code, response.text[:300])
        tried += 1
    assert tried >= 10
    assert show(world.engine, world.south_initiative) == before


def test_initiative_page_withholds_comparisons_beyond_the_managers_units(world: World) -> None:
    from cxchange.change.service import comparison_note, show

    note = comparison_note(show(world.engine, world.pilot_initiative))
    page = world.manager.get(f"/initiatives/{world.pilot_initiative}")
    assert page.status_code == 200 and note in page.text.replace("&#39;", "'")
    assert note not in world.admin.get(f"/initiatives/{world.pilot_initiative}").text


def test_report_for_the_manager_holds_their_units_and_withholds_the_pilot_comparison(world: World) -> None:
    from cxchange.change.service import comparison_note, show

    note = comparison_note(show(world.engine, world.pilot_initiative))
    mine = world.manager.get("/report", params={"format": "html", "period": "2026-Q3"})
    assert mine.status_code == 200, mine.text[:300]
    assert "North pilot" in mine.text and note in mine.text
    assert not _leaks(world, mine.text)
    everyone = world.admin.get("/report", params={"format": "html", "period": "2026-Q3"})
    assert "North pilot" in everyone.text and note not in everyone.text
