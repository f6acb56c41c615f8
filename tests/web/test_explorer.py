"""The feedback explorer: filters change the count, keyset paging, CSV export, scoping, escaping."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from tests.web.conftest import screenshot


def _count(page: Any) -> int:
    return int(page.locator("#match-count").get_attribute("data-count"))


def _ids(page: Any) -> list[str]:
    items = page.locator("#comments > li")
    return [items.nth(i).get_attribute("data-id") for i in range(items.count())]


def test_filter_and_page(admin_page: Any) -> None:
    page = admin_page
    page.goto("/feedback")
    total = _count(page)
    assert total == 20_000  # unfiltered: an exact count
    first = _ids(page)
    assert len(first) == 50
    assert page.locator("#comments .chip.theme").count() > 0  # analysed: theme chips
    page.select_option("#f-sentiment", "negative")
    page.fill("#f-q", "queue")
    page.click(".f-go button")
    page.wait_for_url(re.compile(r"sentiment=negative"))
    narrowed = _count(page)
    assert 0 < narrowed < total
    sentiments = page.locator("#comments > li").evaluate_all("els => els.map(e => e.dataset.sentiment)")
    assert sentiments and set(sentiments) == {"negative"}
    texts = page.locator("#comments .text").all_inner_texts()
    assert all("queue" in t.lower() for t in texts)
    screenshot(page, "explorer")

    # A theme chip narrows to that theme.
    chip = page.locator("#comments .chip.theme").first
    theme = chip.inner_text()
    chip.click()
    page.wait_for_url(re.compile(r"theme="))
    assert page.locator("#f-theme").input_value() == theme
    assert _count(page) <= narrowed

    # Older / newer pages on the unfiltered list.
    page.goto("/feedback")
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"older="))
    second = _ids(page)
    assert len(second) == 50 and not set(second) & set(first)
    dates = page.locator("#comments time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert dates == sorted(dates, reverse=True)
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"older="))
    third = _ids(page)
    page.click("a[rel=prev]")
    page.wait_for_url(re.compile(r"newer="))
    assert _ids(page) == second
    assert third != second
    page.click("a[rel=prev]")
    assert _ids(page) == first


def test_manager_sees_only_own_units(live_server: str, api: Any) -> None:
    with api(live_server, "manager") as client:
        page = client.get("/feedback")
        assert page.status_code == 200
        units = set(re.findall(r'data-unit="([^"]*)"', page.text))
        assert units and all(u == "R-NORTH" or u.startswith("S-NOR-") for u in units), units
        assert client.get("/feedback?unit=R-SOUTH").status_code == 403
        assert client.get("/feedback.csv?unit=R-SOUTH").status_code == 403
        assert client.get("/feedback?unit=S-NOR-02").status_code == 200
        export = client.get("/feedback.csv", params={"q": "queue"})
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert rows and all(r["unit"] == "R-NORTH" or r["unit"].startswith("S-NOR-") for r in rows)
    with api(live_server, "admin") as client:
        everyone = list(csv.DictReader(io.StringIO(client.get("/feedback.csv", params={"q": "queue"}).text)))
        assert len(everyone) > len(rows)
        assert any(r["unit"].startswith("S-SOU-") for r in everyone)


def test_bad_filters_answer_400(live_server: str, api: Any) -> None:
    with api(live_server, "admin") as client:
        assert client.get("/feedback?since=yesterday").status_code == 400
        assert client.get("/feedback?nps_min=11").status_code == 400
        assert client.get("/feedback?sentiment=angry").status_code == 400
        assert client.get("/feedback?older=nonsense").status_code == 400
        assert client.get("/feedback?attr=novalue").status_code == 400


HOSTILE = (
    "id,When,NPS,Comment\n"
    "1,2026-03-01,2,<script>alert(1)</script>\n"
    '2,2026-03-02,3,"""><img src=x onerror=alert(1)>"\n'
    '3,2026-03-03,9,"=HYPERLINK(""#"",""x"")"\n'
    "4,2026-03-04,8,+SUM(1;2)\n"
    "5,2026-03-05,7,@cmd\n"
)


def test_hostile_text_is_escaped_and_export_neutralised(db_url: str) -> None:
    from cxchange.testing import signed_in_client

    client = signed_in_client(db_url)
    resp = client.post("/api/imports", data={"source": "web"}, files={"file": ("x.csv", HOSTILE, "text/csv")})
    assert resp.status_code == 200 and resp.json()["imported"] == 5, resp.text
    html = client.get("/feedback").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert 'data-count="5"' in html
    assert client.get("/feedback?nps_max=3").text.count("<li data-id=") == 2
    found = client.get("/feedback", params={"q": "script"}).text
    assert found.count("<li data-id=") == 1
    export = client.get("/feedback.csv")
    rows = {r["nps"]: r["text"] for r in csv.DictReader(io.StringIO(export.text))}
    assert rows["9"].startswith("'=HYPERLINK")
    assert rows["8"] == "'+SUM(1;2)" and rows["7"] == "'@cmd"
    assert rows["2"] == "<script>alert(1)</script>"


def test_keyset_pages_cover_every_row_once(sqlite_engine: Any, tmp_path: Any) -> None:
    """Older pages walk every row once (ties on received_at, undated rows last); newer walks back."""
    from cxchange.listen.service import ImportOptions, import_file
    from cxchange.understand import explore

    lines = ["id,When,NPS,Comment"]
    for i in range(20):
        when = "" if i % 5 == 0 else ("2026-01-01 10:00:00" if i % 3 else f"2026-01-{i + 1:02d} 09:00:00")
        lines.append(f"{i},{when},{i % 11},row {i}")
    path = tmp_path / "rows.csv"
    path.write_text("\n".join(lines) + "\n")
    import_file(sqlite_engine, path, ImportOptions(source="s"))
    f = explore.FeedbackFilter()
    pages: list[list[dict[str, Any]]] = []
    cur = None
    while True:
        p = explore.page(sqlite_engine, f, older_than=cur, limit=7)
        pages.append(p.rows)
        if p.older is None:
            break
        cur = explore.Cursor.decode(p.older.encode())
    rows = [r for pg in pages for r in pg]
    assert len(rows) == 20 and len({r["id"] for r in rows}) == 20
    keys = [(r["received_at"] is not None, r["received_at"] or datetime.min, r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)  # newest first, undated last
    assert rows[-1]["received_at"] is None
    back = explore.page(sqlite_engine, f, newer_than=p.newer, limit=7)
    assert [r["id"] for r in back.rows] == [r["id"] for r in pages[-2]]
    assert explore.count(sqlite_engine, f) == (20, True)
    assert explore.count(sqlite_engine, f, cap=5) == (20, True)  # only indexed filters: exact
    assert explore.count(sqlite_engine, explore.FeedbackFilter(q="row"), cap=5) == (5, False)
    assert explore.page(sqlite_engine, explore.FeedbackFilter(q="row 1"), many=True).rows
