"""Bulk writes of validated feedback on PostgreSQL: COPY, and set-based work after it.

Validation, de-duplication keys and redaction happen in polars before anything reaches the server
(listen/validate.py, listen/redact.py), exactly as for SQLite; the server only stores. Everything
happens inside the batch's transaction, so the batch is all or nothing (DDL included).

Two paths (where the time goes: bench/pg_import_phases.py, results in bench/results/):

* A first load (a large batch into an empty table): the table is locked, every index (the primary key
  too) and every foreign key (those of other tables pointing at it too, which locks those tables for
  the batch: a first load happens once, on a new database) are dropped, each chunk is COPied straight
  into feedback, then the indexes are built again, sorted and set-based, the foreign keys checked by
  one join each. The former path
  (COPY into a stage, then INSERT … ON CONFLICT with the indexes in place) paid for a second pass over
  the rows, the speculative insertion of ON CONFLICT and the search index's GIN entries row by row
  (twice the WAL of building it); building the search index is still most of the work (its expression,
  regexp_replace and to_tsvector over every comment, a third of that), but it is done once, set-based.
  Duplicates inside the file show up when the unique key is built: then the later rows of a key are
  deleted (ids follow the file's order, so the first row of a key wins, as on SQLite) and it is built
  again. The search index is current when the batch commits.
* Any other batch: each chunk is COPied into a temporary staging table, then one `INSERT … SELECT …
  ON CONFLICT (source_id, dedup_key) DO NOTHING` moves the rows into feedback, so rows already stored
  (a re-run) or stored by a concurrent import are skipped, never doubled. The staging table is
  temporary (local buffers: never a synchronised or a parallel scan), so the INSERT reads it in COPY
  order and the first row of a key wins.

Chunks travel in COPY's binary format, encoded from the importer's Arrow columns by pgpq (Rust): the
server then parses no text (timestamps, numbers, JSON's outer quoting), which cut its COPY time by
about 40 % against CSV on the same rows (bench/pg_import_phases.py, `levers`). Each column's type is
read from the catalog, so the encoded row always matches the table (binary COPY has no casts).

Afterwards the planner's statistics are brought up to date by the import (ANALYZE) when the batch
changed the table noticeably, so the first query after an import is planned on the real table.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import polars as pl
import pyarrow as pa
from pgpq import ArrowToPostgresBinaryEncoder
from pgpq import encoders as pgpq_encoders
from pgpq import schema as pgpq_schema
from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, column, select, table, text
from sqlalchemy.dialects import postgresql

from cxchange.core.planner_stats import planner_rows, refresh_if_grown
from cxchange.listen import rollup
from cxchange.listen.models import Feedback
from cxchange.listen.store import FEEDBACK_COLUMNS, worth_rebuilding_indexes

STAGE = "feedback_stage"
# Memory for building the indexes again after a first load (per server process, this transaction only).
BUILD_MEMORY = "256MB"
# The polars type each PostgreSQL column type of feedback is sent as (binary COPY: exactly the column's).
_WIRE_TYPES: dict[str, pl.DataType] = {
    "smallint": pl.Int16(),
    "integer": pl.Int32(),
    "bigint": pl.Int64(),
    "real": pl.Float32(),
    "double precision": pl.Float64(),
    "text": pl.String(),
    "character varying": pl.String(),
    "jsonb": pl.String(),  # the JSON text, sent as jsonb (version byte + text)
    "timestamp without time zone": pl.Datetime("us"),
}
_COLUMN_TYPES = """
SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a
WHERE a.attrelid = 'feedback'::regclass AND a.attnum > 0 AND NOT a.attisdropped"""
# Chunks' roll-up entries are merged into one frame every this many chunks.
_MERGE_EVERY = 4

# feedback's primary key, unique constraints, plain indexes (the search index among them) and foreign
# keys, and the foreign keys of other tables that point at it (they hang on the primary key), with the
# catalog's own definitions: everything a first load drops and builds again. The primary key too: kept
# during the COPY, its btree took a fifth of the COPY's time and half its WAL (bench/pg_import_phases.py,
# `levers`: copy_csv_ids_given against copy_csv_ids_given_no_primary_key + primary_key_build).
_REBUILT = """
SELECT 'primary key' AS kind, c.conname AS name, pg_get_constraintdef(c.oid) AS definition,
       'feedback' AS tbl
FROM pg_constraint c WHERE c.conrelid = 'feedback'::regclass AND c.contype = 'p'
UNION ALL
SELECT 'unique', c.conname, pg_get_constraintdef(c.oid), 'feedback'
FROM pg_constraint c WHERE c.conrelid = 'feedback'::regclass AND c.contype = 'u'
UNION ALL
SELECT 'index', r.relname, pg_get_indexdef(i.indexrelid), 'feedback'
FROM pg_index i JOIN pg_class r ON r.oid = i.indexrelid
WHERE i.indrelid = 'feedback'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid)
UNION ALL
SELECT 'foreign key', c.conname, pg_get_constraintdef(c.oid), 'feedback'
FROM pg_constraint c WHERE c.conrelid = 'feedback'::regclass AND c.contype = 'f'
UNION ALL
SELECT 'referencing', c.conname, pg_get_constraintdef(c.oid), c.conrelid::regclass::text
FROM pg_constraint c
WHERE c.confrelid = 'feedback'::regclass AND c.contype = 'f' AND c.conrelid <> c.confrelid
ORDER BY 1, 2, 4"""
# Dropped in this order (what points at the primary key before it), built again in the reverse.
_DROP_ORDER = ("referencing", "foreign key", "index", "unique", "primary key")

# The later rows of a key within this batch (ids follow COPY order, i.e. the file's: the first row wins).
_LATER_DUPLICATES = """
DELETE FROM feedback f USING (
    SELECT id FROM (
        SELECT id, batch_id,
               row_number() OVER (PARTITION BY source_id, dedup_key ORDER BY id) AS nth
        FROM feedback WHERE source_id = :source
    ) keyed WHERE nth > 1 AND batch_id = :batch
) later WHERE f.id = later.id"""


class _Rebuilt(NamedTuple):
    kind: str  # one of _DROP_ORDER
    name: str
    definition: str  # pg_get_constraintdef / pg_get_indexdef: the catalog's text, never user input
    table: str  # feedback, or the table of a foreign key that points at it (regclass text: quoted)


class PostgresFeedbackWriter:
    """COPY every chunk (into feedback on a first load, else into a staging table); `close` does the
    set-based rest: indexes and foreign keys, or the one INSERT from the stage."""

    def __init__(
        self, conn: Connection, *, source_id: int, batch_id: int, rating_scale: int, expected_rows: int = 0
    ) -> None:
        self._conn = conn
        self._ids = (source_id, batch_id, rating_scale)
        cols = ", ".join(FEEDBACK_COLUMNS)
        # Read before the batch: rebuilding indexes after a first load updates reltuples itself.
        self._planner = planner_rows(conn, "feedback")
        self._rebuilt: list[_Rebuilt] = []
        self.first_load = _claim_first_load(conn, expected_rows)
        if self.first_load:
            # Before any of this batch's rows is in feedback: a roll-up made stale by deletions is counted
            # again from the rows already stored, and this batch's rows are added by `close`.
            rollup.ensure_current(conn)
            self._rebuilt = _drop_rebuilt(conn)
            self._copy_sql = f"COPY feedback ({cols}) FROM STDIN (FORMAT binary)"
        else:
            create = f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ON COMMIT DROP AS SELECT {cols} FROM feedback"
            conn.execute(text(create + " WITH NO DATA"))
            conn.execute(text(f"TRUNCATE {STAGE}"))  # a stage left by an earlier batch on this connection
            self._copy_sql = f"COPY {STAGE} ({cols}) FROM STDIN (FORMAT binary)"
        stage = table(STAGE, *[column(c) for c in FEEDBACK_COLUMNS])
        stmt = (
            postgresql.insert(Feedback.__table__)
            .from_select(list(FEEDBACK_COLUMNS), select(*stage.c))
            .on_conflict_do_nothing(index_elements=["source_id", "dedup_key"])
        )
        self._insert_sql = str(stmt.compile(dialect=postgresql.dialect()))
        self._wire = wire_types(conn)
        self.staged = 0  # chunks
        self.staged_rows = 0
        self._partials: list[pl.DataFrame] | None = []  # None: count the batch in SQL instead

    def prepare(self, rows: pl.DataFrame) -> tuple[bytes, int, pl.DataFrame | None]:
        """The binary COPY data and the chunk's roll-up entries (CPU work, in the importer's read-ahead)."""
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
        return binary_copy(frame, self._wire), rows.height, rollup.partial_counts(rows, self._ids[0])

    def write(self, prepared: tuple[bytes, int, pl.DataFrame | None]) -> int:
        """COPY a chunk. Rows are counted by `close` (duplicates are known only there)."""
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
        """Finish the batch: indexes, duplicates and foreign keys after a first load, else the INSERT
        from the stage; then the roll-up and the statistics. Returns how many rows were new."""
        inserted = 0
        if self.first_load:
            inserted = self._finish_first_load()
        elif self.staged:
            # Deletions made the roll-up stale: counted again from feedback before this batch's rows.
            rollup.ensure_current(self._conn)
            raw: Any = self._conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(self._insert_sql)
                inserted = int(cur.rowcount)
                cur.execute(f"TRUNCATE {STAGE}")
        self._add_to_rollup(inserted)
        refresh_if_grown(self._conn, "feedback", inserted, believed=self._planner)
        return inserted

    def _finish_first_load(self) -> int:
        """Build the primary key, the unique key (dropping the later rows of a duplicated key if it
        fails), the other indexes, then check the foreign keys. Returns the rows kept."""
        conn = self._conn
        conn.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
        _restore(conn, [r for r in self._rebuilt if r.kind == "primary key"])
        unique = [r for r in self._rebuilt if r.kind == "unique"]
        duplicates = 0
        try:
            with conn.begin_nested():
                _restore(conn, unique)
        except UniqueViolation:  # raised by the driver: the DDL runs on its cursor (`_ddl`)
            duplicates = _delete_later_duplicates(conn, *self._ids[:2])
            _restore(conn, unique)  # a violation left now is not a duplicate key of ours: the batch fails
        _restore(conn, [r for r in self._rebuilt if r.kind == "index"])
        _restore(conn, [r for r in self._rebuilt if r.kind == "foreign key"])
        _restore(conn, [r for r in self._rebuilt if r.kind == "referencing"])  # nothing to check: empty
        self._rebuilt = []
        return self.staged_rows - duplicates

    def _add_to_rollup(self, inserted: int) -> None:
        """The score roll-up (listen/rollup.py) counts the batch's new rows before the commit."""
        if not inserted:
            return
        if inserted == self.staged_rows and self._partials is not None:  # every staged row is new
            rollup.add_counts(self._conn, rollup.merge_partials(self._partials))
        else:
            rollup.add_batch(self._conn, self._ids[1])


def wire_types(conn: Connection) -> dict[str, tuple[pl.DataType, bool]]:
    """Each feedback column's polars type for binary COPY, and whether it is jsonb (from the catalog)."""
    out: dict[str, tuple[pl.DataType, bool]] = {}
    for name, pg_type in conn.execute(text(_COLUMN_TYPES)).all():
        if name in FEEDBACK_COLUMNS:
            if pg_type not in _WIRE_TYPES:  # a migration changed a column to a type not mapped here
                raise RuntimeError(f"feedback.{name} is {pg_type}: no binary COPY type for it in pg_copy.py")
            out[str(name)] = (_WIRE_TYPES[pg_type], pg_type == "jsonb")
    return out


def binary_copy(frame: pl.DataFrame, wire: dict[str, tuple[pl.DataType, bool]]) -> bytes:
    """`frame` as the data of one `COPY … FROM STDIN (FORMAT binary)`: header, rows, trailer. Each
    column cast to its table column's type (a naive timestamp keeps its wall-clock time, as the text
    form did), then encoded by pgpq from Arrow."""
    casts = []
    for name in frame.columns:
        dtype, _ = wire[name]
        col = pl.col(name)
        current = frame.schema[name]
        if isinstance(current, pl.Datetime) and current.time_zone is not None:
            col = col.dt.replace_time_zone(None)
        casts.append(col.cast(dtype))
    table_ = frame.select(casts).to_arrow(compat_level=pl.CompatLevel.oldest())
    builders: dict[str, Any] = {}
    for field in table_.schema:
        if wire[field.name][1]:
            builder = (
                pgpq_encoders.LargeStringEncoderBuilder
                if pa.types.is_large_string(field.type)
                else pgpq_encoders.StringEncoderBuilder
            )
            builders[field.name] = builder.new_with_output(field, pgpq_schema.Jsonb())
        else:
            builders[field.name] = ArrowToPostgresBinaryEncoder.infer_encoder(field)
    encoder = ArrowToPostgresBinaryEncoder.new_with_encoders(table_.schema, builders)
    parts = [encoder.write_header()]
    parts += [encoder.write_batch(batch) for batch in table_.to_batches()]
    parts.append(encoder.finish())
    return b"".join(parts)


def _claim_first_load(conn: Connection, expected_rows: int) -> bool:
    """A large batch into an empty feedback table: lock it (DROP INDEX would anyway) and check it is
    still empty, since another first load may have committed while this one waited for the lock."""
    if not worth_rebuilding_indexes(conn, expected_rows, only_if_empty=True):
        return False
    conn.execute(text("LOCK TABLE feedback IN ACCESS EXCLUSIVE MODE"))
    return not conn.execute(text("SELECT EXISTS (SELECT 1 FROM feedback)")).scalar()


def _drop_rebuilt(conn: Connection) -> list[_Rebuilt]:
    """Drop feedback's keys, plain indexes and foreign keys, and the foreign keys pointing at it;
    returns them as the catalog has them."""
    found = [_Rebuilt(str(k), str(n), str(d), str(t)) for k, n, d, t in conn.execute(text(_REBUILT)).all()]
    found.sort(key=lambda item: _DROP_ORDER.index(item.kind))
    quote = conn.dialect.identifier_preparer.quote
    for item in found:  # catalog names; a table's name is regclass text, already quoted where needed
        if item.kind == "index":
            _ddl(conn, f"DROP INDEX {quote(item.name)}")
        else:
            _ddl(conn, f"ALTER TABLE {item.table} DROP CONSTRAINT {quote(item.name)}")
    return found


def _restore(conn: Connection, items: list[_Rebuilt]) -> None:
    """Build them again: an index sorted in one pass, a foreign key validated by one join."""
    quote = conn.dialect.identifier_preparer.quote
    for item in items:
        if item.kind == "index":
            _ddl(conn, item.definition)
        else:
            _ddl(conn, f"ALTER TABLE {item.table} ADD CONSTRAINT {quote(item.name)} {item.definition}")


def _delete_later_duplicates(conn: Connection, source_id: int, batch_id: int) -> int:
    """Delete the later rows of each key the file holds more than once; returns how many.

    The rows were never visible outside this transaction, so their deletion is not a change of stored
    feedback: the statement trigger that marks derived copies stale (migration 0016) is off meanwhile.
    The table is locked by this transaction (`_claim_first_load`), so nobody else sees it off."""
    triggers = conn.execute(
        text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'feedback'::regclass AND NOT tgisinternal "
             "AND tgenabled <> 'D'")
    ).scalars().all()  # fmt: skip
    quote = conn.dialect.identifier_preparer.quote
    for name in triggers:
        conn.execute(text(f"ALTER TABLE feedback DISABLE TRIGGER {quote(name)}"))
    deleted = conn.execute(text(_LATER_DUPLICATES), {"source": source_id, "batch": batch_id}).rowcount
    for name in triggers:
        conn.execute(text(f"ALTER TABLE feedback ENABLE TRIGGER {quote(name)}"))
    return int(deleted)


def _ddl(conn: Connection, sql: str) -> None:
    """A statement from the catalog's text, run as is: no parameters, so a colon or a percent sign in
    an index expression (e.g. '[^[:alnum:]]+') is never read as a placeholder."""
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(sql)
