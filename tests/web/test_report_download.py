"""The executive report downloaded from the app: scoped to the user's units, self-contained."""

from __future__ import annotations

from sqlalchemy import Engine

from cxchange.testing import signed_in_client


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_report_downloads_and_is_scoped(demo_engine: Engine) -> None:
    admin = signed_in_client(_url(demo_engine), demo_engine)
    html = admin.get("/report", params={"format": "html", "period": "2026-Q3"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "<svg" in html.text
    pdf = admin.get("/report", params={"format": "pdf", "period": "2026-Q3"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]

    manager = signed_in_client(_url(demo_engine), demo_engine, role="manager", units=["R-NORTH"])
    mine = manager.get("/report", params={"format": "html", "period": "2026-Q3"})
    assert mine.status_code == 200 and "R-NORTH" in mine.headers["content-disposition"]
    assert manager.get("/report", params={"format": "html", "unit": "R-SOUTH"}).status_code == 403
    assert admin.get("/report", params={"format": "docx"}).status_code == 400
