"""Scorecards per unit for incentives: score and interval, change vs previous period, target met only
when the interval says so, case handling and recognitions; CSV, JSON, API and bad input."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta

import pytest
import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from cxchange.auth.scope import UserScope
from cxchange.auth.web import current_scope
from cxchange.core.errors import CxError, InputError, NoDataError, NotFoundError
from cxchange.core.period import Period
from cxchange.listen.models import Feedback
from cxchange.measure.service import ScoreQuery, scores
from cxchange.org.models import OrgUnit, Person
from cxchange.sustain.models import Case, Recognition
from cxchange.sustain.scorecard import latest_complete, scorecard


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from cxchange.core.db import get_engine
    from cxchange.demo.generator import generate
    from cxchange.demo.load import load_demo

    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('scorecard') / 'cx.db'}")
    load_demo(engine, generate(rows=20_000, seed=42), analyse=False)
    return engine


def _app() -> typer.Typer:
    from cxchange.sustain.cli_outcomes import register_outcomes

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root(ctx: typer.Context, db: str | None = typer.Option(None, "--db")) -> None:
        ctx.obj = {"db": db}

    register_outcomes(app)
    return app


def test_latest_complete_period() -> None:
    assert latest_complete("quarter", date(2026, 10, 31)) == (date(2026, 7, 1), date(2026, 10, 1))
    assert latest_complete("quarter", date(2026, 9, 30)) == (date(2026, 7, 1), date(2026, 10, 1))
    assert latest_complete("month", date(2026, 10, 31)) == (date(2026, 10, 1), date(2026, 11, 1))
    assert latest_complete("month", date(2026, 1, 15)) == (date(2025, 12, 1), date(2026, 1, 1))
    assert latest_complete("quarter", date(2026, 2, 1)) == (date(2025, 10, 1), date(2026, 1, 1))


def test_regions_quarter_scores_change_and_target(demo: Engine) -> None:
    rows = scorecard(demo, period="quarter", by="org:region", metric="nps")
    assert [r["unit"] for r in rows] == ["R-EAST", "R-NORTH", "R-SOUTH", "R-WEST"]
    assert {r["period"] for r in rows} == {"2026-Q3"} and {r["previous_period"] for r in rows} == {"2026-Q2"}
    ref = scores(
        demo, ScoreQuery(metric="nps", by=("org:region",), period=Period(date(2026, 7, 1), date(2026, 10, 1)))
    )
    by_name = {r["group"]["org:region"]: r for r in ref}
    prev = scores(
        demo, ScoreQuery(metric="nps", by=("org:region",), period=Period(date(2026, 4, 1), date(2026, 7, 1)))
    )
    prev_by = {r["group"]["org:region"]: r for r in prev}
    for r in rows:
        assert (r["score"], r["ci_low"], r["ci_high"], r["n"]) == (
            by_name[r["name"]]["score"],
            by_name[r["name"]]["ci_low"],
            by_name[r["name"]]["ci_high"],
            by_name[r["name"]]["n"],
        )
        assert r["previous_score"] == prev_by[r["name"]]["score"]
        assert r["change"] == pytest.approx(r["score"] - r["previous_score"], abs=0.02)
        assert r["change_ci_low"] < r["change"] < r["change_ci_high"]
        assert r["target_met"] is None and r["target_status"] == "no target"
    lowest, highest = min(r["ci_low"] for r in rows), max(r["ci_high"] for r in rows)
    assert all(r["target_met"] is True for r in scorecard(demo, by="org:region", target=lowest))
    assert all(r["target_met"] is False for r in scorecard(demo, by="org:region", target=highest + 0.01))
    mid = sorted(rows, key=lambda r: r["score"])[1]
    target = mid["score"]  # the point estimate meets it, the interval does not settle it
    got = {r["unit"]: r for r in scorecard(demo, by="org:region", target=target)}[mid["unit"]]
    assert got["target_met"] is None and got["target_status"] == "not yet clear"


def test_stores_by_month_and_as_of(demo: Engine) -> None:
    rows = scorecard(demo, period="month", by="org:store", metric="csat")
    assert len(rows) == 40 and {r["period"] for r in rows} == {"2026-10"}
    assert all(0 <= r["score"] <= 100 for r in rows)
    assert any(r["small"] for r in rows)  # ~60 CSAT answers a month over 40 stores: small, flagged, shown
    early = scorecard(demo, period="quarter", by="org:region", as_of=date(2026, 6, 15))
    assert {r["period"] for r in early} == {"2026-Q1"} and {r["previous_period"] for r in early} == {
        "2025-Q4"
    }


def test_cases_and_recognitions_roll_up_to_the_unit(demo: Engine) -> None:
    with demo.begin() as conn:
        store = conn.execute(select(OrgUnit.id).where(OrgUnit.code == "S-NOR-01")).scalar_one()
        person = conn.execute(select(Person.id).where(Person.unit_id == store)).scalars().first()

        def received(lo: datetime, hi: datetime, n: int) -> list[int]:
            stmt = select(Feedback.id).where(
                Feedback.org_unit_id == store, Feedback.received_at >= lo, Feedback.received_at < hi
            )
            return list(conn.execute(stmt.order_by(Feedback.id).limit(n)).scalars())

        # A case counts in the period its feedback was received in, whenever it was opened: three for
        # Q3 feedback (one opened in October), one opened in Q3 for October feedback (counted in Q4).
        fb = [*received(datetime(2026, 8, 1), datetime(2026, 9, 1), 3), *received(
            datetime(2026, 10, 1), datetime(2026, 10, 15), 2)]  # fmt: skip
        opened = datetime(2026, 8, 10, 9)
        due = opened + timedelta(hours=72)

        def case(
            f: int, status: str, at: datetime, due_at: datetime, resolved: datetime | None = None
        ) -> dict:
            return {
                "feedback_id": f,
                "unit_id": store,
                "status": status,
                "opened_at": at,
                "due_at": due_at,
                "resolved_at": resolved,
                "notes": [],
            }

        conn.execute(
            insert(Case),
            [
                case(fb[0], "open", opened, due),
                case(fb[1], "resolved", opened, due, opened + timedelta(hours=5)),
                case(fb[2], "resolved", datetime(2026, 10, 2), datetime(2026, 10, 5), datetime(2026, 10, 7)),
                case(fb[3], "open", datetime(2026, 9, 30), datetime(2026, 10, 3)),  # Q4 feedback
            ],
        )
        conn.execute(
            insert(Recognition),
            [
                {
                    "feedback_id": fb[0],
                    "person_id": person,
                    "unit_id": store,
                    "matched": "Sam",
                    "score": 1.0,
                    "received_at": datetime(2026, 8, 1),
                },
                {
                    "feedback_id": fb[1],
                    "person_id": person,
                    "unit_id": store,
                    "matched": "Sam",
                    "score": 0.9,
                    "received_at": datetime(2026, 9, 30, 23),
                },
                {
                    "feedback_id": fb[4],
                    "person_id": person,
                    "unit_id": store,
                    "matched": "Sam",
                    "score": 0.9,
                    "received_at": datetime(2026, 10, 2),
                },
            ],
        )
    rows = {r["unit"]: r for r in scorecard(demo, period="quarter", by="org:region")}
    north = rows["R-NORTH"]
    assert (north["cases"], north["cases_open"], north["cases_overdue"]) == (3, 1, 1)
    assert north["resolved_within_sla_pct"] == pytest.approx(33.3)
    assert north["recognitions"] == 2
    assert rows["R-SOUTH"]["cases"] == 0 and rows["R-SOUTH"]["resolved_within_sla_pct"] is None
    stores = {r["unit"]: r for r in scorecard(demo, period="quarter", by="org:store")}
    assert stores["S-NOR-01"]["recognitions"] == 2 and stores["S-NOR-02"]["recognitions"] == 0


@pytest.fixture
def tiny(engine: Engine) -> Engine:
    from cxchange.demo.generator import generate
    from cxchange.demo.load import load_demo

    load_demo(engine, generate(rows=1500, seed=3), analyse=False)
    with engine.begin() as conn:  # a unit name a spreadsheet would run as a formula
        conn.execute(update(OrgUnit).where(OrgUnit.code == "R-WEST").values(name="=HYPERLINK(1)"))
    return engine


def test_cli_csv_json_api_and_bad_input_on_both_databases(tiny: Engine) -> None:
    from cxchange.core.deps import set_database_url
    from cxchange.sustain.api_outcomes import router

    url = tiny.url.render_as_string(hide_password=False)
    run = CliRunner(env={"COLUMNS": "250"}).invoke
    args = ["--db", url, "scorecard", "--period", "quarter", "--by", "org:region", "--target", "10"]
    res = run(_app(), [*args, "--format", "csv"])
    assert res.exit_code == 0, res.output
    table = list(csv.DictReader(io.StringIO(res.output)))
    assert len(table) == 4 and {"score", "ci_low", "ci_high", "change", "target_met", "cases"} <= set(
        table[0]
    )
    assert "'=HYPERLINK(1)" in {r["name"] for r in table}  # neutralised by write_csv
    as_json = json.loads(run(_app(), [*args, "--format", "json"]).output)
    assert len(as_json) == 4
    assert run(_app(), args).exit_code == 0

    set_database_url(url)
    try:
        app = FastAPI()
        app.dependency_overrides[current_scope] = lambda: UserScope.everything("test")

        @app.exception_handler(CxError)
        async def _cx_error(_request: Request, exc: CxError) -> JSONResponse:
            return JSONResponse(
                {"detail": str(exc)}, status_code=404 if isinstance(exc, NotFoundError) else 400
            )

        app.include_router(router, prefix="/api")
        client = TestClient(app)
        got = client.get("/api/scorecards", params={"period": "quarter", "by": "org:region", "target": 10})
        assert got.status_code == 200 and got.json() == as_json
        # min_n 0 is "flag no group as small", as the CLI and /api/scores take it; -1 is a typo
        # (the same answer, and min_n reaches the scorecard: 0 flags none, a huge one every unit)
        query = {"period": "quarter", "by": "org:region", "target": 10}
        every = client.get("/api/scorecards", params={**query, "min_n": 0})
        cli_every = json.loads(run(_app(), [*args, "--min-n", "0", "--format", "json"]).output)
        assert every.status_code == 200 and every.json() == cli_every
        assert not any(r["small"] for r in cli_every)
        assert all(r["small"] for r in client.get("/api/scorecards", params={**query, "min_n": 10**6}).json())
        assert client.get("/api/scorecards", params={"min_n": -1}).status_code == 422
        bad = client.get("/api/scorecards", params={"by": "region"})
        assert bad.status_code == 400 and "org:LEVEL" in bad.json()["detail"]
        empty = client.get("/api/scorecards", params={"as_of": "2020-01-15"})
        assert empty.status_code == 404
        assert empty.json()["detail"].startswith("no nps answers in scope (2019-Q4")
    finally:
        set_database_url(None)

    with pytest.raises(InputError, match="--period"):
        scorecard(tiny, period="year")
    with pytest.raises(InputError, match="no org level"):
        scorecard(tiny, by="org:galaxy")
    with pytest.raises(NoDataError, match="no nps answers in scope"):
        scorecard(tiny, as_of=date(2020, 1, 15))
    res = run(_app(), ["--db", url, "scorecard", "--as-of", "2020-01-15"])
    assert res.exit_code == 1 and isinstance(res.exception, NoDataError) and res.stdout == ""
    res = run(_app(), ["--db", url, "scorecard", "--metric", "loyalty"])
    assert res.exit_code == 1 and isinstance(res.exception, InputError)


def test_scorecard_and_overview_count_the_same_cases(tiny: Engine) -> None:
    """The demo's loop opened cases for its last two weeks (October's feedback) on the demo's clock,
    1 November. The October scorecard and the overview of each region show the same cases (the
    scorecard once counted cases *opened* in the period: 0 / 0 everywhere)."""
    import re

    from cxchange.sustain.case_stats import stats as case_stats
    from cxchange.testing import signed_in_client

    url = tiny.url.render_as_string(hide_password=False)
    card = {r["unit"]: r for r in scorecard(tiny, period="month", by="org:region", min_n=1)}
    assert card and {r["period"] for r in card.values()} == {"2026-10"}
    assert sum(r["cases"] for r in card.values()) == case_stats(tiny)[0]["cases"] > 0
    client = signed_in_client(url, tiny)
    for code, row in card.items():
        page = client.get("/", params={"unit": code})
        assert page.status_code == 200, page.text
        shown = re.search(r'id="cases-open">(\d+)</p>.*?(\d+) in all', page.text, re.S)
        if row["cases"] == 0:
            assert shown is None or shown.group(2) == "0"
            continue
        assert shown is not None, code
        assert (int(shown.group(1)), int(shown.group(2))) == (row["cases_open"], row["cases"]), code


def test_the_default_level_is_the_orgs_lowest() -> None:
    """The scorecard's default level (an org of airlines has no "store"): the deepest units' level name,
    their depth when they have none or several, and one clear line for an org with no units."""
    from cxchange.org.tree import OrgTree, Unit

    def tree(*rows: tuple[int, int | None, str | None, int]) -> OrgTree:
        return OrgTree({i: Unit(i, f"U{i}", f"Unit {i}", p, lv, d, str(i)) for i, p, lv, d in rows})

    assert tree((1, None, "group", 0), (2, 1, "airline", 1), (3, 1, "airline", 1)).lowest_level() == "airline"
    assert tree((1, None, "group", 0), (2, 1, None, 1)).lowest_level() == "1"
    assert tree((1, None, "co", 0), (2, 1, "store", 1), (3, 1, "kiosk", 1)).lowest_level() == "1"
    with pytest.raises(InputError, match="no org units yet"):
        OrgTree().lowest_level()
