"""Group commit for survey answers: answers arriving together are stored as one import of their source.

A one-row import costs about as much as a 500-row one (the batch row, planning, validating and
redacting a frame, the commit), so each server process keeps one writer thread: it takes the first
answer waiting, lets the answers of the next GATHER_SECONDS join it, imports them per source with
`import_frame` (the file import's own validation, redaction and de-duplication) with the posts'
rate-limit events in the same transaction, and only then resolves each answer's future. A request is
acknowledged after its answer is committed, never before, so a server killed mid-load loses no
acknowledged answer. The import's after-commit work (columnar copy, search index, cases, alerts) is
recorded with it as pending work and done by the process's background worker, merged across groups
(core/events.py): one Parquet part and one pass of the case rules for many groups.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, insert, select

from cxchange.core.errors import InputError

log = logging.getLogger(__name__)
MAX_ROWS = 1_000  # answers per import at most
GATHER_SECONDS = 0.05  # how long the first answer of a group waits for others
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%.f"
# The frame's columns are named after the fields they fill.
COLUMNS = ("external_id", "received_at", "nps", "csat", "ces", "text", "org_unit", "customer_id")


class DuplicateInBatch(InputError):
    """The same form token twice in one group (a replay racing its original)."""


@dataclass
class _Pending:
    source: str
    row: dict[str, str | None]
    events: list[dict[str, Any]]  # rate_event rows counting this post (service._rate_check)
    future: Future[None] = field(default_factory=Future)


class AnswerWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def put(self, source: str, row: dict[str, str | None], events: list[dict[str, Any]]) -> Future[None]:
        pending = _Pending(source, row, events)
        self._queue.put(pending)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cxchange-answers", daemon=True)
                self._thread.start()
        return pending.future

    def _run(self) -> None:
        while True:
            group = [self._queue.get()]
            # The answers arriving meanwhile join this group: a group costs ~20 ms of CPU whatever its
            # size, and a writer that took only what was waiting would spend a whole core on groups of
            # two or three under a steady stream.
            time.sleep(GATHER_SECONDS)
            while len(group) < MAX_ROWS:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_source: dict[str, list[_Pending]] = {}
            for p in group:
                by_source.setdefault(p.source, []).append(p)
            for source, items in by_source.items():
                try:
                    self._write(source, items)
                except BaseException as exc:  # never leave a request waiting
                    log.warning("storing %d survey answers failed: %s", len(items), exc)
                    for p in items:
                        if not p.future.done():
                            p.future.set_exception(exc)

    def _write(self, source: str, items: list[_Pending]) -> None:
        from cxchange.auth.models import RateEvent
        from cxchange.auth.throttle import purge_expired
        from cxchange.listen.models import RejectedRow
        from cxchange.listen.service import ImportOptions, import_frame

        seen: set[str | None] = set()
        rows: list[_Pending] = []
        for p in items:
            if p.row["external_id"] in seen:
                p.future.set_exception(DuplicateInBatch("this form was already sent"))
                continue
            seen.add(p.row["external_id"])
            rows.append(p)
        columns = [c for c in COLUMNS if any(p.row.get(c) is not None for p in rows)]
        frame = pl.DataFrame(
            {c: [p.row.get(c) for p in rows] for c in columns}, schema=dict.fromkeys(columns, pl.String)
        )
        options = ImportOptions(
            source=source,
            map_options=tuple(f"{c}={c}" for c in columns),
            date_format=DATE_FORMAT,
            close_loop=True,
            after_commit="background",  # cases, alerts, columnar copy, search index: merged, soon after
        )
        events = [e for p in items for e in p.events]

        def count_posts(conn: Connection) -> None:
            """The posts' rate-limit events, committed with the answers they counted."""
            if events:
                conn.execute(insert(RateEvent), events)

        result = import_frame(self.engine, frame, options, name=source, in_transaction=count_posts)
        purge_expired(self.engine, datetime.utcnow())
        rejected: dict[int, str] = {}
        if result.rejected:  # answers are checked before they get here: a reject is the exception
            stmt = select(RejectedRow.row_number, RejectedRow.reason).where(
                RejectedRow.batch_id == result.batch_id, RejectedRow.kind == "reject"
            )
            with self.engine.connect() as conn:
                rejected = {int(n): str(why) for n, why in conn.execute(stmt).all()}
        for i, p in enumerate(rows):
            reason = rejected.get(i + 2)  # a frame's row i is import row i + 2, as in a file
            if reason:
                p.future.set_exception(InputError(str(reason)))
            else:
                p.future.set_result(None)


_writers: dict[str, AnswerWriter] = {}
_writers_lock = threading.Lock()


def writer_for(engine: Engine) -> AnswerWriter:
    key = engine.url.render_as_string(hide_password=False)
    with _writers_lock:
        if key not in _writers:
            _writers[key] = AnswerWriter(engine)
        return _writers[key]
