"""The closed-loop commands (`cases`, `recognition`, `alerts`) and their HTTP endpoints, end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from cxchange.auth.scope import UserScope
from cxchange.auth.web import current_scope
from cxchange.core.errors import CxError, NotFoundError
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.org.tree import import_org_rows
from cxchange.sustain import hooks

UNITS = [
    {"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
    {"code": "S1", "name": "Ashby", "parent": "HQ", "level": "store"},
    {"code": "S2", "name": "Barton", "parent": "HQ", "level": "store"},
]
PEOPLE = [
    {"name": "Erin Exec", "email": "exec@x.test", "unit": "HQ", "role": "exec"},
    {"name": "Sid Store", "email": "sm1@x.test", "unit": "S1", "role": "store_manager"},
    {"name": "Priya Shah", "email": "priya@x.test", "unit": "S1", "role": "agent"},
]


@pytest.fixture
def world(engine: Engine) -> Engine:
    from cxchange.understand.analyze import analyze
    from cxchange.understand.themes.taxonomy import add_theme

    import_org_rows(engine, [dict(u) for u in UNITS], [dict(p) for p in PEOPLE])
    add_theme(engine, "Queues", keywords=["queue"])
    base = datetime(2026, 4, 1, 9)
    specs = [
        (2, "S1", "The queue was terrible"),
        (10, "S1", "Priya was brilliant, thank you"),
        (5, "S2", "Meh"),
    ]
    frame = pl.DataFrame(
        {"external_id": [f"E{i}" for i in range(len(specs))],
         "received_at": [base + timedelta(days=i) for i in range(len(specs))],
         "nps": [n for n, _, _ in specs], "org_unit": [u for _, u, _ in specs],
         "text": [t for _, _, t in specs], "customer_id": ["C1", "C2", "C3"]}
    )  # fmt: skip
    maps = tuple(f"{c}={c}" for c in frame.columns)
    res = import_frame(
        engine, frame, ImportOptions(source="survey", kind="survey", map_options=maps, close_loop=False)
    )
    clock = base + timedelta(days=5)  # the feedback is recent on this clock
    hooks.after_import(engine, res.batch_id, deliver="pending", now=clock)
    hooks.after_analyze(engine, analyze(engine, backend="fast")["run"], now=clock)
    return engine


def make_app() -> typer.Typer:
    from cxchange.sustain.cli_loop import register_loop

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root(ctx: typer.Context, db: str | None = typer.Option(None, "--db")) -> None:
        ctx.obj = {"db": db}

    register_loop(app)
    return app


@pytest.fixture
def cli(world: Engine) -> Callable[..., Result]:
    app = make_app()
    runner = CliRunner(env={"COLUMNS": "250"})
    url = world.url.render_as_string(hide_password=False)
    return lambda *args: runner.invoke(app, ["--db", url, *args])


def js(result: Result) -> Any:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_cases_recognition_and_alerts_commands(cli: Callable[..., Result]) -> None:
    rules = js(cli("cases", "rule", "list", "--format", "json"))
    assert [r["kind"] for r in rules] == ["nps_max", "csat_max"]
    r = js(
        cli("cases", "rule", "add", "--kind", "theme", "--theme", "Queues", "--sla", "2d", "--format", "json")
    )
    assert r["kind"] == "theme_negative" and r["sla_hours"] == 48 and r["within_days"] == 14
    r = js(cli("cases", "rule", "add", "--kind", "ces", "--max", "2", "--within", "4w", "--format", "json"))
    assert r["within_days"] == 28
    assert "within_days" in cli("cases", "rule", "list").stdout
    bad = cli("cases", "rule", "add", "--kind", "ces", "--max", "2", "--within", "lately")
    assert bad.exit_code != 0 and "--within" in str(bad.exception)
    bad = cli("cases", "rule", "add", "--kind", "nps", "--max", "12")
    assert bad.exit_code != 0 and "between 0 and 10" in str(bad.exception)
    none_yet = cli("cases", "list", "--status", "resolved")
    assert none_yet.exit_code == 0 and none_yet.stdout.startswith("no cases matching the filters: rules open")
    assert js(cli("cases", "list", "--status", "resolved", "--format", "json")) == []
    listed = js(cli("cases", "list", "--format", "json"))
    assert sorted((c["unit"], c["nps"]) for c in listed) == [("S1", 2), ("S2", 5)]
    s1 = next(c for c in listed if c["unit"] == "S1")
    assert s1["assignee"] == "sm1@x.test"
    assert js(cli("cases", "list", "--unit", "S2", "--format", "json"))[0]["assignee"] == "exec@x.test"
    table = cli("cases", "list")
    assert table.exit_code == 0 and "sm1@x.test" in table.stdout
    out = js(cli("cases", "assign", str(s1["id"]), "priya@x.test", "--format", "json"))
    assert out["assignee"] == "priya@x.test"
    out = js(
        cli("cases", "update", str(s1["id"]), "--status", "resolved", "--note", "called",
            "--root-cause", "Queues", "--format", "json")
    )  # fmt: skip
    assert out["status"] == "resolved" and out["root_cause"] == "Queues"
    assert js(cli("cases", "list", "--status", "resolved", "--format", "json"))[0]["id"] == s1["id"]
    st = js(cli("cases", "stats", "--format", "json"))[0]
    assert st["resolved"] == 1 and st["open"] == 1 and st["root_causes"] == {"Queues": 1}
    by_unit = js(cli("cases", "stats", "--by", "unit", "--format", "json"))
    assert [r["group"]["unit"] for r in by_unit] == ["S1", "S2"]
    assert cli("cases", "stats").exit_code == 0
    assert js(cli("cases", "scan", "--format", "json"))["cases"] == 0
    missing = cli("cases", "update", "999", "--status", "open")
    assert isinstance(missing.exception, NotFoundError)

    # recognition and alerts, on the same database (one set-up keeps the suite fast)
    recs = js(cli("recognition", "--format", "json"))
    assert [(r["email"], r["unit"]) for r in recs] == [("priya@x.test", "S1")]
    assert js(cli("recognition", "--unit", "S2", "--format", "json")) == []
    assert js(cli("recognition", "--since", "2026-05-01", "--format", "json")) == []
    assert cli("recognition", "--scan").exit_code == 0
    bad = cli("recognition", "--since", "yesterday")
    assert bad.exit_code != 0 and "--since" in str(bad.exception)

    r = js(cli("alerts", "rule", "add", "--metric", "nps", "--unit", "S1", "--drop", "5", "--window", "30d",
               "--webhook", "http://127.0.0.1:9/none", "--format", "json"))  # fmt: skip
    assert r["unit"] == "S1" and "webhook" in r["channels"]
    unknown = cli("alerts", "rule", "add", "--metric", "nps", "--unit", "NOPE", "--below", "10")
    assert isinstance(unknown.exception, NotFoundError) and "NOPE" in str(unknown.exception)
    assert len(js(cli("alerts", "rule", "list", "--format", "json"))) == 1
    checked = cli("alerts", "check")
    assert checked.exit_code == 0
    assert "1 rules checked (0 evaluated, 1 skipped), 0 alerts fired" in checked.stdout
    assert "history is not judged" in checked.stderr  # April is history on the real clock
    assert js(cli("alerts", "check", "--format", "json"))["notes"]  # too little data: said, not raised
    assert js(cli("alerts", "--format", "json")) == []
    assert cli("alerts").exit_code == 0


def test_you_said_we_did_csv(cli: Callable[..., Result], world: Engine, tmp_path: Any) -> None:
    from cxchange.change.service import create
    from cxchange.change.service import update as update_initiative

    ini = create(
        world, name="Queues", framework="kotter", sponsor="exec@x.test", owner="sm1@x.test",
        units="S1", start="2026-01-01", theme="Queues",
    )  # fmt: skip
    early = cli("cases", "you-said-we-did", str(ini["id"]))
    assert early.exit_code != 0 and "not done" in str(early.exception)
    update_initiative(world, ini["id"], status="done")
    out = cli("cases", "you-said-we-did", str(ini["id"]))
    assert out.exit_code == 0
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "customer_id,feedback_id,date,text,unit"
    assert lines[1].startswith("C1,") and lines[1].endswith(",2026-04-01,The queue was terrible,S1")
    path = tmp_path / "tell.csv"
    assert cli("cases", "you-said-we-did", str(ini["id"]), "-o", str(path)).exit_code == 0
    assert path.read_text().splitlines() == lines
    assert js(cli("cases", "you-said-we-did", str(ini["id"]), "--format", "json"))["customers"] == 1


def test_api(world: Engine) -> None:
    from cxchange.core.deps import set_database_url
    from cxchange.sustain.api_loop import router

    set_database_url(world.url.render_as_string(hide_password=False))
    app = FastAPI()
    app.dependency_overrides[current_scope] = lambda: UserScope.everything("test")

    @app.exception_handler(CxError)
    async def _cx(_r: Request, exc: CxError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, NotFoundError) else 400)

    app.include_router(router, prefix="/api")
    try:
        c = TestClient(app)
        cases = c.get("/api/cases").json()
        assert len(cases) == 2
        cid = next(x["id"] for x in cases if x["unit"] == "S1")
        assert c.get("/api/cases", params={"unit": "S2"}).json()[0]["unit"] == "S2"
        assert c.get(f"/api/cases/{cid}").json()["assignee"] == "sm1@x.test"
        assert (
            c.post(f"/api/cases/{cid}/assign", json={"email": "priya@x.test"}).json()["assignee"]
            == "priya@x.test"
        )
        out = c.patch(
            f"/api/cases/{cid}", json={"status": "contacted", "note": "rang", "by": "ceo@x.test"}
        ).json()
        assert out["status"] == "contacted"
        # the history names the caller, never a `by` the body claims
        assert out["notes"][-1]["note"] == "rang" and out["notes"][-1]["by"] != "ceo@x.test"
        assert c.patch(f"/api/cases/{cid}", json={"status": "closed"}).status_code == 400
        assert c.get("/api/cases/424242").status_code == 404
        assert c.get("/api/cases/stats").json()[0]["contacted"] == 1
        assert c.get("/api/cases/rules").status_code == 200
        made = c.post("/api/cases/rules", json={"kind": "csat", "max": 1, "name": "furious"})
        assert made.status_code == 201 and made.json()["condition"] == "csat <= 1"
        assert c.get("/api/cases/root-causes").json() == {}
        assert c.get("/api/cases/you-said-we-did/999").status_code == 404
        assert [r["email"] for r in c.get("/api/recognition").json()] == ["priya@x.test"]
        rule = c.post(
            "/api/alerts/rules", json={"metric": "nps", "unit": "S1", "below": 0, "email": ["a@x.test"]}
        )
        assert rule.status_code == 201, rule.json()
        assert (
            c.post("/api/alerts/rules", json={"metric": "nps", "unit": "ZZ", "below": 0}).status_code == 404
        )
        assert len(c.get("/api/alerts/rules").json()) == 1
        assert c.post("/api/alerts/check").json()["checked"] == 1
        assert c.get("/api/alerts").json() == []
    finally:
        set_database_url(None)
