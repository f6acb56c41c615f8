"""The Themes pages: the taxonomy with counts and impact, a theme's detail, and the taxonomy edits.

The live server's database is shared by every web test: these tests edit only themes they add.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from .conftest import screenshot, sign_in


@pytest.fixture
def own_themes(web_db: str) -> dict[str, Any]:
    """Two fresh themes of this test's own (not matched yet: stale until a re-analysis)."""
    from cxchange.core.db import get_engine
    from cxchange.understand.themes.taxonomy import add_theme

    engine = get_engine(web_db)
    tag = uuid.uuid4().hex[:6]
    a = add_theme(engine, f"Parking {tag}", keywords=["parking"])
    b = add_theme(engine, f"Car park {tag}", keywords=["car park"])
    return {"tag": tag, "a": a, "b": b}


def _count(html: str, theme_id: int) -> int:
    match = re.search(
        rf'data-theme-id="{theme_id}".*?<td class="num count">(\d+)</td>', html, flags=re.DOTALL
    )
    assert match, f"theme {theme_id} not in the table"
    return int(match.group(1))


def test_tree_shows_counts_and_a_manager_sees_their_units_only(live_server: str, api: Any) -> None:
    with api(live_server, "admin") as admin, api(live_server, "manager") as manager:
        everyone = admin.get("/themes")
        mine = manager.get("/themes")
    assert everyone.status_code == mine.status_code == 200
    waiting = int(
        re.search(r'data-theme-id="(\d+)">\s*<th scope="row"><a [^>]*>Waiting time', everyone.text)[1]
    )
    assert _count(everyone.text, waiting) > 1000
    assert 0 < _count(mine.text, waiting) < _count(everyone.text, waiting)
    assert "in your units (R-NORTH)" in mine.text
    assert "Edit this theme" not in manager_detail(live_server, api, waiting)


def manager_detail(live_server: str, api: Any, theme_id: int) -> str:
    with api(live_server, "manager") as manager:
        r = manager.get(f"/themes/{theme_id}")
        assert r.status_code == 200
        assert manager.post(f"/themes/{theme_id}/rename", data={"name": "nope"}).status_code == 403
        return r.text


def test_analyst_renames_adds_keywords_reanalyses_and_merges(
    browser: Any, live_server: str, own_themes: dict[str, Any]
) -> None:
    tag, a, b = own_themes["tag"], own_themes["a"], own_themes["b"]
    page = sign_in(browser, live_server, "analyst")
    page.goto("/themes")
    assert int(page.inner_text("tr[data-theme-id] td.count >> nth=0")) > 0
    assert page.locator(f"tr[data-theme-id='{a['id']}'] .badge", has_text="stale").count() == 1
    screenshot(page, "themes")

    page.click(f"tr[data-theme-id='{a['id']}'] th a")
    page.wait_for_url(f"**/themes/{a['id']}")
    page.fill("#new-name", f"Parking and access {tag}")
    page.click("form[action$='/rename'] button")
    page.wait_for_url("**?done=renamed")
    assert page.inner_text("h1") == f"Parking and access {tag}"

    page.fill("#new-keywords", "valet, <b>drop-off</b>")
    page.click("form[action$='/keywords'] button")
    page.wait_for_url("**?done=keywords")
    keywords = page.locator("#keywords li").all_inner_texts()
    assert "valet" in keywords and "<b>drop-off</b>" in keywords  # kept as text
    assert "re-analysis" in page.inner_text("[role=status]")
    assert "cxchange analyze" in page.inner_text(".stale")

    page.click("text=Re-analyse now")
    page.wait_for_url("**?done=analysed", timeout=120_000)
    assert page.locator(".stale").count() == 0 or f"Parking and access {tag}" not in page.inner_text(".stale")
    screenshot(page, "theme-detail")

    page.goto(f"/themes/{b['id']}")
    page.select_option("#merge-into", str(a["id"]))
    page.click("form[action$='/merge'] button")
    page.wait_for_url(f"**/themes/{a['id']}?done=merged")
    assert "car park" in page.locator("#keywords li").all_inner_texts()
    assert page.goto(f"/themes/{b['id']}").status == 404
    page.goto("/themes")
    assert f"Parking and access {tag}" in page.inner_text("table.themes")
    assert f"Car park {tag}" not in page.inner_text("table.themes")

    # Without the CSRF token a change is refused, even for a signed-in analyst.
    refused = page.request.post(f"/themes/{a['id']}/rename", form={"name": "sneaky"})
    assert refused.status == 403
    page.goto(f"/themes/{a['id']}")
    assert page.inner_text("h1") == f"Parking and access {tag}"
    page.context.close()


def test_detail_shows_examples_and_phone_layout(browser: Any, live_server: str, api: Any) -> None:
    with api(live_server, "viewer") as viewer:
        html = viewer.get("/themes").text
        assert viewer.post("/themes/analyze").status_code == 403
    waiting = int(re.search(r'data-theme-id="(\d+)">\s*<th scope="row"><a [^>]*>Waiting time', html)[1])
    page = sign_in(browser, live_server, "viewer", viewport={"width": 390, "height": 844})
    page.goto(f"/themes/{waiting}")
    assert page.locator("#neg-h + .examples li").count() >= 1
    assert page.locator("#pos-h + .examples li").count() >= 1
    assert int(page.inner_text("#mentions")) > 1000
    assert page.locator("#edit-h").count() == 0  # viewers read only
    screenshot(page, "theme-detail-phone")
    page.goto("/themes")
    screenshot(page, "themes-phone")
    page.context.close()
