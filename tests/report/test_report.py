"""The executive report on the 20k demo: data with intervals, offline HTML, escaping, PDF, unit scope,
initiative outcomes and bad input."""

from __future__ import annotations

import copy
import re
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cxchange.core.errors import InputError, NotFoundError
from cxchange.decide.charts import band_chart, diverging_bar_chart, multi_line_chart
from cxchange.report.build import build_report, parse_period
from cxchange.report.cli import register
from cxchange.report.render import check_output, render_html, render_pdf, report_response

EVIL = '<script>alert(1)</script>"><img src=x onerror=y>'


@pytest.fixture(scope="module")
def data(demo_engine: Engine) -> dict[str, Any]:
    return build_report(demo_engine)


@pytest.fixture(scope="module")
def html(data: dict[str, Any]) -> str:
    return render_html(data)


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root(ctx: typer.Context, db: str | None = typer.Option(None, "--db")) -> None:
        ctx.obj = {"db": db}

    register(app)
    return app


# ------------------------------------------------------------------------------------------- period


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "previous"),
    [
        ("2026-Q3", "quarter", date(2026, 7, 1), date(2026, 10, 1), "2026-Q2"),
        ("2026q1", "quarter", date(2026, 1, 1), date(2026, 4, 1), "2025-Q4"),
        ("2026-09", "month", date(2026, 9, 1), date(2026, 10, 1), "2026-08"),
        ("2026-01", "month", date(2026, 1, 1), date(2026, 2, 1), "2025-12"),
        ("2025", "year", date(2025, 1, 1), date(2026, 1, 1), "2024"),
    ],
)
def test_periods(text: str, kind: str, start: date, end: date, previous: str) -> None:
    p = parse_period(text)
    assert (p.kind, p.start, p.end, p.previous().label) == (kind, start, end, previous)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "Q3", "last quarter", "2026-09-01", ""])
def test_bad_period_is_one_clear_line(text: str) -> None:
    with pytest.raises(
        InputError, match=r"--period wants a quarter \(2026-Q3\), a month \(2026-09\) or a year"
    ):
        parse_period(text)


# ------------------------------------------------------------------------------------------- data


def test_default_period_is_the_latest_complete_quarter_with_scores_and_intervals(
    data: dict[str, Any],
) -> None:
    # The demo ends 2026-10-31: Q4 is not complete, so Q3.
    assert data["period"]["label"] == "2026-Q3" and data["period"]["previous"] == "2026-Q2"
    assert [s["metric"] for s in data["scores"]] == ["nps", "csat", "ces", "rating"]  # the reviews rate
    for s in data["scores"]:
        assert s["n"] > 100 and s["ci_low"] < s["score"] < s["ci_high"]
        assert (
            s["previous"]["n"] > 100 and s["change"]["ci_low"] < s["change"]["diff"] < s["change"]["ci_high"]
        )
        assert len(s["trend"]) == 12 and sum(t["in_period"] for t in s["trend"]) == 3
        assert s["trend"][-1]["month"] == "2026-09"
    nps = data["scores"][0]
    assert -100 <= nps["score"] <= 100
    # the by-unit breakdown sits one level below the company: the four regions
    assert {r["code"] for r in data["by_unit"]["rows"]} == {"R-NORTH", "R-SOUTH", "R-EAST", "R-WEST"}
    # Waiting time is the demo's planted biggest NPS drag and the top driver
    assert data["themes"]["drags"][0]["name"] == "Waiting time"
    assert data["drivers"]["drivers"] and data["drivers"]["r2"] > 0
    assert data["recognitions"]["total"] > 0
    assert data["highlights"] and data["highlights"][0].startswith("NPS ")


def test_month_period_finds_the_planted_emerging_issue(demo_engine: Engine) -> None:
    d = build_report(demo_engine, "2026-10")
    assert d["period"]["kind"] == "month"
    items = d["emerging"]["items"]
    assert items and any("login" in " ".join(e["terms"]) or "update" in " ".join(e["terms"]) for e in items)


def test_unit_scope_changes_every_number(demo_engine: Engine, data: dict[str, Any]) -> None:
    north = build_report(demo_engine, "2026-Q3", "r-north")  # codes are case-insensitive
    assert north["unit"]["code"] == "R-NORTH"
    assert north["feedback"] < data["feedback"]
    for mine, whole in zip(north["scores"], data["scores"], strict=True):
        assert mine["n"] < whole["n"]
    assert north["themes"]["analysed"] < data["themes"]["analysed"]
    assert {r["code"] for r in north["by_unit"]["rows"]} <= {f"S-NOR-{i:02d}" for i in range(1, 11)}
    assert all(p["unit"].startswith("S-NOR-") for p in north["recognitions"]["top"])
    assert north["recognitions"]["total"] < data["recognitions"]["total"]


def test_bad_unit_and_empty_period(demo_engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no org unit with code 'NOPE'"):
        build_report(demo_engine, unit="NOPE")
    with pytest.raises(InputError, match=r"no feedback in 1999-Q1 \(1999-01-01 to 1999-03-31\)"):
        build_report(demo_engine, "1999-Q1")
    with pytest.raises(InputError, match="--period wants"):
        build_report(demo_engine, "2026-Q9")


# ------------------------------------------------------------------------------------------- HTML


def test_html_has_every_section_and_inline_svg(html: str, data: dict[str, Any]) -> None:
    for section in ("summary", "scores", "what-moved", "emerging", "initiatives", "recognitions"):
        assert f'<section id="{section}"' in html
    for heading in ("Theme changes vs 2026-Q2", "Top themes by impact on NPS", "Key drivers of NPS"):
        assert heading in html
    assert html.count("<svg") >= 5  # three trends, units, theme changes, impact
    assert "Waiting time" in html and data["scores"][0]["label"] in html


def test_html_is_standalone(html: str) -> None:
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"@import|url\(", html, re.IGNORECASE)
    assert "<link" not in html
    # the only URL is the SVG namespace, which is a name, not a fetch
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}


def test_user_text_is_escaped(data: dict[str, Any]) -> None:
    d = copy.deepcopy(data)
    d["scope_name"] = EVIL
    d["highlights"].append(EVIL)
    d["themes"]["changes"][0]["name"] = EVIL
    d["themes"]["drags"][0]["name"] = EVIL
    d["drivers"]["drivers"][0]["driver"] = EVIL
    d["recognitions"]["top"][0]["quote"] = EVIL
    d["recognitions"]["top"][0]["person"] = EVIL
    d["emerging"]["items"] = [
        {"theme": EVIL, "kind": "new", "recent_count": 12, "baseline_mean": 1.0, "z": 9.9,
         "terms": [EVIL], "examples": [EVIL]}
    ]  # fmt: skip
    d["initiatives"] = [
        {"id": 1, "name": EVIL, "status": "active", "theme": EVIL, "start": "2026-05-04", "end": None,
         "units": [EVIL], "pilot_units": [], "control_units": [], "has_control": False, "owner": EVIL,
         "outcomes": [{"metric": EVIL, "error": EVIL}]}
    ]  # fmt: skip
    out = render_html(d)
    assert "<script" not in out and "<img" not in out
    assert out.count("&lt;script&gt;") >= 10


def test_new_charts_escape_labels() -> None:
    for svg in (
        band_chart([EVIL, "b"], [1.0, None], [0.5, None], [1.5, None], title=EVIL, unit=EVIL),
        band_chart([], [], [], [], title=EVIL),
        diverging_bar_chart([EVIL, "b"], [-1.0, 2.0], lows=[-2.0, None], highs=[0.0, None], title=EVIL),
        multi_line_chart([EVIL, "b"], {EVIL: [1.0, 2.0], "b": [None, 1.0]}, title=EVIL, marker=EVIL),
    ):
        assert "<script" not in svg and "<img" not in svg and "&lt;script&gt;" in svg


# ------------------------------------------------------------------------------------------- PDF, CLI, web


def test_pdf(data: dict[str, Any], tmp_path: Path) -> None:
    pdf = render_pdf(data, tmp_path / "r.pdf")
    assert pdf.startswith(b"%PDF") and (tmp_path / "r.pdf").read_bytes() == pdf


def test_output_suffix() -> None:
    assert check_output("x.HTML") == ".html" and check_output("a/b.pdf") == ".pdf"
    with pytest.raises(InputError, match=r"--output must end in .html or .pdf, got 'report.docx'"):
        check_output("report.docx")


def test_cli(demo_engine: Engine, tmp_path: Path) -> None:
    url = demo_engine.url.render_as_string(hide_password=False)
    out = tmp_path / "report.html"
    res = CliRunner().invoke(_app(), ["report", "--db", url, "--period", "2026-09", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "2026-09" in res.output and out.read_text(encoding="utf-8").startswith("<!doctype html>")
    bad = CliRunner().invoke(_app(), ["--db", url, "report", "--output", str(tmp_path / "r.txt")])
    assert bad.exit_code != 0 and isinstance(bad.exception, InputError)
    assert not (tmp_path / "r.txt").exists()
    bad = CliRunner().invoke(_app(), ["--db", url, "report", "--unit", "NOPE", "-o", str(out)])
    assert isinstance(bad.exception, NotFoundError)


def test_a_bad_period_is_refused_before_the_database_is_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    bad = CliRunner().invoke(
        _app(), ["--db", url, "report", "-o", str(tmp_path / "r.html"), "--period", "2026-13"]
    )
    assert bad.exit_code == 1 and isinstance(bad.exception, InputError)
    assert str(bad.exception).startswith("--period wants a quarter (2026-Q3), a month (2026-09) or a year")
    assert not (tmp_path / "x.db").exists()


def test_report_response(demo_engine: Engine) -> None:
    body, media, name = report_response(demo_engine, "2026-09", "R-WEST", "html")
    assert media.startswith("text/html") and name == "cx-report-2026-09-R-WEST.html"
    assert b"West" in body
    with pytest.raises(InputError, match="format must be html or pdf"):
        report_response(demo_engine, "2026-09", None, "docx")


# ------------------------------------------------------------------------------------------- initiatives


@pytest.fixture(scope="module")
def with_initiative(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The demo with the planted pilot as an initiative: the demo's own when it makes one, else one
    made here on a copy (the shared demo stays read-only)."""
    from cxchange.change.service import create, list_all
    from cxchange.core.db import get_engine
    from cxchange.demo import TRUTH
    from cxchange.org.models import Person

    path = tmp_path_factory.mktemp("report") / "cx.db"
    src = sqlite3.connect(str(demo_engine.url.database))
    dst = sqlite3.connect(str(path))
    src.backup(dst)
    src.close()
    dst.close()
    engine = get_engine(f"sqlite:///{path}")
    if list_all(engine):
        return engine
    pilot = TRUTH["pilot"]
    with engine.connect() as conn:
        email = conn.execute(select(Person.email).order_by(Person.email).limit(1)).scalar_one()
    create(
        engine, name="Queue-busting", framework="kotter", sponsor=email, owner=email, start=pilot["start"],
        units=pilot["pilot_unit"], pilot_units=pilot["pilot_unit"], control_units=pilot["control_unit"],
        theme="Waiting time",
    )  # fmt: skip
    return engine


def test_initiative_outcomes_are_difference_in_differences(with_initiative: Engine) -> None:
    d = build_report(with_initiative, "2026-Q3")
    (ini,) = d["initiatives"]
    assert ini["name"].startswith("Queue-busting") and ini["has_control"]
    nps = ini["outcomes"][0]
    assert nps["metric"] == "nps" and nps["mode"] == "did"
    # one region piloted against one other: two possible assignments, so the design cannot tell
    assert nps["verdict"] == "cannot tell with this design" and nps["ci_low"] is None
    assert "smallest possible p-value" in nps["verdict_reason"] and "regions" in nps["verdict_fix"]
    assert nps["estimate"] is not None
    assert set(nps["groups"]) == {"pilot", "control"}
    assert any(o["metric"] == "theme-share:Waiting time" for o in ini["outcomes"])
    html = render_html(d)
    assert ini["name"] in html and "difference-in-differences" in html and "What would fix it" in html
    # another region's report leaves it out; a pilot store's report keeps it
    assert build_report(with_initiative, "2026-Q3", "R-EAST")["initiatives"] == []
    assert len(build_report(with_initiative, "2026-Q3", "S-NOR-01")["initiatives"]) == 1
    # an initiative that starts after the period is not in it
    assert build_report(with_initiative, "2026-Q1")["initiatives"] == []


def test_a_managers_report_holds_only_their_units(with_initiative: Engine, tmp_path: Path) -> None:
    """The R-NORTH manager's report: R-NORTH's numbers only, and the pilot's comparison with the control
    region withheld with the initiative page's note, in the data, the HTML and `cxchange report --as`."""
    from cxchange.auth.scope import UserScope
    from cxchange.auth.service import add_user
    from cxchange.change.service import comparison_note, list_all, show
    from cxchange.core.errors import ForbiddenError

    add_user(
        with_initiative, "north-report@test.local", "manager", units=["R-NORTH"], password=None, actor="test"
    )
    scope = UserScope.for_email(with_initiative, "north-report@test.local")
    mine = build_report(with_initiative, "2026-Q3", scope=scope)
    north = build_report(with_initiative, "2026-Q3", "R-NORTH")
    assert mine["unit"]["code"] == "R-NORTH" and mine["feedback"] == north["feedback"]
    assert mine["scores"] == north["scores"] and mine["themes"]["all"] == north["themes"]["all"]
    assert {r["code"] for r in mine["by_unit"]["rows"]} <= {u.code for u in _north_units(with_initiative)}
    (ini,) = mine["initiatives"]
    note = comparison_note(show(with_initiative, list_all(with_initiative)[0]["id"]))
    assert ini["outcomes"] == [] and ini["withheld"] == note and "R-SOUTH" in note
    html = render_html(mine)
    assert note in html.replace("&#39;", "'") and "<td>control</td>" not in html
    assert "<td>control</td>" in render_html(north)
    # the admin's report of the same unit still shows the comparison: the rule is the reader's
    assert north["initiatives"][0]["withheld"] is None and north["initiatives"][0]["outcomes"]
    with pytest.raises(ForbiddenError):
        build_report(with_initiative, "2026-Q3", "R-SOUTH", scope=scope)

    url = with_initiative.url.render_as_string(hide_password=False)
    out = tmp_path / "north.html"
    args = ["--db", url, "report", "--period", "2026-Q3", "--as", "north-report@test.local", "-o", str(out)]
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    assert "North (R-NORTH)" in res.output and note in out.read_text(encoding="utf-8").replace("&#39;", "'")


def _north_units(engine: Engine) -> list[Any]:
    from cxchange.org.tree import load_org_tree

    tree = load_org_tree(engine)
    return [tree.units[i] for i in tree.subtree_ids("R-NORTH")]
