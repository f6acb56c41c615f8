"""`cxchange analyze` on a real cluster: a `dask scheduler` and two `dask worker` processes on this
machine, PostgreSQL, one worker killed in the middle; the stored result must be the single-process one.

Everything runs as subprocesses, as an operator runs it, on fresh non-demo databases.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.e2e.conftest import cxchange_executable
from tests.e2e.world import make_feedback

from cxchange.core.processes import stop_processes

pytest.importorskip("dask.distributed")

ROWS = 6_000
PARTITION = 100  # many small partitions, so a worker is killed with work in hand


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dask() -> str:
    return str(Path(sys.executable).with_name("dask"))


def _cx(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full = {**os.environ, "NO_COLOR": "1", "CXCHANGE_ANALYZE_PARTITION_ROWS": str(PARTITION), **(env or {})}
    return subprocess.Popen(
        [cxchange_executable(), "--db", url, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=full, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _ok(url: str, *args: str, env: dict[str, str] | None = None) -> str:
    proc = _cx(url, *args, env=env)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "Traceback" not in err, f"cxchange {' '.join(args)}: {err[-2000:]}"
    return out


def _prepare(url: str, csv: Path) -> None:
    _ok(url, "import", str(csv), "--source", "survey", "--format", "json")
    _ok(url, "themes", "import", "--builtin", "cx_default", "--format", "json")


def _stored(url: str) -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            sentiments = conn.execute(text(
                "SELECT f.dedup_key, s.score, s.label, s.language, s.backend FROM feedback_sentiment s "
                "JOIN feedback f ON f.id = s.feedback_id ORDER BY f.dedup_key"
            )).all()  # fmt: skip
            themes = conn.execute(text(
                "SELECT f.dedup_key, t.name, ft.sentiment, ft.matched, ft.relevance FROM feedback_theme ft "
                "JOIN feedback f ON f.id = ft.feedback_id JOIN theme t ON t.id = ft.theme_id "
                "ORDER BY f.dedup_key, t.name"
            )).all()  # fmt: skip
    finally:
        engine.dispose()
    return [tuple(r) for r in sentiments], [tuple(r) for r in themes]


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)  # fixed names
    finally:
        engine.dispose()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """(scheduler address, [worker processes]): a scheduler and two single-threaded workers without a
    nanny, so killing a worker's process kills the worker."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        log = (tmp_path / "scheduler.log").open("w")
        logs.append(log)
        procs.append(subprocess.Popen(
            [_dask(), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=log, stderr=subprocess.STDOUT,
        ))  # fmt: skip
        workers = []
        for i in range(2):
            log = (tmp_path / f"worker{i}.log").open("w")
            logs.append(log)
            workers.append(subprocess.Popen(
                [_dask(), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--name", f"w{i}"],
                stdout=log, stderr=subprocess.STDOUT,
            ))  # fmt: skip
        procs.extend(workers)
        _wait_for_workers(address, 2, tmp_path)
        yield address, workers
    finally:
        stop_processes(list(reversed(procs)))
        for log in logs:
            log.close()


def _wait_for_workers(address: str, n: int, folder: Path) -> None:
    from dask.distributed import Client

    deadline = time.monotonic() + 90
    while True:
        try:
            with Client(address, timeout="5s") as client:
                client.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))
                return
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                logs = "\n".join(p.read_text()[-1500:] for p in sorted(folder.glob("*.log")))
                pytest.fail(f"the Dask cluster did not start:\n{logs}", pytrace=False)
            time.sleep(0.5)


@pytest.mark.slow  # 65 s measured on the shared 2-core machine (two databases, a cluster, two analyses)
def test_analyze_on_a_real_cluster_survives_a_killed_worker(  # type: ignore[no-untyped-def]
    tmp_path: Path, postgres_databases, cluster
) -> None:
    address, workers = cluster
    csv = tmp_path / "feedback.csv"
    make_feedback(csv, date(2026, 6, 1), rows=ROWS)
    with postgres_databases("cx_single_") as single, postgres_databases("cx_cluster_") as multi:
        for url in (single, multi):
            _prepare(url, csv)
        _ok(single, "analyze", "--format", "json")
        comments = _count(single, "feedback_sentiment")
        assert comments > 1000

        run = _cx(multi, "analyze", "--scheduler", address, "--format", "json")
        deadline = time.monotonic() + 300
        while _count(multi, "feedback_sentiment") < 2 * PARTITION:  # the cluster is under way
            assert run.poll() is None, f"analyze ended before a worker could be killed: {run.stderr.read()}"
            assert time.monotonic() < deadline, "no partition was stored"
            time.sleep(0.05)
        stored_at_kill = _count(multi, "feedback_sentiment")
        os.kill(workers[0].pid, signal.SIGKILL)
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0 and "Traceback" not in err, err[-3000:]
        assert stored_at_kill < comments, "the run ended before the worker was killed: nothing was tested"
        assert '"executor": "dask"' in out
        assert _stored(multi) == _stored(single)  # every comment once, to the last label and score
        assert _count(multi, "analysis_run") == 1


def test_unreachable_scheduler_is_one_line_and_records_nothing(tmp_path: Path, postgres_databases) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "feedback.csv"
    make_feedback(csv, date(2026, 6, 1), rows=300)
    with postgres_databases("cx_nosched_") as url:
        _prepare(url, csv)
        # Nothing listens there: the one line comes once the connect timeout (10 s by default) is over.
        scheduler = {
            "CXCHANGE_DASK_SCHEDULER": f"tcp://127.0.0.1:{_free_port()}",
            "CXCHANGE_DASK_CONNECT_TIMEOUT": "2",
        }
        proc = _cx(url, "analyze", env=scheduler)
        out, err = proc.communicate(timeout=120)
        lines = [line for line in err.splitlines() if line.strip()]
        assert proc.returncode == 1 and len(lines) == 1 and "scheduler" in lines[0], err
        assert "Traceback" not in out + err
        assert _count(url, "analysis_run") == 0 and _count(url, "feedback_sentiment") == 0


def test_a_scheduler_without_workers_is_one_line_not_a_hang(tmp_path: Path, postgres_databases) -> None:  # type: ignore[no-untyped-def]
    """Workers that never come up (a failing preload, say) used to leave `analyze` waiting forever."""
    csv = tmp_path / "feedback.csv"
    make_feedback(csv, date(2026, 6, 1), rows=300)
    port = _free_port()
    with (tmp_path / "scheduler.log").open("w") as log:
        scheduler = subprocess.Popen(
            [_dask(), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        address = f"tcp://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # the scheduler listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()
                time.sleep(0.2)
        with postgres_databases("cx_noworkers_") as url:
            _prepare(url, csv)
            proc = _cx(url, "analyze", "--scheduler", address, env={"CXCHANGE_DASK_CONNECT_TIMEOUT": "2"})
            out, err = proc.communicate(timeout=120)
            lines = [line for line in err.splitlines() if line.strip()]
            assert proc.returncode == 1 and len(lines) == 1 and "no workers" in lines[0], err
            assert "Traceback" not in out + err
            assert _count(url, "analysis_run") == 0 and _count(url, "feedback_sentiment") == 0
    finally:
        stop_processes([scheduler])
