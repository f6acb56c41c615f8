"""Shared fixtures for the change stage: the demo company (org, people, feedback) and a CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner, Result

from cxchange.org.models import OrgUnit, Person


@pytest.fixture(scope="session")
def demo_company() -> Any:
    from cxchange.demo.generator import generate

    return generate(rows=2000, seed=1)


@pytest.fixture(scope="session")
def sqlite_demo_template(tmp_path_factory: pytest.TempPathFactory, demo_company: Any) -> Path:
    """The demo company loaded once into a SQLite file; each SQLite test gets a copy."""
    from cxchange.core.db import get_engine
    from cxchange.demo.load import load_demo

    path = tmp_path_factory.mktemp("demo") / "template.db"
    engine = get_engine(f"sqlite:///{path}")
    load_demo(engine, demo_company, analyse=False, initiative=False)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def demo(engine: Engine, request: pytest.FixtureRequest, demo_company: Any) -> Engine:
    """The seeded demo company (units HQ > regions > stores, 200 people, 2,000 feedback rows)."""
    from cxchange.demo.load import load_demo

    if engine.dialect.name == "sqlite":
        template: Path = request.getfixturevalue("sqlite_demo_template")
        target = Path(str(engine.url.database))
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, target)
        return engine
    load_demo(engine, demo_company, analyse=False, initiative=False)
    return engine


@pytest.fixture
def people(demo: Engine) -> dict[str, Any]:
    """Handy e-mails: exec, the R-NORTH regional manager, a R-NORTH store manager and agents."""
    with demo.connect() as conn:
        rows = conn.execute(
            select(Person.email, Person.role, OrgUnit.code).join(OrgUnit, OrgUnit.id == Person.unit_id)
        ).all()
    by_role: dict[str, list[tuple[str, str]]] = {}
    for email, role, code in rows:
        by_role.setdefault(role, []).append((email, code))
    north_stores = sorted({c for _, c in by_role["store_manager"] if c.startswith("S-NOR")})
    return {
        "exec": sorted(by_role["exec"])[0][0],
        "rm_north": next(e for e, c in by_role["regional_manager"] if c == "R-NORTH"),
        "rm_south": next(e for e, c in by_role["regional_manager"] if c == "R-SOUTH"),
        "north_stores": north_stores,
        "sm": {c: e for e, c in by_role["store_manager"]},
        "agents": {c: sorted(e for e, cc in by_role["agent"] if cc == c) for c in north_stores},
        "south_agent": sorted(e for e, c in by_role["agent"] if c.startswith("S-SOU"))[0],
    }


def make_app() -> typer.Typer:
    from cxchange.change.cli import register

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root(ctx: typer.Context, db: str | None = typer.Option(None, "--db")) -> None:
        ctx.obj = {"db": db}

    register(app)
    return app


@pytest.fixture
def cli(engine: Engine) -> Callable[..., Result]:
    """Run a change command against the test database: cli("initiative", "list", "--format", "json")."""
    app = make_app()
    runner = CliRunner(env={"COLUMNS": "250"})
    url = engine.url.render_as_string(hide_password=False)

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--db", url, *args])

    return run


@pytest.fixture
def count(engine: Engine) -> Callable[[str], int]:
    """Rows in a table (to prove a failed command saved nothing)."""

    def n(table: str) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)  # our names only

    return n


@pytest.fixture
def cli_nodb() -> Callable[..., Result]:
    """Commands that need no database (frameworks)."""
    app = make_app()
    runner = CliRunner(env={"COLUMNS": "250"})
    return lambda *args: runner.invoke(app, list(args))
