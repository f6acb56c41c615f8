"""The HTTP API: health, import upload, scores with the CLI's JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cxchange.api import create_app
from cxchange.testing import signed_in_client

CSV = b"id,When,NPS,Comment,Region\n1,2025-03-01,9,Lovely <b>staff</b>,North\n2,2025-03-02,3,Slow,South\n"


def test_health_import_scores_and_page(db_url: str) -> None:
    assert TestClient(create_app(db_url)).get("/api/scores").status_code == 401
    client = signed_in_client(db_url)
    health = client.get("/api/health").json()
    assert health["status"] == "ok"
    dry = client.post(
        "/api/imports", data={"source": "web", "dry_run": "true"}, files={"file": ("x.csv", CSV, "text/csv")}
    ).json()
    assert dry["valid"] == 2 and dry["mapping"]["nps"] == "NPS"
    assert client.get("/api/batches").json() == []
    resp = client.post(
        "/api/imports", data={"source": "web"}, files={"file": ("export.csv", CSV, "text/csv")}
    )
    assert resp.status_code == 200, resp.text
    batch = resp.json()
    assert (batch["read"], batch["imported"], batch["source"]) == (2, 2, "web")
    scores = client.get("/api/scores", params={"metric": "nps", "by": ["attr:Region"]}).json()
    assert [s["group"]["attr:Region"] for s in scores] == ["North", "South"]
    bad = client.get("/api/scores", params={"by": "colour"})
    assert bad.status_code == 400 and "unknown grouping" in bad.json()["detail"]
    page = client.get("/")
    assert page.status_code == 200
    assert "&lt;b&gt;staff&lt;/b&gt;" in page.text and "<b>staff</b>" not in page.text
    _docs_work_offline(client)


def _docs_work_offline(client) -> None:  # type: ignore[no-untyped-def]
    """/docs must not reach for a CDN: every script and stylesheet it names is served by the app itself."""
    import re

    docs = client.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']?([^"' >]+\.(?:js|css))""", docs.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 10_000, asset
    assert client.get("/openapi.json").json()["info"]["title"] == "cxchange"


def test_upload_keeps_only_the_extension() -> None:
    from cxchange.listen.api import _safe_suffix

    assert _safe_suffix("../../etc/passwd.csv.gz") == ".csv.gz"
    assert _safe_suffix("report.XLSX") == ".xlsx"
    assert _safe_suffix("noext") == ".csv"


def test_import_reports_warnings_and_lists_them(db_url: str) -> None:
    client = signed_in_client(db_url)
    csv = CSV + b"3,2025-03-03,15,Far too keen,South\n"
    dry = client.post(
        "/api/imports", data={"source": "web", "dry_run": "true"}, files={"file": ("x.csv", csv, "text/csv")}
    ).json()
    assert (dry["valid"], dry["warnings"], dry["rejected"]) == (3, 1, 0)
    batch = client.post(
        "/api/imports", data={"source": "web"}, files={"file": ("x.csv", csv, "text/csv")}
    ).json()
    assert (batch["imported"], batch["warnings"]) == (3, 1)
    assert batch["warnings_by_reason"][0]["reason"].startswith("nps: not a whole number from 0 to 10")
    warned = client.get(f"/api/batches/{batch['batch_id']}/warnings").json()
    assert [(w["row"], w["column"]) for w in warned] == [(4, "NPS")]
    assert client.get(f"/api/batches/{batch['batch_id']}/rejects").json() == []
