"""What a signed-in user may see: every unit, or only their units and everything beneath them.

Routes and pages that read unit-level data take a `UserScope` and pass their filters through it; a scoped
user asking for a unit outside their subtree gets ForbiddenError (HTTP 403), never an empty answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from cxchange.auth.roles import get_role
from cxchange.auth.service import get_user
from cxchange.core.errors import ForbiddenError, InputError
from cxchange.core.names import check_name
from cxchange.org.tree import load_org_tree

# --where filters in one request: each becomes a condition of the query.
MAX_WHERE = 20
_UNIT_FIELDS = ("unit", "org_unit", "org")


@dataclass(frozen=True)
class UserScope:
    email: str
    role: str
    user_id: int | None = None
    unit_codes: tuple[str, ...] | None = None  # None: every unit
    _paths: tuple[str, ...] = field(default=(), repr=False)  # materialised paths of unit_codes

    @classmethod
    def for_user(cls, engine: Engine, user: dict[str, Any]) -> UserScope:
        units = tuple(user.get("units") or ())
        if user["role"] == "admin" or not units:
            return cls(email=user["email"], role=user["role"], user_id=user.get("id"))

        tree = load_org_tree(engine)
        paths = tuple(tree.by_code(code).path for code in units)
        return cls(user["email"], user["role"], user.get("id"), units, paths)

    @classmethod
    def for_email(cls, engine: Engine, email: str) -> UserScope:
        """The scope of a stored user, for a command run on their behalf (`cxchange report --as EMAIL`)."""
        return cls.for_user(engine, get_user(engine, email))

    @classmethod
    def of_units(cls, engine: Engine, codes: Sequence[str], actor: str = "view") -> UserScope:
        """Limited to `codes` and beneath, whoever looks: what a page about one unit shows of it."""
        tree = load_org_tree(engine)
        return cls(actor, "viewer", None, tuple(codes), tuple(tree.by_code(c).path for c in codes))

    @classmethod
    def everything(cls, actor: str = "cli") -> UserScope:
        return cls(email=actor, role="admin")

    @property
    def scoped(self) -> bool:
        return self.unit_codes is not None

    def can(self, permission: str) -> bool:
        return get_role(self.role).can(permission)

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise ForbiddenError(f"the {self.role} role may not do this ({permission})")

    def contains_path(self, path: str | None) -> bool:
        if not self.scoped:
            return True
        if path is None:
            return False  # feedback with no unit belongs to nobody's subtree
        return any(path == p or path.startswith(p + "/") for p in self._paths)

    def check_unit(self, engine: Engine, code: str) -> None:
        if not self.scoped:
            return

        if not self.contains_path(load_org_tree(engine).by_code(code).path):
            raise ForbiddenError(f"unit {code} is outside your units ({', '.join(self.unit_codes or ())})")

    def allows_unit_id(self, engine: Engine, unit_id: int | None) -> bool:
        if not self.scoped:
            return True
        if unit_id is None:
            return False

        unit = load_org_tree(engine).units.get(unit_id)
        return unit is not None and self.contains_path(unit.path)

    def unit_paths(self, engine: Engine) -> dict[str, str]:
        """code -> materialised path of every unit: load once, pass to the checks below for many items."""
        return {u.code: u.path for u in load_org_tree(engine).units.values()}

    def allows_code(self, engine: Engine, code: str | None, paths: Mapping[str, str] | None = None) -> bool:
        """The unit `code` lies in the scope (no unit: only for an unscoped user)."""
        if not self.scoped:
            return True
        if code is None:
            return False
        paths = self.unit_paths(engine) if paths is None else paths
        return self.contains_path(paths.get(code))

    def covers(self, engine: Engine, codes: Iterable[str], paths: Mapping[str, str] | None = None) -> bool:
        """Every unit in `codes` lies in the scope: what compares these units (an initiative's success
        measures, pilot against control) may be shown in full."""
        if not self.scoped:
            return True
        paths = self.unit_paths(engine) if paths is None else paths
        return all(self.contains_path(paths.get(c)) for c in codes)

    def touches(self, engine: Engine, codes: Iterable[str], paths: Mapping[str, str] | None = None) -> bool:
        """Some unit in `codes` lies in the scope, or one of the scope's units lies beneath one of them
        (an initiative over a whole region concerns the manager of a store in it)."""
        if not self.scoped:
            return True
        paths = self.unit_paths(engine) if paths is None else paths
        for code in codes:
            path = paths.get(code)
            if path is None:
                continue
            if self.contains_path(path) or any(p.startswith(path + "/") for p in self._paths):
                return True
        return False

    def units(self, engine: Engine, requested: str | None) -> list[str] | None:
        """For a one-unit parameter: the requested unit (checked), or the user's units, or None (all)."""
        if requested:
            self.check_unit(engine, requested)
            return [requested]
        return list(self.unit_codes) if self.unit_codes is not None else None

    def one_unit(self, engine: Engine, requested: str | None, option: str = "unit") -> str | None:
        """For what covers one unit (the report): the requested unit (checked), the user's only unit, or
        None (everything, unscoped users only); a user of several units must choose one."""
        units = self.units(engine, requested or None)
        if units is not None and len(units) > 1:
            raise InputError(f"this covers one unit: choose one of yours as {option} ({', '.join(units)})")
        return units[0] if units else None

    def where(self, engine: Engine, items: Iterable[str] | None) -> tuple[str, ...]:
        """`--where` items limited to the scope: requested units are checked, else the user's are added."""
        items = tuple(dict.fromkeys(check_name(i, "filter") for i in items or ()))  # twice: the same filter
        if len(items) > MAX_WHERE:
            raise InputError(f"at most {MAX_WHERE} --where filters at once, got {len(items)}")
        if not self.scoped:
            return items
        # Exactly as listen.query.parse_where reads a field (stripped, case kept): "UNIT=x" is an attribute
        # filter there, so it must not count as a unit request here (that would drop the user's units).
        requested = [v for k, _, v in (i.partition("=") for i in items) if k.strip() in _UNIT_FIELDS]
        for code in requested:
            self.check_unit(engine, code)
        if requested:
            return items
        return items + tuple(f"unit={c}" for c in self.unit_codes or ())

    def filter_rows(self, rows: Sequence[dict[str, Any]], engine: Engine, key: str = "unit") -> list[dict]:
        """Keep rows whose unit code (row[key]) is inside the scope."""
        if not self.scoped:
            return list(rows)
        paths = self.unit_paths(engine)
        return [r for r in rows if (code := r.get(key)) is not None and self.contains_path(paths.get(code))]
