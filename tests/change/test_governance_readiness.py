"""RACI and ADKAR readiness through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cxchange.core.errors import InputError, NotFoundError


def _ini(cli: Any, people: dict[str, Any], framework: str = "adkar") -> str:
    res = cli(
        "initiative",
        "create",
        "--name",
        "Queue busting",
        "--framework",
        framework,
        "--sponsor",
        people["exec"],
        "--owner",
        people["rm_north"],
        "--units",
        "R-NORTH",
        "--start",
        "2026-05-04",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    return str(json.loads(res.stdout)["id"])


def test_raci_import_check_and_fix(cli: Any, people: dict[str, Any], tmp_path: Path, count: Any) -> None:
    ini = _ini(cli, people)
    ex, rm, rs = people["exec"], people["rm_north"], people["rm_south"]
    sm = people["sm"]["S-NOR-01"]
    f = tmp_path / "raci.csv"
    f.write_text(
        f"activity,{ex},{rm},{sm},{rs}\n"
        "Approve budget,A,C,I,\n"  # no R: error
        "Redesign rota,C,A,R,\n"  # fine
        "Train staff,,A,A,I\n"  # two A: error
        "Publish results,A/R,I,I,\n"  # the A does the work: fine
    )
    res = cli("raci", "import", ini, str(f), "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["assignments"] == 12
    shown = json.loads(cli("raci", "show", ini, "--format", "json").stdout)
    assert shown[0]["activity"] == "Approve budget" and shown[3][ex] == "A/R"

    res = cli("raci", "check", ini, "--format", "json")
    assert res.exit_code == 1
    findings = json.loads(res.stdout)
    assert set(findings[0]) == {"activity", "person", "level", "rule", "message"}
    errors = {(x["activity"], x["rule"]) for x in findings if x["level"] == "error"}
    assert errors == {
        ("Approve budget", "responsible"),
        ("Train staff", "one-accountable"),
        ("Train staff", "responsible"),
    }
    warnings = {(x["person"], x["rule"]) for x in findings if x["level"] == "warning"}
    assert (rs, "no-r-or-a") in warnings and (rs, "outside-units") in warnings
    assert (ex, "outside-units") not in warnings  # HQ sits above the initiative's units

    assert cli("raci", "set", ini, "Approve budget", rm, "R").exit_code == 0
    assert cli("raci", "set", ini, "Train staff", sm, "R").exit_code == 0
    res = cli("raci", "check", ini)
    assert res.exit_code == 0, res.output
    status = json.loads(cli("initiative", "status", ini, "--format", "json").stdout)
    assert status["raci_errors"] == 0

    bad = tmp_path / "bad.csv"
    bad.write_text(f"activity,{ex},nobody@example.com\nX,A,R\n")
    res = cli("raci", "import", ini, str(bad))
    assert isinstance(res.exception, InputError) and "nobody@example.com" in str(res.exception)
    bad.write_text(f"activity,{ex},{rm}\nX,A,R\nY,A,Z\n")
    res = cli("raci", "import", ini, str(bad))
    assert (
        isinstance(res.exception, InputError) and "row 3" in str(res.exception) and rm in str(res.exception)
    )
    assert count("raci_assignment") == 12  # the failed imports changed nothing
    assert isinstance(cli("raci", "set", ini, "X", ex, "Q").exception, InputError)


def _write_readiness(path: Path, rows: list[tuple[str, str, tuple[int, ...]]]) -> None:
    lines = ["unit,person,awareness,desire,knowledge,ability,reinforcement"]
    lines += [f"{u},{p},{','.join(map(str, s))}" for u, p, s in rows]
    path.write_text("\n".join(lines) + "\n")


def test_readiness_import_report_merge_and_trend(
    cli: Any, people: dict[str, Any], tmp_path: Path, count: Any
) -> None:
    ini = _ini(cli, people)
    s1, s2, s3 = people["north_stores"][:3]
    rows = [(s1, "", (4, 3, 1, 5, 2))] * 4 + [(s1, "", (5, 5, 5, 5, 5))] * 2  # 6 in S1: barrier desire
    rows += [(s2, "", (2, 5, 5, 5, 5))] * 3  # 3 in S2: too few, merged up into R-NORTH
    rows += [(s3, people["agents"][s3][0], (5, 5, 3, 4, 4)), (s3, "", (5, 4, 4, 2, 5))]  # 2 in S3
    f = tmp_path / "adkar1.csv"
    _write_readiness(f, rows)
    res = cli("readiness", "import", ini, str(f), "--date", "2026-06-01", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["respondents"] == 11

    rep = json.loads(cli("readiness", "report", ini, "--format", "json").stdout)
    groups = {g["group"]: g for g in rep}
    assert set(groups) == {s1, "R-NORTH"}
    g1 = groups[s1]
    assert g1["n"] == 6 and g1["top_barrier"] == "desire"
    assert g1["barrier_shares"]["desire"] == round(4 / 6, 3) and g1["barrier_shares"]["none"] == round(
        2 / 6, 3
    )
    assert set(g1["means"]) == {"awareness", "desire", "knowledge", "ability", "reinforcement"}
    assert g1["actions"] and any("KPI" in a for a in g1["actions"])
    north = groups["R-NORTH"]
    assert north["n"] == 5 and sorted(north["merged"]) == sorted([s2, s3])
    assert north["top_barrier"] == "awareness"
    by_region = json.loads(cli("readiness", "report", ini, "--by", "org:region", "--format", "json").stdout)
    assert [(g["group"], g["n"]) for g in by_region] == [("R-NORTH", 11)]
    assert cli("readiness", "report", ini).exit_code == 0

    _write_readiness(f, [(s1, "", (5, 5, 4, 4, 4))] * 6)
    assert cli("readiness", "import", ini, str(f), "--date", "2026-08-01").exit_code == 0
    trend = json.loads(cli("readiness", "trend", ini, "--format", "json").stdout)
    assert [t["assessment"] for t in trend] == [1, 2]
    assert trend[1]["change"]["desire"] > 0 and trend[0]["change"]["desire"] is None
    latest = json.loads(cli("readiness", "report", ini, "--format", "json").stdout)
    assert latest[0]["assessment"] == 2 and latest[0]["top_barrier"] == "none"

    before = count("readiness_response")
    for bad_rows, needle in (
        ([(s1, "", (5, 5, 6, 4, 4))], "column 'knowledge'"),
        ([("NOPE", "", (5, 5, 5, 4, 4))], "column 'unit'"),
        ([(s1, "ghost@example.com", (5, 5, 5, 4, 4))], "column 'person'"),
    ):
        _write_readiness(f, [(s1, "", (5, 5, 5, 5, 5)), *bad_rows])
        res = cli("readiness", "import", ini, str(f))
        assert isinstance(res.exception, InputError | NotFoundError)
        assert "row 3" in str(res.exception) and needle in str(res.exception), str(res.exception)
    f.write_text("unit,awareness,desire,knowledge,ability\nS-NOR-01,5,5,5,5\n")
    res = cli("readiness", "import", ini, str(f))
    assert isinstance(res.exception, InputError) and "reinforcement" in str(res.exception)
    assert count("readiness_response") == before


def test_with_no_assessment_report_and_trend_say_both_ways_to_make_one(
    cli: Any, people: dict[str, Any]
) -> None:
    ini = _ini(cli, people)
    for command, scope in (("report", ""), ("trend", " (or --unit)")):
        shown = " ".join(cli("readiness", command, ini).stdout.split())
        assert shown == (
            f"no readiness assessment for initiative {ini}{scope} yet: `cxchange readiness import {ini} "
            "FILE.csv` (unit, awareness … reinforcement 1–5), or an ADKAR pulse survey"
        ), command


def test_a_tie_for_the_top_barrier_is_reported_as_a_tie(
    cli: Any, people: dict[str, Any], tmp_path: Path, engine: Engine
) -> None:
    """Five respondents, each stuck at a different element: no element is the top barrier, so every
    report lists all five as a tie (the first stays in top_barrier for existing readers)."""
    ini = _ini(cli, people)
    s1 = people["north_stores"][0]
    stuck = [(3, 5, 5, 5, 5), (5, 3, 5, 5, 5), (5, 5, 3, 5, 5), (5, 5, 5, 3, 5), (5, 5, 5, 5, 3)]
    f = tmp_path / "adkar.csv"
    _write_readiness(f, [(s1, "", s) for s in stuck])
    assert cli("readiness", "import", ini, str(f), "--date", "2026-06-01").exit_code == 0
    all_five = ["awareness", "desire", "knowledge", "ability", "reinforcement"]
    [g] = json.loads(cli("readiness", "report", ini, "--format", "json").stdout)
    assert (g["top_barrier"], g["top_barriers"], g["tie"]) == ("awareness", all_five, True)
    from cxchange.change.frameworks import adkar_actions

    assert all(set(adkar_actions(None, e)) <= set(g["actions"]) for e in all_five)  # what to do, for each
    table = cli("readiness", "report", ini).stdout
    assert "tie: awareness, desire, knowledge, ability, reinforcement" in " ".join(table.split())
    status = json.loads(cli("initiative", "status", ini, "--format", "json").stdout)["readiness"]
    assert status["top_barriers"] == all_five and status["tie"] is True
    assert "top barrier: tie: awareness, desire" in " ".join(cli("initiative", "status", ini).stdout.split())
    [t] = json.loads(cli("readiness", "trend", ini, "--format", "json").stdout)
    assert t["tie"] is True and t["top_barriers"] == all_five
    from cxchange.core.deps import set_database_url
    from cxchange.testing import signed_in_client

    try:  # the initiative page's readiness table says it too
        page = signed_in_client(engine.url.render_as_string(hide_password=False), engine).get(
            f"/initiatives/{ini}"
        )
        assert page.status_code == 200
        assert "tie: awareness, desire, knowledge, ability, reinforcement</strong>" in page.text
        assert page.text.count('<td class="top">') == 5
    finally:
        set_database_url(None)

    _write_readiness(f, [(s1, "", s) for s in stuck[:2]] * 2 + [(s1, "", stuck[4])])  # A 2, D 2, R 1
    assert cli("readiness", "import", ini, str(f), "--date", "2026-07-01").exit_code == 0
    [g] = json.loads(cli("readiness", "report", ini, "--format", "json").stdout)
    assert (g["top_barriers"], g["tie"]) == (["awareness", "desire"], True)
    _write_readiness(f, [(s1, "", stuck[1])] * 3 + [(s1, "", stuck[0])] * 2)
    assert cli("readiness", "import", ini, str(f), "--date", "2026-08-01").exit_code == 0
    [g] = json.loads(cli("readiness", "report", ini, "--format", "json").stdout)
    assert (g["top_barrier"], g["top_barriers"], g["tie"]) == ("desire", ["desire"], False)
    assert "tie" not in " ".join(cli("readiness", "report", ini).stdout.split())
