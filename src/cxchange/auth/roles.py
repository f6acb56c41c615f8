"""Roles as data (roles.yaml): what each may do, and which permission an API write needs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from cxchange.core.errors import InputError


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: frozenset[str]
    requires_units: bool

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


@dataclass(frozen=True)
class WriteRule:
    methods: frozenset[str]
    path: str
    permission: str


@lru_cache(maxsize=1)
def _data() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((resources.files("cxchange.auth") / "roles.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def roles() -> dict[str, Role]:
    return {
        name: Role(
            name=name,
            description=spec.get("description", ""),
            permissions=frozenset(spec.get("permissions", [])),
            requires_units=bool(spec.get("requires_units", False)),
        )
        for name, spec in _data()["roles"].items()
    }


def get_role(name: str) -> Role:
    role = roles().get(name)
    if role is None:
        raise InputError(f"unknown role {name!r}; use one of {', '.join(roles())}")
    return role


@lru_cache(maxsize=1)
def write_rules() -> tuple[WriteRule, ...]:
    return tuple(
        WriteRule(frozenset(m.upper() for m in r["methods"]), r["path"], r["permission"])
        for r in _data()["api_writes"]
    )


def permission_for_write(method: str, path: str) -> str:
    """The permission an unsafe API call needs; unlisted routes need admin ("*")."""
    for rule in write_rules():
        if method.upper() in rule.methods and (path == rule.path or path.startswith(rule.path + "/")):
            return rule.permission
    return "*"
