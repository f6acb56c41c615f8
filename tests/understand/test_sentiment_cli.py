"""`cxchange sentiment`, mounted on a throw-away Typer app the way cxchange.cli mounts it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from cxchange.core.errors import CxError
from cxchange.understand.cli_sentiment import register

app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _root() -> None:
    """A root with a callback, so `sentiment` stays a sub-command as under `cxchange`."""


register(app)
runner = CliRunner()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["sentiment", *args])


def rows(result) -> list[dict]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


@pytest.mark.parametrize("backend", ["fast", "best"])
def test_json_in_input_order(backend: str) -> None:
    texts = ["still waiting for my refund", "", "lovely staff 🙂", "Le service était très lent, pas content"]
    out = rows(run(*texts, "--backend", backend, "--format", "json"))
    assert [r["text"] for r in out] == texts
    assert set(out[0]) == {"text", "score", "label"}
    assert out[0]["label"] == "negative" and out[0]["score"] < 0
    assert out[1] == {"text": "", "score": None, "label": "empty"}
    assert out[2]["label"] == "positive"
    assert out[3]["score"] is None and out[3]["label"] == "unsupported"


def test_table_and_csv() -> None:
    long = "the agent was helpful " * 20
    table = run("thanks for nothing", long)
    assert table.exit_code == 0 and "negative" in table.stdout and "sentiment (fast)" in table.stdout
    assert long not in table.stdout  # long texts are shortened in tables
    csv = run("=SUM(A1)", "great", "--format", "csv")
    assert csv.exit_code == 0
    lines = csv.stdout.splitlines()
    assert lines[0] == "text,score,label"
    assert lines[1].startswith("'=SUM(A1)")  # spreadsheet formulas neutralised
    assert lines[2].startswith("great,0.") and lines[2].endswith(",positive")


def test_file_formats(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [1, 2, 3], "Comment": ["lost my bag", None, "fixed it quickly"]})
    csv = tmp_path / "f.csv"
    frame.write_csv(csv)
    jsonl = tmp_path / "f.jsonl"
    frame.write_ndjson(jsonl)
    parquet = tmp_path / "f.parquet"
    frame.write_parquet(parquet)
    for path in (csv, jsonl, parquet):
        out = rows(run("--file", str(path), "--format", "json"))  # "Comment" is found without --column
        assert [r["label"] for r in out] == ["negative", "empty", "positive"], path
    out = rows(run("first", "--file", str(csv), "--column", "Comment", "--format", "json"))
    assert [r["text"] for r in out] == ["first", "lost my bag", "", "fixed it quickly"]


def test_single_column_file_needs_no_column(tmp_path: Path) -> None:
    path = tmp_path / "one.tsv"
    path.write_text("whatever\nterrible\nsuperb\n", encoding="utf-8")
    out = rows(run("--file", str(path), "--format", "json"))
    assert [r["label"] for r in out] == ["negative", "positive"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--file", "{tmp}/missing.csv"], "file not found"),
        (["--file", "{tmp}/f.csv", "--column", "nope"], "no column 'nope' (columns: id, a, b)"),
        (["--file", "{tmp}/f.csv"], "which column holds the text?"),
        (["--file", "{tmp}/f.xyz"], "unknown format"),
        (["--column", "a"], "--column needs --file"),
        ([], "give texts to score"),
        (["hi", "--backend", "huge"], "unknown sentiment back-end 'huge'"),
        (["hi", "--format", "xml"], "unknown --format 'xml'"),
    ],
)
def test_errors_are_cx_errors(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "f.csv").write_text("id,a,b\n1,x,y\n", encoding="utf-8")
    (tmp_path / "f.xyz").write_text("a\n", encoding="utf-8")
    result = run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code != 0
    assert isinstance(result.exception, CxError), result.exception
    assert message in str(result.exception) and "\n" not in str(result.exception)


def test_bad_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """The real thing: a process whose main() handles CxError like cxchange.cli.main."""
    script = tmp_path / "cli.py"
    script.write_text(
        "import sys, typer\n"
        "from cxchange.core.errors import CxError\n"
        "from cxchange.understand.cli_sentiment import register\n"
        "app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)\n"
        "app.callback()(lambda: None)\n"
        "register(app)\n"
        "try:\n    app()\n"
        "except CxError as exc:\n    typer.echo(f'error: {exc}', err=True)\n    sys.exit(1)\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, str(script), "sentiment", "--file", str(bad)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
