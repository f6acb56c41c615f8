"""Outcomes of an initiative on the demo company: the planted pilot effect, the JSON contract, the
CLI, the API and bad input. The large demos are SQLite only (module-scoped, built once); a small
demo runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert, select
from typer.testing import CliRunner

from cxchange.auth.scope import UserScope
from cxchange.auth.web import current_scope
from cxchange.change.models import InitiativeUnit
from cxchange.core.errors import CxError, InputError, NotFoundError
from cxchange.demo import TRUTH
from cxchange.org.models import OrgUnit, Person
from cxchange.sustain.outcomes import outcomes

PILOT = TRUTH["pilot"]
CONTRACT = {
    "initiative",
    "metric",
    "pilot",
    "control",
    "did",
    "ci_low",
    "ci_high",
    "p_value",
    "pretrend_ok",
    "verdict",
    "series",
}


def _demo(tmp_path_factory: pytest.TempPathFactory, rows: int) -> Engine:
    from cxchange.core.db import get_engine
    from cxchange.demo.generator import generate
    from cxchange.demo.load import load_demo

    path = tmp_path_factory.mktemp(f"demo{rows}") / "cx.db"
    engine = get_engine(f"sqlite:///{path}")
    load_demo(engine, generate(rows=rows, seed=42), analyse=False)
    return engine


def _create(engine: Engine, name: str = "Queue-busting", **units: str) -> int:
    from cxchange.change.service import create

    with engine.connect() as conn:
        email = conn.execute(select(Person.email).order_by(Person.email).limit(1)).scalar_one()
    units = units or {
        "units": "R-NORTH",
        "pilot_units": PILOT["pilot_unit"],
        "control_units": PILOT["control_unit"],
    }
    return create(
        engine, name=name, framework="kotter", sponsor=email, owner=email, start=PILOT["start"], **units
    )["id"]


@pytest.fixture(scope="module")
def demo20k(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A copy of the session's default demo (20,000 rows, seed 42, analysed; the shared one stays
    read-only) with the planted pilot as the initiative "Queue-busting"."""
    from cxchange.core.db import get_engine

    path = tmp_path_factory.mktemp("demo20k") / "cx.db"
    src, dst = sqlite3.connect(str(demo_engine.url.database)), sqlite3.connect(str(path))
    src.backup(dst)
    src.close()
    dst.close()
    engine = get_engine(f"sqlite:///{path}")
    _create(engine)
    return engine


@pytest.fixture(scope="module")
def demo80k(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return _demo(tmp_path_factory, 80_000)


def test_planted_effect_is_inside_the_interval_on_the_demo(demo20k: Engine) -> None:
    """The demo pilots one region against another (R-NORTH vs R-SOUTH). Chosen by region, that is two
    possible assignments: no result can be told from chance, so the verdict is "cannot tell with this
    design" (it used to say "improved", clustering by store below the level of assignment). Had the
    stores been chosen one by one (`cluster="store"`), the planted DiD (≈ +20 NPS points) is found
    improved and lies inside the interval."""
    from cxchange.demo.load import DEMO_INITIATIVE

    # The demo's own initiative, over the whole periods ("all" reaches the first and last feedback).
    by_region = outcomes(demo20k, DEMO_INITIATIVE, metric="nps", before="all", after="all")
    assert set(by_region) >= CONTRACT
    assert by_region["verdict"] == "cannot tell with this design"
    assert by_region["inference"]["assignments"] == 2 and by_region["inference"]["cluster_level"] == "region"
    assert by_region["ci_low"] is None and by_region["did"] > 0
    out = outcomes(demo20k, DEMO_INITIATIVE, metric="nps", before="all", after="all", cluster="store")
    assert out["did"] == by_region["did"]  # the same estimate; only the inference differs
    assert set(out["pilot"]) >= {"before", "after", "n_before", "n_after"}
    assert out["pilot"]["units"] == out["control"]["units"] == 10
    assert out["window"]["before"][0] == TRUTH["period"]["start"]
    assert out["window"]["after"][1] == TRUTH["period"]["end"]
    assert out["ci_low"] <= PILOT["expected_did"] <= out["ci_high"]
    assert out["verdict"] == "improved"
    assert out["ci_low"] > 0 and out["p_value"] < 0.05 and out["df"] == 19
    assert out["summary"].startswith("improved")
    assert out["pretrend_ok"] is True and out["pretrend"]["status"] == "ok"
    assert [e["relative_month"] for e in out["event_study"]][:2] == [-18, -17]  # "all": from 2024-11
    months = {r["month"] for r in out["series"]}
    assert "2025-11" in months and "2026-10" in months
    assert {r["group"] for r in out["series"]} == {"pilot", "control"}


def test_planted_effect_is_found_improved_with_enough_data(demo80k: Engine) -> None:
    ini = _create(demo80k)
    out = outcomes(demo80k, ini, metric="nps", before="365d", after="180d", cluster="store")
    assert out["verdict"] == "improved"
    assert out["ci_low"] < PILOT["expected_did"] < out["ci_high"]
    assert out["ci_low"] > 0 and out["p_value"] < 0.05
    assert out["pretrend_ok"] is True
    assert out["summary"].startswith("improved")
    # the control region has no effect: its own before/after shows none
    ctrl = _create(demo80k, "South alone", units=PILOT["control_unit"])
    base = outcomes(demo80k, ctrl, metric="nps", before="365d", after="180d")
    assert base["did"] is None and base["pilot"] is None
    assert base["change"]["ci_low"] < 0 < base["change"]["ci_high"]
    assert any("overlapping" in c and "Queue-busting" in c for c in base["caveats"])


def test_fake_start_dates_before_the_real_one_find_nothing(demo80k: Engine) -> None:
    """Placebo on the demo itself: fake starts in the year before the pilot, windows ending before it
    (stores as the clusters: by region every verdict would be "cannot tell")."""
    from cxchange.change.service import update

    ini = _create(demo80k, "Placebo")
    rejected = 0
    starts = ["2025-07-01", "2025-08-01", "2025-09-01", "2025-10-01", "2025-11-01", "2025-12-01"]
    for start in starts:
        update(demo80k, ini, start=start)
        out = outcomes(demo80k, ini, before="180d", after="90d", cluster="store")
        rejected += out["verdict"] in ("improved", "worse")
    assert rejected <= 1


@pytest.fixture
def small(engine: Engine) -> Engine:
    from cxchange.demo.generator import generate
    from cxchange.demo.load import load_demo

    load_demo(engine, generate(rows=1000, seed=1), analyse=True)
    return engine


@pytest.fixture
def tiny(engine: Engine) -> Engine:
    from cxchange.demo.generator import generate
    from cxchange.demo.load import load_demo

    load_demo(engine, generate(rows=500, seed=1), analyse=False)
    return engine


def _app() -> typer.Typer:
    from cxchange.sustain.cli_outcomes import register_outcomes

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root(ctx: typer.Context, db: str | None = typer.Option(None, "--db")) -> None:
        ctx.obj = {"db": db}

    register_outcomes(app)
    return app


@pytest.fixture
def client(small: Engine) -> Iterator[TestClient]:
    from cxchange.core.deps import set_database_url
    from cxchange.sustain.api_outcomes import router

    set_database_url(small.url.render_as_string(hide_password=False))
    app = FastAPI()
    app.dependency_overrides[current_scope] = lambda: UserScope.everything("test")

    @app.exception_handler(CxError)
    async def _cx_error(_request: Request, exc: CxError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, NotFoundError) else 400)

    app.include_router(router, prefix="/api")
    yield TestClient(app)
    set_database_url(None)


def test_cli_api_and_theme_metrics_on_both_databases(small: Engine, client: TestClient) -> None:
    ini = _create(small)
    url = small.url.render_as_string(hide_password=False)
    run = CliRunner(env={"COLUMNS": "250"}).invoke
    res = run(
        _app(), ["--db", url, "outcomes", str(ini), "--before", "365d", "--after", "180d", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    cli_out = json.loads(res.output)
    assert set(cli_out) >= CONTRACT and cli_out["metric"] == "nps"
    api = client.get(f"/api/outcomes/{ini}", params={"before": "365d", "after": "180d"})
    assert api.status_code == 200
    assert api.json() == cli_out
    table = run(_app(), ["--db", url, "outcomes", "Queue-busting", "--before", "52w", "--after", "180d"])
    assert table.exit_code == 0, table.output
    assert "pre-trend check" in table.output and "by month" in table.output

    share = outcomes(small, ini, metric="theme-share:waiting time", before="365d", after="180d")
    assert share["metric"] == "theme-share:Waiting time"
    assert 0 < share["pilot"]["before"] < 100
    assert share["higher_is_better"] is False  # waiting time is mostly mentioned negatively
    senti = outcomes(small, ini, metric="theme-sentiment:Waiting time", before="365d", after="180d")
    assert -1 <= senti["pilot"]["before"] <= 1 and senti["higher_is_better"] is True
    assert senti["pilot"]["n_before"] < share["pilot"]["n_before"]

    with pytest.raises(InputError, match=r"no theme-share:Billing data for the pilot units \(R-NORTH\) aft"):
        from cxchange.change.service import update

        update(small, ini, start="2026-11-15")  # the demo ends on 2026-10-31
        outcomes(small, ini, metric="theme-share:Billing", before="30d", after="30d")
    bad = client.get(f"/api/outcomes/{ini}", params={"metric": "loyalty"})
    assert bad.status_code == 400 and "--metric" in bad.json()["detail"]
    assert client.get("/api/outcomes/999").status_code == 404


def test_bad_input_is_one_clear_message(tiny: Engine) -> None:
    small = tiny
    ini = _create(small)
    with pytest.raises(InputError, match="--before wants"):
        outcomes(small, ini, before="three months")
    from cxchange.change.service import update

    with pytest.raises(InputError, match=r"no nps data for the pilot units \(R-NORTH\) after the start"):
        update(small, ini, start="2026-11-15")  # the demo ends on 2026-10-31
        outcomes(small, ini, before="120d", after="30d")
    with pytest.raises(NotFoundError):
        outcomes(small, ini, metric="theme-share:Billing")  # no taxonomy loaded
    update(small, ini, start="2019-01-01")  # years before the first feedback
    with pytest.raises(InputError, match=r"on or before the first feedback .*no before period"):
        outcomes(small, ini)
    update(small, ini, start=PILOT["start"])
    # A pilot store beneath the control region is refused when the units are set, naming both ...
    with pytest.raises(InputError, match=r"both pilot and control: S-NOR-01 \(pilot\) lies beneath R-NORTH"):
        update(small, ini, pilot_units="S-NOR-01", control_units="R-NORTH")
    # ... and by outcomes when it comes about otherwise (the org re-imported under it): both named.
    with small.begin() as conn:
        conn.execute(delete(InitiativeUnit).where(InitiativeUnit.initiative_id == ini))
        wanted = OrgUnit.code.in_(["S-NOR-01", "R-NORTH"])
        ids = {code: uid for code, uid in conn.execute(select(OrgUnit.code, OrgUnit.id).where(wanted))}
        conn.execute(
            insert(InitiativeUnit),
            [{"initiative_id": ini, "unit_id": ids["S-NOR-01"], "role": "pilot"},
             {"initiative_id": ini, "unit_id": ids["R-NORTH"], "role": "control"}],
        )  # fmt: skip
    overlap = r"pilot and control units overlap: S-NOR-01 \(pilot\) lies beneath R-NORTH \(control\)"
    with pytest.raises(InputError, match=overlap):
        outcomes(small, ini)
    from cxchange.sustain.outcome_plan import plan

    with pytest.raises(InputError, match=overlap):
        plan(small, ini)
    update(small, ini, pilot_units="", control_units="R-SOUTH")
    with pytest.raises(InputError, match="has control units but no pilot units"):
        outcomes(small, ini)
    with small.begin() as conn:
        conn.execute(delete(InitiativeUnit).where(InitiativeUnit.initiative_id == ini))
    with pytest.raises(InputError, match="has no units"):
        outcomes(small, ini)
    url = small.url.render_as_string(hide_password=False)
    res = CliRunner().invoke(_app(), ["--db", url, "outcomes", str(ini)])
    assert res.exit_code == 1 and isinstance(res.exception, InputError)


def test_without_control_units_the_change_is_measured_where_the_initiative_acted(tiny: Engine) -> None:
    """A pilot without control units: before/after of the pilot units only (the rest of the scope did
    not get the change), the caveat naming what is missing and how to set it; without pilot or control
    units, of every unit in scope, saying so. Before the fix the pilot-only case measured the whole scope
    (R-NORTH and R-SOUTH) and its caveat named no missing units."""
    from cxchange.change.service import create

    with tiny.connect() as conn:
        email = conn.execute(select(Person.email).order_by(Person.email).limit(1)).scalar_one()
    made = {
        name: create(tiny, name=name, framework="kotter", sponsor=email, owner=email, start=PILOT["start"],
                     units="R-NORTH,R-SOUTH", **units)["id"]
        for name, units in (("pilot only", {"pilot_units": "R-NORTH"}), ("scope only", {}))
    }  # fmt: skip
    pilot_only = outcomes(tiny, made["pilot only"], before="180d", after="90d")
    scope_only = outcomes(tiny, made["scope only"], before="180d", after="90d")
    assert pilot_only["mode"] == scope_only["mode"] == "before-after"
    assert pilot_only["scope"]["codes"] == ["R-NORTH"]
    assert scope_only["scope"]["codes"] == ["R-NORTH", "R-SOUTH"]
    assert pilot_only["scope"]["n_before"] < scope_only["scope"]["n_before"]
    north = outcomes(tiny, _create(tiny, "north alone", units="R-NORTH"), before="180d", after="90d")
    assert north["scope"]["n_before"] == pilot_only["scope"]["n_before"]
    assert north["change"] == pilot_only["change"]
    assert any(
        "no control units" in c and "pilot units (R-NORTH)" in c and "--control-units" in c
        for c in pilot_only["caveats"]
    ), pilot_only["caveats"]
    assert any(
        "no pilot or control units" in c and "(R-NORTH, R-SOUTH)" in c and "--pilot-units" in c
        for c in scope_only["caveats"]
    ), scope_only["caveats"]


def test_missing_data_names_the_units(tiny: Engine) -> None:
    """A control unit without any feedback: the message names it (it said only "the control units")."""
    from cxchange.org.tree import import_org_rows
    from cxchange.sustain.outcome_plan import plan

    import_org_rows(tiny, [{"code": "S-EMPTY", "name": "Empty", "parent": "R-SOUTH", "level": "store"}], [])
    ini = _create(
        tiny, "empty control", units="R-NORTH,R-SOUTH", pilot_units="R-NORTH", control_units="S-EMPTY"
    )
    with pytest.raises(InputError, match=r"no nps data for the control units \(S-EMPTY\) before the start"):
        outcomes(tiny, ini)
    with pytest.raises(InputError, match=r"control units \(S-EMPTY\)"):
        plan(tiny, ini)
    update_hint = r"`initiative update \d+ --pilot-units CODE,… --control-units CODE,…`"
    with pytest.raises(InputError, match=update_hint):
        plan(tiny, _create(tiny, "no pilot", units="R-NORTH"))


def test_the_result_is_json_serialisable(demo20k: Engine) -> None:
    out: dict[str, Any] = outcomes(demo20k, "Queue-busting", metric="csat", before="180d", after="120d")
    json.dumps(out)
    assert out["metric"] == "csat" and 0 <= out["pilot"]["before"] <= 100
