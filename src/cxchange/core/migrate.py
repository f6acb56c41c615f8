"""Alembic, driven from code: every command and the app upgrade the database they open."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

_checked: set[str] = set()
_REVISION = re.compile(r"^revision = [\"']([^\"']+)[\"']\s*$", re.M)
_DOWN_REVISION = re.compile(r"^down_revision = (None|[\"'][^\"']+[\"'])\s*$", re.M)


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("cxchange") / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration. Read from the scripts' `revision` / `down_revision` lines, so a command
    on an up-to-date database never imports Alembic (a quarter of a second of every command's start-up);
    Alembic decides whenever the scripts are not one simple chain."""
    revisions: dict[str, str | None] = {}
    for script in (resources.files("cxchange") / "migrations" / "versions").iterdir():
        if not script.name.endswith(".py"):
            continue
        source = script.read_text()
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            break  # not the simple form: ask Alembic
        revisions[revision.group(1)] = None if down.group(1) == "None" else down.group(1).strip("\"'")
    else:
        parents = set(revisions.values())
        heads = [r for r in revisions if r not in parents]
        if len(heads) == 1:
            return heads[0]
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:  # several heads stamped: let Alembic sort it out
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return rows[0] if rows else None


def ensure_schema(engine: Engine) -> None:
    """Upgrade to head unless this engine was already checked in this process (cheap on repeat)."""
    key = str(engine.url)
    if key in _checked:
        return
    if current_revision(engine) != head_revision():
        upgrade(engine)
    _checked.add(key)


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
    _checked.discard(str(engine.url))


def forget_checked() -> None:
    """Tests drop and recreate databases; they call this so the next open upgrades again."""
    _checked.clear()
