"""Every database has its own random identity: made when it is created, or when an older one is upgraded."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select

from cxchange.core.migrate import upgrade
from cxchange.core.models import StoreIdentity


def _identity(url: str, *, upgrade_from: str | None = None) -> list[str]:
    engine = create_engine(url)
    try:
        if upgrade_from:
            upgrade(engine, upgrade_from)  # a database made by an older cxchange
        upgrade(engine)
        with engine.connect() as conn:
            return list(conn.execute(select(StoreIdentity.store_id)).scalars())
    finally:
        engine.dispose()


def test_new_and_upgraded_databases_get_one_identity_each(tmp_path: Path) -> None:
    new = _identity(f"sqlite:///{tmp_path / 'new.db'}")
    old = _identity(f"sqlite:///{tmp_path / 'old.db'}", upgrade_from="0015")
    assert len(new) == len(old) == 1
    assert len(new[0]) == 32 and new != old
