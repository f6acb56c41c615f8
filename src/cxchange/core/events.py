"""Stage events: lower stages publish what happened, higher stages subscribe, and the work is resumable.

A lower stage (listen, understand) must not import a higher one (sustain, decide), yet an import has to
open cases and an analysis has to record recognitions. So the lower stage records an event
(`record`, inside the transaction that stores its batch or run: a `pending_work` row) and, after the
commit, has it done (`complete`): every subscriber of that event runs in order, then the row is marked
done. A process killed between the commit and the end of the work leaves the row undone; the next
process that opens the database (`resume_once`, from `core.db.get_engine`) or `cxchange doctor`
finishes it. Subscribers must therefore be idempotent.

Subscribers are registered by one module, `SUBSCRIBER_REGISTRY`, loaded by name (as `core.base` loads the
models), so a fresh process knows them without any lower stage importing a higher one.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from cxchange.core.bulk import inserted_id
from cxchange.core.processes import pid_alive
from cxchange.core.tables import pending_work

log = logging.getLogger(__name__)

BATCH_IMPORTED = "batch imported"  # payload: {"batch_id", "close_loop", "now"?}
ANALYSIS_FINISHED = "analysis finished"  # payload: {"run_id", "changed"}
SUBSCRIBER_REGISTRY = "cxchange.subscribers"
# A claim by a process on another host (whose liveness cannot be seen) lapses after this long.
CLAIM_LEASE = timedelta(minutes=15)
# Done work is kept this long (what ran after which import, for `cxchange doctor` and a curious admin).
KEEP_DONE = timedelta(days=30)
# Work that failed this many times is left to `cxchange doctor` instead of every command retrying it.
MAX_AUTO_ATTEMPTS = 3

Handler = Callable[[Engine, Mapping[str, Any]], Mapping[str, Any] | None]

_subscribers: dict[str, dict[str, Handler]] = {}
# Questions a lower stage asks of a higher one without importing it (decide ranks opportunities by the
# closed-loop cases whose root cause is each theme, which sustain keeps); answered by the same registry.
ROOT_CAUSES = "root causes by theme"  # answer: {theme name: cases with that root cause}
_answerers: dict[str, Callable[[Engine], Any]] = {}
_resumed: set[str] = set()


def subscribe(event: str, name: str, handler: Handler) -> None:
    """Run `handler(engine, payload)` for every `event`, in subscription order; a name subscribed again
    replaces its handler (a registry imported twice registers nothing twice)."""
    _subscribers.setdefault(event, {})[name] = handler


def answer(question: str, answerer: Callable[[Engine], Any]) -> None:
    """`answerer(engine)` answers `question` (one per question: a registry imported twice replaces it)."""
    _answerers[question] = answerer


def ask(question: str, engine: Engine, default: Any) -> Any:
    """The answer of the stage that answers `question`, else `default` (no such stage installed)."""
    importlib.import_module(SUBSCRIBER_REGISTRY)
    answerer = _answerers.get(question)
    return default if answerer is None else answerer(engine)


def subscribers(event: str) -> list[tuple[str, Handler]]:
    importlib.import_module(SUBSCRIBER_REGISTRY)
    return list(_subscribers.get(event, {}).items())


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def record(conn: Connection, event: str, payload: Mapping[str, Any]) -> int:
    """Record `event` as pending work in the caller's transaction, claimed by this process (which does
    it after the commit). Returns its id, for `complete`."""
    now = datetime.utcnow()
    values = dict(
        event=event, payload=dict(payload), created_at=now, attempts=0, claimed_by=_me(), claimed_at=now
    )
    return inserted_id(conn, insert(pending_work).values(**values))


@dataclass
class WorkDone:
    """What one piece of pending work did (or several merged into one run: `ids`): each subscriber's
    answer and seconds, and the failures."""

    id: int
    event: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ids": self.ids or [self.id],
            "event": self.event,
            "done": self.done,
            "errors": self.errors,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "results": self.results,
        }


def batch_ids(payload: Mapping[str, Any]) -> list[int]:
    """The batches a "batch imported" payload is about: one, or several merged (`complete_many`)."""
    if "batch_ids" in payload:
        return [int(b) for b in payload["batch_ids"]]
    return [int(payload["batch_id"])] if payload.get("batch_id") is not None else []


def _merged(rows: Sequence[Any]) -> list[tuple[list[int], str, dict[str, Any]]]:
    """(ids, event, payload) runs: events about batches whose payloads differ only in the batch are
    one run with "batch_ids" (a subscriber that catches up a whole store, as the columnar copy and the
    search index do, then runs once for a hundred small imports instead of a hundred times)."""
    runs: dict[str, tuple[list[int], str, dict[str, Any]]] = {}
    out: list[tuple[list[int], str, dict[str, Any]]] = []
    for row in rows:
        payload = dict(row.payload)
        if "batch_id" not in payload:
            out.append(([row.id], row.event, payload))
            continue
        batch = payload.pop("batch_id")
        key = json.dumps([row.event, payload], sort_keys=True, default=str)
        if key not in runs:
            runs[key] = ([], row.event, {**payload, "batch_ids": []})
            out.append(runs[key])
        runs[key][0].append(row.id)
        runs[key][2]["batch_ids"].append(batch)
    return out


def complete(engine: Engine, work_id: int) -> WorkDone:
    """Run every subscriber of the recorded event, then mark it done (or record why not, releasing the
    claim so another command retries). Never raises for a subscriber's failure."""
    return complete_many(engine, [work_id])[0]


# Pieces of work merged into one run at most (and ids in one IN list, well under SQLite's 32,766).
MERGE_AT_MOST = 500


def complete_many(engine: Engine, work_ids: Sequence[int]) -> list[WorkDone]:
    """`complete` for several pieces of work at once, those about batches merged into one run each."""
    ids = list(dict.fromkeys(work_ids))
    if len(ids) > MERGE_AT_MOST:
        return [
            w
            for i in range(0, len(ids), MERGE_AT_MOST)
            for w in _complete(engine, ids[i : i + MERGE_AT_MOST])
        ]
    return _complete(engine, ids)


def _complete(engine: Engine, work_ids: list[int]) -> list[WorkDone]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(pending_work.c.id, pending_work.c.event, pending_work.c.payload)
            .where(pending_work.c.id.in_(work_ids))
            .order_by(pending_work.c.id)
        ).all()
    if len(rows) != len(work_ids):
        raise LookupError(f"pending work {sorted(set(work_ids) - {r.id for r in rows})} not found")
    done = [_run(engine, ids, event, payload) for ids, event, payload in _merged(rows)]
    with engine.begin() as conn:
        for out in done:
            values: dict[str, Any] = {
                "attempts": pending_work.c.attempts + 1,
                "claimed_by": None,
                "claimed_at": None,
            }
            if out.done:
                values.update(done_at=datetime.utcnow(), last_error=None)
            else:
                values["last_error"] = "; ".join(out.errors)[:2000]
            conn.execute(update(pending_work).where(pending_work.c.id.in_(out.ids)).values(**values))
        # One row an import or analysis: the old done ones go (an indexed range), so the table stays small.
        conn.execute(delete(pending_work).where(pending_work.c.done_at < datetime.utcnow() - KEEP_DONE))
    return done


def _run(engine: Engine, ids: list[int], event: str, payload: Mapping[str, Any]) -> WorkDone:
    out = WorkDone(ids[0], event, ids=ids)
    try:
        handlers = subscribers(event)
    except Exception as exc:  # a broken registry: nothing runs, the work stays pending
        log.warning("subscribers of %r not loaded: %s", event, exc)
        out.errors.append(f"subscribers: {exc}")
        handlers = []
    for name, handler in handlers:
        started = time.perf_counter()
        try:
            out.results[name] = dict(handler(engine, payload) or {})
        except Exception as exc:  # the others still run; this one is retried later
            log.warning("%s: %s after %r failed: %s", ids, name, event, exc)
            out.errors.append(f"{name}: {exc}")
        out.seconds[name] = time.perf_counter() - started
    return out


class _Backlog:
    """After-commit work a server process does in the background: a write that must answer fast (a
    group of survey answers) records its event in its own transaction, as every write does, and hands
    the id here instead of doing the work before it answers. One thread per process and database takes
    whatever has queued up and completes it in one `complete_many`, so a hundred small imports cost one
    columnar catch-up (one Parquet part), one search-index sync and one pass of the case rules. The rows
    stay claimed by this process until done: if it dies first, the next process to open the database
    resumes them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread = threading.Thread(target=self._drain, name="cxchange-after-commit", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            ids = [self.queue.get()]
            time.sleep(BACKLOG_GATHER_SECONDS)  # the work queued meanwhile joins this run
            while True:
                try:
                    ids.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                complete_many(self.engine, ids)
            except Exception as exc:  # never dies: the rows stay pending for the next process
                log.warning("after-commit work %s failed: %s", ids, exc)
            finally:
                for _ in ids:
                    self.queue.task_done()


# How long the background worker waits after an event before taking all that queued meanwhile: the
# derived data it brings up to date (columnar copy, search index) is checked by every reader, and the
# cases and alerts it opens are not waited for by anyone.
BACKLOG_GATHER_SECONDS = 1.0
_backlogs: dict[str, _Backlog] = {}
_backlogs_lock = threading.Lock()


def complete_in_background(engine: Engine, work_id: int) -> None:
    """Have this process `complete` the work soon, in its background thread, merged with the rest."""
    key = engine.url.render_as_string(hide_password=False)
    with _backlogs_lock:
        if key not in _backlogs or not _backlogs[key].thread.is_alive():
            _backlogs[key] = _Backlog(engine)
        backlog = _backlogs[key]
    backlog.queue.put(work_id)


def wait_for_background(engine: Engine) -> None:
    """Until the background work queued so far in this process is done (tests, scripts)."""
    backlog = _backlogs.get(engine.url.render_as_string(hide_password=False))
    if backlog is not None:
        backlog.queue.join()


def _claimable(claimed_by: str | None, claimed_at: datetime | None, now: datetime) -> bool:
    """Unclaimed, claimed by a process of this host that is gone (a live one may be in a long analysis),
    or claimed by another host too long ago."""
    if claimed_by is None or claimed_at is None:
        return True
    host, _, pid = claimed_by.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return int(pid) != os.getpid() and not pid_alive(int(pid))
    return claimed_at < now - CLAIM_LEASE


def pending(engine: Engine) -> list[dict[str, Any]]:
    """Every undone piece of work, oldest first, with whether this process could take it now."""
    now = datetime.utcnow()
    stmt = select(pending_work).where(pending_work.c.done_at.is_(None)).order_by(pending_work.c.id)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        {
            **{
                k: r[k]
                for k in ("id", "event", "payload", "created_at", "attempts", "claimed_by", "last_error")
            },
            "claimable": _claimable(r["claimed_by"], r["claimed_at"], now),
        }
        for r in rows
    ]


def _claim(engine: Engine, row: Mapping[str, Any]) -> bool:
    """Take the row if it is still as we read it (compare and set): of two processes resuming at once,
    one does the work."""
    now = datetime.utcnow()
    stmt = update(pending_work).where(pending_work.c.id == row["id"], pending_work.c.done_at.is_(None))
    if row["claimed_by"] is None:
        stmt = stmt.where(pending_work.c.claimed_by.is_(None))
    else:
        stmt = stmt.where(pending_work.c.claimed_by == row["claimed_by"])
    with engine.begin() as conn:
        return conn.execute(stmt.values(claimed_by=_me(), claimed_at=now)).rowcount == 1


def resume(engine: Engine, *, retry_failed: bool = False) -> list[WorkDone]:
    """Finish the work left undone by processes that are gone (oldest first). Work that already failed
    `MAX_AUTO_ATTEMPTS` times is retried only with `retry_failed` (`cxchange doctor`)."""
    claimed = [
        row["id"]
        for row in pending(engine)
        if row["claimable"] and (row["attempts"] < MAX_AUTO_ATTEMPTS or retry_failed) and _claim(engine, row)
    ]
    # Merged (complete_many): a server killed under a stream of answers leaves many small batches.
    return complete_many(engine, claimed) if claimed else []


def resume_once(engine: Engine) -> None:
    """Once per process and database: one indexed query for undone work and, if any, `resume`. Never
    raises: the command that opened the database goes on whatever happens here."""
    key = str(engine.url)
    if key in _resumed:
        return
    _resumed.add(key)
    try:
        stmt = select(pending_work.c.id).where(pending_work.c.done_at.is_(None)).limit(1)
        with engine.connect() as conn:
            if conn.execute(stmt).first() is None:
                return
        for work in resume(engine):
            log.info("finished pending work %s (%s): %s", work.id, work.event, work.errors or "done")
    except Exception as exc:
        log.warning("pending work not resumed: %s", exc)


def forget_resumed() -> None:
    """Tests drop and recreate databases; the next open checks again."""
    _resumed.clear()
