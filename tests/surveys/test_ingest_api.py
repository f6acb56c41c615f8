"""POST /api/feedback and POST /api/ingest/SOURCE: the file import's rules over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _items(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"external_id": f"t-{i}", "received_at": "2026-11-01T10:00:00Z", "nps": i % 11,
         "text": f"answer {i}", "unit": "N1", "attributes": {"channel_name": "web", "tier": i % 3}}
        for i in range(start, start + n)
    ]  # fmt: skip


def test_items_import_once_and_duplicates_are_counted(client: TestClient, counter: Any) -> None:
    body = {"source": "helpdesk", "items": _items(20)}
    first = client.post("/api/feedback", json=body)
    assert first.status_code == 200, first.text
    assert (
        first.json()["imported"] == 20 and first.json()["duplicates"] == 0 and first.json()["rejected"] == []
    )
    again = client.post("/api/feedback", json={"source": "helpdesk", "items": _items(25)})
    assert again.json()["imported"] == 5 and again.json()["duplicates"] == 20
    assert counter("feedback") == 25
    assert counter("feedback", "WHERE org_unit_id IS NOT NULL") == 25


def test_bad_items_are_rejected_by_index_and_the_rest_stored(client: TestClient, counter: Any) -> None:
    items = _items(4)
    items[1]["nps"] = 42  # out of range, no... it has text: kept without the score, like a file import
    items[2] = {"external_id": "e", "received_at": "not a date", "text": "x"}
    items[3] = {"external_id": "f"}  # nothing to say
    items.append("not an object")  # type: ignore[arg-type]
    items.append({"external_id": "g", "text": "x", "colour": "red"})
    out = client.post("/api/feedback", json={"source": "helpdesk", "items": items}).json()
    assert out["imported"] == 2
    by_index = {r["index"]: r["reason"] for r in out["rejected"]}
    assert set(by_index) == {2, 3, 4, 5}
    assert "date" in by_index[2] and "no feedback" in by_index[3]
    assert "object" in by_index[4] and "colour" in by_index[5]
    assert counter("feedback", "WHERE nps IS NULL") == 1


def test_text_is_redacted_like_an_import(client: TestClient, org_engine: Any) -> None:
    from sqlalchemy import text

    item = {"external_id": "r1", "text": "mail me at jane.doe@example.com please", "csat": 2}
    assert client.post("/api/feedback", json={"source": "helpdesk", "items": [item]}).json()["imported"] == 1
    with org_engine.connect() as conn:
        stored = conn.execute(text("SELECT text FROM feedback")).scalar()
    assert "jane.doe@example.com" not in stored


def test_limits_and_shapes_answer_4xx_and_store_nothing(client: TestClient, counter: Any) -> None:
    too_many = client.post("/api/feedback", json={"source": "s", "items": [{"text": "x"}] * 5001})
    assert too_many.status_code == 413
    assert client.post("/api/feedback", json={"source": "s", "items": {"text": "x"}}).status_code == 422
    assert client.post("/api/feedback", json={"items": []}).status_code == 422
    assert client.post("/api/feedback", json={"source": "s", "items": [], "extra": 1}).status_code == 400
    assert (
        client.post(
            "/api/feedback", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert counter("feedback") == 0 and counter("import_batch") == 0


def test_a_viewer_may_not_post_feedback(client: TestClient, db_url: str, org_engine: Any) -> None:
    from cxchange.testing import signed_in_client

    viewer = signed_in_client(db_url, org_engine, role="viewer")
    assert viewer.post("/api/feedback", json={"source": "s", "items": []}).status_code == 403
    assert TestClient(client.app).post("/api/feedback", json={"source": "s", "items": []}).status_code == 401


def test_a_webhook_payload_through_the_stored_mapping(client: TestClient, counter: Any) -> None:
    mapping = {
        "items": "/tickets",
        "fields": {"external_id": "/id", "text": "/comment/body", "csat": "/rating", "unit": "/store",
                   "attributes.priority": "/priority"},
    }  # fmt: skip
    assert client.put("/api/ingest/zendesk/mapping", json=mapping).status_code == 200
    first = {"id": 7, "comment": {"body": "slow reply"}, "rating": 2, "store": "N2", "priority": "high"}
    payload = {"tickets": [first, {"id": 8, "comment": {"body": "fine"}, "rating": 9}]}
    out = client.post("/api/ingest/zendesk", json=payload).json()
    assert out["imported"] == 1 + 1  # the out-of-range rating leaves a kept comment, as in a file
    assert client.post("/api/ingest/zendesk", json=payload).json()["duplicates"] == 2
    assert client.post("/api/ingest/unknown", json=payload).status_code == 404
    bad = client.put("/api/ingest/zendesk/mapping", json={"fields": {"nonsense": "/x"}})
    assert bad.status_code == 400
    assert counter("feedback") == 2


def test_what_the_database_cannot_hold_is_rejected_by_index(client: TestClient, counter: Any) -> None:
    items = [
        {"external_id": "a", "text": "a\u0000b"},
        {"external_id": "b", "text": "x", "attributes": {"k": "v\u0000"}},
        {"external_id": "c" * 201, "text": "x"},
        {"external_id": "d", "text": "fine", "nps": 9.0},
    ]
    out = client.post("/api/feedback", json={"source": "s", "items": items}).json()
    assert [r["index"] for r in out["rejected"]] == [0, 1, 2] and out["imported"] == 1
    assert client.put("/api/ingest/s/mapping", json={"fields": {"text": "/a\u0000"}}).status_code == 400
    assert counter("feedback", "WHERE nps = 9") == 1
