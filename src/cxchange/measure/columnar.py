"""A columnar copy of feedback for fast scoring on SQLite.

SQLite stores rows: every GROUP BY over a million feedback rows reads every row's text too, and
pulls attributes out of JSON one row at a time. This module keeps, beside the database file, a
Parquet copy of the columns that scores group and filter on (attributes already unpacked into
`attr:NAME` columns) and answers the same (group keys, value, count) aggregate with polars.

Feedback rows are written once and never updated (imports only add rows; deletions are allowed),
so the copy is refreshed from the database's own numbers: a new part for ids above the last one
seen, or a rebuild when rows were removed. PostgreSQL does not need it and never uses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, bindparam, column, func, select

from cxchange.listen.models import Feedback, FeedbackChanges, Source

STATE_FILE = "state.json"
FORMAT_VERSION = 2
_COLUMNS = (
    "id",
    "source_id",
    "received_at",
    "org_unit_id",
    "channel",
    "customer_id",
    "language",
    "external_id",
    "nps",
    "csat",
    "ces",
    "rating",
    "attributes",
)
_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "source_id": pl.Int64,
    "received_at": pl.Datetime("us"),
    "org_unit_id": pl.Int64,
    "channel": pl.String,
    "customer_id": pl.String,
    "language": pl.String,
    "external_id": pl.String,
    "nps": pl.Float64,
    "csat": pl.Float64,
    "ces": pl.Float64,
    "rating": pl.Float64,
    "attributes": pl.String,
}
_FETCH_ROWS = 200_000


def cache_dir(engine: Engine) -> Path | None:
    """Where the copy lives: beside a SQLite file database; None for anything else."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".columns")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _empty_state() -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "max_id": 0, "changes": 0, "parts": []}


def _read_state(directory: Path) -> dict[str, Any]:
    try:
        state = json.loads((directory / STATE_FILE).read_text())
    except (OSError, ValueError):
        return _empty_state()
    return state if state.get("version") == FORMAT_VERSION else _empty_state()


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    tmp = directory / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, directory / STATE_FILE)


def _unpack_attributes(frame: pl.DataFrame) -> pl.DataFrame:
    """attributes JSON -> one String column per key, named attr:KEY."""
    attrs = frame.get_column("attributes")
    frame = frame.drop("attributes")
    if attrs.null_count() == len(attrs):
        return frame
    decoded = attrs.str.json_decode(infer_schema_length=None)
    if not isinstance(decoded.dtype, pl.Struct):
        return frame
    fields = decoded.struct.unnest()
    return frame.with_columns(
        fields.get_column(name).cast(pl.String).alias(f"attr:{name}") for name in fields.columns
    )


def _fetch_part(engine: Engine, after_id: int, up_to_id: int) -> Iterator[pl.DataFrame]:
    """Rows above `after_id`, through the raw sqlite3 cursor: SQLAlchemy's per-row type processing
    (datetimes, JSON) would cost more than the copy saves. The SQL is compiled from the model."""
    stmt = select(*(column(c) for c in _COLUMNS)).select_from(Feedback.__table__)
    # Bounded above too: rows committed after the signature was read wait for the next refresh.
    stmt = stmt.where(column("id") > bindparam("after"), column("id") <= bindparam("upto")).order_by(
        column("id")
    )
    sql = str(stmt.compile(dialect=engine.dialect))
    schema = {**_SCHEMA, "received_at": pl.String}
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, (after_id, up_to_id))
            while rows := cursor.fetchmany(_FETCH_ROWS):
                frame = pl.DataFrame(rows, schema=schema, orient="row", strict=False)
                frame = frame.with_columns(
                    pl.col("received_at").str.to_datetime(
                        "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"
                    )
                ).with_columns(pl.col("received_at").cast(pl.Date).alias("__day"))
                yield _unpack_attributes(frame)
        finally:
            cursor.close()


def refresh(engine: Engine, directory: Path) -> list[Path]:
    """Bring the copy up to date with the database; returns the Parquet parts to scan.

    The signature is (highest id, number of deletions and updates): both are single-row reads, so
    a fresh copy costs two index look-ups, not a count of a million rows.
    """
    with engine.connect() as conn:
        max_id = conn.execute(select(func.max(Feedback.id))).scalar() or 0
        changes = conn.execute(select(FeedbackChanges.changes).where(FeedbackChanges.id == 1)).scalar() or 0
    with _locked(directory):
        state = _read_state(directory)
        if (max_id, changes) == (state["max_id"], state["changes"]):
            return [directory / p for p in state["parts"]]
        if changes != state["changes"] or max_id < state["max_id"]:
            for part in state["parts"]:  # rows were removed or changed: start again
                (directory / part).unlink(missing_ok=True)
            state = _empty_state()
        start = len(state["parts"])
        for i, frame in enumerate(_fetch_part(engine, state["max_id"], max_id)):
            name = f"part-{start + i:06d}-{os.getpid()}.parquet"
            frame.write_parquet(directory / (name + ".tmp"))
            os.replace(directory / (name + ".tmp"), directory / name)
            state["parts"].append(name)
        state["max_id"], state["changes"] = max_id, changes
        _write_state(directory, state)
        return [directory / p for p in state["parts"]]


def scan(engine: Engine) -> pl.LazyFrame | None:
    """The refreshed copy as one lazy frame, or None where there is no copy (PostgreSQL, memory)."""
    directory = cache_dir(engine)
    if directory is None:
        return None
    parts = refresh(engine, directory)
    if not parts:
        empty = {k: v for k, v in _SCHEMA.items() if k != "attributes"}
        return pl.LazyFrame(schema={**empty, "__day": pl.Date})
    return pl.concat([pl.scan_parquet(p) for p in parts], how="diagonal_relaxed")


def source_names(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {r.id: r.name for r in conn.execute(select(Source.id, Source.name))}
