"""The Surveys page (create, copy links, counts by unit and day, close) and pulses on the initiative page."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

PASSWORD = "correct-horse-battery"


def _browser(client: TestClient, engine: Engine, role: str) -> tuple[TestClient, str]:
    from cxchange.auth.service import add_user
    from cxchange.testing import login

    email = f"{role}@pages.test"
    add_user(engine, email, role, password=PASSWORD, actor="test")
    browser = TestClient(client.app)
    assert login(browser, email, PASSWORD).status_code == 303
    page = browser.get("/surveys")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return browser, token.group(1)


def test_create_copy_count_and_close_from_the_page(
    client: TestClient, org_engine: Engine, counter: Any
) -> None:
    browser, csrf = _browser(client, org_engine, "analyst")
    form = {
        "csrf_token": csrf,
        "name": "Store NPS",
        "kind": "nps",
        "units": "N1, N2",
        "question": "",
        "initiative": "",
    }
    made = browser.post("/surveys", data=form, follow_redirects=False)
    assert made.status_code == 303
    page = browser.get(made.headers["location"])
    assert page.status_code == 200 and "Store NPS" in page.text
    links = re.findall(r'class="link" readonly value="([^"]+)"', page.text)
    assert len(links) == 2 and all("/s/" in link for link in links)
    assert 'data-copy="link-1"' in page.text and '<script src="/static/surveys.js"' in page.text
    # One answer shows in the counts by unit and by day.
    public = TestClient(client.app)
    path = links[0][links[0].index("/s/") :]
    token = re.search(r'name="form_token" value="([^"]+)"', public.get(path).text)
    assert token
    assert (
        public.post(
            path, data={"form_token": token.group(1), "score": "10"}, follow_redirects=False
        ).status_code
        == 303
    )
    page = browser.get(made.headers["location"]).text
    assert "<td>N1</td><td>1</td>" in page
    # Without the CSRF token nothing is created; with it the survey closes.
    assert browser.post("/surveys", data={**form, "csrf_token": "", "name": "Other"}).status_code == 403
    survey_id = made.headers["location"].split("/")[2].split("?")[0]
    closed = browser.post(f"/surveys/{survey_id}/close", data={"csrf_token": csrf}, follow_redirects=False)
    assert closed.status_code == 303
    assert public.get(path).status_code == 410
    assert counter("survey") == 1


def test_a_bad_survey_is_shown_as_a_message_and_a_viewer_cannot_create(
    client: TestClient, org_engine: Engine
) -> None:
    browser, csrf = _browser(client, org_engine, "analyst")
    form = {"csrf_token": csrf, "name": "Bad", "kind": "nps", "units": "NOWHERE"}
    page = browser.post("/surveys", data=form)
    assert page.status_code == 200 and "unknown unit" in page.text
    viewer, vcsrf = _browser(client, org_engine, "viewer")
    assert "New survey" not in viewer.get("/surveys").text
    assert viewer.post("/surveys", data={**form, "csrf_token": vcsrf, "units": ""}).status_code == 403


def test_the_initiative_page_lists_its_pulses(client: TestClient, org_engine: Engine) -> None:
    from cxchange.change.service import create

    ada = "ada@acme.test"
    ini = create(
        org_engine,
        name="Queue busting",
        framework="adkar",
        sponsor=ada,
        owner=ada,
        units=["N"],
        start="2026-01-01",
    )
    made = client.post(
        "/api/surveys", json={"name": "Pulse A", "kind": "adkar", "units": ["N1"], "initiative": ini["id"]}
    )
    assert made.status_code == 201
    browser, _ = _browser(client, org_engine, "admin")
    page = browser.get(f"/initiatives/{ini['id']}").text
    assert "Pulse surveys" in page and "Pulse A" in page


def test_the_survey_page_says_when_its_links_are_paths(
    client: TestClient, org_engine: Engine, monkeypatch: Any
) -> None:
    """Without CXCHANGE_PUBLIC_URL the Copy button copies a path; the page says so, and not otherwise."""
    from cxchange.core.config import get_settings

    browser, _ = _browser(client, org_engine, "analyst")
    made = client.post("/api/surveys", json={"name": "Paths", "kind": "nps", "units": ["N1"]}).json()
    page = browser.get(f"/surveys/{made['id']}").text
    assert 'value="/s/' in page and "CXCHANGE_PUBLIC_URL" in page
    monkeypatch.setattr(get_settings(), "public_url", "https://cx.example.test")
    page = browser.get(f"/surveys/{made['id']}").text
    assert 'value="https://cx.example.test/s/' in page and "CXCHANGE_PUBLIC_URL" not in page
