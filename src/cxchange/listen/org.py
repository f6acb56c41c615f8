"""Importing the organisation from files (units, people): the reading is listen's, the tree is org's."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.listen.readers import open_table
from cxchange.org.tree import upsert_people, upsert_units


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
    return {"units": n_units, "people": n_people}
