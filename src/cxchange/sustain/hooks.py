"""What the import and analysis pipelines call when they finish, so the loop closes by itself.

- `after_import(engine, batch_id)`: opens cases for the batch's recent feedback (score rules; only
  feedback received within each rule's window, so a backfill of history opens none), evaluates the
  alert rules (each judges only its own recent window), and hands any new deliveries to a background
  daemon thread (`deliver="background"`, the default), so the import never waits for SMTP or a
  webhook; deliveries that thread does not finish stay pending and are sent (or retried) by the next
  `cxchange alerts check`. `deliver="pending"` only queues them; `deliver="now"` sends them before
  returning (tests, scripts).
- `after_analyze(engine, run_id)`: opens theme-negative cases for that run's recent mentions and
  records recognitions of named staff in that run's comments.

`now` is the clock both judge "recent" by (default: the current UTC time). Both return the counts
the import and analysis results report (`cases_opened`, `alerts_evaluated`, `alerts_raised`), are
idempotent and never raise: a failure is logged and returned under "errors".

`on_batch_imported` and `on_analysis_finished` are the same work as stage-event subscribers
(core/events.py, registered in cxchange/subscribers.py): a step that fails as a whole raises there, so
the pending work stays undone and is retried instead of being lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from cxchange.core.events import batch_ids
from cxchange.sustain.alerts import evaluate
from cxchange.sustain.cases import cases_for_analysis, cases_for_batch
from cxchange.sustain.delivery import deliver_due, deliver_in_background
from cxchange.sustain.recognition import record_recognitions

log = logging.getLogger(__name__)


def _step(out: dict[str, Any], label: str, after: str, strict: bool, work: Callable[[], None]) -> None:
    """Run one step of closing the loop; a failure is logged and kept under "errors" (raised when strict)."""
    try:
        work()
    except Exception as exc:
        if strict:
            raise
        log.warning("%s after %s failed: %s", label, after, exc)
        out["errors"].append(f"{label}: {exc}")


def _count_cases(out: dict[str, Any], made: dict[str, Any]) -> None:
    out["cases_opened"] = made["cases"]
    out["errors"] += made["errors"]


def after_import(
    engine: Engine,
    batch_id: int | list[int] | None,
    *,
    deliver: str = "background",
    now: datetime | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    out: dict[str, Any] = {"cases_opened": 0, "alerts_evaluated": 0, "alerts_raised": 0, "errors": []}
    if batch_id is None:
        return out

    def alerts() -> None:
        ev = evaluate(engine, now=now)
        out["alerts_evaluated"], out["alerts_raised"] = ev["evaluated"], len(ev["fired"])
        out["errors"] += ev["notes"]
        if ev["fired"]:
            if deliver == "background":
                deliver_in_background(engine)
            elif deliver == "now":
                out["deliveries"] = deliver_due(engine)

    after = f"import of batch {batch_id}"
    _step(out, "cases", after, strict, lambda: _count_cases(out, cases_for_batch(engine, batch_id, now=now)))
    _step(out, "alerts", after, strict, alerts)
    return out


def after_analyze(
    engine: Engine, run_id: int | None, *, now: datetime | None = None, strict: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {"cases_opened": 0, "recognitions": 0, "errors": []}
    if run_id is None:
        return out

    def recognitions() -> None:
        out["recognitions"] = record_recognitions(engine, run_id=run_id)["recognitions"]

    after = f"analysis run {run_id}"
    _step(out, "cases", after, strict, lambda: _count_cases(out, cases_for_analysis(engine, run_id, now=now)))
    _step(out, "recognition", after, strict, recognitions)
    return out


def _clock(payload: Mapping[str, Any]) -> datetime | None:
    """The payload's "now" (the demo's fixed clock), else None: the current time."""
    return datetime.fromisoformat(payload["now"]) if payload.get("now") else None


def on_batch_imported(engine: Engine, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Subscriber of "batch imported": cases and alerts for the batch, unless the import said not to."""
    if not payload.get("close_loop", True):
        return {"cases_opened": 0, "alerts_evaluated": 0, "alerts_raised": 0, "errors": []}
    return after_import(engine, batch_ids(payload), now=_clock(payload), strict=True)


def on_analysis_finished(engine: Engine, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Subscriber of "analysis finished": theme cases and recognitions of the run's mentions (a few
    queries that find nothing for a run that analysed nothing)."""
    return after_analyze(engine, payload["run_id"], now=_clock(payload), strict=True)
