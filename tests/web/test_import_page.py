"""The Import pages: upload, mapping check with problems, import, rejected rows and their CSV; who may."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Any

from .conftest import screenshot, sign_in


def _bad_csv(tmp_path: Path) -> tuple[Path, str]:
    """Six rows: an NPS of 11 (kept for its comment, without the score, with a warning), a date that is
    no date (rejected); dates before the demo's, no unit."""
    tag = uuid.uuid4().hex[:8]
    rows = [
        ["response_id", "date", "score", "comment"],
        [f"{tag}-1", "2024-01-03", "9", "Great staff, <b>quick</b> service"],
        [f"{tag}-2", "2024-01-04", "11", "Far too keen"],
        [f"{tag}-3", "not a date", "3", "=1+2 queue was long"],
        [f"{tag}-4", "2024-01-05", "7", "<script>window.pwned=1</script> fine"],
        [f"{tag}-5", "2024-01-06", "2", "Rude cashier"],
        [f"{tag}-6", "2024-01-07", "10", "Lovely shop"],
    ]
    path = tmp_path / "export with bad rows.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path, tag


def test_analyst_checks_mapping_imports_and_downloads_rejects(
    browser: Any, live_server: str, tmp_path: Path
) -> None:
    path, tag = _bad_csv(tmp_path)
    page = sign_in(browser, live_server, "analyst")
    page.goto("/import")
    page.set_input_files("#file", str(path))
    page.fill("#source", f"web-import-{tag}")
    page.click("form.upload button[type=submit]")
    page.wait_for_url("**/import/uploads/*")
    # "score" reads as a star rating: the dry run refuses the scale and says so, with the mapping to fix.
    assert page.locator("#map_rating").input_value() == "score"
    assert "outside 1-5" in page.inner_text("[role=alert]")
    assert page.locator("button[value=import]").is_disabled()
    page.select_option("#map_nps", "score")
    assert page.locator("#map_rating").input_value() == ""  # a column feeds one field
    page.click("button[value=check]")
    page.wait_for_load_state()
    assert page.inner_text("#dry-read") == "6"
    assert page.inner_text("#dry-rejected") == "1"
    assert page.inner_text("#dry-warnings") == "1"
    problems = page.inner_text("table.problems")
    assert "not a date" in problems and "received_at" in problems
    assert "received_at: not a date" in page.inner_text("#rejects-by-reason")
    assert "nps: not a whole number from 0 to 10" in page.inner_text("#warnings-by-reason")
    preview = page.inner_text("table.preview")
    assert "<script>window.pwned=1</script>" in preview  # shown as text, never run
    assert page.evaluate("window.pwned") is None
    screenshot(page, "import-preview")

    page.click("button[value=import]")
    page.wait_for_url("**/import/batches/*")
    assert page.inner_text("#n-read") == "6"
    assert page.inner_text("#n-imported") == "5"
    assert page.inner_text("#n-rejected") == "1"
    assert page.inner_text("#n-warnings") == "1"
    rejects = page.inner_text("table.problems")
    assert "not a date" in rejects
    assert "0 to 10" in page.inner_text("#warnings-by-reason")
    screenshot(page, "import-done")

    with page.expect_download() as info:
        page.click("a[href$='rejects.csv']")
    rows = list(csv.reader(Path(info.value.path()).read_text(encoding="utf-8").splitlines()))
    assert rows[0] == [
        "response_id",
        "date",
        "score",
        "comment",
        "reject_row",
        "reject_column",
        "reject_reason",
    ]
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {f"{tag}-3"}
    assert by_id[f"{tag}-3"][2] == "3"
    assert by_id[f"{tag}-3"][3] == "'=1+2 queue was long"  # a formula is neutralised for spreadsheets
    assert by_id[f"{tag}-3"][5] == "date"

    # The upload is gone once imported, and the batch is listed with a link to its rejects.
    page.go_back()
    page.go_back()
    page.goto("/import")
    batch_link = page.locator("table a[href$='rejects.csv']").first
    assert batch_link.get_attribute("href", timeout=5000).endswith("rejects.csv")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "import-phone")
    page.context.close()


def test_upload_belongs_to_its_uploader_and_needs_csrf(
    browser: Any, live_server: str, api: Any, tmp_path: Path
) -> None:
    path, tag = _bad_csv(tmp_path)
    with api(live_server, "admin") as admin, api(live_server, "analyst") as analyst:
        r = admin.post(
            "/import/upload",
            data={"source": f"web-import-{tag}", "kind": "survey"},
            files={"file": ("../../../etc/passwd.csv", path.read_bytes(), "text/csv")},
        )
        assert r.status_code == 303
        token_url = r.headers["location"]
        assert admin.get(token_url).status_code == 200
        assert analyst.get(token_url).status_code == 404  # another user's upload
        assert analyst.get("/import/uploads/..%2F..%2Fetc").status_code == 404
        assert admin.post(token_url + "/discard").status_code == 303
        assert admin.get(token_url).status_code == 404  # discarded
    page = sign_in(browser, live_server, "analyst")
    refused = page.request.post(
        "/import/upload",
        multipart={"source": "x", "file": {"name": "a.csv", "mimeType": "text/csv", "buffer": b"nps\n9\n"}},
    )
    assert refused.status == 403
    page.context.close()


def test_viewer_and_manager_may_not_import(live_server: str, api: Any, manager_page: Any) -> None:
    with api(live_server, "viewer") as viewer, api(live_server, "manager") as manager:
        assert viewer.get("/import").status_code == 403
        assert manager.get("/import").status_code == 403
        assert viewer.get("/import/batches/1/rejects.csv").status_code == 403
    response = manager_page.goto("/import")
    assert response.status == 403
    assert "Import" not in manager_page.inner_text("header nav")


def test_mixed_scales_are_refused_until_allowed(live_server: str, api: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    lines = ["ref,Stars,Comment"] + [
        f"{tag}-{i},{1 + i % 5 if i < 90 else 6 + i % 5},c{i}" for i in range(100)
    ]
    with api(live_server, "admin") as admin:
        made = admin.post(
            "/import/upload",
            data={"source": f"mixed-{tag}", "kind": "review"},
            files={"file": ("mixed.csv", ("\n".join(lines) + "\n").encode(), "text/csv")},
        )
        assert made.status_code == 303
        token_url = made.headers["location"]
        refused = admin.get(token_url).text
        assert "mixes rating scales" in refused and "90 values fit 1-5, 10 fit 1-10" in refused
        form = {"map_rating": "Stars", "map_text": "Comment", "map_external_id": "ref", "action": "import"}
        assert admin.post(token_url, data=form).headers["location"] == token_url  # still refused
        done = admin.post(token_url, data={**form, "allow_mixed_scales": "on"})
        assert done.status_code == 303 and "/import/batches/" in done.headers["location"]
        batch = admin.get(done.headers["location"]).text
        assert 'id="n-imported">100<' in batch and 'id="n-warnings">10<' in batch
        assert "those values are left empty, never rescaled" in batch
