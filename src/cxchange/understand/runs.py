"""Analysis runs that ended without finishing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cxchange.understand.models import AnalysisRun


def close_unfinished_run(engine: Engine, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Part of a run's "analysis finished" work (core/events.py): a run still "running" when that work is
    done ended without finishing (an error, or a process killed and resumed by the next one), so it is
    marked "interrupted" rather than left running for ever. A finished run is already "done": no-op."""
    with Session(engine) as session, session.begin():
        run = session.get(AnalysisRun, payload["run_id"])
        if run is None or run.status != "running":
            return {"interrupted": False}
        run.status, run.finished_at = "interrupted", datetime.utcnow()
    return {"interrupted": True}
