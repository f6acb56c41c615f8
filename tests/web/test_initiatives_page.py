"""The Initiatives pages in a real browser: create through the form, the framework stepper, the RACI
check shown in place, the pilot's outcome chart, readiness limited to a manager's units, and refusals."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from cxchange.demo import TRUTH

from .conftest import screenshot, sign_in

PILOT_NAME = "Queue-busting pilot (web)"


def _people(web_db: str) -> list[str]:
    from cxchange.core.db import get_engine
    from cxchange.org.models import Person

    with get_engine(web_db).connect() as conn:
        return list(conn.execute(select(Person.email).order_by(Person.email).limit(3)).scalars())


def pilot_initiative(api: Any, live_server: str, web_db: str) -> int:
    """The demo's planted pilot (R-NORTH vs control R-SOUTH from its start) as an initiative, once."""
    with api(live_server, "lead") as lead:
        found = [r for r in lead.get("/api/initiatives").json() if r["name"] == PILOT_NAME]
        if found:
            return int(found[0]["id"])
        sponsor, owner = _people(web_db)[:2]
        res = lead.post(
            "/api/initiatives",
            json={
                "name": PILOT_NAME,
                "framework": "kotter",
                "sponsor": sponsor,
                "owner": owner,
                "units": [TRUTH["pilot"]["pilot_unit"], TRUTH["pilot"]["control_unit"]],
                "pilot_units": [TRUTH["pilot"]["pilot_unit"]],
                "control_units": [TRUTH["pilot"]["control_unit"]],
                "start": TRUTH["pilot"]["start"],
                "vision": "Nobody waits more than five minutes.",
            },
        )
        assert res.status_code == 201, res.text
        ini = int(res.json()["id"])
        res = lead.post(f"/api/initiatives/{ini}/metrics", json={"metric": "nps", "target": "+5"})
        assert res.status_code == 201, res.text
        return ini


def test_lead_creates_an_initiative_moves_a_step_and_sees_the_raci_error_in_place(
    browser: Any, live_server: str, web_db: str
) -> None:
    a, b, _ = _people(web_db)
    page = sign_in(browser, live_server, "lead")
    # the Decide page links here with the theme and a name
    page.goto("/initiatives/new?theme=Waiting%20time&name=Shorter%20queues%20(web)")
    assert page.input_value("#f-name") == "Shorter queues (web)"
    assert page.input_value("#f-theme") == "Waiting time"
    page.select_option("#f-framework", "kotter")
    page.fill("#f-vision", "<script>window.__pwned = 1</script> Nobody waits")
    page.fill("#f-sponsor", a)
    page.fill("#f-owner", b)
    page.select_option("#f-units", ["R-NORTH", "R-SOUTH"])
    page.select_option("#f-pilot_units", ["R-NORTH"])
    page.select_option("#f-control_units", ["R-SOUTH"])
    page.fill("#f-start", "2026-05-04")
    page.click("form.ini-form button[type=submit]")
    page.wait_for_url(re.compile(r"/initiatives/\d+$"))
    assert page.inner_text("h1") == "Shorter queues (web)"
    assert "<script>window.__pwned = 1</script>" in page.inner_text(".vision")  # shown as text
    assert page.evaluate("window.__pwned") is None

    # stepper: step 1 is current; marking it done moves the current step to 2
    first = page.locator("li.step").nth(0)
    assert first.get_attribute("aria-current") == "step"
    assert "1 of" not in page.inner_text("#steps-count")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Mark step 1 done")).click()
    assert page.url.endswith("#steps")
    assert "step-done" in (page.locator("li.step").nth(0).get_attribute("class") or "")
    assert page.locator("li.step").nth(1).get_attribute("aria-current") == "step"
    assert page.inner_text("#steps-count").startswith("1 of 8 done")

    # RACI: one activity with A and R is fine ...
    for person, letter in ((a, "A"), (b, "R")):
        if not page.locator("#raci-add").is_visible():
            page.click("#raci summary")
        page.fill("#r-activity", "Approve budget")
        page.fill("#r-person", person)
        page.select_option("#r-letter", letter)
        with page.expect_navigation():
            page.click("#raci-add button[type=submit]")
        assert page.url.endswith("#raci")
    row = page.locator('tr[data-activity="Approve budget"]')
    assert "raci-error" not in (row.get_attribute("class") or "")
    assert page.inner_text("#raci-summary").startswith("0 errors")
    screenshot(page, "initiative")

    # ... two Accountables break it, and the error shows on that row
    row.get_by_label(f"{b} on Approve budget").select_option("A")
    assert "Unsaved" in page.inner_text("#raci-unsaved")
    with page.expect_navigation():
        page.click("#raci-form button[type=submit]")
    assert page.url.endswith("#raci")
    row = page.locator('tr[data-activity="Approve budget"]')
    assert "raci-error" in (row.get_attribute("class") or "")
    assert "2 people accountable" in row.locator("td.finding").inner_text()
    assert "no R" in row.locator("td.finding").inner_text()
    assert page.inner_text("#raci-summary").startswith("2 errors")
    row.scroll_into_view_if_needed()
    screenshot(page, "initiative-raci-error")

    # fixing it clears the row
    row.get_by_label(f"{b} on Approve budget").select_option("R")
    with page.expect_navigation():
        page.click("#raci-form button[type=submit]")
    assert page.url.endswith("#raci")
    assert "raci-error" not in (
        page.locator('tr[data-activity="Approve budget"]').get_attribute("class") or ""
    )
    page.context.close()


def test_pilot_initiative_shows_the_outcome_chart_and_verdict(
    browser: Any, live_server: str, web_db: str, api: Any
) -> None:
    ini = pilot_initiative(api, live_server, web_db)
    page = sign_in(browser, live_server, "lead")
    page.goto(f"/initiatives/{ini}#measures")
    page.wait_for_selector("#measures svg.main-svg")
    verdict = page.inner_text("#measures [data-testid=verdict]").lower()
    assert any(v in verdict for v in ("improved", "no evidence of change", "worse", "cannot tell"))
    assert "difference-in-differences" in page.inner_text("#measures .outcome-table")
    assert "nps" in page.inner_text("table.measures")  # the success measure, baseline → now → target

    page.set_viewport_size({"width": 390, "height": 844})  # phone
    page.goto(f"/initiatives/{ini}")
    page.wait_for_selector("#measures svg.main-svg")
    assert page.evaluate("document.documentElement.scrollWidth") <= 392  # no sideways page scroll
    screenshot(page, "initiative-phone")
    page.context.close()


def test_readiness_shows_only_the_managers_units(
    browser: Any, live_server: str, web_db: str, api: Any
) -> None:
    ini = pilot_initiative(api, live_server, web_db)
    rows = ["unit,awareness,desire,knowledge,ability,reinforcement"]
    for store in ("S-NOR-01", "S-NOR-02", "S-SOU-01", "S-SOU-02"):
        rows += [f"{store},{2 + i % 3},4,{3 + i % 2},4,5" for i in range(6)]
    with api(live_server, "lead") as lead:
        res = lead.post(
            f"/api/initiatives/{ini}/readiness",
            content="\n".join(rows),
            headers={"Content-Type": "text/csv"},
        )
        assert res.status_code == 201, res.text

        html = lead.get(f"/initiatives/{ini}").text
        assert 'data-group="S-NOR-01"' in html and 'data-group="S-SOU-01"' in html  # the lead sees all

    page = sign_in(browser, live_server, "manager")
    page.goto(f"/initiatives/{ini}#readiness")
    groups = page.locator("table.readiness-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.group)"
    )
    assert groups and all(g.startswith(("S-NOR", "R-NORTH")) for g in groups), groups
    assert "S-SOU-01" not in page.inner_text("#readiness")
    # the comparison with R-SOUTH is not the manager's to see; and no write forms
    assert page.locator("#measures svg.main-svg").count() == 0
    assert page.locator("#raci-form, #raci-add, form[action$='/steps/urgency']").count() == 0
    page.context.close()


def test_forms_are_refused_without_the_permission_and_other_units_are_403(
    live_server: str, web_db: str, api: Any
) -> None:
    ini = pilot_initiative(api, live_server, web_db)
    sponsor, owner = _people(web_db)[:2]
    with api(live_server, "lead") as lead:
        res = lead.post(
            "/api/initiatives",
            json={"name": "South only (web)", "framework": "adkar", "sponsor": sponsor, "owner": owner,
                  "units": ["R-SOUTH"], "start": "2026-09-01"},
        )  # fmt: skip
        south = res.json()["id"] if res.status_code == 201 else None
        if south is None:
            south = next(
                r["id"] for r in lead.get("/api/initiatives").json() if r["name"] == "South only (web)"
            )
        # a mistake in the form comes back with the message and what was typed
        form = {"name": "No units (web)", "framework": "kotter", "sponsor": sponsor, "owner": owner}
        bad = lead.post("/initiatives/new", data={**form, "start": "2026-09-01"})
        assert bad.status_code == 400 and "--units needs at least one unit code" in bad.text
        assert 'value="No units (web)"' in bad.text
    with api(live_server, "viewer") as viewer:
        page = viewer.get(f"/initiatives/{ini}")
        assert page.status_code == 200 and "Save RACI" not in page.text and "Mark done" not in page.text
        assert viewer.get("/initiatives/new").status_code == 403
        assert viewer.post(f"/initiatives/{ini}/steps/urgency", data={"status": "done"}).status_code == 403
        assert viewer.post(f"/initiatives/{ini}/raci/cell", data={"activity": "x"}).status_code == 403
    with api(live_server, "manager") as manager:
        listed = manager.get("/initiatives").text
        assert PILOT_NAME in listed and "South only (web)" not in listed
        assert manager.get(f"/initiatives/{south}").status_code == 403
        assert manager.post(f"/initiatives/{ini}/agents", data={"person": sponsor}).status_code == 403
    # nobody signed in: to the sign-in page
    with httpx.Client(base_url=live_server) as anon:
        assert anon.get(f"/initiatives/{ini}", follow_redirects=False).status_code == 303  # to /login
