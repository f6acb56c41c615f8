"""Alembic, driven from code: every command and the app upgrade the database they open."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_checked: set[str] = set()


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("cxchange") / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Upgrade to head unless this engine was already checked in this process (cheap on repeat)."""
    key = str(engine.url)
    if key in _checked:
        return
    if current_revision(engine) != head_revision():
        upgrade(engine)
    _checked.add(key)


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)
    _checked.discard(str(engine.url))


def forget_checked() -> None:
    """Tests drop and recreate databases; they call this so the next open upgrades again."""
    _checked.clear()
