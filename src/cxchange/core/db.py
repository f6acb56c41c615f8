"""Database engines. Nothing connects at import time.

SQLAlchemy Core only: the ORM's declarative base, the registry of every stage's classes and the hook
that loads it for sessions live in `core.base`, so a read through Core tables (`cxchange scores`:
`core.tables`, `listen.tables`) never loads SQLAlchemy's ORM, a tenth of its start-up (issue 14)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from cxchange.core.config import get_settings


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
        database = parsed.database or ":memory:"  # sqlite:// (no file) is in memory too
        in_memory = database == ":memory:"
        if not in_memory:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
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
