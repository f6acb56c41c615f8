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


def test_redate_dates_undated_rows_from_a_kept_column(engine: object) -> None:
    """4,949 app reviews imported undated (their date column is `at`) stayed undated: importing again
    with --map received_at=at skips duplicates. `redate at` reads the kept column as an import reads
    received_at (refusing a day/month guess), dates only undated rows, of one source when asked."""
    from datetime import datetime

    import pytest
    from sqlalchemy import Engine, select

    from cxchange.core.errors import InputError
    from cxchange.listen.redate import redate
    from cxchange.listen.service import ImportOptions, import_frame
    from cxchange.listen.tables import feedback
    from cxchange.measure.service import ScoreQuery, scores

    assert isinstance(engine, Engine)
    frame = pl.DataFrame(
        {"text": ["slow app", "love it", "crashes", "fine"], "score": ["1", "5", "2", "4"],
         "at": ["2024-06-12 22:01:30", "2024-05-02 08:00:00", "", "not a date"]}
    )  # fmt: skip
    import_frame(engine, frame, ImportOptions(source="app", map_options=("text=text", "rating=score")))
    other = pl.DataFrame({"text": ["meh"], "score": ["3"], "at": ["03/04/2024"], "when": ["2024-01-01"]})
    opts = ("text=text", "rating=score", "received_at=when")
    import_frame(engine, other, ImportOptions(source="web", map_options=opts))
    months = {r["group"]["month"]: r["n"] for r in scores(engine, ScoreQuery(metric="rating", by=("month",)))}
    assert months == {None: 4, "2024-01": 1}
    out = redate(engine, "at", source="app")
    assert (out["dated"], out["unread"]) == (2, 1)  # the blank is no value; "not a date" stays undated
    months = {r["group"]["month"]: r["n"] for r in scores(engine, ScoreQuery(metric="rating", by=("month",)))}
    assert months == {"2024-05": 1, "2024-06": 1, "2024-01": 1, None: 2}
    with engine.connect() as conn:
        web = conn.execute(select(feedback.c.received_at).where(feedback.c.text == "meh")).scalar()
    assert web == datetime(2024, 1, 1)  # dated rows are never touched, even when their `at` reads
    assert redate(engine, "at", source="app")["dated"] == 0
    unsorted = pl.DataFrame({"text": ["late"], "score": ["2"], "at": ["03/04/2024"]})
    import_frame(engine, unsorted, ImportOptions(source="app", map_options=("text=text", "rating=score")))
    with pytest.raises(InputError, match="day-first or month-first"):
        redate(engine, "at", source="app")
    assert redate(engine, "at", source="app", date_format="%d/%m/%Y")["dated"] == 1
    with pytest.raises(InputError, match="no feedback has the attribute 'date'"):
        redate(engine, "date")
