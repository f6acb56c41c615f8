"""The understand commands from outside: real processes, JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def cx(*args: str, db: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CXCHANGE_DATABASE_URL": db}
    return subprocess.run(
        [sys.executable, "-m", "cxchange", *args], capture_output=True, text=True, env=env, input=stdin,
        timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = f"sqlite:///{tmp_path_factory.mktemp('u') / 'cx.db'}"
    run = cx("demo", "--rows", "3000", "--seed", "5", "--format", "json", db=db)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["analysis"]["analysed"] > 2000
    return db


def test_themes_report_json_keys(demo_db: str) -> None:
    run = cx("themes", "--format", "json", "--boot", "200", db=demo_db)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    keys = {
        "id",
        "name",
        "parent",
        "keywords",
        "count",
        "share",
        "sentiment",
        "nps_with",
        "nps_without",
        "impact",
    }
    assert keys <= set(rows[0])
    waiting = next(r for r in rows if r["name"] == "Waiting time")
    assert waiting["impact"] < 0 and waiting["ci_low"] <= waiting["impact"] <= waiting["ci_high"]
    by = json.loads(
        cx("themes", "--by", "attr:segment", "--format", "json", "--boot", "50", db=demo_db).stdout
    )
    assert {r["group"] for r in by} >= {"consumer", "premium"}


def test_feedback_carries_sentiment_and_themes_and_filters(demo_db: str) -> None:
    run = cx("feedback", "--theme", "Waiting time", "--sentiment", "negative", "--limit", "20",
             "--format", "json", db=demo_db)  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert len(rows) == 20
    for r in rows:
        assert "Waiting time" in r["themes"] and r["sentiment_label"] == "negative" and r["sentiment"] < 0
    found = json.loads(cx("feedback", "--q", "queue", "--format", "json", db=demo_db).stdout)
    assert found and all("queue" in r["text"].lower() for r in found)
    csv_out = cx("feedback", "--limit", "3", "--format", "csv", db=demo_db).stdout
    assert "sentiment_label" in csv_out.splitlines()[0]


def test_taxonomy_commands_and_errors(demo_db: str, tmp_path: Path) -> None:
    run = cx("themes", "add", "Parking", "-k", "parking,car park", "--format", "json", db=demo_db)
    assert run.returncode == 0, run.stderr
    listed = json.loads(cx("themes", "list", "--format", "json", db=demo_db).stdout)
    assert any(t["name"] == "Parking" and not t["up_to_date"] for t in listed)
    exported = cx("themes", "export", db=demo_db).stdout
    assert "Parking" in exported
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes:\n  - name: X\n    keywords: 3\n")
    run = cx("themes", "import", str(bad), db=demo_db)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and "bad.yaml" in run.stderr and "keywords" in run.stderr
    run = cx("themes", "rename", "Nope", "X", db=demo_db)
    assert run.returncode == 1 and "Nope" in run.stderr
    run = cx("themes", "delete", "Parking", "--format", "json", db=demo_db)
    assert run.returncode == 0


def test_discover_and_emerging_json(demo_db: str) -> None:
    run = cx("themes", "discover", "--max-themes", "8", "--format", "json", db=demo_db)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["themes"] and out["unassigned_share"] < 0.15
    assert all(not t["name"].lower().startswith("topic") for t in out["themes"])
    # The default is adaptive: the demo's short comments take the static embedder (seconds; minilm
    # takes minutes); the result names the back-end it used, and the --save'd matcher is not in the JSON.
    assert out["embedder"] == "static" and "model" not in out
    assert all("too_broad" in t for t in out["themes"])
    run = cx("themes", "discover", "--embedder", "word2vec", db=demo_db)
    assert run.returncode == 1 and "--embedder" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    run = cx("emerging", "--format", "json", db=demo_db)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert (report["window"]["since"], report["window"]["until"]) == ("2026-10-25", "2026-11-01")
    assert report["baseline"]["since"] == "2026-08-30" and report["baseline"]["windows"] == 8
    assert report["window"]["comments"] > 0 and report["themes_tested"] > 10
    for r in report["items"]:
        assert {"theme", "recent_count", "baseline_mean", "z", "examples"} <= set(r)
    run = cx("emerging", "--window", "x", db=demo_db)
    assert run.returncode == 1 and "--window" in run.stderr


def test_the_theme_commands_are_registered_once_in_order() -> None:
    """The taxonomy's commands are registered where they are defined: mounting the stage again (the CLI
    mount test does) adds none twice, and `themes --help` lists them in the order they are defined."""
    import typer

    from cxchange.understand.cli import register, themes_app

    for _ in range(2):
        register(typer.Typer())
    names = [c.name for c in themes_app.registered_commands]
    assert names == [
        "discover", "list", "add", "rename", "merge", "split", "delete", "keywords", "set-effort", "export",
        "import",
    ]  # fmt: skip
