"""Bulk writes of validated feedback on PostgreSQL: COPY into a staging table, one set-based INSERT.

Validation, de-duplication keys and redaction happen in polars before anything reaches the server
(listen/validate.py, listen/redact.py), exactly as for SQLite; the server only stores. Each chunk is
COPied (CSV, written by polars) into a temporary staging table, which costs about what `psql \\copy`
costs; when the last chunk is in, one `INSERT … SELECT … ON CONFLICT (source_id, dedup_key) DO NOTHING`
moves the rows into feedback, inside the batch's transaction, so the batch is all or nothing.

Duplicates inside the file: the staging table is temporary (local buffers: never a synchronised or a
parallel scan), so the INSERT reads it in COPY order and the first row of a key wins, as on SQLite.

The search index (migration 0013) is an expression index over feedback.text that PostgreSQL maintains
on insert, so it is current when the batch commits (kept in place: measured, building it again after
a first load cost as much as maintaining it, or more). For a first load into an empty table the btree
indexes other than the unique key, and the foreign keys, are dropped and added back, sorted and
set-based, after the insert (still inside the transaction, so still all or nothing). Afterwards the
planner's statistics are brought up to date by the import (ANALYZE) when the batch changed the table
noticeably, so the first query after an import is planned on the real table, not an empty one.
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from sqlalchemy import Connection, column, select, table, text
from sqlalchemy.dialects import postgresql

from cxchange.core.planner_stats import refresh_if_grown
from cxchange.listen import rollup
from cxchange.listen.models import Feedback
from cxchange.listen.store import FEEDBACK_COLUMNS, drop_indexes_for_bulk, restore_indexes

STAGE = "feedback_stage"
# Memory for building the indexes again after a first load (per server process, this transaction only).
_BUILD_MEMORY = "256MB"
# Chunks' roll-up entries are merged into one frame every this many chunks.
_MERGE_EVERY = 4


class PostgresFeedbackWriter:
    """COPY every chunk into one staging table; `close` moves them into feedback in one statement."""

    def __init__(
        self, conn: Connection, *, source_id: int, batch_id: int, rating_scale: int, expected_rows: int = 0
    ) -> None:
        self._conn = conn
        self._ids = (source_id, batch_id, rating_scale)
        cols = ", ".join(FEEDBACK_COLUMNS)
        create = f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ON COMMIT DROP AS SELECT {cols} FROM feedback"
        conn.execute(text(create + " WITH NO DATA"))
        conn.execute(text(f"TRUNCATE {STAGE}"))  # a stage left by an earlier batch on this connection
        self._copy_sql = f"COPY {STAGE} ({cols}) FROM STDIN (FORMAT csv)"
        stage = table(STAGE, *[column(c) for c in FEEDBACK_COLUMNS])
        stmt = (
            postgresql.insert(Feedback.__table__)
            .from_select(list(FEEDBACK_COLUMNS), select(*stage.c))
            .on_conflict_do_nothing(index_elements=["source_id", "dedup_key"])
        )
        self._insert_sql = str(stmt.compile(dialect=postgresql.dialect()))
        self._dropped = drop_indexes_for_bulk(conn, expected_rows, only_if_empty=True)
        # A first load: the foreign keys too are checked once, set-based, when added back at the end
        # (per row they cost about three times the insert itself: one trigger query per key per row).
        self._foreign_keys = _drop_foreign_keys(conn) if self._dropped else []
        self.staged = 0  # chunks
        self.staged_rows = 0
        self._partials: list[pl.DataFrame] | None = []  # None: count the batch in SQL instead

    def prepare(self, rows: pl.DataFrame) -> tuple[bytes, int, pl.DataFrame | None]:
        """CSV for the COPY and the chunk's roll-up entries (CPU work, in the importer's read-ahead)."""
        if rows.height == 0:
            return b"", 0, None
        frame = rows.with_columns(
            pl.lit(self._ids[0], dtype=pl.Int64).alias("source_id"),
            pl.lit(self._ids[1], dtype=pl.Int64).alias("batch_id"),
            pl.when(pl.col("rating").is_not_null())
            .then(pl.lit(self._ids[2], dtype=pl.Int16))
            .otherwise(None)
            .alias("rating_scale"),
        ).select(FEEDBACK_COLUMNS)
        buf = io.BytesIO()
        frame.write_csv(buf, include_header=False, null_value="", datetime_format="%Y-%m-%d %H:%M:%S.%6f")
        return buf.getvalue(), rows.height, rollup.partial_counts(rows, self._ids[0])

    def write(self, prepared: tuple[bytes, int, pl.DataFrame | None]) -> int:
        """Stage a chunk. Nothing is in feedback yet: the rows are counted by `close`."""
        data, rows, partial = prepared
        if not data:
            return 0
        raw: Any = self._conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(self._copy_sql) as copy:
            copy.write(data)
        self.staged += 1
        self.staged_rows += rows
        if self._partials is not None and partial is not None:
            self._partials.append(partial)
            if len(self._partials) >= _MERGE_EVERY:  # memory stays flat over a long import
                self._partials = [rollup.merge_partials(self._partials)]
        else:
            self._partials = None
        return 0

    def close(self) -> int:
        """Insert the staged rows (duplicates skipped), rebuild dropped indexes, refresh statistics.
        Returns how many rows were new."""
        inserted = 0
        raw: Any = self._conn.connection.driver_connection
        if self.staged:
            # Deletions made the roll-up stale: counted again from feedback before this batch's rows.
            rollup.ensure_current(self._conn)
            with raw.cursor() as cur:
                cur.execute(self._insert_sql)
                inserted = int(cur.rowcount)
                cur.execute(f"TRUNCATE {STAGE}")
            self._add_to_rollup(inserted)
        if self._dropped or self._foreign_keys:
            self._conn.execute(text(f"SET LOCAL maintenance_work_mem = '{_BUILD_MEMORY}'"))
            restore_indexes(self._conn, self._dropped)
            _add_foreign_keys(self._conn, self._foreign_keys)
            self._dropped, self._foreign_keys = [], []
        refresh_if_grown(self._conn, "feedback", inserted)
        return inserted

    def _add_to_rollup(self, inserted: int) -> None:
        """The score roll-up (listen/rollup.py) counts the batch's new rows before the commit."""
        if not inserted:
            return
        if inserted == self.staged_rows and self._partials is not None:  # every staged row is new
            rollup.add_counts(self._conn, rollup.merge_partials(self._partials))
        else:
            rollup.add_batch(self._conn, self._ids[1])


def _drop_foreign_keys(conn: Connection) -> list[tuple[str, str]]:
    """Drop feedback's foreign keys; returns (name, definition) of each, as the catalog has them."""
    found = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'feedback'::regclass AND contype = 'f' ORDER BY conname"
        )
    ).all()
    quote = conn.dialect.identifier_preparer.quote
    for name, _ in found:
        conn.execute(text(f"ALTER TABLE feedback DROP CONSTRAINT {quote(name)}"))  # a catalog name
    return [(str(name), str(definition)) for name, definition in found]


def _add_foreign_keys(conn: Connection, keys: list[tuple[str, str]]) -> None:
    """Add them back: each is validated by one join over the table, and a bad key fails the batch."""
    quote = conn.dialect.identifier_preparer.quote
    for name, definition in keys:  # the catalog's own text (pg_get_constraintdef), never user input
        conn.execute(text(f"ALTER TABLE feedback ADD CONSTRAINT {quote(name)} {definition}"))
