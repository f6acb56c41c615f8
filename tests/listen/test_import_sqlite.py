"""SQLite specifics of the import: connection settings for the batch, the WAL checkpoint after it,
statement sizes within the connection's parameter limit."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cxchange.listen import store
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


# Both ways a chunk reaches SQLite: a staged image (large chunks), bound values (a few rows).
WRITE_PATHS = pytest.mark.parametrize("image_min_rows", [0, 10**9], ids=["image", "bound"])


@WRITE_PATHS
def test_duplicates_within_a_batch_keep_the_first_row(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, image_min_rows: int
) -> None:
    monkeypatch.setattr(store, "_IMAGE_MIN_ROWS", image_min_rows)
    frame = pl.DataFrame(
        {"id": [str(i % 90) for i in range(103)], "nps": ["9"] * 103, "c": [f"row {i}" for i in range(103)]}
    )
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps", "text=c"))
    result = import_frame(sqlite_engine, frame, opts)
    assert (result.imported, result.duplicates) == (90, 13)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Feedback)).scalar() == 90
        texts = {key: text for key, text in conn.execute(select(Feedback.external_id, Feedback.text))}
    assert texts["5"] == "row 5" and texts["12"] == "row 12"  # not "row 95", "row 102"


@WRITE_PATHS
def test_values_are_stored_with_the_types_sqlite3_binding_gave(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, image_min_rows: int
) -> None:
    """Rows written through a staged image (sqlite_stage.py) are stored as bound Python values are:
    SQLite's integer, real and text, read back by the ORM as before."""
    monkeypatch.setattr(store, "_IMAGE_MIN_ROWS", image_min_rows)
    frame = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "when": ["2024-03-01 10:00:00", "2024-03-02 11:30:00", None],
            "nps": ["9", None, "0"],
            "rating": ["4.5", "2", None],
            "value": ["12.50", None, "3"],
            "c": ["Café was great 😀", None, "line\nbreak"],
            "Region": ["North", None, "Süd"],
        }
    )
    opts = ImportOptions(
        source="s",
        map_options=(
            "external_id=id",
            "received_at=when",
            "nps=nps",
            "rating=rating",
            "text=c",
            "customer_value=value",
        ),
    )
    assert import_frame(sqlite_engine, frame, opts).imported == 3
    with sqlite_engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        types = raw.execute(
            "SELECT external_id, typeof(received_at), typeof(nps), typeof(rating), typeof(rating_scale), "
            "typeof(customer_value), typeof(attributes), typeof(source_id), typeof(batch_id) "
            "FROM feedback ORDER BY id"
        ).fetchall()
    with Session(sqlite_engine) as session:
        rows = session.execute(select(Feedback).order_by(Feedback.id)).scalars().all()
    assert types == [
        ("a", "text", "integer", "real", "integer", "real", "text", "integer", "integer"),
        ("b", "text", "null", "real", "integer", "null", "text", "integer", "integer"),
        ("c", "null", "integer", "null", "null", "real", "text", "integer", "integer"),
    ]
    assert [r.received_at for r in rows][:2] == [datetime(2024, 3, 1, 10), datetime(2024, 3, 2, 11, 30)]
    assert [r.text for r in rows] == ["Café was great 😀", None, "line\nbreak"]
    assert [r.attributes for r in rows] == [{"Region": "North"}, {"Region": None}, {"Region": "Süd"}]
    assert [(r.nps, r.rating, r.customer_value) for r in rows] == [
        (9, 4.5, 12.5),
        (None, 2.0, None),
        (0, None, 3.0),
    ]


def test_stage_image_holds_the_frame_in_order() -> None:
    from cxchange.listen.sqlite_stage import STAGE_TABLE, stage_image

    frame = pl.DataFrame(
        {"s": ["x", None, "ü'\"", ""], "i": [1, None, -3, 2**40], "f": [0.5, None, 1e300, -0.0]},
        schema={"s": pl.String, "i": pl.Int64, "f": pl.Float64},
    )
    con = sqlite3.connect(":memory:")
    con.deserialize(stage_image(frame))
    rows = con.execute(f"SELECT s, i, f, typeof(s), typeof(i), typeof(f) FROM {STAGE_TABLE} ORDER BY rowid")
    assert rows.fetchall() == [
        ("x", 1, 0.5, "text", "integer", "real"),
        (None, None, None, "null", "null", "null"),
        ("ü'\"", -3, 1e300, "text", "integer", "real"),
        ("", 2**40, -0.0, "text", "integer", "real"),
    ]


def test_a_killed_imports_scratch_file_is_removed_by_the_next_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL skips `finally`, so a killed import leaves its scratch file; the next one removes files
    whose process is gone, and only those."""
    import subprocess
    import sys
    import tempfile

    from cxchange.listen import sqlite_stage

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(gone.stdout)
    orphan = tmp_path / f"cxchange-stage-{dead_pid}-x1.db"
    running = tmp_path / f"cxchange-stage-{os.getpid()}-x2.db"  # an import in flight in this process
    unrelated = tmp_path / "cxchange-stage-notapid.db"
    for path in (orphan, running, unrelated):
        path.write_bytes(b"")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sqlite_stage, "_swept", False)
    sqlite_stage.stage_image(pl.DataFrame({"a": [1]}))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, unrelated.name])


def test_the_session_attaches_the_stage_schema_and_detaches_it(sqlite_engine: Engine) -> None:
    def schemas(raw: Any) -> list[str]:
        return [row[1] for row in raw.execute("PRAGMA database_list")]

    with sqlite_engine.connect() as conn:
        raw = conn.connection.driver_connection
        with sqlite_import_session(conn):
            assert "cx_stage" in schemas(raw)
        assert "cx_stage" not in schemas(raw)
        assert not conn.invalidated


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
