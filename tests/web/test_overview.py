"""The overview page: trend chart with its band, scores with n and interval, org drill-down, scoping."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import screenshot, sign_in


def test_overview_chart_numbers_and_drill_down(admin_page: Any, browser: Any, live_server: str) -> None:
    page = admin_page
    page.goto("/")
    page.wait_for_selector("#chart-nps svg.main-svg")
    assert page.locator("#chart-csat svg.main-svg").count() >= 1
    nps = page.locator("#overall-nps").inner_text()
    assert re.search(r"95 % CI -?\d+(\.\d+)? – -?\d+(\.\d+)? · n = \d+", nps), nps
    assert page.locator("#overall-csat").inner_text().count("n = ") == 1
    # The company's regions, each with n and an interval; a link drills down.
    regions = page.locator("#unit-table tbody tr")
    codes = [regions.nth(i).get_attribute("data-unit") for i in range(regions.count())]
    assert set(codes) >= {"R-NORTH", "R-SOUTH", "R-EAST", "R-WEST"}
    company_n = int(re.search(r"n = (\d+)", nps).group(1))  # type: ignore[union-attr]
    assert page.locator("#theme-table tbody tr").count() >= 3
    assert page.locator("a[href='/report?format=pdf']").count() == 1
    assert page.locator("a[href='/report?format=html']").count() == 1
    screenshot(page, "overview")

    page.click("#unit-table tr[data-unit='R-NORTH'] th a")
    page.wait_for_url(re.compile(r"unit=R-NORTH"))
    page.wait_for_selector("#chart-nps svg.main-svg")
    assert "North" in page.locator("h1").inner_text()
    stores = page.locator("#unit-table tbody tr")
    assert stores.count() >= 5
    assert all(
        (stores.nth(i).get_attribute("data-unit") or "").startswith("S-NOR-") for i in range(stores.count())
    )
    north_n = int(re.search(r"n = (\d+)", page.locator("#overall-nps").inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < north_n < company_n
    # The breadcrumb leads back up.
    page.click("nav.crumbs a")
    page.wait_for_selector("#unit-table tr[data-unit='R-SOUTH']")

    phone = sign_in(browser, live_server, "admin", viewport={"width": 390, "height": 844})
    try:
        phone.goto("/")
        phone.wait_for_selector("#chart-nps svg.main-svg")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"the page scrolls sideways on a phone ({width}px)"
        screenshot(phone, "overview-phone")
    finally:
        phone.context.close()


def test_manager_starts_at_own_unit_and_is_refused_others(
    manager_page: Any, live_server: str, api: Any
) -> None:
    page = manager_page
    page.goto("/")
    page.wait_for_selector("#chart-nps svg.main-svg")
    assert "North" in page.locator("h1").inner_text()
    rows = page.locator("#unit-table tbody tr")
    assert rows.count() >= 5
    assert all(
        (rows.nth(i).get_attribute("data-unit") or "").startswith("S-NOR-") for i in range(rows.count())
    )
    with api(live_server, "manager") as client:
        assert client.get("/?unit=R-SOUTH").status_code == 403
        assert client.get("/?unit=S-SOU-01").status_code == 403
        assert client.get("/?unit=S-NOR-01").status_code == 200
        assert client.get("/?unit=NOPE").status_code == 404
