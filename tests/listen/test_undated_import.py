"""An import without a date column says so, and names the kept columns that read as dates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl

from cxchange.listen.dates import looks_like_dates


def test_looks_like_dates_reads_written_dates_only() -> None:
    assert looks_like_dates(pl.Series(["2024-06-12 22:01:30", "2024-06-11 08:00:00", None, ""]))
    assert looks_like_dates(pl.Series(["12/06/2024", "13/06/2024"]))
    assert not looks_like_dates(pl.Series(["1718229690", "1718229700"]))  # numbers are not written dates
    assert not looks_like_dates(pl.Series(["8.116.0 build 8", "7.58.0 build 26"]))
    assert not looks_like_dates(pl.Series([None, ""], dtype=pl.String))


def test_import_without_a_date_column_says_so_and_names_candidates(tmp_path: Path) -> None:
    csv = tmp_path / "app.csv"
    csv.write_text(
        "text,score,appVersion,at\n"
        "Keeps logging me out,1,8.1,2024-06-12 22:01:30\n"
        "Works fine now,5,8.1,2024-06-13 08:00:00\n"
    )
    db = f"sqlite:///{tmp_path / 'cx.db'}"
    cmd = [sys.executable, "-m", "cxchange", "--db", db, "import", str(csv), "--source", "app"]
    out = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, check=True)
    undated = json.loads(out.stdout)["undated"]
    assert undated["candidates"] == ["at"]
    assert "--map received_at=COLUMN" in undated["notes"][0]
    table = subprocess.run([*cmd[:-1], "app2"], capture_output=True, text=True, check=True)
    assert "no date column recognised" in table.stdout and "read as dates: at" in table.stdout
    mapped = subprocess.run(
        [*cmd[:-1], "app3", "--map", "received_at=at", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(mapped.stdout)["undated"] is None
