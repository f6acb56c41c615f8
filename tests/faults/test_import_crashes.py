"""Crashes and races around `cxchange import`, run as a user runs it (subprocesses, a fresh database):

- kill -9 at five moments of an import (CXCHANGE_FAULT_AT, core/faults.py): while the file is parsed,
  after rows are written but before the commit, right after the commit, during the search index and
  during the columnar copy. After the re-run and the next command nothing is lost, nothing is stored
  twice, and each unhappy customer has exactly one case;
- two imports creating the same new source at once both succeed;
- a SQLite file replaced by another database with the same highest id: `scores` answers the new one's
  numbers, not the columnar copy made for the old one.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

ROWS = 240
MAP = ("--map", "external_id=id", "--map", "nps=nps", "--map", "received_at=date", "--map", "text=comment")
POINTS = ("parse", "write", "committed", "search_index", "columnar")


def _cxchange() -> str:
    beside = Path(sys.executable).with_name("cxchange")
    found = str(beside) if beside.exists() else shutil.which("cxchange")
    assert found, "no installed `cxchange` command"
    return found


def run(
    url: str, *args: str, fault: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CXCHANGE_DATABASE_URL": url, "NO_COLOR": "1", **(env or {})}
    full.pop("CXCHANGE_FAULT_AT", None)
    full.pop("CXCHANGE_COLUMNAR", None)
    if fault:
        full["CXCHANGE_FAULT_AT"] = fault
    proc = subprocess.run(
        [_cxchange(), *args], capture_output=True, text=True, env=full, timeout=300, stdin=subprocess.DEVNULL
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    return proc


def ok(url: str, *args: str, **kw: Any) -> Any:
    proc = run(url, *args, "--format", "json", **kw)
    assert proc.returncode == 0, f"{args}: {proc.stdout[-800:]} {proc.stderr[-800:]}"
    return json.loads(proc.stdout)


def write_feedback(path: Path, rows: int = ROWS, nps: int | None = None) -> int:
    """Recent feedback (the last ten days, so low scores open cases); returns how many score 0-6."""
    today = date.today()
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "date", "nps", "comment"])
        for i in range(rows):
            score = nps if nps is not None else (i * 7) % 11
            out.writerow([f"r{i}", (today - timedelta(days=i % 10)).isoformat(), score, f"visit {i} was ok"])
    return sum(1 for i in range(rows) if (nps if nps is not None else (i * 7) % 11) <= 6)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    with request.getfixturevalue("postgres_databases")("cxchange_faults_") as pg:
        yield pg


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            one = lambda sql: int(conn.execute(text(sql)).scalar() or 0)  # noqa: E731
            return {
                "feedback": one("SELECT count(*) FROM feedback"),
                "distinct_ids": one("SELECT count(DISTINCT external_id) FROM feedback"),
                "cases": one("SELECT count(*) FROM cx_case"),
                "cased_feedback": one("SELECT count(DISTINCT feedback_id) FROM cx_case"),
                "pending": one("SELECT count(*) FROM pending_work WHERE done_at IS NULL"),
                "batches_done": one("SELECT count(*) FROM import_batch WHERE status = 'complete'"),
            }
    finally:
        engine.dispose()


def search_current(url: str) -> bool:
    """SQLite: the full-text index covers every comment (PostgreSQL has no separate index)."""
    if not url.startswith("sqlite"):
        return True
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            indexed = conn.execute(text("SELECT count(*) FROM feedback_fts")).scalar()
            stored = conn.execute(select(func.count()).select_from(text("feedback"))).scalar()
        return bool(indexed == stored)
    finally:
        engine.dispose()


@pytest.mark.parametrize("point", POINTS)
def test_kill_during_an_import_loses_nothing(url: str, point: str, tmp_path: Path) -> None:
    if point == "columnar" and not url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps no columnar copy")
    feedback = tmp_path / "feedback.csv"
    unhappy = write_feedback(feedback)
    killed = run(url, "import", str(feedback), "--source", "survey", *MAP, fault=point)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-800:])
    after_kill = counts(url)
    committed = point not in ("parse", "write")
    assert after_kill["feedback"] == (ROWS if committed else 0)  # all or nothing
    if committed:
        assert after_kill["pending"] == 1  # the work the crash interrupted is on record

    again = ok(url, "import", str(feedback), "--source", "survey", *MAP)
    assert again["imported"] == (0 if committed else ROWS)
    ok(url, "scores")  # the next command
    doctor = ok(url, "doctor")
    assert doctor["pending"] == 0 and doctor["still_pending"] == []

    final = counts(url)
    assert final["feedback"] == final["distinct_ids"] == ROWS
    assert final["cases"] == final["cased_feedback"] == unhappy > 0
    assert final["pending"] == 0
    assert search_current(url)
    # The copy (SQLite) agrees with the database, row for row.
    assert ok(url, "scores") == ok(url, "scores", env={"CXCHANGE_COLUMNAR": "0"})


def test_doctor_reports_and_finishes_work_left_after_the_commit(url: str, tmp_path: Path) -> None:
    feedback = tmp_path / "feedback.csv"
    unhappy = write_feedback(feedback)
    killed = run(url, "import", str(feedback), "--source", "survey", *MAP, fault="committed")
    assert killed.returncode == -signal.SIGKILL
    assert counts(url)["cases"] == 0
    doctor = ok(url, "doctor")
    assert doctor["pending"] == 1
    assert [w["event"] for w in doctor["finished"]] == ["batch imported"]
    assert (
        doctor["finished"][0]["done"]
        and doctor["finished"][0]["results"]["close_loop"]["cases_opened"] == unhappy
    )
    assert counts(url)["cases"] == unhappy
    assert ok(url, "doctor") == {"pending": 0, "finished": [], "still_pending": []}


def _wait_until_writing(url: str, timeout: float = 60) -> None:
    """Until some process holds a write transaction open: SQLite's write lock is taken, or PostgreSQL
    shows a session idle inside a transaction."""
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if url.startswith("sqlite"):
                    raw = conn.connection.driver_connection
                    try:
                        raw.execute("PRAGMA busy_timeout=0")
                        raw.execute("BEGIN IMMEDIATE")
                        raw.execute("ROLLBACK")
                    except Exception:  # locked: the import is writing
                        return
                else:
                    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    if conn.execute(text(sql + " AND state = 'idle in transaction'")).scalar():
                        return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError("the first import never began writing")


def _racers_waiting(url: str, pids: list[int]) -> bool:
    """Whether every other import is blocked behind the first one's open transaction: on PostgreSQL,
    sessions waiting on a lock in their INSERT of the source; on SQLite, processes whose main thread
    sleeps in SQLite's busy handler (it retries the write lock the first import holds)."""
    if not url.startswith("sqlite"):
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                sql = (
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO source %'"
                )
                return int(conn.execute(text(sql)).scalar() or 0) >= len(pids)
        finally:
            engine.dispose()
    try:
        return all(Path(f"/proc/{pid}/wchan").read_text() == "hrtimer_nanosleep" for pid in pids)
    except OSError:  # no /proc (not Linux): the fixed wait below stands
        return False


def test_imports_creating_the_same_new_source_at_once_all_succeed(url: str, tmp_path: Path) -> None:
    files = []
    for n in range(3):
        path = tmp_path / f"part{n}.csv"
        write_feedback(path, rows=5_000)
        path.write_text(path.read_text().replace("\nr", f"\nf{n}-"))  # different rows, same new source
        files.append(path)
    ok(url, "batches")  # the schema exists before the race (two first-time upgrades are another matter)
    env = {**os.environ, "CXCHANGE_DATABASE_URL": url, "NO_COLOR": "1"}
    release = tmp_path / "release"
    procs = []
    for n, path in enumerate(files):
        # The first holds its transaction open (the new source inserted, not committed) until released;
        # the others start once it is writing, so they look the source up meanwhile: with a plain INSERT
        # they failed with UNIQUE constraint failed: source.name. It is released once both are seen
        # waiting behind it, else after 15 s (the machine may start a process slowly), as the fixed
        # 15-second pause this replaces did every time.
        pause = {"CXCHANGE_FAULT_AT": f"write:pause-until:{release}:120"} if n == 0 else {}
        args = [_cxchange(), "import", str(path), "--source", "new-one", *MAP, "--format", "json"]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**env, **pause}))  # fmt: skip
        if n == 0:
            _wait_until_writing(url)
    racers = [p.pid for p in procs[1:]]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not _racers_waiting(url, racers):
        time.sleep(0.05)
    release.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0 and "Traceback" not in err, err[-1500:]
        assert json.loads(out)["imported"] == 5_000
    assert counts(url)["feedback"] == 15_000
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM source")).scalars().all() == ["new-one"]
    engine.dispose()


def test_a_replaced_database_file_never_answers_from_the_old_copy(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    low, high = tmp_path / "low.csv", tmp_path / "high.csv"
    write_feedback(low, rows=50, nps=0)
    write_feedback(high, rows=50, nps=10)
    url_a, url_b = f"sqlite:///{a}", f"sqlite:///{b}"
    ok(url_a, "import", str(low), "--source", "survey", *MAP)
    assert ok(url_a, "scores")[0]["score"] == -100.0  # the copy beside a.db is built and used
    assert Path(f"{a}.columns/state.json").exists()
    ok(url_b, "import", str(high), "--source", "survey", *MAP)  # same highest id (50), other scores
    for suffix in ("-wal", "-shm"):
        Path(f"{a}{suffix}").unlink(missing_ok=True)
        if Path(f"{b}{suffix}").exists():
            os.replace(f"{b}{suffix}", f"{a}{suffix}")
    os.replace(b, a)  # the file is replaced (a restore, a copy from another machine)
    assert ok(url_a, "scores")[0]["score"] == 100.0
    assert ok(url_a, "scores", env={"CXCHANGE_COLUMNAR": "0"})[0]["score"] == 100.0


def _wait_until_paused(pid: int) -> None:
    """Until the process's main thread sleeps (in the fault point's pause: a transaction that merely
    began is not yet the import writing, on PostgreSQL's count of open transactions)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/wchan").read_text() == "hrtimer_nanosleep":
                return
        except OSError:  # no /proc (not Linux): the open transaction seen is all there is to wait for
            return
        time.sleep(0.05)


def test_ctrl_c_during_an_import_says_in_one_line_that_nothing_was_imported(url: str, tmp_path: Path) -> None:
    """SIGINT to an import writing its rows (held there by a pause, so the signal lands mid-transaction
    on any machine): one line on stderr saying what was not done, exit 130, no traceback, and it is true:
    no batch, no feedback. Typer turned the KeyboardInterrupt into a silent exit 130."""
    feedback = tmp_path / "big.csv"
    write_feedback(feedback, rows=50_000)
    ok(url, "batches")  # the schema exists before the import starts
    env = {
        **os.environ,
        "CXCHANGE_DATABASE_URL": url,
        "NO_COLOR": "1",
        "CXCHANGE_FAULT_AT": "write:pause:120",
    }
    args = [_cxchange(), "import", str(feedback), "--source", "big", *MAP]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_until_writing(url)
    _wait_until_paused(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err == "interrupted: nothing imported: the batch was rolled back\n" and out == ""
    assert ok(url, "batches") == [] and counts(url)["feedback"] == 0


def test_ctrl_c_after_the_commit_says_the_batch_is_in_and_its_work_pending(url: str, tmp_path: Path) -> None:
    """SIGINT once the batch is committed (held there): the line says so, and the next command finishes
    the after-commit work (cases for the unhappy customers) the interrupted one left pending."""
    feedback = tmp_path / "feedback.csv"
    unhappy = write_feedback(feedback)
    ok(url, "batches")
    env = {
        **os.environ,
        "CXCHANGE_DATABASE_URL": url,
        "NO_COLOR": "1",
        "CXCHANGE_FAULT_AT": "committed:pause:120",
    }
    proc = subprocess.Popen([_cxchange(), "import", str(feedback), "--source", "s", *MAP], text=True, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120
    while counts(url)["batches_done"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    _wait_until_paused(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err == (
        "interrupted: batch 1 was imported; its after-commit work (columnar copy, search index, cases, "
        "alerts) is left pending: the next command or `cxchange doctor` finishes it\n"
    )
    assert counts(url)["pending"] == 1
    ok(url, "batches")  # the next command resumes it
    after = counts(url)
    assert after["pending"] == 0 and after["feedback"] == ROWS and after["cased_feedback"] == unhappy
