"""Sign-in, roles and the API's door, in a real browser and over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import PASSWORD, USERS, screenshot, sign_in


def test_sign_in_shows_the_overview_and_sign_out_ends_the_session(browser: Any, live_server: str) -> None:
    page = sign_in(browser, live_server, "admin")
    assert page.url.rstrip("/") == live_server
    screenshot(page, "overview-admin")
    page.click("header .signout button")
    page.wait_for_url("**/login")
    page.goto("/")
    assert "/login" in page.url  # the session is gone
    page.context.close()


def test_wrong_password_is_refused_without_telling_which_part(browser: Any, live_server: str) -> None:
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.goto("/login")
    page.fill("#email", USERS["admin"][0])
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert "Wrong e-mail or password" in page.inner_text("[role=alert]")
    screenshot(page, "login-error")
    context.close()


def test_api_needs_a_token_except_health(live_server: str, api: Any) -> None:
    assert httpx.get(live_server + "/api/health").status_code == 200
    bare = httpx.get(live_server + "/api/scores")
    assert bare.status_code == 401 and bare.headers["www-authenticate"] == "Bearer"
    assert httpx.get(live_server + "/api/scores", headers={"Authorization": "Bearer nope"}).status_code == 401
    with api(live_server, "viewer") as viewer:
        assert viewer.get("/api/scores").status_code == 200
        assert viewer.post("/api/initiatives", json={"name": "x"}).status_code == 403  # viewers read only


def test_login_is_rate_limited(live_server: str) -> None:
    from cxchange.testing import login

    with httpx.Client(base_url=live_server) as c:
        who = USERS["limited"][0]
        codes = [login(c, who, "wrong-wrong-1").status_code for _ in range(7)]
        assert codes[:5] == [401] * 5 and codes[-1] == 429
        # even the right password waits out the window
        assert login(c, who, PASSWORD).status_code == 429


def test_sign_in_form_needs_its_csrf_token(live_server: str) -> None:
    """Login CSRF: a form posted from another site (no token, or no matching cookie) is refused."""
    with httpx.Client(base_url=live_server) as c:
        forged = c.post("/login", data={"email": "lead@test.local", "password": PASSWORD})
        assert forged.status_code == 403 and "cx_session" not in forged.cookies
