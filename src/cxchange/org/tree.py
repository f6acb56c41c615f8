"""The organisation as a tree: units in a hierarchy (company > region > store …), the people in
them, and the look-ups by what users type (unit codes, e-mails)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.orm import Session

from cxchange.core.bulk import inserted_id
from cxchange.core.errors import InputError, NotFoundError
from cxchange.core.names import check_name
from cxchange.org.models import OrgUnit, Person


@dataclass
class Unit:
    id: int
    code: str
    name: str
    parent_id: int | None
    level: str | None
    depth: int
    path: str


@dataclass
class OrgTree:
    units: dict[int, Unit] = field(default_factory=dict)

    @property
    def names(self) -> dict[int, str]:
        return {u.id: u.name for u in self.units.values()}

    def by_code(self, code: str) -> Unit:
        for u in self.units.values():
            if u.code.lower() == code.lower():
                return u
        raise NotFoundError(f"no org unit with code {code!r}")

    def subtree_ids(self, code: str) -> set[int]:
        """The unit and every unit beneath it (a manager sees all of these)."""
        root = self.by_code(code)
        prefix = root.path + "/"
        return {u.id for u in self.units.values() if u.id == root.id or u.path.startswith(prefix)}

    def subtree_ids_of(self, codes: str | Iterable[str]) -> set[int]:
        """The union of `subtree_ids` over one code or several."""
        out: set[int] = set()
        for code in [codes] if isinstance(codes, str) else codes:
            out |= self.subtree_ids(code)
        return out

    def lowest_level(self) -> str:
        """The level of the deepest units (its name, else its depth as a number): the default of a
        per-unit view. A scorecard fixed on the demo's "store" answered an org of airlines or hotels
        with "no org level 'store'"."""
        if not self.units:
            raise InputError("no org units yet: load them with `cxchange org import UNITS.csv`")
        depth = max(u.depth for u in self.units.values())
        named = sorted({u.level for u in self.units.values() if u.depth == depth and u.level})
        return named[0] if len(named) == 1 else str(depth)

    def ancestor_map(self, level: str) -> dict[int, str]:
        """unit id -> name of its ancestor (or itself) at `level`: a level name, or a depth number."""
        if level.isascii() and level.isdigit():
            match = {u.id for u in self.units.values() if u.depth == int(level)}
        else:
            match = {u.id for u in self.units.values() if (u.level or "").lower() == level.lower()}
        if not match:
            known = sorted({u.level for u in self.units.values() if u.level})
            raise InputError(
                f"no org level {level!r}; known levels: {', '.join(known) or 'none'} (or a depth)"
            )
        out: dict[int, str] = {}
        for u in self.units.values():
            cur: Unit | None = u
            while cur is not None and cur.id not in match:
                cur = self.units.get(cur.parent_id) if cur.parent_id is not None else None
            if cur is not None:
                out[u.id] = cur.name
        return out

    def children(self, parent_id: int | None) -> list[Unit]:
        return sorted((u for u in self.units.values() if u.parent_id == parent_id), key=lambda u: u.code)


def load_org_tree(engine_or_conn: Engine | Connection) -> OrgTree:
    stmt = select(
        OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.parent_id, OrgUnit.level, OrgUnit.depth, OrgUnit.path
    )
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            rows = conn.execute(stmt).all()
    else:
        rows = engine_or_conn.execute(stmt).all()
    return OrgTree({r.id: Unit(*r) for r in rows})


def upsert_units(conn: Connection, rows: list[dict[str, Any]], file: str) -> int:
    existing = {r.code: r.id for r in conn.execute(select(OrgUnit.code, OrgUnit.id))}
    codes_in_file = set()
    for r in rows:
        code = (r.get("code") or "").strip()
        if not code:
            raise InputError("unit code is empty", file=file, row=r["__row"], column="code")
        check_name(code, "unit code", file=file, row=r["__row"], column="code")  # hardening: no NUL/ESC
        if code in codes_in_file:
            raise InputError(f"unit code {code!r} appears twice", file=file, row=r["__row"], column="code")
        codes_in_file.add(code)
        values = {"name": (r.get("name") or code).strip(), "level": (r.get("level") or None)}
        if code in existing:
            conn.execute(update(OrgUnit).where(OrgUnit.id == existing[code]).values(**values))
        else:
            statement = insert(OrgUnit).values(code=code, path=code, depth=0, **values)
            existing[code] = inserted_id(conn, statement)
    for r in rows:
        parent = (r.get("parent") or "").strip() or None
        if parent is not None and parent not in existing:
            raise InputError(
                f"parent {parent!r} is not a unit code", file=file, row=r["__row"], column="parent"
            )
        conn.execute(
            update(OrgUnit)
            .where(OrgUnit.id == existing[r["code"].strip()])
            .values(parent_id=existing[parent] if parent else None)
        )
    _recompute_paths(conn, file)
    return len(rows)


def _recompute_paths(conn: Connection, file: str) -> None:
    tree = load_org_tree(conn)
    for u in tree.units.values():
        parts: list[str] = []
        seen: set[int] = set()
        cur: Unit | None = u
        while cur is not None:
            if cur.id in seen:
                raise InputError(f"unit {u.code!r} is its own ancestor (a cycle in parents)", file=file)
            seen.add(cur.id)
            parts.append(cur.code)
            cur = tree.units.get(cur.parent_id) if cur.parent_id is not None else None
        depth = len(parts) - 1
        conn.execute(
            update(OrgUnit)
            .where(OrgUnit.id == u.id)
            .values(path="/".join(reversed(parts)), depth=depth, level=u.level or f"level{depth}")
        )


def upsert_people(conn: Connection, rows: list[dict[str, Any]], file: str) -> int:
    units = {r.code: r.id for r in conn.execute(select(OrgUnit.code, OrgUnit.id))}
    existing = {r.email: r.id for r in conn.execute(select(Person.email, Person.id))}
    for r in rows:
        email = (r.get("email") or "").strip().lower()
        if "@" not in email:
            raise InputError(f"not an email address: {email!r}", file=file, row=r["__row"], column="email")
        unit = (r.get("unit") or "").strip() or None
        if unit is not None and unit not in units:
            raise InputError(f"unit {unit!r} is not a unit code", file=file, row=r["__row"], column="unit")
        values = {
            "name": (r.get("name") or email).strip(),
            "unit_id": units[unit] if unit else None,
            "role": (r.get("role") or None),
        }
        if email in existing:
            conn.execute(update(Person).where(Person.id == existing[email]).values(**values))
        else:
            existing[email] = inserted_id(conn, insert(Person).values(email=email, **values))
    return len(rows)


def import_org_rows(
    engine: Engine, units: list[dict[str, Any]], people: list[dict[str, Any]]
) -> dict[str, int]:
    """The same upsert from in-memory rows (the demo company)."""
    for i, r in enumerate(units):
        r.setdefault("__row", i + 2)
    for i, r in enumerate(people):
        r.setdefault("__row", i + 2)
    with engine.begin() as conn:
        return {
            "units": upsert_units(conn, units, "<units>"),
            "people": upsert_people(conn, people, "<people>"),
        }


def org_as_nested(engine: Engine) -> list[dict[str, Any]]:
    """The tree as nested JSON: [{code, name, level, people, children: [...]}]."""
    tree = load_org_tree(engine)
    with engine.connect() as conn:
        counts: dict[int | None, int] = {}
        for (unit_id,) in conn.execute(select(Person.unit_id)):
            counts[unit_id] = counts.get(unit_id, 0) + 1

    def node(u: Unit) -> dict[str, Any]:
        return {
            "code": u.code,
            "name": u.name,
            "level": u.level,
            "people": counts.get(u.id, 0),
            "children": [node(c) for c in tree.children(u.id)],
        }

    return [node(u) for u in tree.children(None)]


def person_by_email(session: Session, email: str, what: str = "person") -> Person:
    key = (email or "").strip().lower()
    if not key:
        raise InputError(f"{what}: an e-mail address is needed")
    p = session.scalars(select(Person).where(func.lower(Person.email) == key)).first()
    if p is None:
        raise NotFoundError(f"{what}: no person with e-mail {email!r}")
    return p


def unit_by_code(session: Session, code: str, what: str = "unit") -> OrgUnit:
    key = (code or "").strip()
    if not key:
        raise InputError(f"{what}: a unit code is needed")
    u = session.scalars(select(OrgUnit).where(func.lower(OrgUnit.code) == key.lower())).first()
    if u is None:
        raise NotFoundError(f"{what}: no org unit with code {code!r}")
    return u


def covered_unit_ids(tree: OrgTree, codes: Iterable[str]) -> set[int]:
    """Every unit in or beneath the given units."""
    ids: set[int] = set()
    for code in codes:
        ids |= tree.subtree_ids(code)
    return ids


def pilot_control_overlaps(tree: OrgTree, pilot: Iterable[str], control: Iterable[str]) -> list[str]:
    """How pilot and control units overlap, one phrase a pair: "N" (named as both), "N1 (control) lies
    beneath N (pilot)"; [] when no unit is compared with itself."""
    out: list[str] = []
    controls = [tree.by_code(c) for c in control]
    for p in (tree.by_code(c) for c in pilot):
        for c in controls:
            if p.id == c.id:
                out.append(p.code)
            elif c.path.startswith(p.path + "/"):
                out.append(f"{c.code} (control) lies beneath {p.code} (pilot)")
            elif p.path.startswith(c.path + "/"):
                out.append(f"{p.code} (pilot) lies beneath {c.code} (control)")
    return out


def ancestor_ids(tree: OrgTree, unit_ids: Iterable[int]) -> set[int]:
    out: set[int] = set()
    for uid in unit_ids:
        u = tree.units.get(uid)
        while u is not None and u.parent_id is not None:
            out.add(u.parent_id)
            u = tree.units.get(u.parent_id)
    return out


def org_tree(session: Session) -> OrgTree:
    return load_org_tree(session.connection())


def people_in_units(session: Session, unit_ids: Iterable[int]) -> list[Person]:
    ids = sorted(set(unit_ids))
    if not ids:
        return []
    return list(session.scalars(select(Person).where(Person.unit_id.in_(ids)).order_by(Person.email)))
