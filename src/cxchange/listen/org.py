"""Importing the organisation from files (units, people): the reading is listen's, the tree is org's."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from cxchange.core.errors import InputError
from cxchange.listen.pipeline import unit_lookup
from cxchange.listen.readers import open_table
from cxchange.listen.tables import feedback
from cxchange.org.tree import upsert_people, upsert_units

UNIT_ATTRIBUTE = "org_unit"  # where an import keeps a unit value it could not resolve (validate.py)
LINK_CHUNK = 10_000  # ids per UPDATE when linking feedback to units


def _read_rows(path: str | Path, required: Iterable[str]) -> list[dict[str, Any]]:
    reader = open_table(path)
    missing = [c for c in required if c not in reader.info.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)} (columns: {', '.join(reader.info.columns)})",
            file=str(path),
            row=1,
            column=missing[0],
        )
    rows: list[dict[str, Any]] = []
    for chunk in reader.iter_chunks():
        if chunk.rejects:
            bad = chunk.rejects[0]
            raise InputError(bad.reason, file=str(path), row=bad.row_number)
        for rec, row_no in zip(chunk.frame.to_dicts(), chunk.row_numbers.tolist(), strict=True):
            rec["__row"] = row_no
            rows.append(rec)
    return rows


def import_org(
    engine: Engine, units_path: str | Path, people_path: str | Path | None = None
) -> dict[str, int]:
    """Load units (code, name, parent[, level]) and people (name, email, unit, role); re-import updates."""
    unit_rows = _read_rows(units_path, ("code", "name", "parent"))
    people_rows = _read_rows(people_path, ("name", "email", "unit", "role")) if people_path else []
    with engine.begin() as conn:
        n_units = upsert_units(conn, unit_rows, str(units_path))
        n_people = upsert_people(conn, people_rows, str(people_path)) if people_path else 0
        linked = link_feedback_to_units(conn)
    return {"units": n_units, "people": n_people, "feedback_linked": linked}


def link_by_attribute(engine: Engine, attribute: str) -> dict[str, Any]:
    """Link feedback stored without a unit to the unit its kept column `attribute` names (code, path or
    unique name, as an import reads `org_unit`). The way out when the export was imported without an
    org_unit mapping: 1,258 Skytrax reviews kept their airline in `airline_name`, and importing the
    file again with `--map org_unit=airline_name` skipped every row as a duplicate, so no airline ever
    had feedback. Says how many rows it linked and which values name no unit (the 20 most frequent)."""
    name = attribute.strip()
    if not name:
        raise InputError("org link needs the name of a kept column, e.g. `cxchange org link airline_name`")
    value = feedback.c.attributes[name].as_string()
    with engine.begin() as conn:
        held = conn.execute(
            select(value, func.count())
            .where(feedback.c.org_unit_id.is_(None), value.is_not(None))
            .group_by(value)
        ).all()
        if (
            not held
            and conn.execute(select(feedback.c.id).where(value.is_not(None)).limit(1)).first() is None
        ):
            raise InputError(
                f"no feedback has the attribute {name!r}: name a column kept at import (the attributes "
                "of `cxchange feedback --format json`)"
            )
        linked = link_feedback_to_units(conn, name)
        known = unit_lookup(conn)
    unknown = [
        {"value": v, "rows": n}
        for v, n in sorted(held, key=lambda vn: (-vn[1], vn[0]))
        if v.strip().lower() not in known
    ]
    return {
        "attribute": name,
        "feedback_linked": linked,
        "unknown_unit_values": len(unknown),
        "unknown_unit_rows": sum(u["rows"] for u in unknown),
        "unknown_units": unknown[:20],
    }


def link_feedback_to_units(conn: Connection, attribute: str = UNIT_ATTRIBUTE) -> int:
    """Feedback kept without a unit because its org unit was not known when it was imported (the value
    as written is in its attribute ``org_unit``): linked to the unit that value now names (code, path or
    unique name, as an import reads it). Imported before the org, 9,327 restaurant reviews stayed
    outside every unit for good: importing the units afterwards changed nothing and importing the
    file again skipped every row as a duplicate. `attribute`: another kept column naming the unit
    (`link_by_attribute`). The edit bumps `feedback_changes`, so score roll-ups,
    the columnar copy and the search index rebuild (listen/rollup.py)."""
    value = feedback.c.attributes[attribute].as_string()
    rows = conn.execute(
        select(feedback.c.id, value).where(feedback.c.org_unit_id.is_(None), value.is_not(None))
    ).all()
    if not rows:
        return 0
    lookup = unit_lookup(conn)
    by_unit: dict[int, list[int]] = {}
    for fid, v in rows:
        if (unit := lookup.get(v.strip().lower())) is not None:
            by_unit.setdefault(unit, []).append(fid)
    for unit, ids in by_unit.items():  # a statement per unit and chunk, not per row
        for start in range(0, len(ids), LINK_CHUNK):
            chunk = ids[start : start + LINK_CHUNK]
            conn.execute(update(feedback).where(feedback.c.id.in_(chunk)).values(org_unit_id=unit))
    return sum(len(ids) for ids in by_unit.values())
