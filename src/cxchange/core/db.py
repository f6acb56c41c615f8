"""Database engines and sessions. Nothing connects at import time."""

from __future__ import annotations

import importlib
import sys
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session

from cxchange.core.config import get_settings


class Base(DeclarativeBase):
    """The one declarative base every stage's tables hang from."""


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and use psycopg 3 for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # WAL: readers (the web UI) are not blocked by an import; foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MB page cache: bulk imports touch many index pages
    cur.close()


# The module that imports every stage's tables. Loaded by name, not imported here: core sits below the
# stages, yet any session may flush a row whose foreign key points into another stage's table (an
# initiative's theme), and SQLAlchemy resolves those only when every table is on Base.
MODEL_REGISTRY = "cxchange.models"


def register_models() -> None:
    """Put every stage's tables on Base, whatever this process imported so far (idempotent)."""
    if MODEL_REGISTRY not in sys.modules:
        importlib.import_module(MODEL_REGISTRY)


def _register_for_session(*_args: object) -> None:
    register_models()


# When the registry is loaded: by the first ORM session of the process (its first transaction, before
# any flush), by Alembic (migrations/env.py) and by anything else that reads Base.metadata as a whole,
# which calls `register_models` first. Those are the places SQLAlchemy resolves a foreign key to
# another stage's table: a flush sorts the mapper's tables by their keys (the crash of issue 14 was
# there), DDL creates them. A Core statement over tables its module imported resolves nothing else,
# so a read such as `cxchange scores` never pays for the whole schema's classes (~40 % of its start-up
# before this: the sign-in, change, sustain, understand and decide tables it never touches). None of
# the models declares a relationship(), so configuring the mappers needs no other stage's classes.
event.listen(Session, "after_transaction_create", _register_for_session)


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    parsed = make_url(url)
    settings = get_settings()
    pool = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
    }
    if parsed.get_backend_name() == "sqlite":
        in_memory = not parsed.database or parsed.database == ":memory:"
        if not in_memory:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # An in-memory database lives in one connection: its pool is not a queue and takes no sizes.
        engine = create_engine(url, connect_args={"check_same_thread": False}, **({} if in_memory else pool))
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, **pool)
    return engine


def get_engine(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """The engine for `url` (default: settings), with the schema upgraded to the newest migration and
    any after-commit work a crashed process left undone finished (once per process)."""
    engine = _engine_for(normalise_url(url or get_settings().database_url))
    if upgrade:
        from cxchange.core.migrate import ensure_schema

        ensure_schema(engine)
        from cxchange.core.events import resume_once

        resume_once(engine)  # work a crashed command left undone after its commit (core/events.py)
    return engine
