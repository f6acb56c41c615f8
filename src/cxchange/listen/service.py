"""Import orchestration: read → map → validate → redact → de-duplicate → store, one transaction a batch."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cxchange.core.config import get_settings
from cxchange.core.errors import InputError
from cxchange.core.events import BATCH_IMPORTED, complete, record
from cxchange.core.faults import fault_point
from cxchange.core.names import check_column_names, check_name
from cxchange.core.prefetch import prefetch
from cxchange.listen import columnar, dates
from cxchange.listen.mapping import FIELDS, parse_map_options, suggest_mapping
from cxchange.listen.models import SOURCE_KINDS, ImportBatch, Source
from cxchange.listen.readers import Chunk, ColumnSample, RawReject, TableInfo, first_chunk_sampler, open_table
from cxchange.listen.redact import redact_texts
from cxchange.listen.store import feedback_writer, sqlite_checkpoint, sqlite_import_session, write_rejects
from cxchange.listen.summary import ImportSummary
from cxchange.listen.validate import FieldPlan, Rejects, check_scale, normalise_chunk, plan_fields
from cxchange.org.models import OrgUnit

log = logging.getLogger(__name__)
T = TypeVar("T")

Progress = Callable[[int], None]
# A column's values for the decisions made before any chunk (the dates' reading): TableReader.sample_column.
Sampler = Callable[[str], ColumnSample]
# Added to exported rejects so a fixed file says why each row failed; ignored when imported again.
REJECT_COLUMNS = ("reject_row", "reject_column", "reject_reason")


@dataclass
class ImportResult:
    batch_id: int | None
    source: str
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    redacted: int = 0
    # The whole command's time as the user waits for it (from `started`, see import_table), post-commit
    # work included; `timings` says where it went.
    seconds: float = 0.0
    # Rows kept but not as they were (a bad score left empty), and the summary (summary.py) keys.
    warnings: int = 0
    kept_without_text_or_score: int = 0
    rejects_by_reason: list[dict[str, Any]] = field(default_factory=list)
    warnings_by_reason: list[dict[str, Any]] = field(default_factory=list)
    unknown_units: list[dict[str, Any]] = field(default_factory=list)
    unknown_unit_values: int = 0
    unknown_unit_rows: int = 0
    mixed_scales: list[dict[str, Any]] = field(default_factory=list)
    dates: dict[str, Any] | None = None  # how received_at was read, and notes (dates.DateReading)
    # What closing the loop did after the batch committed (the "batch imported" event's subscribers).
    cases_opened: int = 0
    alerts_evaluated: int = 0
    alerts_raised: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class StepClock:
    """Seconds per named step, summed over chunks. Reading, validating and preparing run in the
    read-ahead thread beside writing, so those steps overlap and add up to more than the total."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}


@dataclass
class DryRunReport:
    file: str
    format: str
    encoding: str | None
    delimiter: str | None
    columns: list[str]
    mapping: dict[str, str]
    attributes: list[str]
    preview: list[dict[str, Any]]
    read: int = 0
    valid: int = 0
    duplicates_in_file: int = 0
    rejected: int = 0
    # The first rejects, row by row; the summary below counts all of them (and the warnings) by reason.
    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: int = 0
    kept_without_text_or_score: int = 0
    rejects_by_reason: list[dict[str, Any]] = field(default_factory=list)
    warnings_by_reason: list[dict[str, Any]] = field(default_factory=list)
    unknown_units: list[dict[str, Any]] = field(default_factory=list)
    unknown_unit_values: int = 0
    unknown_unit_rows: int = 0
    mixed_scales: list[dict[str, Any]] = field(default_factory=list)
    dates: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ImportOptions:
    source: str
    kind: str | None = None
    map_options: Sequence[str] = ()
    rating_scale: int | None = None
    date_format: str | None = None
    # Import a score column that mixes rating scales, leaving the out-of-scale values empty (scales.py).
    allow_mixed_scales: bool = False
    redact: bool = True
    file_format: str | None = None
    chunk_rows: int | None = None  # rows per chunk; None: CXCHANGE_IMPORT_CHUNK_ROWS
    # Close the loop after the batch commits: open cases, evaluate alert rules (cxchange/subscribers.py),
    # judging "recent" by `loop_now` (the demo's fixed clock) or the current time.
    close_loop: bool = True
    loop_now: datetime | None = None

    def rows_per_chunk(self) -> int:
        rows = self.chunk_rows or get_settings().import_chunk_rows
        if rows < 1:
            raise InputError(f"import chunk rows must be at least 1, got {rows}")
        return rows

    def __post_init__(self) -> None:
        check_name(self.source, "source name")  # a NUL cannot be stored; ESC and bidi codes mislead


def _resolve_mapping(info: TableInfo, stored: Mapping[str, str], options: ImportOptions) -> dict[str, str]:
    """Suggested from the header, then what the source remembers, then --map: later wins."""
    try:
        overrides = parse_map_options(options.map_options)
    except ValueError as exc:
        raise InputError(str(exc), file=info.path) from None
    columns = importable_columns(info)
    mapping = dict(suggest_mapping(columns))
    for fld, col in stored.items():
        if fld in FIELDS and col in columns:
            mapping = {f: c for f, c in mapping.items() if c != col}
            mapping[fld] = col
    for fld, col in overrides.items():
        mapping = {f: c for f, c in mapping.items() if c != col}
        mapping[fld] = col
    return mapping


def importable_columns(info: TableInfo) -> list[str]:
    """The file's columns less the reject_* ones that `cxchange rejects --format csv` adds."""
    return [c for c in info.columns if c not in REJECT_COLUMNS]


def unit_lookup(conn: Connection) -> dict[str, int]:
    """Codes, code paths and unique names of org units, so an export may name a unit any of these ways."""
    rows = conn.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.path, OrgUnit.name)).all()
    names: dict[str, list[int]] = {}
    for r in rows:
        names.setdefault(r.name.lower(), []).append(r.id)
    lookup = {k: ids[0] for k, ids in names.items() if len(ids) == 1}
    for r in rows:
        lookup[r.path.lower()] = r.id
        lookup[r.code.lower()] = r.id
    return lookup


def _raw_rejects(raws: Sequence[RawReject]) -> Rejects:
    out = Rejects()
    for r in raws:
        # Grouped without the position of a JSON syntax error, so one bad export is one line.
        out.add(r.row_number, None, r.reason, r.raw, key=re.sub(r" at column \d+$", "", r.reason))
    return out


def _sha256(path: str) -> str | None:
    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _in_background(fn: Callable[..., T], *args: object, name: str) -> Future[T]:
    """``fn(*args)`` in a thread of its own; ``result()`` waits for it and re-raises its error there.
    Used for the file's SHA-256 while the import reads the file (hashlib releases the GIL), and for the
    WAL checkpoint while the search index catches up (disk beside CPU)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)  # the thread ends when fn returns


class _Pipeline:
    """Per-chunk work shared by a real import and a dry run."""

    def __init__(
        self,
        info: TableInfo,
        plan: FieldPlan,
        units: Mapping[str, int],
        redact: bool,
        clock: StepClock | None = None,
    ) -> None:
        self.info, self.plan, self.units, self.redact = info, plan, units, redact
        self.clock = clock or StepClock()
        self.first = True
        self.summary = ImportSummary(plan, file=info.path)

    def run(self, chunk: Chunk) -> tuple[pl.DataFrame, Rejects, Rejects, int]:
        """(rows to store, rejects, warnings, rows redacted) of one chunk."""
        if self.first and chunk.frame.height:
            check_scale(chunk.frame, self.plan, file=self.info.path, row_numbers=chunk.row_numbers)
            self.first = False
        if chunk.frame.height:
            self.summary.add_scales(chunk.frame, chunk.row_numbers)
        rejects = _raw_rejects(chunk.rejects)
        checked = normalise_chunk(
            chunk.frame, chunk.row_numbers, self.plan, unit_lookup=self.units, file=self.info.path
        )
        rejects.extend(checked.rejects)
        rejects.sort()
        self.summary.add(checked, rejects)
        good = checked.good
        redacted = 0
        if self.redact and "text" in self.plan.mapping and good.height:
            with self.clock.step("redact"):
                result = redact_texts(good["text"])
            good = good.with_columns(result.text.alias("text"))
            redacted = result.redacted_rows
        return good, rejects, checked.warnings, redacted


def _plan(
    conn: Connection, info: TableInfo, options: ImportOptions, sampler: Sampler | None
) -> tuple[Any, FieldPlan]:
    """The source as stored (or None) and the field plan: header, remembered mapping, then options; the
    dates' reading decided from `sampler`'s values of the whole column, before any chunk."""
    check_column_names(info.columns, info.path)  # hardening: names become attribute keys
    src = _get_source(conn, options.source)
    stored = dict(src.mapping or {}) if src else {}
    plan = plan_fields(
        importable_columns(info),
        _resolve_mapping(info, stored, options),
        file=info.path,
        rating_scale=options.rating_scale or (src.rating_scale if src else 5),
        date_format=options.date_format or stored.get("_date_format"),
        kind=options.kind or (src.kind if src else "survey"),
        allow_mixed_scales=options.allow_mixed_scales,
    )
    column = plan.mapping.get("received_at")
    if column is not None and sampler is not None:
        origin = "given" if options.date_format else "stored"
        reading = dates.decide_sample(
            sampler(column), file=info.path, date_format=plan.date_format, origin=origin
        )
        plan = replace(plan, dates=reading)
    return src, plan


def _get_source(conn: Connection, name: str) -> Any:
    """(id, mapping, rating_scale, kind) of a source, or None for a new one."""
    stmt = select(Source.id, Source.mapping, Source.rating_scale, Source.kind).where(Source.name == name)
    return conn.execute(stmt).first()


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
) -> ImportResult:
    """Import chunks from any reader as one atomic batch (`expected_rows`: a size hint, may be 0).
    `sampler`: a column's values from across the input (default: the first chunk's).

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
    digest = _in_background(_sha256, info.path, name="cxchange-sha256")
    stages: list[columnar.CopyStager] = []
    try:
        with engine.connect() as conn, sqlite_import_session(conn) as checkpoint_after:
            with conn.begin():
                result = _import_batch(
                    conn, info, chunks, options, digest, clock, progress, expected_rows, stages, sampler
                )
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
    fault_point("committed")  # test-only (core/faults.py)
    post_commit = time.perf_counter()
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
    clock.seconds["post_commit"] = time.perf_counter() - post_commit
    result.seconds = round(time.perf_counter() - started, 3)
    result.timings = {**clock.rounded(), "total": result.seconds}
    _record_timings(engine, result)
    return result


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
    stages: list[columnar.CopyStager],
    sampler: Sampler | None,
) -> ImportResult:
    """The body of one batch's transaction: source, batch row, every chunk, the counts. The batch's rows
    staged for the columnar copy go on `stages`, to publish after the commit (or discard)."""
    started = time.perf_counter()
    src, plan = _plan(conn, info, options, sampler)
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
    batch_id = conn.execute(
        insert(ImportBatch).values(
            source_id=source_id,
            file_name=info.path,
            sha256=None,  # set with the counts at the end, in the same transaction
            format=info.format,
            columns=list(info.columns),
            delimiter=info.delimiter,
            status="running",
            mapping=remembered,
            started_at=datetime.utcnow(),
        )
    ).inserted_primary_key[0]
    result = ImportResult(batch_id=batch_id, source=options.source)
    writer = feedback_writer(
        conn, source_id=source_id, batch_id=batch_id, rating_scale=scale, expected_rows=expected_rows
    )
    pipeline = _Pipeline(info, plan, unit_lookup(conn), options.redact, clock)
    stage = columnar.stager(conn, conn.engine, batch_id, source_id)
    if stage is not None:
        stages.append(stage)

    def staged() -> Iterator[tuple[Chunk, pl.DataFrame, Any, int, Rejects, Rejects, int]]:
        for chunk in _timed(chunks, clock, "read"):
            with clock.step("validate"):
                good, rejects, warnings, redacted = pipeline.run(chunk)
            with clock.step("prepare"):
                prepared = writer.prepare(good)
            fault_point("parse")  # test-only (core/faults.py): the file read, nothing written yet
            yield chunk, good, prepared, good.height, rejects, warnings, redacted

    # Reading, validating and preparing the next chunk overlaps with writing this one (polars and
    # sqlite3 both release the GIL); the queue of two keeps memory flat.
    for chunk, good, prepared, valid, rejects, warnings, redacted in prefetch(staged(), depth=2):
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
        staged = writer.close()  # rows a staging writer inserted only now
    result.imported += staged
    result.duplicates -= staged
    if stage is not None:
        with clock.step("columnar_stage"):
            stage.finish()
    summary = pipeline.summary.as_dict()
    for key, value in summary.items():
        setattr(result, key, value)
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
            finished_at=datetime.utcnow(),
            seconds=result.seconds,
        )
    )
    return result


def _insert_or_get_source(
    conn: Connection, options: ImportOptions, mapping: dict[str, Any], scale: int
) -> int:
    """Create the source, or take the one a concurrent import has just created under the same name
    (ON CONFLICT DO NOTHING on the unique name, then a select): both imports succeed."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
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
    engine: Engine, frame: pl.DataFrame, options: ImportOptions, *, name: str = "<frame>"
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
    )


def dry_run(
    engine: Engine, path: str | Path, options: ImportOptions, *, max_problems: int = 20
) -> DryRunReport:
    """Everything an import would do except writing: mapping, preview, problems, counts, and the
    summary by reason (every reject and warning counted, not only the first `max_problems`)."""
    reader = open_table(path, format=options.file_format)
    info = reader.info
    with engine.connect() as conn, dates.rows_located(reader.find_rows):
        _, plan = _plan(conn, info, options, reader.sample_column)
        units = unit_lookup(conn)
    mapping = dict(plan.mapping)
    report = DryRunReport(
        file=info.path,
        format=info.format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        columns=list(info.columns),
        mapping=mapping,
        attributes=list(plan.attribute_columns),
        preview=reader.preview(5).to_dicts(),
    )
    pipeline = _Pipeline(info, plan, units, redact=False)
    seen: set[str] = set()
    for chunk in reader.iter_chunks(options.rows_per_chunk()):
        good, rejects, warnings, _ = pipeline.run(chunk)
        report.read += chunk.frame.height + len(chunk.rejects)
        report.warnings += len(warnings)
        keys = good["dedup_key"].to_list()
        fresh = [k for k in keys if k not in seen]
        seen.update(keys)
        report.duplicates_in_file += len(keys) - len(set(fresh))
        report.valid += len(set(fresh))
        report.rejected += len(rejects)
        for r, c, why in zip(rejects.row_numbers, rejects.columns, rejects.reasons, strict=True):
            if len(report.problems) < max_problems:
                report.problems.append({"row": r, "column": c, "reason": why})
    for key, value in pipeline.summary.as_dict().items():
        setattr(report, key, value)
    return report
