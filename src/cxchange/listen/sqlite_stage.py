"""Rows for SQLite without a Python object per value: a frame becomes a SQLite database image.

Binding a million rows through the sqlite3 module turns every value into a Python object and back, with
the GIL held: that was most of an import's write. Here ADBC's SQLite driver (C, reading the frame's Arrow
memory through the Arrow C stream interface, no pyarrow) writes the rows into a database file of its own,
and its bytes come back as an image. The importer's connection loads the image into an attached
in-memory schema (`sqlite3.Connection.deserialize`) and copies the rows with one INSERT ... SELECT,
all in C.

The live database is never opened by the driver's SQLite: two SQLite libraries in one process holding
the same file would break each other's POSIX locks. The driver only ever sees its own temporary file,
and the sqlite3 module only the image's bytes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from cxchange.core.processes import pid_alive

STAGE_TABLE = "chunk"
STAGE_PREFIX = "cxchange-stage-"
_swept = False


def sweep_orphans(folder: Path | None = None) -> int:
    """Remove scratch files left by imports that were killed (SIGKILL skips `finally`). A file names the
    process that made it; only files of processes that no longer exist go. Returns how many went."""
    folder = Path(folder or tempfile.gettempdir())
    removed = 0
    for path in folder.glob(f"{STAGE_PREFIX}*-*.db"):
        owner = path.name[len(STAGE_PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not pid_alive(int(owner)):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _execute(conn: object, sql: str) -> None:
    import adbc_driver_manager

    stmt = adbc_driver_manager.AdbcStatement(conn)
    try:
        stmt.set_sql_query(sql)
        stmt.execute_update()
    finally:
        stmt.close()


def stage_image(frame: pl.DataFrame) -> bytes:
    """A SQLite database image holding `frame`'s rows, in order, as the table `chunk` (columns named as
    the frame's, values stored with the types sqlite3 would bind: text, integer, real, NULL).
    The insert runs in C with the GIL released, so it overlaps with the caller's other threads."""
    import adbc_driver_manager
    import adbc_driver_sqlite

    global _swept
    if not _swept:  # once per process: a glob of the temp folder per chunk would cost for nothing
        sweep_orphans()
        _swept = True
    fd, name = tempfile.mkstemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", suffix=".db")
    os.close(fd)
    path = Path(name)
    try:
        db = adbc_driver_sqlite.connect(str(path))
        try:
            conn = adbc_driver_manager.AdbcConnection(db)
            try:
                # A scratch file read once: no journal, no fsync.
                _execute(conn, "PRAGMA journal_mode=OFF")
                _execute(conn, "PRAGMA synchronous=OFF")
                conn.set_autocommit(False)  # one transaction for every row
                stmt = adbc_driver_manager.AdbcStatement(conn)
                try:
                    stmt.set_options(
                        **{
                            "adbc.ingest.target_table": STAGE_TABLE,
                            "adbc.ingest.mode": "adbc.ingest.mode.create",
                        }
                    )
                    stmt.bind_stream(frame)
                    stmt.execute_update()
                finally:
                    stmt.close()
                conn.commit()
            finally:
                conn.close()
        finally:
            db.close()
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
