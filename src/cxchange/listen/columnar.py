"""A columnar copy of feedback for fast scoring on SQLite.

SQLite stores rows: every GROUP BY over a million feedback rows reads every row's text too, and
pulls attributes out of JSON one row at a time. This module keeps, beside the database file, a
Parquet copy of the columns that scores group and filter on (attributes already unpacked into
`attr:NAME` columns) and answers the same (group keys, value, count) aggregate with polars.

Feedback rows are written once and never updated (imports only add rows; deletions are allowed), so
the copy follows the database's own numbers (highest id, `feedback_changes` counter) and its identity
(`store_identity`, a random id made with the database), so a file replaced by another database, or
restored from a backup, never answers from the copy made for the one before:

- an import writes the rows it stores into Parquet parts of a staging folder as it goes (its own
  frames: the ids are known after each chunk's write) and publishes them right after its commit, a
  rename and a state update (`CopyStager`), so the first query after an import finds the copy current;
- a reader never extends the copy for long (`snapshot`): a short tail of new ids it appends itself; a
  longer one it answers from the copy plus SQL over the rows not yet in it, and a background thread
  extends the copy; after deletions or edits it answers from SQL while a background thread rebuilds.

PostgreSQL does not need it and never uses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl
from sqlalchemy import Connection, Engine, Select, bindparam, column, func, select

from cxchange.core.faults import fault_point
from cxchange.core.processes import pid_alive
from cxchange.core.tables import store_identity
from cxchange.listen.tables import feedback, feedback_changes, source

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
FORMAT_VERSION = 3  # 3: the state names the database it was made from (`store`)
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
# A reader appends at most this many new ids itself (~0.1 s); beyond it, copy + SQL for the rest.
INLINE_ROWS = 20_000
# More parts than this (many small imports) are merged into one by the import that adds the last.
MAX_PARTS = 64
# How long a reader waits for an import that has committed to publish its staged parts (milliseconds
# of work), and for the copy's lock, before answering without them.
WAIT_SECONDS = 0.5
# The copy's attribute columns, as `--by attr:NAME` names them; an import's rows arrive with them
# (validate.ATTRIBUTE_PREFIX, not imported: validation's modules would cost every `scores` start-up).
ATTRIBUTE_PREFIX = "attr:"
# LZ4 rather than polars' default zstd: a third less CPU to write (the import writes every row), as
# fast to scan; the files are about twice as large, ~30 MB a million rows.
COMPRESSION: Final = "lz4"


def cache_dir(engine: Engine) -> Path | None:
    """Where the copy lives: beside a SQLite file database; None for anything else."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".columns")


@contextlib.contextmanager
def _locked(directory: Path, timeout: float | None = None) -> Iterator[bool]:
    """The copy's lock (shared by processes); yields False when `timeout` passed without getting it."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as fh:
        if timeout is None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.01)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _empty_state(store: str = "") -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "store": store, "max_id": 0, "changes": 0, "parts": []}


def _read_state(directory: Path) -> dict[str, Any]:
    try:
        state = json.loads((directory / STATE_FILE).read_text())
    except (OSError, ValueError):
        return _empty_state()
    return state if state.get("version") == FORMAT_VERSION else _empty_state()


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    tmp = directory / f"{STATE_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, directory / STATE_FILE)


def _part_name(state: dict[str, Any]) -> str:
    # Unique across processes and rebuilds: old parts are deleted only after the new state is written.
    return f"part-{len(state['parts']):06d}-{uuid.uuid4().hex[:12]}.parquet"


def _signature(conn: Connection) -> tuple[str, int, int]:
    """(the database's identity, highest id, deletions and updates counter): single-row reads."""
    store = conn.execute(select(store_identity.c.store_id).where(store_identity.c.id == 1)).scalar() or ""
    max_id = conn.execute(select(func.max(feedback.c.id))).scalar() or 0
    changes = conn.execute(select(feedback_changes.c.changes).where(feedback_changes.c.id == 1)).scalar() or 0
    return str(store), int(max_id), int(changes)


def _db_signature(engine: Engine) -> tuple[str, int, int]:
    with engine.connect() as conn:
        return _signature(conn)


def _unpack_attributes(frame: pl.DataFrame) -> pl.DataFrame:
    """attributes JSON -> one String column per key, named attr:KEY (rows read back from the database)."""
    attrs = frame.get_column("attributes")
    frame = frame.drop("attributes")
    if attrs.null_count() == len(attrs):
        return frame
    decoded = attrs.str.json_decode(infer_schema_length=None)
    if not isinstance(decoded.dtype, pl.Struct):
        return frame
    fields = decoded.struct.unnest()
    return frame.with_columns(
        fields.get_column(name).cast(pl.String).alias(f"{ATTRIBUTE_PREFIX}{name}") for name in fields.columns
    )


def copy_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """Feedback rows (with their ids) as the copy stores them: `_COLUMNS` typed as `_SCHEMA`, a day
    column, attributes unpacked. An import's own rows carry their attributes as columns already
    (validate.ATTRIBUTE_PREFIX): those are taken as they are, without decoding the JSON again."""
    carried = [c for c in rows.columns if c.startswith(ATTRIBUTE_PREFIX)]
    frame = rows.select(
        *[
            (pl.col(c) if c in rows.columns else pl.lit(None)).cast(dtype).alias(c)
            for c, dtype in _SCHEMA.items()
        ],
        *[pl.col(c).cast(pl.String) for c in carried],
    ).with_columns(pl.col("received_at").cast(pl.Date).alias("__day"))
    if carried:
        return frame.drop("attributes")
    return _unpack_attributes(frame)


def _write_part(rows: pl.DataFrame, path: Path) -> None:
    copy_frame(rows).write_parquet(path, compression=COMPRESSION)


def _fetch_part(engine: Engine, after_id: int, up_to_id: int) -> Iterator[pl.DataFrame]:
    """Rows above `after_id`, through the raw sqlite3 cursor: SQLAlchemy's per-row type processing
    (datetimes, JSON) would cost more than the copy saves. The SQL is compiled from the model."""
    # Bounded above too: rows committed after the signature was read wait for the next refresh.
    stmt: Select[*tuple[Any, ...]] = (
        select(*(column(c) for c in _COLUMNS))
        .select_from(feedback)
        .where(column("id") > bindparam("after"), column("id") <= bindparam("upto"))
        .order_by(column("id"))
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


def _extend_from_db(engine: Engine, directory: Path, state: dict[str, Any], up_to_id: int) -> None:
    """Append the rows (state max_id, up_to_id] read back from the database; the state is saved after
    each part, so an interrupted extension keeps what it wrote. Call under the lock."""
    for frame in _fetch_part(engine, state["max_id"], up_to_id):
        name = _part_name(state)
        frame.write_parquet(directory / (name + ".tmp"), compression=COMPRESSION)
        os.replace(directory / (name + ".tmp"), directory / name)
        state["parts"].append(name)
        state["max_id"] = int(frame["id"][-1])
        _write_state(directory, state)
    state["max_id"] = max(state["max_id"], up_to_id)  # ids above the last row read were deleted ones
    _write_state(directory, state)


def _compact(directory: Path, state: dict[str, Any]) -> None:
    """Merge every part into one (under the lock): scanning thousands of small files costs more than
    the rows in them."""
    old = list(state["parts"])
    merged = pl.concat([pl.scan_parquet(directory / p) for p in old], how="diagonal_relaxed").collect()
    state["parts"] = []
    name = _part_name(state)
    merged.write_parquet(directory / (name + ".tmp"), compression=COMPRESSION)
    os.replace(directory / (name + ".tmp"), directory / name)
    state["parts"] = [name]
    _write_state(directory, state)
    for part in old:  # only now: a reader may still be scanning them
        (directory / part).unlink(missing_ok=True)


def _adopt(state: dict[str, Any], store: str, changes: int) -> dict[str, Any]:
    """An empty copy holds no rows, so none can be wrong: it becomes this database's copy."""
    if not state["parts"] and not state["max_id"]:
        state["store"], state["changes"] = store, changes
    return state


def _stale(state: dict[str, Any], store: str, max_id: int, changes: int) -> bool:
    """Another database (a replaced or restored file), or rows deleted or edited since the copy was
    made: its rows may be wrong."""
    return store != state.get("store") or changes != state["changes"] or max_id < state["max_id"]


def _bring_up_to_date(engine: Engine, directory: Path) -> dict[str, Any]:
    """Under the lock: rebuild after deletions or edits, else extend with the rows added since."""
    store, max_id, changes = _db_signature(engine)
    state = _adopt(_read_state(directory), store, changes)
    if _stale(state, store, max_id, changes):
        state = _empty_state(store)
        state["changes"] = changes
        _extend_from_db(engine, directory, state, max_id)
    elif max_id > state["max_id"]:
        _extend_from_db(engine, directory, state, max_id)
    # Only now (a reader may still be scanning them): the parts of a rebuilt copy, and any that a crash
    # between moving a part in and saving the state left unlisted (under the lock, no publish is midway).
    for part in directory.glob("part-*.parquet"):
        if part.name not in state["parts"]:
            part.unlink(missing_ok=True)
    return state


def refresh(engine: Engine, directory: Path) -> list[Path]:
    """Bring the copy up to date with the database, inline, however long it takes; returns the parts."""
    with _locked(directory):
        state = _bring_up_to_date(engine, directory)
    return [directory / p for p in state["parts"]]


_background: dict[Path, threading.Thread] = {}
_background_guard = threading.Lock()


def _refresh_in_background(engine: Engine, directory: Path) -> None:
    """One daemon thread per copy and process; it gives up at once when another holds the lock."""

    def work() -> None:
        try:
            with _locked(directory, timeout=0) as got:
                if got:
                    _bring_up_to_date(engine, directory)
        except Exception as exc:  # the next reader or import tries again
            log.warning("columnar copy refresh failed: %s", exc)

    with _background_guard:
        running = _background.get(directory)
        if running is not None and running.is_alive():
            return
        thread = threading.Thread(target=work, name="cxchange-columnar", daemon=True)
        _background[directory] = thread
        thread.start()


@dataclass(frozen=True)
class Snapshot:
    """What a reader scores from: the copy's parts (every row with id <= `max_id`) and, when it is
    behind, the range of ids (`max_id`, `db_max_id`] to read from the database instead.
    `usable` False: rows were deleted or edited since the copy was made; score from SQL alone."""

    parts: list[Path] = field(default_factory=list)
    max_id: int = 0
    db_max_id: int = 0
    usable: bool = True

    @property
    def behind(self) -> bool:
        return self.db_max_id > self.max_id

    def scan(self) -> pl.LazyFrame:
        if not self.parts:
            empty = {k: v for k, v in _SCHEMA.items() if k != "attributes"}
            return pl.LazyFrame(schema={**empty, "__day": pl.Date})
        return pl.concat([pl.scan_parquet(p) for p in self.parts], how="diagonal_relaxed")


def _staging_dirs(directory: Path) -> list[Path]:
    """Staging folders of imports still running (about to publish); those of imports that died are
    removed (their batch rolled back, or committed and left to the next catch-up)."""
    live = []
    for path in directory.glob("staging-*") if directory.is_dir() else []:
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_dir():
            live.append(path)
    return live


def snapshot(engine: Engine, *, inline: bool = False) -> Snapshot | None:
    """The copy to score from, or None where there is none (PostgreSQL, memory). Never waits long:
    see the module docstring. `inline`: bring the copy fully up to date first (tests, tools)."""
    directory = cache_dir(engine)
    if directory is None:
        return None
    if inline:
        parts = refresh(engine, directory)
        return Snapshot(parts, *(2 * [_read_state(directory)["max_id"]]))
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        # The state first, then the database: an import publishes only after its commit, so the copy
        # is never seen ahead of the database (which would look like deleted rows).
        state = _read_state(directory)
        store, max_id, changes = _db_signature(engine)
        state = _adopt(state, store, changes)
        parts = [directory / p for p in state["parts"]]
        if not _stale(state, store, max_id, changes) and max_id == state["max_id"]:
            return Snapshot(parts, max_id, max_id)
        if _stale(state, store, max_id, changes):
            _refresh_in_background(engine, directory)
            return Snapshot(usable=False, db_max_id=max_id)
        # Behind: an import that has just committed publishes within milliseconds.
        importing = bool(_staging_dirs(directory))
        if not importing or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    if max_id - state["max_id"] <= INLINE_ROWS:
        with _locked(directory, timeout=max(0.0, deadline - time.monotonic())) as got:
            if got:
                state = _bring_up_to_date(engine, directory)
                if not _stale(state, store, max_id, changes):
                    return Snapshot([directory / p for p in state["parts"]], state["max_id"], state["max_id"])
    if not importing:  # else the import publishes these rows itself: reading them back would be waste
        _refresh_in_background(engine, directory)
    return Snapshot(parts, state["max_id"], max_id)


class CopyStager:
    """The import's side of the copy: Parquet parts of the rows it stores, staged as it writes them and
    published right after its commit (`publish`), or thrown away if it rolls back (`discard`).

    Create it inside the import's write transaction (after its first write): the highest id then is
    the last one before this batch, and no other writer can add rows until the commit."""

    def __init__(self, conn: Connection, directory: Path, batch_id: int, source_id: int) -> None:
        self._conn = conn
        self._source_id = source_id
        self._directory = directory
        self._staging = directory / f"staging-{batch_id}-{os.getpid()}"
        self._staging.mkdir(parents=True, exist_ok=True)
        _, self.first_id, self._changes = _signature(conn)  # rows with ids above first_id are this batch's
        self.last_id = self.first_id
        self._parts: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cxchange-stage")
        self._pending: Future[None] | None = None

    def add(self, rows: pl.DataFrame, inserted: int) -> None:
        """`rows`: a chunk just written (without ids); `inserted`: how many of them were new."""
        if not inserted:
            return
        new_max = int(self._conn.execute(select(func.max(feedback.c.id))).scalar() or 0)
        if new_max - self.last_id == inserted == rows.height:
            # No duplicate in the chunk: its rows took the next ids in order (AUTOINCREMENT, one writer).
            ids = pl.int_range(self.last_id + 1, new_max + 1, dtype=pl.Int64, eager=True).alias("id")
            with_ids = rows.with_columns(ids)
        else:  # some were duplicates: which rows got which ids, by dedup key (first one in the chunk wins)
            stmt = select(feedback.c.id, feedback.c.dedup_key).where(
                feedback.c.id > self.last_id, feedback.c.id <= new_max
            )
            keys = pl.DataFrame(
                self._conn.execute(stmt).all(), schema={"id": pl.Int64, "dedup_key": pl.String}, orient="row"
            )
            with_ids = rows.unique("dedup_key", keep="first", maintain_order=True).join(
                keys, on="dedup_key", how="inner"
            )
        self.last_id = new_max
        with_ids = with_ids.with_columns(pl.lit(self._source_id, dtype=pl.Int64).alias("source_id"))
        self._wait()
        name = f"{len(self._parts):06d}.parquet"
        self._parts.append(name)
        # Converted and written in the stager's thread beside the next chunk's write (polars frees the GIL).
        self._pending = self._pool.submit(_write_part, with_ids, self._staging / name)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def finish(self) -> None:
        """Before the commit: every staged part is on disk."""
        try:
            self._wait()
        finally:
            self._pool.shutdown(wait=True)

    def publish(self, engine: Engine) -> None:
        """After the commit: add the staged parts to the copy (and whatever else it lacks)."""
        try:
            with _locked(self._directory):
                store, max_id, changes = _db_signature(engine)
                state = _adopt(_read_state(self._directory), store, changes)
                if _stale(state, store, max_id, changes):
                    _bring_up_to_date(engine, self._directory)  # a rebuild from the database
                    return
                if state["max_id"] < self.first_id:  # the copy lagged before this batch
                    _extend_from_db(engine, self._directory, state, self.first_id)
                if state["max_id"] == self.first_id:
                    for staged in self._parts:
                        name = _part_name(state)
                        os.replace(self._staging / staged, self._directory / name)
                        fault_point("columnar")  # test-only: a part moved in, the state not yet saying so
                        state["parts"].append(name)
                    state["max_id"] = self.last_id
                    _write_state(self._directory, state)
                if state["max_id"] < max_id:  # another batch committed since
                    _extend_from_db(engine, self._directory, state, max_id)
                if len(state["parts"]) > MAX_PARTS:
                    _compact(self._directory, state)
        finally:
            self.discard()

    def discard(self) -> None:
        self._pool.shutdown(wait=True)
        shutil.rmtree(self._staging, ignore_errors=True)


def stager(conn: Connection, engine: Engine, batch_id: int, source_id: int) -> CopyStager | None:
    """A stager when this database keeps a copy (SQLite file, CXCHANGE_COLUMNAR on), else None."""
    from cxchange.core.config import get_settings

    directory = cache_dir(engine)
    if directory is None or not get_settings().columnar:
        return None
    return CopyStager(conn, directory, batch_id, source_id)


def catch_up(engine: Engine) -> dict[str, Any]:
    """After-commit work of an import (core/events.py): the copy holds every committed row. A no-op
    when the import published its staged parts; after a crash, what the copy lacks is read back from
    the database. Idempotent."""
    from cxchange.core.config import get_settings

    directory = cache_dir(engine)
    if directory is None or not get_settings().columnar:
        return {"max_id": None}
    refresh(engine, directory)
    return {"max_id": _read_state(directory)["max_id"]}


def source_names(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {r.id: r.name for r in conn.execute(select(source.c.id, source.c.name))}
