"""SQLite specifics of the import: connection settings for the batch, the WAL checkpoint after it,
statement sizes within the connection's parameter limit."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, event, func, select

from cxchange.listen.models import Feedback
from cxchange.listen.service import ImportOptions, import_file, import_frame
from cxchange.listen.store import sqlite_checkpoint, sqlite_import_session

SETTINGS = ("foreign_keys", "wal_autocheckpoint")


def _settings(raw: Any) -> dict[str, int]:
    return {name: int(raw.execute(f"PRAGMA {name}").fetchone()[0]) for name in SETTINGS}


def test_session_sets_and_restores_connection_settings(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        raw = conn.connection.driver_connection
        before = _settings(raw)
        assert before["foreign_keys"] == 1 and before["wal_autocheckpoint"] > 0
        with pytest.raises(RuntimeError), sqlite_import_session(conn) as wal:
            assert wal  # the engine puts SQLite files in WAL mode
            inside = _settings(raw)
            assert inside["foreign_keys"] == 0 and inside["wal_autocheckpoint"] == 0
            raise RuntimeError("import failed")
        assert _settings(raw) == before
        assert not conn.invalidated


def test_session_invalidates_a_connection_it_cannot_restore(sqlite_engine: Engine) -> None:
    # foreign_keys cannot change inside a transaction: a connection left in one is not pooled again.
    with sqlite_engine.connect() as conn:
        raw = conn.connection.driver_connection
        with sqlite_import_session(conn):
            raw.execute("BEGIN")
        assert conn.invalidated
    with sqlite_engine.connect() as conn:
        assert _settings(conn.connection.driver_connection)["foreign_keys"] == 1


def test_import_leaves_keys_valid_settings_restored_and_wal_checkpointed(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "s.csv"
    path.write_text("Response ID,Comment,Score\n" + "".join(f"r{i},nice {i},9\n" for i in range(500)))
    result = import_file(sqlite_engine, path, ImportOptions(source="s", map_options=("nps=Score",)))
    assert result.imported == 500
    pool = sqlite_engine.pool
    conns = [pool.connect() for _ in range(pool.checkedin())]  # every pooled connection
    try:
        for c in conns:
            assert _settings(c.driver_connection)["foreign_keys"] == 1
            assert _settings(c.driver_connection)["wal_autocheckpoint"] == 1000
        raw = conns[0].driver_connection if conns else sqlite3.connect(":memory:")
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        for c in conns:
            c.close()


def test_commit_leaves_the_batch_in_the_wal_until_the_checkpoint(sqlite_engine: Engine) -> None:
    db = Path(sqlite_engine.url.database or "")
    with sqlite_engine.connect() as conn, sqlite_import_session(conn), conn.begin():
        conn.exec_driver_sql("CREATE TABLE filler (x TEXT)")
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
            "INSERT INTO filler SELECT hex(randomblob(200)) FROM n"
        )
    committed = db.stat().st_size  # the commit did not copy the ~800 KB into the database file
    sqlite_checkpoint(sqlite_engine)
    assert db.stat().st_size > committed + 700_000
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM filler").scalar() == 2000


def test_statements_fit_the_connections_parameter_limit(sqlite_engine: Engine) -> None:
    @event.listens_for(sqlite_engine, "connect")
    def _low_limit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)

    sqlite_engine.dispose()  # new connections, with the low limit
    try:
        frame = pl.DataFrame({"id": [str(i % 90) for i in range(103)], "nps": ["9"] * 103})
        opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
        result = import_frame(sqlite_engine, frame, opts)
        assert (result.imported, result.duplicates) == (90, 13)
        with sqlite_engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Feedback)).scalar() == 90
    finally:
        event.remove(sqlite_engine, "connect", _low_limit)
        sqlite_engine.dispose()


def test_a_failed_checkpoint_does_not_fail_the_committed_import(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import cxchange.listen.service as service

    def broken(_engine: Engine) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(service, "sqlite_checkpoint", broken)
    monkeypatch.setattr(service, "SMALL_BATCH_ROWS", 0)  # only a large batch defers its checkpoint
    frame = pl.DataFrame({"id": ["a", "b"], "nps": ["9", "3"]})
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
    assert import_frame(sqlite_engine, frame, opts).imported == 2
    assert "disk full" in caplog.text
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Feedback)).scalar() == 2


def test_a_small_batch_leaves_the_checkpoint_to_sqlite(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few rows (a survey answer) start no checkpoint thread and keep the connection's autocheckpoint."""
    import cxchange.listen.service as service

    def called(_engine: Engine) -> None:
        raise AssertionError("a small batch must not checkpoint in the background")

    monkeypatch.setattr(service, "sqlite_checkpoint", called)
    frame = pl.DataFrame({"id": ["a", "b"], "nps": ["9", "3"]})
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
    assert import_frame(sqlite_engine, frame, opts).imported == 2
    with sqlite_engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        assert int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]) > 0
