"""Case counts per unit and period: one function for `cases stats`, `/api/cases/stats`, the sustain
page, the overview and the scorecards, so they always count the same cases.

A case belongs to the period its feedback was received in — the period its score counts in — not
to the day it was opened: a scorecard for March counts the cases opened for March's unhappy
customers, even when they were opened in April (the scorecard once filtered on the opening date,
so every unit showed "0 / 0" while the overview counted thousands). Open, contacted and overdue are
the cases' state at `now`.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from cxchange.core.errors import InputError
from cxchange.core.period import Period
from cxchange.core.types import as_datetime
from cxchange.listen.models import Feedback
from cxchange.org.models import OrgUnit
from cxchange.org.tree import load_org_tree
from cxchange.sustain.models import Case
from cxchange.understand.models import Theme


def summarise(cases: Sequence[Sequence[Any]], names: dict[int, str], now: datetime) -> dict[str, Any]:
    """Counts of (status, opened_at, due_at, resolved_at, root cause theme id) rows."""
    rows = [
        (st, as_datetime(op), as_datetime(due), as_datetime(res), root) for st, op, due, res, root in cases
    ]
    unresolved = [r for r in rows if r[0] != "resolved"]
    resolved = [r for r in rows if r[0] == "resolved" and r[3] is not None]
    hours = [(r[3] - r[1]).total_seconds() / 3600 for r in resolved if r[1] is not None]  # type: ignore[operator]
    on_time = sum(r[2] is not None and r[3] <= r[2] for r in resolved)  # type: ignore[operator]
    roots = Counter(names.get(r[4], str(r[4])) for r in rows if r[4] is not None)
    return {
        "cases": len(rows),
        "open": sum(r[0] == "open" for r in rows),
        "contacted": sum(r[0] == "contacted" for r in rows),
        "resolved": len(resolved),
        "overdue": sum(r[2] is not None and r[2] < now for r in unresolved),
        "resolved_within_sla": on_time,
        "median_hours_to_close": round(statistics.median(hours), 1) if hours else None,
        "pct_within_sla": round(100.0 * on_time / len(resolved), 1) if resolved else None,
        "root_causes": dict(roots.most_common()),
    }


def stats(
    engine: Engine,
    *,
    by: str | None = None,
    unit: str | Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Cases, open, contacted, overdue, resolved (within SLA), median hours to close and root causes:
    overall (`by` None), per case unit (`by="unit"`, group key "unit": its code) or per org level
    (`by="org:LEVEL"`, a level name or depth; group key "org:LEVEL": the ancestor's name, as
    `scores --by org:LEVEL` names it; cases of units outside that level in group None).

    `unit` (one code or several) keeps those units and everything beneath them; `since` / `until`
    ([since, until)) keep the cases whose feedback was received in that period."""
    if by is not None and by != "unit" and not (by.startswith("org:") and len(by) > 4):
        raise InputError(f"--by wants unit or org:LEVEL (e.g. org:store, org:2), got {by!r}")
    tree = load_org_tree(engine)
    keep = tree.subtree_ids_of(unit) if unit else None
    now = now or datetime.utcnow()
    stmt = select(
        Case.unit_id, Case.status, Case.opened_at, Case.due_at, Case.resolved_at, Case.root_cause_theme_id
    )
    period = Period(since, until)
    if period.bounded:
        stmt = period.where(stmt.join(Feedback, Feedback.id == Case.feedback_id), Feedback.received_at)
    with engine.connect() as conn:
        cases = conn.execute(stmt).all()
        names = dict(conn.execute(select(Theme.id, Theme.name)).all())
        codes = dict(conn.execute(select(OrgUnit.id, OrgUnit.code)).all())
    if keep is not None:
        cases = [c for c in cases if c[0] in keep]
    if by is None:
        return [{"group": {}, **summarise([c[1:] for c in cases], names, now)}]
    label = codes if by == "unit" else tree.ancestor_map(by[4:])
    groups: dict[Any, list[Sequence[Any]]] = defaultdict(list)
    for c in cases:
        groups[label.get(c[0]) if c[0] is not None else None].append(c[1:])
    rows = [{"group": {by: g}, **summarise(cs, names, now)} for g, cs in groups.items()]
    return sorted(rows, key=lambda r: (r["group"][by] is None, str(r["group"][by])))
