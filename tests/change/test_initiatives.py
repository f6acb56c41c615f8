"""Initiatives end to end through the CLI, on SQLite and PostgreSQL, with the demo company."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cxchange.core.errors import InputError, NotFoundError


def _create(cli: Any, people: dict[str, Any], *extra: str) -> dict[str, Any]:
    res = cli(
        "initiative",
        "create",
        "--name",
        "Shorter queues",
        "--framework",
        "kotter",
        "--sponsor",
        people["exec"],
        "--owner",
        people["rm_north"],
        "--units",
        "R-NORTH,R-SOUTH",
        "--pilot-units",
        "R-NORTH",
        "--control-units",
        "R-SOUTH",
        "--start",
        "2026-05-04",
        "--vision",
        "Nobody waits more than five minutes.",
        "--format",
        "json",
        *extra,
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_create_show_step_and_list(cli: Any, people: dict[str, Any], tmp_path: Path) -> None:
    ini = _create(cli, people)
    assert isinstance(ini["id"], int) and ini["framework"] == "kotter"
    assert [s["key"] for s in ini["steps"]][:3] == ["urgency", "coalition", "vision"]
    assert ini["pilot_units"] == ["R-NORTH"] and ini["control_units"] == ["R-SOUTH"]
    assert ini["sponsor"]["email"] == people["exec"]

    res = cli(
        "initiative",
        "step",
        str(ini["id"]),
        "urgency",
        "--status",
        "done",
        "--note",
        "pack shared",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["status"] == "done"
    res = cli("initiative", "step", str(ini["id"]), "2", "--status", "doing")
    assert res.exit_code == 0 and "coalition" in res.stdout

    listed = json.loads(cli("initiative", "list", "--format", "json").stdout)
    assert listed[0]["steps_done"] == 1 and listed[0]["steps_total"] == 8

    res = cli(
        "initiative",
        "update",
        str(ini["id"]),
        "--vision",
        "Five minutes, tops.",
        "--end",
        "2027-03-31",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    shown = json.loads(cli("initiative", "show", "Shorter queues", "--format", "json").stdout)
    assert shown["vision"] == "Five minutes, tops." and shown["end"] == "2027-03-31"
    table = cli("initiative", "show", str(ini["id"]))
    assert table.exit_code == 0 and "Create a sense of urgency" in table.stdout

    own = tmp_path / "our-way.yaml"
    own.write_text("name: Our way\nsteps:\n  - {key: listen, title: Listen, purpose: Hear customers}\n")
    res = cli(
        "initiative",
        "create",
        "--name",
        "Ours",
        "--framework",
        str(own),
        "--sponsor",
        people["exec"],
        "--owner",
        people["rm_north"],
        "--units",
        "HQ",
        "--start",
        "2026-01-01",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    assert [s["key"] for s in json.loads(res.stdout)["steps"]] == ["listen"]
    own.write_text("name: Changed later\nsteps: []\n")  # the initiative keeps its copy
    assert (
        json.loads(cli("initiative", "show", "Ours", "--format", "json").stdout)["framework_name"]
        == "Our way"
    )
    res = cli("initiative", "update", "Ours", "--end", "none", "--status", "paused", "--format", "json")
    assert json.loads(res.stdout)["status"] == "paused"
    assert isinstance(cli("initiative", "update", "Ours", "--status", "sleeping").exception, InputError)


def test_bad_input_is_one_clear_error_and_saves_nothing(cli: Any, people: dict[str, Any], count: Any) -> None:
    base = [
        "initiative",
        "create",
        "--name",
        "X",
        "--framework",
        "kotter",
        "--sponsor",
        people["exec"],
        "--owner",
        people["rm_north"],
        "--units",
        "R-NORTH",
        "--start",
        "2026-05-04",
    ]
    bad = {
        "--sponsor": ("nobody@example.com", NotFoundError, "nobody@example.com"),
        "--units": ("R-NORTH,NOPE", NotFoundError, "NOPE"),
        "--framework": ("prince2", NotFoundError, "prince2"),
        "--start": ("04/05/2026", InputError, "--start"),
    }
    for option, (value, exc, needle) in bad.items():
        args = list(base)
        args[args.index(option) + 1] = value
        res = cli(*args)
        assert res.exit_code != 0
        assert isinstance(res.exception, exc) and needle in str(res.exception), (option, res.exception)
    assert count("initiative") == 0 and count("initiative_unit") == 0 and count("initiative_step") == 0
    ini = _create(cli, people)
    res = cli("initiative", "step", str(ini["id"]), "no-such-step", "--status", "done")
    assert isinstance(res.exception, NotFoundError) and "urgency" in str(res.exception)
    res = cli("initiative", "step", str(ini["id"]), "urgency", "--status", "finished")
    assert isinstance(res.exception, InputError)
    res = cli("initiative", "show", "999")
    assert isinstance(res.exception, NotFoundError)


def test_success_measures_baseline_now_pilot_control(cli: Any, people: dict[str, Any]) -> None:
    ini = _create(cli, people)
    res = cli(
        "initiative",
        "metric",
        "add",
        str(ini["id"]),
        "--metric",
        "nps",
        "--target",
        "+5",
        "--by",
        "2027-03-31",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["baseline"]["n"] > 100 and m["now"]["n"] > 50
    assert m["baseline"]["ci_low"] <= m["baseline"]["value"] <= m["baseline"]["ci_high"]
    assert m["target_value"] == round(m["baseline"]["value"] + 5, 2)
    assert m["pilot"]["units"] == ["R-NORTH"] and m["control"]["units"] == ["R-SOUTH"]
    assert m["pilot"]["now"]["n"] + m["control"]["now"]["n"] == m["now"]["n"]
    res = cli("initiative", "metric", "add", str(ini["id"]), "--metric", "csat", "--target", "≥80")
    assert res.exit_code == 0, res.output
    for bad_metric, bad_target in (("nps", "five"), ("sales", "+5"), ("theme-share:No such theme", "<=10")):
        res = cli(
            "initiative", "metric", "add", str(ini["id"]), "--metric", bad_metric, "--target", bad_target
        )
        assert isinstance(res.exception, InputError | NotFoundError), (bad_metric, res.output)

    status = json.loads(cli("initiative", "status", str(ini["id"]), "--format", "json").stdout)
    assert {
        "id",
        "name",
        "framework",
        "steps_done",
        "steps_total",
        "metrics",
        "raci_errors",
        "readiness",
        "comms_overdue",
        "agents_coverage",
        "risk",
    } <= set(status)
    assert [x["metric"] for x in status["metrics"]] == ["nps", "csat"]
    assert status["metrics"][1]["target_value"] == 80
    assert status["steps_total"] == 8 and status["raci_errors"] == 0
    table = cli("initiative", "status", str(ini["id"]))
    assert table.exit_code == 0 and "success measures" in table.stdout


def test_theme_measures_from_the_understand_tables(cli: Any, people: dict[str, Any], demo: Engine) -> None:
    from sqlalchemy import insert, select

    from cxchange.listen.models import Feedback
    from cxchange.understand.models import AnalysisRun, FeedbackSentiment, FeedbackTheme, Theme

    with demo.begin() as conn:
        run = conn.execute(insert(AnalysisRun).values(backend="test")).inserted_primary_key[0]
        theme = conn.execute(
            insert(Theme).values(name="Waiting time", keywords=["wait", "queue"])
        ).inserted_primary_key[0]
        rows = conn.execute(
            select(Feedback.id, Feedback.text, Feedback.nps).where(Feedback.text.is_not(None))
        ).all()
        conn.execute(
            insert(FeedbackSentiment),
            [
                {"feedback_id": r.id, "score": 0.0, "label": "neutral", "backend": "test", "run_id": run}
                for r in rows
            ],
        )
        waits = [r for r in rows if any(k in r.text.lower() for k in ("wait", "queue"))]
        conn.execute(
            insert(FeedbackTheme),
            [
                {
                    "feedback_id": r.id,
                    "theme_id": theme,
                    "sentiment": -0.5 if (r.nps or 0) <= 6 else 0.4,
                    "taxonomy_version": 1,
                    "run_id": run,
                }
                for r in waits
            ],
        )
    ini = _create(cli, people, "--theme", "waiting time")
    assert ini["theme"] == "Waiting time"
    share = json.loads(
        cli(
            "initiative",
            "metric",
            "add",
            str(ini["id"]),
            "--metric",
            "theme-share:Waiting time",
            "--target",
            "<=10",
            "--format",
            "json",
        ).stdout
    )
    assert share["metric"] == "theme-share:Waiting time" and share["direction"] == "down"
    b = share["baseline"]
    assert b["n"] > 100 and 0 < b["value"] < 100 and b["ci_low"] < b["value"] < b["ci_high"]
    assert share["target_value"] == 10 and share["met"] == (share["now"]["value"] <= 10)
    senti = json.loads(
        cli(
            "initiative",
            "metric",
            "add",
            str(ini["id"]),
            "--metric",
            "theme-sentiment:Waiting time",
            "--target",
            "+0.2",
            "--format",
            "json",
        ).stdout
    )
    assert -0.5 <= senti["baseline"]["value"] <= 0.4
    assert senti["baseline"]["ci_low"] <= senti["baseline"]["value"] <= senti["baseline"]["ci_high"]


def test_frameworks_commands(cli_nodb: Any, tmp_path: Any, monkeypatch: Any) -> None:
    listed = json.loads(cli_nodb("frameworks", "list", "--format", "json").stdout)
    assert {f["key"] for f in listed} >= {"kotter", "adkar", "cx10"}
    shown = json.loads(cli_nodb("frameworks", "show", "adkar", "--format", "json").stdout)
    assert [s["key"] for s in shown["steps"]] == [
        "awareness",
        "desire",
        "knowledge",
        "ability",
        "reinforcement",
    ]
    assert cli_nodb("frameworks", "show", "cx10").exit_code == 0
    (tmp_path / "lean.yaml").write_text("name: Lean\nsteps:\n  - key: see\n    title: See\n")
    monkeypatch.setenv("CXCHANGE_FRAMEWORKS_DIR", str(tmp_path))
    res = cli_nodb("frameworks", "list")
    assert isinstance(res.exception, InputError)
    assert "lean.yaml" in str(res.exception) and "steps[0].purpose" in str(res.exception)
