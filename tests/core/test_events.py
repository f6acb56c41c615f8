"""Stage events (core/events.py): recorded with the transaction, done after it, resumable after a crash."""

from __future__ import annotations

import ast
import socket
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from cxchange.core import events
from cxchange.core.models import PendingWork

EVENT = "test event"
SRC = Path(__file__).resolve().parents[2] / "src" / "cxchange"


@pytest.fixture
def calls() -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def first(_engine: Engine, payload: Mapping[str, Any]) -> dict[str, Any]:
        seen.append(("first", payload["n"]))
        return {"n": payload["n"]}

    def second(_engine: Engine, payload: Mapping[str, Any]) -> None:
        if payload.get("fail"):
            raise RuntimeError("second is down")
        seen.append(("second", payload["n"]))

    events.subscribe(EVENT, "first", first)
    events.subscribe(EVENT, "second", second)
    yield seen
    events._subscribers.pop(EVENT, None)


def _row(engine: Engine, work_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(PendingWork).where(PendingWork.id == work_id)).mappings().one()


def test_work_is_recorded_with_the_transaction_and_done_after_it(engine: Engine, calls: list[Any]) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        events.record(conn, EVENT, {"n": 0})
        raise RuntimeError("the batch rolls back")
    assert events.pending(engine) == []  # nothing recorded for a batch that never was
    with engine.begin() as conn:
        work_id = events.record(conn, EVENT, {"n": 1})
    assert [r["id"] for r in events.pending(engine)] == [work_id]
    assert not events.pending(engine)[0]["claimable"]  # this (live) process is doing it
    done = events.complete(engine, work_id)
    assert done.done and done.results["first"] == {"n": 1} and calls == [("first", 1), ("second", 1)]
    row = _row(engine, work_id)
    assert row["done_at"] is not None and row["attempts"] == 1 and row["claimed_by"] is None
    assert events.resume(engine) == []


def test_failed_work_stays_pending_and_is_retried(engine: Engine, calls: list[Any]) -> None:
    with engine.begin() as conn:
        work_id = events.record(conn, EVENT, {"n": 2, "fail": True})
    done = events.complete(engine, work_id)
    assert not done.done and done.errors == ["second: second is down"]
    row = _row(engine, work_id)
    assert row["done_at"] is None and "second is down" in row["last_error"] and row["claimed_by"] is None
    with engine.begin() as conn:  # fixed: the next command finishes it
        conn.execute(update(PendingWork).where(PendingWork.id == work_id).values(payload={"n": 2}))
    assert [w.done for w in events.resume(engine)] == [True]
    assert calls == [("first", 2), ("first", 2), ("second", 2)]  # subscribers are idempotent: rerun whole


def test_work_of_a_dead_process_is_resumed_and_a_live_claim_respected(
    engine: Engine, calls: list[Any]
) -> None:
    with engine.begin() as conn:
        dead = events.record(conn, EVENT, {"n": 3})
        live = events.record(conn, EVENT, {"n": 4})
        old = events.record(conn, EVENT, {"n": 5})
        host = socket.gethostname()
        conn.execute(update(PendingWork).where(PendingWork.id == dead).values(claimed_by=f"{host}:99999999"))
        conn.execute(update(PendingWork).where(PendingWork.id == live).values(claimed_by="elsewhere:1"))
        stale = datetime.utcnow() - events.CLAIM_LEASE - timedelta(minutes=1)
        conn.execute(
            update(PendingWork)
            .where(PendingWork.id == old)
            .values(claimed_by="elsewhere:2", claimed_at=stale)
        )
    assert sorted(w.id for w in events.resume(engine)) == [dead, old]
    assert [r["id"] for r in events.pending(engine)] == [live]


def test_work_failing_again_and_again_is_left_to_the_doctor(engine: Engine, calls: list[Any]) -> None:
    with engine.begin() as conn:
        work_id = events.record(conn, EVENT, {"n": 6, "fail": True})
        conn.execute(
            update(PendingWork)
            .where(PendingWork.id == work_id)
            .values(claimed_by=None, attempts=events.MAX_AUTO_ATTEMPTS)
        )
    assert events.resume(engine) == []
    assert [w.id for w in events.resume(engine, retry_failed=True)] == [work_id]


@pytest.mark.parametrize("module", ["listen/service.py", "understand/analyze.py", "demo/load.py"])
def test_lower_stages_publish_events_instead_of_importing_sustain(module: str) -> None:
    tree = ast.parse((SRC / module).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.startswith(("cxchange.sustain", "cxchange.decide"))}


@pytest.fixture
def batch_calls() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def handler(_engine: Engine, payload: Mapping[str, Any]) -> dict[str, Any]:
        seen.append(dict(payload))
        return {"batches": events.batch_ids(payload)}

    events.subscribe(BATCH_EVENT, "catch_up", handler)
    yield seen
    events._subscribers.pop(BATCH_EVENT, None)


BATCH_EVENT = "test batch event"


def _recorded(engine: Engine, payloads: list[dict[str, Any]]) -> list[int]:
    with engine.begin() as conn:
        return [events.record(conn, BATCH_EVENT, p) for p in payloads]


def test_work_about_batches_is_merged_into_one_run(engine: Engine, batch_calls: list[Any]) -> None:
    *ids, other = _recorded(engine, [{"batch_id": b, "close_loop": b < 10} for b in (7, 8, 9, 10)])
    done = events.complete_many(engine, [*ids, other])
    # Same payload but the batch: one run for 7, 8 and 9; close_loop differs: 10 runs on its own.
    assert [(w.ids, w.results["catch_up"]["batches"]) for w in done] == [(ids, [7, 8, 9]), ([other], [10])]
    assert batch_calls == [
        {"close_loop": True, "batch_ids": [7, 8, 9]},
        {"close_loop": False, "batch_ids": [10]},
    ]
    assert events.pending(engine) == []  # every row marked done


def test_background_work_is_done_by_the_process_and_resumed_after_a_crash(
    engine: Engine, batch_calls: list[Any]
) -> None:
    for work_id in _recorded(engine, [{"batch_id": 1}, {"batch_id": 2}]):
        events.complete_in_background(engine, work_id)
    events.wait_for_background(engine)
    assert events.pending(engine) == []
    assert [events.batch_ids(p) for p in batch_calls] in ([[1, 2]], [[1], [2]])
    # A process killed before its background worker ran: its claims lapse with it, and the next process
    # resumes the work, merged.
    with engine.begin() as conn:
        lost = [events.record(conn, BATCH_EVENT, {"batch_id": b}) for b in (3, 4)]
        conn.execute(
            update(PendingWork)
            .where(PendingWork.id.in_(lost))
            .values(claimed_by=f"{socket.gethostname()}:99999999")
        )
    resumed = events.resume(engine)
    assert [w.ids for w in resumed] == [lost] and batch_calls[-1]["batch_ids"] == [3, 4]
