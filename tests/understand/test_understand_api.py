"""The understand endpoints return the CLI's JSON (on the analysed demo company)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cxchange.testing import signed_in_client


def _client(engine: Engine) -> TestClient:
    return signed_in_client(engine.url.render_as_string(hide_password=False), engine)


def test_themes_emerging_feedback_and_sentiment(demo_engine: Engine) -> None:
    client = _client(demo_engine)
    themes = client.get("/api/themes", params={"boot": 100})
    assert themes.status_code == 200
    keys = {
        "id",
        "name",
        "parent",
        "keywords",
        "count",
        "share",
        "sentiment",
        "nps_with",
        "nps_without",
        "impact",
    }
    assert keys <= set(themes.json()[0])
    report = client.get("/api/emerging").json()
    assert {"window", "baseline", "themes_tested", "items"} <= set(report)
    emerging = report["items"]
    assert emerging and {"theme", "recent_count", "baseline_mean", "z", "examples"} <= set(emerging[0])
    page = client.get(
        "/api/feedback", params={"theme": "Waiting time", "sentiment": "negative", "q": "queue"}
    )
    assert page.status_code == 200 and page.json()
    for row in page.json():
        assert "Waiting time" in row["themes"] and row["sentiment_label"] == "negative"
        assert "queue" in row["text"].lower()
    scored = client.post("/api/sentiment", json=["thanks for nothing", "", "Merci beaucoup pour rien"])
    assert [r["label"] for r in scored.json()] == ["negative", "empty", "unsupported"]


def test_bad_parameters_are_clear_errors(demo_engine: Engine) -> None:
    client = _client(demo_engine)
    assert client.get("/api/emerging", params={"window": "soon"}).status_code == 400
    assert client.get("/api/feedback", params={"sentiment": "angry"}).status_code == 400
    assert client.get("/api/feedback", params={"theme": "No such theme"}).status_code == 404
    assert client.post("/api/sentiment", params={"backend": "magic"}, json=["x"]).status_code == 400
