"""The data version: a few numbers that change whenever feedback, analyses, the taxonomy, themes or
the org tree change. Results derived from all of these (dashboard caches, the decide page's stored
figures) are keyed by it, so an import or an analysis shows at once and nothing stale is served.

Each number is one indexed look-up (max ids, the change counter, the taxonomy version), cheap enough
to read on every request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from cxchange.listen.models import FeedbackChanges, ImportBatch
from cxchange.org.models import OrgUnit
from cxchange.understand.models import AnalysisRun, TaxonomyVersion, Theme


def data_version(eng: Engine) -> tuple[Any, ...]:
    """Numbers that change when feedback, analyses, the taxonomy, themes or the org tree change."""
    queries = (
        select(func.max(ImportBatch.id)),
        select(func.max(FeedbackChanges.changes)),
        select(func.max(AnalysisRun.id), func.max(AnalysisRun.finished_at)),
        select(func.max(TaxonomyVersion.id)),
        select(func.count(OrgUnit.id), func.max(OrgUnit.id)),
        select(func.count(Theme.id), func.sum(Theme.effort), func.max(Theme.id)),
    )
    with eng.connect() as conn:
        return tuple(tuple(conn.execute(q).one()) for q in queries)
