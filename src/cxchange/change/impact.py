"""Change impact per group and change saturation across the organisation.

An initiative scores the ten aspects of change (IMPACT_ASPECTS) for each impacted unit from 0 to 5;
0 means not affected and is left out of the average, so the unit's impact is the mean of the aspects
that change. A unit's load in a month is the sum of the impacts of every initiative active that month
(not cancelled, started on or before the month's last day, not ended before its first day); an
assessment of a unit applies to the units beneath it unless they have their own. A unit whose load
is over the saturation threshold (`--threshold`, else CXCHANGE_SATURATION_THRESHOLD, else 6: e.g.
two concurrent changes of impact 3 each reach it) is flagged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from cxchange.change.common import get_initiative, session_for, stamp_edit
from cxchange.change.models import IMPACT_ASPECTS, ImpactAssessment, Initiative
from cxchange.core.errors import InputError
from cxchange.org.tree import org_tree, unit_by_code

THRESHOLD_ENV = "CXCHANGE_SATURATION_THRESHOLD"
DEFAULT_THRESHOLD = 6.0


def impact_score(scores: Mapping[str, int]) -> float | None:
    """Mean of the aspects scored 1–5; None when nothing is affected."""
    hit = [v for v in scores.values() if v]
    return round(sum(hit) / len(hit), 2) if hit else None


def saturation_threshold(value: float | None = None) -> float:
    if value is not None:
        return float(value)
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    try:
        return float(raw) if raw else DEFAULT_THRESHOLD
    except ValueError:
        raise InputError(f"{THRESHOLD_ENV} wants a number, got {raw!r}") from None


def parse_month(value: str, option: str) -> date:
    try:
        return datetime.strptime(value.strip()[:7], "%Y-%m").date()
    except ValueError:
        raise InputError(f"{option} wants a month like 2026-03, got {value!r}") from None


def months_between(first: date, last: date) -> list[date]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_end(m: date) -> date:
    nxt = date(m.year + 1, 1, 1) if m.month == 12 else date(m.year, m.month + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def active_in(start: date, end: date | None, month: date) -> bool:
    return start <= _month_end(month) and (end is None or end >= month)


@dataclass(frozen=True)
class Load:
    initiative: str
    start: date
    end: date | None
    impacts: Mapping[int, float]  # unit id -> impact score


def monthly_load(
    loads: Sequence[Load], months: Sequence[date], parent: Mapping[int, int | None]
) -> dict[tuple[int, date], tuple[float, list[str]]]:
    """(unit, month) -> (load, initiatives). Each initiative's impact reaches a unit from the nearest
    assessed unit at or above it."""

    def spread(impacts: Mapping[int, float]) -> dict[int, float]:
        out: dict[int, float] = {}
        for u in set(parent) | set(impacts):
            cur: int | None = u
            seen: set[int] = set()
            while cur is not None and cur not in impacts and cur not in seen:
                seen.add(cur)
                cur = parent.get(cur)
            if cur is not None and cur in impacts:
                out[u] = impacts[cur]
        return out

    result: dict[tuple[int, date], tuple[float, list[str]]] = {}
    for load in loads:
        reach = spread(load.impacts)
        for m in months:
            if not active_in(load.start, load.end, m):
                continue
            for u, v in reach.items():
                total, names = result.get((u, m), (0.0, []))
                result[(u, m)] = (round(total + v, 2), [*names, load.initiative])
    return result


def set_impact(
    engine: Engine,
    initiative: int | str,
    unit: str,
    scores: Mapping[str, int | None],
    note: str | None = None,
) -> dict[str, Any]:
    """Score aspects 0–5 for one unit; aspects not given keep their value (0 when new)."""
    clean: dict[str, int] = {}
    for aspect, value in scores.items():
        if value is None:
            continue
        if aspect not in IMPACT_ASPECTS:
            raise InputError(f"unknown aspect {aspect!r}; use {', '.join(IMPACT_ASPECTS)}")
        if not 0 <= int(value) <= 5:
            raise InputError(f"--{aspect.replace('_', '-')} is out of range: {value} (use 0 to 5)")
        clean[aspect] = int(value)
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        u = unit_by_code(s, unit)
        row = s.scalars(
            select(ImpactAssessment).where(
                ImpactAssessment.initiative_id == ini.id, ImpactAssessment.unit_id == u.id
            )
        ).first()
        if row is None:
            row = ImpactAssessment(initiative_id=ini.id, unit_id=u.id, scores={a: 0 for a in IMPACT_ASPECTS})
            s.add(row)
        row.scores = {**{a: 0 for a in IMPACT_ASPECTS}, **(row.scores or {}), **clean}
        stamp_edit(row, note)
        return {
            "initiative": ini.id,
            "unit": u.code,
            **row.scores,
            "impact": impact_score(row.scores),
            "aspects_affected": sum(1 for v in row.scores.values() if v),
        }


def show_impact(engine: Engine, initiative: int | str) -> list[dict[str, Any]]:
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        tree = org_tree(s)
        rows = list(s.scalars(select(ImpactAssessment).where(ImpactAssessment.initiative_id == ini.id)))
    out = []
    for r in sorted(rows, key=lambda r: tree.units[r.unit_id].path):
        scores = {a: (r.scores or {}).get(a, 0) for a in IMPACT_ASPECTS}
        out.append(
            {
                "unit": tree.units[r.unit_id].code,
                **scores,
                "impact": impact_score(scores),
                "aspects_affected": sum(1 for v in scores.values() if v),
                "note": r.note,
            }
        )
    return out


def heatmap(
    engine: Engine,
    *,
    from_month: str | None = None,
    to_month: str | None = None,
    threshold: float | None = None,
) -> list[dict[str, Any]]:
    """One row per (unit, month) with load > 0: load, initiatives, and `over` the threshold."""
    limit = saturation_threshold(threshold)
    with session_for(engine) as s:
        tree = org_tree(s)
        inis = list(s.scalars(select(Initiative).where(Initiative.status != "cancelled")))
        assessments = list(s.scalars(select(ImpactAssessment)))
    by_ini: dict[int, dict[int, float]] = {}
    for a in assessments:
        score = impact_score(a.scores or {})
        if score is not None:
            by_ini.setdefault(a.initiative_id, {})[a.unit_id] = score
    loads = [Load(i.name, i.start, i.end, by_ini[i.id]) for i in inis if i.id in by_ini]
    if from_month:
        first = parse_month(from_month, "--from")
    elif loads:
        first = min(ld.start for ld in loads).replace(day=1)
    else:
        first = date.today().replace(day=1)
    if to_month:
        last = parse_month(to_month, "--to")
    else:
        ends = [ld.end for ld in loads if ld.end is not None]
        last = max([date.today(), *ends, *(ld.start for ld in loads)]).replace(day=1)
    if last < first:
        raise InputError(f"--to {last:%Y-%m} is before --from {first:%Y-%m}")
    months = months_between(first, last)
    if len(months) > 120:
        raise InputError("the heatmap covers at most 120 months; narrow --from/--to")
    parent = {u.id: u.parent_id for u in tree.units.values()}
    cells = monthly_load(loads, months, parent)
    out = []
    for (uid, m), (load, names) in sorted(
        cells.items(), key=lambda kv: (tree.units[kv[0][0]].path, kv[0][1])
    ):
        out.append(
            {
                "unit": tree.units[uid].code,
                "name": tree.units[uid].name,
                "month": f"{m:%Y-%m}",
                "load": load,
                "initiatives": ", ".join(names),
                "over": load > limit,
                "threshold": limit,
            }
        )
    return out


def pivot(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """unit × month table for people: the load, marked '!' when over the threshold."""
    months = sorted({r["month"] for r in rows})
    table: dict[str, dict[str, Any]] = {}
    for r in rows:
        row = table.setdefault(r["unit"], {"unit": r["unit"], **{m: "" for m in months}})
        row[r["month"]] = f"{r['load']:g}{' !' if r['over'] else ''}"
    return list(table.values())
