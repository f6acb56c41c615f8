"""The decide page's stored figures after a write (import, analysis), without loading the decide stage
until there is something to compute: an import into a database nothing has analysed yet (every first
load) checks one table and returns, instead of importing the figures' modules into its wait."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine, exists, select

from cxchange.understand.models import FeedbackSentiment

log = logging.getLogger(__name__)


def refresh_after_write(eng: Engine) -> dict[str, Any]:
    """Compute and store the whole-company figures for the current data version, at the end of a write
    (import, analysis) that made it. Skipped while nothing is analysed (the page then only says so).
    Never raises: the write is committed, and a failure only leaves the first reader to compute.

    Returns {"computed": bool, "seconds": float} for the write's summary."""
    started = time.perf_counter()
    try:
        with eng.connect() as conn:
            analysed = conn.execute(select(exists().select_from(FeedbackSentiment))).scalar()
        if analysed:
            from cxchange.decide.overview import figures

            figures(eng, ())
    except Exception as exc:  # never fail a committed write over a derived result
        log.warning("decide figures after the write failed: %s", exc)
        analysed = False
    return {"computed": bool(analysed), "seconds": round(time.perf_counter() - started, 3)}
