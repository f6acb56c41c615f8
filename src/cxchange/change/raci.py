"""Governance: the RACI matrix of an initiative and its checks.

Rules (`check_raci`, pure):
- error `one-accountable`: every activity has exactly one A.
- error `responsible`: every activity has at least one R, unless its A also does the work ("A/R").
- error `one-letter`: a person holds one letter per activity.
- warning `many-responsible`: three or more R on one activity (nobody feels it is theirs).
- warning `many-consulted`: MANY_C or more C on one activity (decisions slow down).
- warning `accountable-for-most`: one person is A for more than half of the activities (3 or more).
- warning `no-r-or-a`: a person in the matrix who is never R or A (a spectator: is she needed?).
- warning `outside-units`: a person whose unit is neither in, beneath nor above the initiative's units.
- warning `no-matrix`: nobody holds any letter yet. Every rule above holds of an empty matrix, so the
  check said "no errors, no warnings" (and `initiative status` "0 error(s)") before any RACI was set.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select

from cxchange.change.common import (
    get_initiative,
    initiative_units,
    parse_csv_text,
    read_csv_rows,
    session_for,
)
from cxchange.change.models import Initiative, RaciAssignment
from cxchange.core.errors import InputError, NotFoundError
from cxchange.org.models import Person
from cxchange.org.tree import ancestor_ids, covered_unit_ids, org_tree, person_by_email

MANY_R = 3
MANY_C = 4
LETTERS = ("R", "A", "C", "I")
# What users may type: R, A, C, I; A/R (or AR, RA) for an accountable person who also does the work.
_DOES_WORK = {"A/R", "AR", "RA", "R/A"}


@dataclass(frozen=True)
class Cell:
    activity: str
    person: str
    letter: str
    does_work: bool = False


def parse_letter(value: str) -> tuple[str, bool] | None:
    """'R' -> ('R', False); 'A/R' -> ('A', True); '' -> None; anything else raises ValueError."""
    v = (value or "").strip().upper().replace(" ", "")
    if not v:
        return None
    if v in _DOES_WORK:
        return "A", True
    if v in LETTERS:
        return v, False
    raise ValueError(
        f"{value!r} is not one of R, A, C, I (or A/R for an accountable person who does the work)"
    )


def _finding(activity: str | None, person: str | None, level: str, rule: str, message: str) -> dict[str, Any]:
    return {"activity": activity, "person": person, "level": level, "rule": rule, "message": message}


def check_raci(cells: Sequence[Cell], outside: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Findings for a matrix: errors first, then warnings, each in activity order."""
    if not cells:
        return [
            _finding(
                None, None, "warning", "no-matrix",
                "no RACI matrix yet: nobody is accountable or responsible for anything; "
                "set it with `cxchange raci import INITIATIVE FILE.csv` or `cxchange raci set`",
            )
        ]  # fmt: skip
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    by_activity: dict[str, list[Cell]] = defaultdict(list)
    for c in cells:
        by_activity[c.activity].append(c)
    for activity, acts in by_activity.items():
        per_person = Counter(c.person for c in acts)
        for person, k in sorted(per_person.items()):
            if k > 1:
                letters = "".join(c.letter for c in acts if c.person == person)
                errors.append(
                    _finding(
                        activity,
                        person,
                        "error",
                        "one-letter",
                        f"{person} has {k} letters ({letters}) on {activity!r}; give one",
                    )
                )
        a = sorted({c.person for c in acts if c.letter == "A"})
        if len(a) == 0:
            errors.append(
                _finding(activity, None, "error", "one-accountable", f"{activity!r} has no A (accountable)")
            )
        elif len(a) > 1:
            errors.append(
                _finding(
                    activity,
                    None,
                    "error",
                    "one-accountable",
                    f"{activity!r} has {len(a)} people accountable ({', '.join(a)}); keep exactly one",
                )
            )
        r = sorted({c.person for c in acts if c.letter == "R"})
        a_works = any(c.letter == "A" and c.does_work for c in acts)
        if not r and not a_works:
            errors.append(
                _finding(
                    activity,
                    None,
                    "error",
                    "responsible",
                    f"{activity!r} has no R (responsible); add one or mark the A as doing the work (A/R)",
                )
            )
        if len(r) >= MANY_R:
            warnings.append(
                _finding(
                    activity,
                    None,
                    "warning",
                    "many-responsible",
                    f"{activity!r} has {len(r)} R: when many are responsible, nobody is",
                )
            )
        n_c = len({c.person for c in acts if c.letter == "C"})
        if n_c >= MANY_C:
            warnings.append(
                _finding(
                    activity,
                    None,
                    "warning",
                    "many-consulted",
                    f"{activity!r} has {n_c} C: consulting this many slows every decision",
                )
            )
    n_act = len(by_activity)
    acc = Counter(p for acts in by_activity.values() for p in {c.person for c in acts if c.letter == "A"})
    for person, k in sorted(acc.items()):
        if n_act >= 3 and k * 2 > n_act:
            warnings.append(
                _finding(
                    None,
                    person,
                    "warning",
                    "accountable-for-most",
                    f"{person} is accountable for {k} of {n_act} activities: a bottleneck",
                )
            )
    people = sorted({c.person for c in cells})
    doers = {c.person for c in cells if c.letter in ("R", "A")}
    for person in people:
        if person not in doers:
            warnings.append(
                _finding(
                    None,
                    person,
                    "warning",
                    "no-r-or-a",
                    f"{person} is never responsible or accountable: only consulted or informed",
                )
            )
    for person in sorted(set(outside) & set(people)):
        warnings.append(
            _finding(
                None, person, "warning", "outside-units", f"{person} works outside the initiative's units"
            )
        )
    return errors + warnings


# --- service -------------------------------------------------------------------------------------


def _cells(session: Any, initiative_id: int) -> list[tuple[RaciAssignment, Person]]:
    return list(
        session.execute(
            select(RaciAssignment, Person)
            .join(Person, Person.id == RaciAssignment.person_id)
            .where(RaciAssignment.initiative_id == initiative_id)
            .order_by(RaciAssignment.id)
        ).all()
    )


def _outside(session: Any, ini: Initiative, people: Iterable[Person]) -> set[str]:
    units = initiative_units(session, ini.id)
    codes = [u.code for role in ("scope", "pilot", "control") for u in units.get(role, [])]
    if not codes:
        return set()
    tree = org_tree(session)
    inside = covered_unit_ids(tree, codes)
    inside |= ancestor_ids(tree, inside)
    return {p.email for p in people if p.unit_id is None or p.unit_id not in inside}


def check(engine: Engine, initiative: int | str) -> list[dict[str, Any]]:
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        rows = _cells(s, ini.id)
        cells = [Cell(a.activity, p.email, a.letter, a.does_work) for a, p in rows]
        return check_raci(cells, _outside(s, ini, [p for _, p in rows]))


def set_cell(
    engine: Engine, initiative: int | str, activity: str, person: str, letter: str
) -> dict[str, Any]:
    """Give `person` one letter on `activity` (replacing any other); letter '-' or 'none' removes it."""
    activity = (activity or "").strip()
    if not activity:
        raise InputError("the activity is empty")
    remove = letter.strip().lower() in ("-", "none", "")
    parsed: tuple[str, bool] | None = None  # stays None when removing
    if not remove:
        try:
            parsed = parse_letter(letter)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        assert parsed is not None
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        p = person_by_email(s, person)
        existing = s.scalars(
            select(RaciAssignment).where(
                RaciAssignment.initiative_id == ini.id,
                RaciAssignment.activity == activity,
                RaciAssignment.person_id == p.id,
            )
        ).first()
        if parsed is None:
            if existing is None:
                raise NotFoundError(f"{p.email} has no letter on {activity!r}")
            s.delete(existing)
            return {"initiative": ini.id, "activity": activity, "person": p.email, "letter": None}
        letter_, does_work = parsed
        if existing is None:
            s.add(
                RaciAssignment(
                    initiative_id=ini.id,
                    activity=activity,
                    person_id=p.id,
                    letter=letter_,
                    does_work=does_work,
                )
            )
        else:
            existing.letter, existing.does_work = letter_, does_work
        return {
            "initiative": ini.id,
            "activity": activity,
            "person": p.email,
            "letter": "A/R" if does_work else letter_,
        }


def import_matrix(
    engine: Engine, initiative: int | str, file: str, text: str | None = None
) -> dict[str, Any]:
    """Replace the initiative's matrix with a CSV: `activity`, then one column per person's e-mail.
    `file`: the CSV's path; with `text` (its content), only the name errors give it."""
    header, rows = (
        parse_csv_text(text, file, ("activity",)) if text is not None else read_csv_rows(file, ("activity",))
    )
    if header[0] != "activity":
        raise InputError("the first column must be 'activity'", file=file, row=1, column=header[0])
    people_cols = [h for h in header[1:] if h]
    seen: set[str] = set()
    for col in people_cols:
        if col.lower() in seen:
            raise InputError("this person's column appears twice", file=file, row=1, column=col)
        seen.add(col.lower())
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        people: dict[str, Person] = {}
        for col in people_cols:
            try:
                people[col] = person_by_email(s, col)
            except NotFoundError:
                raise InputError(f"no person with e-mail {col!r}", file=file, row=1, column=col) from None
        activities: set[str] = set()
        new: list[RaciAssignment] = []
        for r in rows:
            activity = r.get("activity", "").strip()
            if not activity:
                raise InputError("the activity is empty", file=file, row=r["__row"], column="activity")
            if activity in activities:
                raise InputError(f"activity {activity!r} appears twice", file=file, row=r["__row"])
            activities.add(activity)
            for col in people_cols:
                try:
                    parsed = parse_letter(r.get(col, ""))
                except ValueError as exc:
                    raise InputError(str(exc), file=file, row=r["__row"], column=col) from None
                if parsed is not None:
                    new.append(
                        RaciAssignment(
                            initiative_id=ini.id,
                            activity=activity,
                            person_id=people[col].id,
                            letter=parsed[0],
                            does_work=parsed[1],
                        )
                    )
        s.execute(delete(RaciAssignment).where(RaciAssignment.initiative_id == ini.id))
        s.add_all(new)
        return {
            "initiative": ini.id,
            "activities": len(activities),
            "people": len(people_cols),
            "assignments": len(new),
        }


def show(engine: Engine, initiative: int | str) -> list[dict[str, Any]]:
    """One row per activity: {"activity", <email>: letter, …} (A/R for an A who does the work)."""
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        rows = _cells(s, ini.id)
    emails: list[str] = []
    matrix: dict[str, dict[str, str]] = {}
    for a, p in rows:
        if p.email not in emails:
            emails.append(p.email)
        matrix.setdefault(a.activity, {})[p.email] = "A/R" if a.does_work else a.letter
    return [{"activity": act, **{e: cells.get(e, "") for e in emails}} for act, cells in matrix.items()]
