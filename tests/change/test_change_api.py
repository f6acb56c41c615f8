"""The /api/initiatives and /api/frameworks routes return the same JSON as the commands."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.auth.web import current_scope
from cxchange.core.errors import CxError, NotFoundError


@pytest.fixture
def client(demo: Engine) -> TestClient:
    from cxchange.change.api import router
    from cxchange.core.deps import set_database_url

    set_database_url(demo.url.render_as_string(hide_password=False))
    app = FastAPI()
    app.dependency_overrides[current_scope] = lambda: UserScope.everything("test")

    @app.exception_handler(CxError)
    async def _cx_error(_request: Request, exc: CxError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, NotFoundError) else 400)

    app.include_router(router, prefix="/api")
    yield TestClient(app)
    set_database_url(None)


def test_api_mirrors_the_commands(client: TestClient, cli: Any, people: dict[str, Any]) -> None:
    assert {f["key"] for f in client.get("/api/frameworks").json()} >= {"kotter", "adkar", "cx10"}
    kotter = client.get("/api/frameworks/kotter").json()
    assert len(kotter["steps"]) == 8
    assert kotter["file"] == "kotter.yaml" and "/" not in kotter["file"]  # no server directories over HTTP
    assert client.get("/api/frameworks/prince2").status_code == 404

    body = {
        "name": "Queues",
        "framework": "kotter",
        "sponsor": people["exec"],
        "owner": people["rm_north"],
        "units": ["R-NORTH", "R-SOUTH"],
        "pilot_units": ["R-NORTH"],
        "control_units": ["R-SOUTH"],
        "start": "2026-05-04",
    }
    res = client.post("/api/initiatives", json=body)
    assert res.status_code == 201, res.text
    ini = res.json()["id"]
    assert client.post("/api/initiatives", json=body).status_code == 400  # same name
    assert (
        client.post("/api/initiatives", json={**body, "name": "B", "framework": "/etc/passwd"}).status_code
        == 404
    )
    assert client.get("/api/initiatives").json()[0]["id"] == ini
    assert (
        client.patch(f"/api/initiatives/{ini}", json={"vision": "Short queues"}).json()["vision"]
        == "Short queues"
    )
    assert (
        client.post(f"/api/initiatives/{ini}/steps/urgency", json={"status": "done"}).json()["status"]
        == "done"
    )
    assert client.post(f"/api/initiatives/{ini}/steps/nope", json={"status": "done"}).status_code == 404

    m = client.post(f"/api/initiatives/{ini}/metrics", json={"metric": "nps", "target": "+5"})
    assert m.status_code == 201 and m.json()["pilot"]["units"] == ["R-NORTH"]

    raci = f"activity,{people['exec']},{people['rm_north']}\nBudget,A,R\nRota,A,A\n"
    res = client.post(
        f"/api/initiatives/{ini}/raci/import", content=raci, headers={"content-type": "text/csv"}
    )
    assert res.status_code == 200, res.text
    check = client.get(f"/api/initiatives/{ini}/raci/check").json()
    assert check == json.loads(cli("raci", "check", str(ini), "--format", "json").stdout)
    assert any(f["rule"] == "one-accountable" and f["activity"] == "Rota" for f in check)
    res = client.post(
        f"/api/initiatives/{ini}/raci", json={"activity": "Rota", "person": people["exec"], "letter": "R"}
    )
    assert res.status_code == 200
    assert client.get(f"/api/initiatives/{ini}/raci").json()[1]["activity"] == "Rota"

    s1 = people["north_stores"][0]
    csv_text = "unit,awareness,desire,knowledge,ability,reinforcement\n" + f"{s1},4,3,1,5,2\n" * 5
    res = client.post(
        f"/api/initiatives/{ini}/readiness", content=csv_text, headers={"content-type": "text/csv"}
    )
    assert res.status_code == 201, res.text
    rep = client.get(f"/api/initiatives/{ini}/readiness").json()
    assert rep == json.loads(cli("readiness", "report", str(ini), "--format", "json").stdout)
    assert rep[0]["top_barrier"] == "desire"
    bad = csv_text + f"{s1},9,3,1,5,2\n"
    res = client.post(f"/api/initiatives/{ini}/readiness", content=bad, headers={"content-type": "text/csv"})
    assert res.status_code == 400 and "row 7" in res.json()["detail"]
    assert len(client.get(f"/api/initiatives/{ini}/readiness/trend").json()) == 1

    res = client.put(f"/api/initiatives/{ini}/impact/R-NORTH", json={"processes": 4, "systems": 4})
    assert res.status_code == 200 and res.json()["impact"] == 4.0
    heat = client.get("/api/initiatives/heatmap", params={"from": "2026-06", "to": "2026-06"}).json()
    assert {r["unit"] for r in heat} >= {"R-NORTH", s1}
    assert client.get(f"/api/initiatives/{ini}/impact").json()[0]["unit"] == "R-NORTH"
    assert (
        client.put(f"/api/initiatives/{ini}/risk", json={"scope": 5, "culture": 4}).json()["level"] == "high"
    )

    c = client.post(
        f"/api/initiatives/{ini}/comms",
        json={
            "audience": "R-NORTH",
            "channel": "town hall",
            "sender": people["exec"],
            "date": "2026-05-05",
            "message": "Why",
        },
    ).json()
    assert client.get(f"/api/initiatives/{ini}/comms", params={"overdue": True}).json()[0]["id"] == c["id"]
    assert client.post(f"/api/initiatives/{ini}/comms/{c['id']}/sent").json()["sent_at"]
    assert (
        client.post(f"/api/initiatives/{ini}/agents", json={"person": people["agents"][s1][0]}).status_code
        == 201
    )
    cov = client.get(f"/api/initiatives/{ini}/agents").json()
    assert next(r for r in cov if r["unit"] == s1)["agents"] == 1
    assert client.get(f"/api/initiatives/{ini}/managers").json()
    t = client.post(
        f"/api/initiatives/{ini}/training", json={"title": "Triage", "unit": s1, "date": "2026-06-01"}
    ).json()
    res = client.post(
        f"/api/initiatives/{ini}/training/{t['id']}/attendance", json={"people": [people["sm"][s1]]}
    )
    assert res.json()["recorded"] == 1
    assert client.get(f"/api/initiatives/{ini}/training").json()[0]["attended"] == 1
    r = client.post(
        f"/api/initiatives/{ini}/resistance",
        json={"unit": s1, "description": "Too busy", "cause": "desire", "owner": people["sm"][s1]},
    ).json()
    assert r["barrier_share"] == 1.0
    res = client.patch(f"/api/initiatives/{ini}/resistance/{r['id']}", json={"status": "addressed"})
    assert res.json()["status"] == "addressed"
    assert client.get(f"/api/initiatives/{ini}/resistance").json()[0]["status"] == "addressed"

    status = client.get(f"/api/initiatives/{ini}/status").json()
    cli_status = json.loads(cli("initiative", "status", str(ini), "--format", "json").stdout)
    assert status == cli_status
    assert status["steps_done"] == 1 and status["readiness"]["top_barrier"] == "desire"
    assert status["risk"]["level"] == "high" and status["agents_coverage"]["agents"] == 1
    assert client.get("/api/initiatives/999/status").status_code == 404


def test_the_impact_body_names_every_aspect_in_order() -> None:
    """ImpactIn is made at run time from IMPACT_ASPECTS (the type checker sees only its note): every
    aspect, in order, optional, then the note."""
    from cxchange.change.api import ImpactIn
    from cxchange.change.models import IMPACT_ASPECTS

    assert list(ImpactIn.model_fields) == [*IMPACT_ASPECTS, "note"]
    assert all(ImpactIn.model_fields[a].default is None for a in IMPACT_ASPECTS)


def test_the_initiative_patch_is_the_create_body_made_optional() -> None:
    """InitiativePatch is made from InitiativeIn: every field but the framework, optional and None when
    not given (so PATCH changes only what it names), then the status; a field added to the create body
    can be changed without being declared again."""
    from cxchange.change.api import InitiativeIn, InitiativePatch

    fields = InitiativePatch.model_fields
    assert list(fields) == [*(f for f in InitiativeIn.model_fields if f != "framework"), "status"]
    assert all(not f.is_required() and f.default is None for f in fields.values())
    patch = InitiativePatch.model_validate({"units": ["R-NORTH"], "end": None, "start": "2026-05-04"})
    assert patch.model_dump(exclude_unset=True) == {
        "units": ["R-NORTH"], "end": None, "start": date(2026, 5, 4)
    }  # fmt: skip
