"""Look-ups every change module shares: initiatives, people and units by what users type."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cxchange.change.models import Initiative, InitiativeUnit
from cxchange.core.errors import InputError, NotFoundError
from cxchange.org.models import OrgUnit, Person


def get_initiative(session: Session, ref: int | str) -> Initiative:
    """By id, or by exact (case-insensitive) name."""
    ini: Initiative | None = None
    if isinstance(ref, int) or (str(ref).strip().isascii() and str(ref).strip().isdigit()):
        ini = session.get(Initiative, int(ref))
    else:
        ini = session.scalars(
            select(Initiative).where(func.lower(Initiative.name) == str(ref).strip().lower())
        ).first()
    if ini is None:
        raise NotFoundError(f"no initiative {ref!r} (see `cxchange initiative list`)")
    return ini


def stamp_edit(row: Any, note: str | None) -> None:
    """Mark a row with a note (a step, an impact assessment) as edited now; a None note keeps the old."""
    if note is not None:
        row.note = note
    row.updated_at = datetime.utcnow()


def people_choices(engine: Engine) -> list[dict[str, Any]]:
    """Everyone who can be named on an initiative (sponsor, owner, RACI), by email."""
    stmt = select(Person.email, Person.name, Person.role).order_by(Person.email)
    with engine.connect() as conn:
        return [{"email": e, "name": n, "role": r} for e, n, r in conn.execute(stmt)]


def split_codes(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [v for x in value for v in str(x).split(",")]
    return [v.strip() for v in items if v.strip()]


def as_date(value: date | str | None, option: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{option} wants a date like 2026-01-31, got {value!r}") from None


def required_date(value: date | str | None, option: str) -> date:
    """`as_date` for an option that must be given."""
    found = as_date(value, option)
    if found is None:
        raise InputError(f"{option} is needed")
    return found


def initiative_units(session: Session, initiative_id: int) -> dict[str, list[OrgUnit]]:
    """role -> units (scope, pilot, control), each sorted by code."""
    rows = session.execute(
        select(InitiativeUnit.role, OrgUnit)
        .join(OrgUnit, OrgUnit.id == InitiativeUnit.unit_id)
        .where(InitiativeUnit.initiative_id == initiative_id)
        .order_by(OrgUnit.code)
    ).all()
    out: dict[str, list[OrgUnit]] = {"scope": [], "pilot": [], "control": []}
    for role, unit in rows:
        out.setdefault(role, []).append(unit)
    return out


def read_csv_rows(path: str, required: Iterable[str] = ()) -> tuple[list[str], list[dict[str, Any]]]:
    """(header, rows) of a CSV file; each row carries its 1-based line number in `__row`."""

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return parse_csv_text(fh.read(), path, required)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=path) from None


def parse_csv_text(
    text: str, file: str, required: Iterable[str] = ()
) -> tuple[list[str], list[dict[str, Any]]]:
    import csv
    import io

    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _parse_rows(reader, file, required)
    except csv.Error as exc:
        raise InputError(f"not valid CSV: {exc}", file=file, row=reader.line_num or 1) from None


def _parse_rows(reader: Any, file: str, required: Iterable[str]) -> tuple[list[str], list[dict[str, Any]]]:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError("the file is empty", file=file) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)} (columns: {', '.join(header)})",
            file=file,
            row=1,
            column=missing[0],
        )
    rows: list[dict[str, Any]] = []
    for i, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            raise InputError(f"{len(values)} cells but the header has {len(header)}", file=file, row=i)
        rec: dict[str, Any] = dict(zip(header, [v.strip() for v in values], strict=False))
        rec["__row"] = i
        rows.append(rec)
    return header, rows


def session_for(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
