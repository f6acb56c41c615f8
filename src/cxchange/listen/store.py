"""Bulk writes of validated feedback: INSERT ... SELECT from a staged image on SQLite (sqlite_stage.py),
COPY on PostgreSQL (pg_copy.py).

Both skip rows whose (source, dedup key) is already stored and report how many were inserted,
so duplicates are counted by the database itself, across chunks and across imports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

import polars as pl
from sqlalchemy import Connection, Engine, Index, func, insert, select

from cxchange.listen.models import REJECT, Feedback, RejectedRow
from cxchange.listen.search import BatchIndexer
from cxchange.listen.sqlite_stage import STAGE_TABLE, stage_image
from cxchange.listen.validate import FEEDBACK_FIELDS, Rejects

FEEDBACK_COLUMNS = ("source_id", "batch_id", *FEEDBACK_FIELDS, "rating_scale")
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%6f"  # the text form SQLAlchemy's SQLite DateTime reads back
STAGE_SCHEMA = "cx_stage"  # the attached in-memory schema each chunk's rows are loaded into


BULK_ROWS = 100_000


class FeedbackWriter(Protocol):
    def prepare(self, rows: pl.DataFrame) -> Any:
        """The CPU work on a chunk of validated rows, without the database: the importer runs it in its
        read-ahead thread, so it overlaps with writing the previous chunk. Its result goes to `write`."""

    def write(self, prepared: Any) -> int:
        """Insert a prepared chunk; returns how many rows were new (the rest are duplicates)."""

    def close(self) -> int:
        """Called once, after the last write and before the batch commits. Returns how many rows it
        inserted itself (a writer that stages chunks and inserts them at the end), else 0."""


def worth_rebuilding_indexes(conn: Connection, expected_rows: int, *, only_if_empty: bool = False) -> bool:
    """A large batch into a small table: random inserts into the secondary indexes cost more than
    building them again, sorted, at the end (inside the same transaction, so still atomic).
    `only_if_empty`: on PostgreSQL DROP INDEX locks the whole table until commit, blocking every reader
    for the length of the import, so only a first load (nobody has anything to read yet) is worth it."""
    existing = conn.execute(select(func.max(Feedback.id))).scalar() or 0
    return not (expected_rows < BULK_ROWS or expected_rows * 4 <= existing or (only_if_empty and existing))


def drop_indexes_for_bulk(
    conn: Connection, expected_rows: int, *, keep: frozenset[str] = frozenset()
) -> list[Index]:
    """Drop the secondary indexes (all but those named in `keep`) when `worth_rebuilding_indexes`."""
    if not worth_rebuilding_indexes(conn, expected_rows):
        return []
    dropped = [index for index in Feedback.__table__.indexes if not index.unique and index.name not in keep]
    for index in dropped:
        index.drop(conn)
    return dropped


def restore_indexes(conn: Connection, dropped: list[Index]) -> None:
    for index in dropped:
        index.create(conn)


# Indexes whose keys arrive in order during an import: the batch id is the newest batch's, and an
# org unit id is one of the organisation's units, so new entries go to the end of one run per unit.
# Only an index on randomly ordered keys (received_at) is worth dropping and rebuilding.
_SQLITE_APPEND_INDEXES = frozenset({"ix_feedback_batch_id", "ix_feedback_org_unit"})
# Everything but the source and batch ids, which go into the statement as literals.
_SQLITE_WRITTEN_COLUMNS = tuple(c for c in FEEDBACK_COLUMNS if c not in ("source_id", "batch_id"))


@contextlib.contextmanager
def sqlite_import_session(conn: Connection, *, defer_checkpoint: bool = True) -> Iterator[bool]:
    """Connection settings for one import on SQLite, restored before the connection goes back to the pool.

    Enter before the batch's transaction begins (foreign_keys cannot change inside one). Yields whether
    the database is in WAL mode, i.e. whether the caller must run `wal_checkpoint` after the commit:

    * ``wal_autocheckpoint=0``: the commit only appends the batch to the WAL instead of also copying
      it into the database file; the caller checkpoints in a background thread while the search
      index catches up (I/O beside CPU) and waits for it. Atomicity is the WAL commit's, as before.
      Not with ``defer_checkpoint=False`` (a small batch): its commit checkpoints as any commit does,
      only when the WAL is long, and no thread is started for it.
    * ``foreign_keys=OFF``: every key the importer writes is one it has just read or written in the
      same write transaction (its source and batch, org units from the lookup done under the write
      lock), so the per-row parent lookups prove nothing; skipping them saves about a tenth of the
      insert. Nothing else runs on this connection meanwhile.
    * the in-memory schema ``cx_stage`` attached (ATTACH cannot run inside a transaction): the writer
      loads each chunk's rows there (sqlite_stage.py) and copies them into feedback.
    """
    if conn.dialect.name != "sqlite":
        yield False
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ("wal_autocheckpoint", "foreign_keys") if defer_checkpoint else ("foreign_keys",)
    saved = {name: int(raw.execute(f"PRAGMA {name}").fetchone()[0]) for name in names}
    wal = defer_checkpoint and str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
    try:
        if defer_checkpoint:
            raw.execute("PRAGMA wal_autocheckpoint=0")
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute(f"ATTACH ':memory:' AS {STAGE_SCHEMA}")
        yield wal
    finally:
        try:
            if any(row[1] == STAGE_SCHEMA for row in raw.execute("PRAGMA database_list")):
                raw.execute(f"DETACH {STAGE_SCHEMA}")
            for name, value in saved.items():
                raw.execute(f"PRAGMA {name}={value}")
            restored = int(raw.execute("PRAGMA foreign_keys").fetchone()[0]) == saved["foreign_keys"]
        except Exception:
            restored = False
        if not restored:  # e.g. still inside a transaction: never pool a connection without its settings
            conn.invalidate()


def sqlite_checkpoint(engine: Engine) -> None:
    """Copy the WAL into the database file (PASSIVE: never waits for, nor blocks, readers or writers)."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


class _SqliteChunk(NamedTuple):
    columns: tuple[str, ...]  # the feedback columns written for this chunk (all but the all-null ones)
    frame: pl.DataFrame  # those columns of the chunk's rows
    image: bytes | None  # the same rows as a SQLite database image (sqlite_stage.py); None: bind them


# Below this many rows a chunk's values are bound as Python objects instead: an image has a fixed cost
# of a few milliseconds (a scratch file, the driver's connection), as much as binding ~1,000 rows, and
# a survey answer or an API post is one to a few rows.
_IMAGE_MIN_ROWS = 1_000


class SqliteFeedbackWriter:
    """Each chunk's rows as a SQLite database image, built in the read-ahead thread by ADBC's SQLite
    driver (`prepare`), then loaded into the attached in-memory schema ``cx_stage`` and copied into
    feedback with one INSERT ... SELECT (`write`): no Python object per value on either side, and the
    importer's connection does only SQLite's own work. Needs `sqlite_import_session` around the batch.
    A chunk of fewer than `_IMAGE_MIN_ROWS` rows is bound with executemany instead.
    Each chunk's comments go into the search index in the same transaction (search.BatchIndexer).

    The source and batch ids are the same for every row, so they are written into the statement as
    integer literals. Rows are copied in the chunk's order, so of two rows with one dedup key the
    first is stored, as the columnar copy's stager expects.
    """

    def __init__(
        self, conn: Connection, *, source_id: int, batch_id: int, rating_scale: int, expected_rows: int = 0
    ) -> None:
        self._conn = conn
        self._ids = (int(source_id), int(batch_id))
        self._rating_scale = rating_scale
        self._dropped = drop_indexes_for_bulk(conn, expected_rows, keep=_SQLITE_APPEND_INDEXES)
        self._search = BatchIndexer(conn, expected_rows)

    def close(self) -> int:
        restore_indexes(self._conn, self._dropped)
        self._dropped = []
        self._search.finish(self._conn)
        return 0

    def prepare(self, rows: pl.DataFrame) -> _SqliteChunk:
        frame = rows.with_columns(
            pl.when(pl.col("rating").is_not_null())
            .then(pl.lit(self._rating_scale, dtype=pl.Int16))
            .otherwise(None)
            .alias("rating_scale"),
            pl.col("received_at").dt.strftime(_SQLITE_DATETIME),
        )
        # Less to write and copy: leave out the columns that are empty in this chunk.
        columns = tuple(c for c in _SQLITE_WRITTEN_COLUMNS if frame[c].null_count() < frame.height)
        frame = frame.select(columns)
        image = stage_image(frame) if frame.height >= max(_IMAGE_MIN_ROWS, 1) else None
        return _SqliteChunk(columns, frame, image)

    def write(self, prepared: _SqliteChunk) -> int:
        columns, frame, image = prepared
        if frame.height == 0:
            return 0
        raw = self._conn.connection.driver_connection
        assert raw is not None
        names = ", ".join(f'"{c}"' for c in columns)
        source_id, batch_id = self._ids
        into = f"INSERT INTO feedback (source_id, batch_id, {names})"
        if image is None:
            values = ", ".join(["?"] * len(columns))
            cursor = raw.executemany(
                f"{into} VALUES ({source_id}, {batch_id}, {values}) "
                "ON CONFLICT (source_id, dedup_key) DO NOTHING",
                frame.iter_rows(),
            )
        else:
            raw.deserialize(image, name=STAGE_SCHEMA)
            # WHERE true: without it SQLite would read ON CONFLICT as a join constraint of the SELECT.
            cursor = raw.execute(
                f"{into} SELECT {source_id}, {batch_id}, {names} FROM {STAGE_SCHEMA}.{STAGE_TABLE} "
                "WHERE true ORDER BY rowid ON CONFLICT (source_id, dedup_key) DO NOTHING"
            )
        try:
            inserted = int(cursor.rowcount)
        finally:
            cursor.close()
        if inserted and self._search.active:
            self._search.add(self._conn, int(self._conn.execute(select(func.max(Feedback.id))).scalar() or 0))
        return inserted


def feedback_writer(
    conn: Connection, *, source_id: int, batch_id: int, rating_scale: int, expected_rows: int = 0
) -> FeedbackWriter:
    if conn.dialect.name == "postgresql":
        from cxchange.listen.pg_copy import PostgresFeedbackWriter

        cls: type[SqliteFeedbackWriter] | type[PostgresFeedbackWriter] = PostgresFeedbackWriter
    else:
        cls = SqliteFeedbackWriter
    return cls(
        conn, source_id=source_id, batch_id=batch_id, rating_scale=rating_scale, expected_rows=expected_rows
    )


def write_rejects(conn: Connection, batch_id: int, rejects: Rejects, *, kind: str = REJECT) -> None:
    """Rejected rows, or (kind "warning") rows stored with a note, each with its reason and raw row."""
    if not len(rejects):
        return
    conn.execute(
        insert(RejectedRow),
        [
            {"batch_id": batch_id, "kind": kind, "row_number": r, "column": c, "reason": why, "raw": raw}
            for r, c, why, raw in zip(
                rejects.row_numbers, rejects.columns, rejects.reasons, rejects.raws, strict=True
            )
        ],
    )
