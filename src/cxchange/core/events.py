"""Stage events: lower stages publish what happened, higher stages subscribe, and the work is resumable.

A lower stage (listen, understand) must not import a higher one (sustain, decide), yet an import has to
open cases and an analysis has to record recognitions. So the lower stage records an event
(`record`, inside the transaction that stores its batch or run: a `pending_work` row) and, after the
commit, has it done (`complete`): every subscriber of that event runs in order, then the row is marked
done. A process killed between the commit and the end of the work leaves the row undone; the next
process that opens the database (`resume_once`, from `core.db.get_engine`) or `cxchange doctor`
finishes it. Subscribers must therefore be idempotent.

Subscribers are registered by one module, `SUBSCRIBER_REGISTRY`, loaded by name (as `core.db` loads the
models), so a fresh process knows them without any lower stage importing a higher one.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from cxchange.core.models import PendingWork
from cxchange.core.processes import pid_alive

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
    return int(conn.execute(insert(PendingWork).values(**values)).inserted_primary_key[0])


@dataclass
class WorkDone:
    """What one piece of pending work did: each subscriber's answer and seconds, and the failures."""

    id: int
    event: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "done": self.done,
            "errors": self.errors,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "results": self.results,
        }


def complete(engine: Engine, work_id: int) -> WorkDone:
    """Run every subscriber of the recorded event, then mark it done (or record why not, releasing the
    claim so another command retries). Never raises for a subscriber's failure."""
    with engine.connect() as conn:
        row = conn.execute(
            select(PendingWork.event, PendingWork.payload).where(PendingWork.id == work_id)
        ).one()
    out = WorkDone(work_id, row.event)
    try:
        handlers = subscribers(row.event)
    except Exception as exc:  # a broken registry: nothing runs, the work stays pending
        log.warning("subscribers of %r not loaded: %s", row.event, exc)
        out.errors.append(f"subscribers: {exc}")
        handlers = []
    for name, handler in handlers:
        started = time.perf_counter()
        try:
            out.results[name] = dict(handler(engine, row.payload) or {})
        except Exception as exc:  # the others still run; this one is retried later
            log.warning("%s: %s after %r failed: %s", work_id, name, row.event, exc)
            out.errors.append(f"{name}: {exc}")
        out.seconds[name] = time.perf_counter() - started
    values: dict[str, Any] = {"attempts": PendingWork.attempts + 1, "claimed_by": None, "claimed_at": None}
    if out.done:
        values.update(done_at=datetime.utcnow(), last_error=None)
    else:
        values["last_error"] = "; ".join(out.errors)[:2000]
    with engine.begin() as conn:
        conn.execute(update(PendingWork).where(PendingWork.id == work_id).values(**values))
        # One row an import or analysis: the old done ones go (an indexed range), so the table stays small.
        conn.execute(delete(PendingWork).where(PendingWork.done_at < datetime.utcnow() - KEEP_DONE))
    return out


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
    stmt = select(PendingWork).where(PendingWork.done_at.is_(None)).order_by(PendingWork.id)
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
    stmt = update(PendingWork).where(PendingWork.id == row["id"], PendingWork.done_at.is_(None))
    if row["claimed_by"] is None:
        stmt = stmt.where(PendingWork.claimed_by.is_(None))
    else:
        stmt = stmt.where(PendingWork.claimed_by == row["claimed_by"])
    with engine.begin() as conn:
        return conn.execute(stmt.values(claimed_by=_me(), claimed_at=now)).rowcount == 1


def resume(engine: Engine, *, retry_failed: bool = False) -> list[WorkDone]:
    """Finish the work left undone by processes that are gone (oldest first). Work that already failed
    `MAX_AUTO_ATTEMPTS` times is retried only with `retry_failed` (`cxchange doctor`)."""
    done = []
    for row in pending(engine):
        if not row["claimable"] or (row["attempts"] >= MAX_AUTO_ATTEMPTS and not retry_failed):
            continue
        if _claim(engine, row):
            done.append(complete(engine, row["id"]))
    return done


def resume_once(engine: Engine) -> None:
    """Once per process and database: one indexed query for undone work and, if any, `resume`. Never
    raises: the command that opened the database goes on whatever happens here."""
    key = str(engine.url)
    if key in _resumed:
        return
    _resumed.add(key)
    try:
        stmt = select(PendingWork.id).where(PendingWork.done_at.is_(None)).limit(1)
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
