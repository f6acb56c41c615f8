"""The world the scoping tests run in: a copy of the analysed demo company (regions R-NORTH, R-SOUTH,
R-EAST, R-WEST with stores beneath), a manager of R-NORTH and an admin, one initiative in R-SOUTH only,
one across R-NORTH and R-SOUTH, and one piloted in R-NORTH against control R-SOUTH."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cxchange.testing import signed_in_client

NORTH = "R-NORTH"


@dataclass
class World:
    url: str
    engine: Engine
    app: FastAPI
    admin: TestClient
    manager: TestClient
    north: set[str]  # R-NORTH and every unit beneath it
    north_case: int
    south_case: int
    south_initiative: int  # R-SOUTH only
    shared_initiative: int  # R-NORTH and R-SOUTH
    pilot_initiative: int  # pilot R-NORTH against control R-SOUTH
    north_initiative: int  # two stores of R-NORTH against each other
    codes: set[str]  # every unit
    clients: dict[str, TestClient] = field(default_factory=dict)

    def client(self, role: str) -> TestClient:
        if role not in self.clients:
            self.clients[role] = signed_in_client(self.app, self.engine, role=role)
        return self.clients[role]


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path template) of every /api route, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts

        contexts: Any = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI before lazily included routers: app.routes is already flat
        contexts = list(app.routes)
    out = []
    for route in contexts:
        path = getattr(route, "path", None) or ""
        if not path.startswith("/api"):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method not in ("HEAD", "OPTIONS"):
                out.append((method, path))
    return sorted(set(out))


def copy_of_demo(demo_engine: Engine, dest: Path) -> str:
    """A writable copy of the shared analysed demo at `dest`; its URL."""
    with demo_engine.connect() as conn:  # fold the WAL into the file before copying it
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(Path(str(demo_engine.url.database)), dest)
    return f"sqlite:///{dest}"


def make_world(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """For a module-scoped `world` fixture (`yield from make_world(...)`)."""
    from cxchange.api import create_app
    from cxchange.change.service import create
    from cxchange.core.db import get_engine
    from cxchange.org.models import OrgUnit, Person
    from cxchange.sustain.models import Case

    url = copy_of_demo(demo_engine, tmp_path_factory.mktemp("scoping") / "demo.db")
    engine = get_engine(url)
    with engine.connect() as conn:
        person = conn.execute(select(Person.email).order_by(Person.id)).scalars().first()
        code_of = dict(conn.execute(select(OrgUnit.id, OrgUnit.code)).all())
        cases = conn.execute(select(Case.id, Case.unit_id).order_by(Case.id)).all()
    south_ini = create(engine, name="South only", framework="adkar", sponsor=person, owner=person,
                       units=["R-SOUTH"], start="2026-01-01")  # fmt: skip
    shared_ini = create(engine, name="North and South", framework="adkar", sponsor=person, owner=person,
                        units=["R-NORTH", "R-SOUTH"], start="2026-01-01")  # fmt: skip
    pilot_ini = create(engine, name="North pilot", framework="adkar", sponsor=person, owner=person,
                       units=["R-NORTH"], pilot_units=["R-NORTH"], control_units=["R-SOUTH"],
                       start="2025-10-01")  # fmt: skip
    north_ini = create(engine, name="North stores", framework="adkar", sponsor=person, owner=person,
                       units=["S-NOR-01", "S-NOR-02"], pilot_units=["S-NOR-01"], control_units=["S-NOR-02"],
                       start="2026-05-01")  # fmt: skip
    app = create_app(url)
    admin = signed_in_client(app, engine, role="admin")
    manager = signed_in_client(app, engine, role="manager", units=[NORTH])
    org = admin.get("/api/org").json()
    north_node = next(r for r in org[0]["children"] if r["code"] == NORTH)
    north: set[str] = set()
    stack = [north_node]
    while stack:
        node = stack.pop()
        north.add(node["code"])
        stack.extend(node["children"])
    readiness = "unit,awareness,desire,knowledge,ability,reinforcement\n" + "".join(
        f"{code},4,3,2,2,1\n" for code in sorted(code_of.values()) if code.startswith(("S-NOR", "S-SOU"))
        for _ in range(5)
    )  # fmt: skip
    made = admin.post(
        f"/api/initiatives/{shared_ini['id']}/readiness",
        content=readiness,
        headers={"Content-Type": "text/csv"},
    )
    assert made.status_code == 201, made.text
    north_case = next(cid for cid, uid in cases if code_of.get(uid) in north)
    south_case = next(cid for cid, uid in cases if str(code_of.get(uid, "")).startswith(("S-SOU", "R-SOUTH")))
    yield World(url, engine, app, admin, manager, north, north_case, south_case, south_ini["id"],
                shared_ini["id"], pilot_ini["id"], north_ini["id"], set(code_of.values()))  # fmt: skip


def use_database(w: World) -> None:
    """The app's database is process-wide: other test modules may have pointed it elsewhere."""
    from cxchange.core.deps import set_database_url

    set_database_url(w.url)
