"""The decide page's figures for one scope, computed once per data version and stored.

Key drivers with bootstrap intervals, the baseline NPS and each theme's opportunity figures read every
respondent in scope: seconds at a million rows. They depend only on the feedback, its analysis, the
taxonomy and the org tree, that is on the data version (understand/data_version.py). So they are kept
in `decide_snapshot`, one row per scope, keyed by that version:

* the import or analysis that makes a new version computes the whole-company figures at its end
  (`decide.refresh`), so the first reader after it (and after a server restart) reads one row;
* any other scope (a manager's unit) is computed by its first reader and stored for the next ones.

What changes without a new version (root causes recorded on cases) is applied when the figures are
read: the opportunities are ranked afresh each time (`rank_opportunities`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from cxchange.core.errors import AuthError, CxError, ForbiddenError
from cxchange.core.migrate import ensure_schema
from cxchange.decide.data import load_respondents, theme_driver_frame
from cxchange.decide.drivers import driver_table
from cxchange.decide.models import DecideSnapshot
from cxchange.decide.service import Scope, opportunity_figures, rank_opportunities
from cxchange.measure.scale import check_metric, default_metric
from cxchange.measure.service import ScoreQuery, scores
from cxchange.measure.stats import METRICS
from cxchange.understand.data_version import data_version

log = logging.getLogger(__name__)

BOOT = 200  # bootstrap resamples for the driver intervals
OPPORTUNITY_SHARE = 0.5  # share of complainers fixed in the ranking (the API's default)
OPPORTUNITY_DRAWS = 500  # the API's default draws per theme


def scope_key(where: Sequence[str], metric: str | None = None) -> str:
    """The stored row's key: the filters, and a metric the reader asked for (None, the scope's default
    metric, keeps the key figures had before a metric could be chosen)."""
    keyed: Any = list(where) if metric is None else [list(where), metric]
    return hashlib.sha256(json.dumps(keyed).encode()).hexdigest()


def _version_text(eng: Engine) -> str:
    return json.dumps(data_version(eng), default=str)


def compute_figures(eng: Engine, where: Sequence[str], metric: str | None = None) -> dict[str, Any]:
    """Drivers, baseline score and opportunity figures for one scope, by the services the CLI and API
    use, on `metric` (None: NPS when the scope has NPS answers, else its most-answered metric).

    A section that cannot be computed (nothing analysed, no answers) carries its error instead.
    The result is plain JSON (as stored), so a stored and a fresh result are the same."""
    where = tuple(where)
    out: dict[str, Any] = {"drivers": None, "drivers_error": None, "notes": []}
    # One load of the respondents for both the drivers and the opportunities (most of the time).
    try:
        respondents = load_respondents(eng, where=where, attrs=["segment"])
    except (AuthError, ForbiddenError):
        raise
    except CxError:  # each section below then loads on its own and reports its own error
        respondents = None
    if metric:
        metric = check_metric(metric)
    else:
        answers = {m: respondents.frame[m].drop_nulls().len() for m in METRICS} if respondents else {}
        metric = default_metric(answers)
    out["metric"] = metric
    try:
        frame, chosen, performance, notes = theme_driver_frame(
            eng, target=metric, where=where, respondents=respondents
        )
        out["drivers"] = driver_table(frame, metric, chosen, n_boot=BOOT, performance=performance)
        out["notes"] = notes
    except (AuthError, ForbiddenError):
        raise
    except CxError as exc:
        out["drivers_error"] = str(exc)
    baseline = scores(eng, ScoreQuery(metric=metric, where=where))
    # A row per rating scale (`measure.mixed`): no one baseline; drivers and opportunities say why.
    out["baseline"] = baseline[0] if len(baseline) == 1 else None
    out["figures"], out["opportunities_error"] = None, None
    try:
        out["figures"] = opportunity_figures(
            eng, share=OPPORTUNITY_SHARE, draws=OPPORTUNITY_DRAWS, scope=Scope(where=where),
            respondents=respondents, metric=metric,
        )  # fmt: skip
    except (AuthError, ForbiddenError):
        raise
    except CxError as exc:
        out["opportunities_error"] = str(exc)
    return json.loads(json.dumps(out, default=_plain))


def _plain(value: Any) -> Any:
    """numpy scalars and dates in a result, as JSON stores them."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def stored_figures(
    eng: Engine, where: Sequence[str], version: str | None = None, metric: str | None = None
) -> dict[str, Any] | None:
    """The stored figures for ``where`` (and an asked-for ``metric``) if they were computed at the
    current data version, else None."""
    version = version or _version_text(eng)
    with eng.connect() as conn:
        row = conn.execute(
            select(DecideSnapshot.payload).where(
                DecideSnapshot.scope_key == scope_key(where, metric), DecideSnapshot.data_version == version
            )
        ).first()
    # Figures stored before a metric could be chosen were NPS whatever the scope had: computed afresh.
    if row is None or "metric" not in row.payload:
        return None
    return dict(row.payload)


def store_figures(
    eng: Engine,
    where: Sequence[str],
    version: str,
    figures: dict[str, Any],
    seconds: float,
    metric: str | None = None,
) -> None:
    key = scope_key(where, metric)
    try:
        with eng.begin() as conn:
            conn.execute(delete(DecideSnapshot).where(DecideSnapshot.scope_key == key))
            conn.execute(
                insert(DecideSnapshot).values(
                    scope_key=key,
                    scope=list(where),
                    data_version=version,
                    computed_at=datetime.utcnow(),
                    seconds=round(seconds, 3),
                    payload=figures,
                )
            )
    except IntegrityError:  # another process stored the same scope at the same moment: theirs stands
        pass


def figures(eng: Engine, where: Sequence[str], metric: str | None = None) -> dict[str, Any]:
    """The stored figures when they match the data version; else computed now and stored. ``metric``:
    one the reader asked for (None: the scope's default, the figures a write stores)."""
    ensure_schema(eng)
    version = _version_text(eng)  # read before computing: a write meanwhile makes a newer version
    found = stored_figures(eng, where, version, metric)
    if found is not None:
        return found
    started = time.perf_counter()
    computed = compute_figures(eng, where, **({"metric": metric} if metric else {}))
    store_figures(eng, where, version, computed, time.perf_counter() - started, metric)
    return computed


def decide_overview(eng: Engine, where: Sequence[str], metric: str | None = None) -> dict[str, Any]:
    """What the decide page shows for one scope: `figures` with the opportunities ranked now
    (current efforts and root causes), under "opportunities"."""
    out = dict(figures(eng, where, metric))
    measured = out.pop("figures")
    out["opportunities"] = rank_opportunities(eng, measured) if measured is not None else None
    return out
