"""Impact and saturation, comms, change agents, managers, training and resistance (CLI, both databases)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cxchange.core.errors import InputError, NotFoundError


def _ini(cli: Any, people: dict[str, Any], name: str, units: str, start: str, end: str | None = None) -> str:
    args = [
        "initiative",
        "create",
        "--name",
        name,
        "--framework",
        "cx10",
        "--sponsor",
        people["exec"],
        "--owner",
        people["rm_north"],
        "--units",
        units,
        "--start",
        start,
        "--format",
        "json",
    ]
    if end:
        args += ["--end", end]
    res = cli(*args)
    assert res.exit_code == 0, res.output
    return str(json.loads(res.stdout)["id"])


def test_impact_heatmap_flags_saturated_units(cli: Any, people: dict[str, Any]) -> None:
    a = _ini(cli, people, "Queues", "R-NORTH", "2026-01-10", "2026-06-30")
    b = _ini(cli, people, "New tills", "S-NOR-01", "2026-04-01", "2026-09-30")
    res = cli("impact", "set", a, "R-NORTH", "--processes", "4", "--systems", "2", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["impact"] == 3.0  # zeros are left out of the average
    res = cli(
        "impact",
        "set",
        b,
        "S-NOR-01",
        "--systems",
        "5",
        "--tools",
        "4",
        "--job-roles",
        "3",
        "--format",
        "json",
    )
    assert json.loads(res.stdout)["impact"] == 4.0
    assert isinstance(cli("impact", "set", a, "R-NORTH", "--mindset", "7").exception, InputError)
    assert isinstance(cli("impact", "set", a, "NOPE", "--mindset", "2").exception, NotFoundError)

    rows = json.loads(
        cli("impact", "heatmap", "--from", "2026-03", "--to", "2026-07", "--format", "json").stdout
    )
    cell = {(r["unit"], r["month"]): r for r in rows}
    assert cell[("S-NOR-01", "2026-03")]["load"] == 3.0 and not cell[("S-NOR-01", "2026-03")]["over"]
    assert cell[("S-NOR-01", "2026-05")]["load"] == 7.0 and cell[("S-NOR-01", "2026-05")]["over"]
    assert cell[("S-NOR-02", "2026-05")]["load"] == 3.0  # inherits the region's assessment
    assert cell[("S-NOR-01", "2026-07")]["load"] == 4.0  # the first initiative ended in June
    assert not any(r["unit"].startswith("S-SOU") for r in rows)
    strict = json.loads(
        cli(
            "impact",
            "heatmap",
            "--from",
            "2026-05",
            "--to",
            "2026-05",
            "--threshold",
            "2",
            "--format",
            "json",
        ).stdout
    )
    assert all(r["over"] for r in strict)
    csv_out = cli("impact", "heatmap", "--from", "2026-05", "--to", "2026-05", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("unit,name,month,load")
    table = cli("impact", "heatmap", "--from", "2026-04", "--to", "2026-06")
    assert table.exit_code == 0 and "7 !" in table.stdout
    assert isinstance(cli("impact", "heatmap", "--from", "May").exception, InputError)

    risk = json.loads(
        cli(
            "initiative",
            "risk",
            a,
            "--set",
            "scope=4",
            "--set",
            "system_change=4",
            "--set",
            "culture=2",
            "--set",
            "resources=2",
            "--format",
            "json",
        ).stdout
    )
    assert risk["size"] == 4.0 and risk["organisation"] == 2.0 and risk["level"] == "medium"
    assert isinstance(cli("initiative", "risk", a, "--set", "scope=9").exception, InputError)
    assert isinstance(cli("initiative", "risk", a, "--set", "luck=3").exception, InputError)


def test_comms_agents_managers_training_resistance(
    cli: Any, people: dict[str, Any], tmp_path: Path, count: Any
) -> None:
    ini = _ini(cli, people, "Queues", "R-NORTH", "2026-05-04")
    s1 = people["north_stores"][0]
    res = cli(
        "comms",
        "add",
        ini,
        "--audience",
        s1,
        "--channel",
        "team huddle",
        "--sender",
        people["sm"][s1],
        "--date",
        "2026-05-10",
        "--message",
        "Why queues matter",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    first = json.loads(res.stdout)
    assert first["audience"] == s1 and first["overdue"] is True
    res = cli(
        "comms",
        "add",
        ini,
        "--audience",
        "store_manager",
        "--channel",
        "e-mail",
        "--sender",
        people["rm_north"],
        "--date",
        "2099-01-01",
        "--message",
        "Toolkit",
        "--format",
        "json",
    )
    assert json.loads(res.stdout)["audience"] == "role:store_manager"
    res = cli(
        "comms",
        "add",
        ini,
        "--audience",
        "astronauts",
        "--channel",
        "x",
        "--sender",
        people["exec"],
        "--date",
        "2026-05-10",
        "--message",
        "m",
    )
    assert isinstance(res.exception, NotFoundError)
    status = json.loads(cli("initiative", "status", ini, "--format", "json").stdout)
    assert status["comms_overdue"] == 1
    assert cli("comms", "sent", ini, str(first["id"])).exit_code == 0
    assert json.loads(cli("comms", "list", ini, "--overdue", "--format", "json").stdout) == []

    cov = json.loads(cli("agents", "list", ini, "--format", "json").stdout)
    assert all(r["no_agent"] for r in cov) and {r["unit"] for r in cov} == set(people["north_stores"])
    agent = people["agents"][s1][0]
    res = cli("agents", "add", ini, agent, "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout)["in_affected_units"] is True
    assert isinstance(cli("agents", "add", ini, agent).exception, InputError)
    cov = {
        r["unit"]: r for r in json.loads(cli("agents", "list", ini, "--per", "2", "--format", "json").stdout)
    }
    assert (
        cov[s1]["agents"] == 1
        and not cov[s1]["no_agent"]
        and cov[s1]["needed"] == -(-cov[s1]["employees"] // 2)
    )
    summary = json.loads(cli("initiative", "status", ini, "--format", "json").stdout)["agents_coverage"]
    assert summary["units_with_agent"] == 1 and s1 not in summary["units_without_agent"]

    mgrs = json.loads(cli("agents", "managers", ini, "--format", "json").stdout)
    by_email = {m["manager"]: m for m in mgrs}
    assert "owner" in by_email[people["rm_north"]]["change_role"]
    assert "sends 1 message(s)" in by_email[people["sm"][s1]]["change_role"]
    assert {m["unit"] for m in mgrs} >= set(people["north_stores"])

    res = cli(
        "training",
        "add",
        ini,
        "--title",
        "Queue triage",
        "--unit",
        s1,
        "--role",
        "agent",
        "--date",
        "2026-06-01",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    sid = str(json.loads(res.stdout)["id"])
    agents = people["agents"][s1]
    assert cli("training", "attend", ini, sid, agents[0]).exit_code == 0
    res = cli("training", "attend", ini, sid, people["rm_south"])
    assert isinstance(res.exception, InputError)
    report = json.loads(cli("training", "list", ini, "--format", "json").stdout)
    assert report[0]["audience"] == len(agents) and report[0]["attended"] == 1
    assert report[0]["completion"] == round(100 / len(agents), 1)

    f = tmp_path / "r.csv"
    f.write_text("unit,awareness,desire,knowledge,ability,reinforcement\n" + f"{s1},5,2,4,4,4\n" * 5)
    assert cli("readiness", "import", ini, str(f)).exit_code == 0
    res = cli(
        "resistance",
        "add",
        ini,
        "--unit",
        s1,
        "--description",
        "We were never asked",
        "--cause",
        "desire",
        "--owner",
        people["sm"][s1],
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    item = json.loads(res.stdout)
    assert item["status"] == "open" and item["barrier_share"] == 1.0 and item["actions"]
    res = cli(
        "resistance",
        "add",
        ini,
        "--unit",
        s1,
        "--description",
        "x",
        "--cause",
        "laziness",
        "--owner",
        people["sm"][s1],
    )
    assert isinstance(res.exception, InputError) and count("resistance_item") == 1
    res = cli(
        "resistance",
        "update",
        ini,
        str(item["id"]),
        "--status",
        "addressed",
        "--resolution",
        "Listened",
        "--format",
        "json",
    )
    assert json.loads(res.stdout)["status"] == "addressed"
    assert json.loads(cli("resistance", "list", ini, "--status", "open", "--format", "json").stdout) == []
    assert cli("resistance", "list", ini).exit_code == 0
