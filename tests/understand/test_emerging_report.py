"""`emerging` says what it compared: the window and baseline (dates, comments) and the themes tested,
so "nothing unusual" is an answer, not a silence. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import polars as pl
import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from cxchange.core.errors import NoDataError
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.understand.service import emerging, emerging_report

END = datetime(2026, 6, 30, 12)


def _load(engine: Engine, spike: bool) -> None:
    """63 days × 6 comments: prices every day, the login theme only in the last week when `spike`."""
    from cxchange.understand.analyze import analyze
    from cxchange.understand.themes.taxonomy import add_theme

    add_theme(engine, "Login", keywords=["login"])
    add_theme(engine, "Prices", keywords=["price"])
    add_theme(engine, "Parking", keywords=["parking"])  # never mentioned: not tested
    rows = []
    for day in range(63):
        for k in range(6):
            login = spike and day < 7 and k < 4
            text = "the login keeps failing" if login else "the price is fair"
            rows.append({"external_id": f"{day}-{k}", "received_at": END - timedelta(days=day, minutes=k),
                         "text": text})  # fmt: skip
    frame = pl.DataFrame(rows)
    maps = tuple(f"{c}={c}" for c in frame.columns)
    import_frame(engine, frame, ImportOptions(source="reviews", kind="review", map_options=maps))
    analyze(engine, backend="fast")


def test_the_report_names_its_windows_counts_and_themes_tested(engine: Engine) -> None:
    with pytest.raises(NoDataError, match="no analysed comments in scope"):
        emerging_report(engine)
    assert emerging(engine) == []  # pages and alert rules: quiet
    _load(engine, spike=False)
    out = emerging_report(engine)
    assert out["items"] == []
    assert out["window"] == {"since": date(2026, 6, 24), "until": date(2026, 7, 1), "comments": 42}
    assert out["baseline"] == {"since": date(2026, 4, 29), "until": date(2026, 6, 24), "comments": 336,
                               "windows": 8}  # fmt: skip
    assert out["themes_tested"] == 1 and out["unthemed_comments"] == 0
    two_weeks = emerging_report(engine, window="14d", baseline="4w", until=date(2026, 6, 1))
    assert two_weeks["window"] == {"since": date(2026, 5, 18), "until": date(2026, 6, 1), "comments": 84}
    assert two_weeks["baseline"]["since"] == date(2026, 4, 20) and two_weeks["baseline"]["windows"] == 2
    with pytest.raises(NoDataError, match=r"no analysed comments in scope \(region=North\)"):
        emerging_report(engine, where=("region=North",))  # no such attribute value


def test_a_window_that_holds_every_comment_is_no_answer(engine: Engine) -> None:
    """63 days of comments and a 90-day window: no baseline, so "nothing unusual" would come from nothing
    (a 2,000-review export of 18 days answered `[]` with exit 0, "0 themes tested")."""
    _load(engine, spike=True)
    with pytest.raises(
        NoDataError,
        match=r"nothing to compare with: all 378 analysed comments in scope fall "
        r"in the 90-day window 2026-04-02 to 2026-06-30 \(the first is of 2026-04-29\)",
    ):
        emerging_report(engine, window="90d", baseline="90d")
    with pytest.raises(NoDataError, match="no analysed comments from 2025-"):
        emerging_report(engine, until=date(2026, 1, 1))  # before the first comment
    assert emerging(engine, window="90d", baseline="90d") == []  # pages: quiet
    assert emerging_report(engine, window="30d", baseline="30d")["baseline"]["comments"] == 6 * 30


def test_the_command_prints_the_windows_even_when_nothing_is_unusual(engine: Engine) -> None:
    from cxchange.understand.cli import emerging_command

    _load(engine, spike=True)
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = {"db": engine.url.render_as_string(hide_password=False)}

    app.command("emerging")(emerging_command)
    run = CliRunner(env={"COLUMNS": "200"}).invoke
    found = run(app, ["emerging"])
    assert found.exit_code == 0, found.output
    assert "Login" in found.stdout
    said = "1 emerging: 2026-06-24 to 2026-06-30 (42 analysed comments) against 2026-04-29 to 2026-06-23"
    assert said in found.stdout
    assert "2 themes tested" in found.stdout
    calm = run(app, ["emerging", "--until", "2026-06-20"])
    assert calm.exit_code == 0 and "Login" not in calm.stdout
    assert calm.stdout.strip().startswith("nothing unusual: 2026-06-13 to 2026-06-19 (42 analysed comments)")
    as_json = json.loads(run(app, ["emerging", "--format", "json"]).stdout)
    assert as_json["window"]["comments"] == 42 and as_json["themes_tested"] == 2
    assert [i["theme"] for i in as_json["items"]] == ["Login"]


def test_the_api_gives_the_same_report_and_404_before_any_analysis(engine: Engine) -> None:
    from cxchange.core.deps import set_database_url
    from cxchange.testing import signed_in_client

    try:
        client = signed_in_client(engine.url.render_as_string(hide_password=False), engine)
        before = client.get("/api/emerging")
        assert before.status_code == 404 and "cxchange analyze" in before.json()["detail"]
        _load(engine, spike=True)
        got = client.get("/api/emerging").json()
        assert got["window"] == {"since": "2026-06-24", "until": "2026-07-01", "comments": 42}
        assert got["themes_tested"] == 2 and [i["theme"] for i in got["items"]] == ["Login"]
    finally:
        set_database_url(None)
