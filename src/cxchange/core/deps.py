"""What the HTTP layer shares: the app's database (chosen once, when the app is made)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from sqlalchemy import Engine

from cxchange.core.types import MAX_SQL_INT

# A row id in a URL: bounded to what a 64-bit integer column holds, so a huge number is a 422, not a 500.
DbId = Annotated[int, Path(ge=1, le=MAX_SQL_INT)]

_database_url: str | None = None


def set_database_url(url: str | None) -> None:
    global _database_url
    _database_url = url


def engine() -> Engine:
    from cxchange.core.db import get_engine

    return get_engine(_database_url)
