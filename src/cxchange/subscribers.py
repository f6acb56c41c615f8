"""Who does what after a stage event (core/events.py), in order. Loaded by name from core.events, as
cxchange.models is from core.base: the lower stages that publish the events never import the higher
stages that subscribe.

"batch imported": the columnar copy, the search index (listen), cases and alerts (sustain), the decide
page's stored figures (decide). "analysis finished": theme cases and recognitions (sustain), the decide
page's figures. "pulse comments held": their release as feedback, once enough wait (listen).
Questions: decide asks sustain for the root causes of closed-loop cases by theme.
Every subscriber is idempotent: after a crash the whole list runs again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from cxchange.core.events import ANALYSIS_FINISHED, BATCH_IMPORTED, ROOT_CAUSES, answer, subscribe
from cxchange.decide.refresh import refresh_after_write
from cxchange.listen.after_commit import columnar_copy, search_index
from cxchange.listen.surveys.comments import PULSE_COMMENTS_HELD, release
from cxchange.sustain.cases import root_cause_counts
from cxchange.sustain.hooks import on_analysis_finished, on_batch_imported
from cxchange.understand.runs import close_unfinished_run


def _decide_figures(engine: Engine, _payload: Mapping[str, Any]) -> dict[str, Any]:
    return refresh_after_write(engine)  # never raises: a failure leaves the first reader to compute


subscribe(BATCH_IMPORTED, "columnar", columnar_copy)
subscribe(BATCH_IMPORTED, "search_index", search_index)
subscribe(BATCH_IMPORTED, "close_loop", on_batch_imported)
subscribe(BATCH_IMPORTED, "decide", _decide_figures)
subscribe(ANALYSIS_FINISHED, "run_status", close_unfinished_run)
subscribe(ANALYSIS_FINISHED, "close_loop", on_analysis_finished)
subscribe(ANALYSIS_FINISHED, "decide", _decide_figures)
subscribe(PULSE_COMMENTS_HELD, "release", release)
answer(ROOT_CAUSES, root_cause_counts)
