"""Import orchestration: read → map → validate → redact → de-duplicate → store, one transaction a batch."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, insert, select, update

from cxchange.core.errors import InputError
from cxchange.core.names import check_column_names, check_name
from cxchange.core.prefetch import prefetch
from cxchange.listen.mapping import FIELDS, parse_map_options, suggest_mapping
from cxchange.listen.models import SOURCE_KINDS, ImportBatch, OrgUnit, Source
from cxchange.listen.readers import Chunk, RawReject, TableInfo, open_table
from cxchange.listen.redact import redact_texts
from cxchange.listen.store import feedback_writer, sqlite_checkpoint, sqlite_import_session, write_rejects
from cxchange.listen.validate import FieldPlan, Rejects, check_scale, normalise_chunk, plan_fields

log = logging.getLogger(__name__)
T = TypeVar("T")

Progress = Callable[[int], None]
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
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    problems: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ImportOptions:
    source: str
    kind: str | None = None
    map_options: Sequence[str] = ()
    rating_scale: int | None = None
    date_format: str | None = None
    redact: bool = True
    file_format: str | None = None
    chunk_rows: int = 50_000
    # Close the loop after the batch commits: open cases, evaluate alert rules (sustain/hooks.py).
    close_loop: bool = True

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
        out.add(r.row_number, None, r.reason, r.raw)
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

    def __init__(self, info: TableInfo, plan: FieldPlan, units: Mapping[str, int], redact: bool) -> None:
        self.info, self.plan, self.units, self.redact = info, plan, units, redact
        self.first = True

    def run(self, chunk: Chunk) -> tuple[pl.DataFrame, Rejects, int]:
        if self.first and chunk.frame.height:
            check_scale(chunk.frame, self.plan, file=self.info.path, row_numbers=chunk.row_numbers)
            self.first = False
        rejects = _raw_rejects(chunk.rejects)
        good, bad = normalise_chunk(chunk.frame, chunk.row_numbers, self.plan, unit_lookup=self.units)
        rejects.extend(bad)
        rejects.sort()
        redacted = 0
        if self.redact and "text" in self.plan.mapping and good.height:
            result = redact_texts(good["text"])
            good = good.with_columns(result.text.alias("text"))
            redacted = result.redacted_rows
        return good, rejects, redacted


def _plan(conn: Connection, info: TableInfo, options: ImportOptions) -> tuple[Any, FieldPlan]:
    """The source as stored (or None) and the field plan: header, remembered mapping, then options."""
    check_column_names(info.columns, info.path)  # hardening: names become attribute keys
    src = _get_source(conn, options.source)
    stored = dict(src.mapping or {}) if src else {}
    plan = plan_fields(
        importable_columns(info),
        _resolve_mapping(info, stored, options),
        file=info.path,
        rating_scale=options.rating_scale or (src.rating_scale if src else 5),
        date_format=options.date_format or stored.get("_date_format"),
    )
    return src, plan


def _get_source(conn: Connection, name: str) -> Any:
    """(id, mapping, rating_scale) of a source, or None for a new one."""
    stmt = select(Source.id, Source.mapping, Source.rating_scale).where(Source.name == name)
    return conn.execute(stmt).first()


def import_table(
    engine: Engine,
    reader_info: TableInfo,
    chunks: Iterator[Chunk],
    options: ImportOptions,
    *,
    progress: Progress | None = None,
    expected_rows: int = 0,
) -> ImportResult:
    """Import chunks from any reader as one atomic batch (`expected_rows`: a size hint, may be 0)."""
    started = time.perf_counter()
    info = reader_info
    if options.kind is not None and options.kind not in SOURCE_KINDS:
        raise InputError(f"unknown source kind {options.kind!r}; use one of {', '.join(SOURCE_KINDS)}")
    digest = _in_background(_sha256, info.path, name="cxchange-sha256")
    with engine.connect() as conn, sqlite_import_session(conn) as checkpoint_after, conn.begin():
        result = _import_batch(conn, info, chunks, options, digest, started, progress, expected_rows)
    # The batch is committed. On SQLite its pages are still only in the WAL: copy them into the database
    # file in the background while the search index catches up here (disk beside CPU).
    checkpoint = (
        _in_background(sqlite_checkpoint, engine, name="cxchange-checkpoint") if checkpoint_after else None
    )
    try:
        if result.imported:
            _catch_up_search_index(engine)
    finally:
        if checkpoint is not None:
            try:
                checkpoint.result()
            except Exception as exc:  # the batch is committed; a later commit checkpoints instead
                log.warning("WAL checkpoint after import failed: %s", exc)
    if options.close_loop and result.imported:
        from cxchange.sustain.hooks import after_import

        after_import(engine, result.batch_id)  # never raises; deliveries run in the background
    return result


def _import_batch(
    conn: Connection,
    info: TableInfo,
    chunks: Iterator[Chunk],
    options: ImportOptions,
    digest: Future[str | None],
    started: float,
    progress: Progress | None,
    expected_rows: int,
) -> ImportResult:
    """The body of one batch's transaction: source, batch row, every chunk, the counts."""
    src, plan = _plan(conn, info, options)
    mapping, scale = dict(plan.mapping), plan.rating_scale
    remembered: dict[str, Any] = dict(mapping)
    if plan.date_format:
        remembered["_date_format"] = plan.date_format
    if src is None:
        source_id = conn.execute(
            insert(Source).values(
                name=options.source,
                kind=options.kind or "survey",
                mapping=remembered,
                rating_scale=scale,
                created_at=datetime.utcnow(),
            )
        ).inserted_primary_key[0]
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
    pipeline = _Pipeline(info, plan, unit_lookup(conn), options.redact)

    def staged() -> Iterator[tuple[Chunk, Any, int, Rejects, int]]:
        for chunk in chunks:
            good, rejects, redacted = pipeline.run(chunk)
            yield chunk, writer.prepare(good), good.height, rejects, redacted

    # Reading, validating and preparing the next chunk overlaps with writing this one (polars and
    # sqlite3 both release the GIL); the queue of two keeps memory flat.
    for chunk, prepared, valid, rejects, redacted in prefetch(staged(), depth=2):
        inserted = writer.write(prepared)
        write_rejects(conn, batch_id, rejects)
        result.read += chunk.frame.height + len(chunk.rejects)
        result.imported += inserted
        result.duplicates += valid - inserted
        result.rejected += len(rejects)
        result.redacted += redacted
        if progress:
            progress(result.read)
    writer.close()
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
            rows_redacted=result.redacted,
            finished_at=datetime.utcnow(),
            seconds=result.seconds,
        )
    )
    return result


def _catch_up_search_index(engine: Engine) -> None:
    """Index the batch's comments for the explorer's search now (~25 ms per 10,000 rows; nothing on
    PostgreSQL), so the first search after a big import does not pay for it. The batch is committed:
    a failure here only means the first search catches up instead."""
    from cxchange.listen.search import sync_search_index

    try:
        sync_search_index(engine)
    except Exception as exc:  # the search path catches up by itself
        log.warning("search index catch-up after import failed: %s", exc)


def import_file(
    engine: Engine, path: str | Path, options: ImportOptions, *, progress: Progress | None = None
) -> ImportResult:
    reader = open_table(path, format=options.file_format)
    return import_table(
        engine,
        reader.info,
        reader.iter_chunks(options.chunk_rows),
        options,
        progress=progress,
        expected_rows=estimate_rows(path),
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
    return import_table(
        engine, info, frame_chunks(frame, options.chunk_rows), options, expected_rows=frame.height
    )


def dry_run(
    engine: Engine, path: str | Path, options: ImportOptions, *, max_problems: int = 20
) -> DryRunReport:
    """Everything an import would do except writing: mapping, preview, problems, counts."""
    reader = open_table(path, format=options.file_format)
    info = reader.info
    with engine.connect() as conn:
        _, plan = _plan(conn, info, options)
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
    for chunk in reader.iter_chunks(options.chunk_rows):
        good, rejects, _ = pipeline.run(chunk)
        report.read += chunk.frame.height + len(chunk.rejects)
        keys = good["dedup_key"].to_list()
        fresh = [k for k in keys if k not in seen]
        seen.update(keys)
        report.duplicates_in_file += len(keys) - len(set(fresh))
        report.valid += len(set(fresh))
        report.rejected += len(rejects)
        for r, c, why in zip(rejects.row_numbers, rejects.columns, rejects.reasons, strict=True):
            if len(report.problems) < max_problems:
                report.problems.append({"row": r, "column": c, "reason": why})
    return report
