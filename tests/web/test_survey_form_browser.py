"""The respondent's page in a real browser at 390 px and 1280 px: no horizontal scrolling, nothing the
Content-Security-Policy blocks, answerable with the keyboard alone, and the answer lands."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import screenshot


@pytest.fixture
def survey_server(tmp_path: Path, cxchange_server: Any) -> Any:
    from cxchange.core.db import get_engine
    from cxchange.listen.surveys.service import create_survey
    from cxchange.listen.surveys.spec import SurveySpec
    from cxchange.org.tree import import_org_rows

    db = tmp_path / "form.db"
    url = f"sqlite:///{db}"
    engine = get_engine(url)
    import_org_rows(
        engine, [{"code": "CO", "name": "Co", "parent": ""}, {"code": "U1", "name": "U", "parent": "CO"}], []
    )
    links = create_survey(engine, SurveySpec(name="Visit", kind="nps", units=["U1"]))["links"]
    engine.dispose()
    with cxchange_server(["--db", url], tmp_path / "server.log", {"CXCHANGE_DATABASE_URL": url}) as (base, _):
        yield base, links[0]["url"][links[0]["url"].index("/s/") :], db


@pytest.mark.parametrize("width", [390, 1280])
def test_the_form_fits_and_answers_by_keyboard(browser: Any, survey_server: Any, width: int) -> None:
    base, path, db = survey_server
    context = browser.new_context(base_url=base, viewport={"width": width, "height": 800})
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(path)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    buttons = page.locator(".options label")
    assert buttons.count() == 11
    box = buttons.first.bounding_box()
    assert box and box["height"] >= 44  # a thumb-sized target
    screenshot(page, f"survey-form-{width}")
    page.focus("#score-0")
    for _ in range(9):
        page.keyboard.press("ArrowRight")  # radio group: arrows move the choice
    assert page.locator("#score-9").is_checked()
    page.fill("#comment", "<b>not bold</b>")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: url.endswith("/thanks"))
    assert "Thank you" in page.content() and not blocked
    context.close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM feedback WHERE nps = 9").fetchone()[0] >= 1
    conn.close()
