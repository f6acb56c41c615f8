"""The Sustain pages in a real browser: the pilot's outcome (chart, difference-in-differences, verdict),
scorecards and recognition, and a manager's cases queue limited to their units (update works, another
unit's case is 403)."""

from __future__ import annotations

import re
from typing import Any

from .conftest import screenshot, sign_in
from .test_initiatives_page import pilot_initiative


def test_sustain_shows_the_pilot_outcome_with_interval_and_verdict(
    browser: Any, live_server: str, web_db: str, api: Any
) -> None:
    ini = pilot_initiative(api, live_server, web_db)
    page = sign_in(browser, live_server, "admin")
    page.goto(f"/sustain?initiative={ini}&after=180d")
    page.wait_for_selector("#outcome svg.main-svg")
    assert page.locator("#outcome .js-plotly-plot .scatterlayer .trace").count() == 2  # pilot and control
    verdict = page.inner_text("#outcome [data-testid=verdict]")
    # the demo pilots one region against another: "cannot tell with this design", with no interval
    assert re.search(r"(improved|no evidence of change|worse|cannot tell with this design)", verdict, re.I)
    assert re.search(r"(95 % CI [-+]\d|no interval)", verdict) and "p = " in verdict
    table = page.inner_text("#outcome .outcome-table")
    assert "pilot (R-NORTH)" in table and "control (R-SOUTH)" in table
    # another window gives another estimate
    page.select_option("#o-after", "90d")
    with page.expect_navigation():
        page.click("#outcome form button[type=submit]")
    page.wait_for_selector("#outcome svg.main-svg")
    assert page.inner_text("#outcome [data-testid=verdict]") != verdict
    # scorecards with intervals, recognitions, alerts for an admin
    assert page.locator("table.cards tbody tr").count() > 10
    assert page.locator(".wall li").count() > 0
    assert page.locator("#alerts").count() == 1
    screenshot(page, "sustain")
    page.context.close()

    phone = sign_in(browser, live_server, "manager", viewport={"width": 390, "height": 844})
    phone.goto("/sustain")
    units = phone.locator("table.cards tbody tr").evaluate_all("rows => rows.map(r => r.dataset.unit)")
    assert units and all(u.startswith(("S-NOR", "R-NORTH")) for u in units), units
    assert phone.locator("#alerts").count() == 0  # alerts are for admins and analysts
    assert phone.evaluate("document.documentElement.scrollWidth") <= 392
    screenshot(phone, "sustain-phone")
    phone.context.close()


def test_manager_cases_queue_is_their_units_and_updates_stay_inside(
    browser: Any, live_server: str, api: Any
) -> None:
    with api(live_server, "admin") as admin:
        south = admin.get("/api/cases", params={"unit": "R-SOUTH", "limit": 1}).json()[0]
    page = sign_in(browser, live_server, "manager")
    page.goto("/sustain/cases")
    units = page.locator("table.queue tbody tr").evaluate_all("rows => rows.map(r => r.dataset.unit)")
    assert units and all(u.startswith("S-NOR") or u == "R-NORTH" for u in units), set(units)

    row = page.locator("table.queue tbody tr").first
    case_id = row.get_attribute("data-case")
    row.locator("summary").click()
    row.get_by_label("Status").select_option("contacted")
    row.get_by_label("Note").fill("Called back, <b>apologised</b>")
    row.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"updated="))
    assert f"Case {case_id} updated" in page.inner_text("[role=status]")
    screenshot(page, "cases-manager")
    page.goto(f"/sustain/cases/{case_id}")
    assert "contacted" in page.inner_text("h1")
    assert "Called back, <b>apologised</b>" in page.inner_text(".history")  # escaped, as typed

    # another unit's case: the page, a posted update and a unit filter are all refused
    assert page.goto(f"/sustain/cases/{south['id']}").status == 403
    assert page.goto("/sustain/cases?unit=R-SOUTH").status == 403
    page.goto("/sustain/cases")
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    res = page.request.post(f"/sustain/cases/{south['id']}", form={"csrf_token": token, "status": "resolved"})
    assert res.status == 403
    res = page.request.post(f"/sustain/cases/{case_id}", form={"status": "resolved"})  # no CSRF token
    assert res.status == 403
    page.context.close()
    with api(live_server, "admin") as admin:
        assert admin.get(f"/api/cases/{south['id']}").json()["status"] == south["status"]
        assert admin.get(f"/api/cases/{case_id}").json()["status"] == "contacted"
