"""Misdated imports (issue 16, part 3), each `cxchange import` run as the user runs it, a subprocess on a
fresh non-demo database, SQLite and PostgreSQL.

The probe's file: 60,000 rows written month-first and sorted by date, so the head of the first 50,000-row
chunk (1 January) reads either way. It was once imported with 0 rejects and rows 1-50,000 day/month
swapped. Now the reading is decided once for the column, before any chunk: every row month-first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select

from cxchange.core.db import get_engine
from cxchange.listen.models import Feedback

ROWS = 60_000


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dates.db'}"
        return
    with postgres_databases("cxchange_dates_") as pg:
        yield pg


def cx(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CXCHANGE_IMPORT_CHUNK_ROWS": "50000"}
    return subprocess.run(
        [sys.executable, "-m", "cxchange", "--db", url, *args],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


def stored(url: str) -> dict[str, datetime]:
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Feedback.external_id, Feedback.received_at)).all()
            return {r.external_id: r.received_at for r in rows}
    finally:
        engine.dispose()


def test_a_us_format_file_of_60000_rows_is_read_month_first_throughout(url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(16)
    days = np.sort(rng.integers(0, 365, ROWS))  # sorted: the first rows are all 1 January
    when = pl.Series((np.datetime64("2025-01-01") + days.astype("timedelta64[D]")).astype("datetime64[us]"))
    comments = [f"visit {i}: the queue was long but the staff were lovely and helpful" for i in range(ROWS)]
    frame = pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(ROWS)],
            "date": when.dt.to_string("%m/%d/%Y"),
            "nps": rng.integers(0, 11, ROWS),
            "comment": comments,
        }
    )
    path = tmp_path / "us.csv"
    frame.write_csv(path)
    assert path.stat().st_size > 4 << 20  # large enough to be sampled in windows, not read whole
    # the old rule looked at the first 500 values of each chunk: these read either way (tie: day-first)
    assert frame["date"].head(500).str.slice(3, 2).cast(pl.Int32).max() <= 12

    run = cx(url, "import", str(path), "--source", "us", "--format", "json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["imported"] == ROWS and out["rejected"] == 0
    assert out["dates"]["order"] == "month-first" and not out["dates"]["ambiguous"]
    got = stored(url)
    expected = dict(zip(frame["id"].to_list(), when.to_list(), strict=True))
    swapped = [k for k, v in expected.items() if got[k] != v]
    assert len(got) == ROWS and swapped == []


def test_an_ambiguous_column_is_warned_refused_then_read_as_given(url: str, tmp_path: Path) -> None:
    path = tmp_path / "amb.csv"
    path.write_text("id,date,nps\na,01/02/2026,9\nb,03/04/2026,7\nc,12/11/2026,3\n")
    dry = cx(url, "import", str(path), "--source", "amb", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "received_at ('date'): every date could be day-first or month-first" in dry.stdout
    assert "'01/02/2026'" in dry.stdout

    refused = cx(url, "import", str(path), "--source", "amb")
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "amb.csv" in lines[0] and "'date'" in lines[0] and "--date-format" in lines[0]
    assert "Traceback" not in refused.stderr
    assert stored(url) == {}  # nothing half-written

    ok = cx(url, "import", str(path), "--source", "amb", "--date-format", "%m/%d/%Y", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert stored(url)["a"] == datetime(2026, 1, 2)
    # the format is remembered for the source: its next export needs no flag
    later = tmp_path / "amb2.csv"
    later.write_text("id,date,nps\nd,05/06/2026,8\n")
    again = cx(url, "import", str(later), "--source", "amb", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert stored(url)["d"] == datetime(2026, 5, 6)


def test_a_file_written_both_ways_is_refused_naming_a_row_of_each(url: str, tmp_path: Path) -> None:
    path = tmp_path / "both.csv"
    rows = [f"r{i},01/0{i % 9 + 1}/2026,5" for i in range(20)] + ["x,03/25/2026,5", "y,25/03/2026,5"]
    path.write_text("id,date,nps\n" + "\n".join(rows) + "\n")
    run = cx(url, "import", str(path), "--source", "both")
    assert run.returncode == 1
    line = run.stderr.strip()
    assert "\n" not in line and "both ways" in line and "'date'" in line
    assert "'03/25/2026' (row 22)" in line and "'25/03/2026' (row 23)" in line
    assert stored(url) == {}


def test_iso_timestamps_and_a_mixed_date_datetime_column(url: str, tmp_path: Path) -> None:
    values = {
        "z": ("2026-01-31T10:00:00Z", datetime(2026, 1, 31, 10)),
        "ms": ("2026-01-31T10:00:00.123Z", datetime(2026, 1, 31, 10, 0, 0, 123000)),
        "us": ("2026-01-31T10:00:00.123456Z", datetime(2026, 1, 31, 10, 0, 0, 123456)),
        "min": ("2026-01-31T10:00", datetime(2026, 1, 31, 10)),
        "colon": ("2026-01-31T10:00:00+02:00", datetime(2026, 1, 31, 8)),
        "plain": ("2026-01-31T10:00:00+0200", datetime(2026, 1, 31, 8)),
        "date": ("2026-01-31", datetime(2026, 1, 31)),
        "space": ("2026-02-01 09:15:00", datetime(2026, 2, 1, 9, 15)),
    }
    path = tmp_path / "iso.csv"
    path.write_text("id,when,nps\n" + "".join(f"{k},{v},8\n" for k, (v, _) in values.items()))
    run = cx(url, "import", str(path), "--source", "iso", "--map", "received_at=when", "--format", "json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["rejected"] == 0
    assert any("converted to UTC" in note for note in out["dates"]["notes"])
    assert stored(url) == {k: t for k, (_, t) in values.items()}
