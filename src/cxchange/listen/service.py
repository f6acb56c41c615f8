"""Import orchestration: read → map → validate → redact → de-duplicate → store, one transaction a batch.

The per-chunk work is pipeline.py, the options and results import_types.py, the dry run dryrun.py;
their public names are re-exported here, where callers have always found them."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects import sqlite

from cxchange.core.bulk import inserted_id
from cxchange.core.errors import InputError
from cxchange.core.events import BATCH_IMPORTED, complete, complete_in_background, record
from cxchange.core.faults import fault_point
from cxchange.core.interrupts import on_interrupt
from cxchange.core.prefetch import prefetch
from cxchange.listen import columnar, dates
from cxchange.listen.dryrun import dry_run
from cxchange.listen.import_types import (
    REJECT_COLUMNS,
    DryRunReport,
    ImportOptions,
    ImportResult,
    Progress,
    Sampler,
    StepClock,
)
from cxchange.listen.models import SOURCE_KINDS, Feedback, ImportBatch, Source
from cxchange.listen.pipeline import Pipeline, importable_columns, plan_import, unit_lookup
from cxchange.listen.readers import Chunk, ColumnSample, TableInfo, first_chunk_sampler, open_table
from cxchange.listen.store import feedback_writer, sqlite_checkpoint, sqlite_import_session, write_rejects
from cxchange.listen.validate import Rejects

__all__ = [
    "REJECT_COLUMNS",
    "DryRunReport",
    "ImportOptions",
    "ImportResult",
    "StepClock",
    "dry_run",
    "estimate_rows",
    "frame_chunks",
    "import_file",
    "import_frame",
    "import_table",
    "importable_columns",
    "unit_lookup",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


def _sha256(path: str) -> str | None:
    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Up to this many rows (a size hint: survey answers, an API post) an import runs in the calling thread
# alone: starting the read-ahead, hashing and checkpoint threads costs more than it overlaps (a
# thread start is ~3 ms on a loaded machine, against ~40 ms for a whole one-row import).
SMALL_BATCH_ROWS = 5_000


def _in_background(fn: Callable[..., T], *args: object, name: str) -> Future[T]:
    """``fn(*args)`` in a thread of its own; ``result()`` waits for it and re-raises its error there.
    Used for the file's SHA-256 while the import reads the file (hashlib releases the GIL), and for the
    WAL checkpoint while the search index catches up (disk beside CPU)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)  # the thread ends when fn returns


def import_table(
    engine: Engine,
    reader_info: TableInfo,
    chunks: Iterator[Chunk],
    options: ImportOptions,
    *,
    progress: Progress | None = None,
    expected_rows: int = 0,
    started: float | None = None,
    sampler: Sampler | None = None,
    in_transaction: Callable[[Connection], None] | None = None,
) -> ImportResult:
    """Import chunks from any reader as one atomic batch (`expected_rows`: a size hint, may be 0).
    `sampler`: a column's values from across the input (default: the first chunk's).
    `in_transaction`: the caller's own writes, committed with the batch (survey answers' rate events).

    `started`: when the user's command began, on the `time.perf_counter` clock (the CLI passes its
    process start), so `seconds` is the time the user waited; default: now."""
    started = time.perf_counter() if started is None else started
    clock = StepClock()
    clock.seconds["startup"] = time.perf_counter() - started  # interpreter, imports, schema check
    info = reader_info
    if options.kind is not None and options.kind not in SOURCE_KINDS:
        raise InputError(f"unknown source kind {options.kind!r}; use one of {', '.join(SOURCE_KINDS)}")
    if sampler is None:  # only the first chunk to decide from; later chunks still check against it
        chunks, sampler = first_chunk_sampler(chunks)
    small = 0 < expected_rows <= SMALL_BATCH_ROWS
    digest: Future[str | None]
    if small or not Path(info.path).is_file():  # a frame has nothing to hash
        digest = Future()
        digest.set_result(_sha256(info.path))
    else:
        digest = _in_background(_sha256, info.path, name="cxchange-sha256")
    stages: list[columnar.CopyStager] = []
    background = options.after_commit == "background"
    try:
        with (
            engine.connect() as conn,
            sqlite_import_session(conn, defer_checkpoint=not (small or background)) as checkpoint_after,
        ):
            with on_interrupt("nothing imported: the batch was rolled back"), conn.begin():
                result = _import_batch(
                    conn, info, chunks, options, digest, clock, progress, expected_rows,
                    None if background else stages, sampler,
                )  # fmt: skip
                if in_transaction is not None:
                    in_transaction(conn)
                # The work the batch triggers, recorded with it: a crash after the commit leaves it
                # pending for the next command (core/events.py), never lost.
                work_id = None
                if result.imported:
                    work_id = record(conn, BATCH_IMPORTED, _event_payload(result, options))
                committing = time.perf_counter()
            clock.seconds["commit"] = time.perf_counter() - committing
    except BaseException:  # rolled back: its staged copy goes too
        for stage in stages:
            stage.discard()
        raise
    committed = f"batch {result.batch_id} was imported" + (
        "; its after-commit work (columnar copy, search index, cases, alerts) is left pending: the next "
        "command or `cxchange doctor` finishes it"
        if work_id is not None
        else ""
    )
    with on_interrupt(committed):
        fault_point("committed")  # test-only (core/faults.py)
    if background:
        # Columnar copy (one Parquet part for many such batches), search index, cases, alerts: soon, in
        # this process's background worker, merged with the other batches' (recorded as pending work
        # with the batch, so a crash before then loses none of it: the next process resumes it).
        if work_id is not None:
            complete_in_background(engine, work_id)
        result.seconds = round(time.perf_counter() - started, 3)
        result.timings = {**clock.rounded(), "total": result.seconds}
        return result
    post_commit = time.perf_counter()
    with on_interrupt(committed):
        _after_commit(engine, result, stages, work_id, checkpoint_after, clock)
    clock.seconds["post_commit"] = time.perf_counter() - post_commit
    result.seconds = round(time.perf_counter() - started, 3)
    result.timings = {**clock.rounded(), "total": result.seconds}
    _record_timings(engine, result)
    return result


def _after_commit(
    engine: Engine,
    result: ImportResult,
    stages: list[columnar.CopyStager],
    work_id: int | None,
    checkpoint_after: bool,
    clock: StepClock,
) -> None:
    """The committed batch's columnar copy, its subscribers' work and the WAL checkpoint, here and now."""
    # The batch is committed. On SQLite its pages are still only in the WAL: copy them into the database
    # file in the background while the columnar copy and the search index catch up here (disk beside CPU).
    checkpoint = (
        _in_background(sqlite_checkpoint, engine, name="cxchange-checkpoint") if checkpoint_after else None
    )
    try:
        for stage in stages:
            with clock.step("columnar"):
                _publish_columnar(engine, stage)
        if work_id is not None:
            # Subscribers: columnar copy (a no-op once published), search index, cases and alerts, decide.
            work = complete(engine, work_id)  # never raises; what failed stays pending
            for name, seconds in work.seconds.items():
                clock.seconds[name] = clock.seconds.get(name, 0.0) + seconds
            loop = work.results.get("close_loop", {})
            result.cases_opened = loop.get("cases_opened", 0)
            result.alerts_evaluated = loop.get("alerts_evaluated", 0)
            result.alerts_raised = loop.get("alerts_raised", 0)
    finally:
        if checkpoint is not None:
            with clock.step("checkpoint"):  # only the wait beyond the steps above
                try:
                    checkpoint.result()
                except Exception as exc:  # the batch is committed; a later commit checkpoints instead
                    log.warning("WAL checkpoint after import failed: %s", exc)


def _event_payload(result: ImportResult, options: ImportOptions) -> dict[str, Any]:
    payload: dict[str, Any] = {"batch_id": result.batch_id, "close_loop": options.close_loop}
    if options.loop_now is not None:
        payload["now"] = options.loop_now.isoformat()
    return payload


def _publish_columnar(engine: Engine, stage: columnar.CopyStager) -> None:
    """Add the batch's staged Parquet parts to the columnar copy, so the first `scores` after the import
    finds it current. The batch is committed: a failure only leaves the copy to catch up later."""
    try:
        stage.publish(engine)
    except Exception as exc:
        log.warning("columnar copy after import failed: %s", exc)


def _record_timings(engine: Engine, result: ImportResult) -> None:
    """The final seconds and timings on the batch (the in-transaction values lacked the post-commit part)."""
    if result.batch_id is None:
        return
    values = {"seconds": result.seconds, "timings": result.timings}
    with engine.begin() as conn:
        conn.execute(update(ImportBatch).where(ImportBatch.id == result.batch_id).values(**values))


def _import_batch(
    conn: Connection,
    info: TableInfo,
    chunks: Iterator[Chunk],
    options: ImportOptions,
    digest: Future[str | None],
    clock: StepClock,
    progress: Progress | None,
    expected_rows: int,
    stages: list[columnar.CopyStager] | None,
    sampler: Sampler | None,
) -> ImportResult:
    """The body of one batch's transaction: source, batch row, every chunk, the counts. The batch's rows
    staged for the columnar copy go on `stages`, to publish after the commit (or discard); None: the
    copy catches up later, from the database (after_commit="background")."""
    started = time.perf_counter()
    src, plan = plan_import(conn, info, options, sampler)
    if plan.dates is not None:
        dates.refuse_ambiguous(plan.dates, file=info.path)  # before anything is written
    mapping, scale = dict(plan.mapping), plan.rating_scale
    remembered: dict[str, Any] = dict(mapping)
    if plan.date_format and (plan.dates is None or plan.dates.origin != "detected"):
        remembered["_date_format"] = plan.date_format
    if src is None:
        source_id = _insert_or_get_source(conn, options, remembered, scale)
    else:
        source_id = src.id
        values: dict[str, Any] = {"mapping": remembered, "rating_scale": scale}
        if options.kind:
            values["kind"] = options.kind
        conn.execute(update(Source).where(Source.id == source_id).values(**values))
    batch_id = inserted_id(
        conn,
        insert(ImportBatch).values(
            source_id=source_id,
            file_name=info.path,
            sha256=None,  # set with the counts at the end, in the same transaction
            format=info.format,
            columns=list(info.columns),
            delimiter=info.delimiter,
            status="running",
            mapping=remembered,
            started_at=options.dated or datetime.utcnow(),
        ),
    )
    result = ImportResult(batch_id=batch_id, source=options.source)
    writer = feedback_writer(
        conn, source_id=source_id, batch_id=batch_id, rating_scale=scale, expected_rows=expected_rows
    )
    pipeline = Pipeline(info, plan, unit_lookup(conn), options.redact, clock)
    stage = None if stages is None else columnar.stager(conn, conn.engine, batch_id, source_id)
    if stage is not None and stages is not None:
        stages.append(stage)

    def validated() -> Iterator[tuple[Chunk, pl.DataFrame, Rejects, Rejects, int]]:
        for chunk in _timed(chunks, clock, "read"):
            with clock.step("validate"):
                good, rejects, warnings, redacted = pipeline.run(chunk)
            yield chunk, good, rejects, warnings, redacted

    def staged(
        items: Iterator[tuple[Chunk, pl.DataFrame, Rejects, Rejects, int]],
    ) -> Iterator[tuple[Chunk, pl.DataFrame, Any, int, Rejects, Rejects, int]]:
        for chunk, good, rejects, warnings, redacted in items:
            with clock.step("prepare"):
                prepared = writer.prepare(good)
            fault_point("parse")  # test-only (core/faults.py): the file read, nothing written yet
            yield chunk, good, prepared, good.height, rejects, warnings, redacted

    # Three stages, each in its own thread, one chunk apart: reading and validating (polars), preparing
    # the rows for the database (the writer's C encoder: SQLite's image, PostgreSQL's binary COPY), and
    # writing (sqlite3, psycopg); all of them release the GIL for their heavy part. Queues of two keep
    # memory flat. A small batch is one chunk: nothing to overlap.
    if 0 < expected_rows <= SMALL_BATCH_ROWS:
        ahead = staged(validated())
    else:
        ahead = prefetch(staged(prefetch(validated(), depth=2)), depth=2)
    for chunk, good, prepared, valid, rejects, warnings, redacted in ahead:
        with clock.step("write"):
            inserted = writer.write(prepared)
            write_rejects(conn, batch_id, rejects)
            write_rejects(conn, batch_id, warnings, kind="warning")
        fault_point("write")  # test-only: rows written, the transaction not committed
        if stage is not None:
            with clock.step("columnar_stage"):
                stage.add(good, inserted)
        result.read += chunk.frame.height + len(chunk.rejects)
        result.imported += inserted
        result.duplicates += valid - inserted
        result.rejected += len(rejects)
        result.warnings += len(warnings)
        result.redacted += redacted
        if progress:
            progress(result.read)
    # PostgreSQL's writer inserts every staged chunk here, in one statement: its time is the "insert".
    with clock.step("insert" if conn.dialect.name == "postgresql" else "indexes"):
        late = writer.close()  # rows a staging writer inserted only now
    result.imported += late
    result.duplicates -= late
    if stage is not None:
        with clock.step("columnar_stage"):
            stage.finish()
    summary = pipeline.summary.as_dict()
    for key, value in summary.items():
        setattr(result, key, value)
    if result.duplicates:
        result.stored_without = _stored_without(conn, source_id, batch_id, mapping)
    # Seconds inside the transaction; import_table replaces them with the whole command's.
    result.seconds = round(time.perf_counter() - started, 3)
    conn.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch_id)
        .values(
            status="complete",
            sha256=digest.result(),
            rows_read=result.read,
            rows_imported=result.imported,
            rows_duplicate=result.duplicates,
            rows_rejected=result.rejected,
            rows_warned=result.warnings,
            rows_redacted=result.redacted,
            summary=summary,
            finished_at=options.dated or datetime.utcnow(),
            seconds=result.seconds,
            timings=clock.rounded(),  # replaced by the whole command's after the commit ("now")
        )
    )
    return result


# The fields a re-import cannot fill in (duplicates are skipped, never updated), and their column.
_FILLED_LATER = {"received_at": Feedback.received_at, "org_unit": Feedback.org_unit_id}


def _stored_without(
    conn: Connection, source_id: int, batch_id: int, mapping: dict[str, str]
) -> dict[str, int]:
    """Rows of this source stored by earlier batches without a field this import maps: skipped as
    duplicates, they stay without it, and `redate` / `org link` are the way to fill it in."""
    out = {}
    for name, column in _FILLED_LATER.items():
        if name in mapping:
            query = select(func.count()).where(
                Feedback.source_id == source_id, Feedback.batch_id != batch_id, column.is_(None)
            )
            if missing := int(conn.execute(query).scalar_one()):
                out[name] = missing
    return out


def _insert_or_get_source(
    conn: Connection, options: ImportOptions, mapping: dict[str, Any], scale: int
) -> int:
    """Create the source, or take the one a concurrent import has just created under the same name
    (ON CONFLICT DO NOTHING on the unique name, then a select): both imports succeed."""
    dialect: Any = sqlite
    if conn.dialect.name == "postgresql":  # imported on use: PostgreSQL's dialect package is a slow import
        from sqlalchemy.dialects import postgresql

        dialect = postgresql
    values = dict(name=options.source, kind=options.kind or "survey", mapping=mapping, rating_scale=scale,
                  created_at=datetime.utcnow())  # fmt: skip
    conn.execute(dialect.insert(Source).values(**values).on_conflict_do_nothing(index_elements=["name"]))
    return int(conn.execute(select(Source.id).where(Source.name == options.source)).scalar_one())


def _timed(items: Iterator[T], clock: StepClock, step: str) -> Iterator[T]:
    """`items`, with the time spent producing each one added to `step`."""
    source = iter(items)
    while True:
        with clock.step(step):
            item = next(source, None)
        if item is None:
            return
        yield item


def import_file(
    engine: Engine,
    path: str | Path,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
    started: float | None = None,
) -> ImportResult:
    started = time.perf_counter() if started is None else started
    reader = open_table(path, format=options.file_format)
    with dates.rows_located(reader.find_rows):  # a file written both ways: name its rows
        return import_table(
            engine,
            reader.info,
            reader.iter_chunks(options.rows_per_chunk()),
            options,
            progress=progress,
            expected_rows=estimate_rows(path),
            started=started,
            sampler=reader.sample_column,
        )


def estimate_rows(path: str | Path) -> int:
    """A rough row count from the file size (~120 bytes a row; gzip about 4x smaller): a hint only."""
    p = Path(path)
    size = p.stat().st_size if p.is_file() else 0
    return size * (4 if p.suffix.lower() == ".gz" else 1) // 120


def frame_chunks(frame: pl.DataFrame, chunk_rows: int = 50_000) -> Iterator[Chunk]:
    """Feed an in-memory frame (the demo, an API caller) through the same pipeline as a file."""
    strings = frame.with_columns(pl.all().cast(pl.String))
    for start in range(0, strings.height, chunk_rows):
        part = strings.slice(start, chunk_rows)
        rows = np.arange(start + 2, start + 2 + part.height, dtype=np.int64)
        yield Chunk(frame=part, row_numbers=rows, rejects=[])


def import_frame(
    engine: Engine,
    frame: pl.DataFrame,
    options: ImportOptions,
    *,
    name: str = "<frame>",
    in_transaction: Callable[[Connection], None] | None = None,
) -> ImportResult:
    info = TableInfo(
        path=name, format="frame", compression=None, encoding=None, delimiter=None, columns=frame.columns
    )
    # The whole column, or 50,000 values spread across a larger frame (every chunk is still checked).
    step = max(frame.height // 50_000, 1)
    rows = np.arange(2, 2 + frame.height, dtype=np.int64)[::step]
    return import_table(
        engine,
        info,
        frame_chunks(frame, options.rows_per_chunk()),
        options,
        expected_rows=frame.height,
        sampler=lambda column: ColumnSample(frame[column].cast(pl.String)[::step], rows, step == 1),
        in_transaction=in_transaction,
    )
