"""Every database test runs on SQLite and on PostgreSQL.

PostgreSQL: a fresh database per test session (CXCHANGE_TEST_POSTGRES_URL points at the server;
default postgresql://postgres@127.0.0.1:5432/test). Under CI=true an unreachable server fails the
run; elsewhere its tests are skipped with a visible reason.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from cxchange.core import events
from cxchange.core.base import Base, register_models
from cxchange.core.db import get_engine, normalise_url
from cxchange.core.migrate import forget_checked

PG_URL = os.environ.get("CXCHANGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Discovery's default ("adaptive") takes the MiniLM ONNX embedder for short comments when its file is
# built: a minute per discovery of a few thousand comments on a busy 2-core machine. The suite's many
# default-path discoveries run the static embedder instead (this names a file that does not exist, so
# adaptive falls back as on a machine without the extra); tests/understand/test_minilm_onnx.py
# removes this and tests the MiniLM path, adaptive's choice of it included.
os.environ.setdefault("CXCHANGE_MINILM_ONNX", "/nonexistent/minilm-disabled-in-tests.onnx")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _set_nodeid(item: pytest.Item, nodeid: str) -> None:
    if hasattr(item, "_id"):  # pytest >= 9.2 keeps a structured id (pytest-xdist 3.8 still sets `_nodeid`)
        item._id = type(item._id).parse(nodeid)
    else:
        item._nodeid = nodeid


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `-n 2 --dist loadgroup` the tests of a module that share a module-scoped fixture (a demo
    database, a served app) run on one worker, so that fixture is built once and not once per worker;
    the other tests are handed out one at a time.

    pytest-xdist knows a test by its id. Schemathesis gives each API operation's test its own name
    (`test_no_server_errors[GET /api/health]`) but one shared id, so all but one went unrun under -n 2:
    each gets its name in its id, and a repeated id stops the run. The group travels in the id as
    `ID@GROUP`; pytest-xdist 3.8 writes it where pytest 9.2 no longer reads it (pytest-xdist issue
    #1386: the groups are silently ignored), so it is written here."""
    for item in items:
        defs = getattr(item, "_fixtureinfo", None)
        scopes = {d.scope for ds in defs.name2fixturedefs.values() for d in ds} if defs else set()
        if "module" in scopes and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    grouping = bool(getattr(config.option, "loadgroup", False))  # set in pytest-xdist's workers only
    units: dict[str, list[pytest.Item]] = {}  # what pytest-xdist hands out as one: a group, or a test
    for item in items:
        head, _, last = item.nodeid.rpartition("::")
        nodeid = f"{head}::{item.name}" if head and last != item.name else item.nodeid
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})  # fmt: skip
        if grouping and groups and hasattr(item, "_id"):
            nodeid = f"{nodeid}@{'_'.join(groups)}"
        if nodeid != item.nodeid:
            _set_nodeid(item, nodeid)
        units.setdefault("@" + "_".join(groups) if groups else nodeid, []).append(item)
    seen: set[str] = set()
    repeated = sorted({i.nodeid for i in items if i.nodeid in seen or seen.add(i.nodeid)})
    if repeated:
        raise pytest.UsageError(f"tests share an id (pytest-xdist would run one of them): {repeated[:5]}")
    if grouping:
        items[:] = heavy_first(list(units.values()))


def heavy_first(units: list[list[pytest.Item]]) -> list[pytest.Item]:
    """The order pytest-xdist hands the work out in (pytest_configure turns its own reordering off):
    the units holding a test marked `slow` first (as collected), then the other groups, largest first,
    then the single tests as collected. A unit is a test, or all the tests of one `xdist_group` (kept
    together, in their order). pytest-xdist's own order put every group first and then the single tests
    as collected: the 65 s cluster test of tests/understand started after nearly everything else and
    made the run's tail."""

    def rank(unit: list[pytest.Item]) -> tuple[int, int]:
        if any(i.get_closest_marker("slow") for i in unit):
            return (0, 0)
        return (1, -len(unit)) if len(unit) > 1 else (2, 0)

    return [item for unit in sorted(units, key=rank) for item in unit]


def pytest_configure(config: pytest.Config) -> None:
    """pytest-xdist (`--dist loadgroup`) takes the tests in the order `heavy_first` gives them, instead of
    sorting its units by size (which moved every group ahead of the tests marked slow)."""
    if getattr(config.option, "dist", "no") == "loadgroup":
        config.option.loadscopereorder = False


def _admin_engine() -> Engine:
    return create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def throwaway_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database named `prefix` + random hex, dropped afterwards. Skips the test
    when the server is unreachable, except under CI=true, where that fails the run."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        message = f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL is required)", pytrace=False)
        pytest.skip(message)
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # name is ours: a fixed prefix and hex
    url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url, upgrade=False).dispose()
        admin.dispose()
        _DROPS.append((name, _dropper().submit(_drop_database, name)))


# Dropping a database makes PostgreSQL take a checkpoint (every dirty page of the server written out)
# and waits for it: 1-5 s per test on a busy machine, with the test worker idle. The drops run on a
# thread of their own while the next test runs; the session's end waits for them and drops again, in
# the open, any that failed (pytest_sessionfinish).
_DROPS: list[tuple[str, Future[None]]] = []
_DROPPER: list[ThreadPoolExecutor] = []


def _dropper() -> ThreadPoolExecutor:
    if not _DROPPER:
        _DROPPER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-database"))
    return _DROPPER[0]


def _drop_database(name: str) -> None:
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No test database outlives the session: a drop that failed on the thread is made again here, where
    its error stops the run."""
    for executor in _DROPPER:
        executor.shutdown(wait=True)
    for name, done in _DROPS:
        if done.exception() is not None:
            _drop_database(name)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with throwaway_postgres_database("cxchange_test_") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_databases() -> Any:
    """`throwaway_postgres_database` for tests that need a database of their own (tests/e2e)."""
    return throwaway_postgres_database


@contextlib.contextmanager
def served(
    args: list[str], log_path: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`cxchange serve ARGS` in a subprocess on a free port: yields (base URL, process) once /api/health
    answers, then stops it. Its output goes to `log_path` (a failed start shows it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cxchange", "serve", "--port", str(port), *args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start:\n{log_path.read_text()}", pytrace=False)
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def cxchange_server() -> Any:
    """`served` for tests that start the server themselves (web pages, faults, e2e)."""
    return served


# The tables owning a sequence that has handed out a value since it was created or last restarted.
_USED_SEQUENCE_TABLES = """
SELECT DISTINCT t.relname FROM pg_sequences s
JOIN pg_class q ON q.relname = s.sequencename AND q.relkind = 'S'
JOIN pg_namespace n ON n.oid = q.relnamespace AND n.nspname = s.schemaname
JOIN pg_depend d ON d.objid = q.oid AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
WHERE s.schemaname = current_schema() AND s.last_value IS NOT NULL
"""


# The rows migrations seed, put back after a TRUNCATE: without feedback_changes' row its triggers count
# nothing, so a roll-up or index made stale by an edit of feedback looked current in every PostgreSQL
# test after the first (tests/test_pg_reset.py checks this list against a new database's rows).
MIGRATION_SEEDS = {
    "feedback_changes": ["INSERT INTO feedback_changes (id, changes) VALUES (1, 0)"],
    "feedback_rollup_state": ["INSERT INTO feedback_rollup_state (id, changes) VALUES (1, 0)"],
    "search_index_state": [
        "INSERT INTO search_index_state (name, value) VALUES ('max_id', 0), ('changes', 0)"
    ],
    "store_identity": [
        "INSERT INTO store_identity (id, store_id, created_at) VALUES (1, md5(random()::text), now())"
    ],
}


def _truncate_all(engine: Engine) -> None:
    """Every table as migrations leave a new database: empty but for the rows they seed (MIGRATION_SEEDS),
    every id counting from 1 again; only the tables holding rows or with a used id sequence are truncated
    (a TRUNCATE of the ~60 tables took 0.2 s per PostgreSQL test even when all were empty, ~200 tests)."""
    register_models()  # every stage's tables, not only those this test process imported so far
    names = [t.name for t in Base.metadata.sorted_tables]
    holding = " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM \"{n}\")" for n in names)
    with engine.begin() as conn:
        dirty = set(conn.execute(text(holding)).scalars())
        dirty |= set(conn.execute(text(_USED_SEQUENCE_TABLES)).scalars())
        tables = ", ".join(f'"{n}"' for n in names if n in dirty)
        if tables:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for name, inserts in MIGRATION_SEEDS.items():
            if name in dirty and name in names:
                for insert in inserts:
                    conn.execute(text(insert))


@pytest.fixture(scope="session")
def truncate_all() -> Any:
    """`_truncate_all`, for tests/test_pg_reset.py (which checks it leaves what a full TRUNCATE leaves)."""
    return _truncate_all


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A migrated, empty database URL: a new SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cx.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    engine = get_engine(url)
    _truncate_all(engine)
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    forget_checked()
    eng = get_engine(db_url)
    yield eng
    # Work a test handed to the background worker (survey answers, streaming ingest) ends with the test:
    # it must not run into the next test's emptied database.
    events.wait_for_background(eng)


@pytest.fixture(autouse=True)
def _quick_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """The background worker's gathering pause, made short: tests wait for it (the fixture above)."""
    monkeypatch.setattr(events, "BACKLOG_GATHER_SECONDS", 0.01)


@pytest.fixture
def sqlite_engine(tmp_path) -> Engine:  # type: ignore[no-untyped-def]
    return get_engine(f"sqlite:///{tmp_path / 'cx.db'}")


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The default demo company (20,000 rows, seed 42), analysed with the shipped CX taxonomy.

    Shared read-only by the tests that check planted truths (themes, emerging issue, simulator).
    """
    from cxchange.demo.load import create_demo

    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    create_demo(engine, rows=20_000, seed=42)
    return engine
