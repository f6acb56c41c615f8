"""What the HTTP layer shares: the app's database (chosen once, when the app is made)."""

from __future__ import annotations

from sqlalchemy import Engine

_database_url: str | None = None


def set_database_url(url: str | None) -> None:
    global _database_url
    _database_url = url


def engine() -> Engine:
    from cxchange.core.db import get_engine

    return get_engine(_database_url)
