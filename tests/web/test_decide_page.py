"""The Decide page in a real browser: driver chart and quadrant, the NPS simulator, opportunities with
business cases and initiative links, and a manager's scoped view."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from cxchange.decide.drivers import quadrant, quadrant_lines

from .conftest import screenshot, sign_in


def _wait_for_charts(page: Any) -> None:
    page.wait_for_selector("#driver-chart svg.main-svg")
    page.wait_for_selector("#quadrant-chart svg.main-svg")


def _baseline_n(page: Any) -> int:
    match = re.search(r"n = (\d+)", page.inner_text(".lede"))
    assert match, page.inner_text(".lede")
    return int(match.group(1))


def test_charts_opportunities_and_simulator(admin_page: Any) -> None:
    page = admin_page
    response = page.goto("/decide")
    assert response.status == 200
    _wait_for_charts(page)
    # one bar per driver theme, with error bars; one quadrant point per theme
    drivers = page.locator("table.drivers tbody tr").count()
    assert drivers >= 5
    assert page.locator("#driver-chart g.trace.bars g.point").count() == drivers
    assert page.locator("#driver-chart g.errorbar").count() == drivers
    assert page.locator("#quadrant-chart g.trace.scatter path.point").count() == drivers
    assert "95 % bootstrap intervals" in page.inner_text("section[aria-labelledby=drivers-h]")
    # the quadrant's lines and labels are the server's rule (the medians, as `drivers --quadrant` and the
    # report): the chart drew its lines at the means, so its corners disagreed with the labels
    data = json.loads(page.locator("#driver-data").text_content())
    assert data["lines"] == quadrant_lines(data) and data["label"] == "NPS"
    labels = {q["driver"]: q["quadrant"] for q in quadrant(data)}
    assert {d["driver"]: d["quadrant"] for d in data["drivers"]} == labels
    shapes = page.evaluate("document.getElementById('quadrant-chart').layout.shapes")
    assert shapes[0]["x0"] == 100 * data["lines"]["performance"]
    assert shapes[1]["y0"] == 100 * data["lines"]["importance"]

    themes = page.locator("table.opportunities tbody th[scope=row]").all_inner_texts()
    assert len(themes) >= 5 and any("Waiting time" in t for t in themes)
    first = page.locator("table.opportunities tbody tr").first
    assert re.search(r"\[[+-]\d+\.\d, [+-]\d+\.\d\]", first.inner_text())  # gain with its interval
    start = first.locator("a.start")
    query = parse_qs(urlparse(start.get_attribute("href")).query)
    assert urlparse(start.get_attribute("href")).path == "/initiatives/new"
    assert query["theme"] == [themes[0].replace("small sample", "").strip()] and query["name"][0].startswith(
        "Fix "
    )

    # the simulator: sliding "Waiting time" (by keyboard) changes the projected NPS and its interval
    projected = page.locator("#sim-projected")
    before = projected.inner_text()
    assert page.get_attribute("#sim-output", "aria-live") == "polite"
    slider = page.locator("input[type=range][data-theme='Waiting time']")
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    assert slider.input_value() == "50"
    page.wait_for_function(
        "before => document.getElementById('sim-projected').textContent !== before", arg=before
    )
    after = projected.inner_text()
    assert float(after) > float(before)  # the demo plants waiting time as a real NPS drag
    detail = page.inner_text("#sim-detail")
    assert "Waiting time 50 %" in detail and "respondents affected" in detail
    interval = re.findall(r"-?\d+\.\d", page.inner_text("#sim-interval"))
    assert float(interval[0]) <= float(after) <= float(interval[1])

    # another theme set by script (input event): the projection moves again
    page.eval_on_selector(
        "input[type=range][data-theme='Billing']",
        "el => { el.value = 100; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    page.wait_for_function(
        "() => document.getElementById('sim-detail').textContent.includes('Billing 100 %')"
    )
    assert float(projected.inner_text()) > float(after)
    screenshot(page, "decide")

    # reset goes back to the baseline
    page.click("#sim-reset")
    page.wait_for_function(
        "before => document.getElementById('sim-projected').textContent === before", arg=before
    )


def test_business_case_download_names_the_theme(admin_page: Any, tmp_path: Path) -> None:
    page = admin_page
    page.goto("/decide")
    row = page.locator("table.opportunities tbody tr").first
    theme = row.locator("th[scope=row]").inner_text().replace("small sample", "").strip()
    with page.expect_download() as info:
        row.locator("button", has_text="Create business case").click()
    download = info.value
    assert download.suggested_filename.startswith("business-case-")
    assert download.suggested_filename.endswith(".html")
    download.save_as(tmp_path / "case.html")
    text = (tmp_path / "case.html").read_text()
    assert f"Business case: {theme}" in text
    assert "<script" not in text


def test_business_case_formats_over_http(live_server: str, api: Any) -> None:
    with api(live_server, "viewer") as c:
        small = {"theme": "Billing", "unit": "S-NOR-01"}  # a small scope keeps the simulation quick
        md = c.get("/decide/business-case", params={**small, "format": "md"})
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
        assert md.text.startswith("# Business case: Billing")
        assert 'filename="business-case-billing.md"' in md.headers["content-disposition"]
        pdf = c.get("/decide/business-case", params={**small, "format": "pdf"})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert c.get("/decide/business-case", params={"theme": "Billing", "format": "doc"}).status_code == 400
        assert c.get("/decide/business-case", params={**small, "theme": "No such theme"}).status_code == 404
        page = c.get("/decide")
        assert page.status_code == 200
        assert "Create business case" in page.text
        # the note under the quadrant said "Lines at the means" after the chart had moved to the medians
        assert "Lines at the medians of the themes shown" in page.text and "at the means" not in page.text
        assert "Start initiative" not in page.text  # viewers may not create initiatives


def test_manager_sees_only_their_units(browser: Any, live_server: str, api: Any) -> None:
    admin = sign_in(browser, live_server, "admin")
    admin.goto("/decide")
    admin_n = _baseline_n(admin)
    admin.context.close()

    page = sign_in(browser, live_server, "manager")
    assert page.goto("/decide").status == 200
    _wait_for_charts(page)
    manager_n = _baseline_n(page)
    assert 0 < manager_n < admin_n
    units = page.locator("#unit option").all_inner_texts()
    assert any("R-NORTH" in u for u in units) and not any("R-SOUTH" in u for u in units)

    # the simulator answers in the manager's scope: its n is the page's n
    page.eval_on_selector(
        "input[type=range][data-theme='Waiting time']",
        "el => { el.value = 50; el.dispatchEvent(new Event('change', {bubbles: true})); }",
    )
    page.wait_for_function("() => document.getElementById('sim-detail').textContent.includes('affected')")
    assert f"n = {manager_n} respondents" in page.inner_text("#sim-detail")

    # a store of their own is fine, another region is not
    assert page.goto("/decide?unit=S-NOR-01").status == 200
    assert _baseline_n(page) < manager_n
    denied = page.goto("/decide?unit=R-SOUTH")
    assert denied.status == 403
    denied_case = page.goto("/decide/business-case?theme=Billing&format=md&unit=R-SOUTH")
    assert denied_case.status == 403
    page.context.close()

    # the manager's business case is the R-NORTH one an admin would get by asking for that unit
    params = {"theme": "Billing", "format": "md"}
    with api(live_server, "manager") as c, api(live_server, "admin") as a:
        mine = c.get("/decide/business-case", params=params)
        north = a.get("/decide/business-case", params={**params, "unit": "R-NORTH"})
    assert mine.status_code == north.status_code == 200
    counts = [re.search(r"from (\d+) analysed comments", r.text) for r in (mine, north)]
    assert counts[0] and counts[1] and counts[0].group(1) == counts[1].group(1)


def test_phone_layout(browser: Any, live_server: str) -> None:
    page = sign_in(browser, live_server, "lead", viewport={"width": 390, "height": 844})
    page.goto("/decide")
    _wait_for_charts(page)
    # nothing in the page wider than the screen: the opportunity table turns into cards
    too_wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('main > *, main section > *, table.opportunities tr'))
            .filter(e => e.getBoundingClientRect().right > 390).map(e => e.tagName + '.' + e.className)"""
    )
    assert too_wide == []
    assert page.locator("table.opportunities a.start").first.is_visible()
    # the projection stays in view while the sliders below it are used
    assert page.evaluate("getComputedStyle(document.querySelector('.sim-result')).position") == "sticky"
    screenshot(page, "decide-phone")
    page.context.close()
